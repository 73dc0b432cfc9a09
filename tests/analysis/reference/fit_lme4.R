# Fit one lme4 model and write its numbers as JSON (glyphlab's reference for the Python fits).
# usage: Rscript fit_lme4.R DATA.csv FORMULA FAMILY NAGQ REML FACTORS OUT.json [TOLPWRSS]
#   FAMILY: binomial (glmer) | gaussian (lmer); NAGQ: glmer's nAGQ; REML: TRUE/FALSE (lmer);
#   FACTORS: comma-separated columns to turn into factors ("" for none);
#   TOLPWRSS: glmerControl(tolPwrss = ...) (default lme4's 1e-7; 1e-12 converges the
#   conditional modes fully, which makes lme4's Laplace deviance the exact one).
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) %in% c(7, 8))
tol <- if (length(args) == 8) as.numeric(args[8]) else 1e-7
suppressPackageStartupMessages(library(lme4))
# JSON by hand: CI installs only r-base-core and r-cran-lme4 (no jsonlite).
json_num <- function(x) {
  paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ", "), "]")
}
json_one <- function(x) {
  if (is.na(x)) "null" else paste0('"', gsub('"', '\\\\"', as.character(x)), '"')
}
json_str <- function(x) paste0("[", paste(vapply(x, json_one, ""), collapse = ", "), "]")
d <- read.csv(args[1], stringsAsFactors = TRUE)
for (f in strsplit(args[6], ",")[[1]]) if (nzchar(f)) d[[f]] <- factor(d[[f]])
form <- as.formula(args[2])
fit <- if (args[3] == "binomial") {
  glmer(form,
    data = d, family = binomial, nAGQ = as.integer(args[4]),
    control = glmerControl(tolPwrss = tol)
  )
} else {
  lmer(form, data = d, REML = as.logical(args[5]))
}
vc <- as.data.frame(VarCorr(fit))
rows <- sprintf(
  '{"grp": %s, "var1": %s, "var2": %s, "sdcor": %s}',
  vapply(vc$grp, json_one, ""), vapply(vc$var1, json_one, ""), vapply(vc$var2, json_one, ""),
  sprintf("%.17g", vc$sdcor)
)
fields <- c(
  formula = json_one(args[2]), family = json_one(args[3]), tolPwrss = sprintf("%.17g", tol),
  nAGQ = as.integer(args[4]), REML = tolower(as.character(as.logical(args[5]))),
  fixef = json_num(unname(fixef(fit))), fixef_names = json_str(names(fixef(fit))),
  se = json_num(unname(sqrt(diag(as.matrix(vcov(fit)))))),
  varcorr = paste0("[", paste(rows, collapse = ", "), "]"),
  sigma = sprintf("%.17g", sigma(fit)), logLik = sprintf("%.17g", as.numeric(logLik(fit))),
  AIC = sprintf("%.17g", AIC(fit)), nobs = nobs(fit),
  warnings = json_str(unlist(fit@optinfo$conv$lme4$messages)),
  lme4 = json_one(as.character(packageVersion("lme4"))), R = json_one(R.version.string)
)
body <- paste0('  "', names(fields), '": ', fields, collapse = ",\n")
writeLines(paste0("{\n", body, "\n}"), args[7])
