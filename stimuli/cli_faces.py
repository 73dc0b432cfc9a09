"""``glyphlab stimuli directions`` and ``glyphlab stimuli encode-photo``: neural-face tools.

Attached to the ``stimuli`` group in ``stimuli/cli.py``. Heavy imports (torch) happen
inside the commands so ``glyphlab --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from stimuli.errors import StimulusError

generator_options = [
    click.option(
        "--backend",
        default="mobilestylegan",
        show_default=True,
        help="generator: mobilestylegan (StyleGAN quality), dcgan64 (small, fast); both "
        "research use only; or torchscript (your own)",
    ),
    click.option(
        "--model",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TorchScript generator file (backend torchscript)",
    ),
    click.option("--latent-dim", type=int, default=0, help="latent size (backend torchscript)"),
    click.option(
        "--threads", type=int, default=2, show_default=True, help="torch CPU threads to use"
    ),
]


def with_generator_options(command):
    for option in reversed(generator_options):
        command = option(command)
    return command


def _generator(backend: str, model: Path | None, latent_dim: int, threads: int):
    import torch

    from stimuli.generators import load_generator

    torch.set_num_threads(max(1, threads))
    if backend == "torchscript":
        if model is None or latent_dim < 1:
            raise StimulusError("backend torchscript needs --model FILE and --latent-dim D")
        return load_generator(backend, path=model, latent_dim=latent_dim)
    return load_generator(backend)


@click.command()
@click.option(
    "--method",
    type=click.Choice(["default", "pca", "means", "file", "landmarks", "labelled"]),
    default="default",
    show_default=True,
    help="default: the generator's shipped directions (else pca); pca: GANSpace; "
    "means: labelled latents CSV; file: .npy/.npz; landmarks: mediapipe; labelled: "
    "named axes from faces the labellers measure (glyphlab[labellers])",
)
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="labels CSV (latent_id + 0/1 columns) for means; .npy (K, D) or .npz for file",
)
@click.option("--n-components", default=10, show_default=True, help="PCA directions to keep")
@click.option(
    "--n-faces",
    type=int,
    help="faces generated and measured (landmarks: 3000, labelled: 5000)",
)
@click.option(
    "--validate-faces",
    default=200,
    show_default=True,
    help="fresh faces to check landmark/labelled directions on (0: skip)",
)
@click.option(
    "--step-sd", default=2.0, show_default=True, help="labelled: validation edit size in SD"
)
@click.option(
    "--bank-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="labelled: resumable face bank folder (default: the user cache folder)",
)
@click.option(
    "--strip-bases", default=2, show_default=True, help="labelled: base faces per strip sheet"
)
@click.option(
    "--no-generate",
    is_flag=True,
    help="labelled: fit on the faces the bank already holds (labelled so far)",
)
@click.option("--seed", default=0, show_default=True, help="seed of every random choice")
@click.option("--orthogonalise", is_flag=True, help="Gram-Schmidt the directions in order")
@click.option("--no-calibrate", is_flag=True, help="keep scale 1 (or the file's scales)")
@click.option(
    "--label-sheet",
    default=0,
    show_default=True,
    help="also write a numbered sheet of this many latent-bank faces to label for means",
)
@click.option(
    "--out",
    default="directions",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for directions.npz and the contact sheets",
)
@with_generator_options
def directions(
    method, path, n_components, n_faces, validate_faces, step_sd, bank_dir, strip_bases,
    no_generate,
    seed, orthogonalise, no_calibrate, label_sheet, out, backend, model, latent_dim, threads,
) -> None:  # fmt: skip
    """Compute latent directions and write direction strips (-3..+3 SD) to look at."""
    import numpy as np

    if method == "labelled":
        _labelled(
            _generator(backend, model, latent_dim, threads),
            n_faces=n_faces,
            validate_faces=validate_faces,
            step_sd=step_sd,
            seed=seed,
            bank_dir=bank_dir,
            generate=not no_generate,
            strip_bases=strip_bases,
            out=out,
        )
        return
    n_faces = 3000 if n_faces is None else n_faces

    from stimuli.directions import DirectionsConfig, compute_directions, default_cache_dir
    from stimuli.directions.means import latent_bank
    from stimuli.directions.sheets import direction_strips, face_sheet
    from stimuli.generators import sample_latents

    generator = _generator(backend, model, latent_dim, threads)
    config = DirectionsConfig(
        method=method,
        path=str(path) if path else None,
        n_components=n_components,
        n_faces=n_faces,
        seed=seed,
        orthogonalise=orthogonalise,
        calibrate=not no_calibrate,
    )
    found = compute_directions(generator, config, cache_dir=default_cache_dir())
    out.mkdir(parents=True, exist_ok=True)
    written = [found.save(out / "directions.npz")]
    bases = sample_latents(generator, 2, rng=np.random.default_rng([seed, 11]))
    for b, base in enumerate(bases):
        for start in range(0, len(found), 8):
            part = found.select(list(found.names[start : start + 8]))
            sheet = out / f"strips_base{b}_{start // 8}.png"
            direction_strips(generator, part, base, progress=True).save(sheet)
            written.append(sheet)
    if label_sheet:
        bank = latent_bank(label_sheet, generator.latent_dim, seed=seed, generator=generator)
        face_sheet(generator, bank, columns=10).save(out / "label_sheet.png")
        written.append(out / "label_sheet.png")
    for k, name in enumerate(found.names):
        click.echo(f"{name:14s} scale {found.scales[k]:.3f} latent units per SD")
    if method == "landmarks" and validate_faces:
        from stimuli.directions.landmarks import FaceMeshMeasurer, validate_directions

        result = validate_directions(
            generator,
            found,
            FaceMeshMeasurer(),
            n_faces=validate_faces,
            rng=np.random.default_rng([seed, 13]),
        )
        click.echo("validation on fresh faces (+2 SD edit):\n" + result.summary())
    for path_written in written:
        click.echo(str(path_written))


def _labelled(
    generator, *, n_faces, validate_faces, step_sd, seed, bank_dir, generate, strip_bases, out
):
    from stimuli.directions import default_cache_dir
    from stimuli.directions.pipeline import DEFAULT_FACES, run_labelled

    run, results, written = run_labelled(
        generator,
        n_faces=DEFAULT_FACES if n_faces is None else n_faces,
        n_validation=validate_faces,
        step_sd=step_sd,
        seed=seed,
        cache_dir=bank_dir or default_cache_dir().parent / "faces",
        out=out,
        generate=generate,
        strip_bases=strip_bases,
    )
    click.echo(f"fitted on {run.n_labelled} labelled faces ({run.n_measured} fully measured)")
    for r in results:
        click.echo(
            f"{r.axis:11s} right way {r.right_way:6.1%} (goal {r.goal:.0%}; one-sided "
            f"{r.one_sided:.1%}) "
            f"off-target {r.off_target_sd:.2f} SD, head turn {r.head_turn_sd:.2f} SD, "
            f"skin {r.skin_sd:.2f} SD, "
            f"identity drift {r.identity:.3f}"
        )
    for path_written in written:
        click.echo(str(path_written))


@click.command("encode-photo")
@click.argument("photo", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--steps", default=300, show_default=True, help="Adam steps in w")
@click.option(
    "--plus-steps",
    default=0,
    show_default=True,
    help="further steps in w+ (per-layer w; MobileStyleGAN): closer to the photo, "
    "saved beside the w latent",
)
@click.option("--lr", default=0.05, show_default=True, help="Adam learning rate")
@click.option(
    "--prior-weight",
    default=0.01,
    show_default=True,
    help="weight of the latent's mean square in prior-whitened units",
)
@click.option(
    "--layer-weight",
    default=0.1,
    show_default=True,
    help="w+: weight pulling each layer's w towards the shared w",
)
@click.option("--starts", default=16, show_default=True, help="latents scored before fitting")
@click.option("--fit-px", default=256, show_default=True, help="side the images are compared at")
@click.option(
    "--draft/--no-draft",
    default=True,
    show_default=True,
    help="descend through the generator's fast differentiable draft (MobileStyleGAN)",
)
@click.option(
    "--full-every",
    default=10,
    show_default=True,
    help="correct the draft by the full face every N steps (0: never)",
)
@click.option(
    "--align/--no-align",
    default=True,
    show_default=True,
    help="crop and rotate the face FFHQ-style first (MediaPipe; labellers extra)",
)
@click.option("--seed", default=0, show_default=True, help="seed of the random starts")
@click.option(
    "--out",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for <photo>_latent.npy and <photo>_before_after.png",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@with_generator_options
def encode_photo(
    photo, steps, plus_steps, lr, prior_weight, layer_weight, starts, fit_px, draft,
    full_every, align, seed, out, quiet, backend, model, latent_dim, threads,
) -> None:  # fmt: skip
    """Fit a latent to PHOTO to use as the base face (gan_face base_latent_path).

    Generators that cannot be differentiated (MobileStyleGAN on OpenVINO) are fitted
    through their torch twin (same weights and latent space), so the latent works with
    either. The w+ latent (--plus-steps) is for the torch port only; gan_face takes w.
    """
    import numpy as np

    from stimuli.generators import load_generator
    from stimuli.photo import (
        PhotoFitConfig,
        align_face,
        before_after,
        fit_photo,
        fit_size,
        identity_distance,
        load_photo,
    )

    config = PhotoFitConfig(
        steps=steps, lr=lr, prior_weight=prior_weight, starts=starts, fit_px=fit_px,
        plus_steps=plus_steps, layer_weight=layer_weight, draft=draft, full_every=full_every,
    )  # fmt: skip
    generator = _generator(backend, model, latent_dim, threads)
    twin = getattr(generator, "gradient_backend", None)
    if twin is not None:
        generator = load_generator(twin)
    side = fit_size(generator, config)
    target = align_face(photo, side) if align else load_photo(photo, side)
    fit = fit_photo(generator, target, config, rng=np.random.default_rng(seed), progress=not quiet)
    out.mkdir(parents=True, exist_ok=True)
    latent_path = out / f"{photo.stem}_latent.npy"
    np.save(latent_path, fit.latent)
    written = [latent_path]
    if fit.latent_plus is not None:
        written.append(out / f"{photo.stem}_latent_wplus.npy")
        np.save(written[-1], fit.latent_plus)
    try:
        identity = [identity_distance(target, face[None]) for face in fit.faces]
    except StimulusError:  # dlib is in the labellers extra
        identity = None
    written.append(out / f"{photo.stem}_before_after.png")
    before_after(generator, fit, identity=identity).save(written[-1])
    scores = f"PSNR in w {fit.psnr:.1f} dB" + (
        f", in w+ {fit.psnr_plus:.1f} dB" if fit.psnr_plus is not None else ""
    )
    if identity is not None:
        scores += ", dlib distance " + " / ".join(f"{d:.2f}" for d in identity) + " (< 0.6: same)"
    click.echo(f"{len(fit.losses)} steps in {fit.seconds:.0f} s; {scores}")
    click.echo("\n".join(str(path) for path in written))
    click.echo(f'use it: [encoding_params.gan_face] base_latent_path = "{latent_path}"')
