# One module on purpose (issue 15): MIT's server steps in order, read side by side with extension/js/pac_compat.js.
"""Feature method ``"pac-compat"``: the image MIT's Personal Audio Classifier computed.

MIT's PAC sent a recording to its server, which removed pydub's silence and drew matplotlib's
``specgram`` with Agg into a 1000x1000 PNG; the browser drew that into a 200x200 canvas and
resized it to 224x224 nearest-neighbour.  The functions below reproduce each step, stating the
upstream semantics they follow and every rounding, so that the page can do the same.

This module mirrors ``extension/js/pac_compat.js`` (its port, operation by operation) section by
section and in the same order: the samples as pydub sees them (ending with :func:`compat_window`),
matplotlib's specgram, Agg drawing the figure, the browser (ending with :func:`compat_image`), and
the registration of the method.  Each docstring names its JS counterpart (``JS: name``); where the
names differ, the Python one names the library it emulates (``pydub_``, ``mpl_``, ``agg_``).
Like the rest of the feature package, the signal functions are pure (arrays and keyword-only
parameters in, a new array out) and compute in float64.  The module is longer than the package's
~500 lines on purpose: it is the one counterpart of one JS file, to be read beside it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import audio as audio_io
from . import canvas
from .config import FeatureConfig
from .methods import FeatureMethod, register_method

# -- samples as pydub sees them --------------------------------------------------------------------


def pcm_integers(x: np.ndarray, *, bits: int) -> np.ndarray:
    """Samples as the integers a ``bits``-bit PCM WAV holds: ``floor(x * 2**(bits-1))``, clipped.

    For a 16-bit (8-bit) file decoded by :mod:`pac.audio` this gives back exactly the stored
    (bias-removed) integers; a two-channel file gives ``floor(mean)`` like ``audioop.tomono``.
    Returned as float64 holding whole numbers.

    JS: ``pcmIntegers``.
    """
    top = float(1 << (bits - 1))
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) * top), -top, top - 1.0)


def pydub_length_ms(n_samples: int, rate: int) -> int:
    """``len(AudioSegment)``: ``round(1000 * (n / rate))`` with Python's round (halves to even).
    JS: ``lengthMs``."""
    return int(round(1000.0 * (float(n_samples) / rate)))


def pydub_frame(ms: int, *, rate: int, length_ms: int) -> int:
    """AudioSegment's position -> frame index: negative ``ms`` count from the end, then
    ``int(ms * (rate / 1000.0))`` (truncation). JS: ``frameAt``."""
    if ms < 0:
        ms = length_ms - abs(ms)
    return int(ms * (rate / 1000.0))


def pydub_slice(s: np.ndarray, start_ms: int, end_ms: int, *, rate: int) -> np.ndarray:
    """``segment[start_ms:end_ms]``: both ends clamped to the length in ms, converted to frames
    (:func:`pydub_frame`), Python slicing, then zero frames appended if the slice came out
    shorter than ``end - start`` frames (pydub pads the rounding of the length with silence).
    JS: ``pydubSlice``."""
    length_ms = pydub_length_ms(len(s), rate)
    start = pydub_frame(min(start_ms, length_ms), rate=rate, length_ms=length_ms)
    end = pydub_frame(min(end_ms, length_ms), rate=rate, length_ms=length_ms)
    piece = s[start:end]
    missing = (end - start) - len(piece)
    if missing > 0:
        piece = np.concatenate([piece, np.zeros(missing)])
    return piece


def pydub_rms(piece: np.ndarray) -> int:
    """``audioop.rms``: ``int(sqrt(sum(s*s) / n))`` (truncated), 0 for no samples. JS: ``rmsOf``."""
    if len(piece) == 0:
        return 0
    return int(math.sqrt(float(np.sum(piece * piece)) / len(piece)))


def pydub_dbfs(rms: int, *, max_amplitude: float) -> float:
    """``AudioSegment.dBFS``: ``20 * log(rms / max) / log(10)`` (Python's ``math.log(x, 10)``);
    minus infinity for a zero RMS. JS: ``dbfs``."""
    if rms == 0:
        return -math.inf
    return 20.0 * (math.log(rms / max_amplitude) / math.log(10.0))


def pydub_leading_silence_ms(
    s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float, chunk_ms: int = 10
) -> int:
    """MIT's server's ``detect_leading_silence``: step ``chunk_ms`` at a time while the chunk's
    dBFS is below the threshold and the position is before the end. JS: ``leadingSilenceMs``."""
    length_ms = pydub_length_ms(len(s), rate)
    trim = 0
    while (
        pydub_dbfs(pydub_rms(pydub_slice(s, trim, trim + chunk_ms, rate=rate)), max_amplitude=max_amplitude)
        < threshold_dbfs
        and trim < length_ms
    ):
        trim += chunk_ms
    return trim


def pydub_silent_ranges(
    s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float, min_silence_ms: int
) -> list[list[int]]:
    """``pydub.silence.detect_silence(seg, min_silence_ms, threshold, seek_step=1)``.

    Every start ``i = 0 .. len_ms - min_silence_ms`` whose slice ``[i, i + min_silence_ms]`` has
    ``rms <= 10 ** (threshold / 20) * max`` is silent; silent starts closer than
    ``min_silence_ms`` apart are merged into ``[first, last + min_silence_ms]`` ranges.

    JS: ``silentRanges``.
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


def pydub_nonsilent_ranges(
    s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float, min_silence_ms: int
) -> list[list[int]]:
    """``pydub.silence.detect_nonsilent``: the gaps between :func:`pydub_silent_ranges`.
    JS: ``nonsilentRanges``."""
    length_ms = pydub_length_ms(len(s), rate)
    silent = pydub_silent_ranges(
        s, rate=rate, threshold_dbfs=threshold_dbfs, max_amplitude=max_amplitude, min_silence_ms=min_silence_ms
    )
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


def strip_silence_pydub(
    s: np.ndarray, *, rate: int, threshold_dbfs: float, max_amplitude: float, chunk_ms: int = 10
) -> np.ndarray:
    """MIT's server's silence removal on integer samples ``s`` (see :func:`pcm_integers`).

    1. cut the leading and the trailing silence (:func:`pydub_leading_silence_ms` on the clip and
       on the reversed clip; ``segment[start:len_ms - end]``);
    2. ``split_on_silence(min_silence_len=chunk_ms, silence_thresh=threshold_dbfs,
       keep_silence=0)``: the non-silent ranges, each sliced with :func:`pydub_slice`;
    3. join the pieces; without pieces, the result of step 1.

    May return an empty array (everything silent).

    JS: ``stripSilence``.
    """
    kwargs = dict(rate=rate, threshold_dbfs=threshold_dbfs, max_amplitude=max_amplitude)
    head = pydub_leading_silence_ms(s, chunk_ms=chunk_ms, **kwargs)
    tail = pydub_leading_silence_ms(s[::-1], chunk_ms=chunk_ms, **kwargs)
    s = pydub_slice(s, head, pydub_length_ms(len(s), rate) - tail, rate=rate)
    length_ms = pydub_length_ms(len(s), rate)
    pieces = [
        pydub_slice(s, max(a, 0), min(b, length_ms), rate=rate)
        for a, b in pydub_nonsilent_ranges(s, min_silence_ms=chunk_ms, **kwargs)
    ]
    if not pieces:
        return s
    return np.concatenate(pieces)


def compat_window(clip: audio_io.Audio, config: FeatureConfig, *, shift_seconds: float = 0.0) -> np.ndarray:
    """What MIT's spectrogram server analysed: the clip without pydub's silence (JS: ``compatWindow``).

    The samples are taken as ``pcm_bits`` integers (:func:`pcm_integers`), MIT's silence removal
    runs on them (:func:`strip_silence_pydub`, threshold ``trim_silence_dbfs``, dBFS relative to
    ``2**(pcm_bits-1)``), and the result is returned scaled back to [-1, 1].  Choices: if nothing
    louder than the threshold is left (MIT's server then failed), the whole clip is kept;
    time-shift augmentation does not apply (the whole clip is analysed, as with ``window_seconds =
    None``): ``shift_seconds`` is accepted, as by every method's window, and ignored.
    """
    top = float(1 << (config.pcm_bits - 1))
    s = pcm_integers(clip.samples, bits=config.pcm_bits)
    if config.trim_silence_dbfs is not None:
        kept = strip_silence_pydub(s, rate=clip.rate, threshold_dbfs=config.trim_silence_dbfs, max_amplitude=top)
        if len(kept):
            s = kept
    return s / top


# -- matplotlib's specgram -------------------------------------------------------------------------


def mpl_specgram_db(s: np.ndarray, *, rate: int, nfft: int, noverlap: int) -> np.ndarray:
    """matplotlib ``specgram(x, Fs=rate, NFFT=nfft, noverlap=noverlap)`` with its defaults, as dB.

    A signal shorter than ``nfft`` is zero-padded to ``nfft``.  Segments start every
    ``nfft - noverlap`` samples while they fit; each is multiplied by ``numpy.hanning(nfft)`` (the
    SYMMETRIC Hann window), no detrending; ``|fft|**2`` of the one-sided spectrum, every bin
    except DC (and Nyquist for even ``nfft``) doubled, divided by ``rate`` and by ``sum(w**2)``;
    then ``10 log10`` (zero power gives minus infinity).  Returned with the highest frequency in
    row 0 (the image's top row), shape ``(bins, segments)``.

    JS: ``specgramDb``.
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
    power /= (window**2).sum()
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(power.real)
    return db[::-1]


# -- Agg drawing the figure ------------------------------------------------------------------------


def mpl_color_indices(values: np.ndarray, *, vmin: float, vmax: float) -> np.ndarray:
    """matplotlib ``Normalize`` then ``Colormap`` index: ``u = (v - vmin) / (vmax - vmin)`` (0 when
    ``vmin == vmax``), ``int(u * 256)`` with 256 -> 255, clipped to 0..255. JS: ``colorIndex``."""
    if vmin == vmax:
        return np.zeros(np.shape(values), dtype=np.int64)
    u = (np.asarray(values, dtype=np.float64) - vmin) / (vmax - vmin) * 256.0
    u[u == 256.0] = 255.0
    return np.clip(np.trunc(u), 0, 255).astype(np.int64)


def mpl_uses_nearest(n_in: int, n_out: int) -> bool:
    """One axis of matplotlib's ``interpolation='auto'`` rule: nearest is possible only if the
    axis is magnified more than 3 times, or exactly 1 or 2 times. JS: ``usesNearest``."""
    return n_out > 3 * n_in or n_out == n_in or n_out == 2 * n_in


def mpl_nearest_indices(n_in: int, n_out: int, positions: np.ndarray) -> np.ndarray:
    """Source index of output pixels ``positions`` when Agg draws ``n_in`` pixels onto ``n_out``
    with nearest-neighbour interpolation, along an axis where output and input run the same way.

    matplotlib flips the data so that an output centre exactly on an edge between two input
    pixels takes the first one; Agg's affine nearest interpolator truncates the subpixel
    coordinate ``256 * u + 1e-8`` of the flipped position ``u = n_in - (p + 0.5) * n_in / n_out``,
    interpolated linearly along the row from the first to the last pixel centre as Agg does.

    JS: ``nearestIndex``.
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
    """Agg's ``iround``: ``int(v + 0.5)`` for v >= 0, ``int(v - 0.5)`` below (C truncation).
    JS: ``aggIround``."""
    return int(v + 0.5) if v >= 0 else int(v - 0.5)


def agg_dda(first: int, last: int, count: int) -> np.ndarray:
    """``agg::dda2_line_interpolator(first, last, count)``: its value after 0..count increments
    (``count + 1`` values, from ``first`` to ``last`` in integer steps as even as possible). JS: ``aggDda``."""
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

    JS: ``aggHanningLut``.
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
    """Agg's ``wrap_mode_reflect``: ..., 1, 0 | 0, 1, ..., n-1 | n-1, n-2, ... JS: ``reflect``."""
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

    JS: ``hanningTaps``.
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


def mpl_canvas(db: np.ndarray, *, pixels: int, rows: np.ndarray, cols: np.ndarray, lut: np.ndarray) -> np.ndarray:
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

    JS: ``mplCanvas``.
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
    rgba[..., :3] = np.asarray(lut, dtype=np.float64)[
        mpl_color_indices(np.where(finite, db, vmin), vmin=vmin, vmax=vmax)
    ]
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
        weight = (wy[i][None, :, None] * wx[:, None, :] + 8192) >> 14  # (col, ky, kx)
        taps = rgba[iy[i][None, :, None], ix[:, None, :]]  # (col, ky, kx, 4)
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


# -- the browser ----------------------------------------------------------------------------------


def nearest_resize_indices(n_in: int, n_out: int) -> np.ndarray:
    """``tf.image.resizeNearestNeighbor`` (align_corners false, half_pixel_centers false, TF.js 1.x):
    output ``o`` takes input ``min(floor(o * n_in / n_out), n_in - 1)`` (exact integers here).
    JS: ``nearestResizeIndices``."""
    o = np.arange(n_out, dtype=np.int64)
    return np.minimum((o * n_in) // n_out, n_in - 1)


@functools.lru_cache(maxsize=4)
def mpl_colormap_table(name: str) -> np.ndarray:
    """matplotlib's float RGB table (256 x 3) of colour map ``name`` (``gray`` included).

    JS: ``colormapTable``, which reads these tables from the page's constants.
    """
    from matplotlib import colormaps

    table = np.asarray(colormaps[name](np.arange(256)), dtype=np.float64)[:, :3].copy()
    table.flags.writeable = False
    return table


def compat_image(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """MIT's server spectrogram as the browser turned it into MobileNet's 224x224 image
    (JS: ``compatImage``).

    1. ``pcm_integers`` again (noise mixed in by training augmentation is quantised as if recorded);
    2. ``specgram(x, Fs=rate, NFFT=mpl_nfft, noverlap=mpl_noverlap)`` in dB (:func:`mpl_specgram_db`);
    3. the figure: ``imshow`` of it filling ``mpl_pixels`` x ``mpl_pixels`` (10 x 10 inches at
       100 dpi, axes over the whole figure, axis off), colour map ``colormap`` over the image's
       own min..max, as matplotlib 3.11's Agg draws it (:func:`mpl_canvas`);
    4. the browser: ``new Image()`` of the PNG with ``width = height = browser_size``, drawn by
       ``tf.browser.fromPixels`` into a canvas of that size with the canvas filter ``downscale``
       (:func:`pac.features.canvas.draw`).  ``"mipmap-bilinear"`` is what Chromium's software
       canvas was measured to do, pixel for pixel; ``"centre"`` (what pac assumed before, and what
       models without the field keep) needs only the centre pixel of each block, so only those
       rows and columns of the figure are computed;
    5. ``resizeNearestNeighbor([image_size, image_size])`` (:func:`nearest_resize_indices`).

    Step 6, ``x / 127 - 1``, is :func:`pac.features.pipeline.model_input` with
    ``input_scale = 1/127``.  Measured against real matplotlib rendering the figure pixels are
    identical (tests/test_pac_compat.py).
    """
    s = pcm_integers(window, bits=config.pcm_bits)
    db = mpl_specgram_db(s, rate=rate, nfft=config.mpl_nfft, noverlap=config.mpl_noverlap)
    lut = mpl_colormap_table(config.colormap)
    pixels, size = config.mpl_pixels, config.browser_size
    if config.downscale == "centre":
        positions = canvas.centre_positions(pixels, size)
        drawn = mpl_canvas(db, pixels=pixels, rows=positions, cols=positions, lut=lut)
    else:
        every = np.arange(pixels)
        figure = mpl_canvas(db, pixels=pixels, rows=every, cols=every, lut=lut)
        drawn = canvas.draw(figure, size, downscale=config.downscale)
    index = nearest_resize_indices(size, config.image_size)
    return np.ascontiguousarray(drawn[index][:, index])


def other_downscales(config: FeatureConfig) -> tuple[str, ...]:
    """The canvas filters other than ``config.downscale`` that a browser may draw MIT's figure with
    (:data:`pac.features.canvas.DOWNSCALES`): the trainer adds a copy of each training image drawn
    with each of them, so that a model also answers well where a phone's canvas draws differently."""
    return tuple(name for name in canvas.DOWNSCALES if name != config.downscale)


register_method("pac-compat", FeatureMethod(analysis_window=compat_window, spectrogram_image=compat_image))
