# Satterthwaite df of lmerTest (Kuznetsova et al. 2017) for glyphlab's generic
# analysis.models.satterthwaite, which the GLMM's t tests also use.
# usage: Rscript satterthwaite_lmerTest.R STUDY_RT.csv OUT.json
#   STUDY_RT.csv: tests.analysis.lme4_cases.study_rt_trials() written as CSV.
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(lmerTest))
num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
d <- read.csv(args[1], stringsAsFactors = TRUE)
for (f in c("participant", "dataset_id", "encoding")) d[[f]] <- factor(d[[f]])
rt <- lmer(log_rt ~ encoding + (1 | participant) + (1 | participant:encoding) +
  (1 | dataset_id), data = d, REML = TRUE)
pair <- contest(rt, matrix(c(0, 1, -1, 0), nrow = 1), joint = FALSE)  # gan_face - plot
sleep <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)
fields <- c(
  study_rt_df = num(summary(rt)$coefficients[, "df"]),
  study_rt_p = num(summary(rt)$coefficients[, "Pr(>|t|)"]),
  study_rt_gan_face_minus_plot_df = num(pair$df),
  sleepstudy_df = num(summary(sleep)$coefficients[, "df"]),
  lmerTest = paste0('"', packageVersion("lmerTest"), '"'),
  R = paste0('"', R.version.string, '"')
)
writeLines(paste0("{\n", paste0('  "', names(fields), '": ', fields, collapse = ",\n"), "\n}"),
  args[2])
