"""Response modes: one module each, registered here with one line.

``RESPONSE_MODES[name]`` gives the mode object; the key is also the module name, the
database value, the trial-table value and the template ``templates/trials/<name>.html``.
"""

from __future__ import annotations

from experiment.response_modes import keypress, m_afc, mark_outliers, yes_no
from experiment.response_modes.base import (
    ParsedResponse,
    ResponseError,
    ResponseMode,
    SimulatedAnswer,
    TrialContext,
)

RESPONSE_MODES: dict[str, ResponseMode] = {
    "mark_outliers": mark_outliers.MODE,
    "yes_no": yes_no.MODE,
    "m_afc": m_afc.MODE,
    "keypress": keypress.MODE,
}

__all__ = [
    "RESPONSE_MODES",
    "ParsedResponse",
    "ResponseError",
    "ResponseMode",
    "SimulatedAnswer",
    "TrialContext",
]
