"""The glyphlab experiment site: Flask views over services over SQLAlchemy models.

The app factory and the per-app state live in :mod:`experiment.app` (``create_app``,
``site``, ``Site``, ``csrf``, ``TEMPLATES``); they are loaded from there on first use
(PEP 562), so importing this package imports no Flask. Why: ``experiment/services/``
and ``experiment/design.py`` are plain Python that the CLI, the bots and the tests call
without the web layer (tests/test_boundaries.py).
"""

from __future__ import annotations

from typing import Any

#: Names this package hands out from :mod:`experiment.app`.
APP_NAMES = frozenset({"create_app", "site", "Site", "csrf", "TEMPLATES", "SITE_KEY"})


def __getattr__(name: str) -> Any:
    if name in APP_NAMES:
        from experiment import app

        return getattr(app, name)
    raise AttributeError(f"module 'experiment' has no attribute {name!r}")
