"""Reading a stimulus set folder (manifest.json + truth.json) per the contract.

The site keeps the parsed set in memory per folder (``StimulusSetCache``): every trial
fetch and media request looks a stimulus up by id, and re-reading JSON from disk for
each would dominate the request time. Media files are kept in memory too, up to a
budget (``MediaFiles``), since a trial sends the same few small files again and again.
truth.json is read here and only here; what a view may send is decided in
``services/trials.py``.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glyphlab.errors import GlyphlabError
from stimuli import load_stimulus_set

ROLES = ("main", "practice", "attention_check")
MEDIA_MEMORY_BYTES = 128 * 2**20


class StimulusSetError(GlyphlabError):
    """The folder is not a readable stimulus set."""


class MediaFiles:
    """A set's media files by manifest name: path checked once, bytes read once.

    Sets never change once made, so nothing here goes stale. Bytes are kept until
    ``budget_bytes`` is used up; files past it are read from disk on every request.
    """

    def __init__(self, folder: Path, budget_bytes: int = MEDIA_MEMORY_BYTES) -> None:
        self._media_dir = folder / "media"
        self._paths: dict[str, Path] = {}
        self._bytes: dict[Path, bytes] = {}
        self._left = budget_bytes
        #: inline media as the ``data:`` URIs trial payloads carry, under a budget of
        #: their own (base64 each time was a tenth of an answer's CPU)
        self._uris: dict[str, str] = {}
        self._uris_left = budget_bytes
        self._lock = threading.Lock()

    def path(self, relative: str) -> Path:
        """Absolute path of a media file named in the manifest, refusing escapes."""
        path = self._paths.get(relative)
        if path is None:
            path = (self._media_dir.parent / relative).resolve()
            if self._media_dir not in path.parents:
                raise StimulusSetError(f"manifest names media outside media/: {relative!r}")
            self._paths[relative] = path
        return path

    def size(self, relative: str) -> int:
        path = self.path(relative)
        data = self._bytes.get(path)
        return len(data) if data is not None else path.stat().st_size

    def read(self, relative: str) -> bytes:
        path = self.path(relative)
        data = self._bytes.get(path)
        if data is None:
            data = path.read_bytes()
            with self._lock:
                if len(data) <= self._left and path not in self._bytes:
                    self._bytes[path] = data
                    self._left -= len(data)
        return data

    def data_uri(self, relative: str, mimetype: str) -> str:
        """The file as a ``data:`` URI of ``mimetype`` (a function of its name)."""
        uri = self._uris.get(relative)
        if uri is None:
            uri = f"data:{mimetype};base64,{base64.b64encode(self.read(relative)).decode()}"
            with self._lock:
                if len(uri) <= self._uris_left and relative not in self._uris:
                    self._uris[relative] = uri
                    self._uris_left -= len(uri)
        return uri


@dataclass(frozen=True)
class LoadedStimulusSet:
    folder: Path
    set_id: str
    manifest: dict[str, Any]
    truth: dict[str, Any]
    stimuli: dict[str, dict[str, Any]]
    datasets: dict[str, dict[str, Any]]
    media: MediaFiles = field(init=False, repr=False, compare=False)
    #: what design.py derives from the set alone (stimulus pools, the main stimuli by
    #: key), made once per loaded set: a set never changes once made
    derived: dict[Any, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", MediaFiles(self.folder))
        object.__setattr__(self, "derived", {})

    def derive(self, key: Any, make: Callable[[], Any]) -> Any:
        """What ``make`` derives from this set, made on the first call for ``key``."""
        value = self.derived.get(key)
        if value is None:
            value = self.derived[key] = make()
        return value

    def role(self, stimulus: dict[str, Any]) -> str:
        return self.datasets[stimulus["dataset_id"]].get("role", "main")

    def true_outliers(self, dataset_id: str) -> list[int]:
        return [int(i) for i in self.truth["datasets"][dataset_id]["outliers"]]


def media_names(stimulus: dict[str, Any]) -> list[str]:
    """Every media file a manifest stimulus names (whole image or animation, video, items)."""
    names = [stimulus.get("media"), stimulus.get("video")]
    names += [entry.get("media") for entry in stimulus.get("items", [])]
    return [name for name in names if name]


def load(folder: str | Path) -> LoadedStimulusSet:
    """Read a set with ``stimuli.load_stimulus_set`` and index it for the site, checking
    that every dataset has its truth, every stimulus a known dataset and every media
    file it names a file inside ``media/``: registering a broken set fails at once,
    not after participants have consented."""
    folder = Path(folder)
    stored = load_stimulus_set(folder)  # reading, JSON and set-id checks: the contract's owner
    manifest, truth = stored.manifest, stored.truth
    datasets = {d["dataset_id"]: d for d in manifest.get("datasets", [])}
    stimuli = {s["stimulus_id"]: s for s in manifest.get("stimuli", [])}
    missing = sorted(set(datasets) - set(truth.get("datasets", {})))
    if missing:
        raise StimulusSetError(f"{folder}: truth.json has no entry for datasets {missing}")
    for stimulus in stimuli.values():
        if stimulus["dataset_id"] not in datasets:
            raise StimulusSetError(
                f"{folder}: stimulus {stimulus['stimulus_id']} names unknown dataset "
                f"{stimulus['dataset_id']!r}"
            )
        for relative in media_names(stimulus):
            try:
                stored.media_path(relative)  # inside media/ and present, or it raises
            except GlyphlabError as error:
                raise StimulusSetError(
                    f"{folder}: stimulus {stimulus['stimulus_id']}: {error}; "
                    "regenerate the set or restore its media/ folder"
                ) from None
    return LoadedStimulusSet(
        folder=folder.resolve(),
        set_id=str(manifest["set_id"]),
        manifest=manifest,
        truth=truth,
        stimuli=stimuli,
        datasets=datasets,
    )


class StimulusSetCache:
    """Parsed sets by folder, loaded once per process (sets never change once made)."""

    def __init__(self) -> None:
        self._sets: dict[str, LoadedStimulusSet] = {}
        #: folder as asked for -> resolved path (resolving costs system calls per request)
        self._resolved: dict[str | Path, str] = {}
        self._lock = threading.Lock()

    def get(self, folder: str | Path) -> LoadedStimulusSet:
        key = self._resolved.get(folder)
        if key is None:
            key = self._resolved[folder] = str(Path(folder).resolve())
        loaded = self._sets.get(key)
        if loaded is None:
            with self._lock:
                loaded = self._sets.get(key) or load(key)
                self._sets[key] = loaded
        return loaded
