"""How a browser canvas draws MIT's 1000x1000 spectrogram figure into 200x200 (pac-compat's last step).

MIT's classifier page shows the server's PNG as an ``Image`` of width and height 200 and reads it
with ``tf.browser.fromPixels``, which draws it into a 200x200 canvas with ``drawImage`` (default
smoothing, ``imageSmoothingQuality = "low"``).  What the canvas does then is the browser's
business; :data:`DOWNSCALES` names the filters pac can emulate (``FeatureConfig.downscale``):

``"mipmap-bilinear"``
    Measured (2026-12-02, Chromium 156 headless, software canvas, ``--disable-gpu``; 16 real
    spectrogram figures of FSDD digits, Speech Commands words, RAVDESS sentences and cello notes):
    every one of the 3 x 40,000 channel values of every figure equals this emulation of Skia's
    ``SkSamplingOptions(kLinear, kNearest)``: mipmap level ``floor(log2(pixels / size))``
    (:func:`mip_level`) built by halving with a truncating 2x2 box (:func:`halve`; 1000 -> 500 ->
    250), then Skia's legacy bilinear sampler with 4-bit subpixel weights (:func:`bilinear`).
    Chromium's GPU canvas (SwiftShader, ``--use-angle=swiftshader --enable-gpu-rasterization``)
    differs from it by 1.5 levels on average and up to 40; no filter tried matched that one.
``"centre"``
    What pac assumed before: plain bilinear without mipmaps, which for an odd whole ratio samples
    the centre pixel of each block (:func:`centre_positions`).  Models whose stored configuration
    has no ``downscale`` field were trained on it and keep it.
``"area"``
    The mean of each block, rounded half up: a stand-in for the smoother filters of GPUs and
    other browsers (not measured in any browser).

Every function is pure integer arithmetic on uint8 RGB arrays; ``extension/js/pac_compat.js``
repeats them in its section "the browser" (JS names in each docstring).
"""

from __future__ import annotations

import numpy as np

#: The canvas filters :func:`draw` emulates (``FeatureConfig.downscale``); the first is measured.
DOWNSCALES = ("mipmap-bilinear", "centre", "area")


def centre_positions(pixels: int, size: int) -> np.ndarray:
    """Source pixel of each of ``size`` output pixels when bilinear filtering without mipmaps draws
    ``pixels`` into ``size`` (an odd whole ratio ``k``): output centre ``o + 0.5`` samples input
    ``(o + 0.5) * k - 0.5 = o * k + (k - 1) / 2``, exactly one pixel centre.
    JS: ``browserDrawPositions``."""
    k = pixels // size
    return np.arange(size, dtype=np.int64) * k + (k - 1) // 2


def mip_level(pixels: int, size: int) -> int:
    """The mipmap level Chromium's software canvas draws ``pixels`` into ``size`` from (``k =
    pixels // size``): ``floor(log2(k))``, 0 when not shrinking (level ``n`` is the figure halved
    ``n`` times).  Measured exact, with :func:`bilinear` after it, for ``k`` = 3, 5 (MIT's 1000 ->
    200: level 2, 250 x 250) and 9; for ``k`` = 7 it is the closest level but pixels differ by 0.5
    on average (up to 15), unexplained. JS: ``mipLevel``."""
    k = pixels // size
    return max(k.bit_length() - 1, 0)


def halve(image: np.ndarray) -> np.ndarray:
    """One mipmap level down: each output pixel is the truncated mean of a 2x2 block
    (``(a + b + c + d) >> 2``, Skia's ``downsample_2_2``), size ``floor(n / 2)``; an odd side
    uses Skia's 1-2-1 filter over three pixels along that side (``downsample_3_2`` and kin; not
    met by MIT's 1000 -> 250 and not measured). JS: ``halveImage``."""
    a = np.asarray(image, dtype=np.int64)
    rows, cols = a.shape[:2]

    def taps(n):
        half = np.arange(n // 2) * 2
        if n % 2:
            return [(half, 1), (half + 1, 2), (half + 2, 1)], 4
        return [(half, 1), (half + 1, 1)], 2

    row_taps, row_total = taps(rows)
    col_taps, col_total = taps(cols)
    out = 0
    for ri, rw in row_taps:
        for ci, cw in col_taps:
            out = out + rw * cw * a[ri][:, ci]
    shift = (row_total * col_total).bit_length() - 1
    return (out >> shift).astype(np.uint8)


def bilinear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, second, weight)`` along one axis for Skia's legacy bilinear sampler drawing
    ``n_in`` pixels into ``n_out``: the sample point ``(o + 0.5) * n_in / n_out - 0.5`` in 16.16
    fixed point (floored), its integer part and the next pixel (both clamped to the image), and its
    4-bit subpixel ``(fx >> 12) & 15``. JS: ``bilinearTaps``."""
    o = np.arange(n_out, dtype=np.int64)
    fx = np.maximum(((2 * o + 1) * n_in - n_out) * 65536 // (2 * n_out), 0)
    first = np.minimum(fx >> 16, n_in - 1)
    second = np.minimum(first + 1, n_in - 1)
    return first, second, (fx >> 12) & 15


def bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` (square, uint8 RGB) drawn into ``size`` x ``size`` by Skia's legacy bilinear
    filter (``Filter_32_opaque``): weights ``(16 - x)(16 - y)``, ``x (16 - y)``, ``(16 - x) y``,
    ``x y`` of the four neighbours, sum ``>> 8`` (truncated). JS: ``bilinearImage``."""
    a = np.asarray(image, dtype=np.int64)
    r0, r1, wy = bilinear_taps(a.shape[0], size)
    c0, c1, wx = bilinear_taps(a.shape[1], size)
    y, x = wy[:, None, None], wx[None, :, None]
    total = (
        a[r0][:, c0] * ((16 - y) * (16 - x))
        + a[r0][:, c1] * ((16 - y) * x)
        + a[r1][:, c0] * (y * (16 - x))
        + a[r1][:, c1] * (y * x)
    )
    return (total >> 8).astype(np.uint8)


def area(image: np.ndarray, size: int) -> np.ndarray:
    """The mean of each ``k`` x ``k`` block (``k = n // size``), rounded half up. JS: ``areaImage``."""
    a = np.asarray(image, dtype=np.int64)
    k = a.shape[0] // size
    blocks = a[: size * k, : size * k].reshape(size, k, size, k, -1).sum(axis=(1, 3))
    return ((2 * blocks + k * k) // (2 * k * k)).astype(np.uint8)


def draw(figure: np.ndarray, size: int, *, downscale: str) -> np.ndarray:
    """The square uint8 RGB ``figure`` drawn into ``size`` x ``size`` by canvas filter ``downscale``
    (one of :data:`DOWNSCALES`). JS: ``drawFigure``."""
    pixels = figure.shape[0]
    if downscale == "centre":
        positions = centre_positions(pixels, size)
        return np.ascontiguousarray(figure[positions][:, positions])
    if downscale == "area":
        return area(figure, size)
    if downscale != "mipmap-bilinear":
        raise ValueError(f"unknown downscale {downscale!r} (known: {', '.join(DOWNSCALES)})")
    level = figure
    for _ in range(mip_level(pixels, size)):
        level = halve(level)
    return bilinear(level, size)
