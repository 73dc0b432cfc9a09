"""The trial-table contract, defined once: every column's name, kind, description and writer.

One row per presented trial (DESIGN.md, "Trial table"). Every side reads this module
instead of keeping its own list: the site's CSV (``experiment/services/trial_table.py``
takes the dtypes of the columns it writes), the reader (:func:`analysis.trials.read_trials`
checks and coerces by kind), the simulator (:mod:`analysis.simulate` writes the same
columns in the same order) and the Psych-DS codebook (:mod:`analysis.export.psychds` takes
the descriptions; :mod:`analysis.export.anonymise` passes the ``public`` ones unchanged).

Writers: ``"site"`` (the experiment stores it for every trial), ``"mode"`` (a response mode
adds it; empty for the other modes), ``"analysis"`` (derived by scoring, never stored).
A response mode that adds columns declares them as :class:`Column` objects (writer
``"mode"``) and every side calls ``trial_columns(extra=those)``: they follow the core
columns, and one that clashes with a core column or another mode's declaration is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analysis.errors import AnalysisError

#: Column kind -> the pandas dtype of the table the site writes (and the simulator).
#: ``items`` are JSON lists of item indices ("[3, 7]"), ``time`` UTC ISO 8601 text,
#: ``json`` the raw text of a JSON value.
KINDS: dict[str, str] = {
    "text": "string",
    "flag": "bool",
    "optional_flag": "boolean",
    "count": "int64",
    "number": "float64",
    "items": "string",
    "time": "string",
    "json": "string",
}
WRITERS = ("site", "mode", "analysis")


@dataclass(frozen=True)
class Column:
    """One column of the trial table.

    ``required``: the reader refuses a table without it (an optional one is added empty);
    ``nullable``: an empty cell is allowed (for ``items``: it means []); ``public``: the
    anonymised export passes it unchanged (others are transformed or dropped there).
    """

    name: str
    kind: str
    description: str
    writer: str = "site"
    required: bool = True
    nullable: bool = False
    public: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AnalysisError(f"column {self.name!r}: kind must be one of {', '.join(KINDS)}")
        if self.writer not in WRITERS:
            raise AnalysisError(f"column {self.name!r}: writer must be one of {WRITERS}")

    @property
    def dtype(self) -> str:
        """The pandas dtype the site's table has in this column."""
        return KINDS[self.kind]


CORE: tuple[Column, ...] = (
    Column("participant", "text", "Anonymous participant code", public=False),
    Column("study", "text", "Study label (its slug on the site)"),
    Column("encoding", "text", "How the data rows were drawn (an encoding's registry key)"),
    Column("layout", "text", "grid (all items at once) or sequence (one item per frame)"),
    Column("response_mode", "text", "The response mode that recorded the trial (registry key)"),
    Column("response_mode_version", "text", "Version of the response-mode plugin that recorded it"),
    Column("is_attention_check", "flag", "Trial was an attention check"),
    Column("dataset_id", "text", "Synthetic dataset shown (id within the stimulus set)"),
    Column("stimulus_id", "text", "Stimulus shown (id within the stimulus set)"),
    Column("trial_index", "count", "0-based position of the trial in the participant's session"),
    Column("is_practice", "flag", "Practice trial (not analysed)"),
    Column("n_items", "count", "Number of data rows (items) shown"),
    Column("true_outliers", "items", "JSON list of the item indices that are outliers"),
    Column(
        "selected",
        "items",
        "JSON list of the item indices the participant selected ([] when timed out)",
        nullable=True,
    ),
    Column(
        "said_present",
        "optional_flag",
        "Participant said an outlier was present (presence-judgement modes; empty otherwise)",
        writer="mode",
        nullable=True,
    ),
    Column("rt_ms", "number", "Response time in ms (browser performance.now)", nullable=True),
    Column("timed_out", "flag", "No answer before the deadline"),
    Column("deadline_ms", "number", "Response deadline in ms", nullable=True),
    Column("presented_at", "time", "When the stimulus was shown (UTC ISO 8601)", public=False),
    Column("answered_at", "time", "When the answer arrived (UTC ISO 8601)", public=False),
    *(
        Column(name, "number", description, required=False, nullable=True, public=public)
        for name, description, public in (
            ("screen_width", "Screen width in CSS px (screen.width) of the answering tab", False),
            ("screen_height", "Screen height in CSS px (screen.height)", False),
            ("window_width", "Window width in CSS px (innerWidth) when the tab opened", False),
            ("window_height", "Window height in CSS px (innerHeight) when the tab opened", False),
            ("device_pixel_ratio", "Device pixels per CSS px (devicePixelRatio)", True),
            ("refresh_hz", "Display refresh rate measured by requestAnimationFrame (Hz)", True),
        )
    ),
    Column(
        "fullscreen_exits",
        "count",
        "Times the participant left full screen during the study (all trials)",
        required=False,
        nullable=True,
    ),
    Column(
        "times_hidden",
        "count",
        "Times the study's tab was hidden (another tab or app) during the study",
        required=False,
        nullable=True,
    ),
    Column(
        "served_at",
        "time",
        "When the server sent the trial and its media (UTC ISO 8601); the deadline counts "
        "from here, allowing for the fixation",
        required=False,
        nullable=True,
        public=False,
    ),
    Column(
        "server_elapsed_ms",
        "number",
        "Server clock from the trial's start call (onset) to the answer's arrival, in ms",
        required=False,
        nullable=True,
    ),
    Column(
        "timing_flag",
        "text",
        "Why rt_ms disagrees with the server's clock (rt_exceeds_server_elapsed, "
        "rt_below_server_elapsed, rt_missing); empty when it agrees. Flagged trials are "
        "not analysed",
        required=False,
        nullable=True,
    ),
    Column(
        "response",
        "json",
        "The answer as the response mode posted it (JSON)",
        required=False,
        nullable=True,
        public=False,
    ),
)
#: Columns :func:`analysis.trials.score_trials` adds.
DERIVED: tuple[Column, ...] = (
    Column("hits", "count", "Outlier items marked (or yes when one is present)", "analysis"),
    Column("false_alarms", "count", "Non-outlier items marked (or a yes when absent)", "analysis"),
    Column("misses", "count", "Outlier items not marked", "analysis"),
    Column("correct_rejections", "count", "Non-outlier items not marked", "analysis"),
    Column("n_signal", "count", "hits + misses: denominator of the hit rate", "analysis"),
    Column("n_noise", "count", "false_alarms + correct_rejections", "analysis"),
    Column("correct", "flag", "The answer was fully right", "analysis"),
    Column("log_rt", "number", "ln(rt_ms) of answered trials", "analysis", nullable=True),
    Column("attention_failed", "flag", "An attention check answered wrongly", "analysis"),
)


def trial_columns(extra: Iterable[Column] = (), *, derived: bool = False) -> tuple[Column, ...]:
    """The contract: core columns, then ``extra`` (what the study's modes add), then with
    ``derived`` what analysis adds. A repeated name must be declared identically."""
    columns = {column.name: column for column in CORE}
    for column in (*extra, *(DERIVED if derived else ())):
        known = columns.get(column.name)
        if known is not None and known != column:
            raise AnalysisError(
                f"trial-table column {column.name!r} is declared twice, differently: "
                f"{known} and {column}"
            )
        columns[column.name] = column
    return tuple(columns.values())


def written_columns(extra: Iterable[Column] = ()) -> tuple[Column, ...]:
    """The columns a trial table holds before analysis (what the site and simulator write)."""
    return tuple(c for c in trial_columns(extra) if c.writer != "analysis")


def dtypes(columns: Iterable[Column]) -> dict[str, str]:
    """``{name: pandas dtype}`` of ``columns``, in order (for ``DataFrame.astype``)."""
    return {column.name: column.dtype for column in columns}


def descriptions(extra: Iterable[Column] = ()) -> dict[str, str]:
    """``{name: description}`` of every contract column (the codebook's source)."""
    return {c.name: c.description for c in trial_columns(extra, derived=True)}
