"""What models see in the classifier page, pinned: the JS page against the same golden values as Python.

Headless Chromium (pac.browser.Browser) runs the page pac.runtime.write_assets writes for the fixed
model of each profile (tests/golden.py: a softmax layer on speech + MobileNet for ``default``, PAC's
conv head for ``paper`` and ``pac-compat``).  For each golden clip the page's own image
(``debugImage``), MobileNet input and speech frames (``PacRuntime.features`` / ``PacRuntime.speech``
on the page's decoding of the WAV) and the probabilities it reports (``classifyWav``) must match
tests/fixtures/golden/features.json within the tolerances of tests/golden.py.
"""

from __future__ import annotations

import base64
import dataclasses
import json

import numpy as np
import pytest

import golden
from conftest import BASE_DIR, SPEECH_DIR
from pac import runtime
from pac.browser import Browser
from pac.features import PROFILES
from pac.features.config import SCHEMA_VERSION

pytestmark = pytest.mark.slow

#: A change of the default profile that a page may be given (what a same-way Python + JS edit does).
CHANGE = {"f_max": 7600.0, "n_bands": 96}

# In the page: WAV bytes (base64) -> the page's decoding, MobileNet input and, for a model with the
# speech block, the speech frames of its analysis window, as base64 of float32.
_STAGES = """
const [text, config, speech] = arguments;
const R = window.PacRuntime;
const bin = atob(text);
const bytes = new Uint8Array(bin.length);
for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
const b64 = (typed) => {
  const raw = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  let s = '';
  for (let i = 0; i < raw.length; i += 0x8000) s += String.fromCharCode.apply(null, raw.subarray(i, i + 0x8000));
  return btoa(s);
};
try {
  const clip = R.wav.decodeWav(bytes, 'clip.wav');
  const window_ = R.features.analysisWindow(clip.samples, clip.rate, config);
  const image = R.features.spectrogramImage(window_, clip.rate, config);
  const out = {input: b64(R.features.modelInput(image, config))};
  if (speech) out.frames = b64(Float32Array.from(R.speech.speechSequence(window_, clip.rate, config)));
  return out;
} catch (e) {
  return {error: String(e && e.message || e)};
}
"""


@pytest.fixture(scope="module")
def stored() -> dict:
    return golden.read_golden()


@pytest.fixture(scope="module")
def clips() -> dict[str, bytes]:
    return golden.load_clips()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One served root with a page per profile of :data:`golden.PROFILE_NAMES`."""
    root = tmp_path_factory.mktemp("golden-pages")
    models = tmp_path_factory.mktemp("golden-models")
    for profile in golden.PROFILE_NAMES:
        model = golden.write_model(golden.config_of(profile), models / profile)
        runtime.write_assets(model, root / profile, base_dir=BASE_DIR, speech_dir=SPEECH_DIR)
    changed = golden.write_model(dataclasses.replace(PROFILES["default"], **CHANGE), models / "changed")
    runtime.write_assets(changed, root / "changed", base_dir=BASE_DIR, speech_dir=SPEECH_DIR)
    with Browser(root, timeout=120) as b:
        yield b


def page_stages(browser, profile: str, data: bytes) -> dict[str, np.ndarray]:
    """The page's image, MobileNet input, speech frames and probabilities for one clip."""
    config = golden.config_of(profile)
    stages = {"image": browser.debug_image(data)}
    answer = browser.execute(
        _STAGES, base64.b64encode(data).decode("ascii"), config.to_dict(), golden.uses_speech(config)
    )
    assert "error" not in answer, f"{profile}: the page failed: {answer.get('error')}"
    stages["input"] = np.frombuffer(base64.b64decode(answer["input"]), "<f4").reshape(stages["image"].shape)
    if "frames" in answer:
        stages["speech_frames"] = np.frombuffer(base64.b64decode(answer["frames"]), "<f4").reshape(-1, 32)
    call = browser.classify_wav(data)
    assert call["method"] == "reportResult", (profile, call)
    ranked = dict(json.loads(call["args"][0]))
    stages["probabilities"] = np.array([ranked[label] for label in golden.LABELS], np.float32)
    return stages


@pytest.mark.parametrize("profile", golden.PROFILE_NAMES)
def test_the_page_sees_the_golden_values(browser, stored, clips, profile):
    """Images, MobileNet input, speech frames (default) and probabilities of every golden clip; the
    embeddings are not exposed by the page, the probabilities depend on them."""
    labels = browser.open(f"{profile}/classifier.html")
    assert labels == list(golden.LABELS)
    assert browser.info()["features"] == golden.config_of(profile).to_dict()
    entry = stored["entries"][golden.key(profile, SCHEMA_VERSION)]
    observed = {name: page_stages(browser, profile, data) for name, data in clips.items()}
    expected = {
        "clips": {
            name: {s: r for s, r in stages.items() if s in observed[name]} for name, stages in entry["clips"].items()
        }
    }
    assert all(set(stages) >= {"image", "input", "probabilities"} for stages in expected["clips"].values())
    if golden.uses_speech(golden.config_of(profile)):
        assert all("speech_frames" in stages for stages in expected["clips"].values())
    changed, close = golden.differences(expected, observed)
    if close:
        print(f"\n{profile} in the page: within tolerance but not bit-identical: " + "; ".join(close))
    assert not changed, "the classifier page: " + golden.changed_message(profile, changed)


def test_a_page_with_changed_features_fails_the_comparison(browser, stored, clips):
    """The default page given ``f_max`` 7600 and 96 mel bands: its images are reported as changed."""
    browser.open("changed/classifier.html")
    assert browser.info()["features"]["f_max"] == CHANGE["f_max"]
    entry = stored["entries"][golden.key("default", SCHEMA_VERSION)]
    for name in ("fsdd-8k-0.43s", "commands-16k-1s"):
        found = golden.compare("image", entry["clips"][name]["image"], browser.debug_image(clips[name]))
        assert found is not None and found[0] == "changed", (name, found)


@pytest.mark.parametrize("profile", ["default", "paper"])
def test_the_page_ignores_frequencies_above_f_limit_as_python_does(browser, clips, profile):
    """``f_limit`` (set by training for clips below twice ``f_max``): the page's MobileNet input of every
    golden clip (8 to 48 kHz) is Python's to one 8-bit level, and the limit does change the image."""
    from pac.features.pipeline import clip_image, model_input

    config = dataclasses.replace(PROFILES[profile], f_limit=3000.0)
    browser.open("default/classifier.html")  # the configuration is passed in; any page runs it
    for name, data in clips.items():
        answer = browser.execute(_STAGES, base64.b64encode(data).decode("ascii"), config.to_dict(), False)
        assert "error" not in answer, (name, answer)
        clip = golden.decoded(data, name, config)
        python = model_input(clip_image(clip, config)[None], config)[0]
        page = np.frombuffer(base64.b64decode(answer["input"]), "<f4").reshape(python.shape)
        assert np.abs(page - python).max() <= 1.001 * config.input_scale, name
        unlimited = model_input(clip_image(clip, PROFILES[profile])[None], PROFILES[profile])[0]
        assert np.abs(python - unlimited).mean() > 0.01, name


def test_the_page_drops_exactly_the_fft_bins_python_drops_above_f_limit(browser):
    """The mel filterbank and the linear bin range with ``f_limit``, bin by bin, at limits that fall on
    a bin (8 kHz: 4000 Hz is the top bin; 48 kHz, 2048 points: 3000 Hz is bin 128) and between bins."""
    from pac.features import functional as F

    browser.open("default/classifier.html")
    for rate, n_fft, limit in (
        (8000, 512, 4000.0),
        (48000, 2048, 3000.0),
        (44100, 4096, 5512.5),
        (16000, 1024, 4000.0),
    ):
        python = F.mel_filterbank(rate=rate, n_fft=n_fft, n_bands=128, f_min=40.0, f_max=8000.0, f_limit=limit)
        bands = browser.execute(
            "return PacRuntime.features.melFilterbank(...arguments)"
            ".map((b) => ({first: b.first, weights: Array.from(b.weights)}));",
            rate,
            n_fft,
            128,
            40.0,
            8000.0,
            limit,
        )
        page = np.zeros_like(python)
        for row, band in zip(page, bands):
            row[band["first"] : band["first"] + len(band["weights"])] = band["weights"]
        # the same bins kept, to the float64 noise of two log10 and pow implementations
        assert np.array_equal(page != 0, python != 0) and np.allclose(page, python, rtol=0, atol=1e-9), (rate, limit)
        assert not python[:, np.arange(n_fft // 2 + 1) * rate / n_fft > limit].any()
        for f_min, f_max in ((0.0, 24000.0), (40.0, 8000.0)):
            expected = list(F.linear_bin_range(rate=rate, n_fft=n_fft, f_min=f_min, f_max=f_max, f_limit=limit))
            assert (
                browser.execute(
                    "return PacRuntime.features.linearBinRange(...arguments);", rate, n_fft, f_min, f_max, limit
                )
                == expected
            ), (rate, limit, f_min)
