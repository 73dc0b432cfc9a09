"""Read a generated stimulus set back: ``load_stimulus_set(folder)``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stimuli.errors import StimulusError


@dataclass(frozen=True)
class StimulusSet:
    """A set on disk: its public ``manifest`` and private ``truth`` (never serve truth)."""

    folder: Path
    manifest: dict[str, Any]
    truth: dict[str, Any]

    @property
    def set_id(self) -> str:
        return self.manifest["set_id"]

    def media_path(self, relative: str) -> Path:
        """Absolute path of a manifest media entry; refuses anything outside ``media/``."""
        media = (self.folder / "media").resolve()
        path = (self.folder / relative).resolve()
        if path.parent != media or not path.is_file():
            raise StimulusError(f"no media file {relative!r} in stimulus set {self.set_id}")
        return path


def load_stimulus_set(folder: str | Path) -> StimulusSet:
    """Load manifest.json and truth.json of the set in ``folder``."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise StimulusError(
            f"{folder} is not a stimulus set ({Path(error.filename).name} missing); "
            "make one with `glyphlab stimuli generate CONFIG.toml --out DIR`"
        ) from None
    except json.JSONDecodeError as error:
        raise StimulusError(f"stimulus set {folder} has a corrupt JSON file: {error}") from None
    if manifest.get("set_id") != truth.get("set_id"):
        raise StimulusError(f"stimulus set {folder}: manifest and truth belong to different sets")
    return StimulusSet(folder, manifest, truth)
