"""The speech network for the classifier page's ``js/speech_net.js``: one JSON graph and one weights blob
(8-bit kernels quantised per output channel), its notice, and the network read back from them
(``pac verify`` computes with exactly the weights the page runs)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import PacError
from .fetch import SPEECH_BASE_NAME
from .network import EMBEDDING_SIZE, INPUT_SHAPE, SpeechNetwork, dequantize_kernel, frozen, op_shapes

#: URL paths of the exported network inside the classifier page's asset folder.
GRAPH_FILE = "speech/graph.json"
WEIGHTS_FILE = "speech/weights.bin"
EXPORT_FORMAT = "pac-speech-net"
EXPORT_VERSION = 1


def export_network(network: SpeechNetwork) -> tuple[dict, bytes]:
    """The network for ``js/speech_net.js``: a JSON-able graph and ONE weights blob.

    Every tensor is ``{"dtype": "float32" | "uint8", "shape": [...], "offset": byte offset}`` into
    the blob (little-endian, each starting at a multiple of 4 bytes).  A quantised network's
    kernels are ``uint8`` with ``"quantization": {"axis": 3, "min": tensor, "scale": tensor}``
    (float32, one per output channel), which the page dequantises as ``min + q * scale`` in float32
    (:func:`dequantize_kernel`), reproducing this network's float32 kernels bit for bit.

    Returns
    -------
    graph : dict
        ``format``, ``format_version``, ``name``, ``sha256`` (of the ONNX file), ``weights``,
        ``input_shape``, ``output_shape``, ``weights_bytes``, ``weights_sha256`` and ``ops``:
        ``{"op", "input_shape", "output_shape", ...parameters}`` in order.
    blob : bytes
        The weights.  Same network -> byte-identical output.
    """
    blob = bytearray()

    def put(array: np.ndarray, dtype: str) -> dict:
        while len(blob) % 4:
            blob.append(0)
        ref = {"dtype": dtype, "shape": [int(s) for s in array.shape], "offset": len(blob)}
        blob.extend(np.ascontiguousarray(array, dtype="<f4" if dtype == "float32" else np.uint8).tobytes())
        return ref

    ops = []
    for (kind, p), (in_shape, out_shape) in zip(network.ops, op_shapes(network)):
        entry = {"op": kind, "input_shape": list(in_shape), "output_shape": list(out_shape)}
        if kind == "conv":
            quant = p.get("quantization")
            if quant is not None:
                kernel = put(quant["q"], "uint8")
                kernel["quantization"] = {
                    "axis": 3,
                    "min": put(quant["min"], "float32"),
                    "scale": put(quant["scale"], "float32"),
                }
            else:
                kernel = put(p["kernel"], "float32")
            entry.update(
                kernel=kernel,
                bias=None if p["bias"] is None else put(p["bias"], "float32"),
                padding=[list(map(int, r)) for r in p["padding"]],
                strides=list(map(int, p["strides"])),
            )
        elif kind == "affine":
            entry.update(scale=put(p["scale"], "float32"), shift=put(p["shift"], "float32"))
        elif kind == "leaky_relu":
            entry["alpha"] = float(p["alpha"])
        elif kind == "maximum":
            entry["value"] = float(p["value"])
        elif kind == "max_pool":
            entry.update(size=list(map(int, p["size"])), strides=list(map(int, p["strides"])))
        elif kind != "relu":
            raise PacError(f"speech network: cannot export operation {kind}")
        ops.append(entry)
    while len(blob) % 4:
        blob.append(0)
    data = bytes(blob)
    graph = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "name": SPEECH_BASE_NAME,
        "sha256": network.sha256,
        "weights": network.weights,
        "input_shape": list(INPUT_SHAPE),
        "output_shape": [EMBEDDING_SIZE],
        "weights_bytes": len(data),
        "weights_sha256": hashlib.sha256(data).hexdigest(),
        "ops": ops,
    }
    return graph, data


#: Shipped beside the weights wherever they go (an .aix): where they come from and their licence note.
NOTICE_FILE = "speech/NOTICE.txt"
NOTICE = """\
speech/graph.json and speech/weights.bin: Google's speech_embedding network (TF Hub
google/speech_embedding/1, Apache-2.0; Lin et al., "Training Keyword Spotters with Limited and
Synthesized Speech Data", ICASSP 2020), as re-implemented in Keras and exported to ONNX by the
openWakeWord project (embedding_model.onnx in the openwakeword 0.4.0 wheel, code Apache-2.0),
converted by pac to this graph ({weights} kernels; see pac's README, "The pretrained networks").

Licence note: openWakeWord's README describes this network as Google's Apache-2.0 model, and also
says that the pre-trained models it includes are CC BY-NC-SA 4.0 because of their training data (a
statement about the wake-word models it trained itself). Whether that statement also covers this
re-export was unanswered in openWakeWord's tracker when pac adopted it. A pac model trained with
--bases mobilenet or --head conv does not use these weights.
"""


def export_files(network: SpeechNetwork) -> dict[str, bytes]:
    """``{GRAPH_FILE: JSON bytes, WEIGHTS_FILE: blob, NOTICE_FILE: text}`` for an asset folder;
    deterministic bytes."""
    graph, blob = export_network(network)
    text = json.dumps(graph, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
    weights = "8-bit" if network.weights == "uint8" else "float32"
    return {
        GRAPH_FILE: text.encode("ascii"),
        WEIGHTS_FILE: blob,
        NOTICE_FILE: NOTICE.format(weights=weights).encode("ascii"),
    }


# -- reading an export back (pac verify) ---------------------------------------------------------
# Added with the classifier page's speech block: pac verify rebuilds the network an .aix ships from
# its own speech/ files, so that Python computes with exactly the weights the page runs.


def network_from_export(graph: dict, blob: bytes, *, directory: str | os.PathLike = "speech") -> SpeechNetwork:
    """The :class:`SpeechNetwork` that :func:`export_network` wrote as ``(graph, blob)``.

    The graph's format, name, shapes (every operation's declared input and output shape against the
    ones its parameters give) and the blob's size and sha256 are checked; 8-bit kernels are
    dequantised by :func:`dequantize_kernel`, as the page does, so ``export_network`` of the result
    gives the same graph and bytes again.

    Parameters
    ----------
    graph : dict
        The parsed ``speech/graph.json``.
    blob : bytes
        The content of ``speech/weights.bin``.
    directory : path
        Recorded as the network's ``directory`` (where the files came from).

    Raises
    ------
    PacError
        ``not a pac-speech-net export (...)`` naming the problem.
    """

    def fail(why: str):
        raise PacError(
            f"not a {EXPORT_FORMAT} version {EXPORT_VERSION} export of {SPEECH_BASE_NAME} ({why})",
            path=Path(directory) / Path(GRAPH_FILE).name,
        )

    if not isinstance(graph, dict) or not isinstance(blob, (bytes, bytearray)):
        fail("the graph must be a JSON object and the weights bytes")
    if (graph.get("format"), graph.get("format_version"), graph.get("name")) != (
        EXPORT_FORMAT,
        EXPORT_VERSION,
        SPEECH_BASE_NAME,
    ):
        fail(f"format {graph.get('format')!r} version {graph.get('format_version')!r} name {graph.get('name')!r}")
    weights = graph.get("weights")
    if weights not in ("uint8", "float32"):
        fail(f"weights {weights!r}")
    if graph.get("input_shape") != list(INPUT_SHAPE) or graph.get("output_shape") != [EMBEDDING_SIZE]:
        fail("not the network [n, 76, 32, 1] -> [n, 96]")
    sha = graph.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        fail("sha256 is not a sha256")
    if graph.get("weights_bytes") != len(blob) or graph.get("weights_sha256") != hashlib.sha256(blob).hexdigest():
        fail("the weights file does not match the graph's weights_bytes and weights_sha256")
    entries = graph.get("ops")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        fail("ops must be a non-empty list of objects")

    def ints(value, n: int, minimum: int, where: str) -> list:
        if (
            not isinstance(value, list)
            or len(value) != n
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)
        ):
            fail(f"{where} must be {n} integers >= {minimum}")
        return list(value)

    def tensor(ref, dtype: str, where: str, shape=None) -> np.ndarray:
        if not isinstance(ref, dict) or ref.get("dtype") != dtype:
            fail(f"{where} is not a {dtype} tensor")
        dims = ref.get("shape")
        if not isinstance(dims, list) or not dims:
            fail(f"{where} has no shape")
        dims = ints(dims, len(dims), 1, f"{where}.shape")
        if shape is not None and dims != list(shape):
            fail(f"{where} has shape {dims}, expected {list(shape)}")
        offset = ref.get("offset")
        count = int(np.prod(dims))
        size = count * (4 if dtype == "float32" else 1)
        if (
            not isinstance(offset, int)
            or isinstance(offset, bool)
            or offset < 0
            or offset % 4
            or offset + size > len(blob)
        ):
            fail(f"{where} offset {offset!r} is outside the weights or unaligned")
        array = np.frombuffer(bytes(blob), dtype="<f4" if dtype == "float32" else np.uint8, count=count, offset=offset)
        return frozen(array.astype(np.float32 if dtype == "float32" else np.uint8).reshape(dims))

    ops = []
    for i, entry in enumerate(entries):
        kind, where = entry.get("op"), f"ops[{i}]"
        if kind == "conv":
            ref = entry.get("kernel")
            quant = ref.get("quantization") if isinstance(ref, dict) else None
            if quant is not None:
                if weights != "uint8" or not isinstance(quant, dict) or quant.get("axis") != 3:
                    fail(f"{where}.kernel.quantization is not per output channel of a uint8 export")
                q = tensor(ref, "uint8", f"{where}.kernel")
                if q.ndim != 4:
                    fail(f"{where}.kernel is not HWIO")
                minimum = tensor(quant.get("min"), "float32", f"{where}.kernel.quantization.min", [q.shape[3]])
                scale = tensor(quant.get("scale"), "float32", f"{where}.kernel.quantization.scale", [q.shape[3]])
                if not (np.isfinite(minimum).all() and np.isfinite(scale).all() and (scale >= 0).all()):
                    fail(f"{where}.kernel.quantization has a bad min or scale")
                kernel = frozen(dequantize_kernel(q, minimum, scale))
            else:
                kernel = tensor(ref, "float32", f"{where}.kernel")
                if kernel.ndim != 4:
                    fail(f"{where}.kernel is not HWIO")
            bias, padding = entry.get("bias"), entry.get("padding")
            if not isinstance(padding, list) or len(padding) != 2:
                fail(f"{where}.padding is not [[top, bottom], [left, right]]")
            params = {
                "kernel": kernel,
                "bias": None if bias is None else tensor(bias, "float32", f"{where}.bias", [kernel.shape[3]]),
                "padding": [ints(r, 2, 0, f"{where}.padding") for r in padding],
                "strides": ints(entry.get("strides"), 2, 1, f"{where}.strides"),
            }
            if quant is not None:
                params["quantization"] = {"q": q, "min": minimum, "scale": scale}
        elif kind == "relu":
            params = {}
        elif kind == "affine":
            channels = entry.get("input_shape")[-1] if isinstance(entry.get("input_shape"), list) else None
            params = {
                "scale": tensor(entry.get("scale"), "float32", f"{where}.scale", [channels]),
                "shift": tensor(entry.get("shift"), "float32", f"{where}.shift", [channels]),
            }
        elif kind in ("leaky_relu", "maximum"):
            key = "alpha" if kind == "leaky_relu" else "value"
            value = entry.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
                fail(f"{where}.{key} is not a number")
            params = {key: float(value)}
        elif kind == "max_pool":
            params = {
                "size": ints(entry.get("size"), 2, 1, f"{where}.size"),
                "strides": ints(entry.get("strides"), 2, 1, f"{where}.strides"),
            }
        else:
            fail(f"{where} has unknown op {kind!r}")
        ops.append((kind, params))
    network = SpeechNetwork(directory=Path(directory), ops=tuple(ops), sha256=sha, weights=weights)
    shape = INPUT_SHAPE
    for i, ((kind, params), (in_shape, shape), entry) in enumerate(zip(ops, op_shapes(network), entries)):
        if kind == "conv" and params["kernel"].shape[2] != in_shape[2]:
            fail(f"ops[{i}] kernel does not fit {in_shape[2]} channels")
        if min(shape) < 1 or entry.get("input_shape") != list(in_shape) or entry.get("output_shape") != list(shape):
            fail(
                f"ops[{i}] shapes {entry.get('input_shape')} -> {entry.get('output_shape')} do not follow the chain "
                f"({list(in_shape)} -> {list(shape)})"
            )
    if shape != (1, 1, EMBEDDING_SIZE):
        fail(f"the network ends in shape {list(shape)}, not [1, 1, {EMBEDDING_SIZE}]")
    return network
