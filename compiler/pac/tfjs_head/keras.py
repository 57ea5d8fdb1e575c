"""tf_keras heads <-> :class:`~pac.tfjs_head.Layer` lists (tf_keras is imported only when one is built)."""

from __future__ import annotations

import numpy as np

from ..base import ACTIVATION_SHAPE
from ..errors import PacError
from .layers import ACTIVATIONS, Layer


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
    from ..libs import tf_keras

    keras = tf_keras()
    names = names or [f"head_{i + 1}_{layer.kind}" for i, layer in enumerate(layers)]
    built = [keras.layers.InputLayer(input_shape=tuple(input_shape))]
    for layer, name in zip(layers, names):
        if layer.kind == "conv2d":
            built.append(
                keras.layers.Conv2D(
                    layer.filters,
                    layer.kernel_size,
                    strides=layer.strides,
                    padding=layer.padding,
                    activation=layer.activation,
                    use_bias=layer.use_bias,
                    name=name,
                )
            )
        elif layer.kind == "flatten":
            built.append(keras.layers.Flatten(name=name))
        else:
            built.append(
                keras.layers.Dense(layer.units, activation=layer.activation, use_bias=layer.use_bias, name=name)
            )
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
    return keras_layers(model, where, "a .mdl")[0]


def keras_layers(model, where, target: str) -> tuple[list[Layer], list[str]]:
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
            layer = Layer(
                "conv2d",
                activation=cfg["activation"],
                use_bias=cfg["use_bias"],
                filters=cfg["filters"],
                kernel_size=tuple(cfg["kernel_size"]),
                strides=tuple(cfg["strides"]),
                padding=cfg["padding"],
            )
        elif kind == "Flatten":
            layer = Layer("flatten")
        elif kind == "Dense":
            layer = Layer("dense", activation=cfg["activation"], use_bias=cfg["use_bias"], units=cfg["units"])
        else:
            raise PacError(f"the head's layer {keras_layer.name} ({kind}) cannot be written to {target}", path=where)
        if layer.activation not in ACTIVATIONS:
            raise PacError(
                f"the head's layer {keras_layer.name} uses activation {layer.activation}, which {target} cannot hold",
                path=where,
            )
        layer.weights = weights
        layers.append(layer)
        names.append(keras_layer.name)
    return layers, names
