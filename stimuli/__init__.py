"""stimuli: make stimulus sets of data rows drawn as faces, tables and plots.

A pure library (no web, no database): data (synthetic regression with planted outliers,
or a CSV) -> encodings (``ENCODINGS``) -> a stimulus set on disk (manifest.json, private
truth.json, content-addressed media). Importing it is cheap: torch and matplotlib load
only when an encoding that needs them runs.
"""

from stimuli.config import ConditionSpec, DatasetSpec, StimulusSetConfig
from stimuli.demo import demo_config
from stimuli.encodings import ENCODINGS
from stimuli.errors import StimulusError
from stimuli.generate import generate_stimulus_set
from stimuli.store import StimulusSet, load_stimulus_set

__all__ = [
    "ENCODINGS",
    "ConditionSpec",
    "DatasetSpec",
    "StimulusError",
    "StimulusSet",
    "StimulusSetConfig",
    "demo_config",
    "generate_stimulus_set",
    "load_stimulus_set",
]
