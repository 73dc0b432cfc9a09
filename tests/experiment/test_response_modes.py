"""Contract test over every registered response mode (jsPsych-plugin style)."""

import dataclasses
import importlib

import numpy as np
import pytest

from analysis.response_modes import RESPONSE_MODES, ResponseError, TrialContext
from analysis.response_modes.base import params_from_dict, simulate
from analysis.simulate import ModelObserver
from experiment import TEMPLATES

ITEMS = (4, 0, 5, 2, 1, 3)  # item at each display position
POINTS = tuple((10.0 + 40 * p, 50.0) for p in range(6))
OBSERVER = ModelObserver.simple({"chernoff": 3.0, "plot": 3.0}, rt_median_ms=900.0)


@pytest.fixture(params=sorted(RESPONSE_MODES))
def mode(request):
    return RESPONSE_MODES[request.param]


def contexts(mode, truth=(2,)):
    layout = mode.layouts[0]
    yield TrialContext("chernoff", layout, ITEMS, true_outliers=truth)
    if layout == "grid":
        yield TrialContext("plot", layout, ITEMS, points=POINTS, true_outliers=truth)


def test_declares_name_version_layouts_params_and_template(mode):
    module = importlib.import_module(f"analysis.response_modes.{mode.name}")
    assert module.MODE is mode
    assert isinstance(mode.version, str) and mode.version
    assert set(mode.layouts) <= {"grid", "sequence"} and mode.layouts
    assert dataclasses.is_dataclass(mode.Params)
    assert mode.Params.__dataclass_params__.frozen
    params_from_dict(mode.Params, {})  # every parameter has a default
    with pytest.raises(ResponseError, match="unknown parameters"):
        params_from_dict(mode.Params, {"no_such_parameter": 1})
    assert (TEMPLATES / "trials" / f"{mode.name}.html").exists()


def test_simulated_answers_parse_back_to_the_observers_items(mode, seed):
    params = params_from_dict(mode.Params, {})
    for context in contexts(mode):
        for k in range(20):
            simulated = simulate(mode, context, OBSERVER, np.random.default_rng(seed + k))
            parsed = mode.parse(
                simulated.response, dataclasses.replace(context, true_outliers=None), params
            )
            again = OBSERVER.respond(
                n_items=context.n_items,
                true_outliers=list(context.true_outliers),
                encoding=context.encoding,
                response_mode=mode.name,
                rng=np.random.default_rng(seed + k),
            )
            if mode.name == "yes_no":
                assert parsed.selected == [] and parsed.said_present == again.said_present
            else:
                assert parsed.selected == sorted(again.selected)
            assert simulated.rt_ms == pytest.approx(again.rt_ms)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {"positions": [6]},
        {"position": 17},
        {"present": "yes"},
        {"presses": [{"t_ms": 1}]},
        {"presses": [{"frame": 99}]},
        {"clicks": [{"x": "a", "y": 1}]},
        {"click": {"x": float("nan"), "y": 0}},
    ],
)
def test_bad_payloads_are_response_errors(mode, payload):
    params = params_from_dict(mode.Params, {})
    for context in contexts(mode):
        try:
            parsed = mode.parse(payload, context, params)
        except ResponseError as error:
            assert error.status == 400 and str(error)
        else:  # a payload may be valid for another mode only if it names nothing wrong
            assert all(item in ITEMS for item in parsed.selected)
            assert payload not in (None, [], "x")


def test_modes_map_positions_to_items_not_the_reverse():
    grid = TrialContext("chernoff", "grid", ITEMS)
    params = params_from_dict(RESPONSE_MODES["mark_outliers"].Params, {})
    parsed = RESPONSE_MODES["mark_outliers"].parse({"positions": [0, 2, 2]}, grid, params)
    assert parsed.selected == [4, 5]
    plot = TrialContext("plot", "grid", ITEMS, points=POINTS)
    click = RESPONSE_MODES["m_afc"].parse(
        {"click": {"x": 92.0, "y": 55.0}},
        plot,
        params_from_dict(RESPONSE_MODES["m_afc"].Params, {}),
    )
    assert click.selected == [5]
    assert RESPONSE_MODES["m_afc"].eligible(1) and not RESPONSE_MODES["m_afc"].eligible(2)


def test_random_answers_parse_and_score(mode, seed):
    """The load generator's answers are valid for the mode, and the mode scores its
    parsed answers with cells that add up to the items shown."""
    params = params_from_dict(mode.Params, {})
    rng = np.random.default_rng(seed)
    for context in contexts(mode):
        area = (250.0, 100.0) if context.points is not None else None
        for _ in range(10):
            parsed = mode.parse(mode.random_answer(context.n_items, area, rng), context, params)
            hits, false_alarms, misses, rejections, correct = mode.score(
                truth=[2],
                selected=parsed.selected,
                said_present=parsed.said_present,
                n_items=context.n_items,
                timed_out=False,
            )
            assert hits + misses == 1 and min(false_alarms, rejections) >= 0
            assert correct == (hits == 1 and false_alarms == 0)
            assert mode.feedback([2], (hits, false_alarms, misses, rejections, correct))


def test_the_ideal_answer_is_a_valid_answer(mode):
    scores = np.array([0.1, 0.2, 9.0, 0.3, 0.1, 0.2])
    ideal = mode.ideal(scores, threshold=2.0)
    context = TrialContext("chernoff", mode.layouts[0], tuple(range(6)))
    response = mode.answer(ideal.selected, ideal.said_present, {}, context)
    assert mode.parse(response, context, params_from_dict(mode.Params, {})) == ideal


def test_an_unknown_mode_fails_loudly_everywhere():
    from analysis.response_modes import UnknownResponseMode, mode_named
    from analysis.simulate import SimulationDesign, SimulationError

    with pytest.raises(UnknownResponseMode, match="unknown response mode 'rate_17'"):
        mode_named("rate_17")
    with pytest.raises(SimulationError, match="registered: mark_outliers"):
        SimulationDesign(response_mode="rate_17")
    with pytest.raises(SimulationError, match="unknown response mode"):
        OBSERVER.respond(
            n_items=3, true_outliers=[1], encoding="chernoff", response_mode="x", rng=None
        )


def _answers(mode):
    rng = np.random.default_rng(5)
    for trial in contexts(mode):
        area = (250.0, 100.0) if trial.points is not None else None
        yield trial, mode.random_answer(trial.n_items, area, rng)


def _refuses(mode, trial, payload):
    params = params_from_dict(mode.Params, {})
    with pytest.raises(ResponseError):
        mode.parse(payload, trial, params)


def test_parse_refuses_answers_whose_keys_do_not_match_the_mode(mode):
    """Unknown keys, missing keys and wrong types are refused (issue 15: they were
    stored as empty selections)."""
    params = params_from_dict(mode.Params, {})
    for trial, answer in _answers(mode):
        mode.parse(answer, trial, params)  # the well-formed answer is taken
        _refuses(mode, trial, {**answer, "unexpected": 1})
        _refuses(mode, trial, {})
        for key in answer:
            _refuses(mode, trial, {k: v for k, v in answer.items() if k != key})
            _refuses(mode, trial, {**answer, key: "text"})
            _refuses(mode, trial, {**answer, key: None})


def test_the_plugin_mode_refuses_mismatched_keys_too():
    from tests.plugins.rate_1_7 import MODE

    trial = TrialContext("chernoff", "grid", ITEMS)
    params = params_from_dict(MODE.Params, {})
    assert MODE.parse({"rating": 6}, trial, params).said_present is True
    for bad in ({}, {"rating": 6, "extra": 1}, {"rating": "6"}, {"present": True}):
        _refuses(MODE, trial, bad)


def test_keypress_presses_have_only_frame_and_time():
    mode = RESPONSE_MODES["keypress"]
    trial = TrialContext("chernoff", "sequence", ITEMS)
    for press in (
        {"frame": 1, "t_ms": 10.0, "key": " "},
        {"t_ms": 10.0},
        {"frame": 1, "t_ms": "x"},
    ):
        _refuses(mode, trial, {"presses": [press]})
