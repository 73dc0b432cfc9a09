"""The glyphlab experiment site's Flask app factory (flaskr style).

``create_app(config)`` builds a site from a :class:`SiteConfig`; nothing happens at
import time. Pages live in the top-level ``templates/`` (one folder per blueprint),
static files in ``experiment/static/``. Views call ``experiment/services/`` with a
``Session`` (the runner API with a Core ``Connection``, ``db.get_connection``) and plain
values; only views touch ``flask.request``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from experiment import db, error_pages, i18n, input_guard, landing, security
from experiment.config import SiteConfig
from experiment.jobs.queue import JobQueue
from experiment.memo import BoundedMemo
from experiment.models import utcnow
from experiment.proxy import TrustedProxies
from experiment.services.participants import StudyPages
from experiment.services.plans import PlanCache
from experiment.services.trials import ServedTrials
from experiment.sessions import PageSessions
from experiment.stimulus_sets import StimulusSetCache

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
#: trials whose media a process remembers (a miss costs a media request one read)
MEDIA_TRIALS_KEPT = 200_000
SITE_KEY = "glyphlab.site"

csrf = CSRFProtect()


@dataclass
class Site:
    """Per-app state the views need besides the database: settings, clock, set cache.

    ``clock`` is injectable so tests can move time past a deadline, and ``plan_seed``
    (each new participant's plan seed) so a test's participants follow its ``--seed``
    and a failing run can be replayed.
    """

    config: SiteConfig
    clock: Callable[[], datetime] = utcnow
    plan_seed: Callable[[], int] = lambda: secrets.randbits(62)
    stimulus_sets: StimulusSetCache = field(default_factory=StimulusSetCache)
    #: participants' plans and studies' settings (services/plans.py)
    plans: PlanCache = field(default_factory=PlanCache)
    #: the trial this process served or started each tab (services/known_answers.py)
    served_trials: ServedTrials = field(default_factory=ServedTrials)
    #: what the participant pages read of each study (services/participants.py)
    study_pages: StudyPages = field(default_factory=StudyPages)
    #: trial public id -> what its media need (participant/media.py)
    media_trials: BoundedMemo[str, Any] = field(
        default_factory=lambda: BoundedMemo(MEDIA_TRIALS_KEPT)
    )
    #: locale -> the participant texts' defaults translated (participant/pages.py)
    default_texts: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the background-job queue (``experiment.jobs``), set by ``create_app``
    jobs: Any = None


class SiteFlask(Flask):
    """Flask with ``ensure_sync`` answered once per function.

    Flask asks ``ensure_sync`` for every view and hook of every request, and each
    answer costs an ``inspect`` of the function (a few per cent of a runner call's
    CPU); Flask documents overriding it as the way to change how views are run.
    """

    #: functions remembered at most; past it the memo starts again (closures that
    #: ``after_this_request`` makes per request would otherwise pile up)
    MEMO_LIMIT = 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync[func]
        except KeyError:
            if len(self._sync) >= self.MEMO_LIMIT:
                self._sync.clear()
            self._sync[func] = answer = super().ensure_sync(func)
            return answer
        except TypeError:  # unhashable: ask every time
            return super().ensure_sync(func)


def site() -> Site:
    return current_app.extensions[SITE_KEY]


def create_app(
    config: SiteConfig | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    plan_seed: Callable[[], int] | None = None,
) -> Flask:
    """Build the site. ``config`` defaults to ``SiteConfig.from_env()``.

    Behind a reverse proxy (``config.proxy_count`` > 0) the WSGI app is wrapped in
    :class:`~experiment.proxy.TrustedProxies`, so the client's address and scheme are the
    ones the proxy saw; see docs/deploy.md.
    """
    config = SiteConfig.from_env() if config is None else config
    # Named after the package (logger "experiment", static files in experiment/static/).
    app = SiteFlask("experiment", template_folder=str(TEMPLATES), static_folder="static")
    app.session_interface = PageSessions()
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="glyphlab_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.secure_cookies,
    )
    if config.proxy_count:
        app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
            app.wsgi_app, proxy_count=config.proxy_count, trusted=config.trusted_proxies
        )
    database = db.Database(config.database_url)
    app.extensions[SITE_KEY] = Site(
        config=config, clock=clock or utcnow, jobs=JobQueue(config, database)
    )
    if plan_seed is not None:
        app.extensions[SITE_KEY].plan_seed = plan_seed
    db.init_app(app, database)
    i18n.init_app(app, locale=config.locale, extra_dir=config.translations_dir)
    csrf.init_app(app)
    error_pages.register(app)
    security.register(app)
    input_guard.register(app)

    from experiment.participant import api, media, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(media.bp)
    csrf.exempt(api.bp)
    from experiment import auth, dashboard  # they import ``site`` (from here)
    from experiment.jobs import blueprint as jobs
    from experiment.studio import blueprint as studio

    auth.init_app(app)
    dashboard.init_app(app)
    jobs.init_app(app)
    landing.init_app(app)
    studio.init_app(app)
    if config.cpu_accounting_dir is not None:
        from experiment import cpu_accounting

        cpu_accounting.install(app, config.cpu_accounting_dir)
    return app
