"""The report shows the accuracy GLMM's own fit, its status, and contrasts from that fit."""

import json

import numpy as np
import pytest

from analysis.contrasts import accuracy_contrasts
from analysis.models.study import STRUCTURES, fit_accuracy_glmm
from analysis.report import ReportConfig, write_report
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials


@pytest.fixture(scope="module")
def singular_study():
    """No participant x encoding or dataset x encoding variability: a boundary ML fit.

    Seeded here (not by --seed): the fit must be singular for the test to mean anything.
    """
    frame = simulated_trials(np.random.default_rng(3), n_participants=12, n_datasets=6, repeats=2)
    return load_trials(frame)


def test_a_singular_best_fit_is_shown_said_singular_and_contrasted(singular_study, tmp_path):
    glmm = fit_accuracy_glmm(singular_study)
    assert glmm.singular and glmm.converged  # the premise
    assert glmm.random == tuple(
        f"(1 | {t})" for t in sorted(STRUCTURES["intercepts"], key=lambda t: -glmm.n_levels[t])
    )
    write_report(
        singular_study,
        tmp_path,
        ReportConfig(statistics=("accuracy_glmm", "accuracy_contrasts"), seed=1),
    )
    html = (tmp_path / "report.html").read_text()
    tables = json.loads((tmp_path / "report.json").read_text())["tables"]
    assert "Fixed effects (converged, singular (boundary) fit)" in html
    assert "Boundary (singular) fit, as lme4 reports it" in html
    assert "From the same fit as the model above (converged, singular (boundary) fit)" in html
    assert "Random structure:" in html and "Matuschek" in html
    # The contrasts are that fit's: gan_face - table is the fixed effect itself.
    fixed = {row["term"]: row for row in tables["accuracy_glmm"]}
    pair = next(
        row
        for row in tables["accuracy_contrasts"]
        if {row["encoding_a"], row["encoding_b"]} == {"gan_face", "table"}
    )
    sign = 1 if pair["encoding_a"] == "gan_face" else -1
    assert sign * pair["estimate"] == pytest.approx(fixed["gan_face vs table"]["estimate"])
    assert tables["accuracy_glmm_fit"][0]["status"] == "converged, singular (boundary) fit"
    assert tables["accuracy_glmm_fit"][0]["n_trials"] == len(singular_study.trials)


def test_contrasts_carry_the_status_of_the_fit_they_come_from(singular_study):
    glmm = fit_accuracy_glmm(singular_study, structure="intercepts")
    contrasts = accuracy_contrasts(singular_study, glmm=glmm)
    assert contrasts.status == glmm.status
    assert glmm.status in contrasts.note


def test_the_rule_is_stated_and_slopes_need_identification(singular_study):
    glmm = fit_accuracy_glmm(singular_study)
    rule = glmm.notes[0]
    assert rule.startswith("Random structure:") and "p < 0.2" in rule
    assert "Intercepts kept" in rule or "Slopes not fitted" in rule
    few = load_trials(singular_study.trials[singular_study.trials["participant"] < "P0008"])
    assert (
        "Slopes not fitted: 8 participants for 10 covariance parameters"
        in (fit_accuracy_glmm(few).notes[0])
    )
