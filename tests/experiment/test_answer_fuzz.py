"""Fuzzing the answer endpoint: whatever JSON arrives, the answer is a 4xx or a stored
answer, never a 500 (hypothesis)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.experiment.participant_client import Participant as Browser

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(["idempotency_key", "response", "rt_ms", "timed_out", "frame_stats"])
RESPONSES = st.fixed_dictionaries(
    {},
    optional={
        "positions": JSON | st.lists(st.integers(-3, 9), max_size=8),
        "clicks": JSON,
        "click": JSON,
        "position": JSON | st.integers(-3, 9),
        "present": JSON,
        "presses": JSON
        | st.lists(st.fixed_dictionaries({"frame": st.integers(-2, 8)}), max_size=4),
    },
)
BODIES = (
    st.fixed_dictionaries(
        {"idempotency_key": st.uuids().map(str) | st.text(max_size=70)},
        optional={
            "response": RESPONSES | JSON,
            "rt_ms": JSON,
            "timed_out": JSON,
            "frame_stats": JSON,
        },
    )
    | st.dictionaries(KEYS, JSON, max_size=5)
    | JSON
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_any_answer_body_gets_a_clear_answer(client, study, body):
    browser = getattr(client, "_fuzz_browser", None)
    if browser is None:
        browser = client._fuzz_browser = Browser(client)
        browser.consent()
        browser.open_runner()
    nxt = browser.next().json
    if nxt["done"]:
        return
    trial_id = nxt["trial"]["id"]
    response = client.post(
        f"/s/site-test/api/trials/{trial_id}/answer",
        headers={**browser.headers, "Content-Type": "application/json"},
        data=json.dumps(body, allow_nan=True),
    )
    assert response.status_code in {200, 201, 400, 409}, (response.status_code, response.json)
    assert response.is_json and ("error" in response.json or "status" in response.json)
