"""The default neural face: MobileStyleGAN (StyleGAN2-FFHQ distilled), run on OpenVINO.

The network ships as OpenVINO IR in the PyPI wheel ``random-face==2021.7.21.1``
(``random_face/data/``: mapping z 512 -> w 512, synthesis w -> 3x1024x1024 in [-1, 1],
channels RGB: the wheel's ``img_rgb2bgr`` flag only serves OpenCV's ``imwrite``).
Weights are distilled from NVIDIA's StyleGAN2-FFHQ (non-commercial licence): research
use only.

This generator's latent space is **w** (the mapping network's output), where StyleGAN's
directions are close to linear: ``sample_latents`` draws z ~ N(0, I), maps it and
truncates towards the mean w by ``psi`` (0.7 gives natural, varied, sharp faces), and
``generate`` runs only the synthesis network. ``features`` is w itself, so GANSpace PCA
is PCA of sampled w, as Härkönen et al. do for StyleGAN.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import torch

from stimuli.generators.base import GeneratorError
from stimuli.generators.openvino_ir import compile_ir, verify_files, wheel_folder

BACKEND = "mobilestylegan"
WHEEL_PACKAGE = "random_face"
INSTALL_HINT = (
    "pip install --no-deps random-face==2021.7.21.1 openvino==2026.4.1 "
    "(or run scripts/bootstrap.sh)"
)
#: sha256 of every IR file glyphlab reads from the wheel
PINNED_SHA256 = {
    "MappingNetwork.bin": "212dd716bdb556e18db603ea97300d4fa3c872b878c726b2402fea80820e7305",
    "MappingNetwork.xml": "73e2096cad6e696e4af47df2477e048ab4c42c0e0dec83c7c66604822689e55b",
    "SynthesisNetwork.bin": "c7da15fa22d508c82e1c30dd6b4cdf67fe3ccdddaf85b310ee764dbf0c289645",
    "SynthesisNetwork.xml": "7918fce515243954d3e06628cb39a23902d6b1d5d02932cc0c2faee7a2aeeedd",
}
LATENT_DIM = 512
IMAGE_SIZE = 1024
#: truncation towards the mean w; the mean is taken over MEAN_SAMPLES fixed z draws
DEFAULT_PSI = 0.7
MEAN_SAMPLES = 4096
MEAN_SEED = 20210721
#: named axes + GANSpace PCA in w, computed by ``glyphlab stimuli directions --method
#: labelled`` and shipped so a default install needs no labeller
SHIPPED_DIRECTIONS = (
    Path(__file__).resolve().parents[1] / "directions" / "shipped" / f"{BACKEND}.npz"
)


def ir_folder():
    """``random_face/data`` in the installed wheel (its code is never imported)."""
    return wheel_folder(WHEEL_PACKAGE, "data", INSTALL_HINT)


class MobileStyleGAN:
    """Mapping + synthesis compiled once; deterministic; latents are (truncated) w."""

    backend = BACKEND
    latent_dim = LATENT_DIM
    image_size = IMAGE_SIZE
    shipped_directions_path = SHIPPED_DIRECTIONS
    #: the differentiable twin photo encoding descends through (same weights and w)
    gradient_backend = "mobilestylegan_torch"

    def __init__(self, *, psi: float = DEFAULT_PSI, threads: int | None = None) -> None:
        folder = ir_folder()
        self.weights_sha256 = verify_files(folder, PINNED_SHA256, INSTALL_HINT)
        self._threads = threads or torch.get_num_threads()
        self._draft = None
        self._load(folder, self._threads)
        self.psi = psi
        z = np.random.default_rng(MEAN_SEED).standard_normal((MEAN_SAMPLES, LATENT_DIM))
        #: the mean face's w (anti-faces reflect through it; truncation pulls towards it)
        self.mean_latent = self.map(z).mean(axis=0)

    def _load(self, folder: Path, threads: int) -> None:
        self._mapping = compile_ir(folder / "MappingNetwork.xml", threads=threads)
        self._synthesis = compile_ir(folder / "SynthesisNetwork.xml", threads=threads)

    def map(self, z: np.ndarray) -> np.ndarray:
        """w for z (N, 512), untruncated, float64."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        return np.asarray(self._mapping(z)[0], dtype=np.float64)

    def sample_latents(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """``n`` base faces: w of z ~ N(0, I), truncated towards the mean by ``psi``."""
        w = self.map(rng.standard_normal((n, LATENT_DIM)))
        return self.mean_latent + self.psi * (w - self.mean_latent)

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, 1024, 1024) in about [-1, 1] (not differentiable: see the torch port)."""
        w = np.ascontiguousarray(latents.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(np.asarray(self._synthesis(w)[0]))

    def features(self, latents: torch.Tensor) -> torch.Tensor:
        """w itself: GANSpace's PCA for StyleGAN is taken in w."""
        return latents

    def draft(self, latents: torch.Tensor) -> torch.Tensor:
        """Fast draft faces (N, 3, 256, 256) for previews (``mobilestylegan_draft``): the
        same w and directions, 2.6x less work, about 26 dB PSNR from ``generate``."""
        if self._draft is None:
            from stimuli.generators.mobilestylegan_draft import DraftSynthesis

            self._draft = DraftSynthesis.load(self, threads=self._threads)
        return self._draft.generate(latents)


def unavailable_reason() -> str | None:
    """Why MobileStyleGAN cannot run here (wheel or OpenVINO missing), or None.

    Only presence is checked (cheap, for the site's list of encodings); the sha256 of
    every file is checked when the network loads.
    """
    try:
        folder = ir_folder()
    except GeneratorError as error:
        return str(error)
    missing = [name for name in PINNED_SHA256 if not (folder / name).is_file()]
    if missing:
        return f"{folder} lacks {missing}; reinstall: {INSTALL_HINT}"
    if importlib.util.find_spec("openvino") is None:
        return f"OpenVINO is not installed; run: {INSTALL_HINT}"
    return None


def load() -> MobileStyleGAN:
    """Registry entry point (``GENERATORS["mobilestylegan"]``)."""
    return default_mobilestylegan()


@cache
def default_mobilestylegan() -> MobileStyleGAN:
    """One shared compiled copy (verifying 40 MB and compiling takes ~1 s)."""
    try:
        return MobileStyleGAN()
    except RuntimeError as error:  # OpenVINO read/compile failure on a damaged file
        raise GeneratorError(
            f"OpenVINO could not load MobileStyleGAN: {str(error).splitlines()[0]}; "
            f"reinstall: {INSTALL_HINT}"
        ) from None
