"""The encoding registry: name -> :class:`~stimuli.encodings.base.Encoding` subclass.

The key is the encoding's ``name`` (= module name = manifest ``encoding`` value). To add
an encoding write ``stimuli/encodings/<name>.py`` (see ``base.py`` for the protocol) and
add one import and one line below. Encoding modules import heavy libraries lazily, so
importing this registry stays cheap. Code outside the encoding modules asks the class
what it needs (:func:`encoding_named`, :func:`display_of`, ``label``) and never tests a
name.
"""

from stimuli.encodings.base import Display, Encoding, Grid, MappedParams, Rows, feature_matrix
from stimuli.encodings.chernoff import Chernoff
from stimuli.encodings.gan_face import GanFace
from stimuli.encodings.plot import Plot
from stimuli.encodings.table import Table
from stimuli.errors import StimulusError

ENCODINGS: dict[str, type[Encoding]] = {
    "gan_face": GanFace,
    "chernoff": Chernoff,
    "table": Table,
    "plot": Plot,
}


def encoding_named(name: str) -> type[Encoding]:
    """The registered encoding class ``name``; an unknown name is a :class:`StimulusError`."""
    try:
        return ENCODINGS[name]
    except (KeyError, TypeError):
        raise StimulusError(
            f"unknown encoding {name!r}; registered: {', '.join(ENCODINGS)}"
        ) from None


def display_of(encoding: str, layout: str) -> Display:
    """How the site shows ``encoding`` in ``layout``: a sequence is one image per frame,
    a grid is shown as the encoding declares."""
    return encoding_named(encoding).display if layout == "grid" else Display.IMAGES


__all__ = [
    "ENCODINGS",
    "Display",
    "Encoding",
    "Grid",
    "MappedParams",
    "Rows",
    "display_of",
    "encoding_named",
    "feature_matrix",
]
