"""The feature configuration: one serializable object that fully determines the model's input image.

Everything that turns a clip into the 224x224 RGB image MobileNet sees is a field of
:class:`FeatureConfig`.  The Python pipeline (:mod:`pac.features.pipeline`) reads it, the JS
runtime's constants are generated from its JSON, and every trained model stores it in its manifest,
so a model is always run with the features it was trained on.

The steps, in order (field names in brackets):

1. Clip check: at least ``min_duration`` seconds, peak above ``silence_dbfs``.
2. Optional silence trimming (``trim_silence_dbfs``): 10 ms chunks quieter than this are dropped.
3. Analysis window (``window_seconds``, ``window_select``, ``active_db``, ``max_window_seconds``), at
   the clip's own sample rate.  ``"active"`` (default) finds the sound (10 ms chunks within
   ``active_db`` of the loudest) and centres it in a ``window_seconds`` window, or shows it whole if
   it is longer (up to ``max_window_seconds``); ``"energy"`` picks the fixed-length window with the
   most energy (search step 10 ms); clips shorter than the window are centred in zeros;
   ``None`` keeps the whole clip.
4. Short-time power spectrum (``frame_seconds``, ``n_frames``, ``fft_seconds``): ``n_frames``
   periodic-Hann frames of ``round(frame_seconds * rate)`` samples, evenly spread over the window,
   zero-padded to the next power of two >= ``fft_seconds * rate``.  No resampling: any WAV rate
   works, frequencies above the file's Nyquist are simply empty.
5. Frequency axis (``freq_scale``, ``n_bands``, ``f_min``, ``f_max``, ``f_limit``): HTK mel
   triangles, or the raw FFT bins up to ``f_max`` for ``"linear"``; bins above ``f_limit`` (set
   by training for clips whose rate is below ``2 * f_max``) are left out, as if the clip's rate were
   ``2 * f_limit`` (mel bands above it stay empty; a linear image stops there).
6. Decibels (``db_range``): ``10 log10(power)``, the loudest cell at 0 dB, floored at
   ``-db_range``, mapped to 0..1; ``None`` maps the image's own min..max to 0..1.
7. Layout: low frequencies at the bottom, resized to ``image_size`` x ``image_size`` with
   half-pixel-centred bilinear interpolation, quantised to 8 bits, coloured by ``colormap``.
8. MobileNet input: ``pixel * input_scale + input_offset`` per channel.

``method = "pac-compat"`` replaces steps 2-8 by an emulation of MIT's Personal Audio Classifier
(its spectrogram server, then the browser): pydub's silence removal on 16-bit integer samples,
matplotlib's ``specgram`` (``mpl_nfft``, ``mpl_noverlap``) rendered by Agg into an ``mpl_pixels``
square with the colour map over the image's own min..max, the browser's drawing into a
``browser_size`` square, nearest-neighbour resizing to ``image_size`` and ``pixel / 127 - 1``.
See :func:`pac.features.compat.compat_image` for every step and every choice made.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from .. import jsonsafe
from ..errors import PacError
from ..fsutil import read_limited
from ..limits import CONFIG_BOUNDS, LIMITS

#: Version of the configuration schema; bump when a field's meaning changes.
SCHEMA_VERSION = 1

FREQ_SCALES = ("mel", "linear")
WINDOW_SELECTS = ("active", "energy", "center", "start")
COLORMAPS = ("gray", "viridis")
METHODS = ("pac", "pac-compat")
PCM_BITS = (8, 16)
#: pac-compat canvas filters (:data:`pac.features.canvas.DOWNSCALES`, the emulations).
DOWNSCALES = ("centre", "mipmap-bilinear", "area")


@dataclass(frozen=True)
class FeatureConfig:
    """Every parameter of the clip -> image pipeline, with the product's defaults.

    Parameters
    ----------
    name : str
        Profile name, for people; it does not change the features.
    min_duration : float
        Clips shorter than this many seconds are refused.
    silence_dbfs : float
        Clips whose peak is below this level (dB full scale) are refused as silent.
    trim_silence_dbfs : float or None
        If set, 10 ms chunks whose RMS is below this level are removed before windowing.
    window_seconds : float or None
        Length of the analysis window; ``None`` analyses the whole (trimmed) clip.
    window_select : {"active", "energy", "center", "start"}
        Which part of the clip becomes the window.  ``"active"``: the sound itself (see
        ``active_db``), centred in a ``window_seconds`` window if it is shorter, shown whole
        (squeezed in time) if it is longer, up to ``max_window_seconds``.  ``"energy"``: the
        ``window_seconds`` with the most energy.  ``"center"`` / ``"start"``: the middle / the start.
    active_db : float
        ``"active"``: the sound runs from the first to the last 10 ms chunk whose mean square is
        within this many dB of the loudest chunk's.
    max_window_seconds : float
        ``"active"``: longest window; of a longer sound, the loudest ``max_window_seconds``.
    frame_seconds : float
        Length of one spectrum frame.
    n_frames : int
        Number of frames (image columns before resizing).
    fft_seconds : float
        The FFT size is the next power of two of at least this many seconds (and the frame).
    freq_scale : {"mel", "linear"}
        Frequency axis of the image.
    n_bands : int
        Number of mel bands (ignored for ``"linear"``).
    f_min, f_max : float
        Frequency range in Hz shown in the image.
    f_limit : float or None
        FFT bins above this frequency are left out whatever the clip's sample rate, as if the clip's
        rate were ``2 * f_limit`` (mel bands above it stay empty; a linear image stops there);
        ``None``: none.  Method ``"pac"`` only.  Training sets it to
        half the lowest sample rate of the model's clips when that is below ``f_max``
        (:func:`band_for_rates`); written only when set, like the ``speech_*`` fields.
    db_range : float or None
        Dynamic range in dB below the loudest cell; ``None`` uses the image's own min..max.
    image_size : int
        Side of the square image in pixels (MobileNet v1 224 expects 224).
    colormap : {"gray", "viridis"}
        How intensity becomes RGB.
    input_scale, input_offset : float
        MobileNet input = ``pixel * input_scale + input_offset`` (pixel in 0..255).
    method : {"pac", "pac-compat"}
        ``"pac"``: this pipeline.  ``"pac-compat"``: MIT's PAC spectrogram (server + browser), using
        only ``min_duration``, ``silence_dbfs``, ``trim_silence_dbfs``, ``colormap``, ``image_size``,
        ``input_scale``, ``input_offset`` and the five fields below; the others are ignored.
    mpl_nfft, mpl_noverlap : int
        pac-compat: matplotlib ``specgram``'s ``NFFT`` and ``noverlap`` (samples).
    mpl_pixels : int
        pac-compat: side of the rendered figure in pixels (10 inches at 100 dpi); not a multiple of 3.
    browser_size : int
        pac-compat: side of the image the browser draws the figure into; ``mpl_pixels`` must be an
        odd multiple of it.
    pcm_bits : {8, 16}
        pac-compat: samples become integers ``floor(x * 2**(pcm_bits - 1))`` (pydub's view of the
        WAV); pydub's dBFS is measured on them.
    downscale : {"centre", "mipmap-bilinear", "area"}
        pac-compat: how the browser's canvas draws the ``mpl_pixels`` figure into ``browser_size``
        (:mod:`pac.features.canvas`).  ``"mipmap-bilinear"``: what Chromium's software canvas was
        measured to do (the ``pac-compat`` profile's).  ``"centre"``: the centre pixel of each
        block, what pac assumed before this field existed; the default, so that a model whose
        stored configuration lacks the field keeps the images it was trained on (and written only
        when it differs from it, like the ``speech_*`` fields).  ``"area"``: the block's mean.
    speech_resample_zeros : int
        Speech block (models whose manifest uses the speech base): the analysis window is resampled
        to the network's 16 kHz by a windowed-sinc filter reaching this many zero crossings of the
        lower rate on each side (:func:`pac.features.speech.resample`).
    speech_resample_rolloff : float
        Speech block: the resampling filter's cut-off as a fraction of the lower rate's Nyquist.
    speech_hop_frames : int
        Speech block: step between consecutive 76-frame embedding windows, in 10 ms frames; a
        multiple of 8, the network's stride in time.

    Every numeric field must lie within its bounds in :data:`pac.limits.CONFIG_BOUNDS` (inclusive),
    so that no configuration asks for gigabytes of work; ``None`` is allowed where the field is
    optional.
    """

    name: str = "default"
    min_duration: float = 0.1
    silence_dbfs: float = -70.0
    trim_silence_dbfs: Optional[float] = None
    window_seconds: Optional[float] = 1.0
    window_select: str = "active"
    active_db: float = 25.0
    max_window_seconds: float = 4.0
    frame_seconds: float = 0.025
    n_frames: int = 224
    fft_seconds: float = 0.064
    freq_scale: str = "mel"
    n_bands: int = 128
    f_min: float = 40.0
    f_max: float = 8000.0
    f_limit: Optional[float] = None
    db_range: Optional[float] = 80.0
    image_size: int = 224
    colormap: str = "viridis"
    input_scale: float = 1.0 / 127.5
    input_offset: float = -1.0
    schema_version: int = field(default=SCHEMA_VERSION)
    method: str = "pac"
    mpl_nfft: int = 512
    mpl_noverlap: int = 384
    mpl_pixels: int = 1000
    browser_size: int = 200
    pcm_bits: int = 16
    downscale: str = "centre"
    speech_resample_zeros: int = 16
    speech_resample_rolloff: float = 0.945
    speech_hop_frames: int = 8

    def __post_init__(self) -> None:
        problems = _bound_problems(self)
        if problems:  # the relations below assume numbers within bounds
            raise PacError("invalid feature configuration: " + "; ".join(problems))
        if self.schema_version != SCHEMA_VERSION:
            problems.append(f"schema_version {self.schema_version} is not {SCHEMA_VERSION}")
        if self.freq_scale not in FREQ_SCALES:
            problems.append(f"freq_scale must be one of {', '.join(FREQ_SCALES)}")
        if self.window_select not in WINDOW_SELECTS:
            problems.append(f"window_select must be one of {', '.join(WINDOW_SELECTS)}")
        if self.colormap not in COLORMAPS:
            problems.append(f"colormap must be one of {', '.join(COLORMAPS)}")
        if self.window_seconds is not None and self.window_seconds <= self.frame_seconds:
            problems.append("window_seconds must be longer than frame_seconds")
        if self.window_seconds is not None and self.max_window_seconds < self.window_seconds:
            problems.append("max_window_seconds must be at least window_seconds")
        if not 0 <= self.f_min < self.f_max:
            problems.append("need 0 <= f_min < f_max")
        if self.f_limit is not None and not self.f_min < self.f_limit:
            problems.append("need f_min < f_limit")
        if self.f_limit is not None and self.method != "pac":
            problems.append("f_limit is for method pac only")
        problems.extend(_compat_problems(self))
        if self.speech_hop_frames % 8:
            problems.append("speech_hop_frames must be a positive multiple of 8 (the speech network's stride)")
        if problems:
            raise PacError("invalid feature configuration: " + "; ".join(problems))

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON types."""
        return dataclasses.asdict(self)

    def manifest_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields of :data:`OPTIONAL_FIELDS` (``speech_*``,
        ``downscale``) that hold their defaults: what a model's ``pac.json`` stores, so a model that
        does not change them is written exactly as before they existed (and pages and pac versions
        of that time read it).  Missing fields take their defaults when read (:meth:`from_dict`),
        so changing such a default needs a new :data:`SCHEMA_VERSION`."""
        data = self.to_dict()
        for name in OPTIONAL_FIELDS:
            if data[name] == _DEFAULTS[name]:
                del data[name]
        return data

    def to_json(self) -> str:
        """Canonical JSON text of :meth:`manifest_dict` (sorted keys), stable across runs."""
        return json.dumps(self.manifest_dict(), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "feature configuration") -> FeatureConfig:
        """Build a config from a dict, refusing unknown keys and wrong types.

        Missing keys take their defaults, so a file may hold only what it changes.
        """
        if not isinstance(data, dict):
            raise PacError(f"{source}: expected a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise PacError(f"{source}: unknown field(s) {', '.join(unknown)}")
        clean = {key: _coerce(key, value, source=source) for key, value in data.items()}
        try:
            return cls(**clean)
        except PacError as exc:
            raise PacError(f"{source}: {exc}") from None

    @classmethod
    def from_json(cls, text: str, *, source: str = "feature configuration") -> FeatureConfig:
        """Parse JSON text produced by :meth:`to_json` (or written by hand).

        The text is parsed by :func:`pac.jsonsafe.loads`: at most ``LIMITS.json_max_bytes``, nested at
        most ``LIMITS.json_max_depth`` deep, no ``NaN`` or ``Infinity``.
        """
        return cls.from_dict(jsonsafe.loads(text, source=source), source=source)


def _coerce(key: str, value, *, source: str):
    """``value`` of field ``key`` as its Python type, or a :class:`PacError` naming the field."""
    kind = _KINDS[key]
    if value is None and kind.endswith("?"):
        return None
    kind = kind.rstrip("?")
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "float" and isinstance(value, float):
        return value
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value) if abs(value) < 1e300 else (math.inf if value > 0 else -math.inf)
    raise PacError(f"{source}: field {key} must be {_KIND_NAMES[kind]}, not {_shown(value)}")


def _shown(value) -> str:
    """A short printable form of a JSON value for a message."""
    text = _number(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x) -> str:
    """A bound or value as people write it (``1024``, ``0.01``, ``1e+09``, ``nan``)."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x) if abs(x) < 10**30 else f"a {len(str(abs(x)))}-digit number"
    return f"{x:g}" if isinstance(x, float) and (not math.isfinite(x) or x == float(f"{x:g}")) else repr(x)


def _bound_problems(config: FeatureConfig) -> list[str]:
    """Fields outside their :data:`pac.limits.CONFIG_BOUNDS` (``None`` only where optional)."""
    problems = []
    for name, (low, high) in CONFIG_BOUNDS.items():
        value = getattr(config, name)
        if value is None:
            if not _KINDS[name].endswith("?"):
                problems.append(f"{name} must be a number, not null")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            shown = _number(value) if isinstance(value, (int, float)) else repr(value)[:40]
            problems.append(f"{name} must be from {_number(low)} to {_number(high)}, not {shown}")
    return problems


def _compat_problems(config: FeatureConfig) -> list[str]:
    """Problems with the fields of method ``pac-compat`` (checked for every configuration)."""
    problems = []
    if config.method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)}")
    if config.mpl_nfft < 2 or not 0 <= config.mpl_noverlap < config.mpl_nfft:
        problems.append("need mpl_nfft >= 2 and 0 <= mpl_noverlap < mpl_nfft")
    if config.pcm_bits not in PCM_BITS:
        problems.append(f"pcm_bits must be one of {', '.join(map(str, PCM_BITS))}")
    if config.mpl_pixels < 1 or config.mpl_pixels % 3 == 0:
        problems.append("mpl_pixels must be positive and not a multiple of 3")
    if (
        config.browser_size < 1
        or config.mpl_pixels % config.browser_size
        or (config.mpl_pixels // config.browser_size) % 2 == 0
    ):
        problems.append("mpl_pixels must be an odd multiple of browser_size")
    if config.downscale not in DOWNSCALES:
        problems.append(f"downscale must be one of {', '.join(DOWNSCALES)}")
    return problems


#: Fields of the speech block's front end (written only when they differ from the defaults).
SPEECH_FIELDS = tuple(f.name for f in fields(FeatureConfig) if f.name.startswith("speech_"))
#: Fields a manifest stores only when they differ from their defaults (added after schema 1's first
#: models; a missing one means its default, which is what those models were made with).
OPTIONAL_FIELDS = SPEECH_FIELDS + ("downscale", "f_limit")
_DEFAULTS = {f.name: f.default for f in fields(FeatureConfig)}

# JSON type of each field ("?" = may be null), from the annotations: one source of truth.
_KINDS = {
    f.name: {"str": "str", "int": "int", "float": "float", "Optional[float]": "float?"}[f.type]
    for f in fields(FeatureConfig)
}
_KIND_NAMES = {"str": "a string", "int": "a whole number", "float": "a number"}

#: Named profiles.  ``default`` is the product's (chosen by few-shot accuracy, see bench/);
#: ``paper`` follows the PAC paper's raw linear spectrogram of the whole silence-trimmed clip.
PROFILES: dict[str, FeatureConfig] = {
    "default": FeatureConfig(),
    "paper": FeatureConfig(
        name="paper",
        trim_silence_dbfs=-50.0,
        window_seconds=None,
        window_select="energy",  # unused without a window; kept so earlier models' manifests match
        frame_seconds=0.032,
        fft_seconds=0.032,
        freq_scale="linear",
        f_min=0.0,
        f_max=24000.0,
        db_range=None,
        colormap="viridis",
        input_scale=1.0 / 127.0,
    ),
    # MIT's Personal Audio Classifier as shipped (server spectrogram + browser), see compat_image.
    "pac-compat": FeatureConfig(
        name="pac-compat",
        method="pac-compat",
        trim_silence_dbfs=-50.0,
        window_seconds=None,
        window_select="energy",  # unused without a window; kept so earlier models' manifests match
        freq_scale="linear",
        f_min=0.0,
        f_max=96000.0,
        db_range=None,
        colormap="viridis",
        input_scale=1.0 / 127.0,
        downscale="mipmap-bilinear",  # Chromium's canvas as measured (models before it: "centre")
    ),
}


def load_config(spec: str | os.PathLike | None) -> FeatureConfig:
    """Resolve ``--config``: ``None`` -> default, a profile name, or a JSON file path.

    A file is read by :func:`pac.fsutil.read_limited` (a regular file of at most
    ``LIMITS.json_max_bytes``; a FIFO or device is refused without waiting) and parsed by
    :func:`pac.jsonsafe.loads`.
    """
    if spec is None:
        return PROFILES["default"]
    text = os.fspath(spec)
    if text in PROFILES:
        return PROFILES[text]
    if not os.path.lexists(text):
        raise PacError(f"{text}: no such feature profile or file (profiles: {', '.join(PROFILES)})")
    body = read_limited(text, max_bytes=LIMITS.json_max_bytes, what="feature configuration")
    return FeatureConfig.from_dict(jsonsafe.loads(body, source=text), source=text)


def band_for_rates(config: FeatureConfig, rates) -> FeatureConfig:
    """``config`` for a model trained on clips at sample ``rates``: ``f_limit`` set to the lowest
    rate's Nyquist frequency (half the rate) when that is below ``f_max``, otherwise ``config`` itself.

    A clip holds nothing above half its rate, so a model trained on 8 kHz clips would learn that
    the image's rows above 4 kHz are empty for its words and full (of the room's noise) for
    ``_background_noise_`` recorded at a higher rate, and then hear every word a phone's 48 kHz
    microphone picks up as noise.  With ``f_limit`` the model sees, at training and when it runs,
    only the band every training clip has, and a clip at the lowest rate gives exactly the image
    it gave without it (``bench/live.py --speakers personal``: one speaker's 8 kHz words found
    0.43 -> 0.90 on the tuning tasks).  ``pac-compat`` (MIT's features, reproduced as they are) is
    left unchanged.

    Parameters
    ----------
    config : FeatureConfig
    rates : iterable of int
        The training clips' sample rates (Hz).

    Raises
    ------
    PacError
        When the lowest rate's band ends at or below ``f_min``.
    """
    rates = list(rates)
    if not rates or config.method != "pac":
        return config
    nyquist = min(rates) / 2.0
    if nyquist >= min(config.f_max, math.inf if config.f_limit is None else config.f_limit):
        return config
    if nyquist <= config.f_min:
        raise PacError(
            f"clips at {min(rates):,d} Hz hold nothing above {nyquist:g} Hz, which is not above the feature "
            f"configuration's f_min ({config.f_min:g} Hz)"
        )
    return dataclasses.replace(config, f_limit=nyquist)
