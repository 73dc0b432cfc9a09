"""MobileStyleGAN in torch: the same IR files, run op by op (``ir_torch``).

Same weights (sha256-checked), same latent space (truncated w), same shipped
directions as the OpenVINO backend, and the same images within 1e-3 (measured 4e-5 max
abs; tests/stimuli and benchmarks/bench_faces.py check it). It is differentiable, so
photo encoding descends through it, and it runs wherever torch runs (``device="cuda"``).
On CPU it is about 3x slower than OpenVINO, which stays the default for stimulus sets.

Beyond OpenVINO's graph: ``generate`` also takes w+ (N, ``style_layers`` = 23, 512), one
w per style affine, coarse to fine; and ``draft`` is the differentiable twin of
``mobilestylegan_draft`` (the graph run only up to its level-4 tap, then the shipped
1x1 head): 256 px faces for a few tenths of a second forward and backward, reading
only the first ``draft_layers`` (16) rows of a w+.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stimuli.generators import mobilestylegan
from stimuli.generators.ir_torch import IRModule
from stimuli.generators.mobilestylegan import MobileStyleGAN
from stimuli.generators.mobilestylegan_draft import HEAD_PATH, TAP, load_head

BACKEND = "mobilestylegan_torch"


class TorchMobileStyleGAN(MobileStyleGAN):
    """The torch port; ``mapping`` and ``synthesis`` are modules with IR-named constants."""

    backend = BACKEND
    #: ``draft`` carries gradients (photo encoding descends through it)
    draft_differentiable = True

    def __init__(self, *, device: str = "cpu", psi: float = mobilestylegan.DEFAULT_PSI) -> None:
        self.device = device
        self._head: tuple[torch.Tensor, torch.Tensor] | None = None
        super().__init__(psi=psi)
        #: rows of a w+ latent, and the ones the draft reads
        self.style_layers = self.synthesis.input_layers
        self.draft_layers = len(self.synthesis.layers_read_by(TAP))

    def _load(self, folder: Path, threads: int) -> None:
        self.mapping = IRModule(folder / "MappingNetwork.xml").to(self.device).eval()
        self.synthesis = IRModule(folder / "SynthesisNetwork.xml").to(self.device).eval()
        for module in (self.mapping, self.synthesis):
            module.requires_grad_(False)

    def map(self, z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            w = self.mapping(torch.as_tensor(z, dtype=torch.float32, device=self.device))
        return w.double().cpu().numpy()

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, 1024, 1024) for w (N, 512) or w+ (N, 23, 512); differentiable."""
        return self.synthesis(latents.to(self.device, torch.float32))

    def draft(self, latents: torch.Tensor) -> torch.Tensor:
        """Draft faces (N, 3, 256, 256) for w or w+, differentiable; the OpenVINO draft's
        images within float error (same tap, same head)."""
        if self._head is None:
            with torch.inference_mode(False):  # usable by later calls that need gradients
                weight, bias = load_head(HEAD_PATH, self.weights_sha256)
            self._head = (weight.to(self.device), bias.to(self.device))
        features = self.synthesis(latents.to(self.device, torch.float32), until=TAP)
        return F.pixel_shuffle(F.conv2d(features, *self._head), 2)


unavailable_reason = mobilestylegan.unavailable_reason


def load(device: str = "cpu") -> TorchMobileStyleGAN:
    """Registry entry point (``GENERATORS["mobilestylegan_torch"]``)."""
    return default_torch_mobilestylegan(device)


@cache
def default_torch_mobilestylegan(device: str = "cpu") -> TorchMobileStyleGAN:
    return TorchMobileStyleGAN(device=device)
