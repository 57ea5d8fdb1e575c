"""The JS classifier page in real headless Chromium with real TensorFlow.js, against pac in Python.

One browser for the whole module (pac.browser.Browser); each asset folder written by
pac.runtime.write_assets sits in a sub-folder of one served root.  The models: the product default
(a linear head on the blocks the cross-validation kept), a linear head on both blocks, PAC's conv
head (format 1), and linear heads on the speech block and on the mobilenet block alone.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, SPEECH_DIR, fsdd
from pac import runtime
from pac.audio import check_classifiable, decode_wav, read_wav
from pac.browser import Browser
from pac.errors import PacError
from pac.features.config import PROFILES, band_for_rates
from pac.limits import LIMITS
from pac.verify import page_constants

pytestmark = pytest.mark.slow

ERRORS = {e["name"]: e["code"] for e in runtime.read_bridge()["errors"]}
TOL = 1e-4
HOSTILE_LABELS = [
    "</script><script>window.PWNED=1</script>",
    "<img src=x onerror=window.PWNED=1>",
    "quote \" and 'single'",
    "back\\slash \\u0041 \\n",
    "<!-- not a comment",
    "line\u2028separator\u2029",
    "emoji 🎤🐶👍🏽",
    "Ünïcødé 日本語 עברית Ελληνικά",
]


# -- clips ---------------------------------------------------------------------------------------


def wav_bytes(samples: np.ndarray, rate: int, *, encoding: str, extra_chunk: bool = False) -> bytes:
    """A WAV file: samples (frames, channels) in [-1, 1] as 'pcm8', 'pcm16', 'pcm24' or 'float32ext'."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float64).T).T
    frames, channels = samples.shape
    if encoding == "pcm8":
        body, tag, bits = np.clip(np.round(samples * 127 + 128), 0, 255).astype("u1").tobytes(), 1, 8
    elif encoding == "pcm16":
        body, tag, bits = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes(), 1, 16
    elif encoding == "pcm24":
        ints = np.clip(np.round(samples * 8388607), -8388608, 8388607).astype("<i4").reshape(-1)
        body = ints.view("u1").reshape(-1, 4)[:, :3].tobytes()
        tag, bits = 1, 24
    elif encoding == "float32ext":
        body, tag, bits = samples.astype("<f4").tobytes(), 0xFFFE, 32
    else:
        raise ValueError(encoding)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    if tag == 0xFFFE:
        guid = struct.pack("<IHH", 3, 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")
        fmt += struct.pack("<HHI", 22, bits, 0) + guid
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:  # an odd-sized chunk before the data: exercises the pad byte
        chunks += b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"
    chunks += b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def read_samples(path: Path):
    audio = decode_wav(path.read_bytes(), name=str(path))
    return audio.samples, audio.rate


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory) -> Path:
    """Real recordings re-encoded: 44.1 kHz stereo 24-bit, 48 kHz float extensible, 11.025 kHz 8-bit."""
    from scipy.signal import resample_poly

    out = tmp_path_factory.mktemp("generated")
    x, rate = read_samples(
        DATA
        / "speech_commands_v001"
        / "stop"
        / sorted(p.name for p in (DATA / "speech_commands_v001" / "stop").glob("*.wav"))[0]
    )
    assert rate == 16000
    hi = resample_poly(x, 441, 160)
    stereo = np.stack([0.8 * hi, 0.5 * np.roll(hi, 30)], axis=1)
    (out / "stop_44k_stereo_24bit.wav").write_bytes(wav_bytes(stereo, 44100, encoding="pcm24", extra_chunk=True))
    y, _ = read_samples(fsdd(7, "jackson", 3))
    (out / "seven_48k_float_ext.wav").write_bytes(wav_bytes(resample_poly(y, 6, 1), 48000, encoding="float32ext"))
    z, _ = read_samples(fsdd(1, "lucas", 2))
    (out / "one_11k_8bit.wav").write_bytes(wav_bytes(resample_poly(z, 441, 320), 11025, encoding="pcm8"))
    # 0.25 s of a word at 22.05 kHz: shorter than one speech window (0.78 s) and than the 1 s image window
    w, _ = read_samples(fsdd(9, "jackson", 1))
    loudest = int(np.argmax(np.abs(w)))
    piece = resample_poly(w[max(0, loudest - 1000) : loudest + 1000], 441, 160)
    (out / "nine_22k_short.wav").write_bytes(wav_bytes(piece, 22050, encoding="pcm16"))
    return out


@pytest.fixture(scope="module")
def parity_clips(digits_test_dir, generated_dir) -> list[Path]:
    """23 FSDD test clips (every other one; 8 kHz, under 1 s), 12 Speech Commands (16 kHz, 1 s), 4 RAVDESS
    (16 kHz, 3.5 s), 4 re-encoded (44.1 kHz, 48 kHz, 11.025 kHz, and 0.25 s at 22.05 kHz)."""
    clips = sorted(digits_test_dir.rglob("*.wav"))[::2]
    for word in ("on", "off", "stop", "yes"):
        clips += sorted((DATA / "speech_commands_v001" / word).glob("*.wav"))[:3]
    clips += sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[:2]
    clips += sorted((DATA / "ravdess" / "Actor_02").glob("*.wav"))[:2]
    clips += sorted(generated_dir.glob("*.wav"))
    return clips


# -- models and asset folders ---------------------------------------------------------------------


def random_head(manifest, n_labels: int, seed: int):
    """An untrained head of the manifest's kind: PAC's conv head, or one softmax layer on its blocks."""
    from pac.head import build_head
    from pac.tfjs_head import Layer, keras_head

    if manifest.head_kind == "conv":
        return build_head(n_labels, seed=seed)
    (d,) = manifest.head_input_shape
    rng = np.random.default_rng(seed)
    layer = Layer(
        "dense",
        activation="softmax",
        use_bias=True,
        units=n_labels,
        weights=[
            (rng.standard_normal((d, n_labels)) * 0.05).astype(np.float32),
            rng.standard_normal(n_labels).astype(np.float32),
        ],
    )
    return keras_head([layer], input_shape=(d,))


def hostile_model(digits_model: Path, out: Path) -> Path:
    """The digits model's files with a new random head for :data:`HOSTILE_LABELS`."""
    from pac.modeldir import read_manifest, write_head

    shutil.copytree(digits_model, out)
    for name in ("model.json", "group1-shard1of1.bin"):
        (out / name).unlink()
    write_head(random_head(read_manifest(digits_model), len(HOSTILE_LABELS), seed=3), out)
    manifest = json.loads((out / "pac.json").read_text(encoding="utf-8"))
    manifest["labels"] = HOSTILE_LABELS
    (out / "pac.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def paper_model(digits_model: Path, out: Path) -> Path:
    """The digits model with the ``paper`` feature profile in its pac.json (a model swapped at run time)."""
    shutil.copytree(digits_model, out)
    manifest = json.loads((out / "pac.json").read_text(encoding="utf-8"))
    manifest["features"] = PROFILES["paper"].to_dict()
    (out / "pac.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


#: Pages of the served root with a model written by write_assets: page -> model (see :func:`models`).
MODEL_PAGES = ("digits", "both", "rows", "conv", "speech", "mobilenet")


def swap_model(page: Path, model: Path) -> None:
    """Replace the page's model/ entries with another model's (as the Model property does at run time)."""
    for old in (page / "model").iterdir():
        old.unlink()
    for name in ("pac.json", "model.json", "group1-shard1of1.bin"):
        shutil.copy(model / name, page / "model" / name)


@pytest.fixture(scope="module")
def models(
    digits_model,
    both_blocks_model,
    rows_model,
    conv_model,
    speech_model,
    mobilenet_linear_model,
    legacy_model,
    tmp_path_factory,
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("js-models")
    return {
        "digits": digits_model,
        "both": both_blocks_model,
        "rows": rows_model,
        "conv": conv_model,
        "speech": speech_model,
        "legacy": legacy_model,
        "mobilenet": mobilenet_linear_model,
        "hostile": hostile_model(digits_model, root / "hostile"),
        "paper": paper_model(digits_model, root / "paper"),
    }


@pytest.fixture(scope="module")
def served(models, tmp_path_factory) -> Path:
    """One served root: a page per model of :data:`MODEL_PAGES`, hostile/, hostile-fallback/ (no
    model/pac.json), broken/ (bad head), swapped/ (the digits page with the paper model's pac.json
    dropped into model/), conv-given-speech/ and speech-given-conv/ (a page given a model at run time
    that runs a network the page does not ship)."""
    root = tmp_path_factory.mktemp("served")
    for page in MODEL_PAGES:
        runtime.write_assets(models[page], root / page, base_dir=BASE_DIR)
    runtime.write_assets(models["hostile"], root / "hostile", base_dir=BASE_DIR)
    runtime.write_assets(models["legacy"], root / "legacy", base_dir=BASE_DIR)
    shutil.copytree(root / "digits", root / "swapped")
    shutil.copy(models["paper"] / "pac.json", root / "swapped" / "model" / "pac.json")
    shutil.copytree(root / "hostile", root / "hostile-fallback")
    (root / "hostile-fallback" / "model" / "pac.json").unlink()
    shutil.copytree(root / "digits", root / "broken")
    (root / "broken" / "model" / "model.json").write_text("{not json", encoding="utf-8")
    shutil.copytree(root / "digits", root / "unsupported")
    manifest = json.loads((models["digits"] / "pac.json").read_text(encoding="utf-8"))
    manifest["features"]["method"] = "not-a-method"  # a feature method the page does not compute
    (root / "unsupported" / "model" / "pac.json").write_text(json.dumps(manifest), encoding="utf-8")
    shutil.copytree(root / "conv", root / "conv-given-speech")
    swap_model(root / "conv-given-speech", models["speech"])
    shutil.copytree(root / "speech", root / "speech-given-conv")
    swap_model(root / "speech-given-conv", models["conv"])
    return root


@pytest.fixture(scope="module")
def browser(served):
    with Browser(served, timeout=120) as b:
        yield b


@pytest.fixture(scope="module")
def python_classifiers(models):
    """pac's Python classifier of each model page (built when first asked for)."""
    from pac.classifier import Classifier

    built = {}

    def get(page: str):
        if page not in built:
            built[page] = Classifier(models[page], base=BASE_DIR)
        return built[page]

    return get


@pytest.fixture(scope="module")
def python_classifier(python_classifiers):
    return python_classifiers("digits")


def open_page(browser, page: str, **kwargs):
    browser.current = None
    labels = browser.open(f"{page}/classifier.html", **kwargs)
    browser.current = (page, kwargs.get("backend"))
    return labels


@pytest.fixture
def digits_page(browser, models):
    """The digits page on the default backend, opened once and reused."""
    if getattr(browser, "current", None) != ("digits", None):
        open_page(browser, "digits")
    return browser


def result_of(call) -> list:
    assert call["method"] == "reportResult", call
    assert "bad" not in call
    result = json.loads(call["args"][0])
    return result


def check_format(result, labels):
    """The GotClassification format: [[label, confidence], ...], every label once, most confident first."""
    assert sorted(r[0] for r in result) == sorted(labels)
    assert all(isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) for r in result)
    assert all(isinstance(r[1], (int, float)) and not isinstance(r[1], bool) for r in result)
    confidences = [r[1] for r in result]
    assert confidences == sorted(confidences, reverse=True)
    assert abs(sum(confidences) - 1.0) < 1e-4


def max_diff(js_result, py_result) -> float:
    py = dict(py_result)
    return max(abs(conf - py[label]) for label, conf in js_result)


# -- start-up ---------------------------------------------------------------------------------------


def test_classify_before_ready_reports_not_ready_then_ready_fires_once(browser, models):
    open_page(browser, "digits", wait=False)
    data = fsdd(1, "george", 7).read_bytes()
    browser.execute("window.pac.classifyWav(arguments[0]);", base64.b64encode(data).decode("ascii"))
    first = browser.wait_call(0, timeout=60)
    assert first["method"] == "error" and first["args"][0] == ERRORS["NOT_READY"]
    assert "not ready" in first["args"][1]
    ready = browser.wait_call(1, timeout=120)
    assert ready["method"] == "ready"
    assert json.loads(ready["args"][0]) == ["nine", "one", "seven"]
    result = result_of(browser.classify_wav(data))
    check_format(result, ["nine", "one", "seven"])
    assert [c["method"] for c in browser.calls()].count("ready") == 1
    assert browser.info()["state"] == "ready"


NETWORK_FILES = {"mobilenet": {"mobilenet/model.json"}, "speech": {"speech/graph.json", "speech/weights.bin"}}


@pytest.mark.parametrize("page", ["digits", "conv", "speech", "mobilenet", "rows"])
def test_page_requests_only_documented_relative_paths(browser, served, models, page):
    """The page asks for the files written for it and no others; they include exactly the networks
    its model runs (the folder holds no other network)."""
    from pac.modeldir import read_manifest

    open_page(browser, page)
    written = {p.relative_to(served / page).as_posix() for p in (served / page).rglob("*") if p.is_file()}
    asked = {re.sub(r"\?.*$", "", p).lstrip("/") for p in browser.requested() if p.startswith(f"/{page}/")}
    asked = {p[len(page) + 1 :] for p in asked}
    assert asked <= written, asked - written
    networks = runtime.networks_of(read_manifest(models[page]))
    assert sorted(browser.info()["networks"]) == sorted(networks)
    wanted = set().union(*(NETWORK_FILES[n] for n in networks))
    assert {"classifier.html", "model/pac.json", "model/model.json", *wanted} <= asked
    for network, folder in (("mobilenet", "mobilenet/"), ("speech", "speech/")):
        assert any(p.startswith(folder) for p in written) == (network in networks), (page, network)
    html = (served / page / "classifier.html").read_text(encoding="utf-8")
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url == "data:," or ("://" not in url and not url.startswith("/")), url
    for script in (served / page / "js").glob("*.js"):
        assert not re.search(r"https?://", script.read_text(encoding="utf-8")), script


# -- parity with Python ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["digits", "both", "rows", "conv"])
def test_parity_with_python_on_real_clips(browser, models, python_classifiers, parity_clips, page):
    """The default model, linear heads on both blocks and on speech + MobileNet's frequency rows, and
    PAC's conv head, on the wasm backend:
    the same probabilities as pac in Python on clips of every rate and length, the same images."""
    from pac.features.pipeline import clip_image, load_clip
    from pac.modeldir import read_manifest

    python_classifier = python_classifiers(page)
    open_page(browser, page, backend="wasm")
    info = browser.info()
    manifest = read_manifest(models[page])
    assert info["backend"] == "wasm" and info["features"] == manifest.features.to_dict()
    assert manifest.features == band_for_rates(PROFILES["default"], [8000])  # trained on FSDD's 8 kHz clips
    assert info["head"] == manifest.head_kind and info["blocks"] == list(manifest.blocks)
    assert info["base"] == ("fused" if "mobilenet" in runtime.networks_of(manifest) else None)
    assert info["speech"] == ("uint8" if "speech" in manifest.blocks else None)
    expected = python_classifier.classify_files(parity_clips)
    tensors = info["tensors"]
    worst, differing_pixels, worst_pixel = {}, 0, 0
    for path, py_result in zip(parity_clips, expected):
        data = path.read_bytes()
        js_result = result_of(browser.classify_wav(data))
        check_format(js_result, python_classifier.labels)
        assert js_result[0][0] == py_result[0][0], (path, js_result, py_result)
        clip = read_wav(path)
        key = (clip.rate, len(clip.samples) < clip.rate)
        worst[key] = max(worst.get(key, 0.0), max_diff(js_result, py_result))
        times = browser.info()["timings"]["last_clip"]
        parts = {"conv": {"mobilenet_ms"}}.get(page, {f"{b}_ms" for b in manifest.blocks})
        assert set(times) == {"window_ms", "head_ms", "total_ms", *parts}, times
        assert all(t >= 0 for t in times.values()) and times["total_ms"] >= sum(times[k] for k in parts)
        py_image = clip_image(load_clip(path, python_classifier.config), python_classifier.config)
        diff = np.abs(browser.debug_image(data).astype(int) - py_image.astype(int))
        differing_pixels += int(np.count_nonzero(diff.max(axis=2)))
        worst_pixel = max(worst_pixel, int(diff.max()))
    by_rate = ", ".join(f"{rate} Hz{' (< 1 s)' if short else ''} {d:.1e}" for (rate, short), d in sorted(worst.items()))
    print(
        f"\n{page} ({'+'.join(manifest.blocks) or 'conv'}): JS vs Python on {len(parity_clips)} clips, "
        f"max |prob diff| {max(worst.values()):.2e} ({by_rate}); {differing_pixels} image pixels differ "
        f"(max {worst_pixel} level)"
    )
    assert len(parity_clips) >= 40
    assert {8000, 16000, 44100, 48000} <= {rate for rate, _ in worst}
    assert any(short for _, short in worst)
    assert browser.info()["tensors"] == tensors  # nothing leaks per clip
    assert max(worst.values()) <= TOL
    # float64 in both; only ulp-level differences (FFT, BLAS order) could ever move a pixel by 1.
    assert worst_pixel <= 1
    assert differing_pixels <= len(parity_clips) * 224 * 224 // 10000


def test_a_model_made_before_the_speech_block_runs_the_same(browser, digits_test_dir):
    """A format-1 model whose pac.json predates the speech_* feature fields: same answers as the same
    model written today."""
    clips = sorted(digits_test_dir.rglob("*.wav"))[::9]
    answers = {}
    for page in ("legacy", "conv"):
        open_page(browser, page, backend="wasm")
        answers[page] = [result_of(browser.classify_wav(p.read_bytes())) for p in clips]
    assert answers["legacy"] == answers["conv"]


def test_classify_pcm_matches_python(digits_page, python_classifier):
    from pac.audio import Audio

    for path in (
        fsdd(9, "george", 12),
        DATA / "ravdess" / "Actor_01" / sorted(p.name for p in (DATA / "ravdess" / "Actor_01").glob("*.wav"))[-1],
    ):
        samples, rate = read_samples(path)
        as_float32 = samples.astype(np.float32).astype(np.float64)
        clip = Audio(samples=as_float32, rate=rate, channels=1, source=str(path))
        from pac.classifier import ranked

        py_result = ranked(python_classifier.labels, python_classifier.probabilities([clip])[0])
        js_result = result_of(digits_page.classify_pcm(samples, rate))
        check_format(js_result, python_classifier.labels)
        assert js_result[0][0] == py_result[0][0]
        assert max_diff(js_result, py_result) <= TOL


def test_window_rules_match_python(digits_page):
    from pac.features import functional as F
    from pac.features.config import WINDOW_SELECTS

    rng = np.random.default_rng(3)
    long_clip, rate = read_samples(
        DATA / "ravdess" / "Actor_01" / sorted(p.name for p in (DATA / "ravdess" / "Actor_01").glob("*.wav"))[0]
    )
    burst = np.full(30000, 1e-4)
    burst[21000:23000] = rng.standard_normal(2000)
    signals = [
        (long_clip, rate),
        (burst, 16000),
        (np.zeros(20000), 16000),
        (burst[:9000] + 1e-3, 8000),
        (rng.standard_normal(16001), 16000),
        (rng.standard_normal(4000), 16000),
        (burst, 11025),
    ]
    fixed = [s for s in WINDOW_SELECTS if s != "active"]
    for x, rate in signals:
        for length in (rate, int(1.5 * rate), len(x), len(x) + 1):
            got = digits_page.execute(
                "const f = window.PacRuntime.features, x = Float64Array.from(arguments[0]);"
                "return [arguments[3].map((s) => f.windowStart(x, arguments[1], arguments[2], s)),"
                "        [10, 30, 60].map((db) =>"
                "          f.activeWindow(x, arguments[1], arguments[2], 2 * arguments[2], db))];",
                x.tolist(),
                rate,
                length,
                fixed,
            )
            assert got[0] == [F.window_start(x, rate=rate, length=length, select=s) for s in fixed], (length, rate)
            assert got[1] == [
                list(F.active_window(x, rate=rate, min_length=length, max_length=2 * length, below_peak_db=db))
                for db in (10, 30, 60)
            ], (length, rate)


@pytest.mark.parametrize(("backend", "base"), [("cpu", None), ("webgl", None), ("wasm", "layers")])
def test_other_backends_agree(browser, python_classifiers, backend, base):
    """Both networks (the linear head on both blocks) on the other backends, and MobileNet as layers."""
    python_classifier = python_classifiers("both")
    try:
        open_page(browser, "both", backend=backend, query={"base": base} if base else None)
    except PacError as exc:
        if backend == "webgl" and "no TensorFlow.js backend could start" in str(exc):
            pytest.skip("WebGL is not available in this headless Chromium")
        raise
    assert browser.info()["backend"] == backend
    assert browser.info()["base"] == (base or "fused")
    clips = [fsdd(1, "george", 9), fsdd(7, "george", 15), fsdd(9, "george", 19)]
    for path, py_result in zip(clips, python_classifier.classify_files(clips)):
        js_result = result_of(browser.classify_wav(path.read_bytes()))
        assert js_result[0][0] == py_result[0][0]
        assert max_diff(js_result, py_result) <= TOL


def test_features_come_from_the_run_time_manifest(browser, models, generated_dir):
    """A page whose model/pac.json was swapped uses that file's features (here the paper profile)."""
    from pac.classifier import Classifier
    from pac.features.pipeline import clip_image, load_clip

    open_page(browser, "swapped")
    assert browser.info()["features"] == PROFILES["paper"].to_dict()
    classifier = Classifier(models["paper"], base=BASE_DIR)
    clips = [
        fsdd(1, "george", 8),
        fsdd(9, "jackson", 4),
        DATA / "ravdess" / "Actor_02" / sorted(p.name for p in (DATA / "ravdess" / "Actor_02").glob("*.wav"))[0],
        *sorted(generated_dir.glob("*.wav")),
    ]
    for path, py_result in zip(clips, classifier.classify_files(clips)):
        data = path.read_bytes()
        js_result = result_of(browser.classify_wav(data))
        assert js_result[0][0] == py_result[0][0]
        assert max_diff(js_result, py_result) <= TOL
        py_image = clip_image(load_clip(path, classifier.config), classifier.config)
        assert np.abs(browser.debug_image(data).astype(int) - py_image.astype(int)).max() <= 1


# -- bad input ---------------------------------------------------------------------------------------


def _python_message(data: bytes) -> str:
    """What pac says about the same bytes, named 'clip' like the page names them."""
    config = PROFILES["default"]
    try:
        check_classifiable(
            decode_wav(data, name="clip"), min_duration=config.min_duration, silence_dbfs=config.silence_dbfs
        )
    except PacError as exc:
        return str(exc)
    raise AssertionError("Python accepted the clip")


def _bad_clips() -> list[tuple[str, bytes, str]]:
    good = fsdd(1, "george", 5).read_bytes()
    rng = np.random.default_rng(0)
    noise = 0.3 * rng.standard_normal(400)
    mulaw = bytearray(wav_bytes(np.zeros(800), 8000, encoding="pcm8"))
    mulaw[20:22] = struct.pack("<H", 7)
    return [
        ("mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(200), "NOT_WAV"),
        ("ogg", b"OggS\x00\x02" + bytes(100), "NOT_WAV"),
        ("3gp", b"\x00\x00\x00\x18ftyp3gp4" + bytes(100), "NOT_WAV"),
        ("html", b"\xef\xbb\xbf \n<!DOCTYPE html><html><body>404</body></html>", "NOT_WAV"),
        ("text", b"hello, world", "NOT_WAV"),
        ("empty", b"", "EMPTY_AUDIO"),
        ("riff-header-cut", b"RIFF\x10\x00", "UNSUPPORTED_WAV"),
        ("fmt-cut", good[:30], "UNSUPPORTED_WAV"),
        ("data-cut", good[: len(good) // 2], "UNSUPPORTED_WAV"),
        ("mu-law", bytes(mulaw), "UNSUPPORTED_WAV"),
        ("no-samples", wav_bytes(np.zeros((0, 1)), 8000, encoding="pcm16"), "EMPTY_AUDIO"),
        ("silent", wav_bytes(np.zeros(16000), 16000, encoding="pcm16"), "SILENT_AUDIO"),
        ("too-short", wav_bytes(noise, 8000, encoding="pcm16"), "TOO_SHORT"),
    ]


def test_bad_audio_reports_documented_errors_with_pacs_messages(digits_page):
    for name, data, kind in _bad_clips():
        before = len(digits_page.calls())
        call = digits_page.classify_wav(data)
        assert call["method"] == "error", (name, call)
        code, message = call["args"]
        expected = _python_message(data)
        assert code == ERRORS[kind], (name, code, message)
        assert message == expected, name
        assert "\n" not in message
        assert len(digits_page.calls()) == before + 1
    # The page is still healthy afterwards.
    check_format(result_of(digits_page.classify_wav(fsdd(7, "george", 6).read_bytes())), ["nine", "one", "seven"])


def test_a_clip_over_the_size_limit_is_refused_before_it_is_decoded(digits_page):
    """Text long enough to stand for more than pac.limits' wav_max_bytes is refused by its length, in pac's
    words for a WAV that large, before any decoding (it is not even base64, which decoding would report).
    The page builds the text itself, so no 45 MB crosses the test's connection."""
    limit = LIMITS.wav_max_bytes
    chars = 4 * (limit // 3 + 1)  # (limit // 3 + 1) * 3 bytes: just over the limit
    call = digits_page._submit("window.pac.classifyWav('!'.repeat(arguments[0]));", chars)
    assert call["method"] == "error", call
    n = chars // 4 * 3
    with pytest.raises(PacError) as python:
        decode_wav(bytes(n), name="clip")
    assert call["args"] == [ERRORS["UNSUPPORTED_WAV"], str(python.value)]
    call = digits_page._submit("window.pac.classifyPcm('!'.repeat(arguments[0]), 16000);", chars)
    assert call["args"] == [
        ERRORS["CLASSIFICATION_FAILED"],
        f"the PCM clip: is {n:,d} bytes, larger than the {limit:,d}-byte limit for a PCM clip",
    ], call
    check_format(result_of(digits_page.classify_wav(fsdd(7, "george", 6).read_bytes())), ["nine", "one", "seven"])


def test_malformed_calls_and_uncaught_errors_report_code_8(digits_page):
    call = digits_page._submit("window.pac.classifyWav('not base64 !!!');")
    assert call["method"] == "error" and call["args"][0] == ERRORS["CLASSIFICATION_FAILED"]
    call = digits_page._submit("window.pac.classifyWav(null);")
    assert call["args"][0] == ERRORS["CLASSIFICATION_FAILED"]
    call = digits_page._submit("window.pac.classifyPcm(btoa('abc'), 16000);")
    assert call["args"][0] == ERRORS["CLASSIFICATION_FAILED"] and "float32" in call["args"][1]
    call = digits_page._submit("window.pac.classifyPcm('', 0);")
    assert call["args"][0] == ERRORS["CLASSIFICATION_FAILED"] and "sampleRate" in call["args"][1]
    call = digits_page.classify_pcm(np.zeros(0), 16000)
    assert call["args"][0] == ERRORS["EMPTY_AUDIO"]
    # An error thrown by page code (an inline script, so that the browser does not mute its message).
    call = digits_page._submit(
        "const s = document.createElement('script');"
        "s.textContent = 'setTimeout(function () { throw new Error(\"boom\"); }, 0);';"
        "document.body.appendChild(s);"
    )
    assert call["args"][0] == ERRORS["CLASSIFICATION_FAILED"] and "boom" in call["args"][1]
    call = digits_page._submit(
        "const s = document.createElement('script');"
        "s.textContent = 'Promise.reject(new Error(\"lost promise\"));';"
        "document.body.appendChild(s);"
    )
    assert call["args"][0] == ERRORS["CLASSIFICATION_FAILED"] and "lost promise" in call["args"][1]
    check_format(result_of(digits_page.classify_wav(fsdd(9, "george", 6).read_bytes())), ["nine", "one", "seven"])


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ("broken", "model/model.json"),
        ("unsupported", "method"),
        (
            "conv-given-speech",
            "needs the speech embedding network (speech/graph.json), which this extension does not include",
        ),
        ("speech-given-conv", "needs the MobileNet base (mobilenet/model.json), which this extension does not include"),
    ],
)
def test_model_that_fails_to_load_reports_code_2_then_not_ready(browser, page, says):
    open_page(browser, page, wait=False)
    call = browser.wait_call(0, timeout=60)
    assert call["method"] == "error" and call["args"][0] == ERRORS["MODEL_LOAD_FAILED"]
    assert says in call["args"][1]
    call = browser.classify_wav(fsdd(1, "george", 5).read_bytes())
    assert call["args"][0] == ERRORS["NOT_READY"] and "failed to load" in call["args"][1]
    assert not any(c["method"] == "ready" for c in browser.calls())


def _bad_linear_manifests(both: dict, speech: dict) -> dict[str, dict]:
    """Format-2 manifests pac.modeldir.read_manifest refuses, by what is wrong."""

    def changed(manifest, change):
        manifest = json.loads(json.dumps(manifest))
        change(manifest)
        return manifest

    return {
        "kind": changed(speech, lambda m: m["head"].update(kind="conv")),
        "no blocks": changed(speech, lambda m: m["head"].update(blocks=[])),
        "order": changed(both, lambda m: m["head"]["blocks"].reverse()),
        "twice": changed(speech, lambda m: m["head"].update(blocks=m["head"]["blocks"] * 2, input_shape=[384])),
        "unknown": changed(speech, lambda m: m["head"]["blocks"][0].update(name="vggish")),
        "size": changed(speech, lambda m: m["head"]["blocks"][0].update(size=96)),
        "input": changed(both, lambda m: m["head"].update(input_shape=[192])),
        "speech base": changed(speech, lambda m: m.pop("speech_base")),
        "speech weights": changed(speech, lambda m: m["speech_base"].update(weights="int4")),
        "compat": changed(speech, lambda m: m.update(features=PROFILES["pac-compat"].to_dict())),
    }


def test_manifest_checks_match_python(browser, served, models, tmp_path):
    """The page refuses every format-2 manifest pac refuses, with pac's words (error 2); a valid one
    whose features cannot analyse 16 kHz audio still starts (the networks are warmed up on zeros)."""
    from pac.modeldir import read_manifest

    page = served / "manifests"
    if not page.exists():
        shutil.copytree(served / "both", page)
    both = json.loads((models["both"] / "pac.json").read_text(encoding="utf-8"))
    speech = json.loads((models["speech"] / "pac.json").read_text(encoding="utf-8"))
    for name, manifest in _bad_linear_manifests(both, speech).items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "pac.json").write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(PacError) as refused:
            read_manifest(folder)
        expected = str(refused.value).split(": ", 1)[1]
        (page / "model" / "pac.json").write_text(json.dumps(manifest), encoding="utf-8")
        open_page(browser, "manifests", wait=False)
        call = browser.wait_call(0, timeout=60)
        assert call["method"] == "error" and call["args"][0] == ERRORS["MODEL_LOAD_FAILED"], (name, call)
        assert call["args"][1] == "model/pac.json: " + expected, name
    high = json.loads(json.dumps(both))
    high["features"].update(freq_scale="linear", f_min=9000.0, f_max=20000.0, f_limit=None)
    (page / "model" / "pac.json").write_text(json.dumps(high), encoding="utf-8")
    assert open_page(browser, "manifests") == both["labels"]
    call = browser.classify_wav(DATA.joinpath("fsdd", "recordings", "1_george_5.wav").read_bytes())
    assert call["method"] == "error" and "no FFT bin" in call["args"][1]
    assert result_of(browser.classify_pcm(np.sin(np.arange(44100) * 0.9), 44100))


# -- labels ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["hostile", "hostile-fallback"])
def test_hostile_labels_round_trip_and_never_run(browser, served, models, page):
    from pac.classifier import Classifier

    labels = open_page(browser, page)
    assert labels == HOSTILE_LABELS
    path = fsdd(7, "george", 11)
    js_result = result_of(browser.classify_wav(path.read_bytes()))
    check_format(js_result, HOSTILE_LABELS)
    py_result = Classifier(models["hostile"], base=BASE_DIR).classify_files([path])[0]
    assert [r[0] for r in js_result] == [r[0] for r in py_result]
    assert max_diff(js_result, py_result) <= TOL
    assert browser.execute("return typeof window.PWNED;") == "undefined"
    assert browser.execute("return document.querySelectorAll('img').length;") == 0
    assert browser.execute("return document.scripts.length;") == len(runtime.PAGE_SCRIPTS) + 1
    html = (served / page / "classifier.html").read_text(encoding="utf-8")
    assert html.count("</script>") == len(runtime.PAGE_SCRIPTS) + 1
    assert "<img" not in html and "<!--" not in html and "\u2028" not in html


# -- write_assets without a browser ------------------------------------------------------------------


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_write_assets_ships_the_networks_the_model_runs(models, page, tmp_path):
    """mobilenet/ (55 shards) only for a model that runs MobileNet, speech/ only for the speech block;
    the same bytes every time."""
    from pac import speech_base
    from pac.modeldir import read_manifest

    out = tmp_path / "assets"
    paths = runtime.write_assets(models[page], out, base_dir=BASE_DIR)
    assert paths == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    manifest = read_manifest(models[page])
    networks = runtime.networks_of(manifest)
    # the mobilenet_rows block runs MobileNet too
    runs = {"speech": "speech", "mobilenet": "mobilenet", "mobilenet_rows": "mobilenet"}
    assert networks == {"conv": ("mobilenet",)}.get(
        page, tuple(n for n in runtime.NETWORKS if n in {runs[b] for b in manifest.blocks})
    )
    blocks = {"both": ("speech", "mobilenet"), "rows": ("speech", "mobilenet_rows"), "speech": ("speech",)}
    if page in blocks:
        assert manifest.blocks == blocks[page]
    elif page == "digits":  # the default's candidates never use MobileNet's picture average
        assert "mobilenet" not in manifest.blocks
    assert len([p for p in paths if p.startswith("mobilenet/")]) == (56 if "mobilenet" in networks else 0)
    assert [p for p in paths if p.startswith("speech/")] == (
        sorted([speech_base.GRAPH_FILE, speech_base.NOTICE_FILE, speech_base.WEIGHTS_FILE])
        if "speech" in networks
        else []
    )
    assert {
        "classifier.html",
        "model/pac.json",
        "model/model.json",
        "model/group1-shard1of1.bin",
        *runtime.TFJS_FILES,
        *runtime.PAGE_SCRIPTS,
    } <= set(paths)
    if "speech" in networks:
        network = speech_base.read_speech_network(SPEECH_DIR).quantized()
        shipped = {p: (out / p).read_bytes() for p in paths if p.startswith("speech/")}
        assert shipped == speech_base.export_files(network)
    constants = page_constants(out)
    assert constants["networks"] == {n: n in networks for n in runtime.NETWORKS}
    again = runtime.write_assets(models[page], tmp_path / "again", base_dir=BASE_DIR)
    assert again == paths
    assert all((out / p).read_bytes() == (tmp_path / "again" / p).read_bytes() for p in paths)


def test_page_constants_carry_the_manifest_rules():
    """What the page checks a manifest against comes from pac.modeldir, pac.blocks and pac.speech_base."""
    from pac import blocks, modeldir, speech_base

    constants = runtime.page_constants({"labels": ["a", "b"]}, networks=("speech",))
    rules = constants["manifest"]
    assert rules["format_versions"] == list(modeldir.FORMAT_VERSIONS)
    assert rules["linear_format_version"] == modeldir.FORMAT_VERSION_LINEAR
    assert rules["blocks"] == [
        {"name": b, "size": blocks.SIZES[b], "network": blocks.NETWORK[b]} for b in blocks.BLOCKS
    ]
    assert rules["speech_base_name"] == speech_base.SPEECH_BASE_NAME
    assert rules["speech_weights"] == list(modeldir.SPEECH_WEIGHT_TYPES)
    assert constants["networks"] == {"mobilenet": False, "speech": True}
    assert (constants["paths"]["speech_graph"], constants["paths"]["speech_weights"]) == (
        speech_base.GRAPH_FILE,
        speech_base.WEIGHTS_FILE,
    )


def test_write_assets_layout_and_refusals(models, tmp_path, monkeypatch):
    out = tmp_path / "assets"
    paths = runtime.write_assets(models["digits"], out, base_dir=BASE_DIR)
    assert (out / "model" / "pac.json").read_bytes() == (models["digits"] / "pac.json").read_bytes()
    # Writing again replaces the folder; a foreign folder is refused.
    assert runtime.write_assets(models["digits"], out, base_dir=BASE_DIR) == paths
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(PacError, match="not an asset folder"):
        runtime.write_assets(models["digits"], foreign, base_dir=BASE_DIR)
    assert (foreign / "notes.txt").read_text() == "keep me"
    # A model trained on another speech network is refused (the page would compute other features).
    other = tmp_path / "other-speech"
    shutil.copytree(models["speech"], other)
    manifest = json.loads((other / "pac.json").read_text(encoding="utf-8"))
    manifest["speech_base"]["sha256"] = "0" * 64
    (other / "pac.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(PacError, match="trained on another speech_embedding network"):
        runtime.write_assets(other, tmp_path / "refused", base_dir=BASE_DIR)
    assert not (tmp_path / "refused").exists()
    # Missing TensorFlow.js: a clear message that names the fix; nothing written.
    monkeypatch.setitem(runtime.TFJS_FILES, "tfjs/tf.es2017.min.js", "@tensorflow/tfjs/dist/nope.js")
    with pytest.raises(PacError, match=r"setup\.sh"):
        runtime.write_assets(models["digits"], tmp_path / "other", base_dir=BASE_DIR)
    assert not (tmp_path / "other").exists()
