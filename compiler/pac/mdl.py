"""MIT Personal Audio Classifier model files (``.mdl``): ``pac import-mdl`` and ``pac export-mdl``.

A ``.mdl`` is what MIT's PAC trainer (``mit-cml/image-classification-explorer``) downloads and what
MIT's App Inventor extension reads from its ``Model`` property: a zip of exactly four entries,

``model.json``
    The head as a TF.js layers model ``{"modelTopology": ..., "weightsManifest": [{"paths":
    ["./model.weights.bin"], "weights": [...]}]}``.  MIT's trainer (TF.js layers 1.2.8) writes the
    ``Sequential`` topology with ``config`` as a list of layers; later TF.js writes
    ``{"name", "layers"}`` and tf_keras exports wrap it in ``model_config``: all three are read.
``model.weights.bin``
    The weights, little-endian float32, in ``weightsManifest`` order.
``model_labels.json``
    ``{"0": "label", "1": "label", ...}``: the label of each output of the head.  PAC sorts the
    labels as JavaScript's ``Array.prototype.sort`` does (UTF-16 code units).
``transfer_model.json``
    ``{"name": "mobilenet", "lastLayer": "conv_pw_13_relu", "url": ...}``: the base the head sits on
    (the extension loads its bundled ``<name>_model.json`` and cuts it at ``lastLayer``).

The zip is STORED with the sizes in the local headers (the extension reads it with
``java.util.zip.ZipInputStream`` and sizes its buffers from ``ZipEntry.getSize()``).

MIT's extension computes its own features (the spectrogram from MIT's server, see the
``pac-compat`` feature profile), so a ``.mdl`` holds a model of feature profile ``pac-compat``:
imported models get it, and only models trained with it can be exported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .base import ACTIVATION_SHAPE, BASE_NAME, CUT_LAYER, OFFICIAL_URL, base_sha256
from .errors import PacError
from .features import PROFILES, FeatureConfig

ENTRIES = ("model.json", "model.weights.bin", "model_labels.json", "transfer_model.json")
WEIGHTS_PATH = "./model.weights.bin"
TRANSFER_NAME = "mobilenet"
#: The transfer_model.json MIT's trainer writes (key order and all).
TRANSFER_JSON = json.dumps({"name": TRANSFER_NAME, "lastLayer": CUT_LAYER, "url": OFFICIAL_URL},
                           separators=(",", ":"))
PROFILE = "pac-compat"

#: Refuse a .mdl bigger than this before opening it.
MAX_MDL_BYTES = 64 << 20
#: Largest uncompressed size of each entry (a PAC head's weights are ~150 kB).
MAX_ENTRY_BYTES = {"model.json": 1 << 20, "model.weights.bin": 32 << 20,
                   "model_labels.json": 1 << 20, "transfer_model.json": 64 << 10}
#: Largest uncompressed / compressed ratio of an entry above RATIO_FLOOR bytes (zip bombs).
MAX_RATIO = 100
RATIO_FLOOR = 64 << 10
#: Most labels a .mdl may declare.
MAX_LABELS = 1000
ACTIVATIONS = ("relu", "linear", "softmax", "sigmoid", "tanh")
#: 1980-01-01 00:00:00, the earliest zip time: exported bytes do not depend on the clock.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# -- the head as plain data ------------------------------------------------------------------------

@dataclasses.dataclass
class Layer:
    """One layer of a head: ``kind`` is ``conv2d``, ``flatten`` or ``dense``."""

    kind: str
    activation: str = "linear"
    use_bias: bool = True
    filters: int = 0
    kernel_size: tuple = (1, 1)
    strides: tuple = (1, 1)
    padding: str = "valid"
    units: int = 0
    weights: list = dataclasses.field(default_factory=list)  # [kernel] or [kernel, bias], float32


def layer_shapes(layers: list[Layer], problem) -> list[tuple]:
    """Input shape of every layer and, last, the head's output shape, starting from MobileNet's
    [7, 7, 256]; ``problem(text)`` raises for a layer that cannot take its input."""
    shapes = [ACTIVATION_SHAPE]
    for i, layer in enumerate(layers):
        shape, where = shapes[-1], f"layer {i + 1} ({layer.kind})"
        if layer.kind == "conv2d":
            if len(shape) != 3:
                problem(f"{where} needs a [height, width, channels] input, not {list(shape)}")
            size = [(n - k) // s + 1 if layer.padding == "valid" else -(-n // s)
                    for n, k, s in zip(shape[:2], layer.kernel_size, layer.strides)]
            if min(size) < 1:
                problem(f"{where}: kernel {list(layer.kernel_size)} does not fit its input {list(shape)}")
            shapes.append((size[0], size[1], layer.filters))
        elif layer.kind == "flatten":
            shapes.append((int(np.prod(shape)),))
        else:
            if len(shape) != 1:
                problem(f"{where} needs a flat input, not {list(shape)}")
            shapes.append((layer.units,))
    return shapes


def weight_shapes(layer: Layer, input_shape: tuple) -> list[tuple]:
    """Shapes of ``layer``'s weights in TF.js/Keras order: kernel, then bias."""
    if layer.kind == "conv2d":
        return [(*layer.kernel_size, input_shape[-1], layer.filters)] + ([(layer.filters,)] if layer.use_bias else [])
    if layer.kind == "dense":
        return [(input_shape[-1], layer.units)] + ([(layer.units,)] if layer.use_bias else [])
    return []


# -- reading a .mdl ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Mdl:
    """The validated content of a ``.mdl``: labels in output order, the head, the base it names."""

    labels: tuple[str, ...]
    layers: list[Layer]
    transfer: dict
    sha256: str


def _refuse(path, text: str):
    raise PacError(text, path=path)


def read_entries(path: str | os.PathLike) -> dict[str, bytes]:
    """The four entries of a ``.mdl`` file, refused unless it is a sane zip holding exactly them."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        _refuse(path, f"cannot read the model file ({exc.strerror})")
    if size > MAX_MDL_BYTES:
        _refuse(path, f"{size:,d} bytes is too big for a Personal Audio Classifier model (at most {MAX_MDL_BYTES:,d})")
    data = path.read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        _refuse(path, f"not a .mdl model (a .mdl is a zip file; this one starts with {data[:8].hex(' ') or 'nothing'})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        _refuse(path, f"damaged zip file ({exc})")
    names = [info.filename for info in infos]
    for name in names:
        if name not in ENTRIES:
            shown = name if name.isprintable() else repr(name)
            _refuse(path, f"unexpected entry {shown!r} in the .mdl (a .mdl holds exactly {', '.join(ENTRIES)})")
    for name in ENTRIES:
        if names.count(name) != 1:
            problem = "is missing" if name not in names else f"appears {names.count(name)} times"
            _refuse(path, f"entry {name} {problem} (a .mdl holds exactly {', '.join(ENTRIES)})")
    total = 0
    entries = {}
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x1:
            _refuse(path, f"entry {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            _refuse(path, f"entry {name} uses zip compression method {info.compress_type} (only stored or deflated)")
        limit = MAX_ENTRY_BYTES[name]
        if info.file_size > limit:
            _refuse(path, f"entry {name} is {info.file_size:,d} bytes, more than a PAC model's {limit:,d}")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            _refuse(path, f"entry {name} expands {info.file_size / max(info.compress_size, 1):.0f} times "
                          f"(more than {MAX_RATIO}; a zip bomb?)")
        total += info.file_size
        try:
            with archive.open(info) as handle:
                body = handle.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            _refuse(path, f"entry {name} cannot be read ({exc})")
        if len(body) > limit or len(body) != info.file_size:
            _refuse(path, f"entry {name} does not hold the {info.file_size:,d} bytes its header declares")
        entries[name] = body
    if total > sum(MAX_ENTRY_BYTES.values()):
        _refuse(path, "the entries are too big together")
    return entries


def _json(path, name: str, body: bytes):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            _refuse(path, f"{name}: key {dup[0]!r} appears twice")
        return dict(pairs)

    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=no_duplicates)
    except UnicodeDecodeError:
        _refuse(path, f"{name} is not UTF-8 text")
    except json.JSONDecodeError as exc:
        _refuse(path, f"{name} is not valid JSON ({exc.msg} at line {exc.lineno})")
    except RecursionError:
        _refuse(path, f"{name} is nested too deeply")


def parse_labels(path, body: bytes) -> tuple[str, ...]:
    """``model_labels.json`` -> labels in output order; keys must be "0", "1", ... without gaps."""
    data = _json(path, "model_labels.json", body)
    if not isinstance(data, dict):
        _refuse(path, 'model_labels.json must be an object like {"0": "label", "1": "label"}')
    if not 2 <= len(data) <= MAX_LABELS:
        _refuse(path, f"model_labels.json has {len(data)} label(s); a classifier needs 2 to {MAX_LABELS}")
    expected = [str(i) for i in range(len(data))]
    if sorted(data, key=lambda k: (len(k), k)) != expected:
        odd = sorted(set(data) - set(expected)) or sorted(set(expected) - set(data))
        _refuse(path, f'model_labels.json keys must be "0" to "{len(data) - 1}" without gaps '
                      f'(found {odd[0]!r})')
    labels = []
    for key in expected:
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            _refuse(path, f"model_labels.json: label {key} must be a non-empty string, not {json.dumps(value)[:40]}")
        labels.append(value)
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        _refuse(path, f"model_labels.json: label {dup!r} appears twice")
    return tuple(labels)


def parse_transfer(path, body: bytes) -> dict:
    """``transfer_model.json``: the base must be MobileNet (v1 0.25 224) cut at conv_pw_13_relu."""
    data = _json(path, "transfer_model.json", body)
    if not isinstance(data, dict):
        _refuse(path, "transfer_model.json must be a JSON object")
    if data.get("name") != TRANSFER_NAME:
        _refuse(path, f"transfer_model.json names base {json.dumps(data.get('name'))}; pac supports "
                      f'"{TRANSFER_NAME}" (MobileNet v1 0.25 224, the base MIT\'s extension bundles)')
    if data.get("lastLayer") != CUT_LAYER:
        _refuse(path, f"transfer_model.json cuts MobileNet at {json.dumps(data.get('lastLayer'))}; "
                      f"pac supports {CUT_LAYER}")
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or BASE_NAME not in url):
        _refuse(path, f"transfer_model.json: base url {json.dumps(url)[:80]} is not {BASE_NAME}")
    return data


def _int_pair(value, what: str, problem) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        problem(f"{what} must be two positive whole numbers, not {json.dumps(value)}")
    return tuple(value)


def parse_topology(path, topology) -> tuple[list[Layer], list[str]]:
    """The head's layers (and their names) from a Keras or TF.js ``modelTopology``."""
    def problem(text):
        _refuse(path, f"model.json: {text}")

    if not isinstance(topology, dict):
        problem("modelTopology must be an object")
    if "model_config" in topology:
        topology = topology["model_config"]
        if not isinstance(topology, dict):
            problem("model_config must be an object")
    if topology.get("class_name") != "Sequential":
        problem(f"the head must be a Sequential model, not {json.dumps(topology.get('class_name'))}")
    config = topology.get("config")
    items = config if isinstance(config, list) else (config or {}).get("layers") if isinstance(config, dict) else None
    if not isinstance(items, list) or not items:
        problem("the Sequential model lists no layers")
    layers, names, input_shape = [], [], None
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
            problem(f"layer {i + 1} is not a {{class_name, config}} object")
        kind, cfg = item.get("class_name"), item["config"]
        declared = cfg.get("batch_input_shape", cfg.get("batch_shape"))
        if declared is not None:
            if input_shape is not None or (layers and kind != "InputLayer"):
                problem(f"layer {i + 1} declares an input shape in the middle of the model")
            input_shape = declared
        if kind == "InputLayer":
            if layers:
                problem("an InputLayer after the first layer")
            continue
        name = cfg.get("name")
        if not isinstance(name, str) or not name or name in names:
            problem(f"layer {i + 1} has no name or a repeated name")
        activation = cfg.get("activation", "linear")
        if kind in ("Conv2D", "Dense") and activation not in ACTIVATIONS:
            problem(f"layer {name}: activation {json.dumps(activation)} is not supported ({', '.join(ACTIVATIONS)})")
        use_bias = cfg.get("use_bias", True)
        if not isinstance(use_bias, bool):
            problem(f"layer {name}: use_bias must be true or false")
        if cfg.get("data_format", "channels_last") not in ("channels_last", None):
            problem(f"layer {name}: only data_format channels_last is supported")
        if kind == "Conv2D":
            filters = cfg.get("filters")
            if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
                problem(f"layer {name}: filters must be a positive whole number")
            if _int_pair(cfg.get("dilation_rate", 1), f"layer {name}: dilation_rate", problem) != (1, 1):
                problem(f"layer {name}: dilated convolutions are not supported")
            if cfg.get("groups", 1) != 1:
                problem(f"layer {name}: grouped convolutions are not supported")
            padding = cfg.get("padding", "valid")
            if padding not in ("valid", "same"):
                problem(f"layer {name}: padding {json.dumps(padding)} is not supported")
            layer = Layer("conv2d", activation=activation, use_bias=use_bias, filters=filters,
                          kernel_size=_int_pair(cfg.get("kernel_size"), f"layer {name}: kernel_size", problem),
                          strides=_int_pair(cfg.get("strides", 1), f"layer {name}: strides", problem),
                          padding=padding)
        elif kind == "Flatten":
            layer = Layer("flatten")
        elif kind == "Dense":
            units = cfg.get("units")
            if not isinstance(units, int) or isinstance(units, bool) or units < 1:
                problem(f"layer {name}: units must be a positive whole number")
            layer = Layer("dense", activation=activation, use_bias=use_bias, units=units)
        else:
            problem(f"layer type {json.dumps(kind)[:40]} is not supported (MIT's trainer makes Conv2D, "
                    f"Flatten and Dense heads)")
        layers.append(layer)
        names.append(name)
    if not layers:
        problem("the head has no layers")
    if input_shape is None:
        problem("the head does not declare its input shape (batch_input_shape)")
    if not isinstance(input_shape, list) or input_shape != [None, *ACTIVATION_SHAPE]:
        problem(f"the head's input is {json.dumps(input_shape)}, not MobileNet's conv_pw_13_relu "
                f"activation [null, {', '.join(map(str, ACTIVATION_SHAPE))}]")
    if layers[-1].kind != "dense" or layers[-1].activation != "softmax":
        problem("the head must end with a softmax Dense layer (class probabilities)")
    layer_shapes(layers, problem)
    return layers, names


def parse_weights(path, manifest, layers: list[Layer], names: list[str], blob: bytes) -> None:
    """Fill ``layers[i].weights`` from ``model.weights.bin`` as the ``weightsManifest`` lays it out."""
    def problem(text):
        _refuse(path, f"model.json: {text}")

    if (not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict)
            or not isinstance(manifest[0].get("paths"), list) or not isinstance(manifest[0].get("weights"), list)):
        problem("weightsManifest must be one group {paths, weights}")
    paths = manifest[0]["paths"]
    if paths not in (["./model.weights.bin"], ["model.weights.bin"]):
        problem(f"weightsManifest paths must be [\"{WEIGHTS_PATH}\"], not {json.dumps(paths)[:80]}")
    shapes = layer_shapes(layers, problem)
    wanted = {}
    for i, (layer, name) in enumerate(zip(layers, names)):
        for slot, shape in zip(("kernel", "bias"), weight_shapes(layer, shapes[i])):
            wanted[f"{name}/{slot}"] = (i, slot, shape)
    found, offset = {}, 0
    for spec in manifest[0]["weights"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            problem("a weightsManifest entry has no name")
        key = spec["name"]
        if key not in wanted:
            problem(f"weight {key[:60]!r} belongs to no layer of the head (expected {', '.join(wanted)})")
        if key in found:
            problem(f"weight {key!r} is listed twice")
        if spec.get("dtype", "float32") != "float32" or "quantization" in spec:
            problem(f"weight {key!r} is not plain float32")
        shape = spec.get("shape")
        if not isinstance(shape, list) or tuple(shape) != wanted[key][2]:
            problem(f"weight {key!r} has shape {json.dumps(shape)}, the layer needs {list(wanted[key][2])}")
        count = int(np.prod(shape, dtype=np.int64))
        found[key] = (offset, count)
        offset += count * 4
    missing = [k for k in wanted if k not in found]
    if missing:
        problem(f"weight {missing[0]!r} is missing from the weightsManifest")
    if offset != len(blob):
        _refuse(path, f"model.weights.bin has {len(blob):,d} bytes but the weightsManifest describes {offset:,d}")
    for key, (i, slot, shape) in wanted.items():
        start, count = found[key]
        array = np.frombuffer(blob, dtype="<f4", count=count, offset=start).reshape(shape).astype(np.float32)
        if not np.isfinite(array).all():
            _refuse(path, f"model.weights.bin: weight {key} holds NaN or infinite values")
        layers[i].weights.append(array)


def read_mdl(path: str | os.PathLike) -> Mdl:
    """Read and validate a ``.mdl`` completely (nothing is written)."""
    entries = read_entries(path)
    labels = parse_labels(path, entries["model_labels.json"])
    transfer = parse_transfer(path, entries["transfer_model.json"])
    model = _json(path, "model.json", entries["model.json"])
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        _refuse(path, "model.json is not a TF.js layers model (no modelTopology and weightsManifest)")
    layers, names = parse_topology(path, model["modelTopology"])
    parse_weights(path, model["weightsManifest"], layers, names, entries["model.weights.bin"])
    if layers[-1].units != len(labels):
        _refuse(path, f"the head has {layers[-1].units} outputs but model_labels.json names {len(labels)} labels")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return Mdl(labels=labels, layers=layers, transfer=transfer, sha256=digest)


# -- tf_keras heads <-> layers -------------------------------------------------------------------------

def keras_head(layers: list[Layer]):
    """A tf_keras Sequential head with these layers and weights."""
    from .libs import tf_keras

    keras = tf_keras()
    built = [keras.layers.InputLayer(input_shape=ACTIVATION_SHAPE)]
    for i, layer in enumerate(layers):
        name = f"head_{i + 1}_{layer.kind}"
        if layer.kind == "conv2d":
            built.append(keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides,
                                             padding=layer.padding, activation=layer.activation,
                                             use_bias=layer.use_bias, name=name))
        elif layer.kind == "flatten":
            built.append(keras.layers.Flatten(name=name))
        else:
            built.append(keras.layers.Dense(layer.units, activation=layer.activation, use_bias=layer.use_bias,
                                            name=name))
    model = keras.Sequential(built, name="pac_head")
    for layer, keras_layer in zip(layers, model.layers):
        if layer.weights:
            keras_layer.set_weights(layer.weights)
    return model


def head_layers(model, where) -> list[Layer]:
    """The layers of a tf_keras head, refused unless MIT's extension (TF.js 1.5) can run them."""
    layers = []
    for keras_layer in model.layers:
        kind = type(keras_layer).__name__
        cfg = keras_layer.get_config()
        weights = [np.asarray(w, dtype=np.float32) for w in keras_layer.get_weights()]
        if kind == "InputLayer":
            continue
        if kind == "Conv2D" and tuple(cfg.get("dilation_rate", (1, 1))) == (1, 1) and cfg.get("groups", 1) == 1:
            layer = Layer("conv2d", activation=cfg["activation"], use_bias=cfg["use_bias"], filters=cfg["filters"],
                          kernel_size=tuple(cfg["kernel_size"]), strides=tuple(cfg["strides"]),
                          padding=cfg["padding"])
        elif kind == "Flatten":
            layer = Layer("flatten")
        elif kind == "Dense":
            layer = Layer("dense", activation=cfg["activation"], use_bias=cfg["use_bias"], units=cfg["units"])
        else:
            raise PacError(f"the head's layer {keras_layer.name} ({kind}) cannot be written to a .mdl", path=where)
        if layer.activation not in ACTIVATIONS:
            raise PacError(f"the head's layer {keras_layer.name} uses activation {layer.activation}, "
                           f"which a .mdl cannot hold", path=where)
        layer.weights = weights
        layers.append(layer)
    return layers


# -- writing a .mdl ------------------------------------------------------------------------------------

def js_sorted(labels) -> list[str]:
    """Labels in JavaScript's default ``sort()`` order (UTF-16 code units), as PAC sorts them."""
    return sorted(labels, key=lambda s: s.encode("utf-16-be", "surrogatepass"))


def tfjs_topology(layers: list[Layer]) -> tuple[dict, list[dict]]:
    """``modelTopology`` and weight specs as TF.js layers 1.2.8 (MIT's trainer) writes them."""
    initializer = {"class_name": "VarianceScaling",
                   "config": {"scale": 1, "mode": "fan_in", "distribution": "normal", "seed": None}}
    zeros = {"class_name": "Zeros", "config": {}}
    counters: dict[str, int] = {}
    items, specs = [], []
    for i, layer in enumerate(layers):
        cls = {"conv2d": "Conv2D", "flatten": "Flatten", "dense": "Dense"}[layer.kind]
        counters[cls] = counters.get(cls, 0) + 1
        name = f"{cls.lower()}_{cls}{counters[cls]}"
        if layer.kind == "conv2d":
            cfg = {"filters": layer.filters, "kernel_initializer": initializer, "kernel_regularizer": None,
                   "kernel_constraint": None, "kernel_size": list(layer.kernel_size),
                   "strides": list(layer.strides), "padding": layer.padding, "data_format": "channels_last",
                   "dilation_rate": [1, 1], "activation": layer.activation, "use_bias": layer.use_bias,
                   "bias_initializer": zeros, "bias_regularizer": None, "activity_regularizer": None,
                   "bias_constraint": None}
        elif layer.kind == "dense":
            cfg = {"units": layer.units, "activation": layer.activation, "use_bias": layer.use_bias,
                   "kernel_initializer": initializer, "bias_initializer": zeros, "kernel_regularizer": None,
                   "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                   "bias_constraint": None}
        else:
            cfg = {}
        cfg.update({"name": name, "trainable": True})
        if i == 0:
            cfg.update({"batch_input_shape": [None, *ACTIVATION_SHAPE], "dtype": "float32"})
        items.append({"class_name": cls, "config": cfg})
        for slot, array in zip(("kernel", "bias"), layer.weights):
            specs.append({"name": f"{name}/{slot}", "shape": list(array.shape), "dtype": "float32"})
    topology = {"class_name": "Sequential", "config": items, "keras_version": "tfjs-layers 1.2.8",
                "backend": "tensor_flow.js"}
    return topology, specs


def mdl_bytes(labels, layers: list[Layer]) -> bytes:
    """The ``.mdl`` zip for a head whose outputs are ``labels``: labels in PAC's (JavaScript) order,
    the last layer's outputs permuted to match, STORED entries, fixed timestamps."""
    order = [list(labels).index(label) for label in js_sorted(labels)]
    layers = [dataclasses.replace(layer, weights=list(layer.weights)) for layer in layers]
    last = layers[-1]
    last.weights = [last.weights[0][:, order]] + ([last.weights[1][order]] if len(last.weights) > 1 else [])
    topology, specs = tfjs_topology(layers)
    model_json = json.dumps({"modelTopology": topology,
                             "weightsManifest": [{"paths": [WEIGHTS_PATH], "weights": specs}]},
                            separators=(",", ":"), ensure_ascii=False)
    blob = b"".join(np.ascontiguousarray(w, dtype="<f4").tobytes() for layer in layers for w in layer.weights)
    labels_json = json.dumps({str(i): labels[k] for i, k in enumerate(order)}, separators=(",", ":"),
                             ensure_ascii=False)
    files = {"model.json": model_json.encode("utf-8"), "model.weights.bin": blob,
             "model_labels.json": labels_json.encode("utf-8"), "transfer_model.json": TRANSFER_JSON.encode("utf-8")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in ENTRIES:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, files[name])
    return buffer.getvalue()


# -- the commands --------------------------------------------------------------------------------------

def _compatible(features: FeatureConfig) -> bool:
    return dataclasses.replace(features, name=PROFILE) == PROFILES[PROFILE]


def export_mdl(model_dir: str | os.PathLike, output: str | os.PathLike) -> Path:
    """``pac export-mdl``: write ``model_dir`` as a ``.mdl`` MIT's extension can load."""
    from .fsutil import write_bytes_atomic
    from .modeldir import load_head, read_manifest

    model_dir, output = Path(model_dir), Path(output)
    if output.suffix != ".mdl":
        raise PacError(f"{output}: MIT's extension only accepts model files whose name ends in .mdl")
    manifest = read_manifest(model_dir)
    if not _compatible(manifest.features):
        raise PacError(
            f"{model_dir}: trained with feature profile '{manifest.features.name}', not '{PROFILE}'. MIT's "
            f"Personal Audio Classifier extension makes its own spectrogram (MIT's server: silence-stripped "
            f"clip, matplotlib specgram, viridis, drawn at 200x200, then 224x224) and would feed this model "
            f"images unlike its training images; train with --config {PROFILE} to export a .mdl")
    if manifest.base.get("sha256") != base_sha256():
        raise PacError(f"{model_dir}: trained on other MobileNet weights than the ones MIT's extension bundles")
    layers = head_layers(load_head(model_dir, manifest), model_dir)
    data = mdl_bytes(manifest.labels, layers)
    write_bytes_atomic(output, data)
    return output


def import_mdl(mdl_path: str | os.PathLike, output: str | os.PathLike) -> Path:
    """``pac import-mdl``: validate a ``.mdl`` completely, then write a pac model folder."""
    from .fsutil import atomic_dir
    from .modeldir import MANIFEST, Manifest, base_identity, tool_versions, write_head

    output = Path(output)
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / MANIFEST).exists())):
        raise PacError(f"{output}: exists and is not a pac model folder; choose another -o")
    mdl = read_mdl(mdl_path)
    model = keras_head(mdl.layers)
    manifest = Manifest(labels=mdl.labels, features=PROFILES[PROFILE], base=base_identity(), tools=tool_versions())
    report = {"labels": list(mdl.labels),
              "imported": {"mdl": Path(mdl_path).name, "sha256": mdl.sha256, "transfer_model": mdl.transfer}}
    with atomic_dir(output) as staging:
        write_head(model, staging)
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        (staging / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    return output
