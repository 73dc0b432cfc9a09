"""The encoding registry: name -> :class:`~stimuli.encodings.base.Encoding` subclass.

The key is the encoding's ``name`` (= module name = manifest ``encoding`` value). To add
an encoding write ``stimuli/encodings/<name>.py`` (see ``base.py`` for the protocol) and
add one import and one line below. Encoding modules import heavy libraries lazily, so
importing this registry stays cheap.
"""

from stimuli.encodings.base import Encoding, Grid, MappedParams, Rows, feature_matrix
from stimuli.encodings.chernoff import Chernoff
from stimuli.encodings.gan_face import GanFace
from stimuli.encodings.plot import Plot
from stimuli.encodings.table import Table

ENCODINGS: dict[str, type[Encoding]] = {
    "gan_face": GanFace,
    "chernoff": Chernoff,
    "table": Table,
    "plot": Plot,
}

__all__ = ["ENCODINGS", "Encoding", "Grid", "MappedParams", "Rows", "feature_matrix"]
