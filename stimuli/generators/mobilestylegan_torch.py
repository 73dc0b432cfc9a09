"""MobileStyleGAN in torch: the same IR files, run op by op (``ir_torch``).

Same weights (sha256-checked), same latent space (truncated w), same shipped
directions as the OpenVINO backend, and the same images within 1e-3 (measured 4e-5 max
abs; tests/stimuli and benchmarks/bench_faces.py check it). It is differentiable, so
photo encoding descends through it, and it runs wherever torch runs (``device="cuda"``).
On CPU it is about 3x slower than OpenVINO, which stays the default for stimulus sets.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch

from stimuli.generators import mobilestylegan
from stimuli.generators.ir_torch import IRModule
from stimuli.generators.mobilestylegan import MobileStyleGAN

BACKEND = "mobilestylegan_torch"


class TorchMobileStyleGAN(MobileStyleGAN):
    """The torch port; ``mapping`` and ``synthesis`` are modules with IR-named constants."""

    backend = BACKEND

    def __init__(self, *, device: str = "cpu", psi: float = mobilestylegan.DEFAULT_PSI) -> None:
        self.device = device
        super().__init__(psi=psi)

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
        """Images (N, 3, 1024, 1024); differentiable in ``latents``."""
        return self.synthesis(latents.to(self.device, torch.float32))


unavailable_reason = mobilestylegan.unavailable_reason


def load(device: str = "cpu") -> TorchMobileStyleGAN:
    """Registry entry point (``GENERATORS["mobilestylegan_torch"]``)."""
    return default_torch_mobilestylegan(device)


@cache
def default_torch_mobilestylegan(device: str = "cpu") -> TorchMobileStyleGAN:
    return TorchMobileStyleGAN(device=device)
