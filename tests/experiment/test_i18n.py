"""The site's own strings go through Flask-Babel: a test locale renders from one
catalogue, and the shipped template catalogue (messages.pot) is current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from experiment import create_app
from experiment.config import SiteConfig
from experiment.i18n import TRANSLATIONS
from tests.experiment.conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "_l": None,
    "Text": (2,),
}
#: a few of the site's strings in a made-up "test" translation (Esperanto, for a real tag)
TEST_LOCALE = {
    "Researcher log in": "Ensaluto de esploristo",
    "Log in": "Ensaluti",
    "E-mail": "Retpoŝto",
}


def _extracted() -> set[str]:
    found = set()
    for folder, method in (("templates", "jinja2"), ("experiment", "python")):
        pattern = "**.html" if method == "jinja2" else "**.py"
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, [(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_shipped_catalogue_holds_every_marked_string():
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        shipped = {message.id for message in read_po(handle) if message.id}
    shipped = {m if isinstance(m, str) else m[0] for m in shipped}
    missing = _extracted() - shipped
    assert not missing, (
        f"messages.pot lacks {sorted(missing)[:10]}: run "
        "`pybabel extract -F babel.cfg -k Text:2 -k _l -o experiment/translations/messages.pot .`"
    )


def test_a_test_locale_renders_from_one_catalogue(tmp_path, migrated_url):
    catalog = Catalog(locale="eo")
    for english, translated in TEST_LOCALE.items():
        catalog.add(english, translated)
    folder = tmp_path / "translations" / "eo" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    config = SiteConfig(
        data_dir=tmp_path,
        database_url=migrated_url,
        secret_key=TEST_SECRET_KEY,
        locale="eo",
        translations_dir=tmp_path / "translations",
    )
    page = create_app(config).test_client().get("/login").get_data(as_text=True)
    assert '<html lang="eo">' in page
    for translated in TEST_LOCALE.values():
        assert translated in page
    assert "Researcher log in" not in page
    english = create_app(
        SiteConfig(data_dir=tmp_path, database_url=migrated_url, secret_key=TEST_SECRET_KEY)
    )
    assert "Researcher log in" in english.test_client().get("/login").get_data(as_text=True)
