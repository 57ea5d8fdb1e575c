"""The registry of feature methods: what each :attr:`FeatureConfig.method` computes.

A method is a :class:`FeatureMethod`, the functions that turn a clip into the image
(:func:`pac.features.pipeline.analysis_window` and :func:`~pac.features.pipeline.spectrogram_image`
look the configuration's method up here and call them).  Each method's module registers itself:
``"pac"`` in :mod:`pac.features.pipeline`, ``"pac-compat"`` in :mod:`pac.features.compat`.

The page keeps the same registry: ``features.js``'s ``registerMethod(name, {analysisWindow,
spectrogramImage})``, which ``pac_compat.js`` calls for ``"pac-compat"``.  Adding a method means
writing its module, registering it in both, and naming it in :data:`pac.features.config.METHODS`
(the configuration's validation, which the page's constants repeat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import FeatureConfig


def no_time_shifts(config: FeatureConfig) -> bool:
    """:attr:`FeatureMethod.time_shifts_apply` of a method whose window ignores ``shift_seconds``."""
    return False


@dataclass(frozen=True)
class FeatureMethod:
    """The functions of one feature method.

    Attributes
    ----------
    analysis_window : callable
        ``analysis_window(clip, config, *, shift_seconds)`` -> the samples that become the image,
        at ``clip.rate`` (``shift_seconds`` moves a fixed window later; the trainer's time-shift
        augmentation).
    spectrogram_image : callable
        ``spectrogram_image(window, *, rate, config)`` -> the uint8 RGB image,
        ``(image_size, image_size, 3)``.
    time_shifts_apply : callable
        ``time_shifts_apply(config)`` -> whether ``shift_seconds`` changes the window under
        ``config`` (the trainer makes no shifted copies otherwise).
    """

    analysis_window: Callable[..., np.ndarray]
    spectrogram_image: Callable[..., np.ndarray]
    time_shifts_apply: Callable[[FeatureConfig], bool] = no_time_shifts


_METHODS: dict[str, FeatureMethod] = {}


def register_method(name: str, method: FeatureMethod) -> None:
    """Make ``method`` what configurations with ``method = name`` compute (``features.js``'s
    ``registerMethod``)."""
    _METHODS[name] = method


def feature_method(config: FeatureConfig) -> FeatureMethod:
    """The registered :class:`FeatureMethod` of ``config.method``.

    Raises
    ------
    KeyError
        If no module registered it (a validated configuration always names a registered method
        once :mod:`pac.features.pipeline` is imported).
    """
    try:
        return _METHODS[config.method]
    except KeyError:
        raise KeyError(
            f"feature method {config.method!r} is not registered (registered: {', '.join(sorted(_METHODS))})"
        ) from None


def registered_methods() -> tuple[str, ...]:
    """Names of the registered methods, in registration order."""
    return tuple(_METHODS)
