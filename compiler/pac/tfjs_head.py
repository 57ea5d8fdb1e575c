"""A classifier head as a TF.js layers model: parse, read and write it, build the tf_keras model.

A TF.js layers model is ``model.json``, ``{"modelTopology": ..., "weightsManifest": [{"paths": [...],
"weights": [...]}]}``, plus the weight files its manifest names: little-endian float32 values, in
``weights`` order, split over the files in ``paths`` order.  pac model folders (written by
:func:`write_head`; earlier by tensorflowjs' ``save_keras_model``, whose files differ only in
metadata) and MIT's ``.mdl`` files (see :mod:`pac.mdl`) hold their head this way.  This
module reads and writes such heads without the ``tensorflowjs`` package (whose import costs seconds
and whose dependencies pin protobuf): only the layers a PAC head uses (Conv2D, Flatten, Dense) on
MobileNet's ``[7, 7, 256]`` activation, or a Dense layer on a linear head's feature blocks.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path, PurePosixPath

import numpy as np

from .base import ACTIVATION_SHAPE
from .errors import PacError

ACTIVATIONS = ("relu", "linear", "softmax", "sigmoid", "tanh")
#: Largest model.json :func:`read_head` reads (a PAC head's is a few kB).
MAX_MODEL_JSON_BYTES = 1 << 20


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


def layer_shapes(layers: list[Layer], problem, *, input_shape: tuple = ACTIVATION_SHAPE) -> list[tuple]:
    """Input shape of every layer and, last, the head's output shape.

    Parameters
    ----------
    layers : list of Layer
        The head, first layer first; its input is MobileNet's ``[7, 7, 256]`` activation.
    problem : callable
        ``problem(text)`` raises for a layer that cannot take its input.
    input_shape : tuple
        The head's input without the batch dimension.

    Returns
    -------
    list of tuple
        ``len(layers) + 1`` shapes, without the batch dimension.
    """
    shapes = [tuple(input_shape)]
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
    """Shapes of ``layer``'s weights in TF.js/Keras order: kernel, then bias.

    Parameters
    ----------
    layer : Layer
        The layer.
    input_shape : tuple
        Its input shape without the batch dimension (see :func:`layer_shapes`).

    Returns
    -------
    list of tuple
        ``[]`` for a layer without weights.
    """
    if layer.kind == "conv2d":
        return [(*layer.kernel_size, input_shape[-1], layer.filters)] + ([(layer.filters,)] if layer.use_bias else [])
    if layer.kind == "dense":
        return [(input_shape[-1], layer.units)] + ([(layer.units,)] if layer.use_bias else [])
    return []


# -- parsing model.json --------------------------------------------------------------------------------

def _refuse(path, text: str):
    raise PacError(text, path=path)


def _model_json_problem(path):
    """``problem(text)``: raise a PacError naming ``path`` and, inside a ``.mdl``, its model.json."""
    prefix = "" if Path(path).name == "model.json" else "model.json: "

    def problem(text):
        _refuse(path, f"{prefix}{text}")

    return problem


def parse_json(path, name: str, body: bytes):
    """Strict JSON: UTF-8, no repeated keys.

    Parameters
    ----------
    path : path
        The file the errors name.
    name : str
        What the errors call the text (``model.json``, an entry of a ``.mdl``).
    body : bytes
        The text.

    Raises
    ------
    PacError
        One line naming ``path`` and ``name`` for text that is not UTF-8 or not valid JSON.
    """
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


def _int_pair(value, what: str, problem) -> tuple[int, int]:
    """``value`` (a positive int or a list of two) as a pair; ``problem(text)`` raises otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        problem(f"{what} must be two positive whole numbers, not {json.dumps(value)}")
    return tuple(value)


def parse_topology(path, topology, *, input_shape: tuple = ACTIVATION_SHAPE) -> tuple[list[Layer], list[str]]:
    """The head's layers (and their names) from a Keras or TF.js ``modelTopology``.

    Parameters
    ----------
    path : path
        The file the errors name.
    topology : object
        ``modelTopology`` as decoded JSON: a ``Sequential`` whose ``config`` is a list of layers (TF.js
        layers 1.2.8, MIT's trainer) or ``{"name", "layers"}`` (later TF.js), possibly wrapped in
        ``model_config`` (tf_keras exports).
    input_shape : tuple
        The input the head must declare: MobileNet's activation (PAC's head, ``.mdl`` files), or
        the joined feature blocks of a linear head (``[values]``).

    Returns
    -------
    layers : list of Layer
        The layers without weights (the input layer left out).
    names : list of str
        Their names, which the ``weightsManifest`` uses.

    Raises
    ------
    PacError
        ``<path>: model.json: ...`` (``<path>: ...`` if ``path`` is the model.json) for a head pac
        cannot run.
    """
    problem = _model_json_problem(path)
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
    expected, (layers, names, input_shape) = tuple(input_shape), ([], [], None)
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
    if not isinstance(input_shape, list) or input_shape != [None, *expected]:
        what = ("MobileNet's conv_pw_13_relu activation" if expected == ACTIVATION_SHAPE
                else "the model's feature blocks")
        problem(f"the head's input is {json.dumps(input_shape)}, not {what} "
                f"[null, {', '.join(map(str, expected))}]")
    if layers[-1].kind != "dense" or layers[-1].activation != "softmax":
        problem("the head must end with a softmax Dense layer (class probabilities)")
    layer_shapes(layers, problem, input_shape=expected)
    return layers, names


def parse_weights(path, manifest, layers: list[Layer], names: list[str], *, shards,
                  input_shape: tuple = ACTIVATION_SHAPE) -> None:
    """Fill ``layers[i].weights`` from the weight files as the ``weightsManifest`` lays them out.

    Parameters
    ----------
    path : path
        The file the errors name.
    manifest : object
        ``weightsManifest`` as decoded JSON; it must be one group ``{paths, weights}``.
    layers, names : list
        The head as :func:`parse_topology` returns it; the weights are appended to ``layers``.
    shards : callable
        ``shards(paths)``, given the group's ``paths`` (a list, as the manifest has it), returns the
        concatenated bytes of those files, in order, or raises :class:`PacError` for paths the caller
        does not accept.

    Raises
    ------
    PacError
        ``<path>: ...`` for weights missing, extra, of the wrong shape, dtype or size, or not finite.
    """
    problem = _model_json_problem(path)
    if (not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict)
            or not isinstance(manifest[0].get("paths"), list) or not isinstance(manifest[0].get("weights"), list)):
        problem("weightsManifest must be one group {paths, weights}")
    paths = manifest[0]["paths"]
    blob = shards(paths)
    files = ", ".join(PurePosixPath(p).name for p in paths)
    wanted = _wanted_weights(layers, names, problem, input_shape)
    found, offset = {}, 0
    for spec in manifest[0]["weights"]:
        key, count = _weight_spec(spec, wanted, found, problem)
        found[key] = (offset, count)
        offset += count * 4
    missing = [k for k in wanted if k not in found]
    if missing:
        problem(f"weight {missing[0]!r} is missing from the weightsManifest")
    if offset != len(blob):
        _refuse(path, f"{files} has {len(blob):,d} bytes but the weightsManifest describes {offset:,d}")
    for key, (i, slot, shape) in wanted.items():
        start, count = found[key]
        array = np.frombuffer(blob, dtype="<f4", count=count, offset=start).reshape(shape).astype(np.float32)
        if not np.isfinite(array).all():
            _refuse(path, f"{files}: weight {key} holds NaN or infinite values")
        layers[i].weights.append(array)


def _wanted_weights(layers: list[Layer], names: list[str], problem, input_shape: tuple) -> dict[str, tuple]:
    """``{"<layer name>/kernel": (layer index, "kernel", shape), ...}`` for every weight of the head."""
    shapes = layer_shapes(layers, problem, input_shape=input_shape)
    wanted = {}
    for i, (layer, name) in enumerate(zip(layers, names)):
        for slot, shape in zip(("kernel", "bias"), weight_shapes(layer, shapes[i])):
            wanted[f"{name}/{slot}"] = (i, slot, shape)
    return wanted


def _weight_spec(spec, wanted: dict, found: dict, problem) -> tuple[str, int]:
    """The name and number of values of one ``weightsManifest`` entry, checked against the head."""
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
    return key, int(np.prod(shape, dtype=np.int64))


# -- reading a model folder's head ----------------------------------------------------------------------

def folder_shards(model_json: str | os.PathLike):
    """A ``shards`` reader (see :func:`parse_weights`) for the weight files beside ``model_json``.

    Parameters
    ----------
    model_json : path
        The ``model.json`` whose folder holds the weight files.

    Returns
    -------
    callable
        ``shards(paths)``: the concatenated bytes of the files, refused unless every path is a plain
        file name (no slash, backslash, ``:`` - a drive or stream on Windows - or ``..``) of a
        readable file in that folder.
    """
    model_json = Path(model_json)
    problem = _model_json_problem(model_json)

    def shards(paths) -> bytes:
        if not paths:
            problem("the weightsManifest names no weight files")
        for name in paths:
            if (not isinstance(name, str) or not name or any(c in name for c in "/\\:\0") or ".." in name):
                problem(f"weight file {json.dumps(name)[:80]} is not a plain file name inside the model folder")
        parts = []
        for name in paths:
            try:
                parts.append((model_json.parent / name).read_bytes())
            except OSError as exc:
                problem(f"cannot read weight file {name} ({exc.strerror or exc})")
        return b"".join(parts)

    return shards


def _read(model_json, *, input_shape: tuple = ACTIVATION_SHAPE) -> tuple[list[Layer], list[str]]:
    """The layers (weights filled in) and their names of the head in ``model_json``."""
    path = Path(model_json)
    try:
        with open(path, "rb") as handle:
            body = handle.read(MAX_MODEL_JSON_BYTES + 1)
    except OSError as exc:
        _refuse(path, f"cannot read the head ({exc.strerror or exc})")
    if len(body) > MAX_MODEL_JSON_BYTES:
        _refuse(path, f"more than {MAX_MODEL_JSON_BYTES:,d} bytes, too big for a PAC head's model.json")
    model = parse_json(path, "model.json", body)
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        _refuse(path, "model.json is not a TF.js layers model (no modelTopology and weightsManifest)")
    layers, names = parse_topology(path, model["modelTopology"], input_shape=input_shape)
    parse_weights(path, model["weightsManifest"], layers, names, shards=folder_shards(path), input_shape=input_shape)
    return layers, names


def read_head(model_json: str | os.PathLike, *, input_shape: tuple = ACTIVATION_SHAPE):
    """The tf_keras head saved as a TF.js layers model, read without the ``tensorflowjs`` package.

    Parameters
    ----------
    model_json : path
        The head's ``model.json``; its weight files are in the same folder.
    input_shape : tuple
        The input the head must take (see :func:`parse_topology`).

    Returns
    -------
    tf_keras.Sequential
        The head with the saved layer names and bit-identical weights.

    Raises
    ------
    PacError
        One line naming ``model_json`` for a missing, unreadable or malformed head.
    """
    layers, names = _read(model_json, input_shape=input_shape)
    return keras_head(layers, names=names, input_shape=input_shape)


# -- tf_keras heads <-> layers -------------------------------------------------------------------------

def keras_head(layers: list[Layer], *, names: list[str] | None = None, input_shape: tuple = ACTIVATION_SHAPE):
    """A tf_keras Sequential head with these layers and weights.

    Parameters
    ----------
    layers : list of Layer
        The layers, with or without weights.
    names : list of str, optional
        The layers' names; by default ``head_<n>_<kind>``.
    input_shape : tuple
        Its input without the batch dimension (default MobileNet's ``[7, 7, 256]``).

    Returns
    -------
    tf_keras.Sequential
        The head, named ``pac_head``.
    """
    from .libs import tf_keras

    keras = tf_keras()
    names = names or [f"head_{i + 1}_{layer.kind}" for i, layer in enumerate(layers)]
    built = [keras.layers.InputLayer(input_shape=tuple(input_shape))]
    for layer, name in zip(layers, names):
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
    """The layers of a tf_keras head, refused unless MIT's extension (TF.js 1.5) can run them.

    Parameters
    ----------
    model : tf_keras.Model
        A head of Conv2D, Flatten and Dense layers.
    where : path
        What the errors name (the model folder).

    Returns
    -------
    list of Layer
        The layers with their weights as float32 arrays.

    Raises
    ------
    PacError
        For a layer or activation a ``.mdl`` cannot hold.
    """
    return _keras_layers(model, where, "a .mdl")[0]


def _keras_layers(model, where, target: str) -> tuple[list[Layer], list[str]]:
    """The layers (weights filled in) and names of a tf_keras head; ``target`` names what refuses
    other layers in the errors (``"a .mdl"``)."""
    layers, names = [], []
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
            raise PacError(f"the head's layer {keras_layer.name} ({kind}) cannot be written to {target}", path=where)
        if layer.activation not in ACTIVATIONS:
            raise PacError(f"the head's layer {keras_layer.name} uses activation {layer.activation}, "
                           f"which {target} cannot hold", path=where)
        layer.weights = weights
        layers.append(layer)
        names.append(keras_layer.name)
    return layers, names


# -- writing a model folder's head ----------------------------------------------------------------------

#: The weight file :func:`write_head` writes (the name tensorflowjs' converter gives one shard).
SHARD = "group1-shard1of1.bin"
#: What :func:`write_head` writes as ``generatedBy`` (pac.json's ``tools.tfjs_writer`` says the same).
WRITER = "pac"
_GLOROT = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
           "registered_name": None}
_ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
_NO_EXTRAS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None}


def _layer_config(layer: Layer, name: str) -> dict:
    """One layer as tf_keras 2 ``get_config`` writes it (key order and all; initializers fixed, since
    they only matter before training)."""
    common = {"name": name, "trainable": True, "dtype": "float32"}
    if layer.kind == "conv2d":
        return {"class_name": "Conv2D", "config": {
            **common, "filters": layer.filters, "kernel_size": list(layer.kernel_size),
            "strides": list(layer.strides), "padding": layer.padding, "data_format": "channels_last",
            "dilation_rate": [1, 1], "groups": 1, "activation": layer.activation, "use_bias": layer.use_bias,
            "kernel_initializer": _GLOROT, "bias_initializer": _ZEROS, **_NO_EXTRAS}}
    if layer.kind == "flatten":
        return {"class_name": "Flatten", "config": {**common, "data_format": "channels_last"}}
    return {"class_name": "Dense", "config": {
        **common, "units": layer.units, "activation": layer.activation, "use_bias": layer.use_bias,
        "kernel_initializer": _GLOROT, "bias_initializer": _ZEROS, **_NO_EXTRAS}}


def head_files(layers: list[Layer], names: list[str], *, input_shape: tuple,
               where: str | os.PathLike = "model.json") -> tuple[bytes, bytes]:
    """``model.json`` and its weight file for a head, as bytes (see :func:`write_head`); ``where``
    is what the errors name.

    Raises
    ------
    PacError
        If :func:`read_head` would refuse the result (a layer that does not fit its input, weights of
        the wrong shape, no softmax at the end): pac never writes a head it cannot read back.
    """
    input_shape = tuple(int(n) for n in input_shape)
    items = [{"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, *input_shape], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "pac_head_input"}}]
    specs, parts = [], []
    for layer, name in zip(layers, names, strict=True):
        items.append(_layer_config(layer, name))
        for slot, array in zip(("kernel", "bias"), layer.weights):
            array = np.asarray(array)
            if array.dtype != np.float32:
                raise PacError(f"weight {name}/{slot} is {array.dtype}, not float32", path=where)
            specs.append({"name": f"{name}/{slot}", "shape": [int(n) for n in array.shape], "dtype": "float32"})
            parts.append(np.ascontiguousarray(array, dtype="<f4").tobytes())
    model = {"format": "layers-model", "generatedBy": WRITER, "convertedBy": None,
             "modelTopology": {"model_config": {"class_name": "Sequential",
                                                "config": {"name": "pac_head", "layers": items}}},
             "weightsManifest": [{"paths": [SHARD], "weights": specs}]}
    body, blob = json.dumps(model).encode("utf-8"), b"".join(parts)
    # Read it back as read_head would: every check the reader makes holds for what was written.
    checked, checked_names = parse_topology(where, model["modelTopology"], input_shape=input_shape)
    parse_weights(where, model["weightsManifest"], checked, checked_names, shards=lambda paths: blob,
                  input_shape=input_shape)
    return body, blob


def write_head(head, directory: str | os.PathLike, *, names: list[str] | None = None,
               input_shape: tuple | None = None) -> None:
    """Write a head as a TF.js layers model: ``model.json`` and ``group1-shard1of1.bin`` in ``directory``.

    The files are what tensorflowjs' ``save_keras_model`` wrote for pac's heads (a Keras 2 topology
    with ``batch_input_shape``, one weight group, little-endian float32 in layer order, kernel before
    bias), which ``tf.loadLayersModel`` and :func:`read_head` read, without the ``tensorflowjs``
    package.  The same head gives the same bytes.

    Parameters
    ----------
    head : tf_keras.Model or list of Layer
        PAC's conv head (Conv2D, Flatten, Dense) or the linear head (Dense on a flat input); a list
        of :class:`Layer` with their weights (float32) is written as :func:`keras_head` would build it.
    directory : path
        An existing folder; ``model.json`` and the shard in it are replaced.
    names : list of str, optional
        For a list of layers: their names (default ``head_<n>_<kind>``, as :func:`keras_head`).
    input_shape : tuple, optional
        For a list of layers: the input without the batch dimension (default: a Dense first layer's
        kernel rows, else MobileNet's ``[7, 7, 256]``).

    Raises
    ------
    PacError
        For a layer, activation or shape the head cannot have.
    """
    directory = Path(directory)
    if isinstance(head, list):
        layers = head
        names = names or [f"head_{i + 1}_{layer.kind}" for i, layer in enumerate(layers)]
        if input_shape is None:
            first = layers[0] if layers else None
            input_shape = ((np.shape(first.weights[0])[0],) if first is not None and first.kind == "dense"
                           and first.weights else ACTIVATION_SHAPE)
    else:
        layers, names = _keras_layers(head, directory, "a TF.js head")
        input_shape = tuple(head.input_shape[1:])
    body, blob = head_files(layers, names, input_shape=input_shape, where=directory / "model.json")
    (directory / SHARD).write_bytes(blob)
    (directory / "model.json").write_bytes(body)
