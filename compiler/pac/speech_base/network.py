"""The speech embedding network rebuilt from its ONNX graph as a plain list of NHWC operations with numpy
weights (see :mod:`pac.speech_base` for the operations and the mapping), and its 8-bit weight version."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PacError
from ..features.speech import N_BANDS, NETWORK_STRIDE, WINDOW_FRAMES
from .fetch import NETWORK_FILE, SPEECH_BASE_NAME, read_speech_file

#: The network's input window (frames x bands) and stride in time are the front end's contract.
INPUT_FRAMES, INPUT_BANDS, TIME_STRIDE = WINDOW_FRAMES, N_BANDS, NETWORK_STRIDE
EMBEDDING_SIZE = 96
INPUT_SHAPE = (INPUT_FRAMES, INPUT_BANDS, 1)
#: 8-bit weights: every convolution kernel but the first is quantised per output channel (its
#: last, HWIO axis).  Measured on 200 windows of real clips: the embeddings move by a relative
#: 1.4e-2 (L2) per channel, 3.3e-2 per tensor (for 2 x 4 bytes per channel).  The first
#: convolution (216 weights) sees the raw, all-positive log-mel, so its rounding errors add up
#: with the input level: quantised, it alone moved the embeddings by 3.4e-2; it stays float32.
QUANT_LEVELS = 255


@dataclass(frozen=True)
class SpeechNetwork:
    """The speech embedding network as NHWC operations (see the module docstring).

    Attributes
    ----------
    directory : Path
        Where ``embedding_model.onnx`` was read.
    ops : tuple
        ``((kind, params), ...)`` in order; every array is float32 and read-only.  A quantised
        network's convolutions also hold ``params["quantization"]``: ``{"q": uint8 HWIO,
        "min": float32 [O], "scale": float32 [O]}``, and their ``kernel`` is its dequantisation.
    sha256 : str
        sha256 of ``embedding_model.onnx``.
    weights : str
        ``"float32"``, or ``"uint8"`` for :meth:`quantized`.
    """

    directory: Path
    ops: tuple
    sha256: str
    weights: str = "float32"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def quantized(self) -> SpeechNetwork:
        """A copy whose convolution kernels (but the first) are 8-bit per output channel, dequantised.

        ``q = round((w - min) / scale)`` with ``min``, ``scale = (max - min) / 255`` per output
        channel (float32), and ``w' = min + q * scale`` evaluated in float32, one rounding per
        operation -- the arithmetic ``js/speech_net.js`` repeats, so both compute with identical
        weights.  The first convolution's kernel (see :data:`QUANT_LEVELS`), the biases and the
        batch-normalisation affine stay float32.  Deterministic.
        """
        if self.weights == "uint8":
            return self
        if "quantized" not in self._cache:
            ops = []
            first = True
            for kind, params in self.ops:
                if kind == "conv" and first:
                    first = False
                elif kind == "conv":
                    q, minimum, scale = quantize_kernel(params["kernel"])
                    params = {
                        **params,
                        "kernel": frozen(dequantize_kernel(q, minimum, scale)),
                        "quantization": {"q": frozen(q), "min": frozen(minimum), "scale": frozen(scale)},
                    }
                ops.append((kind, params))
            self._cache["quantized"] = SpeechNetwork(self.directory, tuple(ops), self.sha256, "uint8")
        return self._cache["quantized"]

    def parameter_count(self) -> int:
        """Number of weights (kernels, biases, affine parameters)."""
        return sum(
            int(v.size)
            for _, p in self.ops
            for k, v in p.items()
            if isinstance(v, np.ndarray) and k in ("kernel", "bias", "scale", "shift")
        )


def quantize_kernel(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-bit affine quantisation of an HWIO kernel per output channel.

    Returns
    -------
    q : uint8 ndarray
        Same shape as ``kernel``.
    minimum, scale : float32 ndarray
        One per output channel (the last axis); ``scale`` is 0 for a constant channel.
    """
    w = np.asarray(kernel, dtype=np.float32).reshape(-1, kernel.shape[-1]).astype(np.float64)
    minimum = w.min(axis=0).astype(np.float32)
    scale = ((w.max(axis=0) - minimum.astype(np.float64)) / QUANT_LEVELS).astype(np.float32)
    safe = np.where(scale > 0, scale, 1).astype(np.float64)
    q = np.rint((w - minimum.astype(np.float64)) / safe)
    q = np.where(scale > 0, np.clip(q, 0, QUANT_LEVELS), 0).astype(np.uint8)
    return q.reshape(kernel.shape), minimum, scale


def dequantize_kernel(q: np.ndarray, minimum: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``min + q * scale`` per output channel (last axis), in float32 with one rounding per operation."""
    product = np.multiply(q.astype(np.float32), scale.astype(np.float32), dtype=np.float32)
    return np.add(minimum.astype(np.float32), product, dtype=np.float32)


def frozen(array) -> np.ndarray:
    """A read-only copy of ``array``."""
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


def read_speech_network(directory: str | os.PathLike) -> SpeechNetwork:
    """Verify ``embedding_model.onnx`` in ``directory`` and rebuild its network.

    Raises
    ------
    PacError
        If the file's sha256 is wrong, or it is not the speech_embedding network.
    """
    directory = Path(directory)
    data = read_speech_file(directory, NETWORK_FILE)
    ops = parse_onnx(data, path=directory / NETWORK_FILE)
    return SpeechNetwork(directory=directory, ops=ops, sha256=hashlib.sha256(data).hexdigest())


def parse_onnx(data: bytes, *, path: str | os.PathLike = NETWORK_FILE) -> tuple:
    """The NHWC operations of an ONNX speech_embedding graph (any content: no sha256 check).

    Only the expected plain chain is accepted: ``Pad``, ``Reshape`` (NHWC -> NCHW of one channel),
    then ``Conv``, ``Relu``, ``BatchNormalization``, ``LeakyRelu``, ``Max`` (with a constant),
    ``MaxPool``, ending in a ``Reshape`` of the 1x1x96 output.

    Raises
    ------
    PacError
        ``not the speech_embedding network (...)``, naming ``path``.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise PacError("the Python package onnx is missing; run ./setup.sh") from None
    try:
        model = onnx.load_model_from_string(data)
        graph = model.graph
        inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    except Exception as exc:  # protobuf's DecodeError and friends: any failure means "not this file"
        raise PacError(f"not the {SPEECH_BASE_NAME} network (not a readable ONNX file: {exc})", path=path) from None
    return _Parser(graph, inits, path, onnx).run()


class _Parser:
    """Walk the ONNX chain, checking every node, tracking the NCHW shape ``(C, H, W)``."""

    def __init__(self, graph, inits, path, onnx):
        self.graph, self.inits, self.path, self.onnx = graph, inits, path, onnx

    def fail(self, why: str):
        raise PacError(f"not the {SPEECH_BASE_NAME} network ({why})", path=self.path)

    def attrs(self, node, allowed: dict) -> dict:
        """The node's attributes, refusing any not in ``allowed`` (name -> default)."""
        values = dict(allowed)
        for a in node.attribute:
            if a.name not in allowed:
                self.fail(f"{node.op_type} {node.name!r} has unexpected attribute {a.name}")
            value = self.onnx.helper.get_attribute_value(a)
            values[a.name] = value.decode() if isinstance(value, bytes) else value
        return values

    def const(self, name: str, node, *, dtype=np.float32) -> np.ndarray:
        if name not in self.inits:
            self.fail(f"{node.op_type} {node.name!r}: input {name!r} is not a constant")
        value = self.inits[name]
        if value.dtype != dtype:
            self.fail(f"{node.op_type} {node.name!r}: constant {name!r} is {value.dtype}, not {np.dtype(dtype)}")
        return value

    def run(self) -> tuple:
        g = self.graph
        if len(g.input) - sum(i.name in self.inits for i in g.input) != 1 or len(g.output) != 1:
            self.fail("expected one input and one output")
        data_input = next(i for i in g.input if i.name not in self.inits)
        dims = [d.dim_value if d.HasField("dim_value") else None for d in data_input.type.tensor_type.shape.dim]
        if data_input.type.tensor_type.elem_type != 1 or dims[1:] != list(INPUT_SHAPE):
            self.fail(f"input is not float32 [n, {INPUT_FRAMES}, {INPUT_BANDS}, 1]")
        nodes = list(g.node)
        if len(nodes) < 4 or [n.op_type for n in nodes[:2]] != ["Pad", "Reshape"] or nodes[-1].op_type != "Reshape":
            self.fail("expected Pad, Reshape, ..., Reshape")
        for node in nodes:
            if len(node.output) != 1 or not node.input:
                self.fail(f"{node.op_type} {node.name!r} is not a link of a chain")
            if node.domain not in ("", "ai.onnx"):
                self.fail(f"{node.op_type} {node.name!r} is from domain {node.domain}")
        ops: list = []
        # Pad on NHWC: pads = [begin of n, h, w, c, end of n, h, w, c].
        pad, reshape = nodes[0], nodes[1]
        if pad.input[0] != data_input.name or self.attrs(pad, {"mode": "constant"})["mode"] != "constant":
            self.fail("the graph does not start with a constant Pad of the input")
        pads = self.const(pad.input[1], pad, dtype=np.int64).tolist() if len(pad.input) > 1 else None
        if len(pad.input) > 2 and pad.input[2] and float(self.const(pad.input[2], pad).reshape(-1)[0]) != 0.0:
            self.fail("Pad value is not 0")
        if pads is None or len(pads) != 8 or pads[0] or pads[3] or pads[4] or pads[7] or min(pads) < 0:
            self.fail(f"Pad pads {pads} do not pad rows and columns only")
        padding = [[pads[1], pads[5]], [pads[2], pads[6]]]
        height, width = INPUT_FRAMES + pads[1] + pads[5], INPUT_BANDS + pads[2] + pads[6]
        self.attrs(reshape, {"allowzero": 0})
        if reshape.input[0] != pad.output[0]:
            self.fail("the Reshape does not follow the Pad")
        target = self.const(reshape.input[1], reshape, dtype=np.int64).tolist()
        if target != [-1, 1, height, width]:  # with 1 channel, NHWC -> NCHW by reshape is a transposition
            self.fail(f"the first Reshape goes to {target}, not [-1, 1, {height}, {width}]")
        # The zero Pad joins the first Conv's padding, so in NHWC the chain starts from the input.
        shape = (1, INPUT_FRAMES, INPUT_BANDS)  # (C, H, W)
        current = reshape.output[0]
        pending_pad = padding
        for node in nodes[2:-1]:
            kind = node.op_type
            inputs = list(node.input)
            if kind == "Max":
                if len(inputs) != 2 or current not in inputs:
                    self.fail(f"Max {node.name!r} does not continue the chain")
                other = inputs[1 - inputs.index(current)]
            elif inputs[0] != current:
                self.fail(f"{kind} {node.name!r} does not continue the chain")
            if pending_pad is not None and kind != "Conv":
                self.fail("the Pad is not followed by a Conv")
            if kind == "Conv":
                op, shape = self.conv(node, shape, pending_pad)
                pending_pad = None
            elif kind == "Relu":
                self.attrs(node, {})
                op = ("relu", {})
            elif kind == "LeakyRelu":
                a = self.attrs(node, {"alpha": 0.01})
                op = ("leaky_relu", {"alpha": float(np.float32(a["alpha"]))})
            elif kind == "Max":
                self.attrs(node, {})
                value = self.const(other, node)
                if value.size != 1:
                    self.fail(f"Max {node.name!r} is not with a single constant")
                op = ("maximum", {"value": float(value.reshape(-1)[0])})
            elif kind == "BatchNormalization":
                op = self.batch_norm(node, shape)
            elif kind == "MaxPool":
                op, shape = self.max_pool(node, shape)
            else:
                self.fail(f"unexpected {kind} {node.name!r}")
            ops.append(op)
            current = node.output[0]
        final = nodes[-1]
        self.attrs(final, {"allowzero": 0})
        if final.input[0] != current or shape != (EMBEDDING_SIZE, 1, 1):
            self.fail(f"ends with shape {list(shape)} (CHW), not [{EMBEDDING_SIZE}, 1, 1]")
        if self.const(final.input[1], final, dtype=np.int64).tolist() != [-1, 1, 1, EMBEDDING_SIZE]:
            self.fail("the last Reshape is not to [-1, 1, 1, 96]")
        if final.output[0] != g.output[0].name:
            self.fail("the last Reshape is not the output")
        if not ops or ops[0][0] != "conv":
            self.fail("does not start with a convolution")
        return tuple(ops)

    def conv(self, node, shape, extra_pad):
        a = self.attrs(
            node,
            {
                "auto_pad": "NOTSET",
                "dilations": [1, 1],
                "group": 1,
                "kernel_shape": None,
                "pads": [0, 0, 0, 0],
                "strides": [1, 1],
            },
        )
        if len(node.input) not in (2, 3):
            self.fail(f"Conv {node.name!r} has {len(node.input)} inputs")
        weights = self.const(node.input[1], node)
        bias = self.const(node.input[2], node) if len(node.input) == 3 and node.input[2] else None
        if weights.ndim != 4 or weights.shape[1] != shape[0]:
            self.fail(f"Conv {node.name!r} weights {list(weights.shape)} do not fit {shape[0]} channels")
        out_c, _, kh, kw = weights.shape
        if (
            a["auto_pad"] != "NOTSET"
            or list(a["dilations"]) != [1, 1]
            or a["group"] != 1
            or (a["kernel_shape"] is not None and list(a["kernel_shape"]) != [kh, kw])
            or len(a["pads"]) != 4
            or len(a["strides"]) != 2
            or min(a["pads"]) < 0
            or min(a["strides"]) < 1
        ):
            self.fail(f"Conv {node.name!r} has unsupported attributes {a}")
        if bias is not None and bias.shape != (out_c,):
            self.fail(f"Conv {node.name!r} bias shape {list(bias.shape)}")
        top, left, bottom, right = (int(p) for p in a["pads"])  # ONNX: begins, then ends
        padding = [[top, bottom], [left, right]]
        if extra_pad is not None:
            padding = [
                [padding[0][0] + extra_pad[0][0], padding[0][1] + extra_pad[0][1]],
                [padding[1][0] + extra_pad[1][0], padding[1][1] + extra_pad[1][1]],
            ]
        strides = [int(s) for s in a["strides"]]
        height = (shape[1] + sum(padding[0]) - kh) // strides[0] + 1
        width = (shape[2] + sum(padding[1]) - kw) // strides[1] + 1
        if height < 1 or width < 1:
            self.fail(f"Conv {node.name!r} leaves nothing of a {shape[1]}x{shape[2]} input")
        params = {
            "kernel": frozen(np.transpose(weights, (2, 3, 1, 0)).astype(np.float32)),
            "bias": None if bias is None else frozen(bias.astype(np.float32)),
            "padding": padding,
            "strides": strides,
        }
        return ("conv", params), (int(out_c), height, width)

    def batch_norm(self, node, shape):
        a = self.attrs(node, {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0})
        if len(node.input) != 5 or len(node.output) != 1 or a["training_mode"]:
            self.fail(f"BatchNormalization {node.name!r} is not in inference form")
        gamma, beta, mean, var = (self.const(name, node).astype(np.float64) for name in node.input[1:])
        if any(v.shape != (shape[0],) for v in (gamma, beta, mean, var)) or (var + a["epsilon"] <= 0).any():
            self.fail(f"BatchNormalization {node.name!r} parameters do not fit {shape[0]} channels")
        scale = gamma / np.sqrt(var + float(a["epsilon"]))
        shift = beta - mean * scale
        return ("affine", {"scale": frozen(scale.astype(np.float32)), "shift": frozen(shift.astype(np.float32))})

    def max_pool(self, node, shape):
        a = self.attrs(
            node,
            {
                "auto_pad": "NOTSET",
                "ceil_mode": 0,
                "dilations": [1, 1],
                "kernel_shape": None,
                "pads": [0, 0, 0, 0],
                "storage_order": 0,
                "strides": None,
            },
        )
        size = a["kernel_shape"]
        strides = a["strides"] if a["strides"] is not None else [1, 1]
        if (
            size is None
            or len(size) != 2
            or len(strides) != 2
            or a["auto_pad"] != "NOTSET"
            or a["ceil_mode"]
            or list(a["dilations"]) != [1, 1]
            or any(a["pads"])
            or len(node.output) != 1
            or min(size) < 1
            or min(strides) < 1
        ):
            self.fail(f"MaxPool {node.name!r} has unsupported attributes {a}")
        size, strides = [int(s) for s in size], [int(s) for s in strides]
        height, width = (shape[1] - size[0]) // strides[0] + 1, (shape[2] - size[1]) // strides[1] + 1
        if height < 1 or width < 1:
            self.fail(f"MaxPool {node.name!r} leaves nothing of a {shape[1]}x{shape[2]} input")
        return ("max_pool", {"size": size, "strides": strides}), (shape[0], height, width)


def op_shapes(network: SpeechNetwork) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """``[(input HWC, output HWC), ...]`` of every operation for one window."""
    shape = INPUT_SHAPE
    out = []
    for kind, p in network.ops:
        h, w, c = shape
        if kind == "conv":
            kh, kw, _, o = p["kernel"].shape
            new = (
                (h + sum(p["padding"][0]) - kh) // p["strides"][0] + 1,
                (w + sum(p["padding"][1]) - kw) // p["strides"][1] + 1,
                o,
            )
        elif kind == "max_pool":
            new = ((h - p["size"][0]) // p["strides"][0] + 1, (w - p["size"][1]) // p["strides"][1] + 1, c)
        else:
            new = shape
        out.append((shape, new))
        shape = new
    return out
