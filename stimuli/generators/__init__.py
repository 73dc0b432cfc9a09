"""Face generators: name -> backend module registry (``GENERATORS``).

Each backend is one module defining ``load(**options) -> FaceGenerator`` and
``unavailable_reason() -> str | None`` (missing weights or runtime, said with how to
install them); adding one is that module plus one line here. The registry key is what
the manifest's ``"generator": {"backend": ...}`` records. ``mobilestylegan`` (StyleGAN
quality, OpenVINO) is the default for studies, ``mobilestylegan_torch`` the same network
in torch (gradients, GPUs); ``dcgan64`` is the small, fast one for tests and previews.
"""

from __future__ import annotations

from types import ModuleType

from stimuli.generators import dcgan64, mobilestylegan, mobilestylegan_torch, torchscript
from stimuli.generators.base import (
    FaceGenerator,
    GeneratorError,
    generate_batched,
    manifest_entry,
    mean_latent,
    renders_concurrently,
    sample_latents,
    to_display,
)

#: backend name -> module with load(**options) and unavailable_reason()
GENERATORS: dict[str, ModuleType] = {
    "dcgan64": dcgan64,
    "mobilestylegan": mobilestylegan,
    "mobilestylegan_torch": mobilestylegan_torch,
    "torchscript": torchscript,
}
DEFAULT_BACKEND = "mobilestylegan"


def load_generator(backend: str, **options) -> FaceGenerator:
    """The loaded generator for ``backend`` (options: ``path``/``latent_dim`` for TorchScript)."""
    return backend_module(backend).load(**options)


def backend_module(backend: str) -> ModuleType:
    """The registered module for ``backend``, or an error listing the known ones."""
    try:
        return GENERATORS[backend]
    except KeyError:
        raise GeneratorError(
            f"unknown generator backend {backend!r}; choose one of {sorted(GENERATORS)}"
        ) from None


def unavailable_reason(backend: str) -> str | None:
    """Why ``backend`` cannot run on this machine (with how to fix it), or None."""
    return backend_module(backend).unavailable_reason()


__all__ = [
    "DEFAULT_BACKEND",
    "GENERATORS",
    "FaceGenerator",
    "GeneratorError",
    "generate_batched",
    "load_generator",
    "manifest_entry",
    "mean_latent",
    "renders_concurrently",
    "sample_latents",
    "to_display",
    "unavailable_reason",
]
