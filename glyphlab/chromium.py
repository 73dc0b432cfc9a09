"""Where Debian's Chromium is and how it must start here: one list for tests and benchmarks.

Browser tests and the timing benchmarks drive ``/usr/bin/chromium`` through Playwright
(never ``playwright install``); the flags keep it headless, offline and quiet in a
closed network, running as root.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
