"""Feature method pac-compat in the JS classifier page (extension/js/pac_compat.js) against Python.

Real headless Chromium (pac.browser.Browser) runs the page written by pac.runtime.write_assets for a
pac-compat model; its images and probabilities are compared with pac's on real clips of every kind
and on synthetic clips that take matplotlib's other drawing paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA
from pac import runtime
from pac.browser import Browser
from pac.classifier import Classifier
from pac.features import PROFILES
from pac.features import compat as C
from pac.features.pipeline import clip_image, load_clip
from test_pac_compat import synthetic_clips

pytestmark = pytest.mark.slow

COMPAT = PROFILES["pac-compat"]


def parity_clips(digits_test_dir: Path, synthetic: list[Path]) -> list[Path]:
    """15 FSDD digits, 10 Speech Commands words, 8 RAVDESS sentences (every third of each), 4 noises,
    6 synthetic clips: every kind of clip at a cost the default run affords (the page computes MIT's whole
    figure; ``bench/mit_interop.py`` compares 84 clips against MIT's own page)."""
    words = [p for w in ("on", "off", "stop") for p in sorted((DATA / "speech_commands_v001" / w).glob("*.wav"))]
    ravdess = sorted((DATA / "ravdess" / "Actor_01").glob("03-01-0[345]-*.wav"))
    noise = (
        sorted((DATA / "background_noise" / "doing_the_dishes").glob("*.wav"))[:2]
        + sorted((DATA / "background_noise" / "exercise_bike").glob("*.wav"))[:2]
    )
    return sorted(digits_test_dir.rglob("*.wav"))[::3] + words[::3] + ravdess[::3] + noise + synthetic


@pytest.fixture(scope="module")
def page(compat_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("served-compat")
    runtime.write_assets(compat_model, root / "compat", base_dir=BASE_DIR)
    with Browser(root, timeout=120) as browser:
        labels = browser.open("compat/classifier.html")
        assert labels == json.loads((compat_model / "pac.json").read_text())["labels"]
        yield browser


def test_the_page_computes_pac_compat(page):
    assert page.info()["features"] == COMPAT.to_dict()
    assert "/compat/js/pac_compat.js" in page.requested()


def test_js_building_blocks_equal_pythons(page):
    lut = page.execute("return Array.from(window.PacRuntime.pacCompat.aggHanningLut());")
    assert lut == C.agg_hanning_lut().tolist()
    dda = page.execute("return window.PacRuntime.pacCompat.aggDda(123, 122770, 999);")
    assert dda == C.agg_dda(123, 122770, 999).tolist()


def test_images_and_probabilities_match_python(page, compat_model, digits_test_dir, tmp_path):
    """Measured: top-1 agreement on every clip, the largest probability difference and the pixels
    that differ (printed); only ulp-level differences (FFT, log10, summation order) can move a pixel."""
    clips = parity_clips(digits_test_dir, synthetic_clips(tmp_path))
    classifier = Classifier(compat_model, base=BASE_DIR)
    expected = classifier.classify_files(clips)
    worst, differing, worst_pixel, agree = 0.0, 0, 0, 0
    for path, py_result in zip(clips, expected):
        data = path.read_bytes()
        call = page.classify_wav(data)
        assert call["method"] == "reportResult", (path, call)
        js_result = json.loads(call["args"][0])
        agree += js_result[0][0] == py_result[0][0]
        py = dict(py_result)
        worst = max(worst, max(abs(float(p) - py[label]) for label, p in js_result))
        diff = np.abs(page.debug_image(data).astype(int) - clip_image(load_clip(path, COMPAT), COMPAT).astype(int))
        differing += int(np.count_nonzero(diff.max(axis=2)))
        worst_pixel = max(worst_pixel, int(diff.max()))
    print(
        f"\npac-compat JS vs Python on {len(clips)} clips: top-1 agreement {agree}/{len(clips)}, "
        f"max |prob diff| {worst:.2e}, {differing} image pixels differ (max {worst_pixel} levels)"
    )
    assert len(clips) >= 40
    assert agree == len(clips)
    assert worst <= 1e-4
    assert differing <= len(clips) * 224 * 224 // 10000


def test_a_model_imported_from_an_mdl_runs_in_the_page(compat_model, digits_test_dir, tmp_path):
    """pac import-mdl -> the page (what pac build packages) classifies like pac predict."""
    from pac.cli import main

    mdl, imported = tmp_path / "m.mdl", tmp_path / "imported"
    assert main(["export-mdl", str(compat_model), "-o", str(mdl)]) == 0
    assert main(["import-mdl", str(mdl), "-o", str(imported)]) == 0
    runtime.write_assets(imported, tmp_path / "served" / "imported", base_dir=BASE_DIR)
    clips = sorted(digits_test_dir.rglob("*.wav"))[::9]
    expected = Classifier(imported, base=BASE_DIR).classify_files(clips)
    with Browser(tmp_path / "served", timeout=120) as browser:
        browser.open("imported/classifier.html")
        for path, py_result in zip(clips, expected):
            js_result = json.loads(browser.classify_wav(path.read_bytes())["args"][0])
            assert js_result[0][0] == py_result[0][0]
            assert max(abs(float(p) - dict(py_result)[label]) for label, p in js_result) <= 1e-4


def page_swapped_to_mdl(compat_model: Path, tmp_path: Path, *, raw: bool) -> tuple[Path, Path]:
    """A page built for another model (default features, wrong labels) whose model/ folder then
    holds the exported .mdl: raw (its four entries, as the Java side serves an MIT .mdl) or
    imported (a pac model folder, as it serves a pac model zip).  Returns (page URL dir, imported)."""
    import shutil
    import zipfile

    from pac.cli import main

    mdl, imported = tmp_path / "m.mdl", tmp_path / "imported"
    assert main(["export-mdl", str(compat_model), "-o", str(mdl)]) == 0
    assert main(["import-mdl", str(mdl), "-o", str(imported)]) == 0
    other = tmp_path / "other"
    shutil.copytree(compat_model, other)
    manifest = json.loads((other / "pac.json").read_text())
    manifest["features"] = PROFILES["default"].to_dict()
    manifest["labels"] = ["wrong-" + label for label in manifest["labels"]]
    (other / "pac.json").write_text(json.dumps(manifest))
    page_dir = tmp_path / "served" / "swapped"
    runtime.write_assets(other, page_dir, base_dir=BASE_DIR)
    shutil.rmtree(page_dir / "model")
    if raw:
        with zipfile.ZipFile(mdl) as archive:
            archive.extractall(page_dir / "model")
        assert not (page_dir / "model" / "pac.json").exists()
    else:
        shutil.copytree(imported, page_dir / "model")
    return page_dir, imported


@pytest.mark.parametrize("raw", [False, True], ids=["pac-model-zip", "raw-mit-mdl"])
def test_a_model_swapped_in_at_run_time_uses_its_own_labels_and_features(compat_model, digits_test_dir, tmp_path, raw):
    """The extension's Model property: the page must take the swapped-in model's labels (from
    pac.json, or model_labels.json for an MIT .mdl) and run its pac-compat features."""
    page_dir, imported = page_swapped_to_mdl(compat_model, tmp_path, raw=raw)
    clips = sorted(digits_test_dir.rglob("*.wav"))[2::9]
    expected = Classifier(imported, base=BASE_DIR).classify_files(clips)
    with Browser(page_dir.parent, timeout=120) as browser:
        labels = browser.open(f"{page_dir.name}/classifier.html")
        assert labels == json.loads((imported / "pac.json").read_text())["labels"]
        assert browser.info()["features"] == COMPAT.to_dict()
        for path, py_result in zip(clips, expected):
            js_result = json.loads(browser.classify_wav(path.read_bytes())["args"][0])
            assert js_result[0][0] == py_result[0][0]
            assert max(abs(float(p) - dict(py_result)[label]) for label, p in js_result) <= 1e-4


@pytest.mark.parametrize("downscale", ["mipmap-bilinear", "centre", "area"])
def test_js_canvas_filters_equal_pythons(page, downscale):
    """Each canvas filter of pac_compat.js gives canvas.py's pixels on a real clip's 1000x1000 figure
    (an FSDD digit: matplotlib's nearest path) and on a 600x600 one (mipmap level 1)."""
    import base64

    from pac.features import canvas

    clip = load_clip(DATA / "fsdd" / "recordings" / "7_jackson_3.wav", COMPAT)
    db = C.mpl_specgram_db(
        C.pcm_integers(C.compat_window(clip, COMPAT), bits=16), rate=clip.rate, nfft=512, noverlap=384
    )
    every = np.arange(1000)
    figure = C.mpl_canvas(db, pixels=1000, rows=every, cols=every, lut=C.mpl_colormap_table("viridis"))
    for image in (figure, np.ascontiguousarray(figure[200:800, 300:900])):
        n = image.shape[0]
        js = page.execute(
            "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
            "const out = window.PacRuntime.pacCompat.drawFigure(bytes, arguments[1], 200, arguments[2]);"
            "return Array.from(out);",
            base64.b64encode(image.tobytes()).decode("ascii"),
            n,
            downscale,
        )
        expected = canvas.draw(image, 200, downscale=downscale)
        assert np.array_equal(np.array(js, dtype=np.uint8).reshape(200, 200, 3), expected)
