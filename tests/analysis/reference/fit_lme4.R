# Fit one lme4 model and write its numbers as JSON (glyphlab's reference for the Python fits).
# usage: Rscript fit_lme4.R DATA.csv FORMULA FAMILY NAGQ REML FACTORS OUT.json [TOLPWRSS]
#   FAMILY: binomial (glmer) | gaussian (lmer); NAGQ: glmer's nAGQ; REML: TRUE/FALSE (lmer);
#   FACTORS: comma-separated columns to turn into factors ("" for none);
#   TOLPWRSS: glmerControl(tolPwrss = ...) (default lme4's 1e-7; 1e-12 converges the
#   conditional modes fully, which makes lme4's Laplace deviance the exact one).
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) %in% c(7, 8))
tol <- if (length(args) == 8) as.numeric(args[8]) else 1e-7
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
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
out <- list(
  formula = args[2], family = args[3], tolPwrss = tol, nAGQ = as.integer(args[4]), REML = as.logical(args[5]),
  fixef = unname(fixef(fit)), fixef_names = names(fixef(fit)),
  se = unname(sqrt(diag(as.matrix(vcov(fit))))),
  varcorr = data.frame(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, sdcor = vc$sdcor),
  sigma = sigma(fit),
  logLik = as.numeric(logLik(fit)), AIC = AIC(fit), nobs = nobs(fit),
  warnings = fit@optinfo$conv$lme4$messages,
  lme4 = as.character(packageVersion("lme4")), R = R.version.string
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), args[7])
