"""Does each named direction do what its name says, on faces it was not fitted to?

On ``n_faces`` fresh base faces, every axis edits each face by ``step_sd`` data SD in a
random direction (+ or -, so faces already at a ceiling do not bias the count) and the
labellers measure the face before and after. Per axis the table reports:

- ``right_way``: the share of edits that moved the axis's own measure the way the edit
  went (goal: >= 95% for age, gender, smile, hair black, hair red; >= 90% otherwise);
- ``target_sd``: the mean signed change of that measure, in SDs of the labelled bank;
- ``off_target_sd``: the mean absolute change of the other axes' measures, in bank SDs;
- ``head_turn_sd``: the mean absolute change of the head's yaw, in bank SDs (an axis
  that turns the head changes the pose, not only the feature);
- ``skin_sd``: the mean absolute change of the cheeks' lightness, in bank SDs (hair
  colour should not change the skin);
- ``identity``: the mean dlib descriptor distance before/after (< 0.6: same person).
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
    axes = [axis for axis in AXES if axis.name in directions.names]
    results = []
    for axis in tqdm(axes, desc="validating axes", unit="axis", disable=not progress):
        k = directions.names.index(axis.name)
        signs = rng.choice([-1.0, 1.0], size=n_faces)
        step = step_sd * directions.scales[k] * directions.vectors[k]
        after_images = render(generator, base + signs[:, None] * step, batch_size)
        after = labeller(after_images)
        j = MEASURES.index(axis.measure)
        change = (after - before) / spread
        moved = signs * axis.sign * change[:, j]
        valid = np.isfinite(moved)
        others = sorted({MEASURES.index(a.measure) for a in AXES} - {j})
        yaw, skin = MEASURES.index("yaw"), MEASURES.index("skin_lightness")
        drift = np.nan
        if identity is not None:
            after_id = identity(after_images)
            drift = float(np.nanmean(np.linalg.norm(after_id - before_id, axis=1)))
        results.append(
            AxisResult(
                axis=axis.name,
                measure=axis.measure,
                n=int(valid.sum()),
                right_way=float(np.mean(moved[valid] > 0)),
                goal=GOALS.get(axis.name, DEFAULT_GOAL),
                target_sd=float(np.mean(moved[valid])),
                off_target_sd=float(np.nanmean(np.abs(change[:, others]))),
                head_turn_sd=float(np.nanmean(np.abs(change[:, yaw]))),
                skin_sd=float(np.nanmean(np.abs(change[:, skin]))),
                identity=drift,
            )
        )
    return results


def markdown_table(results: list[AxisResult], *, n_faces: int, step_sd: float) -> str:
    lines = [
        f"Edits of {step_sd:g} data SD (random sign) on {n_faces} fresh base faces.",
        "",
        "| axis | measure | faces measured | right way | goal | met | target change (SD) "
        "| off-target change (SD) | head turn (SD) | skin lightness (SD) "
        "| identity drift (dlib, < 0.6 same person) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.axis} | {r.measure} | {r.n} | {r.right_way:.1%} | {r.goal:.0%} | "
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
