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
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(request.raw(port))
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered (and closed) before the body was sent: read that answer
            pass
        answer = b""
        while chunk_ := connection.recv(65536):
            answer += chunk_
    return answer


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
