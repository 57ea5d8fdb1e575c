"""``pac studio``: the project store and HTTP API (fast), and the page end to end in headless Chromium
with a fake microphone (slow): labels, recording, uploads, drag and drop, training, testing, the
.aix download checked by ``pac verify``, reload and server restart.

Screenshots of every view are written to ``artifacts/studio/`` (git-ignored).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, REPO, SPEECH_DIR, fsdd
from pac.errors import PacError
from pac.limits import LIMITS
from pac.linear_head import JOINED_WEIGHTINGS
from pac.studio.jobs import export_support
from pac.studio.server import Studio
from pac.studio.store import ProjectStore, StudioError, check_label_name

ARTIFACTS = Path(os.environ.get("PAC_ARTIFACTS_DIR", REPO / "artifacts")) / "studio"


# -- helpers -----------------------------------------------------------------------------------------


class Client:
    """Plain HTTP requests to a studio (control over every header)."""

    def __init__(self, studio: Studio):
        self.port = studio.port

    def request(self, method: str, path: str, body=None, *, headers=None, page: bool = True):
        headers = dict(headers or {})
        if page and method != "GET":
            headers.setdefault("X-Pac-Studio", "1")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        kind = response.getheader("Content-Type", "")
        return response.status, (json.loads(data) if kind.startswith("application/json") else data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def upload(self, label: str, data: bytes, name: str | None = None, source: str = "uploaded"):
        headers = {"X-Clip-Source": source}
        if name is not None:
            from urllib.parse import quote

            headers["X-Clip-Name"] = quote(name)
        return self.post(f"/api/labels/{label}/clips", data, headers=headers)

    def project(self) -> dict:
        status, data = self.get("/api/project")
        assert status == 200
        return data


def wav_bytes(samples, rate: int = 16000) -> bytes:
    pcm = (np.clip(np.asarray(samples, dtype=np.float64), -1, 1) * 32767).astype("<i2").tobytes()
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + len(pcm))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16)
        + b"data"
        + struct.pack("<I", len(pcm))
    )
    return header + pcm


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def studio(tmp_path):
    with Studio(tmp_path / "project", port=0, warm=False) as running:
        yield running


@pytest.fixture
def client(studio):
    return Client(studio)


# -- names and paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["yes", "_background_noise_", "été 2", "Mixed-Case_9", "猫"])
def test_good_label_names(name):
    assert check_label_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "name, says",
    [
        ("..", "'.'"),
        (".hidden", "'.'"),
        ("a.b", "'.'"),
        ("a/b", "'/'"),
        ("../../etc", "'/'"),
        ("a\\b", "'/'"),
        ("a\x00b", "NUL"),
        ("", "name"),
        ("   ", "name"),
        ("x" * 41, "40"),
        ("CON", "reserved"),
        ("a:b", "':'"),
        ("a\tb", "U+0009"),
        (None, "text"),
    ],
)
def test_bad_label_names_are_refused(name, says):
    with pytest.raises(StudioError) as info:
        check_label_name(name)
    assert says in str(info.value)


def test_uploads_cannot_escape_the_project(tmp_path, studio, client):
    outside = set(os.listdir(tmp_path))
    assert client.post("/api/labels", {"name": "one"})[0] == 201
    for bad in ("../evil", "..", "a/b", "/etc", "x\x00y", ".git"):
        status, body = client.post("/api/labels", {"name": bad})
        assert status == 400 and "error" in body
    clip = fsdd(1, "george", 0).read_bytes()
    # the client's file name is only a hint, reduced to [A-Za-z0-9_-] inside a generated name
    for name in ("../../evil.wav", "/etc/passwd", "..\\..\\evil.wav", "a\x00b.wav", "../studio.json"):
        status, info = client.upload("one", clip, name)
        assert status == 201, info
        assert "/" not in info["id"] and "\\" not in info["id"] and ".." not in info["id"]
        assert info["id"].startswith("up-") and info["id"].endswith(".wav")
    files = sorted(p.relative_to(studio.store.root) for p in studio.store.root.rglob("*.wav"))
    assert len(files) == 5 and all(p.parts[:2] == ("labels", "one") for p in files)
    assert set(os.listdir(tmp_path)) == outside  # nothing written beside the project folder
    # names in URLs are looked up, never joined onto a path
    for path in (
        "/api/labels/..%2F..%2Fproject/clips/x.wav/audio",
        "/api/labels/one/clips/..%2F..%2Fstudio.json/audio",
        "/api/labels/one/clips/..%2F..%2F..%2Fstudio.json/spectrogram",
        "/api/labels/..%2Fmodels/clips/x/audio",
        "/api/models/..%2Flabels/files/curves.png",
        "/api/models/..%2F..%2F/download/zip",
        "/static/..%2Fserver.py",
        "/static/../server.py",
        "/static/%2e%2e%2fstore.py",
        "/../studio.json",
    ):
        status, body = client.get(path)
        assert status == 404, path
        assert b"studio.json" not in json.dumps(body).encode() or "error" in body
    assert client.delete("/api/labels/..%2F..%2Fproject")[0] == 404
    assert client.delete("/api/labels/one/clips/..%2F..%2Fstudio.json")[0] == 404
    assert (studio.store.root / "studio.json").is_file()


def test_an_upload_named_room_into_the_background_label_is_a_recording_of_the_room(studio, client):
    """As in a pac train data folder: _background_noise_/room-*.wav is the room (training's noise)."""
    for name in ("one", "_background_noise_"):
        assert client.post("/api/labels", {"name": name})[0] == 201
    piece = sorted((DATA / "background_noise" / "exercise_bike").glob("*.wav"))[0].read_bytes()
    stored = {
        (label, name): client.upload(label, piece, name)[1]
        for label, name in (
            ("_background_noise_", "Room-kitchen.wav"),
            ("_background_noise_", "kitchen.wav"),
            ("_background_noise_", "my-room-kitchen.wav"),
            ("one", "room-kitchen.wav"),
        )
    }
    sources = {key: (info["source"], info["id"].split("-", 1)[0]) for key, info in stored.items()}
    assert sources == {
        ("_background_noise_", "Room-kitchen.wav"): ("room", "room"),
        ("_background_noise_", "kitchen.wav"): ("uploaded", "up"),
        ("_background_noise_", "my-room-kitchen.wav"): ("uploaded", "up"),
        ("one", "room-kitchen.wav"): ("uploaded", "up"),
    }
    assert stored["_background_noise_", "Room-kitchen.wav"]["id"].endswith("-Room-kitchen.wav")


def test_corrupt_uploads_are_refused_without_touching_clips(studio, client):
    assert client.post("/api/labels", {"name": "one"})[0] == 201
    for i in range(2):
        assert client.upload("one", fsdd(1, "george", i).read_bytes(), f"one{i}.wav")[0] == 201
    before = snapshot(studio.store.root / "labels")
    good = fsdd(1, "george", 2).read_bytes()
    cases = {
        "garbage.wav": (b"this is not audio at all", "not a WAV file"),
        "truncated.wav": (good[:40], "truncated"),
        "cut-data.wav": (good[:44] + good[44:60], None),  # too short to classify
        "song.mp3": (b"ID3\x03\x00\x00\x00" + bytes(200), "MP3"),
        "page.wav": (b"<!DOCTYPE html><html></html>", "HTML"),
        "silent.wav": (wav_bytes(np.zeros(16000)), "silent"),
        "empty.wav": (b"", "empty"),
    }
    for name, (data, says) in cases.items():
        status, body = client.upload("one", data, name)
        assert status == 400, (name, body)
        assert name in body["error"] and (says is None or says in body["error"]), body
        assert "Traceback" not in body["error"]
    # too large: refused from the Content-Length alone
    status, body = client.upload("one", b"RIFF" + bytes(LIMITS.upload_max_bytes + 10), "huge.wav")
    assert status == 413 and "too large" in body["error"]
    # into a label that does not exist
    assert client.upload("nothere", good, "x.wav")[0] == 404
    assert snapshot(studio.store.root / "labels") == before
    assert not list(studio.store.root.rglob("*.tmp"))


def test_clips_play_back_as_uploaded_and_show_the_model_input_image(studio, client):
    import io

    from PIL import Image

    from pac.features import PROFILES
    from pac.features.pipeline import clip_image, load_clip

    client.post("/api/labels", {"name": "voice"})
    source = DATA / "speech_commands_v001" / "on"
    path = sorted(source.glob("*.wav"))[0]
    status, info = client.upload("voice", path.read_bytes(), path.name)
    assert status == 201 and info["rate"] == 16000 and info["problem"] is None
    status, audio = client.get(f"/api/labels/voice/clips/{info['id']}/audio")
    assert status == 200 and audio == path.read_bytes()
    for profile in PROFILES:  # default, paper, pac-compat, ...
        assert client.post("/api/settings", {"profile": profile})[0] == 200
        status, png = client.get(f"/api/labels/voice/clips/{info['id']}/spectrogram")
        assert status == 200
        expected = clip_image(load_clip(path, PROFILES[profile]), PROFILES[profile])
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), expected)
    assert client.post("/api/settings", {"profile": "nope"})[0] == 400
    assert client.delete(f"/api/labels/voice/clips/{info['id']}")[0] == 200
    assert client.get(f"/api/labels/voice/clips/{info['id']}/audio")[0] == 404
    assert not list((studio.store.root / "labels" / "voice").iterdir())


def test_leftovers_of_a_crash_are_cleaned_but_never_shown(tmp_path):
    project = tmp_path / "p"
    ProjectStore(project).add_label("a")
    (project / "labels" / "a" / ".rec-x.wav.123abc.tmp").write_bytes(b"half")
    (project / "models" / ".m-20250101-000000.k2j3").mkdir()  # pac.fsutil.atomic_dir staging
    (project / "models" / ".m-20250101-000000.k2j3" / "pac.json").write_text("{}")
    (project / ".trash" / "b-1234").mkdir(parents=True)
    with Studio(project, port=0, warm=False) as studio:
        data = Client(studio).project()
        assert (
            [lab["name"] for lab in data["labels"]] == ["a"] and data["labels"][0]["clips"] == [] and not data["models"]
        )
    assert not (project / ".trash").exists() and not list(project.rglob(".*.tmp"))
    assert not list((project / "models").iterdir())


def test_only_localhost_by_default(studio, client):
    assert studio.server.server_address[0] == "127.0.0.1"
    assert studio.url.startswith("http://127.0.0.1:")
    # a page of another site reaching 127.0.0.1 through its own domain name (DNS rebinding)
    status, body = client.get("/api/project", headers={"Host": f"evil.example:{studio.port}"})
    assert status == 403 and "localhost" in body["error"]
    assert client.get("/api/project", headers={"Host": f"localhost:{studio.port}"})[0] == 200
    # changes need the page's header, and the page's own origin
    status, body = client.post("/api/labels", {"name": "x"}, page=False)
    assert status == 403
    status, body = client.post("/api/labels", {"name": "x"}, headers={"Origin": "http://evil.example"})
    assert status == 403
    assert client.project()["labels"] == []
    status, body = client.post("/api/labels", {"name": "x"}, headers={"Origin": f"http://127.0.0.1:{studio.port}"})
    assert status == 201
    # the page forbids loading anything from elsewhere, and framing
    connection = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    response.read()
    csp = response.getheader("Content-Security-Policy")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.getheader("X-Frame-Options") == "DENY"
    connection.close()
    # not reachable on this computer's other addresses
    for address in _other_addresses():
        with pytest.raises(OSError):
            socket.create_connection((address, studio.port), timeout=2).close()


def _other_addresses() -> list[str]:
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing address
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return sorted(a for a in found if not a.startswith("127."))


def test_concurrent_edits_do_not_corrupt_the_project(studio, client):
    for name in ("one", "two"):
        assert client.post("/api/labels", {"name": name})[0] == 201
    clips = [fsdd(1, "george", i).read_bytes() for i in range(8)]
    results = []

    def upload(i):
        results.append(client.upload("one", clips[i], "same-name.wav")[0])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 8
    names = [c["id"] for c in next(lab for lab in client.project()["labels"] if lab["name"] == "one")["clips"]]
    assert len(set(names)) == 8  # unique names for the same uploaded name
    # a rename racing with uploads: every upload lands in a label folder, whole, or is refused cleanly
    statuses = []

    def upload_two():
        for i in range(6):
            statuses.append(client.upload("two", clips[i], "x.wav")[0])

    t = threading.Thread(target=upload_two)
    t.start()
    time.sleep(0.02)
    status, body = client.post("/api/labels/two/rename", {"name": "deux"})
    t.join()
    assert status == 200 and set(statuses) <= {201, 404}
    assert {p.name for p in (studio.store.root / "labels").iterdir()} == {"one", "deux"}
    for path in (studio.store.root / "labels").rglob("*"):
        assert not path.name.startswith("."), path
        if path.is_file():
            assert path.read_bytes() in clips
    assert len(list((studio.store.root / "labels" / "deux").iterdir())) == statuses.count(201)
    # a second tab renaming a label the first tab still shows: a readable 404, nothing changed
    status, body = client.upload("two", clips[0], "late.wav")
    assert status == 404 and "renamed or deleted" in body["error"]
    status, body = client.post("/api/labels", {"name": "ONE"})
    assert status == 409 and "already" in body["error"]


def test_restart_keeps_clips_and_one_studio_per_project(tmp_path):
    project = tmp_path / "p"
    with Studio(project, port=0, warm=False) as first:
        client = Client(first)
        assert client.post("/api/labels", {"name": "alpha"})[0] == 201
        assert client.upload("alpha", fsdd(3, "jackson", 0).read_bytes(), "a.wav")[0] == 201
        with pytest.raises(PacError, match="another pac studio has this project open"):
            Studio(project, port=0, warm=False)
        before = client.project()
    with Studio(project, port=0, warm=False) as second:
        after = Client(second).project()
    assert after["labels"] == before["labels"] and after["path"] == before["path"]


def test_training_needs_enough_clips(studio, client):
    status, body = client.post("/api/train", {"epochs": 2})
    assert status == 409 and "at least 2 labels" in body["error"]
    for name in ("one", "two"):
        client.post("/api/labels", {"name": name})
    client.upload("one", fsdd(1, "george", 0).read_bytes(), "a.wav")
    status, body = client.post("/api/train", {"epochs": 2})
    assert status == 409
    assert "label 'one' has 1 usable clip" in body["error"] and "label 'two' has 0 usable clips" in body["error"]
    conv = {"head": "conv"}
    for bad, says in [
        ({**conv, "epochs": 0}, "epochs must be a whole number from 1 to 1000, not 0"),
        ({**conv, "epochs": "many"}, "epochs must be a whole number, not 'many'"),
        ({**conv, "epochs": float("inf")}, "Infinity"),
        ({**conv, "learning_rate": -1}, "learning rate"),
        ({**conv, "optimizer": "lbfgs"}, "optimizer"),
        ({**conv, "batch_fraction": 2}, "fraction"),
        ({"head": "cnn"}, "model kind"),
        ({"bases": "wav2vec"}, "networks"),
        ({"l2": 0}, "L2"),
        ({"validation_fraction": 0.95}, "validation fraction"),
        ({"seed": -1}, "seed"),
        ({"noise": "folder"}, "folder"),
    ]:
        status, body = client.post("/api/train", bad)
        assert status == 400 and says in body["error"], (bad, body)
    assert client.get("/api/train") == (200, None)


def test_the_page_gets_the_declared_training_options(client):
    """Bounds, defaults, choices and presets of the form come from pac.train_options, not the page."""
    from pac import train_options

    status, declared = client.get("/api/train/options")
    assert status == 200 and declared == train_options.to_json()
    epochs = next(o for o in declared["options"] if o["key"] == "epochs")
    assert (epochs["low"], epochs["high"], epochs["default"], epochs["head"]) == (1, 1000, 50, "conv")


def test_training_options_follow_the_model_kind():
    """The form's options as ``pac train`` takes them: the linear head by default (the conv head's options
    are neither checked nor used), PAC's conv head with its epochs, the validation fraction automatic."""
    from pac.features import PROFILES
    from pac.studio.jobs import StudioTrainOptions
    from pac.train import TrainOptions, resolved

    default = StudioTrainOptions.from_json({})
    assert (default.head, default.bases, default.validation_fraction, default.epochs) == (
        "linear",
        "speech+mobilenet",
        None,
        None,
    )
    assert default.train_options() == TrainOptions()
    assert resolved(default.train_options(), PROFILES["default"]).validation_fraction == 0.0
    # what the page sends for the default model: the conv fields' values are ignored, however odd
    page = StudioTrainOptions.from_json(
        {
            "head": "linear",
            "bases": "speech",
            "epochs": "0",
            "learning_rate": "",
            "optimizer": "lbfgs",
            "batch_fraction": "7",
            "validation_fraction": "",
            "max_shift": "0.05",
            "seed": "3",
        }
    )
    assert page.train_options() == TrainOptions(bases="speech", max_shift=0.05, seed=3)
    conv = StudioTrainOptions.from_json(
        {
            "head": "conv",
            "epochs": "12",
            "learning_rate": "0.0001",
            "optimizer": "SGD",
            "batch_fraction": "0.5",
            "bases": "nonsense",
        }
    )
    assert conv.train_options() == TrainOptions(
        head="conv", epochs=12, learning_rate=1e-4, optimizer="sgd", batch_fraction=0.5
    )
    assert resolved(conv.train_options(), PROFILES["default"]).validation_fraction == 0.2
    held = StudioTrainOptions.from_json({"validation_fraction": 0.25, "noise": "off", "l2": 0.1})
    assert held.train_options() == TrainOptions(validation_fraction=0.25, generated_noise=False, l2=0.1)


def test_cli_studio_serves_the_page(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    import signal

    # --speech-base reaches the studio: the warm-up looks for the speech embedding there (and says so)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pac.cli",
            "studio",
            str(tmp_path / "proj"),
            "--no-browser",
            "--port",
            "0",
            "--speech-base",
            str(tmp_path / "no-speech-here"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        url = None
        printed = []
        deadline = time.time() + 60
        while time.time() < deadline and url is None:
            line = process.stdout.readline()
            if not line:
                break
            printed.append(line)
            if line.startswith("open http://127.0.0.1:"):
                url = line.split()[1]
        assert url, process.stderr.read() if process.poll() is not None else "no URL printed"
        assert "starting" in printed[0], printed  # said at once, before TensorFlow's slow import
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        page = connection.getresponse().read().decode()
        assert "<title>pac studio</title>" in page and "static/studio.js" in page
        for asset in ("studio.js", "studio.css", "wav.js", "recorder.js", "recorder-worklet.js"):
            connection.request("GET", f"/static/{asset}")
            response = connection.getresponse()
            assert response.status == 200 and response.read()
        deadline = time.time() + 120
        while time.time() < deadline:
            connection.request("GET", "/api/project")
            base = json.loads(connection.getresponse().read())["base"]
            if base["state"] in ("ready", "failed"):
                break
            time.sleep(0.2)
        assert base["state"] == "failed" and "--speech-base" in base["message"], base
        assert "embedding_model.onnx" in base["message"], base
        connection.close()
        assert (tmp_path / "proj" / "labels").is_dir() and (tmp_path / "proj" / "studio.json").is_file()
        assert (tmp_path / "proj" / ".studio.lock").read_text().strip() == url
        process.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0 and "stopping pac studio" in err, (out, err)
        assert "InitializeLog" not in err and "cuda" not in err.lower(), err  # TensorFlow's import chatter
        assert (tmp_path / "proj" / ".studio.lock").read_text() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)


def test_cli_warns_when_listening_beyond_localhost(tmp_path, monkeypatch):
    import pac.studio.server as server

    opened = {}

    class FakeStudio:
        def __init__(self, project, **kw):
            opened.update(kw, project=project)
            raise PacError("stop here")

    monkeypatch.setattr(server, "Studio", FakeStudio)
    lines = []
    with pytest.raises(PacError):
        server.run(tmp_path / "p", host="0.0.0.0", port=9999, open_browser=False, echo=lines.append)
    assert opened["host"] == "0.0.0.0" and lines and lines[0].startswith("warning:") and "network" in lines[0]
    lines.clear()
    with pytest.raises(PacError):
        server.run(tmp_path / "p", open_browser=False, echo=lines.append)
    assert opened["host"] == "127.0.0.1" and not lines


# -- the page in headless Chromium ---------------------------------------------------------------------


class Page:
    """Headless Chromium (Selenium) on the studio, with a fake microphone playing ``mic`` in a loop."""

    def __init__(self, url: str, mic: Path | None, workdir: Path, *, flags: tuple = ()):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        from pac.browser import CHROMIUM_FLAGS, find_browser

        try:
            found = find_browser()
        except PacError as exc:
            pytest.fail(str(exc))
        if found.kind == "edge":
            pytest.skip("these tests drive Chrome or Chromium (ChromeDriver)")
        self.url = url
        self.downloads = workdir / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        profile = workdir / "chromium-profile"
        options = webdriver.ChromeOptions()
        options.binary_location = found.browser
        for flag in (
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1280,1000",
            *flags,
        ):
            options.add_argument(flag)
        if mic is None:  # a browser whose user says no to the microphone
            options.add_argument("--deny-permission-prompts")
            options.add_argument("--use-fake-device-for-media-stream")
        else:
            for flag in (
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}",
            ):
                options.add_argument(flag)
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(self.downloads), "download.prompt_for_download": False}
        )
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=found.driver))
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)}
        )
        self.driver.get(url)
        self.wait_loaded("page load")

    def close(self) -> None:
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - best effort
            pass

    # -- basics --
    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, *, timeout: float = 30, what: str = "condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as exc:  # noqa: BLE001 - stale elements while the page re-renders
                last = exc
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what} ({last!r}); messages: {self.messages()}; console: {self.console()}"
        )

    def wait_loaded(self, what: str) -> None:
        self.wait(lambda: self.js("return !!(window.pacStudio && window.pacStudio.state.project)"), what=what)

    def find(self, css):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    @staticmethod
    def again_if_stale(action):
        """``action()``, run again (5 tries) when the page re-rendered an element it found."""
        from selenium.common.exceptions import StaleElementReferenceException

        for attempt in range(5):
            try:
                return action()
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
                time.sleep(0.1)

    def click(self, css):
        def scroll_and_click():  # the page may re-render between finding and clicking
            element = self.find(css)
            self.js("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()

        self.again_if_stale(scroll_and_click)

    def text(self, css) -> str:
        """The text of the element ``css`` finds (found again when the page re-rendered it meanwhile)."""
        return self.again_if_stale(lambda: self.find(css).text)

    def select(self, css, value):
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def messages(self, kind: str = "") -> list[str]:
        beside = ", .field-error" if kind in ("", "error") else ""  # errors shown beside their control
        css = f"#messages .message{'.' + kind if kind else ''}{beside}"
        return self.again_if_stale(lambda: [m.text for m in self.finds(css)])  # a message may be re-rendered

    def clear_messages(self) -> None:
        self.js("document.querySelectorAll('#messages > *, .field-error').forEach((e) => e.remove());")

    def console(self) -> list[str]:
        try:
            return [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser")]
        except Exception:  # noqa: BLE001
            return []

    def view(self, name: str) -> None:
        self.click(f'#tabs a[data-view="{name}"]')
        self.wait(lambda: self.find(f"#view-{name}").is_displayed(), what=f"view {name}")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.js("window.scrollTo(0, 0);")
        height = self.js("return Math.min(4000, document.documentElement.scrollHeight)")
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    # -- labels and clips --
    def card(self, label):
        return self.find(f'.label-card[data-label="{label}"]')

    def clip_count(self, label) -> int:
        return len(self.finds(f'.label-card[data-label="{label}"] .clip'))

    def add_label(self, name: str) -> None:
        field = self.find("#new-label")
        field.clear()
        field.send_keys(name)
        self.click("#add-label")
        self.wait(lambda: self.finds(f'.label-card[data-label="{name}"]'), what=f"label {name}")

    def record(self, label: str) -> None:
        before = self.clip_count(label)
        self.click(f'.label-card[data-label="{label}"] button.record')
        self.wait(lambda: self.clip_count(label) == before + 1, what=f"a recording in {label}")

    def upload(self, label: str, paths) -> None:
        before = self.clip_count(label)
        self.find(f'.label-card[data-label="{label}"] input.upload-input').send_keys("\n".join(map(str, paths)))
        self.wait(lambda: self.clip_count(label) == before + len(paths), what=f"uploads into {label}")

    def drop(self, css: str, name: str, data: bytes) -> None:
        """Drop a file on an element the way a file manager does (DataTransfer with a File)."""
        self.js(
            """
            const target = document.querySelector(arguments[0]);
            const bytes = Uint8Array.from(atob(arguments[2]), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], arguments[1], {type: 'audio/wav'}));
            for (const type of ['dragenter', 'dragover', 'drop']) {
              target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
            }""",
            css,
            name,
            base64.b64encode(data).decode(),
        )

    def form_state(self) -> dict:
        """The training form as the user sees it: the model kind and which fields can be edited."""
        return self.js("""const f = document.querySelector('#train-form');
            return {head: f.querySelector('input[name=head]:checked').value, bases: f.elements.bases.value,
                    bases_disabled: f.elements.bases.disabled, epochs: f.elements.epochs.value,
                    epochs_disabled: f.elements.epochs.disabled, validation: f.elements.validation_fraction.value,
                    epochs_bounds: [f.elements.epochs.min, f.elements.epochs.max], l2: f.elements.l2.value,
                    noise: f.querySelector('input[name=noise]:checked').value,
                    advanced_open: document.querySelector('#advanced').open,
                    profile: document.querySelector('#profile').value};""")

    def images_loaded(self, label: str) -> bool:
        return self.js(
            """return Array.from(document.querySelectorAll(`.label-card[data-label="${arguments[0]}"] .clip img`))
                          .every((img) => img.complete && img.naturalWidth === 224);""",
            label,
        )


def mic_file(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / f"mic-{source.name}"
    shutil.copy(source, target)
    return target


@pytest.fixture(scope="module")
def session_a(tmp_path_factory):
    """First session: labels, recordings (fake microphone says "one"), uploads, drop, train, test, build."""
    work = tmp_path_factory.mktemp("studio-e2e")
    project = work / "classroom"
    seen: dict = {"project": project}
    # the networks' folders given as `pac studio --base DIR --speech-base DIR` gives them (they reach pac build)
    with Studio(project, port=0, base_dir=BASE_DIR, speech_dir=SPEECH_DIR) as studio:
        page = Page(studio.url, mic_file(work, fsdd(1, "george", 0)), work / "a")
        try:
            # 1. labels and clips
            page.select("#clip-seconds", "1")
            page.select("#count-in", "0")
            page.add_label("one")
            page.add_label("seven")
            page.add_label("tmp label")
            page.click('.label-card[data-label="tmp label"] button.rename')
            field = page.find('.label-card[data-label="tmp label"] input.rename-input')
            field.clear()
            field.send_keys("gone\n")
            page.wait(lambda: page.finds('.label-card[data-label="gone"]'), what="renamed label")
            page.click('.label-card[data-label="gone"] button.delete-label')  # with Undo, no confirmation
            page.wait(lambda: not page.finds('.label-card[data-label="gone"]'), what="deleted label")
            for _ in range(3):
                page.record("one")
            page.upload("one", [fsdd(1, "george", i) for i in (1, 2)])
            page.upload("seven", [fsdd(7, "george", i) for i in (0, 1, 2, 3)])
            before = page.clip_count("seven")
            page.drop('.label-card[data-label="seven"]', "dropped seven.wav", fsdd(7, "george", 4).read_bytes())
            page.wait(lambda: page.clip_count("seven") == before + 1, what="the dropped clip")
            # delete a clip
            page.upload("seven", [fsdd(7, "george", 9)])
            extra = page.js("""return Array.from(document.querySelectorAll('.label-card[data-label="seven"] .clip'))
                .map((c) => c.dataset.clip).find((id) => id.endsWith('7_george_9.wav'));""")
            page.click(f'.label-card[data-label="seven"] .clip[data-clip="{extra}"] button.delete')
            page.wait(lambda: page.clip_count("seven") == before + 1, what="the deleted clip to go")
            # the deletes wait for their Undo (8 s); Train sends them first, whenever it is pressed
            # a bad upload: a readable message, nothing added
            bad = work / "not-audio.wav"
            bad.write_bytes(b"definitely not a wav file")
            page.find('.label-card[data-label="seven"] input.upload-input').send_keys(str(bad))
            page.wait(lambda: any("not-audio.wav" in m for m in page.messages("error")), what="the upload error")
            seen["upload_error"] = page.messages("error")
            page.screenshot("1b-upload-error")
            page.clear_messages()
            page.wait(lambda: page.images_loaded("one") and page.images_loaded("seven"), what="spectrograms")
            seen["clips"] = {"one": page.clip_count("one"), "seven": page.clip_count("seven")}
            seen["recorded"] = len(page.finds('.label-card[data-label="one"] .clip.recorded'))
            page.screenshot("1-labels-and-clips")
            page.clear_messages()

            # 2a. training PAC's original head (Advanced), few epochs: CI has 2 cores
            page.view("train")
            seen["form_at_start"] = page.form_state()
            page.click("#advanced summary")
            page.click("input[name=head][value=conv]")
            seen["form_conv"] = page.form_state()
            form = {
                "f-epochs": "12",
                "f-learning_rate": "0.001",
                "f-batch_fraction": "0.4",
                "f-validation_fraction": "0.2",
                "f-max_shift": "0.1",
                "f-seed": "0",
            }
            for field, value in form.items():
                element = page.find(f"#{field}")
                element.clear()
                element.send_keys(value)
            page.select("#f-optimizer", "adam")
            # what the page shows as epochs pass, and what the server reports meanwhile
            page.js("""window.__epochs = [];
                new MutationObserver(() => {
                  const e = document.querySelector('#stat-epoch');
                  if (e && window.__epochs[window.__epochs.length - 1] !== e.textContent) window.__epochs.push(e.textContent);
                }).observe(document.querySelector('#train-progress'), {childList: true, subtree: true});""")
            reported, stop = [], threading.Event()

            def watch(client=Client(studio)):  # noqa: B008 - one client for the watcher's thread
                while not stop.is_set():
                    job = client.get("/api/train")[1]
                    if job and (not reported or reported[-1] != job["epoch"]):
                        reported.append(job["epoch"])
                    time.sleep(0.005)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            page.click("#train-button")
            try:
                page.wait(
                    lambda: page.find("#train-state").get_attribute("data-state") in ("done", "failed"),
                    timeout=300,
                    what="training end",
                )
            finally:
                stop.set()
                watcher.join()
            seen["reported_epochs"] = reported
            seen["shown_epochs"] = page.js("return window.__epochs;")
            # read through wait: the progress block may be re-rendered between find and read (stale)
            seen["train_state"] = page.wait(lambda: page.find("#train-state").get_attribute("data-state"))
            seen["train_text"] = page.wait(lambda: page.text("#train-progress"))
            page.wait(
                lambda: page.js(
                    "return Array.from(document.querySelectorAll('#model-detail img'))"
                    ".every((i) => i.complete && i.naturalWidth > 0) && "
                    "document.querySelectorAll('#model-detail img').length === 2"
                ),
                what="training charts",
            )
            seen["stats"] = {k: page.text(f"#stat-{k}") for k in ("epoch", "loss", "accuracy")}
            seen["conv_chart"] = len(page.finds("#live-chart svg.chart"))
            page.screenshot("2a-train-conv")

            # 2b. training the default model: "pac's defaults", Train
            page.click('[data-preset="product"]')
            seen["form_default"] = page.form_state()
            page.js("""window.__stages = [];
                new MutationObserver(() => {
                  const e = document.querySelector('#train-state');
                  if (e && window.__stages[window.__stages.length - 1] !== e.textContent) window.__stages.push(e.textContent);
                }).observe(document.querySelector('#train-progress'), {childList: true, subtree: true, characterData: true});""")
            page.click("#train-button")
            page.wait(
                lambda: (
                    page.find("#train-state").get_attribute("data-head") == "linear"
                    and page.find("#train-state").get_attribute("data-state") in ("done", "failed")
                ),
                timeout=300,
                what="the default model's training end",
            )
            seen["linear_state"] = page.wait(lambda: page.find("#train-state").get_attribute("data-state"))
            seen["linear_text"] = page.wait(lambda: page.text("#train-progress"))
            seen["linear_stages"] = page.js("return window.__stages;")
            seen["linear_cv"] = page.text("#train-cv-accuracy")
            seen["linear_blocks"] = page.text("#train-blocks")
            seen["linear_stat"] = page.text("#stat-cv-accuracy")
            seen["linear_chart"] = len(page.finds("#live-chart svg.chart"))
            seen["linear_job"] = Client(studio).get("/api/train")[1]
            page.wait(
                lambda: page.js(
                    "return Array.from(document.querySelectorAll('#model-detail img'))"
                    ".every((i) => i.complete && i.naturalWidth > 0) && "
                    "document.querySelectorAll('#model-detail img').length === 1"
                ),
                timeout=120,
                what="the cross-validation confusion matrix",
            )  # slow under load
            seen["linear_detail"] = page.text("#model-detail")
            seen["linear_row"] = page.text(f'.model-row[data-model="{seen["linear_job"]["model_id"]}"]')
            page.screenshot("2-train")

            # 3. testing: a recording ("one") and uploads with the meant label
            page.view("test")
            page.select("#test-expected", "one")
            page.click("#test-record")
            page.wait(lambda: page.finds("#latest-result"), timeout=120, what="the first classification")
            seen["recorded_prediction"] = page.find("#latest-result").get_attribute("data-predicted")
            seen["test_image"] = page.wait(
                lambda: page.js(
                    "const i = document.querySelector('#latest-result img.seen'); return i && i.complete && i.naturalWidth;"
                ),
                what="the test clip's spectrogram",
            )
            page.wait(lambda: len(page.finds("#results-table tbody tr")) == 1, what="results row")
            page.select("#test-expected", "seven")
            page.find("#test-upload").send_keys(str(fsdd(7, "george", 10)))
            page.wait(lambda: len(page.finds("#results-table tbody tr")) == 2, timeout=60, what="second row")
            page.select("#test-expected", "one")
            page.drop("#test-drop", "one-10.wav", fsdd(1, "george", 10).read_bytes())
            page.wait(lambda: len(page.finds("#results-table tbody tr")) == 3, timeout=60, what="third row")
            page.wait(lambda: page.find("#test-accuracy").get_attribute("data-judged") == "3", what="accuracy")
            seen["accuracy_text"] = page.text("#test-summary")
            seen["matrix"] = page.js("""return Array.from(document.querySelectorAll('#confusion-matrix tr')).slice(1)
                .map((row) => Array.from(row.querySelectorAll('td')).map((cell) => cell.textContent));""")
            seen["rows"] = page.js("""return Array.from(document.querySelectorAll('#results-table tbody td.predicted'))
                .map((cell) => cell.textContent);""")
            page.screenshot("3-test")

            # 4. downloads: the model folder always; the .aix when pac build exists
            page.view("download")
            page.wait(lambda: page.finds("#download-zip a"), what="download view")
            page.click("#download-zip a")
            seen["zip"] = page.wait(lambda: [p for p in page.downloads.glob("*.zip")], what="the .zip download")[0]
            # read in one step: the view may redraw between a find and a read (a stale element under load)
            mdl = page.wait(
                lambda: page.js("""const b = document.querySelector('#download-mdl button');
                const n = document.querySelector('#download-mdl .note');
                return b && n && n.innerText ? {disabled: b.disabled, note: n.innerText} : null;"""),
                what="the .mdl export's note",
            )
            seen["mdl_button_disabled"], seen["mdl_note"] = mdl["disabled"], mdl["note"]
            page.click("#download-aix button.build")
            page.wait(
                lambda: page.finds("#download-aix a") or page.finds("#download-aix .note.error"),
                timeout=900,
                what="the .aix build",
            )
            seen["aix_error"] = page.js(
                "return Array.from(document.querySelectorAll('#download-aix .note.error')).map((e) => e.innerText);"
            )
            if not seen["aix_error"]:
                page.click("#download-aix a")
                seen["aix"] = page.wait(
                    lambda: [p for p in page.downloads.glob("*.aix")], timeout=60, what="the .aix download"
                )[0]
            page.screenshot("4-download")
            seen["errors_on_page"] = page.messages("error")
            seen["console"] = [line for line in page.console() if "SEVERE" in line]

            # reload: everything is still there
            page.driver.refresh()
            page.wait_loaded("reload")
            page.view("clips")
            seen["clips_after_reload"] = {"one": page.clip_count("one"), "seven": page.clip_count("seven")}
        finally:
            page.close()
        seen["project_json"] = Client(studio).project()
        seen["files"] = snapshot(project / "labels")
        seen["models"] = sorted(p.name for p in (project / "models").iterdir())
    return seen


@pytest.mark.slow
def test_browser_labels_recording_uploads_training_testing(session_a):
    s = session_a
    assert s["clips"] == {"one": 5, "seven": 5} and s["recorded"] == 3
    assert [lab["name"] for lab in s["project_json"]["labels"]] == ["one", "seven"]
    assert any("not-audio.wav" in m and "not a WAV file" in m for m in s["upload_error"])
    recorded = [f for f in s["files"] if f.startswith("one/rec-")]
    assert len(recorded) == 3
    from pac.audio import decode_wav

    for name in recorded:
        audio = decode_wav(s["files"][name], name=name)
        assert audio.channels == 1 and 0.95 < audio.duration < 1.05 and np.abs(audio.samples).max() > 0.05
    # the form offers the default model first; PAC's head (Advanced) has the epochs
    assert s["form_at_start"] == {
        "head": "linear",
        "bases": "speech+mobilenet",
        "bases_disabled": False,
        "epochs": "50",
        "epochs_disabled": True,
        "validation": "",
        "noise": "generated",
        "epochs_bounds": ["1", "1000"],
        "l2": "0.1",
        "advanced_open": False,
        "profile": "default",
    }, s["form_at_start"]
    assert (
        s["form_conv"]["head"] == "conv" and not s["form_conv"]["epochs_disabled"] and s["form_conv"]["bases_disabled"]
    )
    assert s["form_default"] == {**s["form_at_start"], "advanced_open": True}, s["form_default"]
    # PAC's head: epochs as they pass, curves
    assert s["reported_epochs"][-1] == 12 and any(0 < e < 12 for e in s["reported_epochs"]), s["reported_epochs"]
    assert s["shown_epochs"][-1] == "12/12", s["shown_epochs"]
    assert s["train_state"] == "done", s["train_text"]
    assert s["stats"]["epoch"] == "12/12" and float(s["stats"]["loss"]) >= 0 and s["conv_chart"] == 1
    # the default model: features clip by clip, then the cross-validated accuracy and the networks chosen
    assert s["linear_state"] == "done", s["linear_text"]
    features = [t for t in s["linear_stages"] if t.startswith("features: clip ")]
    # the page polls every 600 ms, so a fast features step may show one "clip i of 10" only; the
    # API test of training progress checks every clip's step
    assert len(features) >= 1 and all(t.endswith(" of 10") for t in features), s["linear_stages"]
    assert s["linear_stages"][-1] == "Done: the new model is ready.", s["linear_stages"]
    job = s["linear_job"]
    assert job["head"] == "linear" and job["state"] == "done"
    report = json.loads((s["project"] / "models" / job["model_id"] / "report.json").read_text())
    manifest = json.loads((s["project"] / "models" / job["model_id"] / "pac.json").read_text())
    accuracy = f"{round(100 * report['cross_validation']['accuracy'])}%"
    assert s["linear_cv"] == s["linear_stat"] == accuracy, (s["linear_cv"], accuracy)
    names = {"speech": "speech embedding", "mobilenet": "MobileNet", "mobilenet_rows": "MobileNet by frequency row"}
    assert s["linear_blocks"] == " + ".join(
        f"{names[b['name']]} (weight {b['weight']:g})" for b in manifest["head"]["blocks"]
    ), s["linear_blocks"]
    assert manifest["format_version"] == 2 and report["validation"] is None and len(report["clips"]["training"]) == 10
    assert s["linear_chart"] == 0  # no epochs, no curves
    # FSDD's clips are 8 kHz: the model ignores what they cannot hold, and the page says so
    band = "the lowest sample rate of the clips is 8,000 Hz: the model ignores frequencies above 4000 Hz"
    assert manifest["features"]["f_limit"] == 4000 and band in job["note"] and band in s["linear_text"]
    assert "Cross-validation: each of its 10 training clips" in s["linear_detail"], s["linear_detail"]
    assert f"cross-validated accuracy {accuracy}" in s["linear_row"], s["linear_row"]
    assert len(s["models"]) == 2
    assert s["recorded_prediction"] == "one"  # the fake microphone plays george's "one"
    assert s["test_image"] == 224
    assert len(s["rows"]) == 3 and set(s["rows"]) <= {"one", "seven"}
    assert "of 3 clips" in s["accuracy_text"]
    assert sum(int(c) for row in s["matrix"] for c in row) == 3
    assert s["clips_after_reload"] == s["clips"]
    assert not s["errors_on_page"], s["errors_on_page"]
    assert not [c for c in s["console"] if "Uncaught" in c], s["console"]
    with zipfile.ZipFile(s["zip"]) as archive:
        names = {Path(n).name for n in archive.namelist()}
        tested = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("/pac.json"))))
    assert {"model.json", "group1-shard1of1.bin", "pac.json", "report.json", "confusion.png"} <= names
    assert tested["format_version"] == 2  # the default model is the one tested and downloaded
    # the default model cannot become a .mdl (MIT's extension runs PAC's head on its own spectrogram)
    assert s["mdl_button_disabled"]
    assert "pac-compat" in s["mdl_note"] and "PAC's original head" in s["mdl_note"], s["mdl_note"]


@pytest.mark.slow
def test_browser_download_aix_passes_pac_verify(session_a, tmp_path):
    assert not session_a.get("aix_error"), session_a.get("aix_error")
    from pac.cli import main

    # the .aix's own page (in Chromium) must classify the clips recorded in the browser as pac does
    clips = tmp_path / "clips"
    for name, data in session_a["files"].items():
        label, file = name.split("/")
        if file.startswith("rec-") or (label == "seven" and file.endswith("seven.wav")):
            (clips / label).mkdir(parents=True, exist_ok=True)
            (clips / label / file).write_bytes(data)
    assert main(["verify", str(session_a["aix"]), "--clips", str(clips)]) == 0


@pytest.mark.slow
def test_browser_server_restart_keeps_everything(session_a, tmp_path):
    """A new server on the same folder, a new browser (its microphone says "seven")."""
    project = session_a["project"]
    with Studio(project, port=0) as studio:
        page = Page(studio.url, mic_file(tmp_path, fsdd(7, "george", 5)), tmp_path / "b")
        try:
            data = Client(studio).project()
            assert [lab["clips"] for lab in data["labels"]] == [
                lab["clips"] for lab in session_a["project_json"]["labels"]
            ]
            assert [m["id"] for m in data["models"]] == session_a["models"]
            assert page.clip_count("one") == 5 and page.clip_count("seven") == 5
            page.select("#clip-seconds", "2")
            page.select("#count-in", "1")
            before = page.clip_count("seven")
            page.click('.label-card[data-label="seven"] button.record')
            page.wait(lambda: "Get ready" in page.text("#rec-count"), what="the count-in")
            page.screenshot("1d-recording-count-in")
            page.wait(lambda: page.text("#rec-count").startswith("●"), what="the recording countdown")
            page.screenshot("1e-recording")
            page.wait(lambda: page.clip_count("seven") == before + 1, what="the recording")
            page.select("#clip-seconds", "1")
            page.select("#count-in", "0")
            page.view("test")
            page.wait(lambda: len(page.finds("#results-table tbody tr")) == 3, what="the earlier test results")
            page.select("#test-expected", "seven")
            page.click("#test-record")
            page.wait(lambda: len(page.finds("#results-table tbody tr")) == 4, timeout=120, what="a new test row")
            predicted = page.find("#latest-result").get_attribute("data-predicted")
            page.view("train")
            page.wait(lambda: len(page.finds("#model-detail img")) == 1, what="the model's confusion matrix")
            page.screenshot("5-after-restart-train")
        finally:
            page.close()
    assert predicted in ("one", "seven")
    assert len(list((project / "labels" / "seven").glob("rec-*.wav"))) == 1
    assert snapshot(project / "labels").items() >= session_a["files"].items()  # nothing lost or changed


@pytest.mark.slow
def test_browser_microphone_refused_is_explained(tmp_path):
    with Studio(tmp_path / "p", port=0, warm=False) as studio:
        page = Page(studio.url, None, tmp_path / "c")
        try:
            page.select("#count-in", "0")
            page.add_label("yes")
            page.click('.label-card[data-label="yes"] button.record')
            page.wait(lambda: any("microphone" in m for m in page.messages("error")), what="the microphone error")
            errors = page.messages("error")
            page.screenshot("1c-microphone-refused")
            page.clear_messages()
            # too few clips: the train view says what is missing, and Train is disabled
            page.view("train")
            problems = page.text("#train-problems")
            disabled = page.find("#train-button").get_attribute("disabled") is not None
            page.screenshot("2b-train-not-ready")
        finally:
            page.close()
    assert any("did not allow the microphone" in m and "upload WAV files" in m for m in errors), errors
    assert not list((studio.store.root / "labels" / "yes").iterdir())
    assert disabled and "make at least 2 labels" in problems and "label 'yes' has 0 usable clips" in problems


@pytest.mark.slow
def test_browser_train_right_after_deletes_waiting_for_undo(tmp_path, monkeypatch):
    """Deletes wait 8 s for their Undo before reaching the server.  The Train step shows what the page
    shows meanwhile: a deleted label is gone from its counts and problems (an empty label used to keep
    Train disabled, and its row's removal 8 s later moved the button: a click then started nothing),
    a deleted clip no longer counts; the first click on Train sends the deletes, then trains on what is
    shown, and the button stays where it was.  The training is a stand-in: what the page does is tested."""
    import pac.studio.jobs as jobs

    trained_on = []

    def stand_in(self, job, options):
        trained_on.append({p.name: len(list(p.glob("*.wav"))) for p in sorted((self.store.root / "labels").iterdir())})
        job.stage = "done"
        job.finish("done")

    monkeypatch.setattr(jobs.Jobs, "_train_now", stand_in)
    with Studio(tmp_path / "p", port=0, warm=False) as studio:
        client = Client(studio)
        for label, digit, n in (("one", 1, 3), ("seven", 7, 2)):
            assert client.post("/api/labels", {"name": label})[0] == 201
            for i in range(n):
                assert client.upload(label, fsdd(digit, "george", i).read_bytes(), f"{digit}-{i}.wav")[0] == 201
        assert client.post("/api/labels", {"name": "gone"})[0] == 201  # no clips: training needs it gone
        page = Page(studio.url, None, tmp_path / "b")
        shown = """const b = document.querySelector('#train-button');
            return {disabled: b.disabled, top: Math.round(b.getBoundingClientRect().top),
                    rows: Array.from(document.querySelectorAll('#train-data td')).map((td) => td.textContent),
                    problems: Array.from(document.querySelectorAll('#train-problems li')).map((li) => li.textContent)};"""
        try:
            # the empty label and a clip of "seven" (2 clips, the minimum) deleted, both waiting for Undo
            page.click('.label-card[data-label="gone"] button.delete-label')
            page.click('.label-card[data-label="seven"] .clip button.delete')
            page.view("train")
            both_deleted = page.js(shown)
            page.js("""Array.from(document.querySelectorAll('#messages .undoable'))
                .find((m) => m.textContent.includes('clip')).querySelector('button.undo').click();""")
            page.wait(lambda: not page.js(shown)["disabled"], what="Train enabled after Undo")
            before = page.js(shown)
            before["waiting"] = len(page.finds("#messages .undoable:not(.leaving)"))
            page.click("#train-button")  # the label's delete is still waiting: Train sends it, then trains
            page.wait(lambda: page.find("#train-state").get_attribute("data-state") == "done", what="training")
            time.sleep(0.5)
            after = page.js(shown)
            errors = page.messages("error")
        finally:
            page.close()
    assert both_deleted["rows"] == ["one", "3", "seven", "1"] and both_deleted["disabled"], both_deleted
    assert both_deleted["problems"] == [
        "label 'seven' has 1 usable clip; record or upload at least 2 (5 or more work better)"
    ], both_deleted
    assert before["rows"] == ["one", "3", "seven", "2"] and not before["problems"] and not before["disabled"], before
    assert before["waiting"] == 1, before  # the label's delete had not reached the server when Train was pressed
    assert trained_on == [{"one": 3, "seven": 2}], trained_on  # it did before training started
    assert after["top"] == before["top"] and after["rows"] == before["rows"], (before, after)
    assert not errors, errors


@pytest.mark.slow
def test_browser_label_rename_in_its_card(tmp_path):
    """Rename turns the label's name into a field in its card (its text selected): Escape keeps the old
    name, a name the studio refuses leaves its reason beside the field (and the label as it was), Enter
    saves; the focus goes back to the card's Rename button.  No prompt() dialog."""
    from selenium.webdriver.common.keys import Keys

    from test_studio_ui import keys

    with Studio(tmp_path / "p", port=0, warm=False) as studio:
        page = Page(studio.url, None, tmp_path / "b")
        card = '.label-card[data-label="{}"]'.format
        try:
            page.add_label("one")
            page.add_label("cat")
            page.click(f"{card('cat')} button.rename")
            field = page.find(f"{card('cat')} input.rename-input")
            opened = page.js(
                "const e = document.activeElement; return [e.className, e.value, e.selectionStart, e.selectionEnd];"
            )
            keys(page, "dog", Keys.ESCAPE)
            page.wait(lambda: not page.finds(f"{card('cat')} input.rename-input"), what="Escape")
            escaped = {"labels": label_names(page), "focus": page.js("return document.activeElement.className;")}
            page.click(f"{card('cat')} button.rename")
            keys(page, "one", Keys.ENTER)  # a label of that name exists
            error = page.wait(lambda: page.find(f"{card('cat')} .rename-form .field-error").text, what="the error")
            refused = {"labels": label_names(page), "still_open": bool(page.finds(f"{card('cat')} input.rename-input"))}
            field = page.find(f"{card('cat')} input.rename-input")
            field.clear()
            field.send_keys("dog", Keys.ENTER)
            page.wait(lambda: page.finds(card("dog")), what="the renamed label")
            # the focus comes back to Rename after the page's refresh (a background refresh may redraw first)
            focus = page.wait(
                lambda: (f := page.js("return document.activeElement.className;")) == "rename" and f,
                what="the focus on the renamed label's Rename",
            )
            saved = {"labels": label_names(page), "focus": focus}
        finally:
            page.close()
    assert opened == ["rename-input", "cat", 0, 3], opened  # the old name, selected: typing replaces it
    assert escaped == {"labels": ["one", "cat"], "focus": "rename"}, escaped
    assert error and refused == {"labels": ["one", "cat"], "still_open": True}, (error, refused)
    assert saved == {"labels": ["one", "dog"], "focus": "rename"}, saved
    assert [p.name for p in sorted((studio.store.root / "labels").iterdir())] == ["dog", "one"]


def label_names(page) -> list[str]:
    return page.js("return Array.from(document.querySelectorAll('.label-card')).map((c) => c.dataset.label);")


@pytest.mark.slow
def test_training_with_background_noise_options(studio, client):
    """Every noise source reaches pac.train.fit: generated noise (the default), the room's recordings
    instead once Record the room has stored some (the job's note says so), none, the label's clips, or
    a folder on the computer."""
    for name in ("one", "seven", "_background_noise_"):
        client.post("/api/labels", {"name": name})
    for i in range(3):
        client.upload("one", fsdd(1, "jackson", i).read_bytes(), "o.wav")
        client.upload("seven", fsdd(7, "jackson", i).read_bytes(), "s.wav")
    noise = sorted((DATA / "background_noise" / "exercise_bike").glob("*.wav"))
    for path in noise[:2]:
        client.upload("_background_noise_", path.read_bytes(), path.name)
    base = {"epochs": 1, "validation_fraction": 0, "max_shift": 0}
    reports, notes = {}, {}
    for noise_option in (
        {},
        {"noise": "generated", "room": True},
        {"noise": "off"},
        {"noise": "label"},
        {"noise": "folder", "noise_folder": str(DATA / "background_noise" / "doing_the_dishes")},
    ):
        if noise_option.pop("room", False):  # a recording of the room, as Record the room stores it
            client.upload("_background_noise_", noise[2].read_bytes(), noise[2].name, source="room")
        status, job = client.post("/api/train", {**base, **noise_option})
        assert status == 202, job
        job = wait_job(client, "/api/train", timeout=300)
        assert job["state"] == "done", job
        report = json.loads((studio.store.root / "models" / job["model_id"] / "report.json").read_text())
        reports[noise_option.get("noise", "default")] = report
        notes[noise_option.get("noise", "default")] = job["note"] or ""
    assert reports["off"]["labels"] == ["_background_noise_", "one", "seven"]
    assert reports["off"]["examples"] == 9 and reports["off"]["noise"] is None
    assert reports["default"]["examples"] == 16 and reports["default"]["noise"] == "generated"
    # with a recording of the room: the same copies, the room's noise instead of the generated noise
    assert reports["generated"]["examples"] == 18 and reports["generated"]["noise"] == "room"
    assert "the room's own, from 1 recording of the room" in notes["generated"]
    assert "background noise: generated (white, pink and brown), not the room's: recordings" in notes["default"]
    assert "room" not in notes["label"] + notes["off"] + notes["folder"]
    assert reports["label"]["examples"] == reports["folder"]["examples"] == 18  # one noisy copy of each clip
    assert reports["label"]["noise"] == "label" and reports["label"]["noise_clips"] == 3  # the label's clips
    assert reports["folder"]["noise"] == "folder"
    models = client.project()["models"]
    assert [m["name"] for m in models] == ["Model 1", "Model 2", "Model 3", "Model 4", "Model 5"]
    assert client.delete(f"/api/models/{models[0]['id']}")[0] == 200
    assert [m["id"] for m in client.project()["models"]] == [m["id"] for m in models[1:]]


def watch_job(client, url: str = "/api/train", timeout: float = 600) -> tuple[dict, list[dict]]:
    """Poll a job until it ends: the last state and every distinct (stage, epoch, features) seen."""
    deadline = time.time() + timeout
    seen: list[dict] = []
    job = client.get(url)[1]
    while True:
        if not seen or [seen[-1][k] for k in ("stage", "epoch", "features_done")] != [
            job[k] for k in ("stage", "epoch", "features_done")
        ]:
            seen.append(job)
        if job["state"] != "running" or time.time() > deadline:
            return job, seen
        time.sleep(0.005)
        job = client.get(url)[1]


def add_digits(client, digits: dict, speaker: str, indices) -> None:
    for label, digit in digits.items():
        client.post("/api/labels", {"name": label})
        for i in indices:
            status, info = client.upload(label, fsdd(digit, speaker, i).read_bytes(), f"{digit}_{i}.wav")
            assert status == 201, info


@pytest.mark.slow
def test_default_training_is_the_linear_head_with_cross_validation(studio, client):
    """The default model through the API: feature progress clip by clip, then a format-2 model whose
    report holds the cross-validation; every clip trains; the test view classifies with it as pac does."""
    from pac.classifier import Classifier

    add_digits(client, {"one": 1, "seven": 7, "nine": 9}, "lucas", range(5, 9))  # clips no other test uses
    status, job = client.post("/api/train", {})
    assert status == 202, job
    assert job["head"] == "linear" and job["epochs"] == 0 and job["options"]["validation_fraction"] is None
    job, seen = watch_job(client)
    assert job["state"] == "done", job
    stages = [s["stage"] for s in seen]
    progress = [s["stage"] for s in seen if s["stage"].startswith("features: clip ")]
    # the page hears of every few clips (a poll every 5 ms; a clip's features take far longer)
    assert len(progress) >= 4 and progress[-1] in ("features: clip 12 of 12", "features: clip 11 of 12"), stages
    assert all(s.endswith(" of 12") for s in progress), progress
    assert [int(s.split()[2]) for s in progress] == sorted(int(s.split()[2]) for s in progress)
    assert any(0 < s["features_done"] < 12 and s["features_total"] == 12 for s in seen), seen
    assert stages.index(progress[-1]) < stages.index("saving the model") < stages.index("done")
    assert not any("epoch" in s for s in stages) and job["epoch"] == 0 and job["history"]["loss"] == []
    folder = studio.store.root / "models" / job["model_id"]
    manifest = json.loads((folder / "pac.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    assert manifest["format_version"] == 2 and manifest["head"]["kind"] == "linear"
    cv = report["cross_validation"]
    assert cv["folds"] == 4 and len(cv["clips"]) == 12 and sum(map(sum, cv["confusion"])) == 12
    assert (
        len(report["clips"]["training"]) == 12 and report["clips"]["validation"] == [] and report["validation"] is None
    )
    assert not (folder / "curves.png").exists() and (folder / "confusion.png").is_file()
    # what the job and the model list show: the cross-validated accuracy and the blocks chosen
    used = [{"name": b["name"], "weight": b["weight"]} for b in manifest["head"]["blocks"]]
    assert job["result"]["accuracy"] == cv["accuracy"] and job["result"]["folds"] == 4
    assert manifest["features"]["f_limit"] == 4000 and job["note"] == (
        "every clip trains; cross-validation over the clips estimates the accuracy; the lowest sample rate of "
        "the clips is 8,000 Hz: the model ignores frequencies above 4000 Hz (a clip at that rate has none)"
    )
    assert job["result"]["blocks"] == used and job["result"]["clips"] == 12
    assert len(job["result"]["candidates"]) == len(JOINED_WEIGHTINGS)  # both networks: every weighting compared
    model = client.project()["models"][0]
    assert model["head"] == "linear" and model["format_version"] == 2 and model["blocks"] == used
    assert model["cross_validation"]["accuracy"] == cv["accuracy"] and model["cross_validation"]["clips"] == 12
    assert model["clips"] == {"one": 4, "seven": 4, "nine": 4} and model["files"] == ["confusion.png"]
    assert [c["weights"] for c in model["candidates"]] == [c["weights"] for c in report["head"]["candidates"]]
    # the test view classifies with the linear model, as pac's Classifier (pac predict) does
    expected = Classifier(folder)
    for digit, label in ((1, "one"), (7, "seven"), (9, "nine")):
        path = fsdd(digit, "lucas", 19)
        status, entry = client.post(
            f"/api/models/{job['model_id']}/classify?expected={label}",
            path.read_bytes(),
            headers={"X-Clip-Source": "uploaded"},
        )
        assert status == 201, entry
        want = expected.classify_files([path])[0]
        assert [lab for lab, _ in entry["result"]] == [lab for lab, _ in want]
        assert np.allclose([p for _, p in entry["result"]], [p for _, p in want], atol=1e-5)
    summary = client.get(f"/api/models/{job['model_id']}/tests")[1]["summary"]
    assert summary["judged"] == 3 and summary["correct"] >= 2, summary


@pytest.mark.slow
def test_linear_head_on_one_network_and_with_validation_clips(studio, client):
    """ "Which networks": one network only loads and uses only it; a validation fraction holds clips out."""
    add_digits(client, {"one": 1, "two": 2}, "nicolas", range(10, 15))
    status, job = client.post(
        "/api/train", {"bases": "speech", "validation_fraction": 0.2, "max_shift": 0, "noise": "off"}
    )
    assert status == 202, job
    job, seen = watch_job(client)
    assert job["state"] == "done", job
    assert any(s["stage"] == "loading the speech embedding" for s in seen) or not any(
        s["stage"].startswith("loading") for s in seen
    ), [s["stage"] for s in seen]
    assert job["result"]["blocks"] == [{"name": "speech", "weight": 1.0}] and len(job["result"]["candidates"]) == 1
    folder = studio.store.root / "models" / job["model_id"]
    manifest = json.loads((folder / "pac.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    assert [b["name"] for b in manifest["head"]["blocks"]] == ["speech"] and "base" not in manifest
    assert len(report["clips"]["validation"]) == 2 and len(report["cross_validation"]["clips"]) == 8
    assert report["validation"]["accuracy"] is not None
    model = client.project()["models"][0]
    assert model["validation"]["accuracy"] == report["validation"]["accuracy"] and model["clips"] == {
        "one": 5,
        "two": 5,
    }
    # cross-validation needs 2 training clips per label: a fraction leaving 1 is refused before training
    status, body = client.post("/api/train", {"validation_fraction": 0.9})
    assert status == 409 and "cross-validation needs 2" in body["error"], body


@pytest.mark.slow
def test_warm_up_loads_the_default_models_networks(tmp_path):
    """The studio loads TensorFlow, MobileNet and the speech embedding in the background at start (what
    the default model needs), and the page's status says so."""
    with Studio(tmp_path / "p", port=0, base_dir=BASE_DIR, speech_dir=SPEECH_DIR) as studio:
        client = Client(studio)
        deadline = time.time() + 300
        while time.time() < deadline and client.project()["base"]["state"] not in ("ready", "failed"):
            time.sleep(0.1)
        status = client.project()["base"]
    assert status == {"state": "ready", "message": None, "networks": ["mobilenet", "speech"]}, status


@pytest.mark.slow
def test_aix_export_gets_the_studios_speech_base(tmp_path):
    """`pac studio --speech-base DIR` reaches `pac build`: a studio pointed at a folder without the speech
    embedding cannot build a model that uses it, and says which option named that folder."""
    project = tmp_path / "p"
    with Studio(project, port=0, warm=False, speech_dir=SPEECH_DIR) as studio:
        client = Client(studio)
        add_digits(client, {"one": 1, "two": 2}, "nicolas", range(10, 13))
        assert client.post("/api/train", {"bases": "speech", "noise": "off", "max_shift": 0})[0] == 202
        job = wait_job(client, "/api/train")
        assert job["state"] == "done", job
        model = job["model_id"]
    empty = tmp_path / "no-speech-here"
    empty.mkdir()
    with Studio(project, port=0, warm=False, speech_dir=empty) as studio:
        client = Client(studio)
        assert client.post(f"/api/models/{model}/export/aix")[0] == 202
        job = wait_job(client, f"/api/models/{model}/export/aix", timeout=900)
    assert job["state"] == "failed", job
    assert "--speech-base" in job["error"] and "embedding_model.onnx" in job["error"], job
    assert not list((project / "exports").rglob("*.aix"))


def test_exports_run_in_a_studio_thread_and_show_the_pac_error(studio, client, monkeypatch):
    """An export calls the library function of its ``pac`` command in a thread of the studio (no child
    process): its PacError is the job's error (project paths shortened), its progress lines the detail;
    an unknown kind is a 404 and every known kind is offered."""
    import pac.aix

    model = studio.store.root / "models" / "m-1"
    model.mkdir(parents=True)
    (model / "pac.json").write_text("{}")
    calls = []

    def failing_build(model_dir, output, *, base_dir=None, speech_dir=None, echo=None):
        calls.append((Path(model_dir).name, Path(output).suffix, threading.current_thread().name))
        echo("building the App Inventor component")
        raise PacError("the head is broken", path=Path(model_dir) / "model.json")

    monkeypatch.setattr(pac.aix, "build_aix", failing_build)
    assert client.post("/api/models/m-1/export/aix")[0] == 202
    job = wait_job(client, "/api/models/m-1/export/aix", timeout=60)
    assert calls == [("m-1", ".aix", "pac-studio-aix")]
    assert job["state"] == "failed" and job["error"] == "pac build failed: models/m-1/model.json: the head is broken", (
        job
    )
    assert job["detail"] == "building the App Inventor component"
    assert not list((studio.store.root / "exports").rglob("*.aix"))
    assert client.post("/api/models/m-1/export/zip")[0] == 404
    assert {kind: support["available"] for kind, support in client.project()["exports"].items()} == {
        "aix": True,
        "mdl": True,
    }
    assert export_support("mdl")["note"] == "made by `pac export-mdl`"


@pytest.mark.slow
def test_conv_head_still_trains_with_epochs(studio, client):
    """PAC's head (Advanced): epochs reported one by one, curves, a format-1 model; with 5 clips a label
    every clip trains (the automatic 0.2 validation only from 10 clips a label), and the job says so."""
    add_digits(client, {"one": 1, "seven": 7}, "jackson", range(10, 15))
    status, job = client.post(
        "/api/train", {"head": "conv", "epochs": 6, "learning_rate": 0.001, "max_shift": 0, "bases": "ignored for conv"}
    )
    assert status == 202 and job["head"] == "conv" and job["epochs"] == 6, job
    job, seen = watch_job(client)
    assert job["state"] == "done", job
    epochs = [s["epoch"] for s in seen]
    assert epochs[-1] == 6 and any(0 < e < 6 for e in epochs), epochs
    assert "training: epoch 6 of 6" in [s["stage"] for s in seen] or epochs[-1] == 6
    assert job["result"] is None and len(job["history"]["loss"]) == 6
    folder = studio.store.root / "models" / job["model_id"]
    manifest = json.loads((folder / "pac.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    assert manifest["format_version"] == 1 and "cross_validation" not in report
    assert report["options"]["head"] == "conv" and report["options"]["validation_fraction"] == 0.0
    assert report["clips"]["validation"] == [] and len(report["clips"]["training"]) == 10
    assert len(report["history"]["loss"]) == 6 and "every clip trains" in job["note"], job
    assert (folder / "curves.png").is_file() and not (folder / "confusion.png").is_file()
    model = client.project()["models"][0]
    assert model["head"] == "conv" and model["blocks"] == [] and model["cross_validation"] is None
    assert model["files"] == ["curves.png"]
    status, entry = client.post(
        f"/api/models/{job['model_id']}/classify",
        fsdd(7, "jackson", 19).read_bytes(),
        headers={"X-Clip-Source": "uploaded"},
    )
    assert status == 201 and {lab for lab, _ in entry["result"]} == {"one", "seven"}


def wait_job(client, url: str, timeout: float = 600) -> dict:
    deadline = time.time() + timeout
    job = client.get(url)[1]
    while job and job["state"] == "running" and time.time() < deadline:
        time.sleep(0.2)
        job = client.get(url)[1]
    return job


@pytest.mark.slow
def test_mdl_export_of_a_pac_compat_model(studio, client, tmp_path):
    """The .mdl download works for a model on MIT's spectrogram (pac-compat), and round-trips."""
    from pac.features import PROFILES

    for name in ("one", "two"):
        client.post("/api/labels", {"name": name})
        for i in range(2):
            client.upload(name, fsdd(1 if name == "one" else 2, "lucas", i).read_bytes(), "x.wav")
    assert client.post("/api/settings", {"profile": "pac-compat"})[0] == 200
    # MIT's spectrogram only goes with PAC's conv head: the default model is refused with the way out
    status, body = client.post("/api/train", {})
    assert status == 409 and "PAC's original head (paper)" in body["error"] and "Advanced" in body["error"], body
    status, job = client.post(
        "/api/train", {"head": "conv", "epochs": 2, "learning_rate": 0.0001, "validation_fraction": 0}
    )
    assert status == 202
    job = wait_job(client, "/api/train")
    assert job["state"] == "done", job
    model = job["model_id"]
    assert client.project()["models"][0]["export_problems"] == {"aix": None, "mdl": None}
    status, job = client.post(f"/api/models/{model}/export/mdl")
    assert status == 202
    job = wait_job(client, f"/api/models/{model}/export/mdl")
    assert job["state"] == "done" and job["file"].endswith(".mdl"), job
    status, data = client.get(f"/api/models/{model}/download/mdl")
    assert status == 200 and data[:2] == b"PK"
    (tmp_path / "m.mdl").write_bytes(data)
    from pac.cli import main

    assert main(["import-mdl", str(tmp_path / "m.mdl"), "-o", str(tmp_path / "back")]) == 0
    assert json.loads((tmp_path / "back" / "pac.json").read_text())["labels"] == ["one", "two"]
    # a model on another profile is refused with the reason, before anything runs
    other = studio.store.root / "models" / f"{model}-2"
    shutil.copytree(studio.store.root / "models" / model, other)
    manifest = json.loads((other / "pac.json").read_text())
    manifest["features"] = {**manifest["features"], **PROFILES["default"].to_dict()}
    (other / "pac.json").write_text(json.dumps(manifest))
    assert client.project()["models"][1]["export_problems"]["mdl"].startswith("only models trained with")
    status, body = client.post(f"/api/models/{other.name}/export/mdl")
    assert status == 409 and "pac-compat" in body["error"] and "'default'" in body["error"]


@pytest.mark.slow
def test_training_can_be_cancelled(studio, client):
    for name in ("a", "b"):
        client.post("/api/labels", {"name": name})
        for i in range(2):
            client.upload(name, fsdd(4 if name == "a" else 5, "nicolas", i).read_bytes(), "x.wav")
    # PAC's conv head: between epochs
    status, job = client.post("/api/train", {"head": "conv", "epochs": 1000, "max_shift": 0, "validation_fraction": 0})
    assert status == 202
    deadline = time.time() + 120
    while time.time() < deadline and client.get("/api/train")[1]["epoch"] < 1:
        time.sleep(0.05)
    status, body = client.post("/api/train", {"epochs": 1})
    assert status == 409 and "already" in body["error"]
    client.post("/api/train/cancel")
    job = wait_job(client, "/api/train")
    assert job["state"] == "cancelled" and 1 <= job["epoch"] < 1000
    assert client.project()["models"] == [] and not list((studio.store.root / "models").iterdir())
    # the default model: between clips, while their features are computed (clips no earlier run cached)
    for name in ("a", "b"):
        for i in range(2, 6):
            client.upload(name, fsdd(4 if name == "a" else 5, "nicolas", i).read_bytes(), "x.wav")
    status, job = client.post("/api/train", {})
    assert status == 202 and job["head"] == "linear"
    deadline = time.time() + 120
    while time.time() < deadline and client.get("/api/train")[1]["features_done"] < 1:
        time.sleep(0.02)
    client.post("/api/train/cancel")
    job = wait_job(client, "/api/train")
    assert job["state"] == "cancelled" and 1 <= job["features_done"] < job["features_total"] == 12, job
    assert client.project()["models"] == [] and not list((studio.store.root / "models").iterdir())


def test_other_methods_and_negative_lengths_get_a_clear_4xx(studio):
    """PUT, PATCH, OPTIONS, TRACE get 405 with an Allow header (they got no reply at all before);
    Content-Length -1 is refused at once instead of reading until the client stops."""
    for method in ("PUT", "PATCH", "OPTIONS", "TRACE"):
        connection = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=10)
        connection.request(method, "/api/labels", body=b"{}", headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 405 and response.getheader("Allow") == "GET, HEAD, POST, DELETE", method
        assert "method not allowed" in body["error"]
        connection.close()
    with socket.create_connection(("127.0.0.1", studio.port), timeout=10) as raw:
        raw.sendall(
            f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\n".encode("ascii")
            + b'X-Pac-Studio: 1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{"name": "x"}'
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert studio.server.request_queue_size >= 128


# -- hand-off: label order, model names, download names, project export and import ----------------------


def raw_get(studio, path: str):
    """``(status, headers, body)`` of a GET (the headers the Client leaves out)."""
    connection = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_labels_keep_the_order_they_were_made_in(tmp_path, studio, client):
    for name in ("zeta", "alpha", "Mid", "beta"):
        assert client.post("/api/labels", {"name": name})[0] == 201
    names = lambda: [label["name"] for label in client.project()["labels"]]  # noqa: E731
    assert names() == ["zeta", "alpha", "Mid", "beta"]
    assert client.post("/api/labels/alpha/rename", {"name": "omega"})[0] == 200
    assert client.delete("/api/labels/Mid")[0] == 200
    assert names() == ["zeta", "omega", "beta"]
    (studio.store.root / "labels" / "made by hand").mkdir()  # outside the page: after the others, sorted
    (studio.store.root / "labels" / "aardvark").mkdir()
    assert names() == ["zeta", "omega", "beta", "aardvark", "made by hand"]
    assert studio.store.settings()["labels"] == ["zeta", "omega", "beta"]
    # a project from before the order was kept: sorted, as pac train sorts them
    old = tmp_path / "old"
    for name in ("b", "a", "c"):
        (old / "labels" / name).mkdir(parents=True)
    (old / "studio.json").write_text(
        json.dumps({"format": "pac-studio-project", "format_version": 1, "profile": "default"})
    )
    assert ProjectStore(old).labels() == ["a", "b", "c"]
    ProjectStore(old).add_label("aa")
    assert ProjectStore(old).labels() == ["a", "b", "c", "aa"]


def fake_model(studio, model_id: str = "m-20261202-101010") -> str:
    """A model folder the listing accepts (its pac.json unread by these routes)."""
    folder = studio.store.root / "models" / model_id
    folder.mkdir(parents=True)
    (folder / "pac.json").write_text("{}")
    (folder / "model.json").write_text("{}")
    return model_id


def test_models_can_be_renamed_and_downloads_are_named_after_the_project(tmp_path, monkeypatch):
    import pac.aix

    with Studio(tmp_path / "Cat sounds", port=0, warm=False) as studio:
        client = Client(studio)
        first, second = fake_model(studio), fake_model(studio, "m-20261202-101011")
        assert [m["name"] for m in client.project()["models"]] == ["Model 1", "Model 2"]
        status, answer = client.post(f"/api/models/{second}/rename", {"name": "  Miaou détecteur 2 "})
        assert status == 200 and answer == {"id": second, "name": "Miaou détecteur 2"}
        models = client.project()["models"]
        assert [(m["id"], m["name"]) for m in models] == [(first, "Model 1"), (second, "Miaou détecteur 2")]
        for bad, says in [
            ({"name": ""}, "give the model a name"),
            ({"name": "x" * 61}, "at most 60"),
            ({"name": "a\nb"}, "control characters"),
            ({"name": 3}, "must be text"),
            ({}, "must be text"),
        ]:
            status, answer = client.post(f"/api/models/{second}/rename", bad)
            assert status == 400 and says in answer["error"], (bad, answer)
        assert client.post("/api/models/m-nothere/rename", {"name": "x"})[0] == 404
        assert client.post(f"/api/models/{second}/rename", {"name": "y"}, page=False)[0] == 403
        # the model folder's .zip: <project>-<model name>.zip, ASCII
        status, headers, body = raw_get(studio, f"/api/models/{second}/download/zip")
        assert (
            status == 200
            and headers["content-disposition"] == 'attachment; filename="Cat_sounds-Miaou_d_tecteur_2.zip"'
        )
        assert zipfile.ZipFile(io.BytesIO(body)).namelist()[0].startswith("Cat_sounds-Miaou_d_tecteur_2/")

        # the .aix: <project>.aix
        def build(model_dir, output, *, base_dir=None, speech_dir=None, echo=None):
            Path(output).write_bytes(b"PK\x05\x06" + bytes(18))

        monkeypatch.setattr(pac.aix, "build_aix", build)
        assert client.post(f"/api/models/{first}/export/aix")[0] == 202
        job = wait_job(client, f"/api/models/{first}/export/aix", timeout=60)
        assert job["state"] == "done" and job["file"] == "Cat_sounds.aix", job
        status, headers, body = raw_get(studio, f"/api/models/{first}/download/aix")
        assert status == 200 and headers["content-disposition"] == 'attachment; filename="Cat_sounds.aix"'
        # deleting a model forgets its name; the id never changed
        assert client.delete(f"/api/models/{second}")[0] == 200
        assert studio.store.model_names() == {} and [m["id"] for m in client.project()["models"]] == [first]


def test_project_export_and_import_round_trip(tmp_path, digits_model):
    """A project exported as <project>.zip and imported into another studio: the same labels in the same
    order, the same clips, the models with their names; importing again adds nothing."""
    with Studio(tmp_path / "my class", port=0, warm=False) as studio:
        client = Client(studio)
        for label, digit in (("seven", 7), ("one", 1), ("_background_noise_", None)):
            assert client.post("/api/labels", {"name": label})[0] == 201
            for i in range(2 if digit else 0):
                assert client.upload(label, fsdd(digit, "george", i).read_bytes(), f"{digit}-{i}.wav")[0] == 201
        model_id = "m-20261201-120000"
        shutil.copytree(digits_model, studio.store.root / "models" / model_id)
        assert client.post(f"/api/models/{model_id}/rename", {"name": "Digits"})[0] == 200
        assert client.post("/api/settings", {"profile": "paper"})[0] == 200
        status, headers, exported = raw_get(studio, "/api/project/export")
        assert status == 200 and headers["content-disposition"] == 'attachment; filename="my_class.zip"'
        names = zipfile.ZipFile(io.BytesIO(exported)).namelist()
        assert "my_class/studio.json" in names and f"my_class/models/{model_id}/pac.json" in names
        assert sum(n.endswith(".wav") for n in names) == 4
        before_labels = snapshot(studio.store.root / "labels")
    with Studio(tmp_path / "at home", port=0, warm=False) as other:
        client = Client(other)
        assert client.post("/api/labels", {"name": "one"})[0] == 201  # a label already there: clips added to it
        status, answer = client.post("/api/project/import", exported, headers={"Content-Type": "application/zip"})
        assert status == 200, answer
        assert answer["clips"] == 4 and answer["skipped"] == 0 and answer["models"] == [model_id]
        project = client.project()
        assert [label["name"] for label in project["labels"]] == ["one", "seven", "_background_noise_"]
        assert snapshot(other.store.root / "labels") == before_labels
        assert [(m["id"], m["name"]) for m in project["models"]] == [(model_id, "Digits")]
        assert (other.store.root / "models" / model_id / "pac.json").read_bytes() == (
            digits_model / "pac.json"
        ).read_bytes()
        assert project["profile"] == "default"  # the project had a label already: its profile stays
        status, again = client.post("/api/project/import", exported)
        assert status == 200 and again["clips"] == 0 and again["skipped"] == 4 and again["models"] == []
        assert not list((other.store.root / ".trash").glob("*"))
    with Studio(tmp_path / "empty", port=0, warm=False) as empty:
        status, answer = Client(empty).post("/api/project/import", exported)
        assert status == 200 and answer["profile"] == "paper"  # an empty project takes the file's profile


def test_an_import_that_fails_half_way_leaves_the_project_as_it_was(tmp_path):
    """All or nothing: the second label of the file can't be made (a file of its name is in labels/),
    after the first label and its clips were moved in; they are taken out again and the settings are
    as before, with one clear error."""
    with Studio(tmp_path / "source", port=0, warm=False) as source:
        client = Client(source)
        for label, digit in (("alpha", 1), ("zeta", 7)):
            assert client.post("/api/labels", {"name": label})[0] == 201
            assert client.upload(label, fsdd(digit, "george", 0).read_bytes(), f"{digit}.wav")[0] == 201
        exported = raw_get(source, "/api/project/export")[2]
    with Studio(tmp_path / "target", port=0, warm=False) as target:
        client = Client(target)
        assert client.post("/api/labels", {"name": "kept"})[0] == 201
        assert client.upload("kept", fsdd(9, "george", 0).read_bytes(), "9.wav")[0] == 201
        (target.store.root / "labels" / "zeta").write_bytes(b"a file, not a label folder")
        before = snapshot(target.store.root)
        status, answer = client.post("/api/project/import", exported)
        assert 400 <= status < 500 and "zeta" in answer["error"], (status, answer)
        after = {k: v for k, v in snapshot(target.store.root).items() if not k.startswith(".")}
        assert after == {k: v for k, v in before.items() if not k.startswith(".")}
        assert [label["name"] for label in client.project()["labels"]] == ["kept"]


def test_conv_head_on_small_labels_trains_on_every_clip():
    """The linear head never holds clips back (cross-validation instead); PAC's conv head with the
    automatic validation fraction holds none back while a label has fewer than 10 clips."""
    from pac.features import PROFILES
    from pac.studio.jobs import StudioTrainOptions
    from pac.train import resolved

    def clips(n):
        return {"a": [{"problem": None}] * n, "b": [{"problem": None}] * 12}

    conv = StudioTrainOptions.from_json({"head": "conv"})
    assert conv.for_clips(clips(3)).validation_fraction == 0.0
    assert conv.for_clips(clips(9)).validation_fraction == 0.0
    assert conv.for_clips(clips(10)).validation_fraction is None  # automatic: 0.2
    assert resolved(conv.for_clips(clips(10)).train_options(), PROFILES["default"]).validation_fraction == 0.2
    chosen = StudioTrainOptions.from_json({"head": "conv", "validation_fraction": "0.2"})
    assert chosen.for_clips(clips(3)).validation_fraction == 0.2  # what the student typed is kept
    linear = StudioTrainOptions.from_json({})
    assert linear.for_clips(clips(3)) == linear
    assert resolved(linear.train_options(), PROFILES["default"]).validation_fraction == 0.0


def test_live_windows_are_classified_without_being_kept(tmp_path, digits_model, monkeypatch):
    """Live listening's route: ``classify?keep=0`` answers the probabilities in the model's label order
    (pac's Classifier's), null for a silent window (the model's silence_dbfs), and stores nothing; the
    page gets bridge.json's listening rules and the extension's listen.js through pac.resources."""
    from pac import resources
    from pac.audio import read_wav
    from pac.classifier import Classifier
    from pac.listen import listening_rules

    with Studio(tmp_path / "project", port=0, base_dir=BASE_DIR, speech_dir=SPEECH_DIR, warm=False) as studio:
        client = Client(studio)
        model_id = "m-20261202-090000"
        shutil.copytree(digits_model, studio.store.root / "models" / model_id)
        path = fsdd(7, "george", 12)
        status, answer = client.post(f"/api/models/{model_id}/classify?keep=0", path.read_bytes())
        assert status == 200, answer
        expected = Classifier(digits_model)
        assert answer["labels"] == list(expected.labels) and set(answer) == {"labels", "probabilities"}
        want = expected.probabilities([read_wav(path)])[0]
        assert np.allclose(answer["probabilities"], want, atol=1e-5), (answer, want)
        quiet = np.full(16000, 10 ** (expected.config.silence_dbfs / 20) / 2)
        status, silent = client.post(f"/api/models/{model_id}/classify?keep=0", wav_bytes(quiet))
        assert status == 200 and silent == {"labels": answer["labels"], "probabilities": None}, silent
        assert client.post(f"/api/models/{model_id}/classify?keep=2", path.read_bytes())[0] == 400
        assert client.post(f"/api/models/{model_id}/classify?keep=0", b"RIFF nonsense")[0] == 400
        assert client.get(f"/api/models/{model_id}/tests")[1]["entries"] == []
        assert not (studio.store.root / "tests").exists() or not list((studio.store.root / "tests").rglob("*.wav"))
        # the listening rules are bridge.json's; listen.js is the runtime's own file
        assert client.project()["listening"] == listening_rules()
        status, headers, script = raw_get(studio, "/runtime/listen.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert script == resources.current().runtime_scripts()["js/listen.js"].read_bytes()
        assert raw_get(studio, "/runtime/classifier.js")[0] == 404  # only what the page runs
        # an installed pac (the wheel's bundle) serves its own copy
        bundle = tmp_path / "_bundle"
        (bundle / "js").mkdir(parents=True)
        for name in resources.RUNTIME_SCRIPTS:
            (bundle / "js" / name).write_text(f"/* installed {name} */")
        monkeypatch.setattr(resources, "current", lambda: resources.Resources.installed(bundle))
        assert raw_get(studio, "/runtime/listen.js")[2] == b"/* installed listen.js */"


def test_mdl_note_says_where_the_preset_is(digits_model):
    """The .mdl export's note for a default model names the page's preset button in its own words and
    where it is: under Train > Advanced."""
    import re

    from pac.studio.exports import export_problem

    note = export_problem("mdl", digits_model)
    page = (REPO / "compiler" / "pac" / "studio" / "static" / "index.html").read_text(encoding="utf-8")
    button = re.search(r'data-preset="mit"[^>]*>([^<]+)</button>', page)
    assert f'"{button.group(1)}" under Train > Advanced' in note, note
    assert page.index('<details id="advanced">') < button.start() < page.index("</details>")
    assert page.index('id="view-train"') < button.start() < page.index('id="view-test"')
