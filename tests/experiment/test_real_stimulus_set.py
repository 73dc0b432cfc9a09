"""The site reads what ``stimuli`` really writes: bots take studies in every response mode
on the tiny generated set of ``real_stimulus_set`` (conftest)."""

import numpy as np
import pytest
import sqlalchemy as sa

from experiment.bot import Bot, app_wait, wsgi_client
from experiment.models import Participant, Response, StudyStatus, Trial
from experiment.services.studies import StudyParams, create_study, set_status

#: response modes, layouts, main trials (equal per condition; the set has 6 datasets)
MODES = [
    (("mark_outliers", "keypress"), ("grid", "sequence"), 6),
    (("yes_no",), ("grid",), 3),
    (("m_afc",), ("grid",), 3),
]


@pytest.mark.slow
def test_bots_complete_studies_on_a_generated_set(app, db_session, researcher, real_stimulus_set):
    for number, (modes, layouts, main_trials) in enumerate(MODES):
        study = create_study(
            db_session,
            researcher=researcher,
            stimulus_set_folder=real_stimulus_set,
            params=StudyParams(
                title="real",
                slug=f"real-set-{number}",
                encodings=("chernoff", "table", "plot"),
                layouts=layouts,
                response_modes=modes,
                trials_per_participant=main_trials,
                practice_trials=1,
                attention_checks=1,
            ),
        )
        set_status(study, StudyStatus.open)
        db_session.commit()
        with wsgi_client(app) as http:
            bot = Bot(http, real_stimulus_set, rng=np.random.default_rng(3), wait=app_wait(app))
            run = bot.take(study.slug)
        assert run.finished and run.trials == main_trials + 2
        stored = db_session.scalars(
            sa.select(Response.response_mode)
            .join(Trial)
            .join(Participant)
            .where(Participant.study_id == study.id)
        ).all()
        assert set(stored) <= set(modes) and len(stored) == main_trials + 2
