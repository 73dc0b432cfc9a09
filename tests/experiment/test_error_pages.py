"""The one error mapping: errors carry their status, the web layer turns them into answers."""

from __future__ import annotations

import pytest

from analysis.response_modes import ResponseError
from experiment.errors import Conflict
from glyphlab.errors import GlyphlabError


class Teapot(GlyphlabError):
    """An error of a pure library: it carries a status without knowing the site."""

    status = 418


@pytest.fixture
def raising_client(app):
    errors = {
        "conflict": Conflict("That answer was already stored."),
        "mode": ResponseError("selected must be a list of item positions"),
        "teapot": Teapot("I brew no coffee."),
        "broken": GlyphlabError("stimulus set /srv/sets/abc is missing"),
    }

    @app.get("/api/raise/<kind>")
    @app.get("/raise/<kind>")
    def raise_it(kind: str):
        raise errors[kind]

    return app.test_client()


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("conflict", 409, "That answer was already stored."),
        ("mode", 400, "selected must be a list of item positions"),
        ("teapot", 418, "I brew no coffee."),
    ],
)
def test_an_error_with_a_status_answers_with_it(raising_client, kind, status, message):
    api = raising_client.get(f"/api/raise/{kind}")
    assert api.status_code == status and api.json == {"error": message, "status": status}
    page = raising_client.get(f"/raise/{kind}")
    assert page.status_code == status and page.mimetype == "text/html"
    assert message in page.get_data(as_text=True)


def test_an_error_without_one_is_the_sites_problem_and_hides_its_details(raising_client):
    api = raising_client.get("/api/raise/broken")
    assert api.status_code == 503 and "/srv/sets" not in api.get_data(as_text=True)
    assert "tell the researcher" in api.json["error"]
