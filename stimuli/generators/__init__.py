"""Face generators: name -> loader registry (``GENERATORS``).

Each backend is one module with a loader returning a :class:`FaceGenerator`; adding one
is that module plus one line here. The registry key is what the manifest's
``"generator": {"backend": ...}`` records.
"""

from __future__ import annotations

from collections.abc import Callable

from stimuli.generators.base import (
    FaceGenerator,
    GeneratorError,
    generate_batched,
    manifest_entry,
    to_display,
)
from stimuli.generators.dcgan64 import default_dcgan64
from stimuli.generators.torchscript import load_torchscript

#: backend name -> loader(**options) -> FaceGenerator
GENERATORS: dict[str, Callable[..., FaceGenerator]] = {
    "dcgan64": default_dcgan64,
    "torchscript": load_torchscript,
}


def load_generator(backend: str, **options) -> FaceGenerator:
    """The loaded generator for ``backend`` (options: ``path``/``latent_dim`` for TorchScript)."""
    try:
        loader = GENERATORS[backend]
    except KeyError:
        raise GeneratorError(
            f"unknown generator backend {backend!r}; choose one of {sorted(GENERATORS)}"
        ) from None
    return loader(**options)


__all__ = [
    "GENERATORS",
    "FaceGenerator",
    "GeneratorError",
    "generate_batched",
    "load_generator",
    "manifest_entry",
    "to_display",
]
