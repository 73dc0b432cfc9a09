"""Refuse request input that no browser sends but that would crash a view or the database.

Found by probing the site with hostile requests; each case used to answer 500:

- JSON nested thousands of levels deep (``[[[[...``) made ``json.loads`` raise
  ``RecursionError``, which ``request.get_json(silent=True)`` does not catch;
- ``NaN``, ``Infinity`` and ``1e400`` are accepted by Python's parser but are not JSON:
  stored inside an answer's ``frame_stats`` or ``raw`` they make PostgreSQL refuse the row;
- a NUL character (in the URL, a query value, a header, a form field or a JSON string)
  cannot be bound to a PostgreSQL text parameter, and an unpaired surrogate (``"\\ud800"``
  in JSON) cannot be encoded as UTF-8 for either database.

The JSON provider checks every body the views parse, and a ``before_request`` hook checks
the URL, headers and form fields, so all of it is a 400 with a message before any view
or query runs. Legitimate answers are a few levels deep; ``MAX_JSON_DEPTH`` leaves room.

The same provider writes the site's JSON replies, with orjson.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from experiment.errors import BadRequest

MAX_JSON_DEPTH = 16
#: integer keys as text and numpy numbers as numbers (as ``json`` is asked to), and dates
#: left to Flask's ``default`` (which writes them as HTTP dates)
REPLY_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME
)


def _refuse_constant(name: str) -> float:
    raise BadRequest(f"{name} is not a JSON number; send finite numbers only.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"{text} is too large for a number; send finite numbers only.")
    return value


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise BadRequest(f"{where} contains a NUL character, which text here may not contain.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            f"{where} contains an unpaired UTF-16 surrogate (not valid text)."
        ) from None


def check_json_value(value: Any) -> None:
    """Refuse deep nesting and text the databases cannot store (iteratively: a deep
    document must not exhaust the stack here either)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item, "A JSON string")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key, "A JSON key")
                pending.extend((child, depth + 1) for child in item.values())
            else:
                pending.extend((child, depth + 1) for child in item)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, parsing only what JSON allows and what the databases can store, and
    written by orjson.

    Problems are raised as :class:`BadRequest` (not ``ValueError``), so they pass
    through ``get_json(silent=True)`` and reach the client as a 400 saying what is wrong;
    plain syntax errors still make ``get_json`` return ``None``.
    """

    #: keys in the order the views build them (Flask sorts by default)
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """``obj`` as JSON text, by orjson: an answer's reply carries the next trial with
        its images inline (``data:`` URIs, tens of kB), which the standard library's
        encoder scans character by character; orjson writes a 46 kB reply in 7 µs
        instead of 226. What orjson does not write itself (dates, as Flask writes them,
        and anything ``__html__``) goes to Flask's ``default``; what it refuses (an
        integer beyond 64 bits, which the tests' clients send) is left to the standard
        library. Compact output (the ``separators`` Flask passes) is orjson's own;
        ``indent`` (debug mode) is kept. JSON columns are still written by the standard
        library: their text is the trial table's (``"[3, 7]"``)."""
        option = REPLY_OPTIONS
        if kwargs.get("indent"):
            option |= orjson.OPT_INDENT_2
        if kwargs.get("sort_keys", self.sort_keys):
            option |= orjson.OPT_SORT_KEYS
        try:
            text = orjson.dumps(obj, default=kwargs.get("default", self.default), option=option)
        except orjson.JSONEncodeError:
            return super().dumps(obj, **kwargs)
        return text.decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _refuse_constant)
        kwargs.setdefault("parse_float", _finite_float)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise BadRequest(
                f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        check_json_value(value)
        return value


def _clean(texts: list[str]) -> bool:
    """Whether none of ``texts`` holds a NUL or an unpaired surrogate: one check over
    them joined (Python never pairs surrogates across strings when encoding), so a
    request that is fine, nearly all, costs one pass instead of one per header."""
    joined = "".join(texts)
    if "\x00" in joined:
        return False
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refuse_unstorable_text() -> None:
    """A NUL in the URL, a header or a form field: 400 before any query is built."""
    environ = request.environ
    texts = [request.path]
    if environ.get("QUERY_STRING"):  # decoded: %00 is a NUL
        texts.extend(name + value for name, value in request.args.items(multi=True))
    texts.extend(v for k, v in environ.items() if k.startswith("HTTP_") and isinstance(v, str))
    texts.extend((environ.get("CONTENT_TYPE", ""), environ.get("CONTENT_LENGTH", "")))
    if _clean(texts) and request.mimetype not in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        return
    _check_text(request.path, "The address")
    for name, value in request.args.items(multi=True):
        _check_text(name + value, "The query string")
    for name, value in request.headers.items():
        _check_text(value, f"The {name} header")
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        for name, value in request.form.items(multi=True):
            _check_text(name + value, "A form field")


def register(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.before_request(refuse_unstorable_text)
