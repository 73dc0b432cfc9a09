"""The error-level rules of the Psych-DS 1.x schema, checked in Python.

Why here: the reference validator (``psychds-validator``) is a Deno/npm tool that is not
always installable (it is not on every npm registry), yet an export must never be
published invalid. These are the schema's ``level: error`` rules that apply to a CSV
dataset: required files and folders, JSON-LD shape, keyword file names, CSV shape, and
that ``variableMeasured`` lists every column of every data file.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

DATAFILE = re.compile(r"([a-z]+-[a-zA-Z0-9]+)(_[a-z]+-[a-zA-Z0-9]+)*_data\.csv")
REQUIRED_KEYS = ("name", "description", "variableMeasured")


def _description_problems(path: Path) -> tuple[list[str], set[str]]:
    if not path.is_file():
        return ["MISSING_DATASET_DESCRIPTION: dataset_description.json at the root"], set()
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return [f"JSON_INVALID: dataset_description.json ({error})"], set()
    if not isinstance(meta, dict):
        return ["INVALID_JSONLD_FORMATTING: dataset_description.json is not an object"], set()
    problems = []
    context = meta.get("@context")
    if not isinstance(context, str) or not re.fullmatch(r"https?://schema\.org/?", context):
        problems.append("INVALID_JSONLD_FORMATTING: @context must be https://schema.org/")
    if "@type" not in meta and "type" not in meta:
        problems.append("MISSING_DATASET_TYPE: @type is required")
    elif meta.get("@type", meta.get("type")) != "Dataset":
        problems.append("INCORRECT_DATASET_TYPE: @type must be Dataset")
    problems += [f"JSON_KEY_REQUIRED: {key}" for key in REQUIRED_KEYS if not meta.get(key)]
    names = set()
    for variable in meta.get("variableMeasured") or []:
        if isinstance(variable, str):
            names.add(variable)
        elif isinstance(variable, dict) and isinstance(variable.get("name"), str):
            names.add(variable["name"])
        else:
            problems.append(f"INVALID_JSONLD_FORMATTING: variableMeasured entry {variable!r}")
    return problems, names


def _datafile_problems(path: Path, variables: set[str]) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (csv.Error, UnicodeDecodeError) as error:
        return [f"CSV_FORMATTING_ERROR: {path.name} ({error})"]
    if not rows or not any(cell.strip() for cell in rows[0]):
        return [f"CSV_HEADER_MISSING: {path.name}"]
    header, problems = rows[0], []
    if any(len(row) != len(header) for row in rows[1:]):
        problems.append(f"CSV_HEADER_LENGTH_MISMATCH: {path.name}")
    missing = [column for column in header if column not in variables]
    if missing:
        problems.append(f"CSV_COLUMN_MISSING_FROM_METADATA: {path.name}: {missing}")
    if "row_id" in header:
        ids = [row[header.index("row_id")] for row in rows[1:]]
        if len(set(ids)) != len(ids):
            problems.append(f"ROWID_VALUES_NOT_UNIQUE: {path.name}")
    return problems


def check_psychds(folder: str | Path) -> list[str]:
    """Every error-level Psych-DS problem of the dataset at ``folder`` (empty: valid)."""
    root = Path(folder)
    problems, variables = _description_problems(root / "dataset_description.json")
    data = root / "data"
    if not data.is_dir():
        return [*problems, "MISSING_DATA_DIRECTORY: data/"]
    csvs = sorted(data.rglob("*.csv"))
    for path in csvs:
        if not DATAFILE.fullmatch(path.name):
            problems.append(f"FILENAME_KEYWORD_FORMATTING_ERROR: {path.name}")
        else:
            problems += _datafile_problems(path, variables)
    if not any(DATAFILE.fullmatch(path.name) for path in csvs):
        problems.append("MISSING_DATAFILE: no keyword-named *_data.csv under data/")
    return problems
