"""Make the MobileStyleGAN figures in docs/neural-faces/ (run from the repository root).

    PYTHONPATH=. .venv/bin/python docs/neural-faces/make_figures.py [--only NAME ...]

- ``seed-faithful-*``: the first main dataset of stimuli/examples/neural_faces.toml
  (y -> smile, informative x -> age, others -> gender, eye size, black hair, red hair),
  rendered by the ``gan_face`` encoding and laid out as participants see it: a grid
  unsorted and sorted by y and the sequence in both orders as animated WebP and MP4, on
  the example's base face; and ``seed-faithful-bases.png``, the sorted grid on
  ``BASES``, four more base faces (men and women, varied skin and hair), so one base
  face does not stand for the mapping;
- ``projection-*``: the same data projected straight into w (PCA and random basis);
- ``anti-face``: base faces beside their reflections through the mean w;
- ``pca-strips``: GANSpace components pc01..pc08 on one base face;
- ``photo``: scikit-image's ``astronaut`` encoded as a base face (``stimuli.photo``):
  the photo, its FFHQ-aligned crop, the reconstructions in w and w+ (full network) with
  PSNR and dlib distance, the w face moved along smile, age and gender, and beside them
  the dlib distance of the photo from random faces (how far "not this person" is);
  ``photo-astronaut.json`` keeps the figures and ``astronaut_latent.npy`` the w.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stimuli import StimulusSetConfig
from stimuli.datasets import iter_datasets
from stimuli.directions import shipped_directions
from stimuli.directions.sheets import direction_strips
from stimuli.encodings.gan_face import GanFace
from stimuli.generators import generate_batched, sample_latents, to_display
from stimuli.layouts.grid import display_order, tile
from stimuli.layouts.sequence import mp4_bytes, webp_bytes

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "stimuli" / "examples" / "neural_faces.toml"
#: base_seed values of four adult base faces picked from a contact sheet of seeds 0..23
BASES = (3, 21, 13, 14)


def first_main_rows(config: StimulusSetConfig):
    return next(d for d in iter_datasets(config) if d.role == "main").rows


def captioned(image: Image.Image, text: str) -> Image.Image:
    sheet = Image.new("RGB", (image.width, image.height + 26), (255, 255, 255))
    ImageDraw.Draw(sheet).text((8, 5), text, (20, 20, 20), ImageFont.load_default(size=15))
    sheet.paste(image, (0, 26))
    return sheet


def _mapping_text(encoding: GanFace, rows, params) -> str:
    return ", ".join(
        f"{c} -> {n}"
        for c, n in zip(rows.columns, encoding.mapped(rows, params).names, strict=True)
    )


def seed_faithful(encoding: GanFace, config: StimulusSetConfig) -> None:
    params = encoding.params(config.encoding_params["gan_face"] | {"size_px": 192})
    rows = first_main_rows(config)
    draws = encoding.draw(rows, params, rng=np.random.default_rng(0))
    faces = encoding.render(rows, params, draws)
    y = rows.column(rows.target)
    unsorted = display_order(rows.n_items, "random", y=y, rng=np.random.default_rng(1))
    ordered = display_order(rows.n_items, "sorted_y", y=y, rng=np.random.default_rng(1))
    mapping = _mapping_text(encoding, rows, params)
    for name, order in (("unsorted", unsorted), ("sorted", ordered)):
        grid = tile([faces[i] for i in order], columns=6)
        captioned(grid, f"{name} by y; {mapping}").save(HERE / f"seed-faithful-grid-{name}.png")
        frames = [faces[i] for i in order]
        (HERE / f"seed-faithful-sequence-{name}.webp").write_bytes(webp_bytes(frames, 700))
        (HERE / f"seed-faithful-sequence-{name}.mp4").write_bytes(mp4_bytes(frames, 700))


def seed_faithful_bases(encoding: GanFace, config: StimulusSetConfig) -> None:
    rows = first_main_rows(config)
    y = rows.column(rows.target)
    ordered = display_order(rows.n_items, "sorted_y", y=y, rng=np.random.default_rng(1))
    bands = []
    for seed in BASES:
        options = config.encoding_params["gan_face"] | {"size_px": 128, "base_seed": seed}
        params = encoding.params(options)
        faces = encoding.render(rows, params, encoding.draw(rows, params, rng=None))
        caption = f"base_seed {seed}, sorted by y (smile rises left to right)"
        bands.append(captioned(tile([faces[i] for i in ordered], columns=12), caption))
    mapping = _mapping_text(encoding, rows, encoding.params(config.encoding_params["gan_face"]))
    captioned(tile(bands, columns=1), mapping).save(HERE / "seed-faithful-bases.png")


def projection(encoding: GanFace, config: StimulusSetConfig) -> None:
    rows = first_main_rows(config)
    bands = []
    for basis in ("pca", "random"):
        params = encoding.params(
            {"directions": "projection", "projection_basis": basis, "base_seed": 4, "size_px": 128}
        )
        faces = encoding.render(rows, params, encoding.draw(rows, params, rng=None))
        bands.append(
            captioned(tile(faces, columns=12), f"direct projection, {basis} basis, strength 1")
        )
    tile(bands, columns=1).save(HERE / "projection-pca-random.png")


def anti_faces(encoding: GanFace, config: StimulusSetConfig) -> None:
    generator = encoding.generator(encoding.params({}))
    latents = []
    for seed in (3, 7, 11):
        for anti in (False, True):
            params = encoding.params({"base_seed": seed, "anti_face": anti})
            latents.append(encoding.draw(None, params, rng=None))
    faces = to_display(generate_batched(generator, np.array(latents), size=160))
    caption = "base face | its anti-face (w reflected through the mean w), three bases"
    captioned(tile([Image.fromarray(f) for f in faces], columns=6), caption).save(
        HERE / "anti-face.png"
    )


def pca_strips(encoding: GanFace, config: StimulusSetConfig) -> None:
    generator = encoding.generator(encoding.params({}))
    directions = shipped_directions(generator)
    pcs = directions.select([n for n in directions.names if n.startswith("pc")][:8])
    base = sample_latents(generator, 1, rng=np.random.default_rng([0, 11]))[0]
    direction_strips(generator, pcs, base, face_px=112).save(HERE / "pca-strips.png")


#: the astronaut fit: steps in w, then in w+; Adam's starts come from this seed
PHOTO_FIT = {
    "steps": 200,
    "plus_steps": 100,
    "lr": 0.05,
    "layer_weight": 0.1,
    "starts": 16,
    "full_every": 10,
}
PHOTO_EDITS = (("smile", -2.0), ("smile", 2.0), ("age", -2.0), ("age", 2.0), ("gender", 2.0))


def photo(encoding: GanFace, config: StimulusSetConfig) -> None:
    import json

    import skimage.data
    import torch

    from stimuli.generators import load_generator
    from stimuli.generators.base import torch_threads
    from stimuli.photo import PhotoFitConfig, align_face, fit_photo, identity_distance

    picture = Image.fromarray(skimage.data.astronaut())
    target = align_face(picture, 256)
    port = load_generator("mobilestylegan_torch")
    with torch_threads(1):  # one thread: measured faster than two on the busy 2-core machine
        fit = fit_photo(port, target, PhotoFitConfig(**PHOTO_FIT), rng=np.random.default_rng(0))
    openvino = load_generator("mobilestylegan")
    named = shipped_directions(openvino)
    edits = [
        fit.latent + named.select([name]).offsets(np.array([[value]]))[0]
        for name, value in PHOTO_EDITS
    ]
    others = sample_latents(openvino, 8, rng=np.random.default_rng([0, 99]))
    faces = generate_batched(openvino, np.array([*edits, *others]), size=256)
    edited, random_faces = faces[: len(edits)], faces[len(edits) :]
    identity = [identity_distance(target, face[None]) for face in fit.faces]
    edit_identity = [identity_distance(target, face[None]) for face in edited]
    baseline = [identity_distance(target, face[None]) for face in random_faces]
    top = [picture.resize((256, 256), Image.Resampling.LANCZOS)]
    top += [Image.fromarray(f) for f in to_display(torch.cat([target, fit.faces]))]
    captions = [
        "astronaut (scikit-image)",
        "FFHQ-aligned crop (MediaPipe)",
        f"w: PSNR {fit.psnr:.1f} dB, dlib {identity[0]:.2f}",
        f"w+: PSNR {fit.psnr_plus:.1f} dB, dlib {identity[1]:.2f}",
        f"random faces: dlib {np.nanmedian(baseline):.2f} (median of 8)",
    ]
    top.append(Image.fromarray(to_display(random_faces[:1])[0]))
    bottom = [Image.fromarray(f) for f in to_display(edited)]
    bottom_captions = [
        f"w face, {name} {value:+g} SD: dlib {d:.2f}"
        for (name, value), d in zip(PHOTO_EDITS, edit_identity, strict=True)
    ]
    bands = [
        tile([captioned(i, c) for i, c in zip(row, texts, strict=True)], columns=len(row))
        for row, texts in ((top, captions), (bottom, bottom_captions))
    ]
    first = (
        f"photo -> base face: {PHOTO_FIT['steps']} Adam steps in w, then {PHOTO_FIT['plus_steps']}"
        f" in w+, through the 256 px draft corrected by the full face every "
        f"{PHOTO_FIT['full_every']} steps; {fit.seconds:.0f} s on 1 CPU thread"
    )
    second = (
        "PSNR and dlib distance from the aligned crop (< 0.6: 'same person' by dlib's rule) "
        "of the full 1024 px network's faces at 256 px"
    )
    captioned(captioned(tile(bands, columns=1), second), first).save(HERE / "photo-astronaut.png")
    np.save(HERE / "astronaut_latent.npy", fit.latent)
    figures = {
        "fit": PHOTO_FIT,
        "seconds": round(fit.seconds, 1),
        "seconds_per_step": round(fit.seconds / len(fit.losses), 3),
        "psnr_w_db": round(fit.psnr, 2),
        "psnr_w_plus_db": round(fit.psnr_plus, 2),
        "dlib_w": round(identity[0], 3),
        "dlib_w_plus": round(identity[1], 3),
        "dlib_random_faces": [round(d, 3) for d in baseline],
        "dlib_edits": {
            f"{n} {v:+g}": round(d, 3) for (n, v), d in zip(PHOTO_EDITS, edit_identity, strict=True)
        },
        "w_distance_from_mean": round(float(np.linalg.norm(fit.latent - openvino.mean_latent)), 2),
        "random_w_distance_from_mean": round(
            float(np.median(np.linalg.norm(others - openvino.mean_latent, axis=1))), 2
        ),
    }
    (HERE / "photo-astronaut.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


FIGURES = {
    "seed-faithful": seed_faithful,
    "seed-faithful-bases": seed_faithful_bases,
    "projection": projection,
    "anti-face": anti_faces,
    "pca-strips": pca_strips,
    "photo": photo,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES), default=sorted(FIGURES))
    args = parser.parse_args()
    encoding = GanFace()
    config = StimulusSetConfig.from_toml(EXAMPLE)
    for name in args.only:
        FIGURES[name](encoding, config)
        print("made", name)


if __name__ == "__main__":
    main()
