"""Slow down password guessing, in the database, so every worker and server agrees.

Each login attempt is counted *before* its password is checked, in one transaction that
locks the keys' rows: of 40 concurrent wrong passwords over any number of workers,
exactly ``max_failures`` reach the password check and the rest are told to wait (a
count kept per process, checked and then updated, let 24 of 40 through). A correct
password refunds its count afterwards.

Which keys an attempt counts against decides who can be locked out (OWASP's "device
cookie" scheme):

- a browser that has logged in to this account before carries a signed *trusted
  browser* cookie (auth/devices.py) and is throttled on that cookie alone;
- any other attempt is throttled per account (e-mail) and per client address.

So a stranger failing on purpose, or a spraying client behind the same proxy or NAT,
locks out only untrusted attempts: researchers who have logged in before from their
browser keep getting in with their password. Past ``max_failures`` the wait doubles
with every further attempt (from ``base_backoff_s`` up to ``max_backoff_s``); after
``window_s`` without an attempt the count starts again. Keys are stored only as keyed
hashes. No request in here (Indico's rule): the blueprint passes plain values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from experiment.hashing import keyed_hash
from experiment.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    """How many failures a kind of key is allowed, and how the wait grows past them."""

    kind: str
    max_failures: int
    window_s: float = 900.0
    base_backoff_s: float = 2.0
    max_backoff_s: float = 900.0

    def backoff(self, failures: int) -> timedelta:
        """The wait after ``failures`` (>= ``max_failures``) counted attempts."""
        excess = min(failures - self.max_failures, 30)  # 2**30 s is past any cap
        return timedelta(seconds=min(self.max_backoff_s, self.base_backoff_s * 2**excess))


TRUSTED_BROWSER = Rule("browser", max_failures=10)
ACCOUNT = Rule("account", max_failures=10)
ADDRESS = Rule("address", max_failures=50)
#: Rows untouched this long (window and wait long over) are deleted.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Key:
    rule: Rule
    value: str

    def digest(self, secret_key: str) -> str:
        return keyed_hash(secret_key, "login-throttle", self.rule.kind, self.value)


def attempt_keys(*, email: str, address: str, trusted_browser: str | None) -> list[Key]:
    """The keys one login attempt counts against (see the module docstring)."""
    if trusted_browser is not None:
        return [Key(TRUSTED_BROWSER, trusted_browser)]
    return [Key(ACCOUNT, email), Key(ADDRESS, address)]


def _locked_rows(
    session: Session, keys: Iterable[Key], secret_key: str, now: datetime
) -> list[tuple[Key, LoginThrottle]]:
    """The keys' rows, created where missing and locked (sorted: no deadlocks)."""
    by_digest = {key.digest(secret_key): key for key in keys}
    for digest in sorted(by_digest):
        try:
            with session.begin_nested():
                session.execute(
                    sa.insert(LoginThrottle).values(key=digest, failures=0, window_started_at=now)
                )
        except IntegrityError:
            pass  # exists already (or another worker just made it): lock it below
    rows = session.scalars(
        sa.select(LoginThrottle)
        .where(LoginThrottle.key.in_(sorted(by_digest)))
        .order_by(LoginThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return [(by_digest[row.key], row) for row in rows]


def reserve(session: Session, keys: list[Key], *, secret_key: str, now: datetime) -> float:
    """Count one attempt against every key, or none if any key must still wait.

    Returns 0 when the password may be checked, else the seconds to wait. The caller
    commits at once, before checking the password, so other workers see the count.
    """
    rows = _locked_rows(session, keys, secret_key, now)
    waits = [
        (row.blocked_until - now).total_seconds()
        for _key, row in rows
        if row.blocked_until is not None and row.blocked_until > now
    ]
    if waits:
        return max(waits)
    for key, row in rows:
        if now - row.window_started_at > timedelta(seconds=key.rule.window_s):
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        if row.failures >= key.rule.max_failures:
            row.blocked_until = now + key.rule.backoff(row.failures)
    _forget_stale(session, now)
    return 0.0


def refund(session: Session, keys: list[Key], *, secret_key: str, now: datetime) -> None:
    """After a correct password: the account's and browser's counts are cleared, the
    address's loses this attempt only (logging in to one's own account must not reset
    a spraying client's allowance, nor count against the others behind the address)."""
    for key, row in _locked_rows(session, keys, secret_key, now):
        if key.rule is ADDRESS:
            row.failures = max(0, row.failures - 1)
            if row.failures < key.rule.max_failures:
                row.blocked_until = None
        else:
            session.delete(row)


def _forget_stale(session: Session, now: datetime) -> None:
    """Drop rows whose window and wait are long over (keeps the table small)."""
    horizon = now - STALE_AFTER
    session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.window_started_at < horizon,
            sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < horizon),
        )
    )
