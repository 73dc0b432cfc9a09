"""Who may take a study on what screen: phones (if the study refuses them) and windows
smaller than the study's minimum get a polite page instead of a study they cannot do.

A phone is told apart by its User-Agent's ``Mobi`` token (MDN's advice: every mobile
browser sends it, tablets and desktops do not). The window size can only be known in
the browser, so the consent page carries the minimum and ``static/js/screen-check.js``
holds the Continue button back, saying why, while the window is too small.
"""

from __future__ import annotations


def is_phone(user_agent: str) -> bool:
    return "Mobi" in (user_agent or "")
