"""The speech base: Google's speech_embedding network, found, verified and run with plain TF ops.

The second pretrained base, beside MobileNet (:mod:`pac.base`): a keyword-spotting embedding that
maps 76 frames (0.78 s) of 32-band log-mel, already scaled ``x / 10 + 2`` by the front end, to a
96-value embedding.  The weights are openWakeWord's ONNX export of the network
(``embedding_model.onnx``), shipped with its front end (``melspectrogram.onnx``) in the wheel
``openwakeword==0.4.0`` on the Python package index.

:func:`resolve_speech_dir` finds the two files (``--speech-base DIR``, ``$PAC_SPEECH_DIR``, the user
cache, else a verified download of the pinned wheel into the cache), :func:`read_speech_network`
checks the sha256 and rebuilds the network from the ONNX graph as a plain list of NHWC operations
with numpy weights, :meth:`SpeechNetwork.quantized` gives its 8-bit weight version (what a model
ships and runs with, in Python and in the classifier page alike), :class:`SpeechEmbedding` runs it
with TensorFlow and :func:`export_network` writes it for the page's ``js/speech_net.js``.

The operations (``(kind, params)``, NHWC, float32 numpy)::

    ("conv", {"kernel": HWIO, "bias": [O] or None, "padding": [[top, bottom], [left, right]],
              "strides": [sh, sw]})          zero padding, then a VALID convolution
    ("relu", {})
    ("affine", {"scale": [C], "shift": [C]}) x * scale + shift (a batch normalisation)
    ("leaky_relu", {"alpha": a})
    ("maximum", {"value": v})                max(x, v)
    ("max_pool", {"size": [kh, kw], "strides": [sh, sw]})   VALID

How the ONNX graph maps onto them: it starts with ``Pad`` (ONNX ``pads`` order: the begin of every
axis, then the end of every axis; here ``[0, 0, 1, 0, 0, 0, 1, 0]`` on NHWC = one zero column on
each side of the 32 bands) and a ``Reshape`` from ``[n, 76, 34, 1]`` to NCHW ``[n, 1, 76, 34]``,
which only moves data when there is more than one channel: with one channel it IS the NHWC->NCHW
transposition, so in NHWC it vanishes and the zero padding joins the first convolution's padding.
Every ``Conv`` has OIHW weights (-> HWIO) and ``pads`` ``[top, left, bottom, right]``.  The final
``Reshape`` of NCHW ``[n, 96, 1, 1]`` to ``[n, 1, 1, 96]`` is again a transposition (1x1 spatial),
so the embedding is the NHWC output flattened.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import PacError
from .features.speech import N_BANDS, NETWORK_STRIDE, WINDOW_FRAMES
from .zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY

SPEECH_BASE_NAME = "speech_embedding"
#: The network's input window (frames x bands) and stride in time are the front end's contract.
INPUT_FRAMES, INPUT_BANDS, TIME_STRIDE = WINDOW_FRAMES, N_BANDS, NETWORK_STRIDE
EMBEDDING_SIZE = 96
INPUT_SHAPE = (INPUT_FRAMES, INPUT_BANDS, 1)
#: The network, then its front end (the reference a numpy / JS log-mel must match).
FILES = ("embedding_model.onnx", "melspectrogram.onnx")
NETWORK_FILE = FILES[0]
ENV_DIR = "PAC_SPEECH_DIR"
#: A direct http(s) or file URL of the pinned wheel (a mirror, or tests); else pip fetches it.
ENV_URL = "PAC_SPEECH_URL"
#: The pinned source: this wheel from the Python package index (later versions do not ship the
#: models), fetched with the user's own pip configuration so that index mirrors work.
WHEEL_REQUIREMENT = "openwakeword==0.4.0"
WHEEL_NAME = "openwakeword-0.4.0-py3-none-any.whl"
WHEEL_BYTES = 9_285_483
WHEEL_MODELS = "openwakeword/resources/models/"
#: Refuse to read a download or a zip member larger than this.
MAX_DOWNLOAD_BYTES = 64 * 2**20
PIP_TIMEOUT_S = 600

#: URL paths of the exported network inside the classifier page's asset folder.
GRAPH_FILE = "speech/graph.json"
WEIGHTS_FILE = "speech/weights.bin"
EXPORT_FORMAT = "pac-speech-net"
EXPORT_VERSION = 1
#: 8-bit weights: every convolution kernel but the first is quantised per output channel (its
#: last, HWIO axis).  Measured on 200 windows of real clips: the embeddings move by a relative
#: 1.4e-2 (L2) per channel, 3.3e-2 per tensor (for 2 x 4 bytes per channel).  The first
#: convolution (216 weights) sees the raw, all-positive log-mel, so its rounding errors add up
#: with the input level: quantised, it alone moved the embeddings by 3.4e-2; it stays float32.
QUANT_LEVELS = 255

_WHERE = (f"both are in the {WHEEL_REQUIREMENT.replace('==', ' ')} wheel under {WHEEL_MODELS} "
          f"(`pip download {WHEEL_REQUIREMENT} --no-deps` fetches it; a wheel is a zip)")


def expected_sha256() -> dict[str, str]:
    """``{file name: sha256}`` of the two ONNX files and of the pinned wheel, shipped with pac."""
    text = resources.files("pac.data").joinpath(f"{SPEECH_BASE_NAME}.sha256").read_text(encoding="ascii")
    return {name: digest for digest, name in (line.split() for line in text.splitlines() if line.strip())}


def network_sha256() -> str:
    """Identity of the speech base: the sha256 of ``embedding_model.onnx``."""
    return expected_sha256()[NETWORK_FILE]


def cache_dir() -> Path:
    """The user cache for the speech base, beside MobileNet's (see :func:`pac.base.cache_dir`)."""
    from .base import cache_dir as base_cache_dir

    return base_cache_dir().parent / SPEECH_BASE_NAME


def resolve_speech_dir(folder: str | os.PathLike | None = None, *, download: bool = True,
                       progress=None) -> Path:
    """Find the speech base: ``folder``, then ``$PAC_SPEECH_DIR``, the user cache, then a download.

    Parameters
    ----------
    folder : path, optional
        A folder holding ``embedding_model.onnx`` and ``melspectrogram.onnx`` (``--speech-base``).
    download : bool
        Whether to fetch the pinned wheel into the cache when nothing local is found.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` during a download; without it one line goes to stderr.

    Returns
    -------
    Path
        The folder.  Its files' sha256 are checked when they are read (:func:`read_speech_file`).

    Raises
    ------
    PacError
        If a given folder lacks a file, or nothing is found and it cannot (or may not) be fetched.
    """
    for candidate, origin in ((folder, "--speech-base"), (os.environ.get(ENV_DIR), ENV_DIR)):
        if candidate:
            path = Path(candidate)
            for name in FILES:
                if not (path / name).is_file():
                    raise PacError(f"no {name} here (given by {origin}); point it at a folder holding "
                                   f"{' and '.join(FILES)}; {_WHERE}", path=path)
            return path
    cached = cache_dir()
    if all((cached / name).is_file() for name in FILES):
        return cached
    if not download:
        raise PacError(f"the speech embedding is not in {cached}; {_point_at_a_copy()}")
    return download_speech(cached, progress=progress)


def _point_at_a_copy() -> str:
    return (f"pass --speech-base DIR or set {ENV_DIR} to a folder holding {' and '.join(FILES)}; {_WHERE}")


def download_speech(target: str | os.PathLike, *, progress=None, url: str | None = None,
                    wheel_sha256: str | None = None) -> Path:
    """Fetch the pinned wheel, verify it, and install its two ONNX files into ``target``.

    Parameters
    ----------
    target : path
        The folder to create or replace (normally :func:`cache_dir`); replaced only as a whole,
        once both files are verified.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)``; without it one line goes to stderr.
    url : str, optional
        A direct http(s) or file URL of the wheel; default ``$PAC_SPEECH_URL``, and without that
        ``pip download`` with the user's pip configuration.
    wheel_sha256 : str, optional
        The wheel's expected sha256 (default: the pinned one; tests pass a wheel they built).

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    PacError
        If the wheel cannot be fetched, is too large, has the wrong sha256 or lacks a file, or a
        file in it has the wrong sha256.  Nothing is written then.
    """
    target = Path(target)
    url = url if url is not None else os.environ.get(ENV_URL) or None
    expected = expected_sha256()
    wheel_sha256 = wheel_sha256 or expected[WHEEL_NAME]
    if progress is None:
        sys.stderr.write(f"downloading the speech embedding ({WHEEL_REQUIREMENT.replace('==', ' ')} wheel, "
                         f"{WHEEL_BYTES / 1e6:.1f} MB)...\n")
        sys.stderr.flush()
    else:
        progress(0, WHEEL_BYTES)
    source, data = (url, _fetch_url(url, progress)) if url else _pip_download()
    if progress is not None:
        progress(len(data), len(data))
    if hashlib.sha256(data).hexdigest() != wheel_sha256:
        raise PacError(f"sha256 does not match the pinned {WHEEL_NAME} ({wheel_sha256[:12]}...); refusing it",
                       path=source)
    files = extract_speech_files(data, source=source)
    from .fsutil import atomic_dir

    try:
        with atomic_dir(target) as staging:
            for name, content in files.items():
                (staging / name).write_bytes(content)
    except OSError as exc:
        raise PacError(f"cannot write the speech embedding ({exc.strerror or exc})", path=target) from None
    return target


def extract_speech_files(wheel: bytes, *, source: str = WHEEL_NAME) -> dict[str, bytes]:
    """``{name: bytes}`` of the two ONNX files in a wheel's bytes, each sha256-verified.

    Raises
    ------
    PacError
        If it is not a zip, lacks a file, a file is too large, or a file's sha256 is wrong.
    """
    expected = expected_sha256()
    out = {}
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
            for name in FILES:
                member = WHEEL_MODELS + name
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    raise PacError(f"the wheel has no {member}", path=source) from None
                if info.file_size > MAX_DOWNLOAD_BYTES:
                    raise PacError(f"{member} in the wheel is larger than {MAX_DOWNLOAD_BYTES >> 20} MB",
                                   path=source)
                with archive.open(info) as stream:
                    content = stream.read(MAX_DOWNLOAD_BYTES + 1)
                if hashlib.sha256(content).hexdigest() != expected[name]:
                    raise PacError(f"sha256 of {member} in the wheel does not match {SPEECH_BASE_NAME}'s "
                                   f"published {name}", path=source)
                out[name] = content
    except NOT_A_ZIP + UNREADABLE_ENTRY as exc:
        raise PacError(f"not a readable wheel (zip) ({exc})", path=source) from None
    return out


def _fetch_url(url: str, progress) -> bytes:
    """The bytes at a direct http(s) or file URL, at most :data:`MAX_DOWNLOAD_BYTES`."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise PacError(f"{ENV_URL} must be an http(s) or file URL of {WHEEL_NAME}, not {url!r}")
    chunks, done = [], 0
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (scheme checked above)
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not the {WHEEL_NAME}", path=url)
                chunks.append(chunk)
                if progress is not None:
                    progress(done, max(done, WHEEL_BYTES))
    except PacError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PacError(f"cannot download the speech embedding from {url} ({reason}); without internet, "
                       f"{_point_at_a_copy()}") from None
    return b"".join(chunks)


def _pip_download() -> tuple[str, bytes]:
    """``(path, bytes)`` of the pinned wheel, fetched by pip from the user's configured index."""
    command = [sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", "-q"]
    with tempfile.TemporaryDirectory(prefix="pac-speech-") as tmp:
        try:
            done = subprocess.run([*command, "-d", tmp], capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PacError(f"cannot run pip to download {WHEEL_REQUIREMENT} ({exc}); {_point_at_a_copy()}") from None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            reason = lines[-1] if lines else f"pip exited with code {done.returncode}"
            raise PacError(f"cannot download the speech embedding ({WHEEL_REQUIREMENT} with pip: {reason}); "
                           f"without internet, {_point_at_a_copy()}")
        wheel = wheels[0]
        if wheel.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not the {WHEEL_NAME}", path=wheel.name)
        return f"{wheel.name} (from pip download {WHEEL_REQUIREMENT})", wheel.read_bytes()


def read_speech_file(directory: str | os.PathLike, name: str) -> bytes:
    """The bytes of one of :data:`FILES` in ``directory``, sha256-verified.

    Raises
    ------
    PacError
        Naming the file, if it cannot be read or its sha256 is not the published one.
    """
    if name not in FILES:
        raise ValueError(f"not a speech base file: {name}")
    path = Path(directory) / name
    expected = expected_sha256()
    try:
        if path.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not {SPEECH_BASE_NAME}'s {name}", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise PacError(f"cannot read the speech embedding ({exc.strerror or exc})", path=path) from None
    if hashlib.sha256(data).hexdigest() != expected[name]:
        raise PacError(f"sha256 does not match {SPEECH_BASE_NAME}'s published {name} "
                       f"(openWakeWord 0.4.0's copy)", path=path)
    return data


# -- the network ---------------------------------------------------------------------------------

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

    def quantized(self) -> "SpeechNetwork":
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
                    params = {**params, "kernel": _frozen(dequantize_kernel(q, minimum, scale)),
                              "quantization": {"q": _frozen(q), "min": _frozen(minimum), "scale": _frozen(scale)}}
                ops.append((kind, params))
            self._cache["quantized"] = SpeechNetwork(self.directory, tuple(ops), self.sha256, "uint8")
        return self._cache["quantized"]

    def parameter_count(self) -> int:
        """Number of weights (kernels, biases, affine parameters)."""
        return sum(int(v.size) for _, p in self.ops for k, v in p.items()
                   if isinstance(v, np.ndarray) and k in ("kernel", "bias", "scale", "shift"))


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


def _frozen(array) -> np.ndarray:
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
        a = self.attrs(node, {"auto_pad": "NOTSET", "dilations": [1, 1], "group": 1, "kernel_shape": None,
                              "pads": [0, 0, 0, 0], "strides": [1, 1]})
        if len(node.input) not in (2, 3):
            self.fail(f"Conv {node.name!r} has {len(node.input)} inputs")
        weights = self.const(node.input[1], node)
        bias = self.const(node.input[2], node) if len(node.input) == 3 and node.input[2] else None
        if weights.ndim != 4 or weights.shape[1] != shape[0]:
            self.fail(f"Conv {node.name!r} weights {list(weights.shape)} do not fit {shape[0]} channels")
        out_c, _, kh, kw = weights.shape
        if (a["auto_pad"] != "NOTSET" or list(a["dilations"]) != [1, 1] or a["group"] != 1
                or (a["kernel_shape"] is not None and list(a["kernel_shape"]) != [kh, kw])
                or len(a["pads"]) != 4 or len(a["strides"]) != 2 or min(a["pads"]) < 0 or min(a["strides"]) < 1):
            self.fail(f"Conv {node.name!r} has unsupported attributes {a}")
        if bias is not None and bias.shape != (out_c,):
            self.fail(f"Conv {node.name!r} bias shape {list(bias.shape)}")
        top, left, bottom, right = (int(p) for p in a["pads"])  # ONNX: begins, then ends
        padding = [[top, bottom], [left, right]]
        if extra_pad is not None:
            padding = [[padding[0][0] + extra_pad[0][0], padding[0][1] + extra_pad[0][1]],
                       [padding[1][0] + extra_pad[1][0], padding[1][1] + extra_pad[1][1]]]
        strides = [int(s) for s in a["strides"]]
        height = (shape[1] + sum(padding[0]) - kh) // strides[0] + 1
        width = (shape[2] + sum(padding[1]) - kw) // strides[1] + 1
        if height < 1 or width < 1:
            self.fail(f"Conv {node.name!r} leaves nothing of a {shape[1]}x{shape[2]} input")
        params = {"kernel": _frozen(np.transpose(weights, (2, 3, 1, 0)).astype(np.float32)),
                  "bias": None if bias is None else _frozen(bias.astype(np.float32)),
                  "padding": padding, "strides": strides}
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
        return ("affine", {"scale": _frozen(scale.astype(np.float32)), "shift": _frozen(shift.astype(np.float32))})

    def max_pool(self, node, shape):
        a = self.attrs(node, {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": [1, 1], "kernel_shape": None,
                              "pads": [0, 0, 0, 0], "storage_order": 0, "strides": None})
        size = a["kernel_shape"]
        strides = a["strides"] if a["strides"] is not None else [1, 1]
        if (size is None or len(size) != 2 or len(strides) != 2 or a["auto_pad"] != "NOTSET" or a["ceil_mode"]
                or list(a["dilations"]) != [1, 1] or any(a["pads"]) or len(node.output) != 1
                or min(size) < 1 or min(strides) < 1):
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
            new = ((h + sum(p["padding"][0]) - kh) // p["strides"][0] + 1,
                   (w + sum(p["padding"][1]) - kw) // p["strides"][1] + 1, o)
        elif kind == "max_pool":
            new = ((h - p["size"][0]) // p["strides"][0] + 1, (w - p["size"][1]) // p["strides"][1] + 1, c)
        else:
            new = shape
        out.append((shape, new))
        shape = new
    return out


# -- running it ----------------------------------------------------------------------------------

class SpeechEmbedding:
    """The speech embedding network as a TensorFlow function.

    ``SpeechEmbedding(network)(frames)`` maps float32 ``[n, 76, 32]`` or ``[n, 76, 32, 1]`` log-mel
    windows (already ``x / 10 + 2``) to ``[n, 96]`` embeddings.
    """

    def __init__(self, network: SpeechNetwork):
        from .libs import tensorflow

        tf = tensorflow()
        self.network = network
        ops = [_tf_op(tf, kind, params) for kind, params in network.ops]

        @tf.function(input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)], jit_compile=False)
        def forward(x):
            for op in ops:
                x = op(x)
            return tf.reshape(x, [-1, EMBEDDING_SIZE])

        @tf.function(input_signature=[tf.TensorSpec([1, None, INPUT_BANDS, 1], tf.float32)], jit_compile=False)
        def over_sequence(x):
            for op in ops:
                x = op(x)
            return tf.reshape(x, [-1, EMBEDDING_SIZE])

        self._forward = forward
        self._over_sequence = over_sequence

    def __call__(self, frames: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Embeddings for a batch of log-mel windows, as float32 numpy ``[n, 96]``."""
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected [n, {INPUT_FRAMES}, {INPUT_BANDS}(, 1)] frames, got {list(frames.shape)}")
        out = [self._forward(frames[i:i + batch_size]).numpy() for i in range(0, len(frames), batch_size)]
        if not out:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        return np.concatenate(out)


    def sequence(self, frames: np.ndarray, *, hop_frames: int = TIME_STRIDE) -> np.ndarray:
        """Embeddings of every 76-frame window of a whole sequence, in one pass of the network.

        The network is convolutional in time with stride :data:`TIME_STRIDE` (8 frames), so run over
        ``(n_frames, 32)`` frames (``n_frames >= 76``) it gives the embeddings of the windows
        starting at frames 0, 8, 16, ... that fit -- what :meth:`__call__` gives for those windows
        cut out one by one (:func:`pac.features.speech.embedding_windows`), up to float rounding.

        Parameters
        ----------
        frames : ndarray
            float32 ``(n_frames, 32)`` network input (:func:`pac.features.speech.speech_sequence`).
        hop_frames : int
            Keep the windows starting every ``hop_frames`` frames (a multiple of 8).

        Returns
        -------
        ndarray
            float32 ``(windows, 96)``.
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != INPUT_BANDS or frames.shape[0] < INPUT_FRAMES:
            raise ValueError(f"expected [n >= {INPUT_FRAMES}, {INPUT_BANDS}] frames, got {list(frames.shape)}")
        if hop_frames < 1 or hop_frames % TIME_STRIDE:
            raise ValueError(f"hop_frames must be a positive multiple of {TIME_STRIDE}")
        out = self._over_sequence(frames[None, :, :, None]).numpy()
        return out[::hop_frames // TIME_STRIDE]


def _tf_op(tf, kind, p):
    if kind == "conv":
        kernel = tf.constant(p["kernel"])
        bias = None if p["bias"] is None else tf.constant(p["bias"])
        padding = [[0, 0], list(p["padding"][0]), list(p["padding"][1]), [0, 0]]
        strides = [1, *p["strides"], 1]

        def conv(x):
            y = tf.nn.conv2d(x, kernel, strides=strides, padding=padding)
            return y if bias is None else tf.nn.bias_add(y, bias)
        return conv
    if kind == "relu":
        return tf.nn.relu
    if kind == "affine":
        scale, shift = tf.constant(p["scale"]), tf.constant(p["shift"])
        return lambda x: x * scale + shift
    if kind == "leaky_relu":
        alpha = p["alpha"]
        return lambda x: tf.nn.leaky_relu(x, alpha=alpha)
    if kind == "maximum":
        value = tf.constant(p["value"], tf.float32)
        return lambda x: tf.maximum(x, value)
    if kind == "max_pool":
        size, strides = [1, *p["size"], 1], [1, *p["strides"], 1]
        return lambda x: tf.nn.max_pool2d(x, ksize=size, strides=strides, padding="VALID")
    raise PacError(f"speech network: unsupported operation {kind}")


_LOADED: dict[tuple[str, bool], SpeechEmbedding] = {}


def load_speech_embedding(folder: str | os.PathLike | None = None, *, quantized: bool = True,
                          progress=None) -> SpeechEmbedding:
    """Resolve, verify and build the speech embedding (memoised per folder and weight type).

    Parameters
    ----------
    folder : path, optional
        See :func:`resolve_speech_dir`.
    quantized : bool
        Run with the 8-bit weights (what models ship with) instead of the float32 ones.
    progress : callable, optional
        Download progress, see :func:`resolve_speech_dir`.
    """
    directory = resolve_speech_dir(folder, progress=progress).resolve()
    key = (str(directory), bool(quantized))
    if key not in _LOADED:
        float_key = (str(directory), False)
        network = _LOADED[float_key].network if float_key in _LOADED else read_speech_network(directory)
        _LOADED[key] = SpeechEmbedding(network.quantized() if quantized else network)
    return _LOADED[key]


def speech_identity(*, quantized: bool) -> dict:
    """The speech base a model uses, for its manifest: name, sha256 of the network, weight type."""
    return {"name": SPEECH_BASE_NAME, "sha256": network_sha256(), "weights": "uint8" if quantized else "float32"}


# -- export for the classifier page --------------------------------------------------------------

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
                kernel["quantization"] = {"axis": 3, "min": put(quant["min"], "float32"),
                                          "scale": put(quant["scale"], "float32")}
            else:
                kernel = put(p["kernel"], "float32")
            entry.update(kernel=kernel, bias=None if p["bias"] is None else put(p["bias"], "float32"),
                         padding=[list(map(int, r)) for r in p["padding"]], strides=list(map(int, p["strides"])))
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
    graph = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "name": SPEECH_BASE_NAME,
             "sha256": network.sha256, "weights": network.weights, "input_shape": list(INPUT_SHAPE),
             "output_shape": [EMBEDDING_SIZE], "weights_bytes": len(data),
             "weights_sha256": hashlib.sha256(data).hexdigest(), "ops": ops}
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
    return {GRAPH_FILE: text.encode("ascii"), WEIGHTS_FILE: blob,
            NOTICE_FILE: NOTICE.format(weights=weights).encode("ascii")}


def print_progress(done: int, total: int) -> None:
    """A one-line download progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rdownloading the speech embedding [{'#' * filled}{'.' * (width - filled)}] "
                     f"{done / 1e6:.1f} MB")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


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
        raise PacError(f"not a {EXPORT_FORMAT} version {EXPORT_VERSION} export of {SPEECH_BASE_NAME} ({why})",
                       path=Path(directory) / Path(GRAPH_FILE).name)

    if not isinstance(graph, dict) or not isinstance(blob, (bytes, bytearray)):
        fail("the graph must be a JSON object and the weights bytes")
    if (graph.get("format"), graph.get("format_version"), graph.get("name")) != (EXPORT_FORMAT, EXPORT_VERSION,
                                                                              SPEECH_BASE_NAME):
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
        if (not isinstance(value, list) or len(value) != n
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
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
        if (not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or offset % 4
                or offset + size > len(blob)):
            fail(f"{where} offset {offset!r} is outside the weights or unaligned")
        array = np.frombuffer(bytes(blob), dtype="<f4" if dtype == "float32" else np.uint8, count=count, offset=offset)
        return _frozen(array.astype(np.float32 if dtype == "float32" else np.uint8).reshape(dims))

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
                kernel = _frozen(dequantize_kernel(q, minimum, scale))
            else:
                kernel = tensor(ref, "float32", f"{where}.kernel")
                if kernel.ndim != 4:
                    fail(f"{where}.kernel is not HWIO")
            bias, padding = entry.get("bias"), entry.get("padding")
            if not isinstance(padding, list) or len(padding) != 2:
                fail(f"{where}.padding is not [[top, bottom], [left, right]]")
            params = {"kernel": kernel,
                      "bias": None if bias is None else tensor(bias, "float32", f"{where}.bias", [kernel.shape[3]]),
                      "padding": [ints(r, 2, 0, f"{where}.padding") for r in padding],
                      "strides": ints(entry.get("strides"), 2, 1, f"{where}.strides")}
            if quant is not None:
                params["quantization"] = {"q": q, "min": minimum, "scale": scale}
        elif kind == "relu":
            params = {}
        elif kind == "affine":
            channels = entry.get("input_shape")[-1] if isinstance(entry.get("input_shape"), list) else None
            params = {"scale": tensor(entry.get("scale"), "float32", f"{where}.scale", [channels]),
                      "shift": tensor(entry.get("shift"), "float32", f"{where}.shift", [channels])}
        elif kind in ("leaky_relu", "maximum"):
            key = "alpha" if kind == "leaky_relu" else "value"
            value = entry.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
                fail(f"{where}.{key} is not a number")
            params = {key: float(value)}
        elif kind == "max_pool":
            params = {"size": ints(entry.get("size"), 2, 1, f"{where}.size"),
                      "strides": ints(entry.get("strides"), 2, 1, f"{where}.strides")}
        else:
            fail(f"{where} has unknown op {kind!r}")
        ops.append((kind, params))
    network = SpeechNetwork(directory=Path(directory), ops=tuple(ops), sha256=sha, weights=weights)
    shape = INPUT_SHAPE
    for i, ((kind, params), (in_shape, shape), entry) in enumerate(zip(ops, op_shapes(network), entries)):
        if kind == "conv" and params["kernel"].shape[2] != in_shape[2]:
            fail(f"ops[{i}] kernel does not fit {in_shape[2]} channels")
        if min(shape) < 1 or entry.get("input_shape") != list(in_shape) or entry.get("output_shape") != list(shape):
            fail(f"ops[{i}] shapes {entry.get('input_shape')} -> {entry.get('output_shape')} do not follow the chain "
                 f"({list(in_shape)} -> {list(shape)})")
    if shape != (1, 1, EMBEDDING_SIZE):
        fail(f"the network ends in shape {list(shape)}, not [1, 1, {EMBEDDING_SIZE}]")
    return network
