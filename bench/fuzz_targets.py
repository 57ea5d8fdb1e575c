"""Fuzz targets shared by ``tests/test_fuzz.py`` (a short, reproducible run in the default test run)
and ``bench/fuzz.py`` (the long run).

A target is a Hypothesis strategy of hostile inputs built from real files (WAV headers of the
recordings in ``../shared/data``, pac's own feature profiles, a ``.mdl`` written by
:func:`pac.mdl.mdl_bytes`, an ``.aix`` made of the component's real build outputs, the studio's real
routes) and a check of what pac promises for any input: a result that is within :mod:`pac.limits`,
or one :class:`pac.errors.PacError` (an HTTP 4xx for the studio).  ``check`` returns the outcome's
name (``"accepted"``, ``"refused"``...), raises :class:`Broken` when a promise is broken, and lets
anything else escape: that is an uncaught exception, which the callers count by type.

Numpy warnings are errors inside every check (a signalling NaN or an overflow must not print
anything).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import socket
import struct
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "compiler") not in sys.path:
    sys.path.insert(0, str(REPO / "compiler"))

from pac.errors import PacError  # noqa: E402
from pac.limits import CONFIG_BOUNDS, LIMITS  # noqa: E402


class Broken(AssertionError):  # noqa: N818 (a broken promise, not an error of the code under test)
    """A promise broken on some input (what the message says)."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Broken` with ``message`` unless ``condition``."""
    if not condition:
        raise Broken(message)


class Draw:
    """Where a generator takes its choices from: Hypothesis in the tests (:class:`HypothesisDraw`:
    reproducible, shrinkable), a seeded :class:`random.Random` in the long run (:class:`RandomDraw`:
    about a hundred times faster).  The generators below are written once against this interface."""

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def choice(self, options):
        raise NotImplementedError

    def binary(self, max_size: int, min_size: int = 0) -> bytes:
        raise NotImplementedError

    def floating(self, width: int) -> float:
        raise NotImplementedError

    def text(self, max_size: int, min_size: int = 0) -> str:
        raise NotImplementedError

    def boolean(self) -> bool:
        return self.integer(0, 1) == 1


class HypothesisDraw(Draw):
    """Choices drawn from Hypothesis strategies (inside :func:`hypothesis.strategies.composite`)."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def binary(self, max_size, min_size=0):
        return self.draw(st.binary(min_size=min_size, max_size=max_size))

    def floating(self, width):
        return self.draw(st.floats(width=width))

    def text(self, max_size, min_size=0):
        return self.draw(st.text(min_size=min_size, max_size=max_size))


class RandomDraw(Draw):
    """Choices from a seeded :class:`random.Random` (floats from random bit patterns: NaNs, infinities
    and subnormals included; text from any code point but surrogates, as Hypothesis's text)."""

    def __init__(self, rng):
        self.rng = rng

    def integer(self, low, high):
        return self.rng.randint(low, high)

    def choice(self, options):
        return options[self.rng.randrange(len(options))]

    def binary(self, max_size, min_size=0):
        return self.rng.randbytes(self.rng.randint(min_size, max_size))

    def floating(self, width):
        bits = self.rng.getrandbits(width)
        return struct.unpack("<f" if width == 32 else "<d", bits.to_bytes(width // 8, "little"))[0]

    def text(self, max_size, min_size=0):
        size = self.rng.randint(min_size, max_size)
        return "".join(
            chr(
                self.rng.choice(
                    (self.rng.randint(32, 126), self.rng.randint(0, 0xD7FF), self.rng.randint(0xE000, 0x10FFFF))
                )
            )
            for _ in range(size)
        )


@dataclass
class Target:
    """One fuzz target.

    Attributes
    ----------
    name : str
        Short name (``wav``, ``config``, ``mdl``, ``aix``, ``studio``).
    generate : callable
        ``generate(draw: Draw) -> input``.
    check : callable
        ``check(input) -> outcome name``; raises :class:`Broken` or an uncaught exception.
    show : callable
        ``show(input) -> str``: a reproducer (hex of the bytes, or the request).
    """

    name: str
    generate: Callable
    check: Callable
    show: Callable

    def strategy(self) -> st.SearchStrategy:
        """The inputs as a Hypothesis strategy (bytes shown shortened in Hypothesis's reports)."""
        return st.composite(lambda draw: shown_short(self.generate(HypothesisDraw(draw))))()


class ShortBytes(bytes):
    """Bytes whose ``repr`` is short: a falsifying .mdl or .aix is tens of kB (Hypothesis also
    prints a ``@reproduce_failure`` blob that reproduces it exactly)."""

    def __repr__(self) -> str:
        import hashlib

        return f"<{len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:16]}, starting {bytes(self[:600])!r}>"


def shown_short(value):
    return ShortBytes(value) if isinstance(value, bytes) and len(value) > 600 else value


def shared_dir() -> Path:
    """``../shared`` beside the repository, or ``PAC_SHARED_DIR``."""
    return Path(os.environ.get("PAC_SHARED_DIR") or REPO.parent / "shared")


@contextlib.contextmanager
def quiet_numpy():
    """A context in which every warning (numpy's overflow, invalid value...) is an error: pac must
    print nothing but its one-line error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def hex_of(data: bytes, limit: int = 4096) -> str:
    text = bytes(data[:limit]).hex()
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


# -- mutations shared by the byte-level targets -------------------------------------------------------

#: Values that break size, count and rate fields.
INTERESTING_U32 = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    255,
    256,
    3999,
    4000,
    4001,
    8000,
    16000,
    44100,
    65535,
    65536,
    383999,
    384000,
    384001,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFE,
    0xFFFFFFFF,
]
INTERESTING_U16 = [0, 1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 40, 64, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF]


def mutated(d: Draw, seed: bytes, *, hot: int = 64, max_mutations: int = 6) -> bytes:
    """``seed`` with a few byte-level mutations, most of them in its first ``hot`` bytes (the headers)."""
    data = bytearray(seed)
    for _ in range(d.integer(1, max_mutations)):
        size = len(data)
        kind = d.choice(["byte", "u16", "u32", "truncate", "insert", "delete", "copy", "append"])
        at = d.integer(0, max(1, min(size, hot))) if d.integer(0, 3) else d.integer(0, max(size, 1))
        if kind == "byte" and size:
            data[min(at, size - 1)] = d.integer(0, 255)
        elif kind in ("u16", "u32") and size:
            width = 2 if kind == "u16" else 4
            pool = INTERESTING_U16 if width == 2 else INTERESTING_U32
            value = d.choice(pool) if d.boolean() else d.integer(0, (1 << (8 * width)) - 1)
            at = min(at, max(0, size - width))
            data[at : at + width] = value.to_bytes(width, "little")[: size - at]
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = d.binary(16, min_size=1)
        elif kind == "delete":
            del data[at : at + d.integer(1, 16)]
        elif kind == "copy" and size:
            start = d.integer(0, size - 1)
            data[at:at] = data[start : start + d.integer(1, 64)]
        elif kind == "append":
            data += d.binary(64)
    return bytes(data)


# -- WAV: pac.audio.decode_wav (and wav.js) -----------------------------------------------------------

PCM, FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_GUID_TAIL = bytes.fromhex("00001000800000aa00389b71")


def riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_body(tag: int, channels: int, rate: int, bits: int, *, extensible_tag: int | None = None) -> bytes:
    block = (channels * bits // 8) & 0xFFFF
    body = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    if extensible_tag is not None:
        body += struct.pack("<HHI", 22, bits, 0) + struct.pack("<I", extensible_tag) + _GUID_TAIL
    return body


def encode(samples: np.ndarray, kind: str) -> tuple[int, int, bytes]:
    """``(tag, bits, bytes)`` of samples in [-1, 1] in one of pac's encodings."""
    if kind == "pcm8":
        return PCM, 8, np.clip(np.round(samples * 127 + 128), 0, 255).astype("u1").tobytes()
    if kind == "pcm16":
        return PCM, 16, np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
    if kind == "pcm24":
        ints = np.clip(np.round(samples * 8388607), -8388608, 8388607).astype("<i4")
        return PCM, 24, ints.view("u1").reshape(-1, 4)[:, :3].tobytes()
    if kind == "pcm32":
        return PCM, 32, np.round(samples * 2147483647).astype("<i4").tobytes()
    if kind == "float32":
        return FLOAT, 32, samples.astype("<f4").tobytes()
    return FLOAT, 64, samples.astype("<f8").tobytes()


ENCODINGS = ("pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64")


def wav_seeds(count: int = 6, frames: int = 400) -> list[bytes]:
    """Valid short WAV files: the first ``frames`` samples of real recordings, in every encoding
    pac decodes, mono and stereo, plain and WAVE_FORMAT_EXTENSIBLE, with and without extra chunks."""
    data = shared_dir() / "data"
    paths = [
        data / "fsdd" / "recordings" / "0_george_0.wav",
        *sorted((data / "speech_commands_v001" / "on").glob("*.wav"))[:1],
        *sorted((data / "instruments").glob("*/*.wav"))[:1],
        *sorted((data / "ravdess").glob("*/*.wav"))[:1],
    ]
    from pac.audio import read_wav

    seeds = []
    for n, path in enumerate(paths[:count]):
        clip = read_wav(path)
        samples = clip.samples[len(clip.samples) // 3 :][:frames]
        for k, kind in enumerate(ENCODINGS):
            channels = 1 + (n + k) % 2
            interleaved = np.repeat(samples, channels) * (0.5 if channels == 2 else 1.0)
            tag, bits, body = encode(interleaved, kind)
            extensible = (n + k) % 3 == 0
            fmt = fmt_body(
                EXTENSIBLE if extensible else tag, channels, clip.rate, bits, extensible_tag=tag if extensible else None
            )
            extra = chunk(b"LIST", b"INFOpac") if (n + k) % 2 else b""
            seeds.append(riff(chunk(b"fmt ", fmt) + extra + chunk(b"data", body)))
    return seeds


#: Float sample values that are not audio (or barely are).
FLOAT_SPECIALS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    999.9999,
    1000.0,
    -1000.0,
    1000.0001,
    1e4,
    1e30,
    -1e38,
    3.4028235e38,
    1e300,
    1.7976931348623157e308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
]
SNAN = {32: struct.pack("<I", 0x7F800001), 64: struct.pack("<Q", 0x7FF0000000000001)}


def built_wav(d: Draw, *, max_body: int = 512) -> bytes:
    """A WAV assembled from drawn fields: any tag, channel count, rate, bit depth, chunk order and
    sizes, and float samples from :data:`FLOAT_SPECIALS` (signalling NaNs included); at most
    ``max_body`` bytes of samples."""
    tag = d.choice([PCM, FLOAT, EXTENSIBLE, 0x0055, 0x0002]) if d.integer(0, 3) else d.integer(0, 0xFFFF)
    channels = d.choice([0, 1, 2, 3, 8, 0xFFFF]) if d.integer(0, 3) else d.integer(0, 0xFFFF)
    rate = d.choice(INTERESTING_U32) if d.integer(0, 3) else d.integer(0, 0xFFFFFFFF)
    bits = d.choice([0, 1, 8, 12, 16, 24, 32, 64, 0xFFFF]) if d.integer(0, 3) else d.integer(0, 0xFFFF)
    sub = d.choice([PCM, FLOAT, 0x0055]) if tag == EXTENSIBLE else None
    fmt = fmt_body(tag, channels, rate, bits, extensible_tag=sub)
    if d.integer(0, 3) == 0:
        fmt = fmt[: d.integer(0, len(fmt))]
    if (sub or tag) == FLOAT and bits in (32, 64):
        body = b"".join(float_sample(d, bits) for _ in range(d.integer(0, max_body * 8 // bits)))
    else:
        body = d.binary(max_body)
    parts = [chunk(b"fmt ", fmt), chunk(b"data", body)]
    if d.boolean():
        parts.insert(d.integer(0, 2), chunk(d.choice([b"LIST", b"fact", b"fmt ", b"data", b"junk"]), d.binary(24)))
    if d.integer(0, 7) == 0:
        parts.reverse()  # data before fmt
    data = bytearray(riff(b"".join(parts)))
    if d.integer(0, 3) == 0:  # a data size that lies (streaming writers write 0 or 0xFFFFFFFF)
        at = data.find(b"data")
        if at >= 0:
            data[at + 4 : at + 8] = struct.pack(
                "<I", d.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, len(body) + 1, len(body) + 2])
            )
    return bytes(data)


def float_sample(d: Draw, bits: int) -> bytes:
    """One float sample: a special value, a signalling NaN or any float of the width."""
    pick = d.integer(0, 15)
    if pick == 0:
        return SNAN[bits]
    value = d.choice(FLOAT_SPECIALS) if pick < 8 else d.floating(bits)
    if bits == 32 and math.isfinite(value) and abs(value) > 3.4028235e38:
        value = math.copysign(math.inf, value)
    return struct.pack("<f" if bits == 32 else "<d", value)


def wav_input(d: Draw, seeds: list[bytes]) -> bytes:
    """Real headers mutated, WAVs built from hostile fields, or random bytes (some with a RIFF header)."""
    kind = d.integer(0, 5)
    if kind < 3:
        return mutated(d, d.choice(seeds), hot=80)
    if kind == 3:
        return built_wav(d)
    tail = d.binary(256)
    return tail if kind == 4 else b"RIFF" + struct.pack("<I", len(tail) + 4) + b"WAVE" + tail


def python_decode(data: bytes, name: str = "fuzz.wav"):
    """:func:`pac.audio.decode_wav` with numpy warnings as errors: the Audio, or the PacError."""
    from pac.audio import decode_wav

    with quiet_numpy():
        try:
            return decode_wav(data, name=name)
        except PacError as exc:
            return exc


def check_wav(data: bytes) -> str:
    """An Audio whose samples are finite, within the float limit, at a rate and length within the
    limits; or a PacError."""
    audio = python_decode(data)
    if isinstance(audio, PacError):
        expect("\n" not in str(audio), f"a two-line error: {audio}")
        return "refused"
    samples = audio.samples
    expect(samples.ndim == 1 and samples.dtype == np.float64, f"samples of shape {samples.shape} {samples.dtype}")
    expect(bool(np.all(np.isfinite(samples))), "non-finite samples accepted")
    peak = float(np.max(np.abs(samples), initial=0.0))
    expect(peak <= LIMITS.float_max_abs, f"a sample of {peak:g} accepted (limit {LIMITS.float_max_abs:g})")
    expect(LIMITS.rate_min <= audio.rate <= LIMITS.rate_max, f"sample rate {audio.rate} accepted")
    expect(audio.channels >= 1, f"{audio.channels} channels accepted")
    expect(audio.duration <= LIMITS.clip_max_seconds, f"a {audio.duration:g} s clip accepted")
    return "accepted"


def wav_target() -> Target:
    seeds = wav_seeds()
    return Target("wav", lambda d: wav_input(d, seeds), check_wav, hex_of)


# -- wav.js on the same bytes, in headless Chromium ------------------------------------------------------

_WAV_PAGE = """<!doctype html>
<meta charset="utf-8">
<script type="application/json" id="pac-constants">{constants}</script>
<script src="js/bridge.js"></script>
<script src="js/wav.js"></script>
"""

#: ``window.__wavTest``: base64 in and out, and ``decode(bytes, name)`` -> wav.js's clip or error.
_WAV_HELPERS = """
window.__wavTest = {
  bytes(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },
  b64(typed) {
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  },
  decode(data, name) {
    try {
      const clip = window.PacRuntime.wav.decodeWav(data, name);
      return {rate: clip.rate, channels: clip.channels, samples: this.b64(clip.samples)};
    } catch (e) {
      return {kind: (e && e.kind) || null, message: String((e && e.message) || e)};
    }
  },
};
"""


@contextlib.contextmanager
def wav_page(folder: Path):
    """Headless Chromium on a page holding only bridge.js and wav.js, with the real page constants."""
    from pac import resources, runtime
    from pac.browser import Browser

    (folder / "js").mkdir(parents=True, exist_ok=True)
    scripts = resources.current().runtime_scripts()
    for url in ("js/bridge.js", "js/wav.js"):
        (folder / url).write_bytes(scripts[url].read_bytes())
    constants = json.dumps(runtime.page_constants({"labels": ["a", "b"]}))
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        constants = constants.replace(char, escape)
    (folder / "wav.html").write_text(_WAV_PAGE.format(constants=constants), encoding="utf-8")
    with Browser(folder, timeout=120) as browser:
        browser.open("wav.html", wait=False)
        assert browser.execute("return !!(window.PacRuntime && window.PacRuntime.wav);"), browser.console_text()
        browser.execute(_WAV_HELPERS)
        yield browser


def js_decode(page, inputs: list[bytes], name: str = "fuzz.wav") -> list[dict]:
    """wav.js's outcome for each input (all read as file ``name``), in one round trip."""
    return js_decode_named(page, [(name, data) for data in inputs])


def js_decode_named(page, cases: list[tuple[str, bytes]]) -> list[dict]:
    """wav.js's outcome for each ``(name, bytes)``, in one round trip."""
    import base64

    texts = [[name, base64.b64encode(bytes(data)).decode("ascii")] for name, data in cases]
    return page.execute(
        "const T = window.__wavTest;return arguments[0].map(([name, text]) => T.decode(T.bytes(text), name));", texts
    )


def decoders_disagree(data: bytes, js: dict, name: str = "fuzz.wav") -> str | None:
    """Why Python's and wav.js's outcomes on ``data`` differ (None when they agree)."""
    import base64

    try:
        py = python_decode(data, name)
    except Exception as exc:  # noqa: BLE001 - check_wav counts it; here it only cannot be compared
        return f"Python raised {type(exc).__name__} ({exc}); wav.js says {js.get('message', 'accepted')}"
    if isinstance(py, PacError):
        if js.get("message") != str(py):
            return f"Python refuses with {str(py)!r}, wav.js says {js}"
        return None
    if "message" in js:
        return f"Python accepts ({py.rate} Hz, {py.channels} ch, {len(py.samples)} samples), wav.js refuses: {js}"
    if (js["rate"], js["channels"]) != (py.rate, py.channels):
        return f"rate/channels {py.rate}/{py.channels} in Python, {js['rate']}/{js['channels']} in wav.js"
    samples = np.frombuffer(base64.b64decode(js["samples"]), dtype="<f8")
    if samples.shape != py.samples.shape or not np.array_equal(samples, py.samples):
        return "the samples differ"
    return None


# -- feature configuration files: pac.features.load_config ---------------------------------------------

HOSTILE_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    3,
    7,
    10**6,
    10**400,
    -(10**400),
    0.5,
    -0.5,
    1e-300,
    5e-324,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "NaN",
    "1e9",
    "mel",
    "pac-compat",
    [],
    {},
    [1, 2],
    {"a": 1},
]


def config_input(d: Draw) -> bytes:
    """A feature configuration file: a profile with fields set to hostile or random values, removed or
    added, written with ``NaN``/``Infinity`` tokens, nested deep, corrupted, or not UTF-8."""
    from pac.features import PROFILES

    base = PROFILES[d.choice(sorted(PROFILES))].to_dict()
    names = sorted(base)
    for _ in range(d.integer(0, 4)):
        name = d.choice(names + ["unknown_field"])
        action = d.choice(["hostile", "random", "scale", "remove"])
        if action == "remove":
            base.pop(name, None)
        elif action == "hostile":
            base[name] = d.choice(HOSTILE_VALUES)
        elif action == "scale" and isinstance(base.get(name), (int, float)) and not isinstance(base[name], bool):
            factor = d.choice([-1, 0, 2, 10, 1000, 1e6, 0.001])
            base[name] = base[name] * factor if abs(base[name]) < 1e300 else factor
        else:
            base[name] = d.choice([lambda: d.integer(-(1 << 70), 1 << 70), lambda: d.floating(64), lambda: d.text(8)])()
    text = json.dumps(base, allow_nan=True).encode("utf-8")
    form = d.choice(["plain"] * 5 + ["nested", "corrupt", "bytes", "bom"])
    if form == "nested":
        depth = d.choice([LIMITS.json_max_depth - 1, LIMITS.json_max_depth, 100, 100000])
        text = text[:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}"
    elif form == "corrupt":
        text = mutated(d, text, hot=len(text), max_mutations=3)
    elif form == "bytes":
        text = d.binary(128)
    elif form == "bom":
        text = b"\xef\xbb\xbf" + text
    return text


class ConfigCheck:
    """``load_config`` on a file: a FeatureConfig whose numbers are finite and within
    :data:`pac.limits.CONFIG_BOUNDS`, or a PacError.  Every ``render_every``-th accepted configuration
    also turns a real 1 s clip into its image (bounded work for any accepted configuration)."""

    def __init__(self, folder: Path, *, render_every: int = 25):
        from pac.audio import read_wav

        self.path = folder / "fuzz-config.json"
        self.render_every = render_every
        self.accepted = 0
        self.clip = read_wav(shared_dir() / "data" / "fsdd" / "recordings" / "3_nicolas_0.wav")

    def __call__(self, data: bytes) -> str:
        from pac.features import load_config
        from pac.features.pipeline import clip_image

        self.path.write_bytes(data)
        with quiet_numpy():
            try:
                config = load_config(self.path)
            except PacError as exc:
                expect("\n" not in str(exc), f"a two-line error: {exc}")
                return "refused"
        for name, (low, high) in CONFIG_BOUNDS.items():
            value = getattr(config, name)
            expect(
                value is None or (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high),
                f"{name} = {value!r} accepted (bounds {low:g} to {high:g})",
            )
        self.accepted += 1
        if self.render_every and self.accepted % self.render_every == 0:
            with quiet_numpy():
                try:
                    image = clip_image(self.clip, config)
                except PacError:
                    return "accepted"
            expect(image.shape == (config.image_size, config.image_size, 3), f"an image of shape {image.shape}")
            return "rendered"
        return "accepted"


def config_target(folder: Path, *, render_every: int = 25) -> Target:
    return Target(
        "config",
        config_input,
        ConfigCheck(folder, render_every=render_every),
        lambda data: data.decode("utf-8", "backslashreplace")[:4096],
    )


# -- .mdl import: pac.mdl.read_mdl ---------------------------------------------------------------------

MDL_LABELS = ("one", "two", "three")


def mdl_seed() -> bytes:
    """A valid ``.mdl`` (MIT's layout, :func:`pac.mdl.mdl_bytes`): a 1-filter conv head on MobileNet's
    7x7x256 activations, 3 labels, seeded weights."""
    from pac.mdl import mdl_bytes
    from pac.tfjs_head import Layer

    rng = np.random.default_rng(0)
    weights = lambda *shape: (rng.standard_normal(shape) * 0.05).astype(np.float32)  # noqa: E731
    layers = [
        Layer("conv2d", activation="relu", filters=1, kernel_size=(5, 5), weights=[weights(5, 5, 256, 1), weights(1)]),
        Layer("flatten"),
        Layer("dense", activation="softmax", units=len(MDL_LABELS), weights=[weights(9, 3), weights(3)]),
    ]
    return mdl_bytes(list(MDL_LABELS), layers)


def mdl_entries(seed: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(entries: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def json_edit(d: Draw, body: bytes) -> bytes:
    """A JSON entry with one value somewhere replaced by a hostile one (or its text corrupted)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # edited before
        value = None
    if value is None or d.integer(0, 3) == 0:
        return mutated(d, body, hot=len(body), max_mutations=3)
    node = value
    for _ in range(d.integer(0, 6)):
        children = (
            list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
        )
        if not children:
            break
        key, child = d.choice(children)
        if not isinstance(child, (dict, list)) or d.boolean():
            node[key] = d.choice(
                [
                    lambda: d.choice(HOSTILE_VALUES),
                    lambda: d.text(6),
                    lambda: ["x"] * 2000,
                    lambda: [[[[[[[[[[[]]]]]]]]]]],
                ]
            )()
            break
        node = child
    return json.dumps(value, allow_nan=True).encode("utf-8")


def mdl_input(d: Draw, seed: bytes, entries: dict[str, bytes]) -> bytes:
    """The seed ``.mdl`` with its zip bytes mutated, or re-zipped after entry-level edits: JSON values
    replaced, weights cut or grown, entries dropped, doubled, renamed or added, deflate bombs."""
    if d.integer(0, 2) == 0:
        return mutated(d, seed, hot=len(seed))
    items = list(entries.items())
    bomb = False
    for _ in range(d.integer(1, 3)):
        k = d.integer(0, len(items) - 1)
        name, body = items[k]
        action = d.choice(["json", "json", "weights", "drop", "double", "rename", "add", "bomb"])
        if action == "json" and name.endswith(".json"):
            items[k] = (name, json_edit(d, body))
        elif action in ("json", "weights"):
            items = [(n, b[: d.integer(0, len(b))] + d.binary(8) if n == "model.weights.bin" else b) for n, b in items]
        elif action == "drop" and len(items) > 1:
            items.pop(k)
        elif action == "double":
            items.append((name, body))
        elif action == "rename":
            items[k] = (d.choice(["../model.json", "/abs", "model.json ", "a\\b", "x" * 300, "\u00e9.json"]), body)
        elif action == "add":
            name = d.text(12, min_size=1).split("\0")[0]  # zipfile cuts a name at NUL
            items.append((name or "x", d.binary(32)))
        elif action == "bomb":
            items[k] = (name, b"\0" * d.choice([1 << 16, 1 << 20, 8 << 20]))
            bomb = True
    method = zipfile.ZIP_DEFLATED if bomb else d.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    return rezip(items, method=method)


class MdlCheck:
    """``read_mdl`` on a file: a model whose labels and head agree, or a PacError."""

    def __init__(self, folder: Path):
        self.path = folder / "fuzz.mdl"

    def __call__(self, data: bytes) -> str:
        from pac.mdl import read_mdl

        self.path.write_bytes(data)
        with quiet_numpy():
            try:
                model = read_mdl(self.path)
            except PacError as exc:
                expect("\n" not in str(exc), f"a two-line error: {exc}")
                return "refused"
        expect(2 <= len(model.labels) <= LIMITS.max_labels, f"{len(model.labels)} labels accepted")
        expect(all(isinstance(label, str) and label.strip() for label in model.labels), "an empty label accepted")
        expect(model.layers[-1].units == len(model.labels), "outputs and labels differ")
        for layer in model.layers:
            for w in layer.weights:
                expect(bool(np.all(np.isfinite(w))), "non-finite weights accepted")
        return "accepted"


def mdl_target(folder: Path) -> Target:
    seed = mdl_seed()
    entries = mdl_entries(seed)
    return Target("mdl", lambda d: mdl_input(d, seed, entries), MdlCheck(folder), hex_of)


# -- .aix: pac.verify.verify without the browser ------------------------------------------------------------


def aix_seed() -> tuple[str, dict[str, bytes]]:
    """The top folder and entries of a small .aix: the component's real descriptors, build infos,
    classes.jar and AndroidRuntime.jar (no model assets)."""
    from pac import resources
    from pac.aix import aix_entries

    return aix_entries(resources.current().component(build=False), {})


def _nested_bomb(size: int) -> bytes:
    """A jar whose one entry inflates ``size`` zero bytes (a bomb inside classes.jar)."""
    return rezip([("classes.dex", b"\0" * size)], method=zipfile.ZIP_DEFLATED)


def aix_input(d: Draw, top: str, entries: dict[str, bytes], whole: bytes) -> bytes:
    """The seed .aix with its zip bytes mutated, or re-zipped after entry-level edits: descriptors
    edited or nested deep, jars mutated or replaced by bombs, entries doubled (many times), unsafe
    names, extra top folders."""
    if d.integer(0, 3) == 0:
        return mutated(d, whole, hot=len(whole), max_mutations=4)
    items = list(entries.items())
    for _ in range(d.integer(1, 3)):
        k = d.integer(0, len(items) - 1)
        name, body = items[k]
        action = d.choice(["json", "json", "deep", "jar", "bomb", "double", "many", "rename", "drop"])
        if action == "json" and name.endswith(".json"):
            items[k] = (name, json_edit(d, body))
        elif action == "deep" and name.endswith(".json"):
            depth = d.choice([LIMITS.json_max_depth + 1, 1000, 100000])
            items[k] = (name, b"[" * depth + b"]" * depth)
        elif action == "jar" and name.endswith(".jar"):
            items[k] = (name, mutated(d, body, hot=len(body), max_mutations=3))
        elif action == "bomb" and name.endswith(".jar"):
            items[k] = (name, d.choice(_BOMBS))
        elif action == "double":
            items.append((name, body))
        elif action == "many":
            items += [(f"{top}/assets/x{i}", b"") for i in range(d.choice([100, LIMITS.aix_max_entries + 1]))]
        elif action == "rename":
            items[k] = (
                d.choice(
                    [f"../{name}", f"/{name}", name.replace("/", "\\"), f"other/{name}", name + "/", name.upper()]
                ),
                body,
            )
        elif action == "drop":
            items.pop(k)
    return rezip(items, method=d.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))


_BOMBS: list[bytes] = []


class AixCheck:
    """``verify(path, browser=False)`` on a file: a Report (its failures say what is wrong), or a PacError."""

    def __init__(self, folder: Path):
        self.path = folder / "fuzz.aix"

    def __call__(self, data: bytes) -> str:
        from pac.verify import verify

        self.path.write_bytes(data)
        with quiet_numpy():
            try:
                report = verify(self.path, browser=False)
            except PacError as exc:
                expect("\n" not in str(exc), f"a two-line error: {exc}")
                return "refused"
        return "failures" if report.failures else "passed"


def aix_target(folder: Path) -> Target:
    top, entries = aix_seed()
    if not _BOMBS:
        _BOMBS.extend(_nested_bomb(size) for size in (1 << 20, 64 << 20))
    whole = rezip(list(entries.items()), method=zipfile.ZIP_DEFLATED)
    return Target("aix", lambda d: aix_input(d, top, entries, whole), AixCheck(folder), hex_of)


# -- the studio's HTTP API -------------------------------------------------------------------------------

METHODS = ["GET", "HEAD", "POST", "DELETE"]
OTHER_METHODS = ["PUT", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "BREW", "get"]
ROUTE_PATHS = [
    "/",
    "/favicon.ico",
    "/static/{x}",
    "/api/project",
    "/api/settings",
    "/api/labels",
    "/api/labels/{label}/rename",
    "/api/labels/{label}",
    "/api/labels/{label}/clips",
    "/api/labels/{label}/clips/{x}/audio",
    "/api/labels/{label}/clips/{x}/spectrogram",
    "/api/labels/{label}/clips/{x}",
    "/api/train",
    "/api/train/cancel",
    "/api/models/{x}/files/{x}",
    "/api/models/{x}",
    "/api/models/{x}/download/zip",
    "/api/models/{x}/export/{x}",
    "/api/models/{x}/download/{x}",
    "/api/models/{x}/classify",
    "/api/models/{x}/tests",
    "/api/models/{x}/tests/{x}",
    "/api/models/{x}/tests/{x}/audio",
    "/api/models/{x}/tests/{x}/spectrogram",
]
SEGMENTS = [
    "fuzz",
    "other",
    "..",
    ".",
    "%2e%2e",
    "..%2F..%2Fstudio.json",
    "%ff",
    "%00",
    "%c3%a9",
    "a%2Fb",
    "studio.js",
    "index.html",
    "aix",
    "mdl",
    "curves.png",
    "x" * 300,
    "%",
    "%zz",
    "CON",
    "_background_noise_",
]
JSON_BODIES = [
    b"",
    b"{}",
    b"null",
    b"[]",
    b"42",
    b'"x"',
    b'{"name": "fuzz2"}',
    b'{"name": "fuzz"}',
    b'{"name": ["x"]}',
    b'{"profile": "paper"}',
    b'{"profile": {}}',
    b'{"expected": 3}',
    b'{"head": "conv", "epochs": "many"}',
    b'{"seed": NaN}',
    b'{"noise": "folder", "noise_folder": "~x"}',
    b"[" * 10000 + b"]" * 10000,
    b'{"name": "\\ud800"}',
    b"\xff\xfe",
    b"{" * 40,
]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple
    body: bytes

    def raw(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def studio_request(d: Draw, seeds: list[bytes], segments: list[str]) -> Request:
    """A request with any method on the studio's routes (and beside them), with hostile segments,
    headers (Content-Length that lies, chunked, Origin, Host) and a body (JSON, WAV, random bytes).

    WAV bodies are at most a few hundred bytes of samples, too short to store, so a fuzz run never
    makes a project ready to train.
    """
    method = d.choice(METHODS) if d.integer(0, 4) else d.choice(OTHER_METHODS)
    template = d.choice(ROUTE_PATHS + ["/nowhere", "/api", "/api/labels/{label}/clips/{x}/audio/more"])
    path = template.replace("{label}", d.choice(["fuzz", "fuzz2", "ghost"] + segments))
    while "{x}" in path:
        path = path.replace("{x}", d.choice(segments), 1)
    if d.integer(0, 3) == 0:
        path += "?" + d.choice(["since=x", "expected=fuzz", "expected=%ff", "a=" + "b" * 1000, "&&=&"])
    kind = d.choice(["json", "json", "wav", "binary", "none"])
    if kind == "json":
        body = d.choice(JSON_BODIES)
    elif kind == "wav":
        body = mutated(d, d.choice(seeds)[:300], hot=80) if d.boolean() else built_wav(d, max_body=200)
    else:
        body = d.binary(256) if kind == "binary" else b""
    headers = [("X-Pac-Studio", "1")] if d.integer(0, 5) else []
    length = d.choice(["exact"] * 6 + ["none", "more", "less", "-1", "junk", "huge", "over-limit"])
    lengths = {
        "exact": str(len(body)),
        "more": str(len(body) + 10),
        "less": str(max(0, len(body) - 1)),
        "-1": "-1",
        "junk": "12abc",
        "huge": "9" * 30,
        "over-limit": str(LIMITS.upload_max_bytes + 1),
    }
    if length in lengths:
        headers.append(("Content-Length", lengths[length]))
    headers += [d.choice(EXTRA_HEADERS) for _ in range(d.integer(0, 3))]
    return Request(method, path, tuple(headers), body)


EXTRA_HEADERS = [
    ("Content-Type", "application/json"),
    ("Transfer-Encoding", "chunked"),
    ("Origin", "http://evil.example"),
    ("X-Clip-Source", "uploaded"),
    ("X-Clip-Source", "recorded"),
    ("X-Clip-Source", "other"),
    ("X-Clip-Name", "%ff%fe..%2F"),
    ("X-Clip-Name", "\u00e9t\u00e9.wav"),
    ("Expect", "100-continue"),
    ("Connection", "close"),
    ("Host", "evil.example"),
    ("Range", "bytes=0-1"),
]


def exchange(port: int, request: Request, *, timeout: float = 30) -> bytes:
    """Send a request, close the sending half, and read the whole answer."""
    return exchange_raw(port, request.raw(port), timeout=timeout)


def exchange_raw(port: int, raw: bytes, *, tls: bool = False, timeout: float = 30) -> bytes:
    """Send ``raw`` in plain HTTP (then close the sending half) or over TLS (the classroom's
    self-signed certificate is not checked), and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        stream = _unchecked_tls().wrap_socket(connection) if tls else connection
        try:
            stream.sendall(raw)
            if not tls:
                stream.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered (and closed) before the body was sent: read that answer
            pass
        answer = b""
        while chunk_ := stream.recv(65536):
            answer += chunk_
    return answer


def _unchecked_tls():
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class StudioCheck:
    """A running studio answers every request with a status below 500, and keeps answering."""

    def __init__(self, studio):
        self.studio = studio

    def __call__(self, request: Request) -> str:
        answer = exchange(self.studio.port, request)
        while answer.startswith(b"HTTP/1.1 100"):
            answer = answer.split(b"\r\n\r\n", 1)[1]
        expect(answer.startswith(b"HTTP/1."), f"no answer: {answer[:80]!r}")
        status = int(answer[9:12])
        expect(status < 500, f"status {status}: {answer[:300]!r}")
        training = self.studio.jobs.training
        expect(training is None or not training.running, "a fuzz request started a training run")
        return str(status)


def studio_target(studio, seeds: list[bytes]) -> Target:
    """Requests to ``studio``, whose project gets a label ``fuzz`` holding one real clip (its name is
    one of the path segments drawn)."""
    from urllib.parse import quote

    clip = (shared_dir() / "data" / "fsdd" / "recordings" / "5_lucas_0.wav").read_bytes()
    studio.store.add_label("fuzz")
    info = studio.store.add_clip("fuzz", clip, original_name="seed.wav")
    segments = SEGMENTS + [quote(info["id"])] * 4
    return Target("studio", lambda d: studio_request(d, seeds, segments), StudioCheck(studio), repr)


# -- the studio's project files (export / import) and model names ----------------------------------------

#: The model folder of the fuzzed project (an id as the studio makes them).
FUZZ_MODEL = "m-20261202-101010"
_NUL_MARK = "NULMARK"  # zipfile cuts a name at NUL when writing: the mark is replaced in the bytes


def folder_digest(root: Path) -> str:
    """A digest of every folder and file (name and bytes) under ``root``; an empty ``.trash`` (left by
    an import's staging) and the studio's lock file do not count."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
        if path.is_dir():
            if rel == b".trash" and not any(path.iterdir()):
                continue
            digest.update(b"D" + rel + b"\0")
        elif rel != b".studio.lock":
            digest.update(b"F" + rel + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


_MODEL_FILES: dict[str, bytes] = {}


def model_files() -> dict[str, bytes]:
    """A model folder without TensorFlow: ``pac.json`` (pac-compat features), the ``.mdl`` seed's
    TF.js ``model.json`` and weights, and a ``report.json`` with what training writes."""
    from pac import __version__
    from pac.features import PROFILES
    from pac.modeldir import Manifest

    if _MODEL_FILES:
        return dict(_MODEL_FILES)
    entries = mdl_entries(mdl_seed())
    manifest = Manifest(
        labels=MDL_LABELS,
        features=PROFILES["pac-compat"],
        base={"name": "mobilenet_v1_0.25_224", "cut_layer": "conv_pw_13_relu", "sha256": "0" * 64},
        tools={"pac": __version__, "tensorflow": "none", "tfjs_writer": "fuzz"},
    )
    report = {
        "labels": list(MDL_LABELS),
        "clips": {"training": [f"{MDL_LABELS[0]}/a.wav"], "validation": []},
        "cross_validation": {"accuracy": 0.5, "clips": [f"{MDL_LABELS[0]}/a.wav"]},
        "head": {"candidates": [], "l2": 0.001},
        "history": {"loss": [1.0, 0.5]},
        "seconds": 1.5,
    }
    _MODEL_FILES.update(
        {
            "pac.json": manifest.to_json().encode(),
            "model.json": entries["model.json"],
            "model.weights.bin": entries["model.weights.bin"],
            "report.json": json.dumps(report).encode(),
        }
    )
    return dict(_MODEL_FILES)


def answer_parts(answer: bytes) -> tuple[int, dict, bytes]:
    """``(status, headers in lower case, body)`` of an HTTP answer (after any ``100 Continue``)."""
    while answer.startswith(b"HTTP/1.1 100"):
        answer = answer.split(b"\r\n\r\n", 1)[1]
    expect(answer.startswith(b"HTTP/1."), f"no answer: {answer[:80]!r}")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(lines[0][9:12]), headers, body


def one_line_error(status: int, headers: dict, body: bytes) -> str:
    """A 4xx's ``{"error": "one line"}`` (a :class:`Broken` for anything else)."""
    expect(400 <= status < 500, f"status {status}: {body[:300]!r}")
    expect(headers.get("content-type", "").startswith("application/json"), f"a {status} that is not JSON")
    message = json.loads(body).get("error")
    expect(isinstance(message, str) and message, f"a {status} without an error line: {body[:200]!r}")
    expect("\n" not in message and "Traceback" not in message, f"a two-line error: {message[:300]!r}")
    return message


def zip_with(entries: list[tuple[str, bytes]], method: int) -> bytes:
    """:func:`rezip`, then every :data:`_NUL_MARK` in a name made a NUL byte."""
    data = rezip(entries, method=method)
    return data.replace(_NUL_MARK.encode(), b"\0" + _NUL_MARK.encode()[1:])


def patch_headers(d: Draw, data: bytes) -> bytes:
    """One central-directory or local header field changed: declared sizes (huge, small, zip64's
    0xFFFFFFFF), the encryption flag, the name's length."""
    marks = [(i, b"PK\x01\x02") for i in _find_all(data, b"PK\x01\x02")]
    marks += [(i, b"PK\x03\x04") for i in _find_all(data, b"PK\x03\x04")]
    if not marks:
        return data
    at, kind = d.choice(marks)
    central = kind == b"PK\x01\x02"
    field = d.choice(["size", "compressed", "flags", "name length", "offset"])
    offsets = {
        "size": (24 if central else 22, 4),
        "compressed": (20 if central else 18, 4),
        "flags": (8 if central else 6, 2),
        "name length": (28 if central else 26, 2),
        "offset": (42 if central else 14, 4),
    }
    start, width = offsets[field]
    if field == "flags":
        value = d.choice([0x1, 0x8, 0x41, 0x800, 0xFFFF])
    else:
        value = d.choice(INTERESTING_U32 + [1 << 30, IMPORT_MAX_TOTAL + 1]) & ((1 << (8 * width)) - 1)
    out = bytearray(data)
    out[at + start : at + start + width] = value.to_bytes(width, "little")
    return bytes(out)


IMPORT_MAX_TOTAL = 256 * 1024 * 1024


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0 and len(found) < 64:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def hostile_entry_name(d: Draw, name: str, top: str) -> str:
    """An entry name that may reach outside the project, or name a place the studio does not have."""
    inner = name[len(top) + 1 :] if name.startswith(top + "/") else name
    clip = inner.rsplit("/", 1)[-1] or "a.wav"
    return d.choice(
        [
            lambda: f"../{name}",
            lambda: f"{top}/../../{inner}",
            lambda: f"{top}/labels/../../../evil.wav",
            lambda: f"{top}/labels/one/../../studio.json",
            lambda: f"/{name}",
            lambda: "/etc/passwd",
            lambda: f"C:/{name}",
            lambda: f"C:{name}",
            lambda: f"c:\\{inner}",
            lambda: name.replace("/", "\\"),
            lambda: f"{top}\\labels\\one\\{clip}",
            lambda: f"{name[:-4]}{_NUL_MARK}.wav" if name.endswith(".wav") else f"{name}{_NUL_MARK}",
            lambda: f"{top}/labels/{'x' * 300}/{clip}",
            lambda: f"{top}/labels/one/{'a' * d.choice([101, 250, 5000])}.wav",
            lambda: "x/" * d.choice([100, 3000]) + clip,
            lambda: f"{top}/labels/{unicodedata_nfd('été')}/{clip}",
            lambda: f"{top}/labels/\u00c9T\u00c9/{clip}",
            lambda: f"{top}/labels/\U0001f3b5/{clip}",
            lambda: f"{top}/labels/one\u202e/{clip}",
            lambda: f"{top}/labels/\u0661\u0662 \u05d0/{clip}",
            lambda: f"{top}/labels/CON/{clip}",
            lambda: f"{top}/labels/ one/{clip}",
            lambda: f"{top}/labels/one /{clip}",
            lambda: f"{top}/labels/a.b/{clip}",
            lambda: f"{top}/labels/one/sub/{clip}",
            lambda: f"{top}/labels/one/{clip[:-4]}.WAV",
            lambda: f"{top}/labels/one/.{clip}",
            lambda: f"{top}/labels/one/\u202egnp.wav",
            lambda: f"{top}/labels/one/{clip}/",
            lambda: f"{top}/labels/one",
            lambda: f"{top}/labels",
            lambda: f"__MACOSX/{name}",
            lambda: f"{top}/.DS_Store",
            lambda: f"{top}//labels/one/{clip}",
            lambda: f"{top}/./labels/one/{clip}",
            lambda: f"{top}/models/../{clip}",
            lambda: f"{top}/models/m-1/pac.json",
            lambda: f"{top}/models/{FUZZ_MODEL}-99999/pac.json",
            lambda: f"{top}/models/{FUZZ_MODEL}/run.exe",
            lambda: f"{top}/models/{FUZZ_MODEL}/sub/pac.json",
            lambda: f"{top}/tests/{FUZZ_MODEL}/results.json",
            lambda: f"{top}/exports/{FUZZ_MODEL}/x.aix",
            lambda: f"other/{inner}",
            lambda: inner,
            lambda: "studio.json",
            lambda: f"{top}/{top}/studio.json",
            lambda: d.text(24, min_size=1).replace("\0", _NUL_MARK),
            lambda: f"{top}/labels/{d.text(8, min_size=1)}/{clip}".replace("\0", _NUL_MARK),
        ]
    )()


def unicodedata_nfd(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFD", text)


#: ``studio.json`` contents that are JSON but not what the studio writes.
HOSTILE_SETTINGS = [
    {"format": "pac-studio-project", "profile": ["paper"]},
    {"format": "pac-studio-project", "profile": {"x": 1}},
    {"format": "pac-studio-project", "profile": 3},
    {"format": "pac-studio-project", "profile": "nope"},
    {"format": "pac-studio-project", "labels": {"one": 1}},
    {"format": "pac-studio-project", "labels": [["one"], {}, None, 3, "one", "ghost"]},
    {"format": "pac-studio-project", "model_names": [FUZZ_MODEL]},
    {"format": "pac-studio-project", "model_names": {FUZZ_MODEL: ["x"]}},
    {"format": "pac-studio-project", "model_names": {FUZZ_MODEL: "a\u0000b"}},
    {"format": "pac-studio-project", "model_names": {FUZZ_MODEL: "x" * 1000}},
    {"format": "pac-studio-project", "model_names": {FUZZ_MODEL: "\u202eevil<script>"}},
    {"format": "pac-studio-project", "format_version": 999},
    {"format": "pac-studio-projectx"},
    {"format": None},
    {},
    [],
    "pac-studio-project",
]


def import_input(d: Draw, top: str, entries: list[tuple[str, bytes]], wavs: list[bytes], whole: bytes) -> bytes:
    """The real exported project with its zip bytes mutated, or re-zipped after entry-level edits:
    hostile names, doubled entries, clips that are not WAV (or cut, or too large), settings and
    model files edited or replaced, deflate bombs, declared sizes that lie, thousands of entries."""
    pick = d.integer(0, 9)
    if pick == 0:
        return mutated(d, whole, hot=len(whole), max_mutations=4)
    items = list(entries)
    method = d.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_DEFLATED])
    for _ in range(d.integer(1, 3)):
        k = d.integer(0, len(items) - 1)
        name, body = items[k]
        action = d.choice(
            ["rename", "rename", "double", "clip", "clip", "add", "settings", "json", "model", "drop", "bomb", "method"]
        )
        if action == "rename":
            items[k] = (hostile_entry_name(d, name, top), body)
        elif action == "double":
            twin = d.choice([name, unicodedata_nfd(name), name.upper(), name + "/"])
            items.insert(d.integer(0, len(items)), (twin, d.choice([body, d.choice(wavs)])))
        elif action == "clip" and name.endswith(".wav"):
            items[k] = (name, hostile_clip(d, body))
        elif action in ("add", "clip"):
            label = d.choice(["one", "two words", "\u00e9t\u00e9", "new", "NEW", "New ", "one"])
            clip = d.choice(["added.wav", "up-20261202-101010-abcdef12.wav", "b.WAV", "\u00e9.wav", "a b.wav"])
            items.append((f"{top}/labels/{label}/{clip}", d.choice(wavs) if d.boolean() else mutated(d, wavs[0])))
        elif action == "settings":
            settings = d.choice(HOSTILE_SETTINGS)
            text = (
                json.dumps(settings).encode()
                if d.integer(0, 3)
                else d.choice([b"[" * 100000 + b"]" * 100000, b'{"format": "pac-studio-project", "x": NaN}', b"\xff"])
            )
            at = next((i for i, (n, _) in enumerate(items) if n.endswith("studio.json")), k)
            items[at] = (items[at][0], text)
        elif action == "json" and name.endswith(".json"):
            items[k] = (name, json_edit(d, body))
        elif action in ("json", "model"):
            file = d.choice(["pac.json", "model.json", "report.json", "model.weights.bin", "curves.png", "x.json"])
            content = hostile_model_file(d, file)
            model = d.choice([FUZZ_MODEL, "m-20261202-111111", "m-20261202-111111-2"])
            if model != FUZZ_MODEL and d.integer(0, 3):  # a whole new model, one of its files hostile
                items += [(f"{top}/models/{model}/{n}", b) for n, b in model_files().items()]
            items = [(n, b) for n, b in items if n != f"{top}/models/{model}/{file}"]
            items.append((f"{top}/models/{model}/{file}", content))
        elif action == "drop" and len(items) > 1:
            items.pop(k)
        elif action == "bomb":
            items[k] = (name, b"\0" * d.choice([1 << 16, 1 << 20, 8 << 20]))
            method = zipfile.ZIP_DEFLATED
        elif action == "method":
            method = d.choice([zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
    if d.integer(0, 40) == 0:
        items += [(f"{top}/labels/many/{i}.wav", b"") for i in range(d.choice([1000, 5001]))]
    data = zip_with(items, method)
    if d.integer(0, 4) == 0:
        data = patch_headers(d, data)
    if d.integer(0, 15) == 0:
        data = d.choice([d.binary(64) + data, data + d.binary(64), data[: d.integer(0, len(data))]])
    return data


MODEL_FILE_LIMIT = 32 * 1024 * 1024


def hostile_clip(d: Draw, body: bytes) -> bytes:
    """A clip's bytes made not quite a WAV: mutated, cut, built from hostile fields, random, empty, too large."""
    pick = d.integer(0, 5)
    if pick == 0:
        return mutated(d, body, hot=80)
    if pick == 1:
        return body[: d.integer(0, len(body))]
    if pick == 2:
        return built_wav(d)
    if pick == 3:
        return d.binary(64)
    if pick == 4:
        return b""
    return body[:44] + b"\0" * (LIMITS.upload_max_bytes + 1)


def hostile_model_file(d: Draw, file: str) -> bytes:
    """A model folder's file edited or replaced (JSON too deep, values of other types, too large)."""
    pick = d.integer(0, 6)
    if pick == 0:
        return json_edit(d, model_files().get(file, b"{}"))
    if pick == 1:
        return b"[" * 5000 + b"]" * 5000
    if pick == 2:
        return json.dumps(d.choice(HOSTILE_VALUES)).encode()
    if pick == 3:
        return d.binary(32)
    if pick == 4:
        return b"\0" * (MODEL_FILE_LIMIT + 1)
    if pick == 5:
        return json.dumps({"clips": d.choice(HOSTILE_VALUES), "cross_validation": {"clips": 5}}).encode()
    return json.dumps({"cross_validation": {"accuracy": "high"}, "validation": [], "features": []}).encode()


#: Model names sent to ``POST api/models/<id>/rename`` (besides random text).
HOSTILE_MODEL_NAMES = [
    "",
    " ",
    "\t",
    "\u0000",
    "a\nb",
    "a\u0000b",
    "\u202eevil",
    "\u200b",
    "x" * 60,
    "x" * 61,
    " " * 30 + "x" + " " * 30,
    unicodedata_nfd("\u00e9") * 40,
    "\U0001f3b5" * 60,
    "<script>alert(1)</script>",
    '"; filename="x.exe',
    "../../studio.json",
    "CON",
    "Model 1",
    "\ud800",
    "\udfff x",
    None,
    3,
    1.5,
    True,
    ["x"],
    {"name": "x"},
]
MODEL_WORDS = ["Digits", "  spaced  ", "\u00e9t\u00e9 2", "\u0645\u0631\u062d\u0628\u0627", "\U0001f3b5 tune", "a" * 59]
RENAME_BODIES = [
    b'{"name": "\\ud800"}',
    b'{"name": "\\u0000"}',
    b'{"name": "a", "name": "b"}',
    b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"name": "' + b"x" * 70000 + b'"}',
    b"\xff\xfe{}",
    b'{"name": NaN}',
    b"",
    b"[]",
]


@dataclass(frozen=True)
class Transfer:
    """One input of the ``transfer`` target: ``kind`` ``"import"`` (``body`` a project file) or
    ``"rename"`` (``model`` the URL segment, ``body`` the JSON)."""

    kind: str
    body: bytes
    model: str = ""
    empty: bool = False

    def __repr__(self) -> str:
        return f"Transfer({self.kind!r}, model={self.model!r}, empty={self.empty}, body={shown_short(self.body)!r})"


def transfer_input(d: Draw, seed) -> Transfer:
    if d.integer(0, 4):
        return Transfer("import", import_input(d, *seed), empty=d.integer(0, 3) == 0)
    model = d.choice([FUZZ_MODEL] * 6 + ["m-20261202-111111", "..", "%2e%2e", f"{FUZZ_MODEL}%00", "%ff", "x" * 300])
    model = d.choice([model, model.upper(), f"{FUZZ_MODEL}%2F..%2F..%2Fstudio.json"]) if d.integer(0, 5) == 0 else model
    if d.integer(0, 5) == 0:
        body = d.choice(RENAME_BODIES)
    else:
        pick = d.integer(0, 3)
        name = d.choice(HOSTILE_MODEL_NAMES) if pick < 2 else d.text(70) if pick == 2 else d.choice(MODEL_WORDS)
        try:
            body = json.dumps({"name": name}, ensure_ascii=d.boolean()).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            body = b"{}"
    return Transfer("rename", body, model)


def is_clip_entry(name: str) -> bool:
    """Whether an accepted project file's entry is a clip (not a file manager's hidden file, which
    an import skips)."""
    parts = name.split("/")
    hidden = parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)
    return not hidden and len(parts) >= 3 and parts[-3] == "labels" and name.lower().endswith(".wav")


class TransferCheck:
    """``POST api/project/import`` and ``POST api/models/<id>/rename`` on a studio's real project:
    a 2xx, or a 4xx with one error line and the project's folder byte for byte as it was; after an
    accepted import, a consistent project (every clip decodes, every model reads, every clip of the file
    is in its label, the page's ``api/project`` and a new export answer, importing that export again
    adds nothing); then the project is put back as it was."""

    def __init__(self, studio, baseline: Path, empty=None, empty_baseline: Path | None = None):
        self.projects = [(studio, baseline, folder_digest(studio.store.root))]
        if empty is not None:
            self.projects.append((empty, empty_baseline, folder_digest(empty.store.root)))
        self.studio, self.baseline, self.baseline_digest = self.projects[0]

    def send(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
        headers = (("X-Pac-Studio", "1"), ("Content-Length", str(len(body))))
        return answer_parts(exchange(self.studio.port, Request(method, path, headers, body)))

    def __call__(self, value: Transfer) -> str:
        self.studio, self.baseline, self.baseline_digest = self.projects[value.empty and len(self.projects) - 1]
        root = self.studio.store.root
        before = folder_digest(root)
        try:
            if value.kind == "import":
                return self.imported(value.body, before) + (" into an empty project" if value.empty else "")
            return self.renamed(value, before)
        finally:
            if folder_digest(root) != self.baseline_digest:
                self.restore()

    def refused(self, status: int, headers, body: bytes, before: str, what: str) -> bool:
        """No 5xx; a refusal (not 200) is one line of error and leaves the project as it was."""
        expect(status < 500, f"status {status}: {body[:300]!r}")
        if status == 200:
            return False
        one_line_error(status, headers, body)
        expect(folder_digest(self.studio.store.root) == before, f"{what} ({status}) changed the project")
        return True

    def imported(self, data: bytes, before: str) -> str:
        root = self.studio.store.root
        status, headers, body = self.send("POST", "/api/project/import", data)
        if self.refused(status, headers, body, before, "a refused project file"):
            return "refused"
        answer = json.loads(body)
        expect(not list(root.glob(".trash/*")), "an accepted import left its staging folder")
        self.consistent()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            wavs = [info for info in archive.infolist() if is_clip_entry(info.filename)]
            import hashlib

            have = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "labels").rglob("*.wav")}
            for info in wavs:
                expect(
                    hashlib.sha256(archive.read(info)).hexdigest() in have,
                    f"a clip of the file is not in the project: {info.filename!r}",
                )
        expect(answer["clips"] + answer["skipped"] == len(wavs), f"clips counted wrong: {answer}")
        status, headers, exported = self.send("GET", "/api/project/export")
        expect(status == 200, f"the export after an import answered {status}")
        status, headers, again = self.send("POST", "/api/project/import", exported)
        expect(status == 200 and json.loads(again)["clips"] == 0, f"re-importing the export: {status} {again[:300]!r}")
        return "accepted"

    def renamed(self, value: Transfer, before: str) -> str:
        import unicodedata

        status, headers, body = self.send("POST", f"/api/models/{value.model}/rename", value.body)
        if self.refused(status, headers, body, before, "a refused rename"):
            return "rename refused"
        answer = json.loads(body)
        sent = json.loads(value.body)["name"]
        expect(answer == {"id": FUZZ_MODEL, "name": unicodedata.normalize("NFC", sent).strip()}, f"renamed: {answer}")
        expect(0 < len(answer["name"]) <= 60 and answer["name"].isprintable(), f"a name accepted: {answer['name']!r}")
        project = self.consistent()
        shown = {m["id"]: m["name"] for m in project["models"]}
        expect(shown.get(FUZZ_MODEL) == answer["name"], f"the page shows another name: {shown}")
        status, headers, _ = self.send("GET", f"/api/models/{FUZZ_MODEL}/download/zip")
        disposition = headers.get("content-disposition", "")
        expect(status == 200 and disposition.isascii() and '"' not in disposition[22:-1], f"download: {disposition}")
        return "renamed"

    def consistent(self) -> dict:
        """The project as the page sees it, every clip and model checked."""
        from pac.audio import read_wav
        from pac.modeldir import read_manifest
        from pac.studio.layout import check_label_name

        root = self.studio.store.root
        status, _, body = self.send("GET", "/api/project")
        expect(status == 200, f"api/project answered {status} after an accepted change: {body[:300]!r}")
        project = json.loads(body)
        for folder in (root / "labels").iterdir():
            expect(check_label_name(folder.name) == folder.name, f"a label folder's name: {folder.name!r}")
            for path in folder.iterdir():
                expect(path.suffix == ".wav" and read_wav(path).duration > 0, f"a clip that is not one: {path}")
        for folder in (root / "models").iterdir():
            if not folder.name.startswith("."):
                read_manifest(folder)
                expect((folder / "model.json").is_file(), f"a model without model.json: {folder.name}")
        self.studio.store.settings()
        return project

    def restore(self) -> None:
        """The project as it was before the input (under the store's lock, as if edited outside the page)."""
        import shutil

        store = self.studio.store
        with store.lock:
            for sub in ("labels", "models", "tests", "exports", ".trash"):
                shutil.rmtree(store.root / sub, ignore_errors=True)
            for sub in ("labels", "models", "tests", "exports"):
                shutil.copytree(self.baseline / sub, store.root / sub, copy_function=shutil.copyfile)
            shutil.copyfile(self.baseline / "studio.json", store.root / "studio.json")
            store._changed()
        expect(folder_digest(store.root) == self.baseline_digest, "the project could not be restored")


def transfer_target(studio, empty, scratch: Path) -> Target:
    """Project files and model names for ``studio``, whose project gets three labels (one with a
    composed accent) with real clips and a model, exported through the studio's own route; some of the
    project files go to ``empty``, a studio on an empty project (which takes the file's profile)."""
    import shutil

    store = studio.store
    recordings = shared_dir() / "data" / "fsdd" / "recordings"
    wavs = [(recordings / f"{digit}_jackson_{i}.wav").read_bytes() for digit in (0, 1) for i in range(3)]
    for label, clips in (("one", wavs[:2]), ("two words", wavs[2:4]), ("\u00e9t\u00e9", wavs[4:5])):
        store.add_label(label)
        for clip in clips:
            store.add_clip(label, clip, original_name="seed.wav")
    folder = store.root / "models" / FUZZ_MODEL
    folder.mkdir()
    for name, body in model_files().items():
        (folder / name).write_bytes(body)
    store.rename_model(FUZZ_MODEL, "fuzz model")
    baselines = [scratch / "baseline", scratch / "empty-baseline"]
    for project, baseline in zip((studio, empty), baselines):
        shutil.rmtree(baseline, ignore_errors=True)
        shutil.copytree(project.store.root, baseline, ignore=shutil.ignore_patterns(".studio.lock", ".trash"))
    check = TransferCheck(studio, baselines[0], empty, baselines[1])
    status, _, whole = check.send("GET", "/api/project/export")
    expect(status == 200, f"the export answered {status}")
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    top = entries[0][0].split("/")[0]
    seed = (top, entries, wavs[5:], whole)
    return Target("transfer", lambda d: transfer_input(d, seed), check, repr)


# -- the classroom: students' projects behind their cookies ----------------------------------------------------

#: The classroom's students: the one whose cookie the requests carry, and the two whose projects they
#: must never reach (one name with letters that change under NFD and casefold).
ATTACKER, VICTIMS = "Alice", ("Bob", "Zo\u00eb Stra\u00dfe")
#: Words only the victims' projects hold (a response to the attacker must not contain them).
VICTIM_LABEL, VICTIM_MODEL_NAME, OTHER_VICTIM_LABEL = "bobsecret", "bobmodelname", "zoesecret"


@dataclass(frozen=True)
class ClassroomRequest:
    """A request to a classroom: ``teacher`` whether it carries the teacher's real cookie, ``plain``
    whether it is sent without TLS; ``keep_guesses``: the wrong codes tried before stay counted;
    ``at_limit``: as many wrong codes as are allowed were tried just before; ``code_form``: a join or
    teacher's form the server must read (POSTed to ``/join`` or ``/teacher`` with this server's Origin,
    URL-encoded UTF-8 fields, well-formed headers), so its code is tried."""

    method: str
    path: str
    headers: tuple
    body: bytes
    teacher: bool = False
    plain: bool = False
    keep_guesses: bool = False
    at_limit: bool = False
    code_form: bool = False

    def raw(self, port: int) -> bytes:
        return Request(self.method, self.path, self.headers, self.body).raw(port)


FORM_TYPE = "application/x-www-form-urlencoded"


def classroom_request(d: Draw, c: dict) -> ClassroomRequest:
    """A request to the classroom ``c`` describes (see :func:`classroom_target`): a student's studio
    under ``/s/<name>/`` (the attacker's, a victim's, names encoded, cased, decomposed or traversing)
    or a classroom page (join, teacher: their forms POSTed with codes in the body, with this server's
    Origin, another or none, of the form's type or another; codes in GET queries, which open nothing),
    with the attacker's cookie, a forged, truncated or foreign one, a validly signed one for a name that
    is no student's, or the teacher's (reads only)."""
    from urllib.parse import parse_qs, quote

    me, bob, zoe = ATTACKER, *VICTIMS
    form = None  # a form's fields, URL-encoded: the request is that form's POST
    scenario = d.integer(0, 9)
    if scenario == 0:  # the attacker's own studio, a project file into it (a hostile model, names reaching out)
        body = d.choice(c["zips"])
        headers = (("Connection", "close"), ("Content-Length", str(len(body))), ("X-Pac-Studio", "1"))
        cookie = (("Cookie", f"pac-student={c['cookies'][me]}"),)
        return ClassroomRequest("POST", f"/s/{me}/api/project/import", headers + cookie, body)
    if scenario == 1:  # the teacher reads
        path = d.choice(["/teacher", "/teacher/overview", f"/s/{bob}/api/project", f"/s/{me}/api/project"])
        headers = (("Connection", "close"), ("Cookie", f"pac-teacher={c['teacher']}"))
        return ClassroomRequest("GET", path, headers, b"", teacher=True)
    if d.integer(0, 4):
        who = d.choice(
            [quote(me)] * 6
            + [quote(bob), quote(zoe), "bob", "BOB", "%42ob", "Bob%00", "Bob%20", "Bob%2F", "..%2FBob"]
            + [f"{me}%2F..%2F{bob}", quote(unicodedata_nfd(zoe)), quote(zoe.upper()), quote(zoe.casefold())]
            + ["%ff", "", ".", "..", quote("\uff22\uff4f\uff42"), "Bob%E2%80%8B", quote(me.lower()), "alice"]
        )
        rest = d.choice(
            ["", "api/project", "api/labels", "api/labels/mine/clips", f"api/labels/mine/clips/{c['mine']}/audio"]
            + [f"api/labels/{VICTIM_LABEL}/clips/{c['clip']}/audio", f"api/labels/{VICTIM_LABEL}", "api/settings"]
            + [f"api/labels/..%2F..%2F..%2F{bob}%2Flabels%2F{VICTIM_LABEL}/clips", "api/labels/mine/rename"]
            + [f"api/models/{FUZZ_MODEL}/rename", f"api/models/{FUZZ_MODEL}/download/zip", "api/project/export"]
            + ["api/project/import", "static/studio.js", f"../{bob}/api/project", f"..%2F{bob}/api/project"]
            + [f"api/models/{FUZZ_MODEL}", "api/train", f"api/labels/mine/clips/..%2F..%2F..%2F{bob}%2Fstudio.json"]
        )
        path = f"/s/{who}" + ("" if rest == "" and d.integer(0, 5) == 0 else "/") + rest
    else:
        code = d.choice([c["code"], c["code"], " " + c["code"].upper() + " ", "000000", "", "%00", "x" * 500])
        tcode = d.choice([c["teacher_code"], c["teacher_code"].upper(), "wrong", ""])
        name = d.choice([me, bob, "bob", zoe.upper(), "New kid", "..", "Bob%2F..", "CON", "%ff", "a.b", "x" * 41])
        path = d.choice(
            [
                f"/join?code={quote(code)}&name={quote(name, safe='%')}",
                f"/teacher?code={quote(tcode)}",
                "/teacher",
                "/teacher/overview",
            ]
            + [
                "/",
                f"/?name={quote(name, safe='%')}",
                "/favicon.ico",
                "/static/studio.js",
                "/static/..%2F..%2Fclassroom.json",
            ]
            + [f"/students/{bob}/studio.json", "/classroom.json", "/tls/key.pem", "/s", "/s/", "/join"]
        )
        if d.integer(0, 5) == 0:
            path = f"/join?code={quote(d.text(8))}&name={quote(d.text(12), safe='')}"
        if d.integer(0, 2) == 0:  # a form's POST, the codes in its body (and at times in its address too)
            page = d.choice(["/join", "/teacher"])
            if page == "/join":
                fields = [("code", code), ("name", name)]
                if d.boolean():
                    fields.append(("student_code", d.choice(["0000", "", " 12 34 ", "x" * 50, "%ff"])))
            else:
                fields = [("code", tcode)]
            if d.integer(0, 4) == 0:
                fields = d.choice(
                    [
                        fields[::-1],
                        fields + [("extra", "1"), ("code", "000000")],  # a second code: the first counts
                        fields + [("x", "")] * d.integer(1, 12),  # up to too many fields
                        [("code", d.text(10)), ("name", d.text(10)), ("student_code", d.text(6))],
                        [],
                    ]
                )
            form = "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in fields).encode("ascii")
            if d.integer(0, 9) == 0:
                form = d.choice([form + b"\xff", b"code=" + d.binary(20), b"%%%&&==", form.replace(b"=", b"")])
            path = page + d.choice(
                ["", "", "", f"?code={quote(c['code'])}&name=New+kid", f"?code={quote(c['teacher_code'])}", "?"]
            )
    teacher = False
    pick = d.integer(0, 9)
    cookies = []
    forged = c["cookies"][bob].split(".")[0] + "." + c["cookies"][me].split(".")[1]  # Bob's name, Alice's signature
    if pick < 4:
        cookies.append(f"pac-student={c['cookies'][me]}")
    elif pick == 4:  # the attacker's signature on a victim's name, or a victim's cookie cut short
        token = c["cookies"][bob].split(".")[0]
        cookies.append(f"pac-student={d.choice([forged, token, token + '.'])}")
    elif pick == 5:
        value = c["cookies"][d.choice([me, bob])]
        cookies.append(
            f"pac-student={d.choice([value[: d.integer(0, len(value) - 1)], value.swapcase(), value + '=='])}"
        )
    elif pick == 6:  # signed with the classroom's secret, for a name that is not a student's folder name
        student = d.choice(["bob", "BOB", "Bob ", unicodedata_nfd(zoe), zoe.casefold(), "..", "Bob/../Alice", ""])
        cookies.append(f"pac-student={c['sign'](student)}")
    elif pick == 7:
        cookies.append(f"pac-teacher={d.choice([c['teacher'][:20], 'f' * 40, c['cookies'][me], ''])}")
    elif pick == 8 and d.choice(["GET", "HEAD"]) == "GET":
        cookies.append(f"pac-teacher={c['teacher']}")
        teacher = True
    else:
        cookies.append(
            d.choice(
                [
                    f'pac-student="{c["cookies"][me]}',
                    f"pac-student={c['cookies'][me]}; pac-student={forged}",
                    f"pac-student={c['cookies'][bob][:-1]}x; pac-student={c['cookies'][me]}",
                    "=;;;,,,",
                    "pac-student=" + "A" * 10000,
                    d.text(30).encode("utf-8", "surrogatepass").decode("latin-1"),
                ]
            )
        )
    own = f"https://127.0.0.1:{c['port']}"
    if form is not None and not teacher:
        method, body = "POST", form
        kind = d.choice([FORM_TYPE] * 6 + [FORM_TYPE + "; charset=UTF-8", "application/json", "text/plain", None])
        origin = d.choice([own] * 6 + [None, "null", "https://evil.example", f"http://127.0.0.1:{c['port']}"])
        headers = [("Connection", "close"), ("Content-Length", str(len(body)))]
        headers += [("Content-Type", kind)] if kind else []
        headers += [("Origin", origin)] if origin else []
        headers += [("X-Pac-Studio", "1")] if d.integer(0, 3) == 0 else []  # no stand-in for the Origin
        well_formed = kind in (FORM_TYPE, FORM_TYPE + "; charset=UTF-8") and origin == own
        try:
            parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=10)
        except ValueError:  # not UTF-8 (UnicodeDecodeError), too many fields
            well_formed = False
    else:
        method = "GET" if teacher else d.choice(["GET", "GET", "POST", "DELETE", "HEAD", "PUT"])
        if method == "POST":
            body = d.choice(c["bodies"])
        else:
            body = b""
        headers = [("Connection", "close"), ("Content-Length", str(len(body)))]
        if method != "GET" and d.integer(0, 7):
            headers.append(("X-Pac-Studio", "1"))
        if d.integer(0, 3) == 0:
            origin = d.choice(["https://evil.example", f"http://127.0.0.1:{c['port']}", own])
            headers.append(("Origin", origin))
            if method == "POST" and d.boolean():
                headers.append(("Content-Type", FORM_TYPE))
        well_formed = False
    headers += [("Cookie", cookie) for cookie in cookies]
    if d.integer(0, 9) == 0:
        headers.append(("Host", d.choice(["evil.example", "127.0.0.1:1", "[::1]", "a" * 200])))
        well_formed = False
    headers = tuple(headers)
    # a cookie of any bytes may break the request's head (a line break in it): then nothing is read
    well_formed = well_formed and all(value.isprintable() for _, value in headers)
    return ClassroomRequest(
        method,
        path,
        headers,
        body,
        teacher=teacher,
        plain=d.integer(0, 19) == 0,
        keep_guesses=d.integer(0, 3) == 0,
        at_limit=d.integer(0, 5) == 0,
        code_form=well_formed,
    )


class ClassroomCheck:
    """No request with another student's cookie (or none) reads or changes anything of a victim: the
    victims' folders are byte for byte as they were, no answer holds their labels', clips' or models'
    names (unless the request itself did), a 2xx under ``/s/<name>/`` only for that exact student's
    cookie or the teacher's; every answer below 500, 4xx JSON errors one line; plain HTTP is sent to
    HTTPS; a code is only ever tried from a form's POST to ``/join`` or ``/teacher`` with this server's
    Origin (any other request, codes in its address or not, sets no cookie and counts no wrong guess);
    after ``MAX_GUESSES`` wrong codes a right one is refused (429) too."""

    def __init__(self, studio, context: dict):
        from pac.studio.classroom import MAX_GUESSES, STUDENTS

        self.studio = studio
        self.classroom = studio.classroom
        self.context = context
        self.max_guesses = MAX_GUESSES
        self.folders = {name: self.classroom.root / STUDENTS / name for name in VICTIMS}
        self.digests = {name: folder_digest(folder) for name, folder in self.folders.items()}
        self.secrets = [VICTIM_LABEL, VICTIM_MODEL_NAME, OTHER_VICTIM_LABEL, context["clip"]]

    def __call__(self, request: ClassroomRequest) -> str:
        from urllib.parse import unquote

        classroom = self.classroom
        with classroom.lock:
            if not request.keep_guesses:
                classroom.guesses.clear()
            if request.at_limit:
                classroom.guesses["127.0.0.1"] = [time.monotonic()] * self.max_guesses
            guessed = len(classroom.guesses.get("127.0.0.1", []))
        answer = exchange_raw(self.studio.port, request.raw(self.studio.port), tls=not request.plain)
        with classroom.lock:
            guessed_after = len(classroom.guesses.get("127.0.0.1", []))
        try:
            status, headers, body = answer_parts(answer)
            expect(status < 500, f"status {status}: {body[:300]!r}")
            for name, folder in self.folders.items():
                expect(folder_digest(folder) == self.digests[name], f"a victim's project changed: {name}")
            if request.plain:
                expect(status == 301 and headers.get("location", "").startswith("https://"), f"plain: {status}")
                return "301"
            if not request.teacher:
                form_text = request.body.decode("latin-1")
                sent = unquote(request.path) + form_text + unquote(form_text.replace("+", " ")) + repr(request.headers)
                sent += self.attacker_holds()  # the attacker's own label or model may have a victim's word
                for secret in self.secrets:
                    expect(
                        secret in sent or secret.encode() not in answer, f"the answer holds a victim's name: {secret!r}"
                    )
            if request.path.startswith("/s/") and 200 <= status < 300 and not request.teacher:
                student = unquote(request.path[3:].split("/", 1)[0])
                carried = self.classroom.student_cookie(student) in repr(request.headers)
                expect(carried, f"a studio answered without its student's cookie: {request.path} {status}")
            json_error = status >= 400 and headers.get("content-type", "").startswith("application/json")
            if json_error and request.method != "HEAD":
                one_line_error(status, headers, body)
            own = f"https://127.0.0.1:{self.studio.port}"
            form = (
                request.method == "POST"
                and request.path.split("?")[0] in ("/join", "/teacher")
                and ("Origin", own) in request.headers
            )
            if not form:  # codes in an address (or a form from elsewhere) open nothing and are not tried
                expect("set-cookie" not in headers, f"{request.method} {request.path[:80]} set a cookie")
                expect(guessed_after <= guessed, f"{request.method} {request.path[:80]} counted a guess")
                expect(status != 429, f"{request.method} {request.path[:80]} answered 429")
            if request.method in ("GET", "HEAD") and request.path.split("?")[0] == "/join" and status < 400:
                expect(status == 303 and headers.get("location") == "/", f"GET /join answered {status}")
            if guessed >= self.max_guesses and request.code_form:
                expect(status == 429, f"a code after {guessed} wrong ones answered {status}")
            return str(status)
        finally:
            self.forget_new_students()

    def attacker_holds(self) -> str:
        """The names of the attacker's folders and files and its ``studio.json``."""
        folder = self.classroom.root / "students" / ATTACKER
        names = " ".join(path.relative_to(folder).as_posix() for path in folder.rglob("*"))
        return names + (folder / "studio.json").read_text(encoding="utf-8", errors="replace")

    def forget_new_students(self) -> None:
        """Students a join made are closed and removed (the class stays as the target made it)."""
        import shutil

        classroom = self.classroom
        for name in classroom.students():
            if name in self.context["students"]:
                continue
            with classroom.lock:
                classroom.projects.pop(name, None)
                lock = classroom.locks.pop(name, None)
                if lock is not None:
                    lock.release()
            shutil.rmtree(classroom.root / "students" / name, ignore_errors=True)


def classroom_target(studio) -> Target:
    """Requests to a running :class:`pac.studio.classroom.ClassroomStudio`: the attacker and the two
    victims join; each gets labels with a real clip, a victim a model with a display name too."""
    classroom = studio.classroom
    recordings = shared_dir() / "data" / "fsdd" / "recordings"
    clip = (recordings / "2_jackson_0.wav").read_bytes()
    ids = {}
    for name, label in ((ATTACKER, "mine"), (VICTIMS[0], VICTIM_LABEL), (VICTIMS[1], OTHER_VICTIM_LABEL)):
        store = classroom.project(classroom.join(name)).store
        store.add_label(label)
        ids[name] = store.add_clip(label, clip, original_name=f"{label}.wav")["id"]
        folder = store.root / "models" / FUZZ_MODEL
        folder.mkdir()
        for file, body in model_files().items():
            (folder / file).write_bytes(body)
        if name == VICTIMS[0]:
            store.rename_model(FUZZ_MODEL, VICTIM_MODEL_NAME)
    small = rezip([("p/studio.json", b'{"format": "pac-studio-project"}'), ("p/labels/mine/a.wav", clip)])
    hostile = rezip(
        [
            ("p/studio.json", b'{"format": "pac-studio-project"}'),
            (f"p/../{VICTIMS[0]}/labels/{VICTIM_LABEL}/x.wav", clip),
            (f"p/labels/../../../{VICTIMS[0]}/labels/{VICTIM_LABEL}/y.wav", clip),
        ]
    )
    report = json.dumps({"cross_validation": {"accuracy": "high"}, "validation": {"accuracy": [1]}}).encode()
    model = [(f"p/models/m-20261202-111111/{n}", b) for n, b in {**model_files(), "report.json": report}.items()]
    odd_model = rezip([("p/studio.json", b'{"format": "pac-studio-project"}'), *model])
    context = {
        "port": studio.port,
        "code": classroom.class_code,
        "teacher_code": classroom.teacher_code,
        "teacher": classroom.teacher_cookie(),
        "cookies": {name: classroom.student_cookie(name) for name in (ATTACKER, *VICTIMS)},
        "sign": classroom.student_cookie,
        "students": set(classroom.students()),
        "clip": ids[VICTIMS[0]],
        "mine": ids[ATTACKER],
        "bodies": [
            b"",
            b'{"name": "x"}',
            b'{"name": "bobsecret"}',
            b'{"profile": "paper"}',
            small,
            hostile,
            clip,
        ],
        "zips": [small, hostile, odd_model],
    }
    return Target("classroom", lambda d: classroom_request(d, context), ClassroomCheck(studio, context), repr)
