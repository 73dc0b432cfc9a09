"""The site reads what ``stimuli`` really writes: a tiny generated set (Chernoff faces,
table, plot, a Chernoff sequence) run through by bots in every response mode."""

import numpy as np
import pytest
import sqlalchemy as sa

from experiment.bot import Bot, wsgi_client
from experiment.models import Participant, Response, StudyStatus, Trial
from experiment.services.studies import StudyParams, create_study, set_status
from stimuli import StimulusSetConfig, generate_stimulus_set

COMMON = {"n_items": 6, "n_features": 3, "n_informative": 2, "noise": 1.0}


@pytest.fixture(scope="session")
def real_stimulus_set(tmp_path_factory):
    config = StimulusSetConfig.from_dict(
        {
            "name": "site-test-real",
            "seed": 5,
            "order": "random",
            "frame_ms": 200,
            "datasets": [
                {"role": "main", "count": 2, "n_outliers": 1, "magnitude_sd": 4.0, **COMMON},
                {"role": "practice", "count": 1, "n_outliers": 1, "magnitude_sd": 6.0, **COMMON},
                {"role": "attention_check", **COMMON},
            ],
            "conditions": [{"encoding": e, "layout": "grid"} for e in ("chernoff", "table", "plot")]
            + [{"encoding": "chernoff", "layout": "sequence", "roles": ["main"]}],
        }
    )
    return generate_stimulus_set(config, tmp_path_factory.mktemp("real-set"), progress=False)


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
