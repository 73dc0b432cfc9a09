"""``glyphlab stimuli directions --method labelled``: bank -> labels -> directions -> table.

1. fill a resumable bank of ``n_faces`` generated faces (latents + 256 px images) in the
   cache folder; 2. label every face (``FaceLabeller``); 3. truth-table directions made
   conditional (``named``) plus GANSpace PCA in w (``wpca``); 4. validate on fresh faces
   and write ``directions.npz`` (recorded for this generator), ``validation.json`` /
   ``.md``, ``labelled.json`` (what was fitted on) and direction strips to look at.
Everything is written to a temporary folder and moved into ``out`` only at the end, so
a failure (no labellers, too few faces) leaves ``out`` as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stimuli.directions.base import Directions, DirectionsError
from stimuli.directions.facebank import bank_dir, fill_bank, iter_bank
from stimuli.directions.labelling import label_bank, labels_path
from stimuli.directions.named import AXIS_NAMES, named_directions
from stimuli.directions.wpca import w_pca_directions
from stimuli.generators.base import FaceGenerator, manifest_entry, sample_latents

DEFAULT_FACES = 5000


@dataclass(frozen=True)
class LabelledRun:
    """What a run used: faces labelled, measurable, and the raw axis cosines."""

    n_labelled: int
    n_measured: int
    cosines: dict[str, float]


def labelled_bank(folder: Path, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Latents and measures of every labelled chunk among the first ``n_faces``."""
    latents, measures = [], []
    for index, chunk_latents, _images in iter_bank(folder, n_faces):
        path = labels_path(folder, index)
        if path.is_file():
            latents.append(chunk_latents)
            measures.append(np.load(path))
    if not latents:
        raise DirectionsError(f"no labelled faces in {folder}; run the labelling first")
    return np.concatenate(latents), np.concatenate(measures)


def combine(*parts: Directions) -> Directions:
    return Directions(
        vectors=np.vstack([p.vectors for p in parts]),
        names=tuple(n for p in parts for n in p.names),
        scales=np.concatenate([p.scales for p in parts]),
        method="+".join(p.method for p in parts),
    )


def compute_labelled(
    generator: FaceGenerator,
    labeller,
    *,
    n_faces: int,
    seed: int,
    cache_dir: Path,
    n_components: int = 10,
    generate: bool = True,
    progress: bool = True,
) -> tuple[Directions, LabelledRun, np.ndarray]:
    """Named + PCA directions from the bank; also the bank's measures (for SD units).

    ``generate=False`` fits on what the bank already holds (e.g. a partly filled one).
    """
    folder = bank_dir(cache_dir, generator, seed)
    if generate:
        fill_bank(generator, folder, n_faces, seed=seed, progress=progress)
        label_bank(folder, n_faces, labeller, progress=progress)
    latents, measures = labelled_bank(folder, n_faces)
    named, cosines = named_directions(latents, measures)
    pca, _ = w_pca_directions(
        generator, n_components=n_components, rng=np.random.default_rng([seed, 23])
    )
    run = LabelledRun(
        n_labelled=len(latents),
        n_measured=int(np.isfinite(measures).all(axis=1).sum()),
        cosines=cosines,
    )
    return combine(named, pca), run, measures


def write_outputs(
    generator: FaceGenerator,
    directions: Directions,
    run: LabelledRun,
    results,
    out: Path,
    *,
    n_validation: int,
    step_sd: float,
    seed: int,
    strip_bases: int = 2,
) -> list[Path]:
    """Write every output into a temporary folder, then move the files into ``out``.

    Direction strips (-3..+3 SD) of the named axes on ``strip_bases`` base faces; the
    PCA components' strips come from ``glyphlab stimuli directions`` (method default).
    """
    from stimuli.directions.sheets import direction_strips
    from stimuli.directions.validation import write_validation

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".directions-", dir=out))
    try:
        directions.save(work / "directions.npz", generator=manifest_entry(generator))
        (work / "labelled.json").write_text(
            json.dumps(
                {"n_labelled": run.n_labelled, "n_measured": run.n_measured}
                | {"raw_cosines": run.cosines},
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        if results is not None:
            write_validation(results, work, n_faces=n_validation, step_sd=step_sd)
        named = directions.select([n for n in directions.names if n in AXIS_NAMES])
        bases = sample_latents(generator, strip_bases, rng=np.random.default_rng([seed, 11]))
        for b, base in enumerate(bases):
            direction_strips(generator, named, base, face_px=112).save(work / f"strips_base{b}.png")
        written = []
        for path in sorted(work.iterdir()):
            target = out / path.name
            path.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_labelled(
    generator: FaceGenerator,
    *,
    n_faces: int,
    n_validation: int,
    step_sd: float,
    seed: int,
    cache_dir: Path,
    out: Path,
    generate: bool = True,
    progress: bool = True,
    strip_bases: int = 2,
) -> tuple[LabelledRun, list, list[Path]]:
    """The whole command: labellers are loaded first, so a missing one fails at once."""
    from stimuli.directions.labellers import FaceLabeller, IdentityDescriptor
    from stimuli.directions.validation import validate_named

    labeller = FaceLabeller()
    identity = IdentityDescriptor() if n_validation else None
    directions, run, measures = compute_labelled(
        generator,
        labeller,
        n_faces=n_faces,
        seed=seed,
        cache_dir=cache_dir,
        generate=generate,
        progress=progress,
    )
    results = None
    if n_validation:
        results = validate_named(
            generator,
            directions,
            labeller,
            identity,
            bank_measures=measures,
            n_faces=n_validation,
            step_sd=step_sd,
            seed=seed,
            progress=progress,
        )
    written = write_outputs(
        generator,
        directions,
        run,
        results,
        out,
        n_validation=n_validation,
        step_sd=step_sd,
        seed=seed,
        strip_bases=strip_bases,
    )
    return run, results or [], written
