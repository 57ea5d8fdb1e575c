"""Hostile audio input (issue 12): refused in bounded time and memory, with the same words in Python
(pac.audio) and in the classifier page (extension/js/wav.js).

Each class of input that used to be accepted, hang or blow up has a test here: sample rates outside
the supported range, clips longer than the limit, float samples that are not audio (huge, overflowing
the channel mean, signalling NaN), files larger than the limit, and paths that are not regular files
(a FIFO, ``/dev/zero``, a sparse multi-GiB file, a folder).  The same byte strings then go through
wav.js in real headless Chromium, on a page that loads only ``bridge.js`` and ``wav.js`` with the
constants :func:`pac.runtime.page_constants` renders, and must give the same error text or the same
samples as :func:`pac.audio.decode_wav`.
"""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, REPO, fsdd
from pac.audio import decode_wav, read_wav
from pac.errors import PacError
from pac.limits import LIMITS

sys.path.insert(0, str(REPO / "bench"))
import fuzz_targets as F  # noqa: E402

PCM, FLOAT = 0x0001, 0x0003
SNAN32 = struct.pack("<I", 0x7F800001)
SNAN64 = struct.pack("<Q", 0x7FF0000000000001)


# -- builders -----------------------------------------------------------------------------------


def wav(samples: bytes, *, tag: int = PCM, channels: int = 1, rate: int = 16000, bits: int = 16) -> bytes:
    """A RIFF/WAVE file with one fmt chunk and one data chunk (pad byte added when odd)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align & 0xFFFFFFFF, align, bits)
    pad = b"\x00" if len(samples) % 2 else b""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    body += samples + pad
    return b"RIFF" + struct.pack("<I", len(body)) + body


def floats(values, bits: int = 32, **fmt) -> bytes:
    """A float WAV; float64 values beyond float32's range become +-inf in a 32-bit one."""
    with np.errstate(over="ignore"):
        stored = np.asarray(values, dtype="<f4" if bits == 32 else "<f8")
    return wav(stored.tobytes(), tag=FLOAT, bits=bits, **fmt)


def pcm16(n: int = 1600, **fmt) -> bytes:
    return wav((np.arange(n) % 200 - 100).astype("<i2").tobytes(), **fmt)


def refusal(data: bytes, name: str = "x.wav") -> str:
    """decode_wav's one-line message for bytes it must refuse."""
    with pytest.raises(PacError) as info:
        decode_wav(data, name=name)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}: "), message
    return message


def quietly_refused(data: bytes) -> str:
    """decode_wav's message, with every numpy floating-point problem and every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return refusal(data)


SECONDS_LIMIT = int(LIMITS.clip_max_seconds)
OUTSIDE = f"is outside the supported {LIMITS.rate_min:,d} to {LIMITS.rate_max:,d} Hz"
TOO_BIG = f"contains a float sample of magnitude above {LIMITS.float_max_abs:g} (full scale is 1)"
NON_FINITE = "contains non-finite float samples (NaN or infinity)"


# -- sample rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1, 100, LIMITS.rate_min - 1, LIMITS.rate_max + 1, 0, 0xFFFFFFFF])
def test_sample_rate_outside_the_range_is_refused(rate):
    assert refusal(pcm16(rate=rate)) == f"x.wav: sample rate {rate:,d} Hz {OUTSIDE}"


@pytest.mark.parametrize("rate", [LIMITS.rate_min, LIMITS.rate_max])
def test_sample_rate_limits_themselves_are_accepted(rate):
    assert decode_wav(pcm16(rate=rate), name="x.wav").rate == rate


# -- clip length ----------------------------------------------------------------------------------


def test_clip_longer_than_the_limit_is_refused_from_its_header():
    rate = LIMITS.rate_min
    frames = SECONDS_LIMIT * rate
    longest = wav(bytes(frames), bits=8, rate=rate)
    assert decode_wav(longest, name="x.wav").duration == LIMITS.clip_max_seconds
    assert refusal(wav(bytes(frames + 1), bits=8, rate=rate)) == (
        f"x.wav: is {SECONDS_LIMIT}.1 s long, more than the {LIMITS.clip_max_seconds:g} s limit for a clip"
    )
    # 1,000 s of 16-bit stereo at 4 kHz (16 MB): the length is known from the data size and block align.
    data = wav(bytes(1000 * LIMITS.rate_min * 4), channels=2, rate=LIMITS.rate_min)
    assert refusal(data) == f"x.wav: is 1,000.0 s long, more than the {LIMITS.clip_max_seconds:g} s limit for a clip"


# -- float samples that are not audio --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "bits"),
    [
        ([0.0, 1e30, 0.5], 32),  # huge but finite
        ([np.finfo(np.float32).max], 32),
        ([-1e300], 64),
        ([LIMITS.float_max_abs * (1 + 2**-52)], 64),  # the next float64 above the limit
    ],
)
def test_huge_float_samples_are_refused(values, bits):
    assert refusal(floats(values, bits)) == f"x.wav: {TOO_BIG}; it is not a usable recording"


def test_channel_mean_that_would_overflow_is_refused():
    """Two channels of 1e308 averaged to +inf (a one-colour image, exit 0) before the magnitude limit."""
    data = floats([1e308, 1e308, -1e308, -1e308], 64, channels=2)
    assert quietly_refused(data) == f"x.wav: {TOO_BIG}; it is not a usable recording"


def test_float_samples_at_the_limit_are_kept():
    limit = LIMITS.float_max_abs
    audio = decode_wav(floats([limit, -limit, 0.25, -0.0], 64, channels=2), name="x.wav")
    np.testing.assert_array_equal(audio.samples, [0.0, 0.125])


@pytest.mark.parametrize(
    ("raw", "bits"),
    [(SNAN32, 32), (SNAN64, 64), (struct.pack("<f", float("nan")), 32), (struct.pack("<d", float("-inf")), 64)],
)
def test_nan_and_signalling_nan_are_refused_without_a_numpy_warning(raw, bits, capfd):
    data = wav(struct.pack("<f" if bits == 32 else "<d", 0.5) + raw, tag=FLOAT, bits=bits)
    assert quietly_refused(data) == f"x.wav: {NON_FINITE}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refusal(data)
    assert caught == []
    assert capfd.readouterr() == ("", "")


# -- size -------------------------------------------------------------------------------------------


def test_bytes_larger_than_the_limit_are_refused_before_decoding():
    data = bytearray(LIMITS.wav_max_bytes + 1)
    data[:12] = b"RIFF\x00\x00\x00\x00WAVE"
    assert refusal(data) == (
        f"x.wav: is {LIMITS.wav_max_bytes + 1:,d} bytes, larger than the "
        f"{LIMITS.wav_max_bytes:,d}-byte limit for a WAV file"
    )


# -- paths that are not regular files ---------------------------------------------------------------


def _read_within(path: Path, seconds: float = 20) -> str:
    """read_wav's PacError message for ``path``; fails (after unblocking a waiting reader) if it hangs."""
    result = {}

    def attempt():
        try:
            read_wav(path)
            result["error"] = "accepted"
        except PacError as exc:
            result["error"] = str(exc)
        except BaseException as exc:  # a MemoryError or anything else is a failure of the test
            result["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if path.is_fifo():
            with open(path, "wb"):
                pass
        pytest.fail(f"read_wav({path}) did not return within {seconds} s")
    return result["error"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_fifo_named_wav_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    assert _read_within(fifo) == f"{fifo}: is not a regular file (a FIFO/pipe); pac reads only files"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused():
    assert (
        _read_within(Path("/dev/zero")) == "/dev/zero: is not a regular file (a character device); pac reads only files"
    )


@pytest.mark.parametrize("size", [LIMITS.wav_max_bytes + 1, 6 << 30])
def test_sparse_file_larger_than_the_limit_is_refused_unread(tmp_path, size):
    path = tmp_path / "big.wav"
    head = wav(b"")
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)  # holes: nothing to read, but reading it all would need `size` bytes
    assert _read_within(path) == (
        f"{path}: is {size:,d} bytes, larger than the {LIMITS.wav_max_bytes:,d}-byte limit for a WAV file"
    )


def test_folder_is_refused(tmp_path):
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    assert _read_within(folder) == f"{folder}: is a folder, not a WAV file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_cli_spectrogram_of_a_fifo_exits_2_at_once(tmp_path):
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    code = "import sys; from pac.cli import main; sys.exit(main(sys.argv[1:]))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, "spectrogram", str(fifo)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        with open(fifo, "wb"):
            pass
        pytest.fail("pac spectrogram waited for a writer on a FIFO")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {fifo}: is not a regular file (a FIFO/pipe); pac reads only files\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


def test_studio_upload_of_huge_floats_is_refused_and_not_stored(tmp_path):
    from pac.studio.store import ProjectStore, StudioError

    store = ProjectStore(tmp_path / "project")
    store.add_label("a")
    rng = np.random.default_rng(0)
    samples = rng.uniform(-1e6, 1e6, 16000)  # finite, loud, one colour on a spectrogram
    with pytest.raises(StudioError, match="not a usable recording"):
        store.add_clip("a", floats(samples, 64), original_name="loud.wav")
    assert list(store.label_dir("a").iterdir()) == []


# -- Python and wav.js on the same bytes ------------------------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """Headless Chromium on a page with only bridge.js and wav.js and the real page constants
    (the fuzz suite's page, with ``window.__wavTest``)."""
    with F.wav_page(tmp_path_factory.mktemp("wav-page")) as browser:
        yield browser


js_decode = F.js_decode_named


def python_decode(name: str, data: bytes) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clip = decode_wav(data, name=name)
    except PacError as exc:
        return {"message": str(exc)}
    return {"rate": clip.rate, "channels": clip.channels, "samples": clip.samples}


def assert_same(name: str, py: dict, js: dict) -> None:
    if "message" in py:
        assert js.get("message") == py["message"], (name, py, js)
        assert js["kind"] in ("NOT_WAV", "UNSUPPORTED_WAV", "EMPTY_AUDIO"), (name, js)
        return
    assert "message" not in js, (name, js)
    assert (js["rate"], js["channels"]) == (py["rate"], py["channels"]), name
    samples = np.frombuffer(base64.b64decode(js["samples"]), dtype="<f8")
    np.testing.assert_array_equal(samples, py["samples"], err_msg=name)


def hostile_cases() -> list[tuple[str, bytes]]:
    """Every class above, as bytes (the longest is 2.4 MB), plus combinations that test the order."""
    limit = LIMITS.float_max_abs
    frames = SECONDS_LIMIT * LIMITS.rate_min
    return [
        ("rate-1.wav", pcm16(rate=1)),
        ("rate-0.wav", pcm16(rate=0)),
        ("rate-low.wav", pcm16(rate=LIMITS.rate_min - 1)),
        ("rate-min.wav", pcm16(rate=LIMITS.rate_min)),
        ("rate-max.wav", pcm16(rate=LIMITS.rate_max)),
        ("rate-high.wav", pcm16(rate=LIMITS.rate_max + 1)),
        ("rate-huge.wav", pcm16(rate=0xFFFFFFFF)),
        ("longest.wav", wav(bytes(frames), bits=8, rate=LIMITS.rate_min)),
        ("too-long.wav", wav(bytes(frames + 1), bits=8, rate=LIMITS.rate_min)),
        ("too-long-stereo.wav", wav(bytes(frames * 2 + 2), bits=8, channels=2, rate=LIMITS.rate_min)),
        ("huge-f32.wav", floats([0.0, 1e30, 0.5])),
        ("f32-max.wav", floats([np.finfo(np.float32).max])),
        ("huge-f64.wav", floats([-1e300], 64)),
        ("above-limit.wav", floats([limit * (1 + 2**-52)], 64)),
        ("at-limit.wav", floats([limit, -limit, 0.25, -0.0], 64, channels=2)),
        ("mean-overflow.wav", floats([1e308, 1e308, -1e308, -1e308], 64, channels=2)),
        ("snan32.wav", wav(b"\x00" * 4 + SNAN32, tag=FLOAT, bits=32)),
        ("snan64.wav", wav(SNAN64 + b"\x00" * 8, tag=FLOAT, bits=64)),
        ("nan-and-huge.wav", floats([1e30, float("nan")])),  # non-finite is reported first
        ("low-rate-and-huge.wav", floats([1e30], rate=1)),  # the rate is reported before the samples
        ("low-rate-too-long.wav", wav(bytes(frames + 1), bits=8, rate=1)),
        ("truncated-huge.wav", floats([1e30] * 4)[:-2]),  # truncated is reported before the samples
        ("denormal.wav", floats([5e-324, -5e-324, 1e-310], 64)),
    ]


def mutated_cases(count: int = 300) -> list[tuple[str, bytes]]:
    """Valid float and PCM clips with their rate, channels and samples replaced by edge values (seeded)."""
    rng = np.random.default_rng(12)
    rates = [0, 1, 2, 3999, 4000, 4001, 8000, 44100, 383999, 384000, 384001, 1 << 31, 0xFFFFFFFF]
    specials = np.array(F.FLOAT_SPECIALS)  # the fuzz suite's edge values, NaN and infinities included
    cases = []
    for i in range(count):
        rate = int(rng.choice(rates))
        channels = int(rng.integers(1, 4))
        frames = int(rng.integers(0, 6))
        kind = i % 4
        if kind < 2:
            bits = 32 if kind == 0 else 64
            values = rng.choice(specials, frames * channels)
            data = floats(values, bits, channels=channels, rate=rate)
            if rng.random() < 0.3 and frames:  # a signalling NaN somewhere
                snan, width = (SNAN32, 4) if bits == 32 else (SNAN64, 8)
                at = len(data) - width * int(rng.integers(1, frames * channels + 1))
                data = data[:at] + snan + data[at + width :]
        else:
            bits = 8 if kind == 2 else 24
            raw = rng.integers(0, 256, frames * channels * bits // 8, dtype=np.uint8).tobytes()
            data = wav(raw, bits=bits, channels=channels, rate=rate)
        cases.append((f"m{i}.wav", data))
    return cases


def test_python_and_wav_js_agree_on_hostile_bytes(page):
    cases = hostile_cases()
    for (name, data), js in zip(cases, js_decode(page, cases)):
        assert_same(name, python_decode(name, data), js)


def test_python_and_wav_js_agree_on_mutated_headers_and_samples(page):
    cases = mutated_cases()
    outcomes = js_decode(page, cases)
    refused = 0
    for (name, data), js in zip(cases, outcomes):
        py = python_decode(name, data)
        refused += "message" in py
        assert_same(name, py, js)
    assert 0 < refused < len(cases)  # both outcomes are exercised


def test_wav_js_refuses_more_bytes_than_the_limit_with_pythons_words(page):
    size = LIMITS.wav_max_bytes + 1
    data = bytearray(size)
    data[:12] = b"RIFF\x00\x00\x00\x00WAVE"
    js = page.execute(
        "const data = new Uint8Array(arguments[0]);"
        "data.set([82, 73, 70, 70, 0, 0, 0, 0, 87, 65, 86, 69]);"
        "return window.__wavTest.decode(data, 'big.wav');",
        size,
    )
    assert js == {"kind": "UNSUPPORTED_WAV", "message": refusal(data, "big.wav")}


def test_wav_js_reads_its_limits_from_the_page_constants(page):
    assert page.execute("return window.PacRuntime.constants.limits;") == LIMITS.to_dict()
    text = base64.b64encode(pcm16(rate=16000)).decode("ascii")
    js = page.execute(
        "const T = window.__wavTest, L = window.PacRuntime.constants.limits, old = L.rate_max;"
        "L.rate_max = 8000;"
        "try { return T.decode(T.bytes(arguments[0]), 'x.wav'); } finally { L.rate_max = old; }",
        text,
    )
    assert js == {
        "kind": "UNSUPPORTED_WAV",
        "message": f"x.wav: sample rate 16,000 Hz is outside the supported {LIMITS.rate_min:,d} to 8,000 Hz",
    }


def test_real_clips_decode_identically(page):
    clips = [
        fsdd(1, "george", 5),
        fsdd(7, "jackson", 3),
        *sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[:1],
        *sorted((DATA / "speech_commands_v001" / "stop").glob("*.wav"))[:1],
    ]
    assert len(clips) == 4 and all(p.is_file() for p in clips)
    cases = [(p.name, p.read_bytes()) for p in clips]
    for (name, data), js in zip(cases, js_decode(page, cases)):
        py = python_decode(name, data)
        assert "message" not in py, py
        assert_same(name, py, js)
