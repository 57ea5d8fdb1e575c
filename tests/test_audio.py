"""Tests for pac.audio: the hand-written RIFF/WAVE decoder and the classifiability checks.

Every WAV variant is built here with struct; no binary fixtures are stored in the repository.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from pac.audio import Audio, check_classifiable, decode_wav, read_wav
from pac.errors import PacError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PCM, FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
GUID_TAIL = bytes.fromhex("00001000800000aa00389b71")


# ----------------------------------------------------------------------------- builders


def chunk(cid: bytes, body: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk, with its pad byte when the body has odd length."""
    size = len(body) if size is None else size
    pad = b"\x00" if len(body) % 2 else b""
    return cid + struct.pack("<I", size) + body + pad


def fmt_body(tag=PCM, channels=1, rate=16000, bits=16, block_align=None, sub=None, valid_bits=None):
    block_align = channels * bits // 8 if block_align is None else block_align
    byte_rate = rate * block_align
    body = struct.pack("<HHIIHH", tag, channels, rate, byte_rate, block_align, bits)
    if tag == EXTENSIBLE:
        sub = PCM if sub is None else sub
        valid = bits if valid_bits is None else valid_bits
        body += struct.pack("<HHI", 22, valid, 0x3) + struct.pack("<I", sub) + GUID_TAIL
    return body


def riff(*chunks: bytes) -> bytes:
    payload = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def wav(samples: bytes, **fmt) -> bytes:
    return riff(chunk(b"fmt ", fmt_body(**fmt)), chunk(b"data", samples))


def int24(values) -> bytes:
    return b"".join(struct.pack("<i", int(v))[:3] for v in values)


def write(tmp_path: Path, data: bytes, name: str = "clip.wav") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load(tmp_path: Path, data: bytes, name: str = "clip.wav") -> Audio:
    return read_wav(write(tmp_path, data, name))


def failure(tmp_path: Path, data: bytes, *words: str, name: str = "clip.wav") -> str:
    """Decode bytes that must fail; check the message names the file and has the words."""
    path = write(tmp_path, data, name)
    with pytest.raises(PacError) as info:
        read_wav(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert info.value.path == str(path)
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return message


# ----------------------------------------------------------------------------- sample formats


def test_pcm8_ramp(tmp_path):
    ints = np.arange(256)
    audio = load(tmp_path, wav(bytes(ints.astype(np.uint8)), bits=8, rate=8000))
    np.testing.assert_array_equal(audio.samples, (ints - 128) / 128)
    assert audio.samples[0] == -1.0 and audio.samples[128] == 0.0
    assert audio.samples.dtype == np.float64 and audio.samples.ndim == 1
    assert (audio.rate, audio.channels, audio.source) == (8000, 1, str(tmp_path / "clip.wav"))


def test_pcm16_ramp(tmp_path):
    ints = np.concatenate([np.arange(-32768, 32768, 257), [32767]])
    audio = load(tmp_path, wav(ints.astype("<i2").tobytes(), bits=16))
    np.testing.assert_array_equal(audio.samples, ints / 32768)
    assert audio.samples[0] == -1.0 and audio.samples[-1] == 32767 / 32768


def test_pcm24_ramp_and_extremes(tmp_path):
    ints = np.concatenate(
        [[-8388608, -8388607, -65536, -256, -1, 0, 1, 255, 256, 65535, 8388607], np.arange(-8388608, 8388608, 99991)]
    )
    audio = load(tmp_path, wav(int24(ints), bits=24, rate=48000))
    np.testing.assert_array_equal(audio.samples, ints / 8388608)
    assert audio.samples[0] == -1.0


def test_pcm32_ramp_and_extremes(tmp_path):
    ints = np.array([-2147483648, -2147483647, -65536, -1, 0, 1, 65536, 2147483647], dtype=np.int64)
    audio = load(tmp_path, wav(ints.astype("<i4").tobytes(), bits=32))
    np.testing.assert_array_equal(audio.samples, ints / 2147483648)


def test_float32_as_stored(tmp_path):
    values = np.array([0.0, 0.5, -0.25, 1.0, -1.0, 1.5, -2.0, 0.1], dtype="<f4")
    audio = load(tmp_path, wav(values.tobytes(), tag=FLOAT, bits=32))
    np.testing.assert_array_equal(audio.samples, values.astype(np.float64))
    assert audio.samples.dtype == np.float64


def test_float64_as_stored(tmp_path):
    values = np.array([0.0, 0.1, -0.3, 1.0 / 3.0, 1.25, -1.0], dtype="<f8")
    audio = load(tmp_path, wav(values.tobytes(), tag=FLOAT, bits=64))
    np.testing.assert_array_equal(audio.samples, values)


def test_extensible_pcm24(tmp_path):
    ints = np.array([-8388608, -4096, -1, 0, 1, 4096, 8388607])
    data = wav(int24(ints), tag=EXTENSIBLE, sub=PCM, bits=24, valid_bits=20, rate=96000)
    audio = load(tmp_path, data)
    # validBitsPerSample (20) is informational: the 24-bit container decides the scaling.
    np.testing.assert_array_equal(audio.samples, ints / 8388608)
    assert audio.rate == 96000


def test_extensible_float32_stereo(tmp_path):
    frames = np.array([[0.5, -0.5], [1.0, 0.0], [0.25, 0.75]], dtype="<f4")
    data = wav(frames.tobytes(), tag=EXTENSIBLE, sub=FLOAT, bits=32, channels=2)
    audio = load(tmp_path, data)
    np.testing.assert_array_equal(audio.samples, [0.0, 0.5, 0.5])
    assert audio.channels == 2


def test_extensible_float64(tmp_path):
    values = np.array([0.125, -0.375], dtype="<f8")
    audio = load(tmp_path, wav(values.tobytes(), tag=EXTENSIBLE, sub=FLOAT, bits=64))
    np.testing.assert_array_equal(audio.samples, values)


# ----------------------------------------------------------------------------- channels and rates


def test_stereo_mixdown_is_frame_mean(tmp_path):
    left = np.array([-32768, 100, 32767, 0, -2])
    right = np.array([-32768, -100, 32767, 1, 3])
    frames = np.stack([left, right], axis=1).astype("<i2")
    audio = load(tmp_path, wav(frames.tobytes(), channels=2, rate=44100))
    np.testing.assert_array_equal(audio.samples, (left + right) / 65536)
    assert (audio.channels, len(audio.samples)) == (2, 5)


def test_six_channel_mixdown(tmp_path):
    rng = np.random.default_rng(7)
    frames = rng.integers(-32768, 32768, size=(50, 6))
    audio = load(tmp_path, wav(frames.astype("<i2").tobytes(), channels=6))
    expected = (frames / 32768).mean(axis=1)
    np.testing.assert_array_equal(audio.samples, expected)
    np.testing.assert_allclose(audio.samples, frames.sum(axis=1) / 32768 / 6, rtol=0, atol=1e-15)
    assert audio.channels == 6


def test_six_channel_24bit_mixdown(tmp_path):
    frames = np.arange(-18, 18).reshape(6, 6) * 100000
    audio = load(tmp_path, wav(int24(frames.reshape(-1)), channels=6, bits=24))
    np.testing.assert_array_equal(audio.samples, (frames / 8388608).mean(axis=1))


@pytest.mark.parametrize("rate", [7350, 8000, 11025, 16000, 22050, 44100, 48000, 96000])
def test_any_rate_is_kept(tmp_path, rate):
    audio = load(tmp_path, wav(np.zeros(rate // 2, dtype="<i2").tobytes(), rate=rate))
    assert audio.rate == rate
    assert audio.duration == pytest.approx(0.5, abs=1 / rate)


# ----------------------------------------------------------------------------- chunk layout


def test_extra_chunks_and_pad_bytes(tmp_path):
    ints = np.array([0, 1, 2, 255, 254], dtype=np.uint8)  # odd-length data chunk, padded
    data = riff(
        chunk(b"JUNK", b"\x00" * 28),
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00pac!\x00"),  # odd size (17) + pad byte
        chunk(b"bext", b"x" * 3),  # odd size again
        chunk(b"fmt ", fmt_body(bits=8)),
        chunk(b"fact", struct.pack("<I", 5)),
        chunk(b"data", bytes(ints)),
        chunk(b"LIST", b"INFOICMT\x01\x00\x00\x00z"),  # after data: never read
    )
    assert struct.unpack_from("<I", data, 12 + 36 + 4)[0] == 17
    audio = load(tmp_path, data)
    np.testing.assert_array_equal(audio.samples, (ints.astype(float) - 128) / 128)


def test_fmt_chunk_with_cbsize_extension(tmp_path):
    body = fmt_body() + struct.pack("<H", 0)  # 18-byte fmt chunk (cbSize = 0)
    audio = load(tmp_path, riff(chunk(b"fmt ", body), chunk(b"data", struct.pack("<2h", 3, -3))))
    np.testing.assert_array_equal(audio.samples, [3 / 32768, -3 / 32768])


def test_later_fmt_chunks_are_ignored(tmp_path):
    data = riff(
        chunk(b"fmt ", fmt_body(bits=16)),
        chunk(b"fmt ", fmt_body(bits=8)),
        chunk(b"data", struct.pack("<2h", 16384, -16384)),
    )
    np.testing.assert_array_equal(load(tmp_path, data).samples, [0.5, -0.5])


@pytest.mark.parametrize("declared", [0xFFFFFFFF, 0])
def test_streaming_data_size_means_until_end_of_file(tmp_path, declared):
    ints = np.arange(-5, 5, dtype="<i2")
    data = riff(chunk(b"fmt ", fmt_body()), chunk(b"data", ints.tobytes(), size=declared))
    data = data[:4] + struct.pack("<I", 0xFFFFFFFF) + data[8:]  # bogus RIFF size too
    np.testing.assert_array_equal(load(tmp_path, data).samples, ints / 32768)


def test_empty_data_chunk_decodes_to_no_samples(tmp_path):
    audio = load(tmp_path, wav(b""))
    assert audio.samples.shape == (0,) and audio.duration == 0.0


def test_incomplete_trailing_frame_is_ignored(tmp_path):
    frames = np.array([[1, 2], [3, 4], [5, 6]], dtype="<i2")
    raw = frames.tobytes() + b"\x07\x00\x08"  # 3 stray bytes: not a whole 4-byte frame
    audio = load(tmp_path, wav(raw, channels=2))
    np.testing.assert_array_equal(audio.samples, [1.5 / 32768, 3.5 / 32768, 5.5 / 32768])


def test_riff_size_field_is_ignored(tmp_path):
    data = wav(struct.pack("<h", 8192))
    data = data[:4] + struct.pack("<I", 4) + data[8:]
    np.testing.assert_array_equal(load(tmp_path, data).samples, [0.25])


def test_decode_wav_is_pure(tmp_path):
    data = wav(struct.pack("<3h", 1, 2, 3))
    audio = decode_wav(data, name="mem.wav")
    assert audio.source == "mem.wav" and audio.rate == 16000
    np.testing.assert_array_equal(audio.samples, np.array([1, 2, 3]) / 32768)
    np.testing.assert_array_equal(decode_wav(bytearray(data), name="x").samples, audio.samples)
    with pytest.raises(PacError, match=r"^mem\.wav: is empty"):
        decode_wav(b"", name="mem.wav")


def test_audio_is_frozen_and_has_duration():
    audio = Audio(samples=np.zeros(8000), rate=16000, channels=2, source="a.wav")
    assert audio.duration == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        audio.rate = 8000


# ----------------------------------------------------------------------------- not WAV


@pytest.mark.parametrize(
    "data, words",
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 40, ["MP3"]),
        (b"\xff\xfb\x90\x64" + b"\x00" * 40, ["MP3"]),
        (b"\xff\xf3\x48\xc4" + b"\x00" * 4, ["MP3"]),
        (b"OggS\x00\x02" + b"\x00" * 40, ["Ogg", "Vorbis/Opus"]),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", ["3GP", "SoundRecorder", "convert"]),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", ["MP4/M4A"]),
        (b"fLaC\x00\x00\x00\x22" + b"\x00" * 40, ["FLAC"]),
        (b"FORM\x00\x00\x10\x00AIFFCOMM", ["AIFF"]),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", ["WebM/Matroska"]),
        (b"\n  \r\n<!DOCTYPE html><html><body>404 Not Found</body></html>", ["HTML"]),
        (b"<HTML><head><title>Error</title>", ["HTML"]),
        (b"\xef\xbb\xbf<?xml version='1.0'?><Error/>", ["XML"]),
        (b"RIFF\x00\x10\x00\x00AVI LIST", ["RIFF", "'AVI '", "not WAVE"]),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", ["RIFF", "'WEBP'", "not WAVE"]),
        (b"RF64\xff\xff\xff\xffWAVEds64", ["RF64", "not supported"]),
        (b"RIFX\x00\x00\x00\x24WAVEfmt ", ["RIFX", "big-endian"]),
        (b"RIFF\x24\x00\x00", ["truncated", "12-byte RIFF header"]),
        (b"RIFF", ["truncated", "12-byte RIFF header"]),
    ],
)
def test_not_wav_is_recognised(tmp_path, data, words):
    failure(tmp_path, data, *words)


def test_empty_file(tmp_path):
    message = failure(tmp_path, b"", "empty", name="silence.wav")
    assert message.endswith("silence.wav: is empty (0 bytes)")


def test_unknown_bytes_are_shown_in_hex(tmp_path):
    message = failure(tmp_path, b"JUNKDATA and more", "not a WAV file")
    assert message.endswith("is not a WAV file (starts with bytes 4a 55 4e 4b 44 41 54 41)")
    assert failure(tmp_path, b"\x00\x01", name="tiny.wav").endswith("(starts with bytes 00 01)")


# ----------------------------------------------------------------------------- truncated / broken


def test_truncated_data_chunk(tmp_path):
    data = wav(np.arange(100, dtype="<i2").tobytes())[:-50]
    message = failure(tmp_path, data, "truncated")
    assert message.endswith("truncated: the data chunk declares 200 bytes but only 150 are present")


def test_fmt_too_short(tmp_path):
    data = riff(chunk(b"fmt ", fmt_body()[:14]), chunk(b"data", b"\x00\x00"))
    failure(tmp_path, data, "fmt chunk is too short", "14 bytes")


def test_chunk_header_cut_off(tmp_path):
    failure(tmp_path, riff(b"fmt \x10\x00"), "truncated", "chunk header", "cut off")


def test_chunk_running_past_end_before_data(tmp_path):
    data = riff(chunk(b"fmt ", fmt_body()), b"LIST" + struct.pack("<I", 1000) + b"INFO")
    failure(tmp_path, data, "truncated", "'LIST' chunk declares 1000 bytes but only 4")


def test_fmt_chunk_running_past_end(tmp_path):
    failure(tmp_path, riff(b"fmt " + struct.pack("<I", 16) + b"\x01\x00"), "truncated", "'fmt '")


def test_no_fmt_chunk(tmp_path):
    failure(tmp_path, riff(chunk(b"LIST", b"INFO")), "no fmt chunk")
    failure(tmp_path, riff(), "no fmt chunk", name="bare.wav")


def test_no_data_chunk(tmp_path):
    failure(tmp_path, riff(chunk(b"fmt ", fmt_body()), chunk(b"LIST", b"INFO")), "no data chunk")


def test_data_before_fmt(tmp_path):
    data = riff(chunk(b"data", b"\x00\x00"), chunk(b"fmt ", fmt_body()))
    failure(tmp_path, data, "data chunk", "before any fmt chunk")


@pytest.mark.parametrize(
    "tag, bits, words",
    [
        (0x0006, 8, ["A-law", "0x0006"]),
        (0x0007, 8, ["mu-law", "0x0007"]),
        (0x0002, 4, ["ADPCM", "0x0002"]),
        (0x0011, 4, ["IMA ADPCM"]),
        (0x0055, 0, ["MP3"]),
        (0x1234, 16, ["unknown encoding", "0x1234"]),
    ],
)
def test_unsupported_encodings(tmp_path, tag, bits, words):
    block = max(1, bits // 8)
    data = wav(b"\x00" * 8, tag=tag, bits=bits, block_align=block)
    failure(tmp_path, data, "unsupported", *words)


@pytest.mark.parametrize(
    "fmt, words",
    [
        (dict(bits=12, block_align=2), ["12-bit integer PCM", "unsupported"]),
        (dict(bits=4, block_align=1), ["4-bit integer PCM"]),
        (dict(bits=20, block_align=3), ["20-bit"]),
        (dict(tag=FLOAT, bits=16), ["16-bit float", "unsupported"]),
        (dict(tag=FLOAT, bits=24), ["24-bit float"]),
        (dict(tag=EXTENSIBLE, sub=FLOAT, bits=16), ["16-bit float"]),
        (dict(channels=0, block_align=2), ["0 channels"]),
        (dict(rate=0), ["sample rate 0 Hz is outside the supported 4,000 to 384,000 Hz"]),
        (
            dict(bits=16, channels=2, block_align=2),
            ["block align is 2", "2 channel(s) x 16 bits", "expected 4"],
        ),
        (dict(bits=24, block_align=4), ["block align is 4", "expected 3"]),
    ],
)
def test_inconsistent_or_unsupported_fmt(tmp_path, fmt, words):
    failure(tmp_path, wav(b"\x00" * 24, **fmt), *words)


def test_extensible_unsupported_subformat(tmp_path):
    data = wav(b"\x00" * 8, tag=EXTENSIBLE, sub=0x0007, bits=8)
    failure(tmp_path, data, "WAVE_FORMAT_EXTENSIBLE sub-format", "mu-law", "00000007-0000-0010-8000-00aa00389b71")
    body = fmt_body(tag=EXTENSIBLE)[:24] + bytes(range(16))  # a GUID that is not a WAVE subtype
    failure(
        tmp_path,
        riff(chunk(b"fmt ", body), chunk(b"data", b"\x00\x00")),
        "sub-format",
        "03020100-0504-0706-0809-0a0b0c0d0e0f",
        name="guid.wav",
    )


def test_extensible_fmt_too_short(tmp_path):
    body = fmt_body(tag=EXTENSIBLE)[:26]
    failure(
        tmp_path,
        riff(chunk(b"fmt ", body), chunk(b"data", b"\x00\x00")),
        "WAVE_FORMAT_EXTENSIBLE fmt chunk is too short",
        "26 bytes",
    )


def test_non_finite_float_samples(tmp_path):
    values = np.array([0.0, np.nan, 0.5], dtype="<f4")
    failure(tmp_path, wav(values.tobytes(), tag=FLOAT, bits=32), "non-finite")
    values = np.array([np.inf], dtype="<f8")
    failure(tmp_path, wav(values.tobytes(), tag=FLOAT, bits=64), "non-finite", name="inf.wav")


# ----------------------------------------------------------------------------- unreadable paths


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(PacError) as info:
        read_wav(path)
    assert str(info.value) == f"{path}: does not exist"


def test_directory(tmp_path):
    path = tmp_path / "folder.wav"
    path.mkdir()
    with pytest.raises(PacError, match="is a folder, not a WAV file") as info:
        read_wav(str(path))
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_permission_denied(tmp_path):
    path = write(tmp_path, wav(b"\x00\x00"), "locked.wav")
    path.chmod(0)
    try:
        with pytest.raises(PacError, match="permission denied") as info:
            read_wav(path)
        assert str(info.value).startswith(f"{path}: ")
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(os.name != "posix", reason="POSIX error semantics")
def test_other_os_error_uses_strerror(tmp_path):
    parent = write(tmp_path, b"x", "file.wav")
    path = parent / "child.wav"  # a file used as a directory: ENOTDIR
    with pytest.raises(PacError) as info:
        read_wav(path)
    assert str(info.value) == f"{path}: cannot be read: {os.strerror(20)}"


# ----------------------------------------------------------------------------- classifiable


def clip(samples, rate=16000):
    samples = np.asarray(samples, dtype=np.float64)
    return Audio(samples=samples, rate=rate, channels=1, source="c.wav")


def test_classifiable_passes():
    check_classifiable(clip(np.full(1600, 0.5)), min_duration=0.1, silence_dbfs=-80.0)
    # exactly at the threshold and exactly the minimum duration both pass
    check_classifiable(clip(np.full(1600, 1e-4)), min_duration=0.1, silence_dbfs=-80.0)


def test_no_samples():
    with pytest.raises(PacError) as info:
        check_classifiable(clip([]), min_duration=0.1, silence_dbfs=-80.0)
    assert str(info.value) == "c.wav: has no audio samples"
    assert info.value.path == "c.wav"


def test_too_short():
    with pytest.raises(PacError) as info:
        check_classifiable(clip(np.full(480, 0.5)), min_duration=0.1, silence_dbfs=-80.0)
    assert str(info.value) == "c.wav: is too short to classify: 0.03 s, needs at least 0.10 s"


def test_too_short_never_prints_equal_numbers():
    with pytest.raises(PacError, match="too short") as info:
        check_classifiable(clip(np.full(1599, 0.5)), min_duration=0.1, silence_dbfs=-80.0)
    assert "0.0999 s, needs at least 0.1000 s" in str(info.value)


def test_silent_all_zero():
    with pytest.raises(PacError) as info:
        check_classifiable(clip(np.zeros(16000)), min_duration=0.1, silence_dbfs=-80.0)
    assert str(info.value) == "c.wav: is silent (peak -inf dBFS, below -80 dBFS)"


def test_silent_quiet(tmp_path):
    ints = np.array([0, 1, -1, 0] * 1000, dtype="<i2")  # peak 1/32768 = -90.3 dBFS
    audio = load(tmp_path, wav(ints.tobytes()), name="quiet.wav")
    with pytest.raises(PacError) as info:
        check_classifiable(audio, min_duration=0.1, silence_dbfs=-80.0)
    expected = "is silent (peak -90.3 dBFS, below -80 dBFS)"
    assert str(info.value) == f"{tmp_path / 'quiet.wav'}: {expected}"
    check_classifiable(audio, min_duration=0.1, silence_dbfs=-96.0)


def test_check_classifiable_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        check_classifiable(clip(np.ones(16000)), 0.1, -80.0)
    with pytest.raises(TypeError):
        check_classifiable(clip(np.ones(16000)))


# ----------------------------------------------------------------------------- real recordings


def real_files():
    fsdd = DATA / "fsdd" / "recordings"
    commands = DATA / "speech_commands_v001" / "on"
    found = []
    for folder, rate in ((fsdd, 8000), (commands, 16000)):
        files = sorted(folder.glob("*.wav"))[:2] if folder.is_dir() else []
        found += [pytest.param(f, rate, id=f"{folder.name}/{f.name}") for f in files]
    assert found, f"no recordings under {DATA} (the tests read ../shared/data)"
    return found


@pytest.mark.parametrize("path, rate", real_files())
def test_real_recordings_match_scipy(path, rate):
    from scipy.io import wavfile  # a dependency of pac

    audio = read_wav(path)
    expected_rate, expected = wavfile.read(path)
    assert audio.rate == expected_rate == rate
    assert audio.channels == 1 and expected.dtype == np.int16
    np.testing.assert_array_equal(audio.samples, expected / 32768)
    check_classifiable(audio, min_duration=0.1, silence_dbfs=-80.0)
