"""The speech front end in the classifier page (extension/js/speech.js, PacRuntime.speech) against Python.

Real headless Chromium (pac.browser.Browser) runs the page written by pac.runtime.write_assets for
a small model; PacRuntime.speech's functions get the same float64 samples as pac.features.speech
(real clips at 8, 16 and 44.1 kHz, and real speech re-sampled to 11.025, 22.05 and 48 kHz and an odd
11.111 kHz), and their outputs are compared number by number.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, fsdd
from pac import runtime
from pac.audio import read_wav
from pac.browser import Browser
from pac.features import PROFILES, FeatureConfig
from pac.features import speech as S

pytestmark = pytest.mark.slow

DEFAULT = PROFILES["default"]

# Helpers installed in the page: typed arrays travel as base64 of their little-endian bytes.
_HELPERS = """
window.__speechTest = {
  f64: (text) => {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float64Array(bytes.buffer);
  },
  b64: (typed) => {
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  },
};
"""


def encode(x: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(x, dtype="<f8").tobytes()).decode("ascii")


def decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


@pytest.fixture(scope="module")
def page(digits_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("served-speech")
    runtime.write_assets(digits_model, root / "digits", base_dir=BASE_DIR)
    with Browser(root, timeout=120) as browser:
        # Only the page's scripts matter here, not whether its model loads: wait until the start-up
        # has finished (ready or error, so that it does not compete with the timings) and speech.js is in.
        browser.open("digits/classifier.html", wait=False)
        browser.wait_call(0, timeout=90)
        assert browser.execute("return !!(window.PacRuntime && window.PacRuntime.speech);"), (
            f"speech.js did not load; console: {browser.console_text()}"
        )
        browser.execute(_HELPERS)
        yield browser


def js(page, body: str, *args):
    """Run ``body`` with ``S = PacRuntime.speech`` and ``T`` = the helpers; errors come back as text."""
    answer = page.execute(
        "const S = window.PacRuntime.speech, T = window.__speechTest;"
        "try { return {value: (() => {" + body + "})()}; } "
        "catch (e) { return {error: String(e && e.message || e)}; }",
        *args,
    )
    if "error" in answer:
        raise AssertionError("page: " + answer["error"])
    return answer["value"]


@pytest.fixture(scope="module")
def windows_at_every_rate() -> list[tuple[str, np.ndarray, int]]:
    """Real clips at their own rates plus real speech re-sampled by scipy to other rates."""
    from scipy.signal import resample_poly

    out = []
    for path in (fsdd(3, "jackson", 7), fsdd(8, "lucas", 2)):
        clip = read_wav(path)
        out.append((path.name, clip.samples, clip.rate))
    for path in (
        sorted((DATA / "speech_commands_v001" / "stop").glob("*.wav"))[0],
        sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[0],
        sorted((DATA / "arabic_speech_commands").rglob("*.wav"))[0],
        sorted((DATA / "instruments" / "guitar_acoustic").glob("*.wav"))[0],
        sorted((DATA / "instruments" / "piano").glob("*.wav"))[5],
    ):
        clip = read_wav(path)
        out.append((path.name, clip.samples, clip.rate))
    word = read_wav(sorted((DATA / "speech_commands_v001" / "seven").glob("*.wav"))[1]).samples
    for up, down, rate in ((441, 640, 11025), (441, 320, 22050), (3, 1, 48000), (11111, 16000, 11111)):
        out.append((f"seven@{rate}", np.clip(resample_poly(word, up, down), -1, 1), rate))
    assert {rate for _, _, rate in out} == {8000, 16000, 44100, 11025, 22050, 48000, 11111}
    return out


def test_the_page_has_the_front_end_constants(page):
    assert page.execute("return window.PacRuntime.constants.features.speech_front_end;") == S.FRONT_END
    assert set(page.execute("return Object.keys(window.PacRuntime.speech);")) >= {
        "resample",
        "logMel",
        "networkInput",
        "embeddingWindows",
        "speechFrames",
    }


def test_building_blocks_equal_pythons(page):
    values = [0.0, 0.5, 3.0, 8.6, 12.0]
    i0 = js(page, "return arguments[0].map((v) => S.besselI0(v, arguments[1]));", values, S.I0_TERMS)
    assert np.abs(np.array(i0) / S.bessel_i0(np.array(values)) - 1).max() <= 1e-15
    bank = js(page, "return S.melFilterbank().map((b) => ({first: b.first, weights: Array.from(b.weights)}));")
    dense = np.zeros((S.N_FFT // 2 + 1, S.N_BANDS))
    for band, entry in enumerate(bank):
        dense[entry["first"] : entry["first"] + len(entry["weights"]), band] = entry["weights"]
    assert np.array_equal(dense != 0, S.mel_filterbank() != 0)
    assert np.abs(dense - S.mel_filterbank()).max() <= 1e-16
    for n in (76, 97, 100, 101, 400):
        for hop in (8, 16, 104):
            assert (
                js(page, "return S.windowStarts(arguments[0], arguments[1]);", n, hop)
                == S.window_starts(n, hop_frames=hop).tolist()
            )
    with pytest.raises(AssertionError, match="fewer than one window"):
        js(page, "return S.windowStarts(75, 8);")
    with pytest.raises(AssertionError, match="multiple of 8"):
        js(page, "return S.windowStarts(100, 12);")
    for n, rate in ((0, 8000), (3, 32000), (12345, 44100), (44100, 11025), (999, 11111)):
        assert js(page, "return S.resampledLength(arguments[0], arguments[1], 16000);", n, rate) == S.resampled_length(
            n, rate=rate, target=16000
        )


def test_resampling_and_frames_equal_pythons_on_real_clips(page, windows_at_every_rate):
    """Measured: resampled samples within ~1e-16, dB within ~1e-12, float32 frames identical
    (or one float32 ulp where a value lies on a rounding boundary)."""
    worst_resample, worst_db, worst_frames, frames_differing, total = 0.0, 0.0, 0.0, 0, 0
    for name, x, rate in windows_at_every_rate:
        answer = js(
            page,
            """
            const x = T.f64(arguments[0]);
            const y = S.resample(x, arguments[1], 16000, arguments[2], arguments[3]);
            const db = S.logMel(S.padToWindow(y));
            const frames = S.speechFrames(x, arguments[1], arguments[4]);
            return {y: T.b64(y), db: T.b64(db), frames: T.b64(frames)};
        """,
            encode(x),
            rate,
            DEFAULT.speech_resample_zeros,
            DEFAULT.speech_resample_rolloff,
            DEFAULT.to_dict(),
        )
        y = resample_default(x, rate)
        js_y = decode(answer["y"], "<f8")
        assert js_y.shape == y.shape, name
        worst_resample = max(worst_resample, float(np.abs(js_y - y).max()))
        db = S.log_mel(S.pad_to_window(y))
        js_db = decode(answer["db"], "<f8").reshape(-1, S.N_BANDS)
        assert js_db.shape == db.shape, name
        worst_db = max(worst_db, float(np.abs(js_db - db).max()))
        frames = S.speech_frames(x, rate=rate, config=DEFAULT)
        js_frames = decode(answer["frames"], "<f4").reshape(-1, S.WINDOW_FRAMES, S.N_BANDS)
        assert js_frames.shape == frames.shape, name
        worst_frames = max(worst_frames, float(np.abs(js_frames - frames).max()))
        frames_differing += int(np.count_nonzero(js_frames != frames))
        total += frames.size
    print(
        f"\nJS vs Python on {len(windows_at_every_rate)} clips: resample max |diff| {worst_resample:.1e}, "
        f"log-mel max |diff| {worst_db:.1e} dB, float32 frames max |diff| {worst_frames:.1e} "
        f"({frames_differing} of {total} values differ)"
    )
    assert worst_resample <= 1e-12
    assert worst_db <= 1e-9
    assert worst_frames <= 5e-7  # one float32 ulp at |value| < 4
    assert frames_differing <= total // 10000


def resample_default(x, rate):
    return S.resample(x, rate=rate, zeros=DEFAULT.speech_resample_zeros, rolloff=DEFAULT.speech_resample_rolloff)


def test_short_and_configured_windows_equal_pythons(page):
    """A 0.3 s window (padded to one 76-frame window), the smallest inputs, and non-default
    speech_* fields."""
    x = read_wav(fsdd(0, "george", 0)).samples[:2400]
    config = FeatureConfig(speech_resample_zeros=6, speech_resample_rolloff=0.9, speech_hop_frames=16)
    for samples, rate, cfg in (
        (x, 8000, DEFAULT),
        (x, 8000, config),
        (np.zeros(0), 44100, DEFAULT),
        (np.array([0.25]), 16000, DEFAULT),
    ):
        text = js(
            page,
            "return T.b64(S.speechFrames(T.f64(arguments[0]), arguments[1], arguments[2]));",
            encode(samples),
            rate,
            cfg.to_dict(),
        )
        js_frames = decode(text, "<f4").reshape(-1, S.WINDOW_FRAMES, S.N_BANDS)
        frames = S.speech_frames(samples, rate=rate, config=cfg)
        assert js_frames.shape == frames.shape
        assert np.abs(js_frames - frames).max() <= 5e-7
        text = js(
            page,
            "return T.b64(S.speechSequence(T.f64(arguments[0]), arguments[1], arguments[2]));",
            encode(samples),
            rate,
            cfg.to_dict(),
        )
        js_sequence = decode(text, "<f4").reshape(-1, S.N_BANDS)
        assert np.abs(js_sequence - S.speech_sequence(samples, rate=rate, config=cfg)).max() <= 5e-7
    text = js(page, "return T.b64(S.logMel(T.f64(arguments[0])));", encode(x[:300]))
    assert np.abs(decode(text, "<f8") - S.log_mel(x[:300]).ravel()).max() <= 1e-9
    windows = js(
        page,
        "return Array.from(S.embeddingWindows(Float32Array.from({length: 101 * 32}, (_, i) => i), 8)"
        ".filter((_, i) => i % (76 * 32) === 0));",
    )
    assert windows == [0, 8 * 32, 16 * 32, 24 * 32]


def test_speed_in_chromium(page):
    """speechFrames of a 1 s window (kernel tables already built): measured ~2-4 ms at 44.1 kHz."""
    note = read_wav(sorted((DATA / "instruments" / "cello").glob("*.wav"))[0])
    timings = {}
    for rate, x in (
        (44100, note.samples[:44100]),
        (16000, np.zeros(16000) + note.samples[:16000]),
        (8000, read_wav(fsdd(2, "nicolas", 4)).samples),
    ):
        ms = js(
            page,
            """
            const x = T.f64(arguments[0]);
            S.speechFrames(x, arguments[1], arguments[2]);
            const times = [];
            for (let i = 0; i < 7; i++) {
              const t0 = performance.now();
              S.speechFrames(x, arguments[1], arguments[2]);
              times.push(performance.now() - t0);
            }
            times.sort((a, b) => a - b);
            return times[3];
        """,
            encode(x),
            rate,
            DEFAULT.to_dict(),
        )
        timings[rate] = (ms, len(x) / rate)
    print(
        "\nspeechFrames in Chromium (median of 7): "
        + ", ".join(f"{rate} Hz {seconds:.2f} s: {ms:.1f} ms" for rate, (ms, seconds) in timings.items())
    )
    assert timings[44100][0] < 50


def test_the_page_refuses_speech_fields_python_refuses(page):
    """validateConfig checks the speech_* fields with pac.features.config's words."""
    from pac.errors import PacError

    for field, value in (
        ("speech_resample_zeros", 0),
        ("speech_resample_zeros", 65),
        ("speech_resample_rolloff", 0),
        ("speech_resample_rolloff", 1.5),
        ("speech_hop_frames", 12),
        ("speech_hop_frames", 0),
        ("n_frames", 100000000),
        ("input_scale", 1e-9),
        ("f_max", 1e8),
        ("db_range", 0.5),
        ("active_db", 1234.5),
    ):
        with pytest.raises(PacError) as refused:
            FeatureConfig.from_dict({field: value}, source="pac.json features")
        message = js(
            page,
            """
            try { PacRuntime.features.validateConfig(arguments[0], 'pac.json features'); return null; }
            catch (e) { return e.message; }""",
            {field: value},
        )
        assert message == str(refused.value), (field, value, message)
    assert js(page, "return PacRuntime.features.validateConfig({speech_hop_frames: 16}, 'x').speech_hop_frames;") == 16
