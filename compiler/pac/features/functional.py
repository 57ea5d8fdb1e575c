"""Pure signal-processing functions of the default feature method, ``"pac"`` (``features.js``).

Each function takes arrays and keyword-only parameters and returns a new array; nothing here reads
files or a configuration object.  All arithmetic is float64 and every rounding is spelled out
(``floor(x + 0.5)``, never banker's rounding) so that the JavaScript runtime, which computes in
float64 too, reproduces the same numbers operation by operation.  The speech front end
(:mod:`pac.features.speech`) shares some of them; MIT's emulation, method ``"pac-compat"``, has its
own in :mod:`pac.features.compat`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import PacError

#: Power floor before taking decibels (-100 dB).
POWER_FLOOR = 1e-10
#: Chunk length for silence trimming and the step of the energy-window search.
CHUNK_SECONDS = 0.01


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves upwards (JavaScript's ``Math.round``)."""
    return int(math.floor(x + 0.5))


def next_pow2(n: int) -> int:
    """Smallest power of two >= ``n`` (and >= 1)."""
    return 1 << max(0, int(n) - 1).bit_length()


def chunk_mean_squares(x: np.ndarray, *, rate: int) -> np.ndarray:
    """Mean square of each 10 ms chunk of ``x`` (the last chunk may be shorter), summed pairwise
    like numpy's ``sum`` (the JS runtime replicates the order)."""
    chunk = max(1, round_half_up(CHUNK_SECONDS * rate))
    n_chunks = -(-len(x) // chunk)
    padded = np.zeros(n_chunks * chunk)
    padded[: len(x)] = x
    sizes = np.full(n_chunks, chunk, dtype=np.float64)
    sizes[-1] = len(x) - (n_chunks - 1) * chunk
    return (padded.reshape(n_chunks, chunk) ** 2).sum(axis=1) / sizes


def trim_silence(x: np.ndarray, *, rate: int, threshold_dbfs: float) -> np.ndarray:
    """Drop every 10 ms chunk whose RMS level is below ``threshold_dbfs`` and join the rest.

    Parameters
    ----------
    x : ndarray
        Mono samples in [-1, 1].
    rate : int
        Sample rate in Hz.
    threshold_dbfs : float
        Chunks quieter than this (RMS, dB full scale) are removed.

    Returns
    -------
    ndarray
        The kept chunks, in order; the input unchanged if no chunk is loud enough.
    """
    chunk = max(1, round_half_up(CHUNK_SECONDS * rate))
    mean_square = chunk_mean_squares(x, rate=rate)
    keep = mean_square >= 10.0 ** (threshold_dbfs / 10.0)
    if not keep.any():
        return x.copy()
    pieces = [x[i * chunk : (i + 1) * chunk] for i in np.flatnonzero(keep)]
    return np.concatenate(pieces)


def window_start(x: np.ndarray, *, rate: int, length: int, select: str) -> int:
    """Index of the first sample of the analysis window (negative = zeros before the clip).

    Clips no longer than ``length`` are centred: ``-floor((length - n) / 2)``.  Longer clips:
    ``"start"`` -> 0, ``"center"`` -> ``floor((n - length) / 2)``, ``"energy"`` -> the start, on a
    10 ms grid (the last possible start included), whose window has the largest sum of squares;
    the first such start on ties.
    """
    n = len(x)
    if n <= length:
        return -((length - n) // 2)
    if select == "start":
        return 0
    if select == "center":
        return (n - length) // 2
    step = max(1, round_half_up(CHUNK_SECONDS * rate))
    starts = np.arange(0, n - length + 1, step)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    cumulative = np.concatenate(([0.0], np.cumsum(x * x)))
    energy = cumulative[starts + length] - cumulative[starts]
    return int(starts[int(np.argmax(energy))])


def active_span(x: np.ndarray, *, rate: int, below_peak_db: float) -> tuple[int, int]:
    """``(first, stop)``: the samples from the first to the last 10 ms chunk whose mean square is
    within ``below_peak_db`` dB of the loudest chunk's (the sound, without the quiet before and after)."""
    chunk = max(1, round_half_up(CHUNK_SECONDS * rate))
    mean_square = chunk_mean_squares(x, rate=rate)
    loud = np.flatnonzero(mean_square >= mean_square.max() * 10.0 ** (-below_peak_db / 10.0))
    return int(loud[0]) * chunk, min(len(x), (int(loud[-1]) + 1) * chunk)


def active_window(
    x: np.ndarray, *, rate: int, min_length: int, max_length: int, below_peak_db: float
) -> tuple[int, int]:
    """``(start, length)`` of the analysis window that shows the sound (``window_select = "active"``).

    The sound is :func:`active_span`.  A sound shorter than ``min_length`` is centred in a window of
    ``min_length`` samples (kept inside the clip when the clip is longer than that; otherwise the
    window runs into zeros); a longer one is the window itself, so long sounds are shown whole,
    squeezed in time; past ``max_length`` samples, the loudest ``max_length`` of the sound.
    """
    first, stop = active_span(x, rate=rate, below_peak_db=below_peak_db)
    span = stop - first
    if span <= min_length:
        start = (first + stop) // 2 - min_length // 2
        if len(x) > min_length:
            start = min(max(start, 0), len(x) - min_length)
        return start, min_length
    if span <= max_length:
        return first, span
    return first + window_start(x[first:stop], rate=rate, length=max_length, select="energy"), max_length


def cut(x: np.ndarray, *, start: int, length: int) -> np.ndarray:
    """``x[start:start+length]`` with zeros wherever that range lies outside ``x``."""
    out = np.zeros(length)
    lo, hi = max(start, 0), min(start + length, len(x))
    if hi > lo:
        out[lo - start : hi - start] = x[lo:hi]
    return out


@functools.lru_cache(maxsize=16)
def hann(n: int) -> np.ndarray:
    """Periodic Hann window: ``0.5 - 0.5 cos(2 pi k / n)`` for k = 0..n-1."""
    k = np.arange(n)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)
    w.flags.writeable = False
    return w


def frame_starts(n_samples: int, *, frame_length: int, n_frames: int) -> np.ndarray:
    """Starts of ``n_frames`` frames spread evenly from 0 to ``n_samples - frame_length``.

    ``start_i = floor(i * (n_samples - frame_length) / (n_frames - 1) + 0.5)``.
    """
    span = max(0, n_samples - frame_length)
    i = np.arange(n_frames, dtype=np.float64)
    return np.floor(i * span / (n_frames - 1) + 0.5).astype(np.int64)


def power_spectrogram(x: np.ndarray, *, frame_length: int, n_frames: int, n_fft: int) -> np.ndarray:
    """Hann-windowed power spectra ``|rfft(frame * hann, n_fft)|**2``, shape ``(n_frames, n_fft//2+1)``.

    A signal shorter than one frame is zero-padded to a frame first.
    """
    if len(x) < frame_length:
        x = cut(x, start=0, length=frame_length)
    starts = frame_starts(len(x), frame_length=frame_length, n_frames=n_frames)
    frames = x[starts[:, None] + np.arange(frame_length)[None, :]] * hann(frame_length)
    spectrum = np.fft.rfft(frames, n=n_fft, axis=1)
    return spectrum.real**2 + spectrum.imag**2


def hz_to_mel(f):
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`: ``700 (10**(m / 2595) - 1)``."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    *, rate: int, n_fft: int, n_bands: int, f_min: float, f_max: float, f_limit: float | None = None
) -> np.ndarray:
    """Triangular HTK-mel filters, shape ``(n_bands, n_fft//2+1)``, peak weight 1, no area norm.

    Band edges: ``n_bands + 2`` points evenly spaced in mel from ``f_min`` to ``f_max``
    (``edge_j = mel_to_hz(mel_lo + j * (mel_hi - mel_lo) / (n_bands + 1))``).  Bin ``k`` sits at
    ``k * rate / n_fft`` Hz; bands above the Nyquist frequency stay empty.  Bins above ``f_limit``
    (when given) weigh 0, as if the clip's rate were ``2 * f_limit``.
    """
    mel_lo, mel_hi = float(hz_to_mel(f_min)), float(hz_to_mel(f_max))
    j = np.arange(n_bands + 2, dtype=np.float64)
    edges = mel_to_hz(mel_lo + j * (mel_hi - mel_lo) / (n_bands + 1))
    weights = triangle_filters(edges, rate=rate, n_fft=n_fft)
    if f_limit is not None:
        weights[:, np.arange(n_fft // 2 + 1, dtype=np.float64) * rate / n_fft > f_limit] = 0.0
    weights.flags.writeable = False
    return weights


def triangle_filters(edges: np.ndarray, *, rate: float, n_fft: int, slaney: bool = False) -> np.ndarray:
    """Triangles between consecutive band ``edges`` (Hz) over the FFT bins ``k * rate / n_fft``,
    shape ``(len(edges) - 2, n_fft//2+1)``, peak 1; ``slaney`` scales each band by
    ``2 / (upper - lower)`` (equal areas, librosa's ``norm="slaney"``).  ``features.js``'s
    ``triangleBands`` computes the same."""
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64) * rate / n_fft
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (center - lower)
    falling = (upper - bins[None, :]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (upper - lower)) if slaney else weights


@functools.lru_cache(maxsize=32)
def linear_bin_range(
    *, rate: int, n_fft: int, f_min: float, f_max: float, f_limit: float | None = None
) -> tuple[int, int]:
    """``(first, stop)`` FFT bins with ``f_min <= k * rate / n_fft <= min(f_max, rate / 2, f_limit)``."""
    top = min(f_max, rate / 2.0, np.inf if f_limit is None else f_limit)
    k = np.arange(n_fft // 2 + 1, dtype=np.float64) * rate / n_fft
    inside = np.flatnonzero((k >= f_min) & (k <= top))
    if not len(inside):
        raise PacError(f"no FFT bin lies between f_min and f_max at {rate} Hz")
    return int(inside[0]), int(inside[-1]) + 1


def unit_decibels(power: np.ndarray, *, db_range: float | None) -> np.ndarray:
    """Power -> decibels -> 0..1.

    ``db = 10 log10(max(power, 1e-10))``.  With ``db_range``: ``(max(db - db.max(), -db_range) +
    db_range) / db_range``; without: ``(db - db.min()) / (db.max() - db.min())``.  An image with
    no power above the floor (or no contrast) is all zeros.
    """
    db = 10.0 * np.log10(np.maximum(power, POWER_FLOOR))
    top = db.max()
    floor_db = 10.0 * math.log10(POWER_FLOOR)
    if top <= floor_db:
        return np.zeros_like(db)
    if db_range is None:
        bottom = db.min()
        if top == bottom:
            return np.zeros_like(db)
        return (db - bottom) / (top - bottom)
    return (np.maximum(db - top, -db_range) + db_range) / db_range


@functools.lru_cache(maxsize=32)
def linear_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Matrix ``(n_out, n_in)`` of half-pixel-centred linear interpolation along one axis.

    Output pixel ``o`` samples the input at ``s = clip((o + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)``
    with weights ``1 - frac`` and ``frac`` on ``floor(s)`` and ``min(floor(s) + 1, n_in - 1)``.
    Equal sizes give the identity.
    """
    o = np.arange(n_out, dtype=np.float64)
    s = np.clip((o + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = s - i0
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), i1), frac)
    m.flags.writeable = False
    return m


def resize_bilinear(image: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """Resize a 2-D array with :func:`linear_resize_matrix` along rows, then columns."""
    rows = linear_resize_matrix(image.shape[0], height)
    cols = linear_resize_matrix(image.shape[1], width)
    return rows @ image @ cols.T


def quantize(unit: np.ndarray) -> np.ndarray:
    """0..1 -> uint8 by ``floor(v * 255 + 0.5)``, clipped to 0..255."""
    return np.clip(np.floor(unit * 255.0 + 0.5), 0, 255).astype(np.uint8)


def colorize(levels: np.ndarray, *, lut: np.ndarray | None) -> np.ndarray:
    """uint8 levels (H, W) -> RGB uint8 (H, W, 3): grey if ``lut`` is None, else ``lut[levels]``."""
    if lut is None:
        return np.repeat(levels[:, :, None], 3, axis=2)
    return lut[levels]


def mobilenet_input(rgb: np.ndarray, *, scale: float, offset: float) -> np.ndarray:
    """uint8 RGB -> float32 MobileNet input ``pixel * scale + offset`` (computed in float64)."""
    return (rgb.astype(np.float64) * scale + offset).astype(np.float32)
