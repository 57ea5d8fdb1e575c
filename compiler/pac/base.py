"""The MobileNet base: find the TF.js weights, verify them, and run the truncated network.

PAC's base is MobileNet v1, alpha 0.25, 224x224, ImageNet-trained, in TF.js layers format
(``model.json`` + 55 weight shards), cut after layer ``conv_pw_13_relu`` -> activations of shape
``[7, 7, 256]``.  :func:`resolve_base_dir` finds the files, :func:`load_base` checks every shard's
sha256 and builds the network from the weights with plain TensorFlow ops.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import PacError
from .fsutil import replace

BASE_NAME = "mobilenet_v1_0.25_224"
CUT_LAYER = "conv_pw_13_relu"
INPUT_SHAPE = (224, 224, 3)
ACTIVATION_SHAPE = (7, 7, 256)
#: Where the weights are published; ``PAC_BASE_URL`` overrides it (a mirror, or tests).
OFFICIAL_URL = "https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json"
ENV_DIR = "PAC_BASE_DIR"
ENV_URL = "PAC_BASE_URL"
ENV_CACHE = "PAC_CACHE_DIR"


def expected_shards() -> dict[str, str]:
    """``{shard file name: sha256}`` of the published weights, shipped with pac."""
    text = resources.files("pac.data").joinpath(f"{BASE_NAME}.sha256").read_text(encoding="ascii")
    return {name: digest for digest, name in (line.split() for line in text.splitlines() if line.strip())}


def base_sha256() -> str:
    """Identity of the base weights: sha256 of the sorted ``"<sha256>  <shard>"`` lines."""
    lines = sorted(f"{digest}  {name}\n" for name, digest in expected_shards().items())
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def cache_dir() -> Path:
    """The user cache for the base: ``$PAC_CACHE_DIR``, else ``$XDG_CACHE_HOME/pac``, else ``~/.cache/pac``."""
    if os.environ.get(ENV_CACHE):
        root = Path(os.environ[ENV_CACHE])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pac"
    return root / BASE_NAME


def resolve_base_dir(base: str | os.PathLike | None = None, *, download: bool = True, progress=None) -> Path:
    """Find the base weights: ``base``, then ``$PAC_BASE_DIR``, the user cache, then a download.

    Parameters
    ----------
    base : path, optional
        A folder holding ``model.json`` and the shards (the ``--base`` option).
    download : bool
        Whether to download into the cache when nothing local is found.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` during a download.
    """
    for candidate, origin in ((base, "--base"), (os.environ.get(ENV_DIR), ENV_DIR)):
        if candidate:
            path = Path(candidate)
            if not (path / "model.json").is_file():
                raise PacError(
                    f"{path}: no model.json here (given by {origin}); point it at the "
                    f"folder holding MobileNet's model.json and its shards"
                )
            return path
    cached = cache_dir()
    if (cached / "model.json").is_file():
        return cached
    if not download:
        raise PacError(f"MobileNet base not found in {cached}; pass --base DIR or set {ENV_DIR}")
    return download_base(cached, progress=progress)


def download_base(target: Path, *, progress=None) -> Path:
    """Download ``model.json`` and every shard into ``target``, verified, all-or-nothing."""
    url = os.environ.get(ENV_URL) or OFFICIAL_URL
    root = url.rsplit("/", 1)[0]
    shards = expected_shards()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        model_json = _fetch(url)
        (staging / "model.json").write_bytes(model_json)
        names = [p for group in json.loads(model_json)["weightsManifest"] for p in group["paths"]]
        if sorted(names) != sorted(shards):
            raise PacError(f"{url}: the model.json there does not list MobileNet v1 0.25's 55 shards")
        done = 0
        total = 475_544 * 4
        for name in names:
            data = _fetch(f"{root}/{name}")
            if hashlib.sha256(data).hexdigest() != shards[name]:
                raise PacError(f"{root}/{name}: downloaded shard has the wrong sha256")
            (staging / name).write_bytes(data)
            done += len(data)
            if progress:
                progress(done, total)
        if target.exists():
            shutil.rmtree(target)
        replace(staging, target)
    except PacError:
        raise
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PacError(
            f"cannot download MobileNet from {url} ({reason}); without internet, pass "
            f"--base DIR or set {ENV_DIR} to a folder holding model.json and its shards"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (https or a mirror)
        return response.read()


@dataclass(frozen=True)
class BaseWeights:
    """The verified weights up to the cut layer, in layer order."""

    directory: Path
    layers: tuple  # ((class_name, name, config, {weight_name: ndarray}), ...)
    sha256: str


def read_base(directory: str | os.PathLike) -> BaseWeights:
    """Parse ``model.json``, verify each shard's sha256, return the layers up to the cut."""
    directory = Path(directory)
    shards = expected_shards()
    try:
        manifest = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        groups = manifest["weightsManifest"]
        layer_list = manifest["modelTopology"]["model_config"]["config"]["layers"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PacError(f"{directory / 'model.json'}: not a TF.js layers model.json ({exc})") from None
    tensors: dict[str, np.ndarray] = {}
    for group in groups:
        blob = b""
        for name in group["paths"]:
            path = directory / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise PacError(f"{path}: cannot read weight shard ({exc.strerror})") from None
            if shards.get(name) != hashlib.sha256(data).hexdigest():
                raise PacError(f"{path}: sha256 does not match MobileNet v1 0.25 224's published shard")
            blob += data
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            array = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).reshape(spec["shape"])
            tensors[spec["name"]] = array
            offset += count * 4
    layers = []
    for layer in layer_list:
        name = layer["config"]["name"]
        weights = {key.split("/", 1)[1]: value for key, value in tensors.items() if key.split("/", 1)[0] == name}
        layers.append((layer["class_name"], name, layer["config"], weights))
        if name == CUT_LAYER:
            break
    else:
        raise PacError(f"{directory / 'model.json'}: has no layer {CUT_LAYER}")
    return BaseWeights(directory=directory, layers=tuple(layers), sha256=base_sha256())


class Base:
    """MobileNet v1 0.25 up to ``conv_pw_13_relu`` as a TensorFlow function.

    ``Base(weights)(x)`` maps float32 ``[n, 224, 224, 3]`` inputs to ``[n, 7, 7, 256]`` activations.
    """

    def __init__(self, weights: BaseWeights):
        from .libs import tensorflow

        tf = tensorflow()
        self.weights = weights
        self._tf = tf
        ops = []
        for class_name, name, config, w in weights.layers:
            if class_name == "InputLayer":
                continue
            ops.append(_layer_op(tf, class_name, name, config, w))

        @tf.function(input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)], jit_compile=False)
        def forward(x):
            for op in ops:
                x = op(x)
            return x

        self._forward = forward

    def __call__(self, inputs: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """Activations for a batch of MobileNet inputs, as float32 numpy."""
        out = [self._forward(inputs[i : i + batch_size]).numpy() for i in range(0, len(inputs), batch_size)]
        if not out:
            return np.zeros((0, *ACTIVATION_SHAPE), np.float32)
        return np.concatenate(out)


def _layer_op(tf, class_name, name, config, w):
    if class_name == "Conv2D":
        kernel = tf.constant(w["kernel"])
        strides, padding = config["strides"], config["padding"].upper()
        bias = tf.constant(w["bias"]) if config.get("use_bias") else None
        return _with_bias(lambda x: tf.nn.conv2d(x, kernel, strides=strides, padding=padding), bias, tf)
    if class_name == "DepthwiseConv2D":
        kernel = tf.constant(w["depthwise_kernel"])
        strides, padding = [1, *config["strides"], 1], config["padding"].upper()
        bias = tf.constant(w["bias"]) if config.get("use_bias") else None
        return _with_bias(lambda x: tf.nn.depthwise_conv2d(x, kernel, strides=strides, padding=padding), bias, tf)
    if class_name == "BatchNormalization":
        mean, var = tf.constant(w["moving_mean"]), tf.constant(w["moving_variance"])
        gamma, beta, eps = tf.constant(w["gamma"]), tf.constant(w["beta"]), float(config["epsilon"])
        return lambda x: tf.nn.batch_normalization(x, mean, var, beta, gamma, eps)
    if class_name == "Activation":
        fn = {"relu6": tf.nn.relu6, "relu": tf.nn.relu, "linear": tf.identity}.get(config["activation"])
        if fn is None:
            raise PacError(f"base layer {name}: unsupported activation {config['activation']}")
        return fn
    raise PacError(f"base layer {name}: unsupported layer type {class_name}")


def _with_bias(op, bias, tf):
    return op if bias is None else (lambda x: tf.nn.bias_add(op(x), bias))


_LOADED: dict[str, Base] = {}


def load_base(base: str | os.PathLike | None = None, *, progress=None) -> Base:
    """Resolve, verify and build the base (memoised per folder)."""
    directory = resolve_base_dir(base, progress=progress).resolve()
    key = str(directory)
    if key not in _LOADED:
        _LOADED[key] = Base(read_base(directory))
    return _LOADED[key]


def print_progress(done: int, total: int) -> None:
    """A one-line download progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / total)
    sys.stderr.write(f"\rdownloading MobileNet [{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f} MB")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
