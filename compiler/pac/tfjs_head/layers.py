"""A TF.js head as plain data: its :class:`Layer` list, and the shapes of every layer's input and weights."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import ACTIVATION_SHAPE

ACTIVATIONS = ("relu", "linear", "softmax", "sigmoid", "tanh")


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
            size = [
                (n - k) // s + 1 if layer.padding == "valid" else -(-n // s)
                for n, k, s in zip(shape[:2], layer.kernel_size, layer.strides)
            ]
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
