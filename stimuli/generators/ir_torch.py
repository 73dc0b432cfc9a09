"""Run an OpenVINO IR graph in torch: the same network, differentiable and GPU-ready.

The IR's constants become torch tensors under their own names (``m.layers.6.to_img.conv
.weight``, ...), and the graph's operations, in topological order, become the matching
torch calls. MobileStyleGAN's two graphs use 21 operation types, all listed in
``OPS``; a graph using another one is refused when it loads, naming the operation.
This is what photo encoding differentiates through, and what runs on a GPU.

Two things OpenVINO's compiled graph cannot do: ``forward(x, until=NAME)`` stops at an
inner operation (the draft's level-4 tap), and a 3-D input ``(N, layers, D)`` feeds
each MatMul that reads the graph's input its own row (StyleGAN's w+: ``layers`` is
``input_layers``, one per style affine, in the graph's topological order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stimuli.generators.base import GeneratorError


def _pads(x: torch.Tensor, begin, end) -> tuple[torch.Tensor, int | tuple]:
    """Symmetric pads go to the conv; asymmetric ones are applied first."""
    if list(begin) == list(end):
        return x, tuple(begin)
    return F.pad(x, (begin[1], end[1], begin[0], end[0])), 0


def _convolution(a, x, w):
    x, padding = _pads(x, a["pads_begin"], a["pads_end"])
    return F.conv2d(x, w, stride=a["strides"], padding=padding, dilation=a["dilations"])


def _group_convolution(a, x, w):
    groups = w.shape[0]
    x, padding = _pads(x, a["pads_begin"], a["pads_end"])
    weight = w.reshape(groups * w.shape[1], *w.shape[2:])
    return F.conv2d(
        x, weight, stride=a["strides"], padding=padding, dilation=a["dilations"], groups=groups
    )


def _group_deconvolution(a, x, w, *_output_shape):
    groups, per_in, per_out = w.shape[:3]
    weight = w.reshape(groups * per_in, per_out, *w.shape[3:])
    if list(a["pads_begin"]) != list(a["pads_end"]):
        raise GeneratorError("asymmetric transposed-convolution padding is not supported")
    return F.conv_transpose2d(
        x,
        weight,
        stride=a["strides"],
        padding=tuple(a["pads_begin"]),
        output_padding=tuple(a["output_padding"]),
        groups=groups,
        dilation=a["dilations"],
    )


def _reshape(a, x, shape):
    target = [int(s) for s in shape.tolist()]
    if a["special_zero"]:
        target = [x.shape[i] if s == 0 else s for i, s in enumerate(target)]
    return x.reshape(target)


def _gather(a, data, indices, axis):
    index = indices.long()
    picked = torch.index_select(data, int(axis), index.reshape(-1))
    return picked.reshape((*data.shape[: int(axis)], *index.shape, *data.shape[int(axis) + 1 :]))


def _unsqueeze(a, x, axes):
    for axis in sorted(int(v) % (x.ndim + axes.numel()) for v in axes.reshape(-1).tolist()):
        x = x.unsqueeze(axis)
    return x


def _squeeze(a, x, axes=None):
    if axes is None:
        return x.squeeze()
    for axis in sorted((int(v) % x.ndim for v in axes.reshape(-1).tolist()), reverse=True):
        x = x.squeeze(axis)
    return x


def _split(a, x, axis, lengths):
    sizes = [int(v) for v in lengths.tolist()]
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[int(axis)] - (sum(sizes) + 1)
    return torch.split(x, sizes, dim=int(axis))


def _broadcast(a, x, shape, *_axes):
    target = torch.broadcast_shapes(x.shape, tuple(int(s) for s in shape.tolist()))
    return x.expand(target)


def _tile(a, x, repeats):
    reps = [int(r) for r in repeats.tolist()]
    x = x.reshape((1,) * (len(reps) - x.ndim) + tuple(x.shape))
    return x.repeat(*reps)


def _matmul(a, x, y):
    if a["transpose_a"]:
        x = x.transpose(-1, -2)
    if a["transpose_b"]:
        y = y.transpose(-1, -2)
    return x @ y


def _reduce_mean(a, x, axes):
    return x.mean(dim=[int(v) for v in axes.reshape(-1).tolist()], keepdim=a["keep_dims"])


def _prelu(a, x, slope):
    return torch.where(x >= 0, x, x * _channel_slope(slope, x))


def _channel_slope(slope: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if slope.numel() == 1 or x.ndim < 2:
        return slope.reshape(-1)[0] if slope.numel() == 1 else slope
    return slope.reshape(1, -1, *([1] * (x.ndim - 2)))


def _concat(a, *parts):
    return torch.cat(parts, dim=a["axis"])


#: IR operation type -> (attributes, *input tensors) -> output tensor(s)
OPS: dict[str, Callable[..., Any]] = {
    "Add": lambda a, x, y: x + y,
    "Multiply": lambda a, x, y: x * y,
    "Subtract": lambda a, x, y: x - y,
    "Divide": lambda a, x, y: x / y,
    "Power": lambda a, x, y: torch.pow(x, y),
    "MatMul": _matmul,
    "ReduceMean": _reduce_mean,
    "PRelu": _prelu,
    "ShapeOf": lambda a, x: torch.tensor(x.shape, dtype=torch.int64),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Reshape": _reshape,
    "Broadcast": _broadcast,
    "Tile": _tile,
    "VariadicSplit": _split,
    "Convolution": _convolution,
    "GroupConvolution": _group_convolution,
    "GroupConvolutionBackpropData": _group_deconvolution,
}


def _export_order(name: str) -> int:
    """The number in an exported node's name (``Gemm_52/WithoutBiases`` -> 52), else 0."""
    digits = re.search(r"_(\d+)", name)
    return int(digits.group(1)) if digits else 0


class IRModule(nn.Module):
    """One IR graph as a torch module; ``constants`` keep the IR's names."""

    def __init__(self, xml: Path) -> None:
        super().__init__()
        import openvino as ov

        model = ov.Core().read_model(str(xml), str(Path(xml).with_suffix(".bin")))
        index: dict[str, int] = {}
        self.steps: list[tuple[str, dict, list[tuple[int, int]]]] = []
        #: integer constants (shapes, axes) stay on the CPU; float ones are buffers
        self.shape_constants: dict[str, torch.Tensor] = {}
        self._buffer_of: dict[str, str] = {}
        self._const_of_step: dict[int, str] = {}
        #: friendly name -> step; the Parameter's step; MatMul readers of it -> layer
        self.step_of: dict[str, int] = {}
        self._parameter_step = -1
        self._layer_of_step: dict[int, int] = {}
        readers: list[tuple[int, int]] = []
        for op in model.get_ordered_ops():
            kind, name = op.get_type_name(), op.get_friendly_name()
            inputs = []
            for port in op.inputs():
                source = port.get_source_output()
                inputs.append((index[source.get_node().get_friendly_name()], source.get_index()))
            if kind == "Constant":
                self._add_constant(name, np.array(op.get_data()))
                self._const_of_step[len(self.steps)] = name
            elif kind not in ("Parameter", "Result") and kind not in OPS:
                raise GeneratorError(f"{xml.name}: IR operation {kind} ({name}) has no torch port")
            elif kind == "Parameter":
                self._parameter_step = len(self.steps)
            if kind == "MatMul" and any(ref[0] == self._parameter_step for ref in inputs):
                readers.append((_export_order(name), len(self.steps)))
            index[name] = self.step_of[name] = len(self.steps)
            self.steps.append((kind, op.get_attributes(), inputs))
        # OpenVINO schedules every style affine first; the exporter's node numbers
        # (``Gemm_11`` ... ``Gemm_743``) keep the network's own order, coarse to fine
        self._layer_of_step = {step: layer for layer, (_, step) in enumerate(sorted(readers))}

    @property
    def input_layers(self) -> int:
        """How many rows a 3-D (w+) input has: the MatMuls that read the input."""
        return len(self._layer_of_step)

    def layers_read_by(self, name: str) -> list[int]:
        """The input rows (layers) operation ``name`` depends on."""
        needed, stack = set(), [self.step_of[name]]
        while stack:
            step = stack.pop()
            if step not in needed:
                needed.add(step)
                stack.extend(ref[0] for ref in self.steps[step][2])
        return sorted(layer for step, layer in self._layer_of_step.items() if step in needed)

    def _add_constant(self, name: str, data: np.ndarray) -> None:
        if data.dtype.kind == "f":
            buffer = f"c{len(self._buffer_of)}"
            self.register_buffer(
                buffer, torch.from_numpy(data.astype(np.float32)), persistent=False
            )
            self._buffer_of[name] = buffer
        else:
            self.shape_constants[name] = torch.from_numpy(data.astype(np.int64))

    def constant_names(self) -> list[str]:
        """Every constant's IR name (weights first appear as e.g. ``m.conv1.bias``)."""
        return [*self._buffer_of, *self.shape_constants]

    def constant(self, name: str) -> torch.Tensor:
        """The IR constant ``name`` (float ones live on the module's device)."""
        if name in self._buffer_of:
            return getattr(self, self._buffer_of[name])
        return self.shape_constants[name]

    def forward(self, x: torch.Tensor, *, until: str | None = None) -> torch.Tensor:
        """The graph's output for ``x`` (N, D) or, per layer, (N, ``input_layers``, D);
        with ``until``, that operation's first output (nothing after it runs)."""
        if until is not None and until not in self.step_of:
            raise GeneratorError(f"the graph has no operation {until!r} to stop at")
        if x.ndim == 3 and x.shape[1] != self.input_layers:
            raise GeneratorError(
                f"per-layer input must be (N, {self.input_layers}, D); got {tuple(x.shape)}"
            )
        stop = self.step_of[until] if until is not None else len(self.steps)
        values: dict[tuple[int, int], torch.Tensor] = {}
        result = None
        for step, (kind, attrs, inputs) in enumerate(self.steps[: stop + 1]):
            args = [values[ref] for ref in inputs]
            if x.ndim == 3 and step in self._layer_of_step:
                row = x[:, self._layer_of_step[step]]
                args = [
                    row if ref[0] == self._parameter_step else a
                    for ref, a in zip(inputs, args, strict=True)
                ]
            if kind == "Parameter":
                out: Any = x if x.ndim == 2 else x[:, 0]
            elif kind == "Constant":
                out = self.constant(self._const_of_step[step])
            elif kind == "Result":
                result = args[0]
                continue
            else:
                out = OPS[kind](attrs, *args)
            for port, tensor in enumerate(out if isinstance(out, (tuple, list)) else [out]):
                values[(step, port)] = tensor
        return values[(stop, 0)] if until is not None else result
