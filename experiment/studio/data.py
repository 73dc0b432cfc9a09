"""The studio's data: a researcher's CSV upload or synthetic rows, checked and stored.

Every dataset the studio works with is a CSV file in the data folder
(``<data dir>/studio/r<researcher>/<sha16>/data.csv``, UTF-8), whether uploaded or made
from the synthetic form, so the stimulus set it becomes is an ordinary CSV dataset of a
``StimulusSetConfig`` and ``glyphlab stimuli generate`` can rebuild it from the TOML.
Uploads are read as UTF-8 (a BOM allowed) or else Latin-1; every bad input is a
:class:`StudioError` naming the row and column, and nothing is stored until all checks
pass. Synthetic data keep their planted outliers in an ``outlier`` column (0/1), which
the studio shows to the researcher and the set keeps private (``outlier_column``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glyphlab.errors import GlyphlabError

STUDIO_SUBDIR = "studio"
#: at most this many rows (every row becomes a face in one grid) and columns
MAX_ROWS = 500
MAX_COLUMNS = 30
#: a 0/1 column with this name marks known outliers (shown to the researcher only)
OUTLIER_COLUMN = "outlier"
MISSING = {"", "nan", "na", "null", "none"}


class StudioError(GlyphlabError):
    """The researcher's data or mapping cannot be used; the message says why."""


@dataclass(frozen=True)
class StudioData:
    """A stored dataset: its CSV, its numeric columns and, if known, its outliers."""

    key: str
    folder: Path
    name: str
    source: str
    numeric: tuple[str, ...]
    text_columns: tuple[str, ...]
    outlier_column: str | None

    @property
    def csv(self) -> Path:
        return self.folder / "data.csv"

    def frame(self) -> pd.DataFrame:
        """The numeric columns (and the outlier column) as floats."""
        frame = pd.read_csv(self.csv, encoding="utf-8")
        keep = list(self.numeric) + ([self.outlier_column] if self.outlier_column else [])
        return frame[keep].astype(float)

    def outliers(self) -> list[int]:
        """Row indices (0-based) marked as outliers, for the researcher's eyes only."""
        if not self.outlier_column:
            return []
        return [int(i) for i in np.flatnonzero(self.frame()[self.outlier_column] == 1)]


def decode(raw: bytes) -> str:
    """UTF-8 (with or without a BOM), else Latin-1 (every byte is a Latin-1 character)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def check_table(text: str) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """Parse CSV text; return (frame of strings, numeric columns, text columns).

    A column is numeric when its first cell is a number; then every cell must be one.
    """
    if not text.strip():
        raise StudioError("the file is empty; it needs a header line and data rows")
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise StudioError(f"the file is not a CSV table: {' '.join(str(error).split())}") from None
    header = [c.strip() for c in next(csv.reader(io.StringIO(text)))]
    columns = [str(c).strip() for c in frame.columns]
    if len(header) == len(columns):
        columns = header  # pandas would rename a repeated "x" to "x.1"
    frame.columns = columns
    if frame.empty:
        raise StudioError("the file has a header but no data rows")
    unnamed = [k + 1 for k, c in enumerate(columns) if not c or c.startswith("Unnamed:")]
    if unnamed:
        raise StudioError(f"column {unnamed[0]} has no name in the header line")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise StudioError(f"column names repeat: {repeated}; give every column its own name")
    if len(frame) > MAX_ROWS:
        raise StudioError(
            f"{len(frame)} rows, over the studio's {MAX_ROWS}: every row becomes one face "
            "in one grid; keep a sample of the rows"
        )
    if len(columns) > MAX_COLUMNS:
        raise StudioError(f"{len(columns)} columns, over the studio's {MAX_COLUMNS}")
    numeric, text_columns = [], []
    for name in columns:
        cells = frame[name].str.strip()
        first = pd.to_numeric(cells.iloc[:1], errors="coerce")
        if first.isna().all() and cells.iloc[0].lower() not in MISSING:
            text_columns.append(name)
            continue
        _check_numeric(cells, name)
        numeric.append(name)
    if not numeric:
        raise StudioError(f"no numeric column: {columns} all hold text; faces need numbers to show")
    return frame, tuple(numeric), tuple(text_columns)


def _check_numeric(cells: pd.Series, name: str) -> None:
    values = pd.to_numeric(cells, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0))
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        cell = cells.iloc[row]
        what = "is empty" if cell.lower() in MISSING else f"holds {cell!r}, not a number"
        raise StudioError(
            f"row {row + 1} (CSV line {row + 2}), column {name!r} {what}; "
            "fill it in, fix it or drop the row"
        )


def _outlier_column(frame: pd.DataFrame, numeric: tuple[str, ...]) -> str | None:
    if OUTLIER_COLUMN not in numeric:
        return None
    values = pd.to_numeric(frame[OUTLIER_COLUMN])
    bad = ~values.isin([0, 1])
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise StudioError(
            f"row {row + 1}, column {OUTLIER_COLUMN!r} holds {frame[OUTLIER_COLUMN].iloc[row]!r}; "
            "the outlier column marks known outliers with 1 and the others with 0"
        )
    return OUTLIER_COLUMN


def researcher_dir(data_dir: Path, researcher_id: int) -> Path:
    return data_dir / STUDIO_SUBDIR / f"r{researcher_id}"


def store_csv(
    data_dir: Path, researcher_id: int, raw: bytes, *, name: str, source: str
) -> StudioData:
    """Check ``raw`` and store it as UTF-8; nothing is written if a check fails."""
    text = decode(raw)
    frame, numeric, text_columns = check_table(text)
    outlier = _outlier_column(frame, numeric)
    shown = tuple(c for c in numeric if c != outlier)
    if not shown:
        raise StudioError("the only numeric column is the outlier column; add data columns")
    body = text.replace("\r\n", "\n").encode("utf-8")
    key = hashlib.sha256(body).hexdigest()[:16]
    folder = researcher_dir(data_dir, researcher_id) / key
    meta = {
        "name": name[:120] or "data.csv",
        "source": source,
        "numeric": list(shown),
        "text_columns": list(text_columns),
        "outlier_column": outlier,
    }
    if not (folder / "meta.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
        (work / "data.csv").write_bytes(body)
        (work / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        work.chmod(0o755)
        try:
            os.rename(work, folder)
        except OSError:  # the same file stored a moment ago
            (work / "data.csv").unlink()
            (work / "meta.json").unlink()
            work.rmdir()
    return load(data_dir, researcher_id, key)


def load(data_dir: Path, researcher_id: int, key: str) -> StudioData:
    """A stored dataset of this researcher (another's key is not found)."""
    folder = researcher_dir(data_dir, researcher_id) / key
    if not (len(key) == 16 and key.isalnum() and (folder / "meta.json").is_file()):
        raise StudioError(f"no dataset {key!r}; upload it again")
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return StudioData(
        key=key,
        folder=folder,
        name=meta["name"],
        source=meta["source"],
        numeric=tuple(meta["numeric"]),
        text_columns=tuple(meta["text_columns"]),
        outlier_column=meta["outlier_column"],
    )


def researcher_datasets(data_dir: Path, researcher_id: int) -> list[StudioData]:
    """The researcher's stored datasets, newest first."""
    root = researcher_dir(data_dir, researcher_id)
    found = [p.parent for p in root.glob("*/meta.json")] if root.is_dir() else []
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [load(data_dir, researcher_id, p.name) for p in found]


def summary(data: StudioData) -> list[dict[str, Any]]:
    """Per numeric column: n, mean, SD, min, median, max."""
    frame = data.frame()
    rows = []
    for name in data.numeric:
        values = frame[name]
        rows.append(
            {
                "column": name,
                "n": int(values.size),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=0)),
                "min": float(values.min()),
                "median": float(values.median()),
                "max": float(values.max()),
            }
        )
    return rows
