"""Hostile input to the answer endpoint never gets a 500 (hypothesis).

Arbitrary JSON documents, near-valid answers with wrong types and ranges, raw bytes and
odd trial ids go to ``POST /s/<slug>/api/trials/<id>/answer``. Whatever comes in, the
site answers 2xx (a valid answer stored) or a 4xx JSON error, and never stores a
trial twice.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiment.models import Response
from tests.experiment.participant_client import Participant

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
POSITIONS = st.lists(st.integers(min_value=-5, max_value=50) | JSON_SCALARS, max_size=8)
RESPONSES = st.one_of(
    JSON,
    st.fixed_dictionaries({"positions": POSITIONS}),
    st.fixed_dictionaries({"position": st.integers(-3, 40) | JSON_SCALARS}),
    st.fixed_dictionaries({"present": JSON_SCALARS}),
    st.fixed_dictionaries(
        {"presses": st.lists(st.fixed_dictionaries({"frame": JSON_SCALARS, "t_ms": JSON_SCALARS}))}
    ),
    st.fixed_dictionaries(
        {"clicks": st.lists(st.fixed_dictionaries({"x": JSON_SCALARS, "y": JSON_SCALARS}))}
    ),
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "idempotency_key": st.text(min_size=0, max_size=80) | JSON_SCALARS,
            "response": RESPONSES,
            "rt_ms": JSON_SCALARS,
            "timed_out": JSON_SCALARS,
        },
        optional={"frame_stats": JSON},
    ),
)
PARTICIPANT_NUMBERS = itertools.count()
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_handled(response) -> None:
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        assert "error" in response.get_json(), response.data[:300]


@FUZZ
@given(body=BODIES)
def test_any_json_answer_is_handled(app, study, db_session, body):
    client = app.test_client()  # a new browser per example
    participant = Participant(client)
    participant.consent(f"?pid=fuzz-{next(PARTICIPANT_NUMBERS)}")
    participant.open_runner()
    nxt = participant.next().get_json()
    if nxt["done"]:
        return
    trial_id = nxt["trial"]["id"]
    participant.start(trial_id)
    response = client.post(
        f"/s/{study.slug}/api/trials/{trial_id}/answer", headers=participant.headers, json=body
    )
    assert_handled(response)
    trial_ids = db_session.scalars(sa.select(Response.trial_id)).all()
    assert len(trial_ids) == len(set(trial_ids))


@FUZZ
@given(raw=st.binary(max_size=300), trial_id=st.text(max_size=40))
def test_raw_bytes_and_odd_trial_ids_are_handled(app, study, raw, trial_id):
    client = app.test_client()
    participant = Participant(client)
    participant.consent(f"?pid=fuzz-raw-{next(PARTICIPANT_NUMBERS)}")
    participant.open_runner()
    response = client.post(
        f"/s/{study.slug}/api/trials/{trial_id.replace('/', '_') or 'x'}/answer",
        headers={**participant.headers, "Content-Type": "application/json"},
        data=raw,
    )
    assert_handled(response)
