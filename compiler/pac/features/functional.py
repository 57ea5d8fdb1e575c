"""Pure signal-processing functions of the feature pipeline.

Each function takes arrays and keyword-only parameters and returns a new array; nothing here reads
files or a configuration object.  All arithmetic is float64 and every rounding is spelled out
(``floor(x + 0.5)``, never banker's rounding) so that the JavaScript runtime, which computes in
float64 too, reproduces the same numbers operation by operation.
"""

from __future__ import annotations

import functools
import math

import numpy as np

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
    pieces = [x[i * chunk:(i + 1) * chunk] for i in np.flatnonzero(keep)]
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


def active_window(x: np.ndarray, *, rate: int, min_length: int, max_length: int,
                  below_peak_db: float) -> tuple[int, int]:
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
        out[lo - start:hi - start] = x[lo:hi]
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
    return spectrum.real ** 2 + spectrum.imag ** 2


def hz_to_mel(f):
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`: ``700 (10**(m / 2595) - 1)``."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=32)
def mel_filterbank(*, rate: int, n_fft: int, n_bands: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular HTK-mel filters, shape ``(n_bands, n_fft//2+1)``, peak weight 1, no area norm.

    Band edges: ``n_bands + 2`` points evenly spaced in mel from ``f_min`` to ``f_max``
    (``edge_j = mel_to_hz(mel_lo + j * (mel_hi - mel_lo) / (n_bands + 1))``).  Bin ``k`` sits at
    ``k * rate / n_fft`` Hz; bands above the Nyquist frequency stay empty.
    """
    mel_lo, mel_hi = float(hz_to_mel(f_min)), float(hz_to_mel(f_max))
    j = np.arange(n_bands + 2, dtype=np.float64)
    edges = mel_to_hz(mel_lo + j * (mel_hi - mel_lo) / (n_bands + 1))
    weights = triangle_filters(edges, rate=rate, n_fft=n_fft)
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
def linear_bin_range(*, rate: int, n_fft: int, f_min: float, f_max: float) -> tuple[int, int]:
    """``(first, stop)`` FFT bins with ``f_min <= k * rate / n_fft <= min(f_max, rate / 2)``."""
    top = min(f_max, rate / 2.0)
    k = np.arange(n_fft // 2 + 1, dtype=np.float64) * rate / n_fft
    inside = np.flatnonzero((k >= f_min) & (k <= top))
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


# -- pac-compat: MIT's Personal Audio Classifier spectrogram (server + browser) ----------------------
#
# The functions below reproduce, step by step, what MIT's PAC did to a recording: its server
# (pydub silence removal, matplotlib ``specgram`` drawn by Agg into a 1000x1000 PNG) and then the
# browser (canvas drawImage to 200x200, tf.image nearest-neighbour resize to 224x224).  Each one
# states the upstream semantics it follows, including every rounding, so the JS port can mirror it.


def pcm_integers(x: np.ndarray, *, bits: int) -> np.ndarray:
    """Samples as the integers a ``bits``-bit PCM WAV holds: ``floor(x * 2**(bits-1))``, clipped.

    For a 16-bit (8-bit) file decoded by :mod:`pac.audio` this gives back exactly the stored
    (bias-removed) integers; a two-channel file gives ``floor(mean)`` like ``audioop.tomono``.
    Returned as float64 holding whole numbers.
    """
    top = float(1 << (bits - 1))
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) * top), -top, top - 1.0)


def pydub_length_ms(n_samples: int, rate: int) -> int:
    """``len(AudioSegment)``: ``round(1000 * (n / rate))`` with Python's round (halves to even)."""
    return int(round(1000.0 * (float(n_samples) / rate)))


def pydub_frame(ms: int, *, rate: int, length_ms: int) -> int:
    """AudioSegment's position -> frame index: negative ``ms`` count from the end, then
    ``int(ms * (rate / 1000.0))`` (truncation)."""
    if ms < 0:
        ms = length_ms - abs(ms)
    return int(ms * (rate / 1000.0))


def pydub_slice(s: np.ndarray, start_ms: int, end_ms: int, *, rate: int) -> np.ndarray:
    """``segment[start_ms:end_ms]``: both ends clamped to the length in ms, converted to frames
    (:func:`pydub_frame`), Python slicing, then zero frames appended if the slice came out
    shorter than ``end - start`` frames (pydub pads the rounding of the length with silence)."""
    length_ms = pydub_length_ms(len(s), rate)
    start = pydub_frame(min(start_ms, length_ms), rate=rate, length_ms=length_ms)
    end = pydub_frame(min(end_ms, length_ms), rate=rate, length_ms=length_ms)
    piece = s[start:end]
    missing = (end - start) - len(piece)
    if missing > 0:
        piece = np.concatenate([piece, np.zeros(missing)])
    return piece


def pydub_rms(piece: np.ndarray) -> int:
    """``audioop.rms``: ``int(sqrt(sum(s*s) / n))`` (truncated), 0 for no samples."""
    if len(piece) == 0:
        return 0
    return int(math.sqrt(float(np.sum(piece * piece)) / len(piece)))


def pydub_dbfs(rms: int, *, max_amplitude: float) -> float:
    """``AudioSegment.dBFS``: ``20 * log(rms / max) / log(10)`` (Python's ``math.log(x, 10)``);
    minus infinity for a zero RMS."""
    if rms == 0:
        return -math.inf
    return 20.0 * (math.log(rms / max_amplitude) / math.log(10.0))


def pydub_leading_silence_ms(s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float,
                             chunk_ms: int = 10) -> int:
    """MIT's server's ``detect_leading_silence``: step ``chunk_ms`` at a time while the chunk's
    dBFS is below the threshold and the position is before the end."""
    length_ms = pydub_length_ms(len(s), rate)
    trim = 0
    while (pydub_dbfs(pydub_rms(pydub_slice(s, trim, trim + chunk_ms, rate=rate)), max_amplitude=max_amplitude)
           < threshold_dbfs and trim < length_ms):
        trim += chunk_ms
    return trim


def pydub_silent_ranges(s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float,
                        min_silence_ms: int) -> list[list[int]]:
    """``pydub.silence.detect_silence(seg, min_silence_ms, threshold, seek_step=1)``.

    Every start ``i = 0 .. len_ms - min_silence_ms`` whose slice ``[i, i + min_silence_ms]`` has
    ``rms <= 10 ** (threshold / 20) * max`` is silent; silent starts closer than
    ``min_silence_ms`` apart are merged into ``[first, last + min_silence_ms]`` ranges.
    """
    length_ms = pydub_length_ms(len(s), rate)
    if length_ms < min_silence_ms:
        return []
    limit = 10.0 ** (threshold_dbfs / 20.0) * max_amplitude
    starts = np.arange(0, length_ms - min_silence_ms + 1)
    # Every slice ends before the clamped length, so its frames are plain truncations; the part
    # of a slice beyond the samples is zero padding (counted in n, adding nothing to the sum).
    ratio = rate / 1000.0
    first = np.trunc(starts * ratio).astype(np.int64)
    last = np.trunc((starts + min_silence_ms) * ratio).astype(np.int64)
    squares = np.concatenate([[0], np.cumsum(s.astype(np.int64) ** 2)])
    total = squares[np.minimum(last, len(s))] - squares[np.minimum(first, len(s))]
    count = last - first
    rms = np.zeros(len(starts), dtype=np.int64)
    some = count > 0
    rms[some] = np.floor(np.sqrt(total[some].astype(np.float64) / count[some])).astype(np.int64)
    silent = [int(i) for i in starts[rms <= limit]]
    if not silent:
        return []
    ranges = []
    begin = prev = silent[0]
    for i in silent[1:]:
        if i != prev + 1 and i > prev + min_silence_ms:
            ranges.append([begin, prev + min_silence_ms])
            begin = i
        prev = i
    ranges.append([begin, prev + min_silence_ms])
    return ranges


def pydub_nonsilent_ranges(s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float,
                           min_silence_ms: int) -> list[list[int]]:
    """``pydub.silence.detect_nonsilent``: the gaps between :func:`pydub_silent_ranges`."""
    length_ms = pydub_length_ms(len(s), rate)
    silent = pydub_silent_ranges(s, rate=rate, threshold_dbfs=threshold_dbfs, max_amplitude=max_amplitude,
                                 min_silence_ms=min_silence_ms)
    if not silent:
        return [[0, length_ms]]
    if silent[0][0] == 0 and silent[0][1] == length_ms:
        return []
    ranges, prev_end = [], 0
    for start, end in silent:
        ranges.append([prev_end, start])
        prev_end = end
    if silent[-1][1] != length_ms:
        ranges.append([prev_end, length_ms])
    if ranges[0] == [0, 0]:
        ranges.pop(0)
    return ranges


def strip_silence_pydub(s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float,
                        chunk_ms: int = 10) -> np.ndarray:
    """MIT's server's silence removal on integer samples ``s`` (see :func:`pcm_integers`).

    1. cut the leading and the trailing silence (:func:`pydub_leading_silence_ms` on the clip and
       on the reversed clip; ``segment[start:len_ms - end]``);
    2. ``split_on_silence(min_silence_len=chunk_ms, silence_thresh=threshold_dbfs,
       keep_silence=0)``: the non-silent ranges, each sliced with :func:`pydub_slice`;
    3. join the pieces; without pieces, the result of step 1.

    May return an empty array (everything silent).
    """
    kwargs = dict(rate=rate, threshold_dbfs=threshold_dbfs, max_amplitude=max_amplitude)
    head = pydub_leading_silence_ms(s, chunk_ms=chunk_ms, **kwargs)
    tail = pydub_leading_silence_ms(s[::-1], chunk_ms=chunk_ms, **kwargs)
    s = pydub_slice(s, head, pydub_length_ms(len(s), rate) - tail, rate=rate)
    length_ms = pydub_length_ms(len(s), rate)
    pieces = [pydub_slice(s, max(a, 0), min(b, length_ms), rate=rate)
              for a, b in pydub_nonsilent_ranges(s, min_silence_ms=chunk_ms, **kwargs)]
    if not pieces:
        return s
    return np.concatenate(pieces)


def mpl_specgram_db(s: np.ndarray, *, rate: int, nfft: int, noverlap: int) -> np.ndarray:
    """matplotlib ``specgram(x, Fs=rate, NFFT=nfft, noverlap=noverlap)`` with its defaults, as dB.

    A signal shorter than ``nfft`` is zero-padded to ``nfft``.  Segments start every
    ``nfft - noverlap`` samples while they fit; each is multiplied by ``numpy.hanning(nfft)`` (the
    SYMMETRIC Hann window), no detrending; ``|fft|**2`` of the one-sided spectrum, every bin
    except DC (and Nyquist for even ``nfft``) doubled, divided by ``rate`` and by ``sum(w**2)``;
    then ``10 log10`` (zero power gives minus infinity).  Returned with the highest frequency in
    row 0 (the image's top row), shape ``(bins, segments)``.
    """
    s = np.asarray(s, dtype=np.float64)
    if len(s) < nfft:
        s = np.concatenate([s, np.zeros(nfft - len(s))])
    step = nfft - noverlap
    starts = np.arange((len(s) - nfft) // step + 1) * step
    window = np.hanning(nfft)
    frames = s[starts[None, :] + np.arange(nfft)[:, None]] * window[:, None]
    bins = nfft // 2 + 1 if nfft % 2 == 0 else (nfft + 1) // 2
    spectrum = np.fft.fft(frames, n=nfft, axis=0)[:bins, :]
    power = np.conj(spectrum) * spectrum  # complex, scaled as complex: matplotlib's exact operations
    if nfft % 2 == 0:
        power[1:-1] *= 2.0
    else:
        power[1:] *= 2.0
    power /= rate
    power /= (window ** 2).sum()
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(power.real)
    return db[::-1]


def mpl_color_indices(values: np.ndarray, *, vmin: float, vmax: float) -> np.ndarray:
    """matplotlib ``Normalize`` then ``Colormap`` index: ``u = (v - vmin) / (vmax - vmin)`` (0 when
    ``vmin == vmax``), ``int(u * 256)`` with 256 -> 255, clipped to 0..255."""
    if vmin == vmax:
        return np.zeros(np.shape(values), dtype=np.int64)
    u = (np.asarray(values, dtype=np.float64) - vmin) / (vmax - vmin) * 256.0
    u[u == 256.0] = 255.0
    return np.clip(np.trunc(u), 0, 255).astype(np.int64)


def mpl_uses_nearest(n_in: int, n_out: int) -> bool:
    """One axis of matplotlib's ``interpolation='auto'`` rule: nearest is possible only if the
    axis is magnified more than 3 times, or exactly 1 or 2 times."""
    return n_out > 3 * n_in or n_out == n_in or n_out == 2 * n_in


def mpl_nearest_indices(n_in: int, n_out: int, positions: np.ndarray) -> np.ndarray:
    """Source index of output pixels ``positions`` when Agg draws ``n_in`` pixels onto ``n_out``
    with nearest-neighbour interpolation, along an axis where output and input run the same way.

    matplotlib flips the data so that an output centre exactly on an edge between two input
    pixels takes the first one; Agg's affine nearest interpolator truncates the subpixel
    coordinate ``256 * u + 1e-8`` of the flipped position ``u = n_in - (p + 0.5) * n_in / n_out``,
    interpolated linearly along the row from the first to the last pixel centre as Agg does.
    """
    p = np.asarray(positions, dtype=np.float64)
    first = (n_in - 0.5 * n_in / n_out) * 256.0
    last = (n_in - (0.5 + n_out - 1) * n_in / n_out) * 256.0
    if n_out > 1:
        sub = first + (last - first) * p / (n_out - 1) + 1e-8
    else:
        sub = np.full(p.shape, first + 1e-8)
    flipped = np.trunc(sub).astype(np.int64) >> 8
    return n_in - 1 - flipped


def agg_iround(v: float) -> int:
    """Agg's ``iround``: ``int(v + 0.5)`` for v >= 0, ``int(v - 0.5)`` below (C truncation)."""
    return int(v + 0.5) if v >= 0 else int(v - 0.5)


def agg_dda(first: int, last: int, count: int) -> np.ndarray:
    """``agg::dda2_line_interpolator(first, last, count)``: its value after 0..count increments
    (``count + 1`` values, from ``first`` to ``last`` in integer steps as even as possible)."""
    cnt = count if count > 0 else 1
    delta = last - first
    lft = int(delta / cnt)  # C division truncates toward zero
    rem = delta - lft * cnt
    mod = rem
    if mod <= 0:
        mod += count
        rem += count
        lft -= 1
    mod -= count
    out = np.empty(count + 1, dtype=np.int64)
    y = first
    for i in range(count + 1):
        out[i] = y
        mod += rem
        y += lft
        if mod > 0:
            mod -= cnt
            y += 1
    return out


@functools.lru_cache(maxsize=1)
def agg_hanning_lut() -> np.ndarray:
    """Agg's ``image_filter_lut`` of the Hanning filter (radius 1, matplotlib's build).

    512 int weights (2 pixels x 256 subpixels): ``w[255 +- i] = iround((0.5 + 0.5 cos(pi i/256))
    * 16384)`` for i = 0..255, ``w[511] = 0`` (matplotlib's fix of Agg's LUT bugs), then Agg's
    ``normalize()``: for each subpixel phase the two weights are rescaled to sum to 16384 and the
    remaining rounding error is spread over them alternately.
    """
    scale, subpixels, diameter = 16384, 256, 2
    w = np.zeros(diameter * subpixels, dtype=np.int64)
    pivot = diameter * subpixels // 2 - 1
    for i in range(pivot + 1):
        w[pivot + i] = w[pivot - i] = agg_iround((0.5 + 0.5 * math.cos(math.pi * i / subpixels)) * scale)
    w[-1] = agg_iround((0.5 + 0.5 * math.cos(math.pi * (diameter // 2))) * scale)
    flip = 1
    for phase in range(subpixels):
        while True:
            total = int(sum(w[j * subpixels + phase] for j in range(diameter)))
            if total == scale:
                break
            k = scale / total
            total = 0
            for j in range(diameter):
                w[j * subpixels + phase] = agg_iround(w[j * subpixels + phase] * k)
                total += int(w[j * subpixels + phase])
            total -= scale
            inc = -1 if total > 0 else 1
            j = 0
            while j < diameter and total:
                flip ^= 1
                idx = diameter // 2 + j // 2 if flip else diameter // 2 - j // 2
                if w[idx * subpixels + phase] < scale:
                    w[idx * subpixels + phase] += inc
                    total += inc
                j += 1
    w.flags.writeable = False
    return w


def agg_reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Agg's ``wrap_mode_reflect``: ..., 1, 0 | 0, 1, ..., n-1 | n-1, n-2, ..."""
    m = np.mod(index, 2 * n)
    return np.where(m >= n, 2 * n - 1 - m, m)


def agg_hanning_taps(n_in: int, n_out: int, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Input pixels and weights ``(index, weight)``, each ``(len(coords), taps)``, that Agg's
    ``span_image_resample_*_affine`` with the Hanning LUT uses along one axis.

    ``coords`` are the output pixel centres in input subpixels (1/256 pixel).  The filter is
    widened by the downscaling factor ``max(n_in / n_out, 1)`` (``r = uround(256 * factor)``,
    ``r_inv = uround(256 / factor)``); the first tap is input pixel ``(c + 128 - r) >> 8``, its
    LUT position ``((255 - ((c + 128 - r) & 255)) * r_inv) >> 8``, each next tap one pixel and
    ``r_inv`` LUT positions further, while the position is below 512.  Indices reflect at the
    edges (:func:`agg_reflect`); missing taps have weight 0.
    """
    lut = agg_hanning_lut()
    factor = max(n_in / n_out, 1.0)
    r = int(factor * 256 + 0.5)
    r_inv = int(1.0 / factor * 256 + 0.5)
    start = np.asarray(coords, dtype=np.int64) + 128 - r
    first = start >> 8
    phase = ((255 - (start & 255)) * r_inv) >> 8
    taps = int(-(-(512 - phase.min()) // r_inv))
    k = np.arange(taps)
    position = phase[:, None] + k[None, :] * r_inv
    inside = position < 512
    weight = np.where(inside, lut[np.minimum(position, 511)], 0)
    index = agg_reflect(first[:, None] + k[None, :], n_in)
    return index, weight


def mpl_canvas(db: np.ndarray, *, pixels: int, rows: np.ndarray, cols: np.ndarray,
               lut: np.ndarray) -> np.ndarray:
    """The RGB pixels at ``rows`` x ``cols`` (row 0 = top) of matplotlib's Agg rendering of
    ``imshow(db)`` filling a ``pixels`` x ``pixels`` figure (white background).

    ``lut`` is the colour map's float RGB table (256 x 3).  The colour range is the finite
    values' min..max; cells of minus infinity are "bad": transparent, so the white figure shows.
    matplotlib 3.11's defaults decide the drawing (``interpolation='auto'``,
    ``interpolation_stage='auto'``):

    * if both axes allow it (:func:`mpl_uses_nearest`), nearest neighbour
      (:func:`mpl_nearest_indices`), then the colour of the picked value with the table's
      ``uint8(255 * c)`` (truncated) colours;
    * otherwise (here: 334 or more segments) colour first (float table), then Agg's Hanning
      resampling of RGBA (:func:`agg_hanning_taps`; column centres from an
      ``agg_dda`` over the row, row centres ``iround(256 * v)``), the integer weight of a tap
      being ``(wy * wx + 8192) >> 14``, the sum divided by the total weight, colours clamped to
      alpha, ``uint8(255 * c)``, and finally Agg's blend over white for partly transparent pixels.
    """
    n_rows, n_cols = db.shape
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    finite = np.isfinite(db)
    if not finite.any():
        return np.full((len(rows), len(cols), 3), 255, dtype=np.uint8)
    vmin, vmax = float(db[finite].min()), float(db[finite].max())
    if mpl_uses_nearest(n_cols, pixels) and mpl_uses_nearest(n_rows, pixels):
        # Output rows run bottom-up in Agg (and the image's row 0 is at the top), so along the
        # vertical axis both run the same way once the picture's top row is called row 0.
        src_rows = mpl_nearest_indices(n_rows, pixels, rows)
        src_cols = mpl_nearest_indices(n_cols, pixels, cols)
        values = db[src_rows[:, None], src_cols[None, :]]
        bad = ~np.isfinite(values)
        table = np.trunc(np.asarray(lut, dtype=np.float64) * 255.0).astype(np.uint8)
        rgb = table[mpl_color_indices(np.where(bad, vmin, values), vmin=vmin, vmax=vmax)]
        rgb[bad] = 255
        return rgb
    rgba = np.zeros((n_rows, n_cols, 4))
    rgba[..., :3] = np.asarray(lut, dtype=np.float64)[mpl_color_indices(np.where(finite, db, vmin),
                                                                        vmin=vmin, vmax=vmax)]
    rgba[..., 3] = 1.0
    rgba[~finite] = 0.0
    # Columns: centre of output pixel p at input x = (p + 0.5) * n_cols / pixels, in subpixels,
    # interpolated by Agg's DDA between the first and the last pixel of the row.
    ends = (agg_iround(0.5 * n_cols / pixels * 256.0), agg_iround((pixels - 0.5) * n_cols / pixels * 256.0))
    x_sub = agg_dda(ends[0], ends[1], pixels - 1)[cols]
    # Rows: Agg's output row y (bottom-up) = pixels - 1 - row; the image is flipped (origin upper).
    y_sub = np.array([agg_iround((n_rows - (pixels - 1 - r + 0.5) * n_rows / pixels) * 256.0) for r in rows])
    ix, wx = agg_hanning_taps(n_cols, pixels, x_sub)
    iy, wy = agg_hanning_taps(n_rows, pixels, y_sub)
    out = np.zeros((len(rows), len(cols), 4))
    for i in range(len(rows)):
        weight = (wy[i][None, :, None] * wx[:, None, :] + 8192) >> 14          # (col, ky, kx)
        taps = rgba[iy[i][None, :, None], ix[:, None, :]]                      # (col, ky, kx, 4)
        total = weight.sum(axis=(1, 2))
        out[i] = (taps * weight[..., None]).sum(axis=(1, 2)) / total[:, None]
    out = np.maximum(out, 0.0)
    alpha = np.minimum(out[..., 3], 1.0)
    out[..., :3] = np.minimum(out[..., :3], alpha[..., None])
    out[..., :3] /= np.where(alpha != 0, alpha, 1.0)[..., None]
    out[..., 3] = alpha
    rgba8 = np.trunc(out * 255.0).astype(np.int64)
    color, a = rgba8[..., :3], rgba8[..., 3:]
    # Agg's plain RGBA blend of (color, a) over opaque white (matplotlib's fixed_blender_rgba_plain).
    blended = ((color * 256 - 65025) * a + 65025 * 256) // (65280 + a)
    return np.where(a == 0, 255, np.where(a == 255, color, blended)).astype(np.uint8)


def browser_draw_positions(pixels: int, size: int) -> np.ndarray:
    """Source pixel of each of ``size`` output pixels when a browser canvas draws a ``pixels``
    wide image into ``size`` pixels with bilinear filtering (Chromium's default
    ``imageSmoothingQuality = "low"``): output centre ``o + 0.5`` samples input
    ``(o + 0.5) * k - 0.5 = o * k + (k - 1) / 2`` for ``k = pixels / size``, which for an odd
    whole ``k`` is exactly one pixel centre."""
    k = pixels // size
    return np.arange(size, dtype=np.int64) * k + (k - 1) // 2


def nearest_resize_indices(n_in: int, n_out: int) -> np.ndarray:
    """``tf.image.resizeNearestNeighbor`` (align_corners false, half_pixel_centers false, TF.js 1.x):
    output ``o`` takes input ``min(floor(o * n_in / n_out), n_in - 1)`` (exact integers here)."""
    o = np.arange(n_out, dtype=np.int64)
    return np.minimum((o * n_in) // n_out, n_in - 1)
