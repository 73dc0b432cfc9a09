"""Study design: conditions as rows, Latin-square counterbalancing, trial plans.

Conditions are data (oTree's treatments): every encoding x layout x response mode that
the mode supports. Within-subject: each participant sees every condition. Encodings
are counterbalanced across participants by a Latin square over encodings: participant
k takes row ``k mod n_rows``, which fixes (a) the order of the encoding blocks and
(b) which datasets go with which encoding (dataset j is shown in encoding
``order[(j + row) mod k]``), so across a full square every dataset appears in every
encoding equally often and no participant sees one dataset in two encodings when the
set has enough datasets. The square is a balanced (Williams) design: for an even number
of encodings n rows, for an odd number 2n rows (the square and its mirror), so each
encoding follows each other one equally often. Within blocks the order is random per
participant, drawn from the participant's stored seed; practice trials come first,
attention checks (an obvious outlier) are mixed in at random places and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.response_modes import mode_named
from experiment.stimulus_sets import LoadedStimulusSet
from glyphlab.errors import GlyphlabError


class DesignError(GlyphlabError):
    """The stimulus set cannot supply the study's conditions."""


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


def build_conditions(
    encodings: tuple[str, ...], layouts: tuple[str, ...], response_modes: tuple[str, ...]
) -> list[ConditionSpec]:
    """Every encoding x layout x mode combination the mode supports, in a fixed order."""
    conditions = [
        ConditionSpec(encoding, layout, mode)
        for encoding in encodings
        for layout in layouts
        for mode in response_modes
        if layout in mode_named(mode).layouts
    ]
    if not conditions:
        raise DesignError(
            f"no response mode among {list(response_modes)} works with layouts "
            f"{list(layouts)}; keypress needs 'sequence', mark_outliers and m_afc need 'grid'"
        )
    return conditions


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
) -> list[dict]:
    """Stimuli of a role that can be shown in a condition (mode eligibility included)."""
    mode = mode_named(condition.response_mode)
    return [
        stimulus
        for stimulus in stimulus_set.stimuli.values()
        if stimulus["encoding"] == condition.encoding
        and stimulus["layout"] == condition.layout
        and stimulus_set.role(stimulus) == role
        and mode.eligible(len(stimulus_set.true_outliers(stimulus["dataset_id"])))
    ]


def available_conditions(
    stimulus_set: LoadedStimulusSet, conditions: list[ConditionSpec]
) -> list[ConditionSpec]:
    """Drop combinations the set has no stimuli for at all (a set may have sequences for
    some encodings only), refusing if that leaves a chosen encoding or layout unused."""
    shown = {
        (s["encoding"], s["layout"])
        for s in stimulus_set.stimuli.values()
        if stimulus_set.role(s) == "main"
    }
    kept = [c for c in conditions if (c.encoding, c.layout) in shown]
    for attribute in ("encoding", "layout"):
        lost = sorted(
            {getattr(c, attribute) for c in conditions} - {getattr(c, attribute) for c in kept}
        )
        if lost:
            raise DesignError(
                f"stimulus set {stimulus_set.set_id} has no main stimuli for {attribute} "
                f"{lost} with the chosen response modes; drop it or use a set that has it"
            )
    return kept


def check_pools(
    stimulus_set: LoadedStimulusSet,
    conditions: list[ConditionSpec],
    *,
    practice_trials: int,
    attention_checks: int,
) -> None:
    """Refuse a study the set cannot supply, naming what is missing."""
    for condition in conditions:
        if not stimulus_pool(stimulus_set, condition, "main"):
            raise DesignError(
                f"stimulus set {stimulus_set.set_id} has no main stimuli for "
                f"{condition.encoding}/{condition.layout} answerable by "
                f"{condition.response_mode}; pick other encodings/layouts or make a set "
                "that has them"
            )
    for role, wanted in (("practice", practice_trials), ("attention_check", attention_checks)):
        if wanted and not _capable(stimulus_set, conditions, role):
            raise DesignError(
                f"stimulus set {stimulus_set.set_id} has no {role} stimuli for any of the "
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
    *,
    latin_square_row: int,
    main_trials: int,
    practice_trials: int,
    attention_checks: int,
    rng: np.random.Generator,
) -> list[PlannedTrial]:
    """The ordered trials of one participant (practice, then blocks by encoding)."""
    encodings = list(dict.fromkeys(c.encoding for c in conditions))
    square = balanced_latin_square(len(encodings))
    order = [encodings[i] for i in square[latin_square_row % len(square)]]
    datasets = sorted(
        d for d, info in stimulus_set.datasets.items() if info.get("role", "main") == "main"
    )
    home = {d: order[(j + latin_square_row) % len(order)] for j, d in enumerate(datasets)}

    counts = _spread(main_trials, len(conditions))
    blocks: dict[str, list[PlannedTrial]] = {encoding: [] for encoding in order}
    for condition, count in zip(conditions, counts, strict=True):
        pool = stimulus_pool(stimulus_set, condition, "main")
        preferred = [s for s in pool if home.get(s["dataset_id"]) == condition.encoding]
        for stimulus in _draw(preferred, pool, count, rng):
            blocks[condition.encoding].append(_plan(stimulus, condition, rng))

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


def _draw(
    preferred: list[dict], pool: list[dict], count: int, rng: np.random.Generator
) -> list[dict]:
    """``count`` stimuli: preferred ones first without repeats, then the rest of the pool,
    then repeats when the pool is smaller than the count."""
    first = [preferred[i] for i in rng.permutation(len(preferred))]
    rest = [s for s in pool if s not in preferred]
    chosen = (first + [rest[i] for i in rng.permutation(len(rest))])[:count]
    while len(chosen) < count:
        chosen.append(pool[int(rng.integers(len(pool)))])
    return chosen


def _plan(
    stimulus: dict,
    condition: ConditionSpec,
    rng: np.random.Generator,
    *,
    practice: bool = False,
    attention_check: bool = False,
) -> PlannedTrial:
    items = [int(entry["item"]) for entry in stimulus.get("items", [])]
    if not items:
        n_items = len(stimulus.get("table", {}).get("rows", [])) or len(
            stimulus.get("plot", {}).get("points", [])
        )
        items = list(range(n_items))
    # Grids get a random cell order, sequences a random frame order; a plot grid is one
    # composite image whose points keep their manifest order (clicks map back by point).
    if not (condition.encoding == "plot" and condition.layout == "grid"):
        items = [items[i] for i in rng.permutation(len(items))]
    return PlannedTrial(
        condition=condition,
        stimulus_id=stimulus["stimulus_id"],
        dataset_id=stimulus["dataset_id"],
        is_practice=practice,
        is_attention_check=attention_check,
        display_order=tuple(items),
    )
