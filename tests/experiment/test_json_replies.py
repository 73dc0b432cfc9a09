"""The site's JSON replies (``StrictJSONProvider.dumps``): orjson where it can, the
standard library where it cannot, and the same documents either way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from experiment.input_guard import StrictJSONProvider

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: beyond 64 bits orjson hands over to json
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # lone surrogates included: orjson refuses them, json escapes them
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


#: the site's provider on a bare app: writing needs no database
PROVIDER = StrictJSONProvider(Flask(__name__))


@given(value=JSON_VALUES)
def test_a_reply_reads_back_as_the_standard_librarys_would(value) -> None:
    text = PROVIDER.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))  # integer keys become text


def test_replies_keep_flasks_dates_and_the_views_key_order(app: Flask) -> None:
    moment = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    text = PROVIDER.dumps({"z": 1, "a": moment, "x": np.float64(0.5), "v": np.arange(2)})
    with app.app_context():  # the site's own app answers with it
        reply = app.json.response(status="stored", feedback=None)
    assert json.loads(text) == {"z": 1, "a": "Wed, 02 Dec 2026 04:00:00 GMT", "x": 0.5, "v": [0, 1]}
    assert text.index('"z"') < text.index('"a"')  # as built, not sorted
    assert json.loads(PROVIDER.dumps({"n": 2**70})) == {"n": 2**70}
    assert reply.get_data(as_text=True) == '{"status":"stored","feedback":null}\n'
