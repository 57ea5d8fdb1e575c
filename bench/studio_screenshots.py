"""Screenshots of every step of the studio page, on a laptop (1366x900) and a phone (412x915).

    .venv/bin/python bench/studio_screenshots.py --out DIR [--small]

A studio on a new project in a temporary folder, headless Chromium with a fake microphone playing a
real recording of "one" (FSDD); labels "one" and "seven" filled with FSDD clips and
``_background_noise_`` with 1 s pieces of a real kitchen recording (through the studio's own clip
route, as the page uploads them).  Then, at both sizes: the clips view with the room step, the
recording dialog with its level meter, a delete with its Undo toast, training in progress and done,
the test view listening continuously, and the App Inventor hand-off with its blocks.  Files:
``DIR/<step>-<laptop|phone>.png`` (the visible screen, not the whole page).  ``--small`` writes
palette PNGs (64 colours) small enough to keep under docs/studio/.

The recordings are read from ``$PAC_SHARED_DIR/data`` (default: ``shared/`` beside the checkout),
the networks from ``--base``/``--speech-base`` or where ``pac studio`` finds them.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "compiler"))

SIZES = {"laptop": (1366, 900, False), "phone": (412, 915, True)}


def shared_dir() -> Path:
    return Path(os.environ.get("PAC_SHARED_DIR", REPO.parent / "shared"))


class Api:
    """The studio's JSON API, as the page calls it."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={"X-Pac-Studio": "1", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def label(self, name: str) -> None:
        self.call("POST", "api/labels", f'{{"name": "{name}"}}'.encode(), {"Content-Type": "application/json"})

    def clip(self, label: str, data: bytes, name: str) -> None:
        self.call(
            "POST",
            f"api/labels/{urllib.parse.quote(label)}/clips",
            data,
            {"Content-Type": "audio/wav", "X-Clip-Source": "uploaded", "X-Clip-Name": urllib.parse.quote(name)},
        )


class Shooter:
    def __init__(self, url: str, mic: Path, profile: Path, out: Path, small: bool):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        from pac.browser import CHROMIUM_FLAGS, find_browser

        found = find_browser()
        options = webdriver.ChromeOptions()
        options.binary_location = found.browser
        for flag in (
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1366,900",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic}",
        ):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=found.driver))
        self.out, self.small = out, small
        self.driver.get(url)
        self.wait(lambda: self.js("return !!(window.pacStudio && window.pacStudio.state.project)"), "page load")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, what: str, timeout: float = 120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception:  # noqa: BLE001 - the page re-renders
                pass
            time.sleep(0.1)
        raise SystemExit(f"timed out waiting for {what}")

    def size(self, name: str) -> None:
        width, height, mobile = SIZES[name]
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def shot(self, step: str, sizes=tuple(SIZES), before=None) -> None:
        for name in sizes:
            self.size(name)
            if before:
                before()
            time.sleep(0.3)
            data = base64.b64decode(self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"])
            path = self.out / f"{step}-{name}.png"
            if self.small:
                from PIL import Image

                image = Image.open(io.BytesIO(data)).convert("RGB").quantize(64)
                image.save(path, optimize=True)
            else:
                path.write_bytes(data)
            print(f"{path} ({path.stat().st_size // 1024} KB)")
        self.size("laptop")

    def click(self, css: str) -> None:
        self.js("const e = document.querySelector(arguments[0]); e.scrollIntoView({block: 'center'}); e.click();", css)

    def view(self, name: str) -> None:
        self.js("location.hash = arguments[0];", name)
        self.wait(lambda: self.js(f"return !document.querySelector('#view-{name}').hidden"), f"view {name}")
        self.js("window.scrollTo(0, 0);")

    def close(self) -> None:
        self.driver.quit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG files")
    parser.add_argument("--small", action="store_true", help="64-colour PNGs (for docs/studio/)")
    parser.add_argument("--base", help="MobileNet folder (as pac studio --base)")
    parser.add_argument("--speech-base", help="speech embedding folder (as pac studio --speech-base)")
    args = parser.parse_args(argv)

    from pac.studio.server import Studio

    data = shared_dir() / "data"
    fsdd = data / "fsdd" / "recordings"
    kitchen = data / "background_noise" / "doing_the_dishes"
    base = args.base or (
        str(shared_dir() / "models" / "mobilenet_v1_0.25_224") if (shared_dir() / "models").is_dir() else None
    )
    speech = args.speech_base or (
        str(shared_dir() / "models" / "speech_embedding") if (shared_dir() / "models").is_dir() else None
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Studio(Path(tmp) / "my-class", port=0, base_dir=base, speech_dir=speech) as studio,
    ):
        shooter = Shooter(studio.url, fsdd / "1_george_0.wav", Path(tmp) / "chromium", args.out, args.small)
        try:
            shooter.js("localStorage.setItem('pac-studio:count-in', '1');")
            shooter.shot("1-clips-empty")
            api = Api(studio.url)
            for word, digit in (("one", 1), ("seven", 7)):
                api.label(word)
                for i in range(2, 6):
                    api.clip(word, (fsdd / f"{digit}_george_{i}.wav").read_bytes(), f"{digit}_george_{i}.wav")
            api.label("_background_noise_")
            for path in sorted(kitchen.glob("*.wav"))[:6]:  # 1 s pieces of a kitchen
                api.clip("_background_noise_", path.read_bytes(), path.name)
            shooter.driver.refresh()
            shooter.wait(lambda: shooter.js("return document.querySelectorAll('.label-card').length === 3"), "labels")
            shooter.wait(
                lambda: shooter.js(
                    "return Array.from(document.querySelectorAll('.clip img'))"
                    ".every((i) => i.complete && i.naturalWidth)"
                ),
                "spectrograms",
            )
            shooter.shot("2-clips")

            def recording():
                shooter.wait(lambda: shooter.js("return document.querySelector('#rec-overlay').hidden"), "no recording")
                shooter.click('.label-card[data-label="one"] button.record')
                shooter.wait(
                    lambda: shooter.js("return document.querySelector('#rec-count').textContent.startsWith('●')"),
                    "recording",
                )

            shooter.shot("3-recording", before=recording)
            shooter.wait(lambda: shooter.js("return document.querySelector('#rec-overlay').hidden"), "recordings saved")

            def undo():
                shooter.click('.label-card[data-label="seven"] .clip button.delete')

            shooter.shot("4-undo", sizes=("laptop",), before=undo)
            shooter.click("#messages .undo")

            shooter.view("train")
            shooter.click("#train-button")
            shooter.wait(lambda: shooter.js("return !!document.querySelector('.stepper li.now')"), "training steps")
            shooter.shot("5-training", sizes=("laptop",))
            shooter.wait(
                lambda: shooter.js(
                    "const s = document.querySelector('#train-state');return s && s.dataset.state !== 'running'"
                ),
                "training",
                timeout=600,
            )
            shooter.shot("6-trained")

            shooter.view("test")
            shooter.click("#live-toggle")
            shooter.wait(
                lambda: shooter.js(
                    "return /windows classified/.test(document.querySelector('#live-status').textContent)"
                ),
                "live bars",
            )
            time.sleep(2)
            shooter.shot("7-test-live")
            shooter.click("#live-toggle")

            shooter.view("download")
            shooter.shot("8-use-it")
        finally:
            shooter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
