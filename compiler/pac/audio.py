"""Read WAV files into mono float64 samples, and check that a clip can be classified.

The RIFF/WAVE parser is written out by hand (no ``scipy.io.wavfile``) because a JavaScript port
must decode exactly the same files to exactly the same numbers.  Hostile input is refused before the
work, within the limits of :mod:`pac.limits` (``LIMITS``; the page gets the same numbers).  The
rules, in order:

0. **Size.**  A file is read only if it is a regular file of at most ``wav_max_bytes``
   (:func:`pac.fsutil.read_limited`: a FIFO, a device or a folder is refused without waiting or
   reading); bytes given directly to :func:`decode_wav` are held to the same limit.
1. **Sniffing.**  An empty file is rejected as empty.  A file that does not start with ``RIFF``
   followed (at byte 8) by ``WAVE`` is rejected with a guess at what it is, from its first
   bytes: ``ID3`` or an MPEG frame sync (byte 0 is 0xFF and ``byte1 & 0xE0 == 0xE0``) -> MP3;
   ``OggS`` -> Ogg; ``ftyp`` at bytes 4..8 -> 3GP/MP4/M4A; ``fLaC`` -> FLAC; ``FORM`` -> AIFF;
   ``1A 45 DF A3`` -> WebM/Matroska; ``RF64`` -> RF64; ``RIFX`` -> big-endian RIFX; ``RIFF`` with
   another form type (``AVI``, ``WEBP``) -> "RIFF but not WAVE"; ``<!doctype``, ``<html`` or
   ``<?xml`` (ASCII case-insensitive, after an optional UTF-8 BOM and ASCII whitespace within
   the first 512 bytes) -> an HTML/XML page; otherwise the first 8 bytes are shown in hex.
   A ``RIFF`` file shorter than the 12-byte RIFF header is truncated.
2. **Chunks.**  The RIFF size field (bytes 4..8) is ignored; chunks are walked from byte 12 to
   the real end of the bytes.  Each chunk is a 4-byte id, a little-endian uint32 size and the
   body, followed by one pad byte when the size is odd.  The first ``fmt `` chunk is used (later
   ones are ignored); every other chunk (``LIST``, ``fact``, ``bext``, ``JUNK``, ...) is skipped.
   The walk stops at the first ``data`` chunk, which must come after ``fmt ``; whatever follows
   it is never read.  A chunk header cut off by the end of the file, or a chunk (other than
   ``data``) whose declared size runs past the end, means the file is truncated.
3. **fmt.**  At least 16 bytes: format tag, channels, sample rate, byte rate, block align, bits
   per sample (little-endian ``<HHIIHH``).  The byte rate is ignored.  Channels and rate must be
   at least 1, the rate within ``[rate_min, rate_max]`` (checked in that order, right after the
   channels), and block align must equal ``channels * bits / 8``.  Format tag 1 is integer PCM
   (8-bit unsigned; 16-, 24-, 32-bit signed), tag 3 is IEEE float (32 or 64 bits).  Tag 0xFFFE
   (WAVE_FORMAT_EXTENSIBLE) needs a fmt chunk of at least 40 bytes; its SubFormat GUID (bytes
   24..40) must be ``0000000X-0000-0010-8000-00aa00389b71`` with X = 1 (PCM) or 3 (float), and
   that code then acts as the format tag.  Its valid-bits and channel-mask fields are not used:
   the container bits per sample decide the decoding.  Anything else is rejected by name.
4. **data.**  If the declared size runs past the end of the file the file is truncated, except
   that a declared size of 0 or 0xFFFFFFFF (written by streaming writers that never went back
   to fill it in) means "up to the end of the file".  An incomplete trailing frame (data length
   not a multiple of block align) is ignored.  A clip of more than ``clip_max_seconds`` (whole
   frames / rate) is refused before any sample is decoded; the message gives its length rounded
   up to a tenth of a second.
5. **Scaling** to float64: 8-bit ``(x - 128) / 128``; 16-bit ``x / 32768``; 24-bit
   ``x / 8388608``; 32-bit integer ``x / 2147483648``; float samples as stored.  Float samples
   are checked as stored (float32 or float64, before any conversion, with numpy's floating-point
   warnings off so that a signalling NaN prints nothing): NaN or infinite samples are rejected
   first, then any sample whose magnitude exceeds ``float_max_abs`` (finite values that large are
   not audio, and averaging channels of them could overflow to infinity).
6. **Mixdown.**  Several channels become one by the arithmetic mean of each frame's channels.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from pac.errors import PacError
from pac.fsutil import read_limited
from pac.limits import LIMITS

__all__ = ["Audio", "decode_wav", "read_wav", "check_classifiable"]

_RIFF_HEADER = 12
_CHUNK_HEADER = 8
_FMT_MIN = 16
_FMT_EXTENSIBLE_MIN = 40
_STREAMING_SIZES = (0, 0xFFFFFFFF)

_TAG_PCM = 0x0001
_TAG_FLOAT = 0x0003
_TAG_EXTENSIBLE = 0xFFFE
# Bytes 4..16 of the SubFormat GUID shared by all the KSDATAFORMAT_SUBTYPE_* "WAVE" formats.
_GUID_TAIL = bytes.fromhex("0000 1000 8000 00aa00389b71")

# Names for the format tags people actually meet, for the error message.
_TAG_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0016: "ITU G.723 ADPCM",
    0x0031: "GSM 6.10",
    0x0040: "ITU G.721 ADPCM",
    0x0050: "MPEG",
    0x0055: "MPEG Layer 3 (MP3)",
    0x00FF: "AAC",
    0x1610: "HE-AAC",
}

# Integer PCM: container bits -> (numpy dtype, divisor).  24-bit is decoded specially.
_PCM = {8: ("u1", 128.0), 16: ("<i2", 32768.0), 24: (None, 8388608.0), 32: ("<i4", 2147483648.0)}
_FLOAT = {32: "<f4", 64: "<f8"}
_SUPPORTED = "supported: 8-, 16-, 24-, 32-bit integer PCM and 32-, 64-bit float"


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded clip: mono samples at the file's own sample rate.

    Parameters
    ----------
    samples : numpy.ndarray
        1-D float64 mono samples, nominally in [-1, 1].  Treat as read-only.
    rate : int
        Sample rate in Hz, as stored in the file (within ``LIMITS.rate_min`` to ``rate_max`` for a
        decoded file).
    channels : int
        Number of channels in the file, before the mixdown to mono.
    source : str
        Path or name of the clip, used in error messages.

    Notes
    -----
    Equality is identity (``eq=False``): comparing sample arrays is the caller's business.
    """

    samples: np.ndarray
    rate: int
    channels: int
    source: str

    @property
    def duration(self) -> float:
        """Length of the clip in seconds.

        Returns
        -------
        float
            ``len(samples) / rate``.
        """
        return len(self.samples) / self.rate


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def _fourcc(tag: bytes) -> str:
    if all(32 <= b < 127 for b in tag):
        return "'" + tag.decode("ascii") + "'"
    return "0x" + tag.hex()


def _sniff(data: bytes, name: str) -> PacError:
    """Describe bytes that are not a RIFF/WAVE file, as a PacError to raise."""
    n = len(data)

    def err(message: str) -> PacError:
        return PacError(message, path=name)

    if n == 0:
        return err("is empty (0 bytes)")
    head = data[:16]
    if head[:4] == b"RIFF":
        if n < _RIFF_HEADER:
            return err(f"truncated: shorter than the {_RIFF_HEADER}-byte RIFF header ({n} bytes)")
        kind = _fourcc(head[8:12])
        return err(f"is a RIFF file of type {kind} (for example AVI or WEBP), not WAVE")
    if head[:4] == b"RF64":
        return err("is an RF64 (64-bit WAV) file, which is not supported; save it as a plain WAV")
    if head[:4] == b"RIFX":
        return err("is a big-endian RIFX file, which is not supported; convert it to a normal WAV")
    if head[:3] == b"ID3" or (n >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0):
        return err("looks like an MP3 (MPEG audio) file, not WAV; convert it to WAV")
    if head[:4] == b"OggS":
        return err("looks like an Ogg (Vorbis/Opus) file, not WAV; convert it to WAV")
    if head[4:8] == b"ftyp":
        return err(
            "looks like a 3GP/MP4/M4A file, not WAV (App Inventor's SoundRecorder saves .3gp); "
            "convert it to WAV for this command"
        )
    if head[:4] == b"fLaC":
        return err("looks like a FLAC file, not WAV; convert it to WAV")
    if head[:4] == b"FORM":
        return err("looks like an AIFF file, not WAV; convert it to WAV")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return err("looks like a WebM/Matroska file, not WAV; convert it to WAV")
    text = data[:512]
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    text = text.lstrip(b" \t\r\n\x0b\x0c").lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml")):
        return err("is an HTML/XML page, not a WAV file (perhaps a download error page)")
    return err(f"is not a WAV file (starts with bytes {_hex(data[:8])})")


def _guid(raw: bytes) -> str:
    d1, d2, d3 = struct.unpack_from("<IHH", raw, 0)
    return f"{d1:08x}-{d2:04x}-{d3:04x}-{raw[8:10].hex()}-{raw[10:16].hex()}"


def _parse_fmt(body: bytes, name: str) -> tuple[int, int, int, int]:
    """Validate a fmt chunk body; return ``(code, channels, rate, bits)``, code 1 or 3."""
    if len(body) < _FMT_MIN:
        raise PacError(f"the fmt chunk is too short ({len(body)} bytes, needs at least {_FMT_MIN})", path=name)
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    code = tag
    if tag == _TAG_EXTENSIBLE:
        if len(body) < _FMT_EXTENSIBLE_MIN:
            raise PacError(
                f"the WAVE_FORMAT_EXTENSIBLE fmt chunk is too short ({len(body)} bytes, "
                f"needs at least {_FMT_EXTENSIBLE_MIN})",
                path=name,
            )
        guid = body[24:40]
        sub = struct.unpack_from("<I", guid, 0)[0]
        if guid[4:] != _GUID_TAIL or sub not in (_TAG_PCM, _TAG_FLOAT):
            what = _TAG_NAMES.get(sub) if guid[4:] == _GUID_TAIL else None
            label = f"{what} " if what else ""
            raise PacError(
                f"uses unsupported WAVE_FORMAT_EXTENSIBLE sub-format {label}({_guid(guid)}); {_SUPPORTED}",
                path=name,
            )
        code = sub
    if code not in (_TAG_PCM, _TAG_FLOAT):
        what = _TAG_NAMES.get(code, "unknown encoding")
        raise PacError(
            f"uses unsupported WAV encoding {what} (format tag 0x{code:04x}); {_SUPPORTED}; "
            "convert it to 16-bit PCM WAV",
            path=name,
        )
    if channels == 0:
        raise PacError("the fmt chunk declares 0 channels", path=name)
    if not LIMITS.rate_min <= rate <= LIMITS.rate_max:
        raise PacError(
            f"sample rate {rate:,d} Hz is outside the supported {LIMITS.rate_min:,d} to {LIMITS.rate_max:,d} Hz",
            path=name,
        )
    table = _PCM if code == _TAG_PCM else _FLOAT
    if bits not in table:
        kind = "integer PCM" if code == _TAG_PCM else "float"
        raise PacError(f"uses unsupported {bits}-bit {kind} samples; {_SUPPORTED}", path=name)
    expected = channels * bits // 8
    if block_align != expected:
        raise PacError(
            f"the fmt chunk's block align is {block_align} bytes, inconsistent with "
            f"{channels} channel(s) x {bits} bits (expected {expected})",
            path=name,
        )
    return code, channels, rate, bits


def _check_length(frames: int, rate: int, name: str) -> None:
    """Refuse a clip longer than ``LIMITS.clip_max_seconds``, from its frame count alone."""
    if frames <= LIMITS.clip_max_seconds * rate:
        return
    tenths = -(-frames * 10 // rate)  # rounded up, in integers, so both decoders print the same
    raise PacError(
        f"is {tenths // 10:,d}.{tenths % 10} s long, more than the {LIMITS.clip_max_seconds:g} s limit for a clip",
        path=name,
    )


def _float_samples(raw: bytes, bits: int, name: str) -> np.ndarray:
    """Float samples as float64, refusing NaN, infinity and magnitudes above ``float_max_abs``.

    The checks run on the stored float32/float64 values with numpy's floating-point errors
    ignored: converting a signalling NaN would otherwise print an "invalid value" warning.
    """
    stored = np.frombuffer(raw, dtype=_FLOAT[bits])
    with np.errstate(all="ignore"):
        if not np.isfinite(stored).all():
            raise PacError("contains non-finite float samples (NaN or infinity)", path=name)
        if stored.size and float(np.abs(stored).max()) > LIMITS.float_max_abs:
            raise PacError(
                f"contains a float sample of magnitude above {LIMITS.float_max_abs:g} (full scale "
                "is 1); it is not a usable recording",
                path=name,
            )
        return stored.astype(np.float64)


def _samples(raw: bytes, code: int, bits: int, name: str) -> np.ndarray:
    """Convert interleaved sample bytes (a whole number of frames) to scaled float64."""
    if code == _TAG_FLOAT:
        return _float_samples(raw, bits, name)
    dtype, divisor = _PCM[bits]
    if bits == 24:
        # Place each 3-byte sample in the top of a 4-byte little-endian int32, then shift
        # arithmetically right by 8: that sign-extends without a loop.
        triples = np.frombuffer(raw, dtype="u1").reshape(-1, 3)
        wide = np.zeros((len(triples), 4), dtype="u1")
        wide[:, 1:] = triples
        ints = wide.reshape(-1).view("<i4") >> 8
        return ints.astype(np.float64) / divisor
    ints = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    if bits == 8:
        ints -= 128.0
    return ints / divisor


def decode_wav(data: bytes, *, name: str) -> Audio:
    """Decode the bytes of a RIFF/WAVE file to mono float64 samples.

    The decoding rules are listed in the module docstring.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        Path or name of the file, used as ``Audio.source`` and in error messages.

    Returns
    -------
    Audio
        The samples mixed down to mono, at the file's own sample rate.

    Raises
    ------
    PacError
        If the bytes are more than ``LIMITS.wav_max_bytes``, are not a WAV file, are truncated or
        inconsistent, use an unsupported encoding, or break a limit (sample rate, clip length,
        float sample magnitude).  The message names the file and the problem.
    """
    n = len(data)
    if n > LIMITS.wav_max_bytes:
        raise PacError(
            f"is {n:,d} bytes, larger than the {LIMITS.wav_max_bytes:,d}-byte limit for a WAV file",
            path=name,
        )
    data = bytes(data)
    if n < _RIFF_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _sniff(data, name)

    fmt = None
    pos = _RIFF_HEADER
    while True:
        if pos >= n:
            break
        if pos + _CHUNK_HEADER > n:
            raise PacError(
                f"truncated: the chunk header at byte {pos} is cut off ({n - pos} of {_CHUNK_HEADER} bytes present)",
                path=name,
            )
        cid = data[pos : pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body_start = pos + _CHUNK_HEADER
        present = n - body_start
        if cid == b"data":
            if fmt is None:
                raise PacError(f"the data chunk at byte {pos} comes before any fmt chunk", path=name)
            if size > present:
                if size in _STREAMING_SIZES:
                    size = present
                else:
                    raise PacError(
                        f"truncated: the data chunk declares {size} bytes but only {present} are present",
                        path=name,
                    )
            elif size == 0 and present > 0:
                size = present  # streaming writer: data runs to the end of the file
            code, channels, rate, bits = fmt
            block_align = channels * bits // 8
            frames = size // block_align
            _check_length(frames, rate, name)
            raw = data[body_start : body_start + frames * block_align]
            samples = _samples(raw, code, bits, name)
            if channels > 1:
                samples = samples.reshape(frames, channels).mean(axis=1)
            samples = np.ascontiguousarray(samples, dtype=np.float64)
            return Audio(samples=samples, rate=int(rate), channels=int(channels), source=name)
        if size > present:
            raise PacError(
                f"truncated: the {_fourcc(cid)} chunk declares {size} bytes but only {present} are present",
                path=name,
            )
        if cid == b"fmt " and fmt is None:
            fmt = _parse_fmt(data[body_start : body_start + size], name)
        pos = body_start + size + (size & 1)

    if fmt is None:
        raise PacError("is not a usable WAV file: it has no fmt chunk", path=name)
    raise PacError("is not a usable WAV file: it has no data chunk", path=name)


def read_wav(path: str | os.PathLike) -> Audio:
    """Read and decode a WAV file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    Audio
        See :func:`decode_wav`; ``source`` is ``str(path)``.

    Raises
    ------
    PacError
        If the file cannot be read (does not exist, is a folder, a FIFO, a device or another file
        that is not a regular file, is larger than ``LIMITS.wav_max_bytes``, permission denied,
        other OS errors with the system's description) or cannot be decoded.  Nothing is read
        from a file that is refused, and a FIFO is not waited on.
    """
    name = str(path)
    data = read_limited(path, max_bytes=LIMITS.wav_max_bytes, what="WAV file")
    return decode_wav(data, name=name)


def _seconds(value: float, limit: float) -> tuple[str, str]:
    """Format two durations with 2 decimals, or more if 2 would make them look equal."""
    for digits in range(2, 7):
        a, b = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        if a != b:
            return a, b
    return a, b


def is_silent(samples, *, silence_dbfs: float) -> bool:
    """Whether the peak absolute sample is below ``10 ** (silence_dbfs / 20)`` (no samples: silent).

    The one silence rule: a clip like this is refused (:func:`check_classifiable`), and a window of a
    stream like this counts as background without being classified (:mod:`pac.listen`, the studio's
    live test).
    """
    samples = np.asarray(samples)
    return samples.size == 0 or float(np.max(np.abs(samples))) < 10.0 ** (silence_dbfs / 20.0)


def check_classifiable(audio: Audio, *, min_duration: float, silence_dbfs: float) -> None:
    """Reject clips that cannot sensibly be classified.

    Parameters
    ----------
    audio : Audio
        The decoded clip.
    min_duration : float
        Shortest acceptable clip, in seconds.
    silence_dbfs : float
        A clip whose peak absolute sample is below ``10 ** (silence_dbfs / 20)`` is silent.

    Raises
    ------
    PacError
        With ``path=audio.source``, if the clip has no samples, is shorter than
        ``min_duration``, or is silent.
    """
    samples = np.asarray(audio.samples)
    if samples.size == 0:
        raise PacError("has no audio samples", path=audio.source)
    duration = audio.duration
    if duration < min_duration:
        got, need = _seconds(duration, min_duration)
        raise PacError(f"is too short to classify: {got} s, needs at least {need} s", path=audio.source)
    if is_silent(samples, silence_dbfs=silence_dbfs):
        peak = float(np.max(np.abs(samples)))
        peak_db = "-inf" if peak == 0.0 else f"{20.0 * math.log10(peak):.1f}"
        raise PacError(f"is silent (peak {peak_db} dBFS, below {silence_dbfs:g} dBFS)", path=audio.source)
