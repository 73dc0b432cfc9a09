"""Response modes: one pure module each, registered here with one line.

``RESPONSE_MODES[name]`` is the mode object (see ``base.py`` for what it declares); the
key is also the module name, the database value, the trial-table value, the template
``templates/trials/<name>.html`` and the ES module ``experiment/static/js/modes/
<name>.js``. Everything that needs to know what an answer means (the site's parsing,
feedback and progress, the trial-table scoring, the simulator, the ideal observer, the
bot and the load generator) asks the mode through :func:`mode_named`, which refuses an
unknown name instead of falling through to some default.
"""

from __future__ import annotations

from analysis.response_modes import keypress, m_afc, mark_outliers, yes_no
from analysis.response_modes.base import (
    Decision,
    ParsedResponse,
    ResponseError,
    ResponseMode,
    SimulatedAnswer,
    TrialContext,
    UnknownResponseMode,
)

RESPONSE_MODES: dict[str, ResponseMode] = {
    "mark_outliers": mark_outliers.MODE,
    "yes_no": yes_no.MODE,
    "m_afc": m_afc.MODE,
    "keypress": keypress.MODE,
}

#: the mode a study or simulation uses when none is chosen
DEFAULT_MODE = mark_outliers.MODE.name


def mode_named(name: str) -> ResponseMode:
    """The registered mode ``name``; an unknown name raises :class:`UnknownResponseMode`."""
    try:
        return RESPONSE_MODES[name]
    except (KeyError, TypeError):
        raise UnknownResponseMode(
            f"unknown response mode {name!r}; registered: {', '.join(RESPONSE_MODES)}"
        ) from None


__all__ = [
    "DEFAULT_MODE",
    "RESPONSE_MODES",
    "Decision",
    "ParsedResponse",
    "ResponseError",
    "ResponseMode",
    "SimulatedAnswer",
    "TrialContext",
    "UnknownResponseMode",
    "mode_named",
]
