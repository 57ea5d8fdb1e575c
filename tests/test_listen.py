"""Continuous listening: the decision rule (pac.listen and js/listen.js), ``pac listen``, and the
classifier page streamed in real headless Chromium with real TensorFlow.js and the real networks.

The model: 3 Speech Commands words, 5 clips each, plus a ``_background_noise_`` label (noise and
other words), as ``bench/live_data.py`` builds it; the recording: a long one of the same module
(held-out clips of the words placed at random times in real background noise among other speech).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, REPO
from pac import runtime
from pac.browser import Browser
from pac.cli import main
from pac.dataset import ROOM_PREFIX
from pac.errors import PacError
from pac.listen import Decider, ListenSettings, listen, window_ends

sys.path.insert(0, str(REPO / "bench"))
import live_data  # noqa: E402  (bench/ is not a package)

ERRORS = {e["name"]: e["code"] for e in runtime.read_bridge()["errors"]}
RULES = runtime.read_bridge()["listening"]
TASK_SEED = 7
#: Low enough that the recording gives several detections to compare.
THRESHOLD = 0.6


# -- the decision rule, without a model ------------------------------------------------------------

LABELS = ["_background_noise_", "go", "stop"]


def test_rule_defaults_come_from_bridge_json():
    s = ListenSettings.defaults()
    assert (s.threshold, s.minimum_interval_ms, s.hop_ms, s.window_seconds, s.background) == (
        RULES["default_threshold"],
        RULES["default_minimum_interval_ms"],
        RULES["hop_ms"],
        RULES["window_seconds"],
        RULES["background_label"],
    )
    assert s.samples(16000) == (16000, 4000, 16000)
    assert s.samples(44100)[1] == 11025
    assert window_ends(16000 + 3 * 4000 + 10, 16000, s) == [16000, 20000, 24000, 28000]


def test_rule_threshold_background_interval_and_ties():
    s = ListenSettings.defaults(threshold=0.7, minimum_interval_ms=1000)
    d = Decider(LABELS, s, 16000)
    assert d.step(16000, [0.9, 0.05, 0.05]) is None  # background wins
    assert d.step(20000, [0.25, 0.69, 0.06]) is None  # below the threshold
    assert d.step(24000, None) is None  # a silent window
    hit = d.step(28000, [0.1, 0.7, 0.2])  # exactly the threshold counts
    assert (hit.label, hit.confidence, hit.end_sample, hit.time) == ("go", 0.7, 28000, 1.75)
    assert d.step(43999, [0.0, 0.0, 1.0]) is None  # 15999 samples later: suppressed
    assert d.step(44000, [0.0, 0.0, 1.0]).label == "stop"  # 16000 samples later
    tie = Decider(LABELS, s, 16000).step(16000, [0.0, 0.5, 0.5])
    assert tie is None  # 0.5 < 0.7; and with a lower threshold:
    tie = Decider(LABELS, ListenSettings.defaults(threshold=0.5), 16000).step(16000, [0.0, 0.5, 0.5])
    assert tie.label == "go"  # ties: the first in label order


def test_rule_refusals():
    with pytest.raises(PacError, match="_background_noise_ label"):
        Decider(["go", "stop"], ListenSettings.defaults(), 16000)
    for kwargs in (
        {"threshold": 0},
        {"threshold": 1.5},
        {"minimum_interval_ms": -1},
        {"minimum_interval_ms": RULES["minimum_interval_ms_max"] + 1},
        {"hop_ms": 5},
        {"hop_ms": 1001},
    ):
        with pytest.raises(PacError):
            ListenSettings.defaults(**kwargs)


# -- a model and a recording -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def task():
    return live_data.make_task(TASK_SEED)


@pytest.fixture(scope="module")
def model(task, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("listen")
    out = root / "model"
    assert main(["train", str(task.write_train_dir(root / "train")), "-o", str(out), "--seed", "0"]) == 0
    return out


@pytest.fixture(scope="module")
def no_background_model(model, tmp_path_factory) -> Path:
    """The same model with its background label renamed: a model without one."""
    out = tmp_path_factory.mktemp("listen") / "no-background"
    shutil.copytree(model, out)
    manifest = json.loads((out / "pac.json").read_text(encoding="utf-8"))
    manifest["labels"] = ["noise" if x == "_background_noise_" else x for x in manifest["labels"]]
    (out / "pac.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def recording(task):
    """About a minute: each held-out clip of the 3 words once, 6 pieces of other speech."""
    return live_data.make_recording(task, 0, repeats=1, distractors=6)


@pytest.fixture(scope="module")
def recording_wav(recording, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("listen") / "long.wav"
    path.write_bytes(recording.wav_bytes())
    return path


@pytest.fixture(scope="module")
def python_result(model, recording_wav):
    """pac.listen on the recording at :data:`THRESHOLD`."""
    from pac.audio import read_wav
    from pac.classifier import Classifier

    return listen(Classifier(model), read_wav(recording_wav), settings=ListenSettings.defaults(threshold=THRESHOLD))


def _said_by(path: Path, speaker: str) -> bool:
    """Whether an FSDD or Arabic Speech Commands clip is ``speaker``'s (by the data sets' file names)."""
    if "fsdd" in path.parts:
        return path.stem.split("_")[1] == speaker
    return path.name.startswith(f"asc_{speaker}_")


def test_personal_tasks_are_one_speakers_own_words_and_other_speech_never_says_them():
    """bench/live.py --speakers personal: seeds 0-5 are the 6 one-speaker sources; training and
    recording clips of a word are different clips of that one speaker; nothing in the other speech
    (the speaker's own other words, other people) is one of the task's words."""
    seen = set()
    for seed in range(6):
        task = live_data.make_personal_task(seed)
        seen.add(task.speaker)
        kind, name = task.speaker.split(":")
        for word in task.words:
            train, held = set(task.train[word]), set(task.held_out[word])
            assert len(train) == len(held) == live_data.SHOTS and not train & held
            for path in train | held:
                assert (name in path.stem.split("_")) if kind == "fsdd" else (f"personal_{name}" in path.parts)
        said = lambda path: (  # noqa: E731  (the word a clip says, by its source's naming)
            live_data.DIGIT_WORDS[int(path.stem.split("_")[0])] if "fsdd" in path.parts else path.parent.name
        )
        assert not {said(p) for p in task.distractors} & set(task.words)
        assert not {said(p) for p in task.own_distractors} & set(task.words)
        assert all(_said_by(p, name) for p in task.own_distractors)
        assert not any(_said_by(p, name) for p in task.distractors)
        assert not set(task.noise_held_out) & set(task.train[live_data.BACKGROUND])
    assert seen == set(live_data.PERSONAL_SPEAKERS)
    task = live_data.make_personal_task(0)  # an FSDD speaker: 7 other digits of their own
    recording = live_data.make_recording(task, 0, repeats=1, distractors=6)
    labels = [e["label"] for e in recording.events if not e["target"]]
    assert len(labels) == 6 and sum(x.startswith("own:") for x in labels) == 3
    assert sorted(e["label"] for e in recording.targets()) == sorted(task.words * live_data.SHOTS)


def test_in_room_training_clips_are_one_second_in_the_rooms_noise(tmp_path):
    """bench/live.py --in-room: each word clip becomes one second at 16 kHz of the background label's
    own noise with the word in it (the same bytes every time); the background label's clips are copied."""
    from pac.audio import read_wav

    task = live_data.make_personal_task(0)
    first = task.write_train_dir(tmp_path / "a", in_room=True)
    second = task.write_train_dir(tmp_path / "b", in_room=True)
    for label, paths in task.train.items():
        # named by their place in the label, the noise pieces (the room) as the studio names its recordings of the room
        written = sorted((first / label).glob("*.wav"), key=lambda p: p.name.removeprefix(ROOM_PREFIX))
        assert len(written) == len(paths)
        assert [p.name.startswith(ROOM_PREFIX) for p in written] == [
            s.parent.parent.name == "background_noise" for s in paths
        ]
        assert any(p.name.startswith(ROOM_PREFIX) for p in written) == (label == live_data.BACKGROUND)
        for path, source in zip(written, paths):
            assert path.read_bytes() == (second / label / path.name).read_bytes()
            if label == live_data.BACKGROUND:
                assert path.read_bytes() == source.read_bytes()
                continue
            audio = read_wav(path)
            assert (audio.rate, len(audio.samples)) == (16000, 16000)
            x = np.asarray(audio.samples)
            noise = 10.0 ** (live_data.NOISE_DBFS / 20.0)
            edge = np.sqrt(np.mean(np.square(x[:400])))  # the first 25 ms: the room, before the word
            assert noise / 4 < edge < noise * 4
            assert np.sqrt(np.mean(np.square(x))) > 2 * noise  # the word, 10-20 dB over the room


# -- pac listen ------------------------------------------------------------------------------------


def test_pac_listen_prints_each_detection_with_its_time(model, recording, python_result, tmp_path, capsys):
    """The first 20 s: one line per detection (m:ss.sss, label, confidence), then a summary; --json."""
    part = 20 * recording.rate
    expected = [d for d in python_result.detections if d.end_sample <= part]
    assert len(expected) >= 2
    wav = tmp_path / "part.wav"
    wav.write_bytes(live_data.Recording(recording.samples[:part], recording.rate, []).wav_bytes())
    assert main(["listen", str(model), str(wav), "--threshold", str(THRESHOLD)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(expected) + 1
    for line, d in zip(lines, expected):
        when, label, confidence = line.split("\t")
        minutes, seconds = when.split(":")
        assert abs(60 * int(minutes) + float(seconds) - d.time) < 1e-3
        assert (label, float(confidence)) == (d.label, round(d.confidence, 3))
    assert lines[-1] == f"{len(expected)} detections in 0:20.000 (77 windows, 0 silent)"
    assert main(["listen", str(model), str(wav), "--json", "--threshold", str(THRESHOLD)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["label"], d["end_sample"]) for d in data["detections"]] == [(d.label, d.end_sample) for d in expected]
    assert (data["windows"], data["silent"], data["rate"], data["duration"]) == (77, 0, 16000, 20.0)


def test_pac_listen_finds_the_words(python_result, recording):
    """Sanity of the whole rule on real audio: most words found at the right times, few false alarms."""
    found = live_data.score([d.to_dict() for d in python_result.detections], recording)
    assert found["detected"] >= 0.5 * found["targets"], found
    assert found["false_alarms"] <= found["detected"], found


def test_pac_listen_refusals(model, no_background_model, recording_wav, tmp_path, capsys):
    assert main(["listen", str(no_background_model), str(recording_wav)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "_background_noise_ label" in err, err
    assert main(["listen", str(model), str(recording_wav), "--threshold", "1.2"]) == 2
    assert "threshold" in capsys.readouterr().err
    short = tmp_path / "short.wav"
    short.write_bytes(live_data.Recording(np.full(8000, 0.1), 16000, []).wav_bytes())
    assert main(["listen", str(model), str(short)]) == 2
    assert "shorter than one listening window" in capsys.readouterr().err


# -- the page, streamed ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(model, no_background_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("listen-pages")
    runtime.write_assets(model, root / "model", base_dir=BASE_DIR)
    runtime.write_assets(no_background_model, root / "nobg", base_dir=BASE_DIR)
    with Browser(root, timeout=120) as b:
        yield b


@pytest.fixture
def page(browser):
    browser.open("model/classifier.html", backend="wasm")
    return browser


def test_page_gives_the_detections_python_gives(page, recording, python_result):
    """Parity: every window classified (each chunk pushed once the page is idle), same detections."""
    got = page.stream_pcm(recording.samples, recording.rate, threshold=THRESHOLD, realtime=False)
    assert got["errors"] == []
    stats = got["stats"]
    assert stats["dropped"] == 0 and stats["due"] == python_result.windows == stats["classified"], stats
    assert stats["silent"] == python_result.silent
    page_detections = [(h["label"], h["confidence"]) for h in got["heard"]]
    python_detections = [(d.label, d.confidence) for d in python_result.detections]
    assert len(python_detections) >= 4
    assert [x[0] for x in page_detections] == [x[0] for x in python_detections]
    assert [d["endSample"] for d in got["detections"]] == [d.end_sample for d in python_result.detections]
    # Windows are cut where the sound is (as for clips); a 10 ms chunk at the edge of the 25 dB rule
    # can fall the other way in float32 here and float64 there: 1.4e-3 seen, 2e-5 typical with
    # MobileNet averaged, 1.2e-4 (median) with its 1,792 frequency-row values, which this model uses.
    difference = np.abs(np.subtract([x[1] for x in page_detections], [x[1] for x in python_detections]))
    assert difference.max() < 5e-3 and np.median(difference) < 2.5e-4, difference


#: Seconds of the recording the fake microphone streams in real time (the test's cost).
STREAMED_SECONDS = 8


def test_page_hears_a_streamed_microphone_at_the_right_times(page, recording, python_result):
    """A fake microphone: 100 ms chunks pushed in real time, as the component pushes them, for
    :data:`STREAMED_SECONDS` from the start of the first window Python detects a word in (so the
    page's windows are Python's).  Each Heard is a window Python also classifies alike (same label
    and confidence, at or above the threshold), it comes after the window's last chunk was pushed and
    soon after; the windows are where the words are (test_pac_listen_finds_the_words: Python's
    windows are).  On a loaded machine the page may drop windows (it must not lag): each drop can
    cost at most one of Python's detections."""
    window, hop, _ = ListenSettings.defaults(threshold=THRESHOLD).samples(recording.rate)
    part = STREAMED_SECONDS * recording.rate
    first = python_result.detections[0].end_sample - window  # a whole number of hops
    expected = [d for d in python_result.detections if d.end_sample <= first + part]
    assert first % hop == 0 and len(expected) >= 2, expected
    got = page.stream_pcm(recording.samples[first : first + part], recording.rate, threshold=THRESHOLD, realtime=True)
    stats = got["stats"]
    assert got["errors"] == [] and stats["due"] == (part - window) // hop + 1, stats
    assert len(got["heard"]) == len(got["detections"]) >= len(expected) - stats["dropped"], (got, expected)
    for heard, d in zip(got["heard"], got["detections"]):
        assert heard["label"] == d["label"] and heard["confidence"] == d["confidence"]
        row = python_result.probabilities[(first + d["endSample"] - window) // hop]
        assert abs(row[python_result_labels(page).index(d["label"])] - d["confidence"]) < 5e-3
        assert d["confidence"] >= THRESHOLD
        pushed = got["pushed"][-(-d["endSample"] // got["chunk"]) - 1]  # the window's last chunk
        assert pushed <= heard["t"] <= pushed + 1500, (heard, d, pushed)
    assert abs(got["elapsed"] - 1000 * STREAMED_SECONDS) < 3000


def python_result_labels(page) -> list:
    return page.info()["labels"]


def test_page_drops_windows_rather_than_queue(page, recording):
    """10 s pushed at once: 37 windows are due, at most two are classified, the rest dropped."""
    got = page.stream_pcm(recording.samples[: 10 * recording.rate], recording.rate, chunk_ms=10000, realtime=False)
    stats = got["stats"]
    assert stats["due"] == 37 and stats["classified"] <= 2 and stats["dropped"] == 37 - stats["classified"], stats


def test_page_stream_lifecycle(page, recording):
    """Stopped: later chunks are ignored.  Restarted: a fresh stream.  Before ready / bad arguments:
    errors, not exceptions."""
    chunk = live_data.Recording(recording.samples[: 16000 * 3], 16000, []).samples.astype("<f4").tobytes()
    import base64

    text = base64.b64encode(chunk).decode("ascii")
    assert page.execute("return window.pac.startStream(16000, 0.8, 1000);") is True
    page.execute("window.pac.pushPcm(arguments[0]);", text)
    page.execute("return window.pac.streamIdle();")
    due = page.execute("return window.pac.streamStats().due;")
    assert due == 9
    page.execute("window.pac.stopStream(); window.pac.pushPcm(arguments[0]);", text)
    assert page.execute("return window.pac.streamStats();")["received"] == 48000
    assert page.execute("return window.pac.startStream(16000, 0.8, 1000);") is True
    assert page.execute("return window.pac.streamStats();")["received"] == 0
    index = len(page.calls())
    assert page.execute("return window.pac.startStream(16000, 1.5, 1000);") is False
    call = page.wait_call(index, timeout=5)
    assert call["method"] == "error" and call["args"][0] == ERRORS["CLASSIFICATION_FAILED"]
    assert "threshold" in call["args"][1]


def test_page_refuses_a_model_without_background(browser):
    browser.open("nobg/classifier.html", backend="wasm")
    index = len(browser.calls())
    assert browser.execute("return window.pac.startStream(16000, null, null);") is False
    call = browser.wait_call(index, timeout=5)
    assert call["method"] == "error" and call["args"][0] == ERRORS["NO_BACKGROUND_LABEL"] == 9
    assert "_background_noise_ label" in call["args"][1]
    assert browser.execute("return window.pac.streamStats();") is None


# -- pac verify ------------------------------------------------------------------------------------


def _component_descriptor() -> list:
    """The descriptor Maven built (what pac build puts into the .aix)."""
    from pac import resources

    return json.loads(resources.current().component().components_json.read_text(encoding="utf-8"))


def test_verify_checks_the_listening_blocks():
    from pac.listen import check_listen_blocks
    from pac.verify import Report

    descriptors = _component_descriptor()
    report = Report(path="x")
    check_listen_blocks(descriptors, report)
    assert report.failures == [] and report.warnings == []

    def broken(change):
        copy = json.loads(json.dumps(descriptors))
        change(copy[0])
        report = Report(path="x")
        check_listen_blocks(copy, report)
        return report

    def retype(d):
        [e for e in d["events"] if e["name"] == "Heard"][0]["params"][1]["type"] = "text"

    assert any("Heard" in f for f in broken(retype).failures)

    def no_stop(d):
        d["methods"] = [m for m in d["methods"] if m["name"] != "StopContinuousListening"]

    assert any("StopContinuousListening" in f for f in broken(no_stop).failures)

    def default(d):
        [p for p in d["properties"] if p["name"] == "Threshold"][0]["defaultValue"] = "0.5"

    assert any("Threshold" in f and "0.8" in f for f in broken(default).failures)

    def read_only(d):
        [p for p in d["blockProperties"] if p["name"] == "MinimumInterval"][0]["rw"] = "read-only"

    assert any("MinimumInterval" in f for f in broken(read_only).failures)

    def old(d):
        d["events"] = [e for e in d["events"] if e["name"] != "Heard"]
        d["methods"] = [m for m in d["methods"] if "Continuous" not in m["name"]]

    report = broken(old)
    assert report.failures == [] and any("older pac" in w for w in report.warnings)

    # values of any JSON type where lists are expected: failures, not a TypeError (found by bench/fuzz.py)
    def events_a_number(d):
        d["events"] = 3

    assert any("events Heard" in f for f in broken(events_a_number).failures)

    def params_a_float(d):
        [e for e in d["events"] if e["name"] == "Heard"][0]["params"] = 2.5

    assert any("Heard" in f and "found None" not in f for f in broken(params_a_float).failures)

    def name_a_list(d):
        [m for m in d["methods"] if m["name"] == "StopContinuousListening"][0]["name"] = ["x"] * 2000

    failures = broken(name_a_list).failures
    assert any("StopContinuousListening" in f for f in failures) and max(map(len, failures)) < 400


def test_verify_streams_to_the_page(browser):
    from pac.listen import check_page_stream
    from pac.verify import Report

    report = Report(path="x")
    labels = browser.open("model/classifier.html", backend="wasm")
    assert check_page_stream(browser, labels, report) == "continuous listening: 5 windows of 2 s streamed"
    assert report.failures == [] and report.warnings == []
    labels = browser.open("nobg/classifier.html", backend="wasm")
    assert check_page_stream(browser, labels, report).endswith("(no background label)")
    assert report.failures == [] and any("_background_noise_ label" in w for w in report.warnings)
