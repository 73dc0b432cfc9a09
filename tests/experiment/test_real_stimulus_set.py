"""The site reads what ``stimuli`` really writes: bots take studies in every response mode
on the tiny generated set of ``real_stimulus_set`` (conftest)."""

import numpy as np
import pytest
import sqlalchemy as sa

from experiment.bot import Bot, wsgi_client
from experiment.models import Participant, Response, StudyStatus, Trial
from experiment.services.studies import StudyParams, create_study, set_status

MODES = [
    (("mark_outliers", "keypress"), ("grid", "sequence")),
    (("yes_no",), ("grid",)),
    (("m_afc",), ("grid",)),
]


@pytest.mark.slow
def test_bots_complete_studies_on_a_generated_set(app, db_session, researcher, real_stimulus_set):
    for number, (modes, layouts) in enumerate(MODES):
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
                trials_per_participant=4,
                practice_trials=1,
                attention_checks=1,
            ),
        )
        set_status(study, StudyStatus.open)
        db_session.commit()
        with wsgi_client(app) as http:
            run = Bot(http, real_stimulus_set, rng=np.random.default_rng(3)).take(study.slug)
        assert run.finished and run.trials == 6
        stored = db_session.scalars(
            sa.select(Response.response_mode)
            .join(Trial)
            .join(Participant)
            .where(Participant.study_id == study.id)
        ).all()
        assert set(stored) <= set(modes) and len(stored) == 6
