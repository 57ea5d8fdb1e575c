"""MIT interop, measured against MIT's own page: ``pac predict`` versus MIT's real pipeline.

For each task (a few labels of real recordings from ``../shared/data``, :data:`TASKS`), ``pac train
--config pac-compat`` trains a model on 5 clips per label and ``pac export-mdl`` writes it as a
``.mdl``.  Then, for every other clip of those labels, the answer of ``pac predict`` is compared
with the answer of MIT's Personal Audio Classifier page, run for real:

* MIT's page (``personal_audio_classifier.html`` and its scripts, and the MobileNet it bundles)
  from a local checkout of ``mit-cml/appinventor-extensions`` (branch
  ``extension/personal-audio-classifier``), with TensorFlow.js 1.5.2 from npm in place of its
  bundled copy, in headless Chromium (``pac.browser``; ``--disable-gpu``, the software canvas);
* MIT's spectrogram server (``backend/app.py`` of ``mit-cml/image-classification-explorer``, e.g.
  commit da33dae) run locally with ``--mit-python`` (which needs flask, flask-cors, pydub, scipy,
  matplotlib and requests; keep them out of pac's environment);
* the page loads the ``.mdl``'s entries and MobileNet from the URLs the App Inventor component
  serves them at, and posts each WAV to the spectrogram URL: a script installed before the page's
  own rewrites those three URL prefixes to the local server and the local spectrogram server
  (nothing else of the page is changed);
* each clip goes in as MIT's page receives a recording: ``createDownloadLink(wavBlob)``, which asks
  the server for the spectrogram and classifies it (``reportResult``).

Nothing of MIT's is part of pac: point ``--mit-sources`` at a folder holding the two checkouts (the
files are found by name below it) and ``--tfjs`` at the npm package ``@tensorflow/tfjs@1.5.2``::

    .venv/bin/python bench/mit_interop.py --mit-sources ~/mit --tfjs ~/npm/node_modules/@tensorflow/tfjs \\
        --mit-python ~/mit-venv/bin/python --json artifacts/mit_interop.json

Reports, per task and in all: top-1 agreement (same most probable label) and the largest
difference of a label's probability between the page and ``pac predict``.  ``--gpu`` runs the page
on Chromium's GPU canvas (SwiftShader) instead, which draws the figure differently (see
``pac.features.canvas``): what a phone's WebView, which draws on its GPU, may do.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks import DATA  # noqa: E402  (bench/ is not a package)

#: Tasks: name -> {label: clips}; 5 clips per label train (seeded), the others are compared.
TASKS = {
    "fsdd-digits": {
        d: sorted((DATA / "fsdd" / "recordings").glob(f"{n}_george_*.wav"))
        for d, n in (("one", 1), ("seven", 7), ("nine", 9))
    },
    "commands-words": {w: sorted((DATA / "speech_commands_v001" / w).glob("*.wav")) for w in ("on", "off", "stop")},
    "arabic-words": {
        w: sorted((DATA / "arabic_speech_commands" / "personal_00000001" / w).glob("*.wav"))
        for w in ("yes", "no", "stop")
    },
    "ravdess-emotion": {
        e: sorted((DATA / "ravdess" / "Actor_01").glob(f"03-01-{c}-*.wav"))
        for e, c in (("angry", "05"), ("happy", "03"), ("sad", "04"))
    },
}
SHOTS = 5
PAGE = "personal_audio_classifier.html"
TFJS_VERSION = "1.5.2"
#: The URLs MIT's page fetches (the component serves the first two from the extension and the model).
TRANSFER_URL = "https://appinventor.mit.edu/personal-audio-classifier/transfer/"
PERSONAL_URL = "https://appinventor.mit.edu/personal-audio-classifier/personal/"
SPECTROGRAM_URL = "https://c1.appinventor.mit.edu/spectrogram"

REWRITE = """
(function () {
  const realFetch = window.fetch.bind(window);
  const places = [[%(transfer)s, '/transfer/'], [%(personal)s, '/personal/']];
  window.fetch = function (input, init) {
    let url = typeof input === 'string' ? input : input.url;
    for (const [from, to] of places) {
      if (url.startsWith(from)) url = to + url.slice(from.length);
    }
    if (url === %(spectrogram)s) url = %(backend)s;
    return realFetch(url, init);
  };
})();
"""

CLASSIFY = """
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
createDownloadLink(new Blob([bytes], {type: 'audio/wav'}));
"""

SERVER = """
import importlib.util, os, sys
os.chdir(sys.argv[2])
os.makedirs('temp', exist_ok=True)
spec = importlib.util.spec_from_file_location('mit_spectrogram_server', sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.application.run(host='127.0.0.1', port=int(sys.argv[3]), threaded=False)
"""


def split(task: dict, *, seed: int) -> tuple[dict, list[tuple[str, Path]]]:
    """``(train, test)``: :data:`SHOTS` seeded clips per label to train on, the rest as (label, path)."""
    rng = np.random.default_rng(seed)
    train, test = {}, []
    for label, clips in task.items():
        order = rng.permutation(len(clips))
        train[label] = [clips[i] for i in order[:SHOTS]]
        test += [(label, clips[i]) for i in sorted(order[SHOTS:])]
    return train, test


def find_one(root: Path, name: str, inside: str) -> Path:
    """The one file called ``name`` below ``root`` whose path contains ``inside``."""
    found = [p for p in root.rglob(name) if inside in p.as_posix()]
    if len(found) != 1:
        raise SystemExit(f"{root}: expected one {inside}/.../{name} below it, found {len(found)}")
    return found[0]


def tfjs_script(path: Path) -> Path:
    """``tf.min.js`` of the npm package ``@tensorflow/tfjs`` at ``path`` (or the file itself), 1.5.2."""
    script = path / "dist" / "tf.min.js" if path.is_dir() else path
    if not script.is_file() or f'"{TFJS_VERSION}"' not in script.read_text(encoding="utf-8", errors="replace"):
        raise SystemExit(f"{path}: not TensorFlow.js {TFJS_VERSION} (npm install @tensorflow/tfjs@{TFJS_VERSION})")
    return script


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app: Path, python: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """MIT's spectrogram server (``app.py``'s Flask application) on a local port; waits until it answers."""
    port = free_port()
    script = workdir / "run_server.py"
    script.write_text(SERVER, encoding="utf-8")
    log = open(workdir / "server.log", "wb")
    proc = subprocess.Popen([python, str(script), str(app), str(workdir), str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/hello", timeout=2) as reply:
                if reply.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(
        f"MIT's spectrogram server did not start; see {workdir / 'server.log'}:\n"
        + (workdir / "server.log").read_text(errors="replace")[-2000:]
    )


def serve_folder(root: Path, assets: Path, tfjs: Path, mdl: Path) -> None:
    """MIT's page and scripts in ``root/``, TF.js 1.5.2 under the name the page loads, MobileNet in
    ``root/transfer/``, the ``.mdl``'s entries in ``root/personal/``."""
    for name in (PAGE, "personal_audio_classifier1.js", "spectrogram.js", "chroma.js", "recorder1.js"):
        shutil.copy(assets / name, root / name)
    shutil.copy(tfjs, root / f"tfjs-{TFJS_VERSION}.js")
    (root / "transfer").mkdir()
    for path in assets.glob("mobilenet_*"):
        shutil.copy(path, root / "transfer" / path.name)
    with zipfile.ZipFile(mdl) as archive:
        archive.extractall(root / "personal")


#: Chromium drawing canvases on its GPU path with SwiftShader (software GL) instead of the software canvas.
GPU_FLAGS = (
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--enable-gpu-rasterization",
    "--enable-accelerated-2d-canvas",
)


def page_answers(root: Path, backend: str, clips: list[Path], *, timeout: float, gpu: bool = False) -> list[list]:
    """MIT's page's ``reportResult`` for each clip (``[[label, probability], ...]``); ``gpu``: Chromium's
    GPU canvas (SwiftShader) instead of the software canvas of pac's ``--disable-gpu``."""
    from pac.browser import Browser

    session = sys.modules[Browser.__module__]
    flags = session.CHROMIUM_FLAGS
    if gpu:  # pac's browser always disables the GPU; this measurement is about what happens without
        session.CHROMIUM_FLAGS = tuple(f for f in flags if f != "--disable-gpu")
    try:
        return _answers(
            Browser(root, timeout=timeout, extra_args=GPU_FLAGS if gpu else ()), backend, clips, timeout=timeout
        )
    finally:
        session.CHROMIUM_FLAGS = flags


def _answers(browser, backend: str, clips: list[Path], *, timeout: float) -> list[list]:
    rewrite = REWRITE % {
        "transfer": json.dumps(TRANSFER_URL),
        "personal": json.dumps(PERSONAL_URL),
        "spectrogram": json.dumps(SPECTROGRAM_URL),
        "backend": json.dumps(backend + "/spectrogram"),
    }
    answers = []
    with browser:
        browser.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": rewrite})
        browser.open(PAGE, wait=False)  # MIT's page calls ready() without the labels pac's bridge passes
        ready = browser.wait_call(0, timeout=timeout)
        if ready is None or ready["method"] != "ready":
            raise SystemExit(f"MIT's page did not become ready ({ready}); console: {browser.console_text()}")
        for path in clips:
            index = len(browser.calls())
            browser.execute(CLASSIFY, base64.b64encode(path.read_bytes()).decode("ascii"))
            call = browser.wait_call(index, timeout=timeout)
            if call is None or call["method"] != "reportResult":
                raise SystemExit(f"{path}: MIT's page answered {call}; console: {browser.console_text()}")
            answers.append(json.loads(call["args"][0]))
    return answers


def train_and_export(
    train: dict, workdir: Path, *, base: str | None, seed: int, preset: str | None, downscale: str | None = None
) -> tuple[Path, Path]:
    """``pac train --config pac-compat`` on ``train`` and ``pac export-mdl``: (model folder, .mdl)."""
    from pac.cli import main

    data = workdir / "data"
    for label, clips in train.items():
        (data / label).mkdir(parents=True)
        for path in clips:
            (data / label / path.name).symlink_to(path)
    model, mdl = workdir / "model", workdir / "model.mdl"
    config = "pac-compat"
    if downscale is not None:  # the pac-compat profile with another canvas filter (e.g. pac's old "centre")
        import dataclasses

        from pac.features import PROFILES

        config = str(workdir / "config.json")
        Path(config).write_text(dataclasses.replace(PROFILES["pac-compat"], downscale=downscale).to_json())
    options = (
        ["--config", config, "--seed", str(seed)]
        + (["--preset", preset] if preset else [])
        + (["--base", base] if base else [])
    )
    if main(["train", str(data), "-o", str(model), *options]) != 0:
        raise SystemExit("pac train failed")
    if main(["export-mdl", str(model), "-o", str(mdl)]) != 0:
        raise SystemExit("pac export-mdl failed")
    return model, mdl


def compare(pac_answers: list, page: list) -> dict:
    """Top-1 agreement and the largest probability difference of a label."""
    agree, worst = 0, 0.0
    for ours, theirs in zip(pac_answers, page):
        agree += ours[0][0] == theirs[0][0]
        mine = dict(ours)
        worst = max(worst, max(abs(float(p) - mine[label]) for label, p in theirs))
    return {"clips": len(page), "top1_agree": agree, "max_abs_dp": worst}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mit-sources",
        type=Path,
        required=True,
        help="folder with checkouts of mit-cml/appinventor-extensions (branch "
        "extension/personal-audio-classifier) and mit-cml/image-classification-explorer",
    )
    parser.add_argument(
        "--tfjs", type=Path, required=True, help="the npm package @tensorflow/tfjs@1.5.2 (or its tf.min.js)"
    )
    parser.add_argument(
        "--mit-python",
        default=sys.executable,
        help="Python with flask, flask-cors, pydub, scipy, matplotlib, requests (MIT's server)",
    )
    parser.add_argument("--base", default=None, help="MobileNet folder for pac (as pac train --base)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default=None, help="pac train --preset (default: product settings)")
    parser.add_argument(
        "--downscale",
        default=None,
        help="train with this canvas filter instead of the profile's (e.g. centre: pac before issue 13)",
    )
    parser.add_argument(
        "--gpu", action="store_true", help="Chromium's GPU canvas (SwiftShader) instead of the software canvas"
    )
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)

    from pac.classifier import Classifier

    assets = find_one(args.mit_sources, PAGE, "personalaudioclassifier/assets").parent
    app = find_one(args.mit_sources, "app.py", "backend")
    tfjs = tfjs_script(args.tfjs)
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "page": str(assets / PAGE),
        "server": str(app),
        "tfjs": TFJS_VERSION,
        "downscale": args.downscale,
        "preset": args.preset,
        "seed": args.seed,
        "canvas": "gpu" if args.gpu else "software",
        "tasks": {},
    }
    with tempfile.TemporaryDirectory(prefix="pac-mit-interop-") as tmp:
        server, backend = start_server(app, args.mit_python, Path(tmp))
        try:
            for name in args.tasks.split(","):
                work = Path(tmp) / name
                work.mkdir()
                train, test = split(TASKS[name], seed=args.seed)
                model, mdl = train_and_export(
                    train, work, base=args.base, seed=args.seed, preset=args.preset, downscale=args.downscale
                )
                clips = [path for _, path in test]
                ours = Classifier(model, base=args.base).classify_files(clips)
                root = work / "served"
                root.mkdir()
                serve_folder(root, assets, tfjs, mdl)
                page = page_answers(root, backend, clips, timeout=args.timeout, gpu=args.gpu)
                row = compare(ours, page)
                row["accuracy_pac"] = float(np.mean([o[0][0] == label for o, (label, _) in zip(ours, test)]))
                row["accuracy_page"] = float(np.mean([p[0][0] == label for p, (label, _) in zip(page, test)]))
                row["disagreements"] = [
                    {"clip": path.name, "pac": o[0], "page": p[0]}
                    for o, p, (_, path) in zip(ours, page, test)
                    if o[0][0] != p[0][0]
                ]
                results["tasks"][name] = row
                print(
                    f"{name}: top-1 agreement {row['top1_agree']}/{row['clips']}, max |dP| {row['max_abs_dp']:.2e}, "
                    f"accuracy pac {row['accuracy_pac']:.3f} page {row['accuracy_page']:.3f}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    rows = results["tasks"].values()
    total = {
        "clips": sum(r["clips"] for r in rows),
        "top1_agree": sum(r["top1_agree"] for r in rows),
        "max_abs_dp": max(r["max_abs_dp"] for r in rows),
    }
    results["total"] = total
    print(
        f"all: top-1 agreement {total['top1_agree']}/{total['clips']} "
        f"({total['top1_agree'] / total['clips']:.3f}), max |dP| {total['max_abs_dp']:.2e}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
