"""Write an anonymised trial table as a Psych-DS dataset.

Layout (Psych-DS 1.x)::

    <out>/dataset_description.json     schema.org JSON-LD: name, description, variableMeasured
    <out>/README.md                    what was removed or coarsened, and the unique key
    <out>/CHANGES.md
    <out>/data/study-<id>_data.csv                          one trial per row, per study
    <out>/data/study-<id>_description-participants_data.csv one row per participant

The dataset is built in a temporary folder beside ``out``, checked against the Psych-DS
rules (:mod:`analysis.export.check`) and scanned for personal data (:data:`PII_PATTERNS`);
only then is it moved into place, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.export.anonymise import (
    anonymise_trials,
    dropped_columns,
    enforce_k_anonymity,
    participant_table,
)
from analysis.export.check import check_psychds
from analysis.trial_contract import Column, descriptions
from analysis.trials import read_trials, table_columns

#: Patterns that must never appear in an exported file (whatever column they came from).
PII_PATTERNS = {
    "24-hex external id": re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{24}(?![0-9a-fA-F])"),
    "IPv4 address": re.compile(r"(?<![\d.])\d{1,3}(\.\d{1,3}){3}(?![\d.])"),
    "wall-clock timestamp": re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
    "user-agent string": re.compile(r"Mozilla/|AppleWebKit/|Gecko/\d"),
}
#: Columns the export itself writes in place of identifying ones
#: (:mod:`analysis.export.anonymise`); the codebook has these and the contract's.
EXPORT_DESCRIPTIONS = {
    "participant": "Participant code, renumbered at export (P001...); not linkable to sign-up",
    "presented_ms": "Presentation time, ms since this participant's first presentation",
    "answered_ms": "Answer time, ms since this participant's first presentation",
    "age_band": "Age band in years (coarsened for k-anonymity where needed)",
    "gender": "Self-reported gender (rare values merged into 'other' for k-anonymity)",
    "browser_family": "Browser family only (no version, no operating system)",
}


@dataclass(frozen=True)
class ExportConfig:
    """How to export: k for k-anonymity, what to do with small groups, the labels, and
    ``extra_columns``: what the study's response modes add to the trial-table contract
    (default: what the registered modes in the table declare); the ``public`` ones are
    published with their descriptions."""

    k: int = 5
    on_small_groups: str = "coarsen"
    name: str = "glyphlab outlier-detection study"
    description: str = (
        "Trials of a psychophysics study comparing how quickly and accurately people find "
        "outlying rows of multivariate data drawn as faces, Chernoff faces, tables or plots."
    )
    seed: int = 0
    extra_columns: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        if self.extra_columns is not None:
            object.__setattr__(self, "extra_columns", tuple(self.extra_columns))
        if self.k < 1:
            raise AnalysisError(f"k must be >= 1, got {self.k}")
        if self.on_small_groups not in ("coarsen", "refuse"):
            raise AnalysisError("on_small_groups must be 'coarsen' or 'refuse'")
        if not self.name.strip() or not self.description.strip():
            raise AnalysisError("the export needs a non-empty name and description")


def _study_label(study: str) -> str:
    label = re.sub(r"[^A-Za-z0-9]", "", study)
    if not label:
        raise AnalysisError(f"study id {study!r} has no letters or digits to name a file with")
    return label


def _variable(name: str, codebook: dict[str, str]) -> dict:
    return {
        "@type": "PropertyValue",
        "name": name,
        "description": codebook.get(name, f"Display timing statistic {name}"),
    }


def _readme(config: ExportConfig, dropped: list[str], people: pd.DataFrame) -> str:
    kept = [c for c in ("age_band", "gender", "browser_family") if c in people.columns]
    return "\n".join(
        [
            f"# {config.name}",
            "",
            config.description,
            "",
            "## Anonymisation",
            "",
            "- Participants renumbered in random order; no external ids, IP addresses,",
            "  user-agent strings (browser family only), free text or wall-clock times.",
            "- Times are ms since each participant's first presentation.",
            f"- Quasi-identifiers ({', '.join(kept) or 'none'}) are {config.k}-anonymous "
            f"(small groups: {config.on_small_groups}).",
            f"- Columns dropped: {', '.join(dropped) or 'none'}.",
            "",
            "## Files",
            "",
            "- `data/study-<id>_data.csv`: one row per trial; unique key (participant,"
            " trial_index).",
            "- `data/study-<id>_description-participants_data.csv`: one row per participant.",
            "",
        ]
    )


def _scan_for_pii(folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        for what, pattern in PII_PATTERNS.items():
            match = pattern.search(text)
            if match:
                raise AnalysisError(
                    f"refusing to export: {path.name} would contain a {what} "
                    f"({match.group(0)[:6]}...); remove it from the input columns"
                )


def _write(folder: Path, trials: pd.DataFrame, config: ExportConfig) -> None:
    rng = np.random.default_rng(config.seed)
    people = participant_table(trials, rng=rng)
    people = enforce_k_anonymity(people, k=config.k, on_small_groups=config.on_small_groups)
    contract = table_columns(trials, config.extra_columns)
    kept = [c.name for c in contract if c.public]
    rows = anonymise_trials(trials, people, kept=kept)
    person_rows = people.rename(columns={"new_code": "participant"}).reset_index(drop=True)
    person_rows = person_rows[["participant", *(c for c in person_rows if c != "participant")]]
    person_rows = person_rows.sort_values("participant")
    (folder / "data").mkdir()
    columns: list[str] = []
    for study, block in rows.groupby("study", sort=True):
        label = _study_label(str(study))
        block.to_csv(folder / "data" / f"study-{label}_data.csv", index=False)
        who = person_rows[person_rows["study"] == study]
        who.to_csv(
            folder / "data" / f"study-{label}_description-participants_data.csv", index=False
        )
        columns += [c for c in [*block.columns, *who.columns] if c not in columns]
    codebook = {**descriptions(contract), **EXPORT_DESCRIPTIONS}
    description = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": config.name,
        "description": config.description,
        "schemaVersion": "Psych-DS 1.0.0",
        "variableMeasured": [_variable(name, codebook) for name in columns],
    }
    (folder / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    (folder / "README.md").write_text(_readme(config, dropped_columns(trials, kept=kept), people))
    (folder / "CHANGES.md").write_text("1.0.0\n\n- First export by glyphlab.\n")


def export_psychds(
    trials: pd.DataFrame | str | Path, out_dir: str | Path, config: ExportConfig | None = None
) -> Path:
    """Export ``trials`` (DataFrame or CSV path) to ``out_dir`` as an anonymised Psych-DS set.

    ``out_dir`` must not exist or be empty. Raises :class:`AnalysisError` (or its subclass
    ``AnonymityError``) with what to do when the data cannot be published safely.
    """
    config = config or ExportConfig()
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AnalysisError(f"{out} exists and is not an empty folder: choose a new --out")
    table = read_trials(trials, extra=config.extra_columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".psychds-", dir=out.parent))
    try:
        _write(staging, table, config)
        problems = check_psychds(staging)
        if problems:
            raise AnalysisError("export is not valid Psych-DS: " + "; ".join(problems))
        _scan_for_pii(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
