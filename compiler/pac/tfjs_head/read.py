"""Reading a TF.js head: ``model.json`` parsed strictly (topology and weights manifest), the weights
checked against the layers, and a model folder's head read into layers or a tf_keras model."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import numpy as np

from ..base import ACTIVATION_SHAPE
from ..errors import PacError
from .keras import keras_head
from .layers import ACTIVATIONS, Layer, layer_shapes, weight_shapes

#: Largest model.json :func:`read_head` reads (a PAC head's is a few kB).
MAX_MODEL_JSON_BYTES = 1 << 20


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
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
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
            layer = Layer(
                "conv2d",
                activation=activation,
                use_bias=use_bias,
                filters=filters,
                kernel_size=_int_pair(cfg.get("kernel_size"), f"layer {name}: kernel_size", problem),
                strides=_int_pair(cfg.get("strides", 1), f"layer {name}: strides", problem),
                padding=padding,
            )
        elif kind == "Flatten":
            layer = Layer("flatten")
        elif kind == "Dense":
            units = cfg.get("units")
            if not isinstance(units, int) or isinstance(units, bool) or units < 1:
                problem(f"layer {name}: units must be a positive whole number")
            layer = Layer("dense", activation=activation, use_bias=use_bias, units=units)
        else:
            problem(
                f"layer type {json.dumps(kind)[:40]} is not supported (MIT's trainer makes Conv2D, "
                f"Flatten and Dense heads)"
            )
        layers.append(layer)
        names.append(name)
    if not layers:
        problem("the head has no layers")
    if input_shape is None:
        problem("the head does not declare its input shape (batch_input_shape)")
    if not isinstance(input_shape, list) or input_shape != [None, *expected]:
        what = (
            "MobileNet's conv_pw_13_relu activation" if expected == ACTIVATION_SHAPE else "the model's feature blocks"
        )
        problem(f"the head's input is {json.dumps(input_shape)}, not {what} [null, {', '.join(map(str, expected))}]")
    if layers[-1].kind != "dense" or layers[-1].activation != "softmax":
        problem("the head must end with a softmax Dense layer (class probabilities)")
    layer_shapes(layers, problem, input_shape=expected)
    return layers, names


def parse_weights(
    path, manifest, layers: list[Layer], names: list[str], *, shards, input_shape: tuple = ACTIVATION_SHAPE
) -> None:
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
    if (
        not isinstance(manifest, list)
        or len(manifest) != 1
        or not isinstance(manifest[0], dict)
        or not isinstance(manifest[0].get("paths"), list)
        or not isinstance(manifest[0].get("weights"), list)
    ):
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
    for key, (i, _slot, shape) in wanted.items():
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
            if not isinstance(name, str) or not name or any(c in name for c in "/\\:\0") or ".." in name:
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
