"""Login throttle, redirect target checks and account validation, without a server."""

from __future__ import annotations

import pytest

from experiment.auth.blueprint import safe_next
from experiment.auth.operations import ResearcherError, validate_email, validate_password
from experiment.auth.throttle import Rule


def test_the_wait_doubles_past_the_limit_up_to_the_cap():
    rule = Rule("test", max_failures=3, base_backoff_s=2, max_backoff_s=60)
    waits = [rule.backoff(failures).total_seconds() for failures in range(3, 10)]
    assert waits == [2, 4, 8, 16, 32, 60, 60]
    assert rule.backoff(10**6).total_seconds() == 60


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
