"""Practice that teaches: feedback marks the outliers on the participant's own display
and says why they are odd; the instructions show a worked example per encoding, from
practice data, with the outlier marked. Main trials' replies carry no truth."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sqlalchemy as sa

from experiment.models import StudyStatus, Trial
from experiment.services.practice_help import odd_marks, why_odd, worked_examples
from experiment.services.studies import StudyParams, create_study, set_status
from experiment.stimulus_sets import load
from stimuli.encodings import Display
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer


def test_why_names_the_broken_relation_not_an_extreme_value(real_stimulus_set):
    stimulus_set = load(real_stimulus_set)
    practice = next(d for d, info in stimulus_set.datasets.items() if info["role"] == "practice")
    text = why_odd(stimulus_set, practice, Display.ROWS)
    assert re.search(r"In the other rows, y (rises with|falls as) x\d", text), text
    assert re.search(r"y is much (higher|lower) than its x\d", text), text
    absent = next(
        d
        for d, info in stimulus_set.datasets.items()
        if info["role"] == "main" and not stimulus_set.true_outliers(d)
    )
    assert why_odd(stimulus_set, absent, Display.IMAGES).startswith("There was no outlier")


def test_marks_are_display_positions_and_plot_points():
    marks = odd_marks(
        display=Display.COMPOSITE,
        display_order=(3, 0, 2, 1),
        outliers=[2],
        points=((1.0, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0)),
    )
    assert marks == {"positions": [2], "points": [{"x": 5.0, "y": 6.0}]}
    assert odd_marks(display=Display.IMAGES, display_order=(1, 0), outliers=[1]) == {
        "positions": [0]
    }


def test_a_worked_example_per_encoding_from_practice_data(real_stimulus_set):
    stimulus_set = load(real_stimulus_set)
    examples = worked_examples(stimulus_set, ["chernoff", "table", "plot"])
    assert [e.display for e in examples] == ["images", "rows", "composite"]
    for example in examples:
        assert example.marks["positions"], example.label
        assert "In the other" in example.why
    faces, table, plot = examples
    assert len(faces.images) == len(table.rows) == 6
    assert all(src.startswith("data:image/") for src in faces.images + plot.images)
    assert plot.marks["points"] and plot.width and plot.height


@pytest.fixture
def practice_study(db_session, researcher, real_stimulus_set):
    def make(modes: tuple[str, ...], slug: str):
        study = create_study(
            db_session,
            researcher=researcher,
            stimulus_set_folder=real_stimulus_set,
            params=StudyParams(
                title=slug,
                slug=slug,
                encodings=("chernoff", "table", "plot"),
                response_modes=modes,
                trials_per_participant=3,
                practice_trials=1,
                attention_checks=0,
            ),
        )
        set_status(study, StudyStatus.open)
        db_session.commit()
        return study

    return make


@pytest.mark.parametrize("modes", [("mark_outliers",), ("m_afc",)])
def test_practice_feedback_marks_the_outlier_and_main_replies_reveal_nothing(
    client, db_session, practice_study, real_stimulus_set, modes
):
    practice_study(modes, "practice-help")
    browser = Browser(client, slug="practice-help")
    browser.consent()
    page = client.get("/s/practice-help/instructions").get_data(as_text=True)
    assert page.count('class="worked-example"') == 3
    assert "is-odd" in page and "odd-ring" in page
    browser.open_runner()
    replies = []
    while not (nxt := browser.next().json)["done"]:
        trial = nxt["trial"]
        browser.start(trial["id"])
        replies.append((trial, browser.answer(trial["id"], some_answer(trial)).json))
    (practice, reply), *main = replies
    assert practice["phase"] == "practice"
    stored = db_session.scalars(sa.select(Trial).where(Trial.public_id == practice["id"])).one()
    truth_positions = [p for p, i in enumerate(stored.display_order) if i in stored.true_outliers]
    assert reply["feedback"]["odd"]["positions"] == truth_positions
    assert reply["feedback"]["why"]
    if practice["display"] == "composite":
        assert len(reply["feedback"]["odd"]["points"]) == len(truth_positions)
    assert main and all(r["feedback"] is None for _, r in main)
    assert np.all([t["phase"] == "main" for t, _ in main])
