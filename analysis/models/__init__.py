"""Mixed models of the trial table: logistic GLMM (own ML fit), LMM and GEE (statsmodels)."""
