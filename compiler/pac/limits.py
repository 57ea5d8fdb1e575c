"""Every size, rate and nesting limit pac enforces on what it reads, declared once.

pac refuses hostile or broken input *before* doing the work: a file is checked against these limits
as soon as its size or header is known, and the one-line :class:`pac.errors.PacError` names the file
and the limit.  The same numbers reach the classifier page (``page_constants``) so that the
JavaScript WAV decoder refuses exactly what Python refuses, and the README's "Limits" table is
checked against :func:`table` by a test.

Why these values
----------------
Clips are a few seconds of speech or sound: the longest window pac ever looks at is 4 s (see
``FeatureConfig.max_window_seconds``), so ten minutes and 32 MiB leave room for a whole lecture
recording while keeping the decoded float64 samples under 300 MB.  Sample rates cover telephone
audio (8 kHz, with room below for old recorders) up to studio rates.  A float sample may go above
full scale (1.0) but not by more than 60 dB: beyond that the recording is garbage, and averaging
channels of such values can overflow to infinity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Limits", "LIMITS", "CONFIG_BOUNDS", "table"]


@dataclass(frozen=True)
class Limits:
    """The limits, with their documented defaults.

    Attributes
    ----------
    wav_max_bytes : int
        Largest WAV file read (bytes).
    clip_max_seconds : float
        Longest clip decoded (seconds).
    rate_min, rate_max : int
        Lowest and highest sample rate accepted (Hz).
    float_max_abs : float
        Largest absolute value of a float sample (1000 = 60 dB above full scale).
    json_max_bytes : int
        Largest JSON file read: ``--config`` files, ``pac.json``, the entries of a model.
    json_max_depth : int
        Deepest nesting of arrays and objects in any JSON pac reads (files and studio requests).
    model_max_bytes : int
        Largest ``.mdl`` file imported.
    aix_max_entries : int
        Most entries in an ``.aix`` (or in a jar inside it) that ``pac verify`` reads.
    aix_max_entry_bytes : int
        Largest uncompressed entry of an ``.aix`` that ``pac verify`` decompresses.
    aix_max_total_bytes : int
        Largest uncompressed total of an ``.aix`` (nested jars included) that ``pac verify`` reads.
    zip_max_ratio : int
        Highest compression ratio of an archive entry (a higher one is treated as a zip bomb).
    zip_max_depth : int
        Deepest nesting of archives (an ``.aix`` holding ``classes.jar`` is depth 2).
    max_labels : int
        Most labels in a model.
    label_max_chars : int
        Longest label name (characters).
    upload_max_bytes : int
        Largest clip the studio accepts in one upload (bytes).
    request_json_max_bytes : int
        Largest JSON request body the studio accepts (bytes).
    sheet_max_clips : int
        Most clips ``pac spectrogram`` puts on one contact sheet (400: a 20 x 20 grid, about 4,600 x
        5,000 pixels and 70 MB of images in memory).
    """

    wav_max_bytes: int = 32 << 20
    clip_max_seconds: float = 600.0
    rate_min: int = 4000
    rate_max: int = 384000
    float_max_abs: float = 1000.0
    json_max_bytes: int = 1 << 20
    json_max_depth: int = 32
    model_max_bytes: int = 64 << 20
    aix_max_entries: int = 10000
    aix_max_entry_bytes: int = 64 << 20
    aix_max_total_bytes: int = 256 << 20
    zip_max_ratio: int = 100
    zip_max_depth: int = 2
    max_labels: int = 1000
    label_max_chars: int = 40
    upload_max_bytes: int = 10 * 1024 * 1024
    request_json_max_bytes: int = 64 * 1024
    sheet_max_clips: int = 400

    def to_dict(self) -> dict:
        """All limits as plain JSON numbers (what the classifier page receives)."""
        return asdict(self)


#: The limits pac enforces.
LIMITS = Limits()

#: Inclusive (low, high) bounds of the numeric feature-configuration fields, so a ``--config`` file
#: cannot ask for gigabytes of work (huge images, frame counts or FFTs).  Lower bounds that depend
#: on other fields (e.g. ``window_seconds > frame_seconds``) stay in ``FeatureConfig``.
CONFIG_BOUNDS: dict[str, tuple[float, float]] = {
    "trim_silence_dbfs": (-200.0, 0.0),
    "window_seconds": (0.01, 60.0),
    "max_window_seconds": (0.01, 60.0),
    "active_db": (0.1, 200.0),
    "min_duration": (0.001, 60.0),
    "silence_dbfs": (-200.0, 0.0),
    "n_frames": (2, 1024),
    "frame_seconds": (0.001, 1.0),
    "fft_seconds": (0.001, 1.0),
    "n_bands": (2, 1024),
    "f_min": (0.0, 192000.0),
    "f_max": (1.0, 192000.0),
    "f_limit": (1.0, 192000.0),
    "db_range": (1.0, 400.0),
    "image_size": (2, 1024),
    "input_scale": (1e-6, 1e6),
    "input_offset": (-1e6, 1e6),
    "mpl_nfft": (2, 65536),
    "mpl_noverlap": (0, 65535),
    "mpl_pixels": (1, 4000),
    "browser_size": (1, 1024),
    "speech_resample_zeros": (1, 64),
    "speech_resample_rolloff": (0.01, 1.0),
    "speech_hop_frames": (8, 1024),
}


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,d} bytes"


def table() -> list[tuple[str, str]]:
    """The README's "Limits" table: ``(what, limit)`` rows, in reading order."""
    L = LIMITS  # noqa: N806 (short, in a table of L.*)
    return [
        ("WAV file size", _bytes(L.wav_max_bytes)),
        ("clip length", f"{L.clip_max_seconds:g} s"),
        ("sample rate", f"{L.rate_min:,d} to {L.rate_max:,d} Hz"),
        ("float sample magnitude", f"{L.float_max_abs:g} (60 dB above full scale)"),
        ("JSON file size (config, pac.json, model entries)", _bytes(L.json_max_bytes)),
        ("JSON nesting", f"{L.json_max_depth} levels"),
        (".mdl file size", _bytes(L.model_max_bytes)),
        ("labels per model", f"{L.max_labels:,d}"),
        ("label name", f"{L.label_max_chars} characters"),
        (".aix entries (each archive)", f"{L.aix_max_entries:,d}"),
        (".aix entry, uncompressed", _bytes(L.aix_max_entry_bytes)),
        (".aix total, uncompressed (nested jars included)", _bytes(L.aix_max_total_bytes)),
        ("archive compression ratio", f"{L.zip_max_ratio}:1"),
        ("archive nesting", f"{L.zip_max_depth} levels"),
        ("studio upload", _bytes(L.upload_max_bytes)),
        ("studio JSON request", _bytes(L.request_json_max_bytes)),
        ("clips on one spectrogram contact sheet", f"{L.sheet_max_clips:,d}"),
    ]
