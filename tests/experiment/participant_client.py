"""A test-client helper that walks the participant pages like a browser would."""

from __future__ import annotations

import re
import uuid

import numpy as np

from analysis.response_modes import mode_named

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
TOKEN = re.compile(rb'name="glyphlab-token" content="([^"]+)"')


class Participant:
    """One browser (cookie jar) taking study ``slug`` through Flask's test client."""

    def __init__(self, client, slug: str = "site-test") -> None:
        self.client = client
        self.slug = slug
        self.token: str | None = None

    def consent(self, query: str = "") -> None:
        page = self.client.get(f"/s/{self.slug}/{query}")
        assert page.status_code == 200, page.data[:300]
        csrf = CSRF.search(page.data).group(1).decode()
        response = self.client.post(
            f"/s/{self.slug}/consent", data={"csrf_token": csrf, "consent": "yes"}
        )
        assert response.status_code == 302, response.data[:300]

    def open_runner(self) -> str:
        page = self.client.get(f"/s/{self.slug}/run")
        assert page.status_code == 200, page.data[:300]
        self.token = TOKEN.search(page.data).group(1).decode()
        return self.token

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Glyphlab-Token": self.token or ""}

    def next(self):
        return self.client.get(f"/s/{self.slug}/api/next", headers=self.headers)

    def start(self, trial_id: str):
        return self.client.post(
            f"/s/{self.slug}/api/trials/{trial_id}/start", headers=self.headers, json={}
        )

    def answer(
        self, trial_id: str, response=None, *, key: str | None = None, start: bool = True, **extra
    ):
        """Post an answer; first ``start`` the trial (idempotent: a started trial keeps
        its onset), as the runner does at onset, unless ``start`` is False."""
        if start:
            self.start(trial_id)
        body = {"idempotency_key": key or str(uuid.uuid4()), "rt_ms": 800.0, **extra}
        if response is not None:
            body["response"] = response
        return self.client.post(
            f"/s/{self.slug}/api/trials/{trial_id}/answer", headers=self.headers, json=body
        )


def consented(client, slug: str = "site-test") -> Participant:
    """A participant of study ``slug`` who has consented and opened the runner."""
    participant = Participant(client, slug)
    participant.consent()
    participant.open_runner()
    return participant


def some_answer(trial: dict) -> dict:
    """A well-formed answer for any trial (not necessarily right), as its mode writes one."""
    composite = trial.get("composite")
    area = (composite["width"], composite["height"]) if composite else None
    return mode_named(trial["response_mode"]).random_answer(
        trial["n_items"], area, np.random.default_rng(0)
    )
