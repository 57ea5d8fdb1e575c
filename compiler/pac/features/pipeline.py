"""Clip -> spectrogram image -> MobileNet input, as a :class:`FeatureConfig` prescribes.

Read top-down: :func:`load_clip` (WAV file -> checked :class:`~pac.audio.Audio`),
:func:`analysis_window` (the fixed-length piece that is analysed), :func:`spectrogram_image`
(that piece -> uint8 RGB image), :func:`model_input` (image -> float32 tensor for MobileNet).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .. import audio as audio_io
from . import functional as F
from .config import FeatureConfig


def load_clip(path: str | os.PathLike, config: FeatureConfig) -> audio_io.Audio:
    """Read a WAV file and refuse it if it cannot be classified under ``config``."""
    clip = audio_io.read_wav(path)
    audio_io.check_classifiable(clip, min_duration=config.min_duration, silence_dbfs=config.silence_dbfs)
    return clip


def analysis_window(clip: audio_io.Audio, config: FeatureConfig, *, shift_seconds: float = 0.0) -> np.ndarray:
    """The samples that become the image (at the clip's own rate).

    ``shift_seconds`` moves the chosen window (positive = later), zero-filling outside the clip;
    the trainer uses it for time-shift augmentation.
    """
    if config.method == "pac-compat":
        return compat_window(clip, config)
    x = clip.samples
    if config.trim_silence_dbfs is not None:
        x = F.trim_silence(x, rate=clip.rate, threshold_dbfs=config.trim_silence_dbfs)
    if config.window_seconds is None:
        return x
    length = F.round_half_up(config.window_seconds * clip.rate)
    if config.window_select == "active":
        start, length = F.active_window(x, rate=clip.rate, min_length=length,
                                        max_length=F.round_half_up(config.max_window_seconds * clip.rate),
                                        below_peak_db=config.active_db)
    else:
        start = F.window_start(x, rate=clip.rate, length=length, select=config.window_select)
    return F.cut(x, start=start + F.round_half_up(shift_seconds * clip.rate), length=length)


def time_shifts_apply(config: FeatureConfig) -> bool:
    """Whether :func:`analysis_window`'s ``shift_seconds`` changes anything (a fixed window only)."""
    return config.method != "pac-compat" and config.window_seconds is not None


def spectrogram_image(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """Samples -> the uint8 RGB image of shape ``(image_size, image_size, 3)``."""
    if config.method == "pac-compat":
        return compat_image(window, rate=rate, config=config)
    frame_length = F.round_half_up(config.frame_seconds * rate)
    n_fft = F.next_pow2(max(frame_length, F.round_half_up(config.fft_seconds * rate)))
    power = F.power_spectrogram(window, frame_length=frame_length, n_frames=config.n_frames, n_fft=n_fft)
    if config.freq_scale == "mel":
        bank = F.mel_filterbank(rate=rate, n_fft=n_fft, n_bands=config.n_bands,
                                f_min=config.f_min, f_max=config.f_max)
        bands = power @ bank.T
    else:
        first, stop = F.linear_bin_range(rate=rate, n_fft=n_fft, f_min=config.f_min, f_max=config.f_max)
        bands = power[:, first:stop]
    unit = F.unit_decibels(bands.T[::-1], db_range=config.db_range)  # low frequencies at the bottom
    size = config.image_size
    levels = F.quantize(F.resize_bilinear(unit, height=size, width=size))
    return F.colorize(levels, lut=colormap_lut(config.colormap))


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


# -- method "pac-compat": MIT's Personal Audio Classifier ------------------------------------------

def compat_window(clip: audio_io.Audio, config: FeatureConfig) -> np.ndarray:
    """What MIT's spectrogram server analysed: the clip without pydub's silence.

    The samples are taken as ``pcm_bits`` integers (:func:`~pac.features.functional.pcm_integers`),
    MIT's silence removal runs on them (:func:`~pac.features.functional.strip_silence_pydub`,
    threshold ``trim_silence_dbfs``, dBFS relative to ``2**(pcm_bits-1)``), and the result is
    returned scaled back to [-1, 1].  Choices: if nothing louder than the threshold is left (MIT's
    server then failed), the whole clip is kept; time-shift augmentation does not apply (the
    whole clip is analysed, as with ``window_seconds = None``).
    """
    top = float(1 << (config.pcm_bits - 1))
    s = F.pcm_integers(clip.samples, bits=config.pcm_bits)
    if config.trim_silence_dbfs is not None:
        kept = F.strip_silence_pydub(s, rate=clip.rate, threshold_dbfs=config.trim_silence_dbfs, max_amplitude=top)
        if len(kept):
            s = kept
    return s / top


def compat_image(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """MIT's server spectrogram as the browser turned it into MobileNet's 224x224 image.

    1. ``pcm_integers`` again (noise mixed in by training augmentation is quantised as if recorded);
    2. ``specgram(x, Fs=rate, NFFT=mpl_nfft, noverlap=mpl_noverlap)`` in dB
       (:func:`~pac.features.functional.mpl_specgram_db`);
    3. the figure: ``imshow`` of it filling ``mpl_pixels`` x ``mpl_pixels`` (10 x 10 inches at
       100 dpi, axes over the whole figure, axis off), colour map ``colormap`` over the image's
       own min..max, as matplotlib 3.11's Agg draws it (:func:`~pac.features.functional.mpl_canvas`);
    4. the browser: ``new Image()`` of the PNG with ``width = height = browser_size``, drawn by
       ``tf.browser.fromPixels`` into a canvas of that size.  Choice: Chromium's default canvas
       smoothing (bilinear, no mipmaps) is assumed; for 1000 -> 200 it samples exactly the
       centre pixel of each 5 x 5 block (:func:`~pac.features.functional.browser_draw_positions`),
       so only those 200 x 200 pixels of the figure are computed.  Other browsers may filter
       differently, and it matters: a 5 x 5 area average instead moves pixels by 3 levels on
       average (up to 101), MobileNet's activations by ~30 % (relative L2) and changes the top-1
       label of a PAC-trained model on 22-33 % of clips (FSDD digits, Speech Commands words);
    5. ``resizeNearestNeighbor([image_size, image_size])``
       (:func:`~pac.features.functional.nearest_resize_indices`).

    Step 6, ``x / 127 - 1``, is :func:`model_input` with ``input_scale = 1/127``.  Measured
    against real matplotlib rendering the figure pixels are identical (tests/test_pac_compat.py).
    """
    s = F.pcm_integers(window, bits=config.pcm_bits)
    db = F.mpl_specgram_db(s, rate=rate, nfft=config.mpl_nfft, noverlap=config.mpl_noverlap)
    positions = F.browser_draw_positions(config.mpl_pixels, config.browser_size)
    drawn = F.mpl_canvas(db, pixels=config.mpl_pixels, rows=positions, cols=positions,
                         lut=mpl_colormap_table(config.colormap))
    index = F.nearest_resize_indices(config.browser_size, config.image_size)
    return np.ascontiguousarray(drawn[index][:, index])


@functools.lru_cache(maxsize=4)
def mpl_colormap_table(name: str) -> np.ndarray:
    """matplotlib's float RGB table (256 x 3) of colour map ``name`` (``gray`` included)."""
    from matplotlib import colormaps

    table = np.asarray(colormaps[name](np.arange(256)), dtype=np.float64)[:, :3].copy()
    table.flags.writeable = False
    return table
