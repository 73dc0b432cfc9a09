"""The site's own strings through Flask-Babel: a translation is one catalogue.

Templates mark their text with ``_()`` (Jinja's i18n extension, which Flask-Babel
installs) and the participant texts' defaults (``experiment.texts.TEXTS``) are passed
through ``gettext`` when shown, so translating the site is writing
``experiment/translations/<locale>/LC_MESSAGES/messages.po`` from the shipped
``messages.pot`` and compiling it (``pybabel compile -d experiment/translations``).
English is the source language and needs no catalogue. The locale is the site's
(``GLYPHLAB_LOCALE``, default ``en``); a study's own texts are written by its
researcher in whatever language the study runs in.

``pybabel extract -F babel.cfg -k Text:2 -k _l -o experiment/translations/messages.pot .``
refreshes the template; tests/experiment/test_i18n.py checks it is current.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel, get_locale

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def init_app(app: Flask, *, locale: str, extra_dir: Path | None = None) -> None:
    """Babel with the site's locale; ``extra_dir`` (a deployment's own catalogues) is
    searched before the shipped ones."""
    folders = [str(extra_dir)] if extra_dir is not None else []
    app.config["BABEL_DEFAULT_LOCALE"] = locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join([*folders, str(TRANSLATIONS)])
    Babel(app)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or locale)
