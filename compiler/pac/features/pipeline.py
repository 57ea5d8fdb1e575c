"""Clip -> spectrogram image -> MobileNet input, as a :class:`FeatureConfig` prescribes.

Read top-down: :func:`load_clip` (WAV file -> checked :class:`~pac.audio.Audio`),
:func:`analysis_window` (the fixed-length piece that is analysed), :func:`spectrogram_image`
(that piece -> uint8 RGB image), :func:`model_input` (image -> float32 tensor for MobileNet).

The middle two are the configuration's feature method's (:mod:`pac.features.methods`, the
registry).  This module registers the default method, ``"pac"`` (:func:`pac_window`,
:func:`pac_image`: ``features.js``'s own pipeline); :mod:`pac.features.compat` registers
``"pac-compat"`` (``pac_compat.js``), and importing this module imports it.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .. import audio as audio_io
from . import functional as F
from .compat import mpl_colormap_table  # also registers method "pac-compat"
from .config import FeatureConfig
from .methods import FeatureMethod, feature_method, register_method


def load_clip(path: str | os.PathLike, config: FeatureConfig) -> audio_io.Audio:
    """Read a WAV file and refuse it if it cannot be classified under ``config``."""
    clip = audio_io.read_wav(path)
    audio_io.check_classifiable(clip, min_duration=config.min_duration, silence_dbfs=config.silence_dbfs)
    return clip


def analysis_window(clip: audio_io.Audio, config: FeatureConfig, *, shift_seconds: float = 0.0) -> np.ndarray:
    """The samples that become the image (at the clip's own rate), by ``config.method``.

    ``shift_seconds`` moves the chosen window (positive = later), zero-filling outside the clip;
    the trainer uses it for time-shift augmentation (see :func:`time_shifts_apply`).
    """
    return feature_method(config).analysis_window(clip, config, shift_seconds=shift_seconds)


def time_shifts_apply(config: FeatureConfig) -> bool:
    """Whether :func:`analysis_window`'s ``shift_seconds`` changes anything under ``config``."""
    return feature_method(config).time_shifts_apply(config)


def spectrogram_image(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """Samples -> the uint8 RGB image of shape ``(image_size, image_size, 3)``, by ``config.method``."""
    return feature_method(config).spectrogram_image(window, rate=rate, config=config)


def clip_image(clip: audio_io.Audio, config: FeatureConfig, *, shift_seconds: float = 0.0) -> np.ndarray:
    """:func:`analysis_window` then :func:`spectrogram_image`."""
    window = analysis_window(clip, config, shift_seconds=shift_seconds)
    return spectrogram_image(window, rate=clip.rate, config=config)


def model_input(images: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """uint8 RGB image(s) -> float32 MobileNet input."""
    return F.mobilenet_input(images, scale=config.input_scale, offset=config.input_offset)


@functools.lru_cache(maxsize=4)
def colormap_lut(name: str) -> np.ndarray | None:
    """The 256-entry uint8 RGB table of a colour map (``None`` for grey).

    Named maps come from matplotlib's definition, sampled at the 256 levels and rounded half up;
    the JS runtime receives this same table.
    """
    if name == "gray":
        return None
    lut = F.quantize(mpl_colormap_table(name))
    lut.flags.writeable = False
    return lut


# -- method "pac" (features.js's analysisWindow and spectrogramImage) ------------------------------


def pac_window(clip: audio_io.Audio, config: FeatureConfig, *, shift_seconds: float = 0.0) -> np.ndarray:
    """Method ``"pac"``'s analysis window: silence trimmed, then the window ``window_select`` picks."""
    x = clip.samples
    if config.trim_silence_dbfs is not None:
        x = F.trim_silence(x, rate=clip.rate, threshold_dbfs=config.trim_silence_dbfs)
    if config.window_seconds is None:
        return x
    length = F.round_half_up(config.window_seconds * clip.rate)
    if config.window_select == "active":
        start, length = F.active_window(
            x,
            rate=clip.rate,
            min_length=length,
            max_length=F.round_half_up(config.max_window_seconds * clip.rate),
            below_peak_db=config.active_db,
        )
    else:
        start = F.window_start(x, rate=clip.rate, length=length, select=config.window_select)
    return F.cut(x, start=start + F.round_half_up(shift_seconds * clip.rate), length=length)


def pac_time_shifts_apply(config: FeatureConfig) -> bool:
    """Method ``"pac"`` shifts a fixed window only (``window_seconds`` set)."""
    return config.window_seconds is not None


def pac_image(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """Method ``"pac"``'s image: power spectrogram, mel or linear bands, decibels, resized,
    quantised and coloured (steps 4-7 of :mod:`pac.features.config`)."""
    frame_length = F.round_half_up(config.frame_seconds * rate)
    n_fft = F.next_pow2(max(frame_length, F.round_half_up(config.fft_seconds * rate)))
    power = F.power_spectrogram(window, frame_length=frame_length, n_frames=config.n_frames, n_fft=n_fft)
    if config.freq_scale == "mel":
        bank = F.mel_filterbank(
            rate=rate,
            n_fft=n_fft,
            n_bands=config.n_bands,
            f_min=config.f_min,
            f_max=config.f_max,
            f_limit=config.f_limit,
        )
        bands = power @ bank.T
    else:
        first, stop = F.linear_bin_range(
            rate=rate, n_fft=n_fft, f_min=config.f_min, f_max=config.f_max, f_limit=config.f_limit
        )
        bands = power[:, first:stop]
    unit = F.unit_decibels(bands.T[::-1], db_range=config.db_range)  # low frequencies at the bottom
    size = config.image_size
    levels = F.quantize(F.resize_bilinear(unit, height=size, width=size))
    return F.colorize(levels, lut=colormap_lut(config.colormap))


register_method(
    "pac",
    FeatureMethod(analysis_window=pac_window, spectrogram_image=pac_image, time_shifts_apply=pac_time_shifts_apply),
)
