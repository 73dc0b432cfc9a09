"""Login throttle, redirect target checks and account validation, without a server."""

from __future__ import annotations

import pytest

from experiment.auth.blueprint import safe_next
from experiment.auth.operations import ResearcherError, validate_email, validate_password
from experiment.auth.throttle import LoginThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_blocks_after_max_failures_and_forgets_after_the_window():
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(2):
        throttle.failed("address:1", "email:a")
    assert throttle.retry_after("address:1", "email:a") == 0
    throttle.failed("address:1", "email:a")
    assert throttle.retry_after("email:a") == pytest.approx(60)
    assert throttle.retry_after("address:2", "email:a") == pytest.approx(60)
    assert throttle.retry_after("address:2", "email:b") == 0
    clock.now += 30
    assert throttle.retry_after("address:1") == pytest.approx(30)
    clock.now += 30.001
    assert throttle.retry_after("address:1", "email:a") == 0


def test_throttle_success_clears_the_record():
    throttle = LoginThrottle(max_failures=1, window_s=60, clock=FakeClock())
    throttle.failed("email:a")
    assert throttle.retry_after("email:a") > 0
    throttle.succeeded("email:a")
    assert throttle.retry_after("email:a") == 0


def test_throttle_memory_is_bounded(monkeypatch):
    monkeypatch.setattr("experiment.auth.throttle.MAX_KEYS", 10)
    throttle = LoginThrottle(max_failures=1, window_s=60, clock=FakeClock())
    for number in range(50):
        throttle.failed(f"address:{number}")
    assert len(throttle._failures) == 10
    assert throttle.retry_after("address:49") > 0
    assert throttle.retry_after("address:0") == 0


@pytest.mark.parametrize(
    "target",
    ["/dashboard/", "/dashboard/studies/3?tab=progress", "/dashboard/studies/new#top"],
)
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "dashboard",
        "/dash board",
        "/x\r\nLocation: https://evil.example",
        "http:/evil.example",
    ],
)
def test_safe_next_refuses_other_sites_and_odd_input(target):
    assert safe_next(target) is None


def test_email_is_normalised_and_checked():
    assert validate_email("  Ada@Example.ORG ") == "ada@example.org"
    for bad in [
        "",
        "ada",
        "ada@",
        "@example.org",
        "a b@example.org",
        "ada@example",
        "a" * 250 + "@x.org",
    ]:
        with pytest.raises(ResearcherError, match="e-mail"):
            validate_email(bad)


def test_password_rules_say_what_to_do():
    assert validate_password("correct horse") == "correct horse"
    with pytest.raises(ResearcherError, match="at least 10"):
        validate_password("short")
    with pytest.raises(ResearcherError, match="whitespace"):
        validate_password(" " * 12)
    with pytest.raises(ResearcherError, match="too long"):
        validate_password("x" * 2000)
