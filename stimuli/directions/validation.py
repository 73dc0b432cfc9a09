"""Does each named direction do what its name says, on faces it was not fitted to?

On ``n_faces`` fresh base faces, every axis edits each face by ``step_sd`` data SD both
ways (``-`` and ``+``), and the labellers measure the base face and both edits. Per axis
the table reports:

- ``right_way``: the share of faces whose ``+`` edit measures higher on the axis's own
  measure than their ``-`` edit (goal: >= 95% for age, gender, smile, hair black, hair
  red; >= 90% otherwise). Comparing the two edits, not an edit with its base, keeps
  the labellers' ceilings out of the count: the gender model's male log-odds stop
  rising near +12 and falling near -40, so "more male" on a face already at +13 cannot
  be measured, though the same face's ``+`` edit is far more male than its ``-`` edit.
  Both edits are measured the same way, so measurement noise cannot favour either;
- ``one_sided``: the share of single edits (base to ``+``, base to ``-``) that moved
  the measure the way the edit went, ceilings included (shown, not a goal);
- ``target_sd``: the mean signed change of that measure per edit, in SDs of the bank;
- ``off_target_sd``: the mean absolute change of the other axes' measures per edit;
- ``head_turn_sd``: the mean absolute change of the head's yaw per edit (an axis that
  turns the head changes the pose, not only the feature);
- ``skin_sd``: the mean absolute change of the cheeks' lightness per edit (hair
  colour should not change the skin);
- ``identity``: the mean dlib descriptor distance from base to edit (< 0.6: same person).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stimuli.directions.base import Directions
from stimuli.directions.labellers import MEASURES
from stimuli.directions.named import AXES
from stimuli.generators.base import FaceGenerator, generate_batched, sample_latents, to_display

GOALS = {"age": 0.95, "gender": 0.95, "smile": 0.95, "hair_black": 0.95, "hair_red": 0.95}
DEFAULT_GOAL = 0.90
VALIDATION_PX = 256


@dataclass(frozen=True)
class AxisResult:
    axis: str
    measure: str
    n: int
    right_way: float
    one_sided: float
    goal: float
    target_sd: float
    off_target_sd: float
    head_turn_sd: float
    skin_sd: float
    identity: float

    @property
    def met(self) -> bool:
        return self.right_way >= self.goal


def render(generator: FaceGenerator, latents: np.ndarray, batch_size: int) -> np.ndarray:
    images = generate_batched(generator, latents, batch_size=batch_size, size=VALIDATION_PX)
    return to_display(images)


def validate_named(
    generator: FaceGenerator,
    directions: Directions,
    labeller: Callable[[np.ndarray], np.ndarray],
    identity: Callable[[np.ndarray], np.ndarray] | None,
    *,
    bank_measures: np.ndarray,
    n_faces: int,
    step_sd: float = 2.0,
    seed: int = 0,
    batch_size: int = 8,
    progress: bool = True,
) -> list[AxisResult]:
    """One :class:`AxisResult` per named axis present in ``directions``."""
    from tqdm import tqdm

    rng = np.random.default_rng([seed, 29])
    base = sample_latents(generator, n_faces, rng=rng)
    before_images = render(generator, base, batch_size)
    before = labeller(before_images)
    before_id = None if identity is None else identity(before_images)
    spread = np.nanstd(bank_measures, axis=0)
    others_of = {MEASURES.index(a.measure) for a in AXES}
    yaw, skin = MEASURES.index("yaw"), MEASURES.index("skin_lightness")
    axes = [axis for axis in AXES if axis.name in directions.names]
    results = []
    for axis in tqdm(axes, desc="validating axes", unit="axis", disable=not progress):
        k = directions.names.index(axis.name)
        step = step_sd * directions.scales[k] * directions.vectors[k]
        edited = np.concatenate([base + step, base - step])
        after_images = render(generator, edited, batch_size)
        after = labeller(after_images)
        plus, minus = after[:n_faces], after[n_faces:]
        j = MEASURES.index(axis.measure)
        contrast = axis.sign * (plus[:, j] - minus[:, j]) / spread[j]
        valid = np.isfinite(contrast)
        # per edit, signed the way the edit went: + edits, then - edits
        change = (after - np.concatenate([before, before])) / spread
        change[n_faces:] *= -1
        moved = axis.sign * change[:, j]
        others = sorted(others_of - {j})
        drift = np.nan
        if identity is not None:
            after_id = identity(after_images)
            drift = float(
                np.nanmean(np.linalg.norm(after_id - np.concatenate([before_id] * 2), axis=1))
            )
        results.append(
            AxisResult(
                axis=axis.name,
                measure=axis.measure,
                n=int(valid.sum()),
                right_way=float(np.mean(contrast[valid] > 0)),
                one_sided=float(np.mean(moved[np.isfinite(moved)] > 0)),
                goal=GOALS.get(axis.name, DEFAULT_GOAL),
                target_sd=float(np.nanmean(moved)),
                off_target_sd=float(np.nanmean(np.abs(change[:, others]))),
                head_turn_sd=float(np.nanmean(np.abs(change[:, yaw]))),
                skin_sd=float(np.nanmean(np.abs(change[:, skin]))),
                identity=drift,
            )
        )
    return results


def markdown_table(results: list[AxisResult], *, n_faces: int, step_sd: float) -> str:
    lines = [
        f"Edits of {step_sd:g} data SD both ways (- and +) on {n_faces} fresh base faces. "
        "Right way: the + edit measures higher than the - edit (the goal); one-sided: "
        "single edits from the base face that moved the measure their way, the "
        "labellers' ceilings included. Changes are per edit, in SDs of the labelled bank.",
        "",
        "| axis | measure | faces measured | right way | one-sided | goal | met "
        "| target change (SD) "
        "| off-target change (SD) | head turn (SD) | skin lightness (SD) "
        "| identity drift (dlib, < 0.6 same person) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.axis} | {r.measure} | {r.n} | {r.right_way:.1%} | {r.one_sided:.1%} | "
            f"{r.goal:.0%} | "
            f"{'yes' if r.met else 'no'} | {r.target_sd:+.2f} | {r.off_target_sd:.2f} | "
            f"{r.head_turn_sd:.2f} | {r.skin_sd:.2f} | {r.identity:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_validation(results: list[AxisResult], out: Path, *, n_faces: int, step_sd: float):
    """``validation.json`` and ``validation.md`` in ``out``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "validation.json", out / "validation.md"
    payload = {
        "n_faces": n_faces,
        "step_sd": step_sd,
        "axes": [asdict(r) | {"met": r.met} for r in results],
    }
    json_path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(markdown_table(results, n_faces=n_faces, step_sd=step_sd), "utf-8")
    return json_path, md_path
