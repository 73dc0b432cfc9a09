"""Fast MobileStyleGAN drafts: the synthesis network stopped at 128 px, read out at 256 px.

The studio's live preview must show named axes (smile, age, ...) within a few seconds
on two cores. The full network spends most of its work on its last two levels (256
and 512 px with the 1024 px output: measured 0.48 CPU-s a face); stopping after level
4 (``TAP``: 256 channels at 128 x 128, the same w, the same directions) costs 0.19
CPU-s a face. The network's own ``to_img`` exists only at the last level, so the draft
reads level 4 out with a linear head fitted here: one 1x1 convolution from the 256
channels to the 2 x 2 block of RGB pixels each position covers (12 values, arranged by
``pixel_shuffle``), least squares against the full network's 256 px faces (1024 px, 4 x
4 box filter). On faces not used for fitting the draft is 26 dB PSNR from the full face
(``HEAD_PATH`` records the figures): slightly softer and less saturated, the same
person with the same expression. Drafts are for previews only; stimulus sets always
run the full network.

Refit (after a change of weights; the head records the weights' sha256 it was fitted
on and refuses others): ``python -m stimuli.generators.mobilestylegan_draft``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stimuli.generators.base import GeneratorError, batches, resize_images
from stimuli.generators.openvino_ir import compile_ir

#: the IR operation the draft stops at: level 4's output (after its activation)
TAP = "LeakyRelu_542"
TAP_CHANNELS = 256
DRAFT_SIZE = 256
HEAD_PATH = Path(__file__).with_name("mobilestylegan_draft_head.npz")
FIT_FACES = 96
HELD_OUT = 24
FIT_SEED = 20261201


class DraftSynthesis:
    """w (N, 512) -> draft faces (N, 3, 256, 256) in about [-1, 1]; deterministic."""

    def __init__(self, *, threads: int, head: tuple[torch.Tensor, torch.Tensor] | None) -> None:
        from stimuli.generators.mobilestylegan import ir_folder

        self._features = compile_ir(
            ir_folder() / "SynthesisNetwork.xml", threads=threads, output=TAP
        )
        self.weight, self.bias = head if head is not None else (None, None)

    @classmethod
    def load(cls, generator, *, threads: int, head_path: Path = HEAD_PATH) -> DraftSynthesis:
        """The draft for ``generator`` with the shipped head (checked against its weights)."""
        return cls(threads=threads, head=load_head(head_path, generator.weights_sha256))

    def features(self, w: np.ndarray) -> torch.Tensor:
        """Level 4's activations (N, 256, 128, 128) for w."""
        w = np.ascontiguousarray(w, dtype=np.float32)
        return torch.from_numpy(np.asarray(self._features(w)[0]))

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            blocks = F.conv2d(self.features(latents.detach().cpu().numpy()), self.weight, self.bias)
            return F.pixel_shuffle(blocks, 2)


def load_head(path: Path, weights_sha256: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The fitted head (weight (12, 256, 1, 1), bias (12,)), checked against the weights."""
    if not path.is_file():
        raise GeneratorError(
            f"{path} is missing; fit it: python -m stimuli.generators.mobilestylegan_draft"
        )
    with np.load(path) as head:
        if str(head["generator_sha256"]) != weights_sha256:
            raise GeneratorError(
                f"{path.name} was fitted on other MobileStyleGAN weights; refit it: "
                "python -m stimuli.generators.mobilestylegan_draft"
            )
        weight = torch.from_numpy(head["weight"].astype(np.float32))
        bias = torch.from_numpy(head["bias"].astype(np.float32))
    return weight.reshape(12, TAP_CHANNELS, 1, 1), bias


def _targets(generator, w: np.ndarray) -> torch.Tensor:
    """The full network's faces at 256 px as 2 x 2 blocks (N, 12, 128, 128)."""
    full = resize_images(generator.generate(torch.from_numpy(w)), DRAFT_SIZE)
    return F.pixel_unshuffle(full, 2)


def _design(features: torch.Tensor) -> torch.Tensor:
    flat = features.permute(0, 2, 3, 1).reshape(-1, TAP_CHANNELS).double()
    return torch.cat([flat, torch.ones(len(flat), 1, dtype=torch.float64)], dim=1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [-1, 1] (peak: the full range)."""
    mse = float(((a.clamp(-1, 1) - b.clamp(-1, 1)) / 2).pow(2).mean())
    return 10 * np.log10(1 / mse)


def fit_head(
    generator, *, n_faces: int = FIT_FACES, held_out: int = HELD_OUT, seed=FIT_SEED, threads=2
):
    """Least-squares head on ``n_faces - held_out`` faces; PSNR on the ``held_out`` others.

    Returns ``(weight (12, 256), bias (12,), psnr per held-out face)``.
    """
    draft = DraftSynthesis(threads=threads, head=None)
    w = generator.sample_latents(n_faces, rng=np.random.default_rng(seed)).astype(np.float32)
    gram = torch.zeros(TAP_CHANNELS + 1, TAP_CHANNELS + 1, dtype=torch.float64)
    cross = torch.zeros(TAP_CHANNELS + 1, 12, dtype=torch.float64)
    train = torch.from_numpy(w[: n_faces - held_out])
    for chunk in batches(train, 4):
        x = _design(draft.features(chunk.numpy()))
        y = _targets(generator, chunk.numpy()).permute(0, 2, 3, 1).reshape(-1, 12).double()
        gram += x.T @ x
        cross += x.T @ y
    solution = torch.linalg.solve(gram + 1e-3 * torch.eye(len(gram), dtype=torch.float64), cross)
    draft.weight = solution[:-1].T.float().reshape(12, TAP_CHANNELS, 1, 1).contiguous()
    draft.bias = solution[-1].float().contiguous()
    scores = []
    for chunk in batches(torch.from_numpy(w[n_faces - held_out :]), 4):
        full = F.pixel_shuffle(_targets(generator, chunk.numpy()), 2)
        scores += [psnr(a, b) for a, b in zip(draft.generate(chunk), full, strict=True)]
    return draft.weight.reshape(12, TAP_CHANNELS).numpy(), draft.bias.numpy(), scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit the MobileStyleGAN draft head.")
    parser.add_argument("--faces", type=int, default=FIT_FACES)
    parser.add_argument("--held-out", type=int, default=HELD_OUT)
    parser.add_argument("--out", type=Path, default=HEAD_PATH)
    args = parser.parse_args(argv)
    from stimuli.generators.mobilestylegan import default_mobilestylegan

    generator = default_mobilestylegan()
    weight, bias, scores = fit_head(generator, n_faces=args.faces, held_out=args.held_out)
    np.savez(
        args.out,
        weight=weight,
        bias=bias,
        generator_sha256=np.array(generator.weights_sha256),
        tap=np.array(TAP),
        fit_faces=np.array(args.faces - args.held_out),
        fit_seed=np.array(FIT_SEED),
        psnr_held_out=np.array(scores),
    )
    print(
        f"{args.out}: fitted on {args.faces - args.held_out} faces; draft vs full on "
        f"{len(scores)} others: PSNR mean {np.mean(scores):.2f} dB, min {np.min(scores):.2f} dB"
    )


if __name__ == "__main__":
    main()
