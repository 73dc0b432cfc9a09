"""Study design: conditions as rows, a Latin square over encoding x dataset, trial plans.

Conditions are data (oTree's treatments): every encoding x layout x response mode that
the mode supports, and every encoding gets the same cells (layout x mode), so layout is
never confounded with encoding. A study is valid by construction or refused when it is
created (:func:`build_design`):

- every condition gets the same number (>= 1) of main trials per participant;
- each participant sees each main dataset at most once (``design_slots``);
- encodings are counterbalanced by a balanced (Williams) Latin square: row ``r`` fixes
  the order of the encoding blocks and which dataset group each encoding shows (group
  ``g`` in encoding ``(g + r) mod E``), so across a complete square every dataset
  appears in every encoding equally often. For an even number of encodings the square
  has E rows, for an odd number 2E (the square and its mirror), so each encoding
  follows each other one equally often.

Within blocks the order is random per participant, drawn from the participant's stored
seed; practice trials come first, attention checks (an obvious outlier) are mixed in
at random places and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.response_modes import mode_named
from experiment.design_slots import Cell, DesignError, Slot, assign, needs
from experiment.stimulus_sets import LoadedStimulusSet
from stimuli.encodings import Display, display_of

__all__ = ["Cell", "ConditionSpec", "Design", "DesignError", "PlannedTrial", "build_design"]


@dataclass(frozen=True)
class ConditionSpec:
    encoding: str
    layout: str
    response_mode: str


@dataclass(frozen=True)
class PlannedTrial:
    condition: ConditionSpec
    stimulus_id: str
    dataset_id: str
    is_practice: bool
    is_attention_check: bool
    #: item index shown at each display position (shuffled per participant)
    display_order: tuple[int, ...]


@dataclass(frozen=True)
class Design:
    """A study's main-trial design: the same for every participant up to the row."""

    encodings: tuple[str, ...]
    cells: tuple[Cell, ...]
    per_condition: int
    #: one group of slots per encoding position; rotated over encodings by the row
    groups: tuple[tuple[Slot, ...], ...]

    @property
    def rows(self) -> int:
        return latin_square_rows(len(self.encodings))

    def block_order(self, row: int) -> list[str]:
        square = balanced_latin_square(len(self.encodings))
        return [self.encodings[i] for i in square[row % len(square)]]

    def encoding_of_group(self, group: int, row: int) -> str:
        return self.encodings[(group + row) % len(self.encodings)]

    def group_of(self, encoding: str, row: int) -> tuple[Slot, ...]:
        index = self.encodings.index(encoding)
        return self.groups[(index - row) % len(self.encodings)]


def build_conditions(
    encodings: tuple[str, ...], layouts: tuple[str, ...], response_modes: tuple[str, ...]
) -> list[ConditionSpec]:
    """Every encoding x layout x mode combination the mode supports, in a fixed order;
    refused when a chosen layout or mode would be left without a condition."""
    conditions = [
        ConditionSpec(encoding, layout, mode)
        for encoding in encodings
        for layout in layouts
        for mode in response_modes
        if layout in mode_named(mode).layouts
    ]
    for what, chosen, used in (
        ("layout", layouts, {c.layout for c in conditions}),
        ("response mode", response_modes, {c.response_mode for c in conditions}),
    ):
        unused = [name for name in chosen if name not in used]
        if unused:
            supported = {m: list(mode_named(m).layouts) for m in response_modes}
            raise DesignError(
                f"{what} {unused} has no condition: the chosen response modes work with "
                f"these layouts only: {supported}; drop it or add a layout/mode that fits"
            )
    return conditions


def build_design(
    stimulus_set: LoadedStimulusSet,
    conditions: list[ConditionSpec],
    *,
    main_trials: int,
    target_present_share: float,
) -> Design:
    """The study's design, or a :class:`DesignError` naming what is missing and how much."""
    encodings = tuple(dict.fromkeys(c.encoding for c in conditions))
    cells = tuple(dict.fromkeys(Cell(c.layout, c.response_mode) for c in conditions))
    shown = {
        (s["encoding"], s["layout"])
        for s in stimulus_set.stimuli.values()
        if stimulus_set.role(s) == "main"
    }
    lacking = [
        f"{e}/{layout}"
        for layout in dict.fromkeys(c.layout for c in cells)
        for e in encodings
        if (e, layout) not in shown
    ]
    if lacking:
        raise DesignError(
            f"the stimulus set has no main stimuli for {', '.join(lacking)}; every encoding "
            "needs the same layouts (otherwise layout is confounded with encoding): drop "
            "those layouts or encodings, or make a set that has them"
        )
    n_conditions = len(encodings) * len(cells)
    if main_trials % n_conditions:
        low = max(n_conditions, main_trials - main_trials % n_conditions)
        raise DesignError(
            f"{main_trials} main trials cannot be shared equally by {n_conditions} conditions "
            f"({len(encodings)} encodings x {len(cells)} layout/response-mode cells): "
            f"use a multiple of {n_conditions}, e.g. {low} or {low + n_conditions}"
        )
    per_condition = main_trials // n_conditions
    kinds = needs(
        list(cells),
        n_encodings=len(encodings),
        per_condition=per_condition,
        target_present_share=target_present_share,
    )
    datasets = assign(stimulus_set, kinds, list(encodings))
    groups = tuple(
        tuple(
            Slot(Cell(need.layout, need.response_mode), need.target_present, dataset_id)
            for need, dataset_id in zip(group_needs, group_datasets, strict=True)
        )
        for group_needs, group_datasets in zip(kinds, datasets, strict=True)
    )
    return Design(encodings, cells, per_condition, groups)


def balanced_latin_square(n: int) -> list[list[int]]:
    """Williams design: rows are orders of 0..n-1; 2n rows when n is odd."""
    first = [0]
    low, high = 1, n - 1
    for step in range(1, n):
        if step % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [[(value + shift) % n for value in first] for shift in range(n)]
    if n % 2:
        rows += [list(reversed(row)) for row in rows]
    return rows


def latin_square_rows(n_encodings: int) -> int:
    return len(balanced_latin_square(n_encodings))


def stimulus_pool(
    stimulus_set: LoadedStimulusSet, condition: ConditionSpec, role: str
) -> tuple[dict, ...]:
    """Stimuli of a role that can be shown in a condition (mode eligibility included),
    in the set's order; made once per loaded set (each enrolment draws from them)."""

    def pool() -> tuple[dict, ...]:
        mode = mode_named(condition.response_mode)
        return tuple(
            stimulus
            for stimulus in stimulus_set.stimuli.values()
            if stimulus["encoding"] == condition.encoding
            and stimulus["layout"] == condition.layout
            and stimulus_set.role(stimulus) == role
            and mode.eligible(len(stimulus_set.true_outliers(stimulus["dataset_id"])))
        )

    return stimulus_set.derive(("pool", condition, role), pool)


def _main_by_key(stimulus_set: LoadedStimulusSet) -> dict[tuple[str, str, str], dict]:
    """The set's main stimuli by (dataset, encoding, layout), made once per loaded set."""
    return stimulus_set.derive(
        "main_by_key",
        lambda: {
            (s["dataset_id"], s["encoding"], s["layout"]): s
            for s in sorted(stimulus_set.stimuli.values(), key=lambda s: s["stimulus_id"])
            if stimulus_set.role(s) == "main"
        },
    )


def check_extras(
    stimulus_set: LoadedStimulusSet,
    conditions: list[ConditionSpec],
    *,
    practice_trials: int,
    attention_checks: int,
) -> None:
    """Refuse practice trials or attention checks the set has no stimuli for."""
    for role, wanted in (("practice", practice_trials), ("attention_check", attention_checks)):
        if wanted and not _capable(stimulus_set, conditions, role):
            raise DesignError(
                f"the stimulus set has no {role.replace('_', ' ')} stimuli for any of the "
                f"study's conditions; set {role.replace('_', ' ')}s to 0 or use a set with them"
            )


def _capable(
    stimulus_set: LoadedStimulusSet, conditions: list[ConditionSpec], role: str
) -> list[ConditionSpec]:
    """The conditions that have stimuli of ``role``."""
    return [c for c in conditions if stimulus_pool(stimulus_set, c, role)]


def plan_trials(
    stimulus_set: LoadedStimulusSet,
    conditions: list[ConditionSpec],
    study_design: Design,
    *,
    latin_square_row: int,
    practice_trials: int,
    attention_checks: int,
    rng: np.random.Generator,
) -> list[PlannedTrial]:
    """The ordered trials of one participant (practice, then blocks by encoding)."""
    order = study_design.block_order(latin_square_row)
    by_key = _main_by_key(stimulus_set)
    blocks: dict[str, list[PlannedTrial]] = {encoding: [] for encoding in order}
    for encoding in order:
        for slot in study_design.group_of(encoding, latin_square_row):
            condition = ConditionSpec(encoding, slot.cell.layout, slot.cell.response_mode)
            stimulus = by_key[(slot.dataset_id, encoding, slot.cell.layout)]
            blocks[encoding].append(_plan(stimulus, condition, rng))

    checkable = _capable(stimulus_set, conditions, "attention_check")
    for encoding, count in zip(order, _spread(attention_checks, len(order)), strict=True):
        candidates = [c for c in checkable if c.encoding == encoding] or checkable
        for _ in range(count):
            condition = candidates[int(rng.integers(len(candidates)))]
            pool = stimulus_pool(stimulus_set, condition, "attention_check")
            stimulus = pool[int(rng.integers(len(pool)))]
            blocks[encoding].append(_plan(stimulus, condition, rng, attention_check=True))

    practicable = [
        c for e in order for c in _capable(stimulus_set, conditions, "practice") if c.encoding == e
    ]
    trials = []
    for index in range(practice_trials):
        condition = practicable[index % len(practicable)]
        pool = stimulus_pool(stimulus_set, condition, "practice")
        stimulus = pool[int(rng.integers(len(pool)))]
        trials.append(_plan(stimulus, condition, rng, practice=True))
    for encoding in order:
        block = blocks[encoding]
        trials.extend(block[i] for i in rng.permutation(len(block)))
    return trials


def _spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole counts (earlier parts get the rest)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _plan(
    stimulus: dict,
    condition: ConditionSpec,
    rng: np.random.Generator,
    *,
    practice: bool = False,
    attention_check: bool = False,
) -> PlannedTrial:
    items = [int(entry["item"]) for entry in stimulus["items"]]
    # Grids get a random cell order, sequences a random frame order; a composite image
    # keeps its points where they are drawn (clicks map back by point).
    if display_of(condition.encoding, condition.layout) is not Display.COMPOSITE:
        items = [items[i] for i in rng.permutation(len(items))]
    return PlannedTrial(
        condition=condition,
        stimulus_id=stimulus["stimulus_id"],
        dataset_id=stimulus["dataset_id"],
        is_practice=practice,
        is_attention_check=attention_check,
        display_order=tuple(items),
    )
