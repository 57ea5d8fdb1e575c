"""The speech block's front end: analysis-window samples at any rate -> the embedding network's input.

Google's ``speech_embedding`` network (:mod:`pac.speech_base`) reads windows of 76 frames x 32
log-mel bands computed at 16 kHz with a 10 ms hop, scaled ``x / 10 + 2`` (what openWakeWord does to
the output of its ``melspectrogram.onnx`` before calling the network).  This module computes exactly
that, from pac's float samples at any sample rate, in four pure steps::

    resample -> (pad_to_window) -> log_mel -> network_input     -> the network over the whole sequence
    \\______________________ speech_sequence ________________/

The network is convolutional in time with a time stride of ``NETWORK_STRIDE`` = 8 frames, so run
over the whole sequence it gives, in one pass, exactly the embeddings of the 76-frame windows
starting at frames 0, 8, 16, ... that fit (:func:`window_starts`; :func:`embedding_windows` cuts those
windows out, for checking).  ``speech_hop_frames`` keeps every ``hop / 8``-th of them.

:func:`log_mel` reproduces ``melspectrogram.onnx`` (openWakeWord 0.4.0's copy of the front end; a
torchlibrosa ``Spectrogram`` + ``LogmelFilterBank``) operation by operation, in float64:

1. samples in [-1, 1] times ``INT16_SCALE`` (the model takes int16-scaled floats);
2. frames of ``N_FFT`` = 512 samples every ``HOP`` = 160 samples, no padding (``center=False``):
   ``frames = (n - 512) // 160 + 1``; samples after the last frame are not used;
3. each frame's power spectrum with a periodic Hann window of ``FRAME_LENGTH`` = 400 samples
   centred in the 512 (56 zeros each side): ``|rfft(frame[56:456] * hann(400), 512)|**2``
   (the position of the window does not change the power);
4. the mel filterbank :func:`mel_filterbank` (librosa's Slaney-style mel, ``norm="slaney"``,
   ``F_MIN`` = 60 Hz to ``F_MAX`` = 3800 Hz, 32 bands; non-zero on FFT bins 2..121);
5. ``10 log10(max(mel, AMIN))`` (``AMIN`` = 1e-10, reference power 1), then everything below the
   loudest value of the whole input minus ``TOP_DB`` = 80 dB is raised to that floor.

All arithmetic is float64 and every integer rule is spelled out, so ``extension/js/speech.js``
(``PacRuntime.speech``), which takes these constants from :data:`FRONT_END` through the page
constants, reproduces the numbers to rounding.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import functional as F
from .config import FeatureConfig

#: The embedding network's stride in time, in frames (its max-pools halve time three times).
NETWORK_STRIDE = 8
#: The network's sample rate (Hz).
SAMPLE_RATE = 16000
#: Length of the Hann window inside each STFT frame (25 ms).
FRAME_LENGTH = 400
#: STFT frame (and FFT) length; the Hann window sits in its middle.
N_FFT = 512
#: Step between frames (10 ms).
HOP = 160
#: Mel bands.
N_BANDS = 32
#: Mel filterbank range (Hz).
F_MIN = 60.0
F_MAX = 3800.0
#: Dynamic range kept below the loudest value of the input (dB).
TOP_DB = 80.0
#: Power floor before the logarithm.
AMIN = 1e-10
#: Samples in [-1, 1] -> the int16 scale the front end expects.
INT16_SCALE = 32768.0
#: Frames per network input window (12,512 samples at 16 kHz: 0.78 s).
WINDOW_FRAMES = 76
#: openWakeWord's transform of the dB values before the network: ``db / NETWORK_DIVISOR + NETWORK_OFFSET``.
NETWORK_DIVISOR = 10.0
NETWORK_OFFSET = 2.0
#: Shape parameter of the resampling filter's Kaiser window (stop band about -86 dB, below the
#: front end's 80 dB range).
KAISER_BETA = 8.6
#: Terms of the power series of the modified Bessel function I0 (plenty for arguments up to ~20).
I0_TERMS = 32
#: Resampling: rate pairs whose phase period ``target / gcd(rate, target)`` exceeds this are
#: filtered tap by tap instead of phase by phase (same numbers, another loop order).
MAX_PHASES = 1024

#: Samples (16 kHz) that give exactly one window: ``N_FFT + (WINDOW_FRAMES - 1) * HOP`` = 12512.
WINDOW_SAMPLES = N_FFT + (WINDOW_FRAMES - 1) * HOP
#: First sample of the Hann window inside a frame.
WINDOW_OFFSET = (N_FFT - FRAME_LENGTH) // 2

#: The constants above, for the JS runtime (``features.speech_front_end`` of the page constants).
FRONT_END = {
    "sample_rate": SAMPLE_RATE,
    "frame_length": FRAME_LENGTH,
    "n_fft": N_FFT,
    "hop": HOP,
    "n_bands": N_BANDS,
    "f_min": F_MIN,
    "f_max": F_MAX,
    "top_db": TOP_DB,
    "amin": AMIN,
    "int16_scale": INT16_SCALE,
    "window_frames": WINDOW_FRAMES,
    "network_stride": NETWORK_STRIDE,
    "network_divisor": NETWORK_DIVISOR,
    "network_offset": NETWORK_OFFSET,
    "kaiser_beta": KAISER_BETA,
    "i0_terms": I0_TERMS,
}


# -- resampling --------------------------------------------------------------------------------


def bessel_i0(x: np.ndarray) -> np.ndarray:
    """Modified Bessel function of the first kind, order 0, by its power series.

    ``I0(x) = sum_k ((x / 2)**k / k!)**2`` for k = 0 .. ``I0_TERMS - 1``, each term computed from
    the previous one as ``term * (x / 2)**2 / k**2`` and added in order (the JS runtime does the
    same).  Relative error below 1e-15 for ``|x| <= 20``.

    Parameters
    ----------
    x : array_like
        Arguments.

    Returns
    -------
    ndarray
        float64 values of the same shape.
    """
    half_squared = (np.asarray(x, dtype=np.float64) / 2.0) ** 2
    term = np.ones_like(half_squared)
    total = np.ones_like(half_squared)
    for k in range(1, I0_TERMS):
        term = term * half_squared / float(k * k)
        total = total + term
    return total


def resampled_length(n: int, *, rate: int, target: int) -> int:
    """Output length of :func:`resample`: ``round_half_up(n * target / rate)``, in integers.

    Computed as ``(2 n target + rate) // (2 rate)``, so there is no floating-point rounding.
    """
    return (2 * int(n) * int(target) + int(rate)) // (2 * int(rate))


def _half_width(rate: int, target: int, zeros: int) -> tuple[float, int]:
    """Kernel half-width in input samples, ``zeros * rate / min(rate, target)``, and the tap
    reach ``K = ceil(half-width)`` (taps run from ``-(K - 1)`` to ``K`` around ``floor(t)``)."""
    half = zeros * rate / min(rate, target)
    return half, int(math.ceil(half))


@functools.lru_cache(maxsize=8)
def resampling_kernel(*, rate: int, target: int, zeros: int, rolloff: float) -> np.ndarray:
    """The windowed-sinc taps of :func:`resample` for every phase, shape ``(q, 2 K)``.

    Output sample ``n`` sits at input position ``t_n = n * rate / target``; with
    ``g = gcd(rate, target)`` and ``q = target / g`` its fractional part only depends on
    ``r = n mod q``: ``frac_r = ((r * rate) mod target) / target``.  Row ``r``, column ``i`` is
    the weight of input sample ``floor(t_n) + i - (K - 1)``, at distance
    ``d = frac_r - (i - (K - 1))`` from ``t_n``::

        h(d) = c * sinc(c * d) * I0(beta * sqrt(1 - (d / W)**2)) / I0(beta)   if |d| < W, else 0

    with ``c = rolloff * min(rate, target) / rate`` (the cut-off ``rolloff * min(rate, target) / 2``
    Hz in cycles per input sample, times two), ``sinc(z) = sin(pi z) / (pi z)`` (1 at 0),
    ``W = zeros * rate / min(rate, target)`` (``zeros`` zero crossings of the lower rate) and
    ``beta = KAISER_BETA``.  The taps are not renormalised: the gain at 0 Hz is 1 to within the
    filter's ripple (about 5e-5).

    Parameters
    ----------
    rate, target : int
        Input and output sample rates (Hz).
    zeros : int
        Zero crossings of the lower rate on each side of the kernel.
    rolloff : float
        Cut-off as a fraction of the lower rate's Nyquist frequency, in (0, 1].

    Returns
    -------
    ndarray
        Read-only float64 table, one row per phase.
    """
    g = math.gcd(rate, target)
    q = target // g
    half, reach = _half_width(rate, target, zeros)
    r = np.arange(q, dtype=np.int64)
    frac = ((r * rate) % target).astype(np.float64) / target
    offsets = np.arange(-(reach - 1), reach + 1, dtype=np.float64)
    d = frac[:, None] - offsets[None, :]
    c = rolloff * min(rate, target) / rate
    z = np.pi * (c * d)
    safe = np.where(z == 0.0, 1.0, z)
    sinc = np.where(z == 0.0, 1.0, np.sin(safe) / safe)
    u = d / half
    inside = np.abs(d) < half
    window = bessel_i0(KAISER_BETA * np.sqrt(np.where(inside, 1.0 - u * u, 0.0))) / bessel_i0(KAISER_BETA)
    table = np.where(inside, c * sinc * window, 0.0)
    table.flags.writeable = False
    return table


def resample(x: np.ndarray, *, rate: int, target: int = SAMPLE_RATE, zeros: int, rolloff: float) -> np.ndarray:
    """Band-limited resampling by direct evaluation of a Kaiser-windowed sinc at each output instant.

    Output sample ``n`` (``n = 0 .. N - 1``) is ``sum_j x[j] h(n * rate / target - j)`` over the
    input samples ``j`` within the kernel's half-width, ``h`` as in :func:`resampling_kernel`
    (cut-off ``rolloff * min(rate, target) / 2`` Hz, half-width ``zeros`` zero crossings of the
    lower rate, Kaiser window ``KAISER_BETA``).  Samples outside ``x`` count as zeros, so the
    first and last ``zeros`` output samples (of the lower rate) feel the clip's edges.
    Output sample 0 is input sample 0 (no delay).

    Parameters
    ----------
    x : ndarray
        Mono samples.
    rate : int
        Their sample rate (Hz).
    target : int
        Output sample rate (Hz); default the network's 16 kHz.
    zeros : int
        Kernel half-width in zero crossings of the lower rate (``FeatureConfig.speech_resample_zeros``).
    rolloff : float
        Cut-off as a fraction of the lower rate's Nyquist frequency
        (``FeatureConfig.speech_resample_rolloff``).

    Returns
    -------
    ndarray
        float64 samples at ``target``, ``N = round_half_up(len(x) * target / rate)`` of them
        (:func:`resampled_length`); a float64 copy of ``x`` when ``rate == target``.
    """
    x = np.asarray(x, dtype=np.float64)
    rate, target = int(rate), int(target)
    if rate == target:
        return x.copy()
    n_out = resampled_length(len(x), rate=rate, target=target)
    table = resampling_kernel(rate=rate, target=target, zeros=int(zeros), rolloff=float(rolloff))
    q, taps = table.shape
    p = rate // math.gcd(rate, target)
    _, reach = _half_width(rate, target, int(zeros))
    # xpad[j + reach - 1] = x[j]; tap i of output n reads xpad[floor(t_n) + i].
    xpad = np.zeros(reach - 1 + len(x) + reach + p + 2)
    xpad[reach - 1 : reach - 1 + len(x)] = x
    out = np.empty(n_out)
    if n_out == 0:
        return out
    if q <= MAX_PHASES:
        # Output n = m q + r starts reading at floor(t_n) = m p + floor(r rate / target).
        rows = np.lib.stride_tricks.sliding_window_view(xpad, taps)
        for r in range(min(q, n_out)):
            count = len(range(r, n_out, q))
            out[r::q] = rows[(r * rate) // target :: p][:count] @ table[r]
        return out
    n = np.arange(n_out, dtype=np.int64)
    base = (n * rate) // target
    phase = n % q
    out[:] = 0.0
    for i in range(taps):
        out += xpad[base + i] * table[phase, i]
    return out


# -- log-mel -------------------------------------------------------------------------------------


def hz_to_mel_slaney(f):
    """Slaney's mel scale (librosa ``hz_to_mel(htk=False)``): linear ``f / (200/3)`` below 1 kHz,
    then ``15 + ln(f / 1000) / (ln(6.4) / 27)``."""
    f = np.asarray(f, dtype=np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1000.0) / 1000.0) / logstep, f / (200.0 / 3.0))


def mel_to_hz_slaney(m):
    """Inverse of :func:`hz_to_mel_slaney`: ``(200/3) m`` below mel 15, then ``1000 exp((m - 15) ln(6.4) / 27)``."""
    m = np.asarray(m, dtype=np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (np.maximum(m, 15.0) - 15.0)), (200.0 / 3.0) * m)


@functools.lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """The front end's mel matrix, shape ``(N_FFT // 2 + 1, N_BANDS)`` = (257, 32).

    librosa's ``filters.mel(sr=16000, n_fft=512, n_mels=32, fmin=60, fmax=3800, htk=False,
    norm="slaney")`` (which ``melspectrogram.onnx`` holds as float32, transposed): band edges
    ``e_j = mel_to_hz(mel(F_MIN) + j (mel(F_MAX) - mel(F_MIN)) / (N_BANDS + 1))``, j = 0 .. 33,
    on the Slaney scale; bin ``k`` at ``f_k = k * SAMPLE_RATE / N_FFT`` Hz; band ``b`` weighs bin
    ``k`` by ``max(0, min((f_k - e_b) / (e_{b+1} - e_b), (e_{b+2} - f_k) / (e_{b+2} - e_{b+1})))
    * 2 / (e_{b+2} - e_b)`` (triangles of equal area).

    Returns
    -------
    ndarray
        Read-only float64 matrix; ``power @ mel_filterbank()`` gives the bands.
    """
    lo, hi = float(hz_to_mel_slaney(F_MIN)), float(hz_to_mel_slaney(F_MAX))
    j = np.arange(N_BANDS + 2, dtype=np.float64)
    edges = mel_to_hz_slaney(lo + j * (hi - lo) / (N_BANDS + 1))
    bank = np.ascontiguousarray(F.triangle_filters(edges, rate=SAMPLE_RATE, n_fft=N_FFT, slaney=True).T)
    bank.flags.writeable = False
    return bank


@functools.lru_cache(maxsize=1)
def mel_bin_range() -> tuple[int, int]:
    """``(first, stop)``: the FFT bins on which :func:`mel_filterbank` is not zero (2, 122)."""
    used = np.flatnonzero(mel_filterbank().any(axis=1))
    return int(used[0]), int(used[-1]) + 1


def log_mel(x16: np.ndarray) -> np.ndarray:
    """16 kHz samples -> the front end's floored log-mel dB values, as ``melspectrogram.onnx``.

    See the module docstring for the steps.  An input shorter than ``N_FFT`` samples is
    zero-padded at its end to ``N_FFT`` (one frame); :func:`speech_sequence` never passes one.

    Parameters
    ----------
    x16 : ndarray
        Mono samples in [-1, 1] at ``SAMPLE_RATE``.

    Returns
    -------
    ndarray
        float64 ``(frames, N_BANDS)`` with ``frames = (max(len, N_FFT) - N_FFT) // HOP + 1``; every
        value is within ``TOP_DB`` of the largest one.
    """
    s = np.asarray(x16, dtype=np.float64) * INT16_SCALE
    if len(s) < N_FFT:
        s = F.cut(s, start=0, length=N_FFT)
    n_frames = (len(s) - N_FFT) // HOP + 1
    index = np.arange(n_frames)[:, None] * HOP + WINDOW_OFFSET + np.arange(FRAME_LENGTH)[None, :]
    spectrum = np.fft.rfft(s[index] * F.hann(FRAME_LENGTH), n=N_FFT, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    first, stop = mel_bin_range()
    db = 10.0 * np.log10(np.maximum(power[:, first:stop] @ mel_filterbank()[first:stop], AMIN))
    return np.maximum(db, db.max() - TOP_DB)


def network_input(db: np.ndarray) -> np.ndarray:
    """dB values -> the network's input scale, ``db / 10 + 2`` computed in float64, as float32."""
    return (np.asarray(db, dtype=np.float64) / NETWORK_DIVISOR + NETWORK_OFFSET).astype(np.float32)


# -- windows -------------------------------------------------------------------------------------


def pad_to_window(x16: np.ndarray) -> np.ndarray:
    """Centre samples shorter than one network window in zeros.

    A signal of fewer than ``WINDOW_SAMPLES`` = 12512 samples (the length that gives exactly
    ``WINDOW_FRAMES`` frames) gets ``(12512 - n) // 2`` zeros before it and the rest after it;
    longer signals are returned unchanged (as float64).  This happens before :func:`log_mel`, so
    the padding is silence the front end analyses like any other (and its 80 dB floor applies).
    """
    x16 = np.asarray(x16, dtype=np.float64)
    if len(x16) >= WINDOW_SAMPLES:
        return x16
    return F.cut(x16, start=-((WINDOW_SAMPLES - len(x16)) // 2), length=WINDOW_SAMPLES)


def window_starts(n_frames: int, *, hop_frames: int) -> np.ndarray:
    """First frame of each network window over ``n_frames`` frames.

    ``0, hop, 2 hop, ...`` while the window fits (``start + WINDOW_FRAMES <= n_frames``), as
    openWakeWord places them; the tail after the last window (fewer than ``hop`` frames) is not
    embedded.  These are the windows whose embeddings one pass of the network over the whole
    sequence computes (its time stride is ``NETWORK_STRIDE``), so ``hop`` is a multiple of it.

    Raises
    ------
    ValueError
        If ``n_frames < WINDOW_FRAMES`` or ``hop_frames < 1``.
    """
    if n_frames < WINDOW_FRAMES:
        raise ValueError(f"{n_frames} frames are fewer than one window of {WINDOW_FRAMES}")
    if hop_frames < 1 or hop_frames % NETWORK_STRIDE:
        raise ValueError(f"hop_frames must be a positive multiple of {NETWORK_STRIDE}")
    return np.arange(0, n_frames - WINDOW_FRAMES + 1, hop_frames, dtype=np.int64)


def embedding_windows(frames: np.ndarray, *, hop_frames: int) -> np.ndarray:
    """Cut ``(n_frames, N_BANDS)`` network-input frames into windows of ``WINDOW_FRAMES``.

    Parameters
    ----------
    frames : ndarray
        At least ``WINDOW_FRAMES`` rows (:func:`speech_sequence` pads the samples so that there are).
    hop_frames : int
        Step between window starts; placement by :func:`window_starts`.

    Returns
    -------
    ndarray
        float32 ``(n_windows, WINDOW_FRAMES, N_BANDS)``.
    """
    frames = np.asarray(frames, dtype=np.float32)
    starts = window_starts(len(frames), hop_frames=hop_frames)
    return frames[starts[:, None] + np.arange(WINDOW_FRAMES)[None, :]]


def speech_sequence(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """Analysis-window samples at ``rate`` -> the network's input sequence, float32 ``(n_frames, 32)``.

    :func:`resample` to 16 kHz (``speech_resample_zeros``, ``speech_resample_rolloff``),
    :func:`pad_to_window` (so ``n_frames >= WINDOW_FRAMES``), :func:`log_mel`, :func:`network_input`.
    The network runs over it whole (:meth:`pac.speech_base.SpeechEmbedding.sequence`).
    """
    x16 = resample(window, rate=rate, zeros=config.speech_resample_zeros, rolloff=config.speech_resample_rolloff)
    return network_input(log_mel(pad_to_window(x16)))


def speech_frames(window: np.ndarray, *, rate: int, config: FeatureConfig) -> np.ndarray:
    """Analysis-window samples at ``rate`` -> the network's input windows, cut out one by one.

    The reference for what :func:`speech_sequence` and one pass of the network compute.

    :func:`resample` to 16 kHz (``speech_resample_zeros``, ``speech_resample_rolloff``),
    :func:`pad_to_window`, :func:`log_mel`, :func:`network_input`, :func:`embedding_windows`
    (``speech_hop_frames``).

    Parameters
    ----------
    window : ndarray
        Mono samples in [-1, 1] (normally :func:`pac.features.pipeline.analysis_window`).
    rate : int
        Their sample rate (Hz).
    config : FeatureConfig
        The feature configuration.

    Returns
    -------
    ndarray
        float32 ``(n_windows, WINDOW_FRAMES, N_BANDS)``, at least one window.
    """
    return embedding_windows(speech_sequence(window, rate=rate, config=config), hop_frames=config.speech_hop_frames)
