"""Which main dataset fills which trial slot of a study, refused when the set is short.

Each participant sees every main dataset at most once, so a study of N main trials uses
N different datasets. They are split into one group per encoding; group ``g`` is shown
in encoding ``(g + row) mod E`` for Latin-square row ``row``, so across a complete
square every dataset appears in every encoding equally often. Inside a group, slots
are cut by cell (layout x response mode) and each slot asks for a dataset of one kind:
with at least one outlier, or (for modes that detect presence, at the study's
target-present share) with none, and answerable by the cell's mode. The assignment is
the same for every participant and made once per study, here; the plan per
participant only rotates it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analysis.response_modes import mode_named
from experiment.stimulus_sets import LoadedStimulusSet
from glyphlab.errors import GlyphlabError


class DesignError(GlyphlabError):
    """The stimulus set cannot supply the study's design; the message says what is short."""


@dataclass(frozen=True)
class Cell:
    """A layout x response mode pair; every encoding of a study has the same cells."""

    layout: str
    response_mode: str


@dataclass(frozen=True)
class Slot:
    cell: Cell
    #: None: any dataset the mode can answer (modes that do not detect presence)
    target_present: bool | None
    dataset_id: str


@dataclass(frozen=True)
class Need:
    """What kind of dataset a slot asks for (``target_present``, None for either, and the
    mode's rule)."""

    target_present: bool | None
    response_mode: str
    layout: str

    def describe(self) -> str:
        kind = {True: "with an outlier", False: "without an outlier", None: "of any kind"}
        return f"{kind[self.target_present]} for {self.response_mode} ({self.layout})"


def present_count(share: float, trials: int) -> int:
    """Target-present trials out of ``trials`` at ``share`` (half rounds up)."""
    return min(trials, int(share * trials + 0.5))


def needs(
    cells: list[Cell], *, n_encodings: int, per_condition: int, target_present_share: float
) -> list[list[Need]]:
    """Per group (one per encoding position), the kind of dataset each slot asks for.

    A detection cell gets ``present_count`` target-present slots out of its
    ``n_encodings * per_condition`` slots in a participant's study, spread over groups
    first so that every encoding gets its share across a square.
    """
    groups: list[list[Need]] = [[] for _ in range(n_encodings)]
    for cell in cells:
        detects = mode_named(cell.response_mode).needs_target_absent
        total = n_encodings * per_condition
        present = present_count(target_present_share, total)
        for index in range(total):
            kind = (index < present) if detects else None
            groups[index % n_encodings].append(Need(kind, cell.response_mode, cell.layout))
    return groups


def candidates(stimulus_set: LoadedStimulusSet, need: Need, encodings: list[str]) -> list[str]:
    """Main datasets that fit ``need`` and have a stimulus in every encoding, those with an
    outlier first (a mode that takes either kind gets target-present data while there
    is enough)."""
    shown = {
        (s["dataset_id"], s["encoding"])
        for s in stimulus_set.stimuli.values()
        if s["layout"] == need.layout
    }
    mode = mode_named(need.response_mode)
    found = []
    for dataset_id, info in sorted(stimulus_set.datasets.items()):
        n_outliers = len(stimulus_set.true_outliers(dataset_id))
        if (
            info.get("role", "main") == "main"
            and need.target_present in (None, n_outliers > 0)
            and mode.eligible(n_outliers)
            and all((dataset_id, e) in shown for e in encodings)
        ):
            found.append(dataset_id)
    return sorted(found, key=lambda d: not stimulus_set.true_outliers(d))


def assign(
    stimulus_set: LoadedStimulusSet, groups: list[list[Need]], encodings: list[str]
) -> list[list[str]]:
    """A distinct dataset per slot (most constrained kind first), or a DesignError that
    names every kind that is short and by how much."""
    wanted = Counter(need for group in groups for need in group)
    pools = {need: candidates(stimulus_set, need, encodings) for need in wanted}
    taken: set[str] = set()
    given: dict[Need, list[str]] = {}
    short = []
    for need in sorted(wanted, key=lambda n: (len(pools[n]), n.describe())):
        free = [d for d in pools[need] if d not in taken]
        given[need] = free[: wanted[need]]
        taken.update(given[need])
        if len(free) < wanted[need]:
            short.append(
                f"{wanted[need]} {need.describe()} ({len(free)} available, "
                f"{wanted[need] - len(free)} missing)"
            )
    if short:
        total = sum(wanted.values())
        raise DesignError(
            f"each participant sees a main dataset at most once, so this study needs "
            f"{total} different main datasets shown in every encoding ({', '.join(encodings)}): "
            f"{'; '.join(short)}. Stimulus set {_name(stimulus_set)} is short of that: "
            "lower the main trials or the number of conditions, change the target-present "
            "share, or make a set with more main datasets"
        )
    return [[given[need].pop(0) for need in group] for group in groups]


def _name(stimulus_set: LoadedStimulusSet) -> str:
    name = stimulus_set.manifest.get("config", {}).get("name")
    return f"“{name}” ({stimulus_set.set_id})" if name else stimulus_set.set_id
