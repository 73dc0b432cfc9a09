"""Find, verify and compile OpenVINO IR files shipped inside a registry wheel.

The MobileStyleGAN wheel (``random-face``) ships its networks as OpenVINO IR
(``.xml`` graph + ``.bin`` weights). Its own Python code is broken and pulls gdown and
jupyter, so glyphlab never imports it: ``find_spec`` locates the package folder without
running it, every file is checked against a pinned sha256 before OpenVINO reads it, and
the graphs are compiled with a dynamic batch dimension so one compiled network serves
every batch size. Inference runs in float32 everywhere (see :func:`compile_ir`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path

from stimuli.generators.base import GeneratorError
from stimuli.generators.dcgan64 import sha256_of


def wheel_folder(package: str, subfolder: str, install_hint: str) -> Path:
    """``<site-packages>/<package>/<subfolder>``, found without importing ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GeneratorError(f"the {package} weights wheel is not installed; run: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations))) / subfolder


def verify_files(folder: Path, pinned: Mapping[str, str], install_hint: str) -> str:
    """Check every pinned file's sha256; return one digest naming the whole set.

    The combined digest (sha256 over ``name digest`` lines, sorted) is what the manifest
    records, so a set says exactly which network files made its faces.
    """
    lines = []
    for name, expected in sorted(pinned.items()):
        path = folder / name
        if not path.is_file():
            raise GeneratorError(f"{path} is missing; reinstall the weights: {install_hint}")
        actual = sha256_of(path)
        if actual != expected:
            raise GeneratorError(
                f"{path} has sha256 {actual[:12]}..., not the pinned {expected[:12]}... "
                f"(tampered or a different release); reinstall the weights: {install_hint}"
            )
        lines.append(f"{name} {actual}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def compile_ir(xml: Path, *, threads: int, output: str | None = None):
    """The IR at ``xml`` (weights: same name, ``.bin``) compiled for CPU, batch dynamic.

    ``output``: the friendly name of an inner operation to stop at instead (its first
    output becomes the network's only output, and what comes after it is never run).
    """
    try:
        import openvino as ov
    except ImportError:
        raise GeneratorError(
            "the mobilestylegan generator runs on OpenVINO; install it: "
            "pip install openvino==2026.4.1"
        ) from None
    core = ov.Core()
    model = core.read_model(str(xml), str(xml.with_suffix(".bin")))
    if output is not None:
        inner = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
        if output not in inner:
            raise GeneratorError(f"{xml.name} has no operation {output!r} to stop at")
        model = ov.Model([inner[output].output(0)], model.get_parameters(), f"{xml.stem}-{output}")
    shape = list(model.inputs[0].get_partial_shape().to_shape())
    model.reshape([-1, *shape[1:]])
    # f32, not the bf16 OpenVINO picks on AMX CPUs: bf16 moves pixels by up to 0.13 (of
    # 2), so the same config would give different faces on different machines.
    config = {"INFERENCE_NUM_THREADS": max(1, threads), "INFERENCE_PRECISION_HINT": "f32"}
    return core.compile_model(model, "CPU", config)
