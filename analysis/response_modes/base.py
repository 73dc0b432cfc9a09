"""What every response mode declares (jsPsych-plugin style) and the helpers they share.

A response mode is one pure module (no Flask, no database) with a :class:`ResponseMode`
instance, so the site, the analysis, the simulator, the ideal observer, the bot and the
load generator all ask the same object what an answer means:

- ``name`` (registry key = database value = trial-table value = ``templates/trials/
  <name>.html`` = ``experiment/static/js/modes/<name>.js``), ``version`` (stamped on
  every response row), the ``layouts`` it works with, its :class:`Decision` kind (how
  its answers become signal-detection cells and d'), and the extra trial-table
  ``columns`` it writes;
- ``Params`` (a frozen dataclass with defaults) and ``parse`` (the browser's answer JSON
  -> :class:`ParsedResponse` in item indices; bad input -> :class:`ResponseError`, 400);
  ``keys`` and ``instructions`` (what the participant pages show for it);
- ``score`` (an answer against the truth -> :class:`Score`) and ``feedback`` (the
  practice-feedback sentence);
- ``decide`` (how a modelled observer answers a block of trials), ``ideal`` (how the
  ideal observer answers from item scores), ``answer`` (a decision -> the JSON a
  browser would post) and ``random_answer`` (any valid JSON, for load tests);
- ``table_values`` (the extra columns' values, from the stored answer JSON).

Modes never see truth when parsing: the :class:`TrialContext` given to ``parse`` has
``true_outliers=None``. The shared scoring rules (:func:`score_items`,
:func:`score_presence`) and answer helpers live here so a mode only says which it uses.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from analysis.trial_contract import Column
from glyphlab.errors import GlyphlabError


class ResponseError(GlyphlabError):
    """The answer JSON does not fit the trial's response mode (the site answers 400)."""

    status = 400


class Decision(StrEnum):
    """What one answer decides, i.e. how it is scored and how d' is computed.

    ``ITEMS``: one yes/no decision per shown item (marked or not); ``CHOICE``: one item
    chosen among the m shown (m-AFC d' from proportion correct); ``PRESENCE``: one
    "is an outlier there?" decision per trial (hit/false alarm on presence).
    """

    ITEMS = "items"
    CHOICE = "choice"
    PRESENCE = "presence"


@dataclass(frozen=True)
class TrialContext:
    """A trial as a mode sees it: display positions mapped to items, server side only."""

    encoding: str
    layout: str
    #: item index (dataset row) at each display position (grid cell, table row, frame)
    item_at_position: tuple[int, ...]
    #: composite displays: pixel centre of each display position, for click mapping
    points: tuple[tuple[float, float], ...] | None = None
    point_radius: float = 6.0
    #: only for ``simulate``; ``parse`` never gets truth
    true_outliers: tuple[int, ...] | None = None

    @property
    def n_items(self) -> int:
        return len(self.item_at_position)

    def item(self, position: Any) -> int:
        if isinstance(position, bool) or not isinstance(position, int):
            raise ResponseError(f"a position must be a whole number, not {position!r}")
        if not 0 <= position < self.n_items:
            raise ResponseError(
                f"position {position} is out of range: this trial shows {self.n_items} items "
                f"(positions 0 to {self.n_items - 1})"
            )
        return self.item_at_position[position]

    def position_of(self, item: int) -> int:
        return self.item_at_position.index(item)

    def nearest_item(self, click: Any) -> int:
        """Map a click (image pixels) to the nearest shown item."""
        if self.points is None:
            raise ResponseError("this trial shows no composite image; answer with positions")
        if not isinstance(click, Mapping):
            raise ResponseError('a click must be an object like {"x": 120.5, "y": 80}')
        x, y = number(click.get("x"), "click x"), number(click.get("y"), "click y")
        distances = [math.hypot(px - x, py - y) for px, py in self.points]
        return self.item_at_position[int(np.argmin(distances))]

    def click_on(self, item: int) -> dict[str, float]:
        """The click a participant aiming at ``item`` makes (its point's centre)."""
        assert self.points is not None
        x, y = self.points[self.position_of(item)]
        return {"x": x, "y": y}


@dataclass(frozen=True)
class ParsedResponse:
    """An answer in item indices: the marked/chosen items and, for presence answers,
    whether an outlier was said to be there."""

    selected: list[int]
    said_present: bool | None = None


#: (hits, false_alarms, misses, correct_rejections, correct) of one trial
Score = tuple[int, int, int, int, bool]


@dataclass(frozen=True)
class Decisions:
    """A modelled observer's answers to a block of trials (``decide``'s result).

    ``selected`` is the (trials, items) mask of marked/chosen items; ``said_present``
    the presence answers (None when the mode has none); ``extra`` one array per extra
    trial-table column the mode writes (e.g. a rating).
    """

    selected: np.ndarray
    said_present: np.ndarray | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)


class ObserverRules(Protocol):
    """What ``decide`` needs of ``analysis.simulate.ModelObserver``."""

    criterion: float
    lapse_rate: float
    yes_no_rule: str


class Observer(Protocol):
    """``analysis.simulate.ModelObserver``'s interface, as far as bots need it."""

    def respond(
        self,
        *,
        n_items: int,
        true_outliers: list[int],
        encoding: str,
        response_mode: str,
        rng: np.random.Generator,
    ) -> Any: ...


@dataclass(frozen=True)
class SimulatedAnswer:
    """The JSON a simulated participant posts, and its RT."""

    response: dict[str, Any]
    rt_ms: float


class ResponseMode(Protocol):
    """The declaration every mode module's ``MODE`` satisfies (see the module docstring)."""

    name: str
    version: str
    #: what researchers read in the study form
    label: str
    layouts: tuple[str, ...]
    decision: Decision
    #: detection modes ("is one there?") need target-absent trials to mean anything;
    #: the study design gives them its target-present share
    needs_target_absent: bool
    #: extra trial-table columns (writer ``"mode"``, see :mod:`analysis.trial_contract`)
    columns: tuple[Column, ...]
    Params: type

    def eligible(self, n_outliers: int) -> bool:
        """Whether a dataset with this many outliers can be shown in this mode."""

    def keys(self, params: Any) -> dict[str, str]:
        """The keyboard keys the mode binds, by role (the ES module and the pages)."""

    def instructions(self, params: Any) -> str:
        """One sentence for the instructions page: trusted HTML (``<kbd>``, ``<strong>``),
        so anything from ``params`` in it must be escaped (:func:`key_label` does)."""

    def parse(self, payload: Any, trial: TrialContext, params: Any) -> ParsedResponse: ...

    def score(
        self,
        *,
        truth: Sequence[int],
        selected: Sequence[int],
        said_present: bool | None,
        n_items: int,
        timed_out: bool,
    ) -> Score: ...

    def feedback(self, truth: Sequence[int], score: Score) -> str: ...

    def decide(
        self,
        outliers: np.ndarray,
        d_prime: np.ndarray,
        *,
        observer: ObserverRules,
        rng: np.random.Generator,
    ) -> Decisions: ...

    def ideal(self, item_scores: np.ndarray, threshold: float) -> ParsedResponse: ...

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        """The JSON a browser posts for a decision (items, presence, the extra values)."""

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Some valid answer JSON (load tests): positions, or clicks inside ``click_area``."""

    def table_values(self, response: Any) -> dict[str, Any]:
        """The extra columns' values from a stored answer JSON (None when timed out)."""


class UnknownResponseMode(GlyphlabError):
    """A response-mode name no module registered."""


def simulate(
    mode: ResponseMode, trial: TrialContext, observer: Observer, rng: np.random.Generator
) -> SimulatedAnswer:
    """What ``observer`` would post on ``trial`` (truth included) in ``mode``."""
    answer = observer.respond(
        n_items=trial.n_items,
        true_outliers=list(trial.true_outliers or ()),
        encoding=trial.encoding,
        response_mode=mode.name,
        rng=rng,
    )
    response = mode.answer(answer.selected, answer.said_present, answer.extra, trial)
    return SimulatedAnswer(response=response, rt_ms=float(answer.rt_ms))


def score_items(
    truth: Sequence[int], selected: Sequence[int], n_items: int, timed_out: bool
) -> Score:
    """Per-item cells: marked outliers are hits, marked others false alarms; correct when
    the marked set is the true set. A timed-out trial marked nothing and is wrong."""
    truth_set, chosen = set(truth), set(() if timed_out else selected)
    hits = len(truth_set & chosen)
    false_alarms = len(chosen - truth_set)
    rejections = max(n_items - len(truth_set) - false_alarms, 0)
    correct = not timed_out and chosen == truth_set
    return hits, false_alarms, len(truth_set) - hits, rejections, correct


def score_presence(truth: Sequence[int], said_present: bool | None, timed_out: bool) -> Score:
    """One presence decision: hit/miss when an outlier was there, false alarm/correct
    rejection when none was. A timed-out trial is a miss, or no cell when absent."""
    present = bool(truth)
    yes = bool(said_present) and not timed_out
    if present:
        cells = (int(yes), 0, int(not yes), 0)
    else:
        cells = (0, 0, 0, 0) if timed_out else (0, int(yes), 0, int(not yes))
    correct = not timed_out and said_present is not None and yes == present
    return (*cells, correct)


def count_fact(truth: Sequence[int]) -> str:
    """ "there were 2 odd ones": feedback for modes that mark every outlier."""
    n = len(truth)
    return f"there {'was' if n == 1 else 'were'} {n} odd one{'' if n == 1 else 's'}"


def presence_fact(truth: Sequence[int]) -> str:
    return "there was an odd one" if truth else "there was no odd one"


def lapse_and_threshold(
    d_prime: np.ndarray, observer: ObserverRules, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each trial's effective d' (0 on a lapse) and criterion ``k = d'/2 + c``.

    Draws the lapses first, then the mode draws its evidence: the order every mode
    keeps so a seed gives the same answers in the bot, the simulator and power runs."""
    lapsed = rng.random(len(d_prime)) < observer.lapse_rate
    effective = np.where(lapsed, 0.0, d_prime)
    return effective, effective / 2 + observer.criterion


def item_evidence(
    outliers: np.ndarray, effective: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Evidence per item: N(d', 1) for outliers, N(0, 1) for the others."""
    return rng.standard_normal(outliers.shape) + effective[:, None] * outliers


def clicks_or_positions(items: Sequence[int], trial: TrialContext, *, many: bool) -> dict[str, Any]:
    """Answer JSON naming ``items``: clicks on a composite image, else display positions."""
    if trial.points is not None:
        clicks = [trial.click_on(i) for i in items]
        return {"clicks": clicks} if many else {"click": clicks[0]}
    positions = [trial.position_of(i) for i in items]
    return {"positions": positions} if many else {"position": positions[0]}


def random_click(click_area: tuple[float, float], rng: np.random.Generator) -> dict[str, float]:
    width, height = click_area
    return {"x": float(rng.uniform(0, width)), "y": float(rng.uniform(0, height))}


def number(value: Any, what: str) -> float:
    """``value`` as a float, if it is a JSON number that fits one (an integer too big
    for a float, like 1 followed by 400 zeros, is refused, not an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResponseError(f"{what} must be a finite number, not {value!r}")
    try:
        result = float(value)
    except OverflowError:
        raise ResponseError(f"{what} is too large; it must be a finite number") from None
    if not math.isfinite(result):
        raise ResponseError(f"{what} must be a finite number, not {value!r}")
    return result


def require_object(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ResponseError('"response" must be a JSON object')
    return payload


def require_keys(payload: Any, *keys: str, optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """``payload`` as an object with exactly ``keys`` (and perhaps ``optional`` ones): an
    answer with a missing or unknown key is refused, never read as an empty selection."""
    payload = require_object(payload)
    missing = [key for key in keys if key not in payload]
    unknown = sorted(set(payload) - set(keys) - set(optional))
    if missing or unknown:
        allowed = ", ".join(f'"{k}"' for k in (*keys, *optional))
        problems = []
        if missing:
            problems.append("missing " + ", ".join(f'"{k}"' for k in missing))
        if unknown:
            problems.append("unknown " + ", ".join(f'"{k}"' for k in unknown))
        raise ResponseError(f"this answer takes the key(s) {allowed}: {'; '.join(problems)}")
    return payload


def require_list(payload: Mapping[str, Any], key: str, limit: int) -> list[Any]:
    value = payload.get(key, [])
    if not isinstance(value, list):
        raise ResponseError(f'"{key}" must be a list')
    if len(value) > limit:
        raise ResponseError(f'"{key}" has {len(value)} entries; at most {limit} are allowed')
    return value


def params_from_dict(cls: type, values: Mapping[str, Any] | None) -> Any:
    """Fill a Params dataclass from a dict, refusing unknown names (jsPsych does too)."""
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ResponseError(f"unknown parameters {unknown}; known: {sorted(known)}")
    return cls(**values)


def key_label(key: str) -> str:
    """How a key is written for people, HTML-escaped: ``" "`` -> ``Space``, ``"y"`` -> ``Y``."""
    return "Space" if key == " " else html.escape(key.upper())


class ModeDefaults:
    """Defaults a mode may inherit: any number of outliers, every trial may have a target,
    no keys, no extra columns."""

    columns: tuple[Column, ...] = ()
    needs_target_absent: bool = False

    def eligible(self, n_outliers: int) -> bool:
        return True

    def keys(self, params: Any) -> dict[str, str]:
        return {}

    def table_values(self, response: Any) -> dict[str, Any]:
        return {}
