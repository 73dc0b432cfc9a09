"""Every string a participant reads, with its default, editable per study.

A study stores only the texts its researcher changed (``Study.texts``: key -> text);
:func:`study_texts` fills in the rest from :data:`TEXTS`. Long texts (consent,
instructions, debrief) are Markdown, rendered and sanitised by :func:`render_markdown`:
markdown-it-py with raw HTML off, then nh3 (Ammonia) as a second line of defence, so a
researcher's text can hold links and lists but never a script. Short texts are plain
and escaped by Jinja like any other value. Response modes add their own prompts and
buttons through ``mode_texts`` (see :func:`all_texts`).

Placeholders in braces (``{seconds}``, ``{number}``, ``{of}``, ``{key}``) are filled in
by the page that shows the text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from glyphlab.errors import GlyphlabError

MAX_TEXT_CHARS = 20_000
#: rendered texts a process keeps (each at most MAX_TEXT_CHARS of Markdown)
MARKDOWN_CACHE_SIZE = 256


class TextError(GlyphlabError):
    """A study text is unknown or too long."""


@dataclass(frozen=True)
class Text:
    label: str
    default: str
    markdown: bool = False


TEXTS: dict[str, Text] = {
    "consent_heading": Text("Consent: heading", "Before you start"),
    "consent_agree": Text(
        "Consent: the box to tick", "I have read the text above and agree to take part."
    ),
    "consent_continue": Text("Consent: continue button", "Continue"),
    "consent_decline": Text("Consent: decline button", "I do not want to take part"),
    "declined_heading": Text("After declining: heading", "Thank you"),
    "declined_message": Text(
        "After declining: message",
        "You have chosen not to take part. Nothing about you has been stored. "
        "You can close this page.",
    ),
    "phone_heading": Text("Phones refused: heading", "This study needs a larger screen"),
    "phone_message": Text(
        "Phones refused: message",
        "This study shows groups of faces, tables and plots that do not fit on a phone. "
        "Please open the same link on a computer or a tablet. Nothing has been stored.",
    ),
    "window_too_small": Text(
        "Window too small",
        "Your browser window is {have} pixels; this study needs at least {need}. Please "
        "make the window larger (or use a larger screen) to continue.",
    ),
    "instructions_heading": Text("Instructions: heading", "How it works"),
    "instructions": Text(
        "Instructions (Markdown)",
        "On each screen you see a group of items: faces, rows of a table, or points in a "
        "plot. Each item stands for one row of data. Most rows follow the same pattern "
        "(how the last column goes with the others); an **outlier** breaks it. Your task "
        "is to spot the odd ones, as quickly and as accurately as you can.",
        markdown=True,
    ),
    "instructions_time_limit": Text(
        "Instructions: time limit",
        "Each screen has a time limit ({seconds} s); a bar shows how much time is left.",
    ),
    "instructions_stay": Text(
        "Instructions: stay on the page",
        "Please stay on this page and keep the window in front while you work.",
    ),
    "instructions_fullscreen": Text(
        "Instructions: full screen",
        "When you press Start, the study asks to fill the screen; please stay in full screen "
        "until the end.",
    ),
    "instructions_practice": Text(
        "Instructions: practice",
        "You start with {number} practice screen(s) and see after each whether you were "
        "right; then the main screens follow without feedback.",
    ),
    "instructions_no_practice": Text(
        "Instructions: no practice", "There is no feedback on whether you were right."
    ),
    "start_button": Text("Start button", "Start"),
    "next_button": Text("Next button", "Next"),
    "fullscreen_button": Text(
        "Full screen button (shown after leaving full screen)", "Full screen"
    ),
    "practice_intro": Text(
        "Before the practice",
        "Practice first: you will see after each screen whether you were right.",
    ),
    "main_intro": Text(
        "Before the main part", "Ready? The timed screens start when you press Start."
    ),
    "practice_done": Text(
        "After the practice",
        "Practice done. The main part starts now; there is no feedback from here on.",
    ),
    "phase_practice": Text("Status: practice", "Practice"),
    "phase_main": Text("Status: main part", "Main part"),
    "screen_count": Text("Status: screen count", "Screen {number} of {of}"),
    "loading": Text("Loading", "Loading the first screen…"),
    "saving": Text("Saving", "Saving…"),
    "end_of_sequence": Text("End of a sequence", "End of sequence."),
    "time_up": Text("Time is up", "Time is up."),
    "feedback_right": Text("Feedback: right", "Right!"),
    "feedback_wrong": Text("Feedback: wrong", "Not quite."),
    "answer_refused": Text(
        "An answer the site refused",
        "That answer could not be taken. Please answer again.",
    ),
    "connection_retry": Text(
        "Connection lost, retrying",
        "The connection was lost; trying again to save your answer (attempt {number})…",
    ),
    "error_reload": Text(
        "Error: reload",
        "Something went wrong. Reload the page to continue where you were.",
    ),
    "reload_button": Text("Reload button", "Reload"),
    "debrief_heading": Text("Debrief: heading", "Thank you!"),
    "completion_code": Text("Debrief: completion code", "Your completion code:"),
    "completion_link": Text("Debrief: link back", "Finish and return to the recruitment site"),
}


def all_texts(mode_texts: Mapping[str, Mapping[str, Text]] | None = None) -> dict[str, Text]:
    """The site's texts plus each response mode's, keyed ``<mode>.<key>``."""
    merged = dict(TEXTS)
    for mode, texts in (mode_texts or {}).items():
        merged.update({f"{mode}.{key}": text for key, text in texts.items()})
    return merged


def check_overrides(overrides: Mapping[str, str], known: Mapping[str, Text]) -> dict[str, str]:
    """The overrides a researcher gave, refused when a key is unknown or a text too long;
    a text equal to its default (or empty) is dropped, so defaults stay live."""
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise TextError(f"unknown study texts {unknown}; known: {sorted(known)}")
    kept = {}
    for key, value in overrides.items():
        if not isinstance(value, str):
            raise TextError(f"study text {key!r} must be text, not {value!r}")
        if len(value) > MAX_TEXT_CHARS:
            raise TextError(f"study text {key!r} is longer than {MAX_TEXT_CHARS} characters")
        if value.strip() and value.strip() != known[key].default:
            kept[key] = value.strip()
    return kept


def study_texts(
    overrides: Mapping[str, str],
    known: Mapping[str, Text],
    *,
    translate: Callable[[str], str] = str,
) -> dict[str, str]:
    """Every text a study shows: its overrides over the defaults (``translate``d into
    the site's language)."""
    return {key: overrides.get(key) or translate(text.default) for key, text in known.items()}


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "li", "ol", "p", "pre",
    "strong", "ul",
}  # fmt: skip


@functools.lru_cache(maxsize=MARKDOWN_CACHE_SIZE)
def render_markdown(text: str) -> Markup:
    """Markdown -> safe HTML: headings from level 2 (the page owns h1), links open in a
    new tab (a participant never loses the study page) and carry no referrer. Kept per
    text: every participant of a study reads the same consent and debrief, and parsing
    and cleaning them again was a tenth of the consent page's CPU."""
    html = _MARKDOWN.render(text or "")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return Markup(clean)
