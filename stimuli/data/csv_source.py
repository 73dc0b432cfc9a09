"""Load real data rows from a CSV file, with one clear error for every way it can be bad.

A CSV is read as UTF-8 (a BOM is allowed) with pandas, the chosen columns are checked to
be present, numeric and complete, and per-column transforms (``transforms.py``) turn
them into standardised columns. Every error is a :class:`StimulusError` that names the
file, the column and the CSV line (header = line 1), and says what to do.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stimuli.data.transforms import parse_step, transform_column
from stimuli.errors import StimulusError

#: Bigger files are refused: a stimulus needs tens of rows, not a data warehouse.
MAX_BYTES = 20 * 1024 * 1024


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, refusing missing, huge, empty and non-UTF-8 files."""
    if not path.is_file():
        raise StimulusError(f"CSV file {path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise StimulusError(
            f"CSV file {path} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; "
            "keep only the rows and columns you need"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise StimulusError(
            f"CSV file {path} is not UTF-8 (byte {error.start}, line {line}); re-save it as UTF-8"
        ) from None
    if not text.strip():
        raise StimulusError(f"CSV file {path} is empty; it needs a header line and data rows")
    return text


def load_csv(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    transforms: Mapping[str, Sequence[str]] | None = None,
    exclude: Sequence[str] = (),
    max_bytes: int = MAX_BYTES,
) -> pd.DataFrame:
    """Numeric, transformed columns of a CSV file (when ``columns`` is None: all columns
    but those in ``exclude``).

    Each column gets its ``transforms`` steps with the default z-score unless they replace
    it (``transforms.effective_steps``), so the result is standardised data ready for an
    encoding; ``["raw"]`` keeps a column's values as they are.
    """
    path = Path(path)
    transforms = dict(transforms or {})
    for steps in transforms.values():
        for step in steps:
            parse_step(step)
    try:
        frame = pd.read_csv(
            io.StringIO(read_text(path, max_bytes=max_bytes)),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except pd.errors.ParserError as error:
        raise StimulusError(f"CSV file {path} cannot be parsed: {error}") from None
    if frame.empty:
        raise StimulusError(f"CSV file {path} has a header but no data rows")
    wanted = [c for c in frame.columns if c not in exclude] if columns is None else list(columns)
    missing = [c for c in [*wanted, *transforms] if c not in frame.columns]
    if missing:
        raise StimulusError(
            f"CSV file {path} has no column(s) {missing}; its columns are {list(frame.columns)}"
        )
    extra = sorted(set(transforms) - set(wanted))
    if extra:
        raise StimulusError(f"transforms name columns {extra} that are not chosen: {wanted}")
    out = {}
    for name in wanted:
        values = _numeric(frame[name], path)
        out[name] = transform_column(values, transforms.get(name, ())).to_numpy(float)
    return pd.DataFrame(out)


def _numeric(text: pd.Series, path: Path) -> pd.Series:
    """A text column as floats, or an error naming the first empty or non-numeric cell."""
    stripped = text.str.strip()
    empty = (stripped == "") | stripped.str.lower().isin(["nan", "na", "null", "none"])
    if empty.any():
        line = int(np.argmax(empty.to_numpy())) + 2
        raise StimulusError(
            f"CSV file {path}, line {line}, column {text.name!r}: missing value (NaN); "
            "fill it in or drop the row"
        )
    values = pd.to_numeric(stripped, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0))
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        raise StimulusError(
            f"CSV file {path}, line {position + 2}, column {text.name!r}: "
            f"{text.iloc[position]!r} is not a number"
        )
    return values.astype(float).rename(text.name)
