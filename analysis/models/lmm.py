"""Linear mixed models (log RT), matching lme4's lmer.

A single random intercept (the study's log-RT model) is fitted by lme4's profiled
deviance from per-group sums (:mod:`analysis.models._intercept_lmm`, O(n)). Everything
else goes to statsmodels MixedLM, which matches lmer: one grouping factor with a
random-effects formula (``re_formula="~Days"``: correlated intercept and slope, like
``(Days | Subject)``), or several grouping factors as crossed random intercepts, e.g.
``(1 | participant) + (1 | dataset_id)``: statsmodels has no crossed-factor syntax, so
they become variance components (``vc_formula``) within one all-encompassing group,
which is the same model (checked against lme4 on Penicillin).

A fit statsmodels does not mark ``converged`` raises :class:`AnalysisError`; its other
warnings (e.g. a variance on the boundary) are kept in ``LMMResult.notes`` instead of
being re-emitted.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.models._intercept_lmm import InterceptLMM
from analysis.models.design import design_matrix
from analysis.models.satterthwaite import Satterthwaite
from analysis.models.wald import wald_table


@dataclass(frozen=True)
class LMMResult:
    """Fixed effects (``params``/``bse``/``cov``), random SDs and correlations, residual SD."""

    formula: str
    groups: tuple[str, ...]
    reml: bool
    fixed_names: tuple[str, ...]
    params: np.ndarray
    bse: np.ndarray
    cov: np.ndarray
    random: pd.DataFrame
    residual_sd: float
    loglik: float
    nobs: int
    converged: bool
    notes: tuple[str, ...]
    #: What the residual SD is the spread of (single trials, or cell means).
    residual_label: str = "Residual"
    #: Satterthwaite df for t tests (lmerTest's; crossed fits). None: Wald z.
    satterthwaite: Satterthwaite | None = field(default=None, repr=False)

    @property
    def aic(self) -> float:
        n_random = len(self.random) + 1  # variance/covariance parameters + residual
        return -2.0 * self.loglik + 2.0 * (len(self.params) + n_random)

    @property
    def df(self) -> np.ndarray | None:
        """Satterthwaite df per fixed effect (None: tested against the normal)."""
        return None if self.satterthwaite is None else self.satterthwaite.term_df()

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        return wald_table(self.fixed_names, self.params, self.bse, level=level, df=self.df)

    def random_frame(self) -> pd.DataFrame:
        residual = {
            "group": self.residual_label,
            "term": "",
            "other": "",
            "sd_or_corr": self.residual_sd,
        }
        return pd.concat([self.random, pd.DataFrame([residual])], ignore_index=True)

    def summary(self) -> str:
        kind = "REML" if self.reml else "ML"
        return "\n".join(
            [
                f"Linear mixed model ({kind}): {self.formula}; groups {', '.join(self.groups)}",
                f"logLik {self.loglik:.4f}  AIC {self.aic:.2f}  rows {self.nobs}",
                self.random_frame().to_string(index=False),
                self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4f}"),
                *self.notes,
            ]
        )


def _random_table(fit, groups: tuple[str, ...], crossed: bool) -> pd.DataFrame:
    rows = []
    if crossed:
        for name, variance in zip(fit.model.exog_vc.names, fit.vcomp, strict=True):
            sd = float(np.sqrt(max(variance, 0.0)))
            rows.append({"group": name, "term": "(Intercept)", "other": "", "sd_or_corr": sd})
        return pd.DataFrame(rows)
    cov = fit.cov_re
    terms = ["(Intercept)" if t == "Group" else t for t in cov.columns]
    sd = np.sqrt(np.clip(np.diag(cov.to_numpy()), 0.0, None))
    for i, term in enumerate(terms):
        rows.append({"group": groups[0], "term": term, "other": "", "sd_or_corr": float(sd[i])})
    for i in range(len(terms)):
        for j in range(i + 1, len(terms)):
            corr = cov.iloc[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else np.nan
            rows.append(
                {"group": groups[0], "term": terms[i], "other": terms[j], "sd_or_corr": corr}
            )
    return pd.DataFrame(rows)


def fit_lmm(
    data: pd.DataFrame,
    formula: str,
    *,
    groups: str | Sequence[str],
    re_formula: str | None = None,
    reml: bool = True,
    engine: str = "auto",
) -> LMMResult:
    """Fit ``formula`` with random effects by ``groups`` (crossed intercepts if several).

    ``engine="auto"`` fits a single random intercept with the O(n) profiled deviance of
    :mod:`analysis.models._intercept_lmm` and everything else with statsmodels;
    ``"statsmodels"`` always uses statsmodels (same estimates, slower).
    """
    if engine not in ("auto", "statsmodels"):
        raise AnalysisError("engine must be 'auto' or 'statsmodels'")
    groups = (groups,) if isinstance(groups, str) else tuple(groups)
    missing = [g for g in groups if g not in data.columns]
    if missing or not groups:
        raise AnalysisError(f"grouping column(s) {', '.join(missing) or '(none)'} not usable")
    if data.empty:
        raise AnalysisError("no rows to fit the linear mixed model to")
    crossed = len(groups) > 1
    if crossed and re_formula is not None:
        raise AnalysisError("crossed grouping factors take random intercepts only")
    frame = data.reset_index(drop=True)
    if engine == "auto" and not crossed and re_formula is None:
        return _fit_intercept(frame, formula, groups[0], reml)
    import statsmodels.formula.api as smf  # heavy: only when a model is fitted

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if crossed:
                model = smf.mixedlm(
                    formula,
                    frame.assign(_all=1),
                    groups="_all",
                    vc_formula={g: f"0 + C(Q('{g}'))" for g in groups},
                )
            else:
                model = smf.mixedlm(formula, frame, groups=frame[groups[0]], re_formula=re_formula)
            fit = model.fit(reml=reml)
        except (ValueError, np.linalg.LinAlgError) as error:
            raise AnalysisError(f"the linear mixed model {formula!r} failed: {error}") from None
    notes = tuple(dict.fromkeys(f"statsmodels: {w.message}" for w in caught))
    if not fit.converged:
        raise AnalysisError(
            f"the linear mixed model {formula!r} did not converge ({'; '.join(notes)}): "
            "simplify the random effects (e.g. drop re_formula) or check the data"
        )
    names = tuple(fit.fe_params.index)
    cov = fit.cov_params().loc[list(names), list(names)].to_numpy()
    return LMMResult(
        formula=formula,
        groups=groups,
        reml=reml,
        fixed_names=names,
        params=fit.fe_params.to_numpy(),
        bse=np.sqrt(np.diag(cov)),
        cov=cov,
        random=_random_table(fit, groups, crossed),
        residual_sd=float(np.sqrt(fit.scale)),
        loglik=float(fit.llf),
        nobs=int(fit.nobs),
        converged=True,
        notes=notes,
    )


def response_and_design(
    frame: pd.DataFrame, formula: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The numeric response, the fixed-effects design and its column names of an LMM,
    or an error saying why the model cannot be fitted to ``frame``."""
    lhs, X, names, _ = design_matrix(frame, formula)
    if lhs not in frame.columns:
        raise AnalysisError(f"response column {lhs!r} not in the data")
    y = pd.to_numeric(frame[lhs], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise AnalysisError(f"response {lhs!r} has missing or non-numeric values")
    if len(y) <= X.shape[1]:
        raise AnalysisError("fewer rows than fixed effects: the LMM is not estimable")
    return y, X, names


def _fit_intercept(frame: pd.DataFrame, formula: str, group: str, reml: bool) -> LMMResult:
    y, X, names = response_and_design(frame, formula)
    codes = pd.factorize(frame[group], sort=True)[0]
    fit = InterceptLMM(y, X, codes, reml).fit()
    notes = ("the random-intercept variance is estimated at 0 (boundary)",) * fit["at_boundary"]
    random = pd.DataFrame(
        [{"group": group, "term": "(Intercept)", "other": "", "sd_or_corr": fit["group_sd"]}]
    )
    return LMMResult(
        formula=formula,
        groups=(group,),
        reml=reml,
        fixed_names=tuple(names),
        params=fit["beta"],
        bse=np.sqrt(np.diag(fit["cov"])),
        cov=fit["cov"],
        random=random,
        residual_sd=fit["sigma"],
        loglik=fit["loglik"],
        nobs=len(y),
        converged=True,
        notes=notes,
    )
