"""Writing a TF.js head: ``model.json`` and its one weight file, byte for byte what tensorflowjs wrote for
pac's heads, and never a head :func:`pac.tfjs_head.read_head` would refuse."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..base import ACTIVATION_SHAPE
from ..errors import PacError
from .keras import keras_layers
from .layers import Layer
from .read import parse_topology, parse_weights

#: The weight file :func:`write_head` writes (the name tensorflowjs' converter gives one shard).
SHARD = "group1-shard1of1.bin"
#: What :func:`write_head` writes as ``generatedBy`` (pac.json's ``tools.tfjs_writer`` says the same).
WRITER = "pac"
_GLOROT = {
    "module": "keras.initializers",
    "class_name": "GlorotUniform",
    "config": {"seed": None},
    "registered_name": None,
}
_ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
_NO_EXTRAS = {
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
}


def _layer_config(layer: Layer, name: str) -> dict:
    """One layer as tf_keras 2 ``get_config`` writes it (key order and all; initializers fixed, since
    they only matter before training)."""
    common = {"name": name, "trainable": True, "dtype": "float32"}
    if layer.kind == "conv2d":
        return {
            "class_name": "Conv2D",
            "config": {
                **common,
                "filters": layer.filters,
                "kernel_size": list(layer.kernel_size),
                "strides": list(layer.strides),
                "padding": layer.padding,
                "data_format": "channels_last",
                "dilation_rate": [1, 1],
                "groups": 1,
                "activation": layer.activation,
                "use_bias": layer.use_bias,
                "kernel_initializer": _GLOROT,
                "bias_initializer": _ZEROS,
                **_NO_EXTRAS,
            },
        }
    if layer.kind == "flatten":
        return {"class_name": "Flatten", "config": {**common, "data_format": "channels_last"}}
    return {
        "class_name": "Dense",
        "config": {
            **common,
            "units": layer.units,
            "activation": layer.activation,
            "use_bias": layer.use_bias,
            "kernel_initializer": _GLOROT,
            "bias_initializer": _ZEROS,
            **_NO_EXTRAS,
        },
    }


def head_files(
    layers: list[Layer], names: list[str], *, input_shape: tuple, where: str | os.PathLike = "model.json"
) -> tuple[bytes, bytes]:
    """``model.json`` and its weight file for a head, as bytes (see :func:`write_head`); ``where``
    is what the errors name.

    Raises
    ------
    PacError
        If :func:`read_head` would refuse the result (a layer that does not fit its input, weights of
        the wrong shape, no softmax at the end): pac never writes a head it cannot read back.
    """
    input_shape = tuple(int(n) for n in input_shape)
    items = [
        {
            "class_name": "InputLayer",
            "config": {
                "batch_input_shape": [None, *input_shape],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "pac_head_input",
            },
        }
    ]
    specs, parts = [], []
    for layer, name in zip(layers, names, strict=True):
        items.append(_layer_config(layer, name))
        for slot, array in zip(("kernel", "bias"), layer.weights):
            array = np.asarray(array)
            if array.dtype != np.float32:
                raise PacError(f"weight {name}/{slot} is {array.dtype}, not float32", path=where)
            specs.append({"name": f"{name}/{slot}", "shape": [int(n) for n in array.shape], "dtype": "float32"})
            parts.append(np.ascontiguousarray(array, dtype="<f4").tobytes())
    model = {
        "format": "layers-model",
        "generatedBy": WRITER,
        "convertedBy": None,
        "modelTopology": {
            "model_config": {"class_name": "Sequential", "config": {"name": "pac_head", "layers": items}}
        },
        "weightsManifest": [{"paths": [SHARD], "weights": specs}],
    }
    body, blob = json.dumps(model).encode("utf-8"), b"".join(parts)
    # Read it back as read_head would: every check the reader makes holds for what was written.
    checked, checked_names = parse_topology(where, model["modelTopology"], input_shape=input_shape)
    parse_weights(
        where, model["weightsManifest"], checked, checked_names, shards=lambda paths: blob, input_shape=input_shape
    )
    return body, blob


def write_head(
    head, directory: str | os.PathLike, *, names: list[str] | None = None, input_shape: tuple | None = None
) -> None:
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
            input_shape = (
                (np.shape(first.weights[0])[0],)
                if first is not None and first.kind == "dense" and first.weights
                else ACTIVATION_SHAPE
            )
    else:
        layers, names = keras_layers(head, directory, "a TF.js head")
        input_shape = tuple(head.input_shape[1:])
    body, blob = head_files(layers, names, input_shape=input_shape, where=directory / "model.json")
    (directory / SHARD).write_bytes(blob)
    (directory / "model.json").write_bytes(body)
