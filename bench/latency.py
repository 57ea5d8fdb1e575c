"""Latency of the classifier page in headless Chromium, per TensorFlow.js backend.

For each backend (``webgl`` if this Chromium offers it, ``wasm``, ``cpu``) the page written by
``pac.runtime.write_assets`` is opened with ``?backend=NAME`` in the harness of ``pac.browser``
(Debian Chromium, ``--headless --disable-gpu``; WebGL there is Chromium's software fallback):

- **load -> ready**: ``performance.now()`` at the bridge's ``ready`` call, i.e. milliseconds from
  navigation start to "model loaded and warmed up" (median of ``--loads`` page loads);
- **classify**: milliseconds from ``window.pac.classifyWav(base64)`` to the ``reportResult`` bridge
  call, measured inside the page (WebDriver overhead excluded; base64 and WAV decoding, features,
  MobileNet, head and the bridge call included), after 5 warm-up clips; median and p90 of
  ``--repeat`` runs;
- **features**: the JS feature pipeline alone (WAV decode + clip check + image + MobileNet input);
- **per part**: the page's own per-clip times (``window.pac.info().timings.last_clip``): the speech
  block (front end + embedding network + pooling), the mobilenet block (image + MobileNet + mean, or
  MobileNet's activations for a conv head) and the head; medians over the ``--repeat`` runs.

The clip is a 1 s, 16 kHz Speech Commands recording from ../shared/data; the model is a 3-label head
with random weights and the product's default features (``--head``: ``rows``, the default, a linear
head on speech and MobileNet's frequency rows, the default model's blocks; ``both``, speech and
MobileNet's picture average, the default's blocks until 2026-12-03; one block; or PAC's conv head)
unless ``--model`` names a trained one.  Target: <= 40 ms median end-to-end for the best backend.

    .venv/bin/python bench/latency.py [--repeat 50] [--loads 3] [--head rows|both|speech|mobilenet|conv]
                                      [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from accuracy import BASE_DIR, DATA, SHARED, machine  # noqa: E402

BACKENDS = ("webgl", "wasm", "cpu")
TARGET_MS = 40.0


def default_clip() -> Path:
    """The first 1.000 s, 16 kHz Speech Commands clip of the word "stop"."""
    from pac.audio import read_wav

    for path in sorted((DATA / "speech_commands_v001" / "stop").glob("*.wav")):
        clip = read_wav(path)
        if clip.rate == 16000 and len(clip.samples) == 16000:
            return path
    raise SystemExit("no 1 s clip found in ../shared/data/speech_commands_v001/stop")


SPEECH_DIR = SHARED / "models" / "speech_embedding"
HEADS = {
    "both": ("speech", "mobilenet"),
    "rows": ("speech", "mobilenet_rows"),
    "speech": ("speech",),
    "mobilenet": ("mobilenet",),
    "conv": (),
}


def random_model(directory: Path, head: str = "rows") -> Path:
    """A 3-label model folder with an untrained head and the default features (latency only):
    a linear head on the blocks of ``HEADS[head]``, or PAC's conv head."""
    import numpy as np

    from pac.blocks import NETWORK, POOLING, SIZES
    from pac.features import FeatureConfig
    from pac.head import build_head
    from pac.modeldir import Manifest, base_identity, tool_versions, write_head
    from pac.speech_base import speech_identity
    from pac.tfjs_head import Layer, keras_head

    blocks = HEADS[head]
    directory.mkdir(parents=True)
    linear = None
    if blocks:
        d = sum(SIZES[b] for b in blocks)
        rng = np.random.default_rng(0)
        layer = Layer(
            "dense",
            activation="softmax",
            use_bias=True,
            units=3,
            weights=[(0.05 * rng.standard_normal((d, 3))).astype(np.float32), np.zeros(3, np.float32)],
        )
        write_head(keras_head([layer], input_shape=(d,)), directory)
        linear = {
            "kind": "linear",
            "blocks": [{"name": b, "size": SIZES[b], "weight": 1.0, "pooling": POOLING[b]} for b in blocks],
        }
    else:
        write_head(build_head(3, seed=0), directory)
    manifest = Manifest(
        labels=("a", "b", "c"),
        features=FeatureConfig(),
        base=base_identity() if not blocks or any(NETWORK[b] == "mobilenet" for b in blocks) else None,
        tools=tool_versions(),
        linear=linear,
        speech_base=speech_identity(quantized=True) if "speech" in blocks else None,
    )
    (directory / "pac.json").write_text(manifest.to_json(), encoding="utf-8")
    return directory


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


FEATURES_JS = """
const [text, repeats, done] = arguments;
const R = window.PacRuntime, config = window.pac.info().features, out = [];
for (let i = 0; i < repeats + 3; i++) {
  const t0 = performance.now();
  const binary = atob(text), bytes = new Uint8Array(binary.length);
  for (let j = 0; j < binary.length; j++) bytes[j] = binary.charCodeAt(j);
  const clip = R.wav.decodeWav(bytes, 'clip');
  R.wav.checkClassifiable(clip, config.min_duration, config.silence_dbfs);
  R.features.modelInput(R.features.clipImage(clip.samples, clip.rate, config), config);
  if (i >= 3) out.push(performance.now() - t0);
}
done(out);
"""

PARTS_JS = """
const [text, repeats, done] = arguments;
(async () => {
  const h = window.__pacHarness, out = [];
  for (let i = 0; i < repeats; i++) {
    const index = h.calls.length;
    window.pac.classifyWav(text);
    const call = await h.waitFor(index, 60000);
    if (!call || call.method !== 'reportResult') return {error: JSON.stringify(call)};
    out.push(window.pac.info().timings.last_clip);
  }
  return {parts: out};
})().then(done, (e) => done({error: String(e)}));
"""

RENDERER_JS = """
const canvas = document.createElement('canvas');
const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
if (!gl) return null;
const ext = gl.getExtension('WEBGL_debug_renderer_info');
return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
"""


def measure(browser, backend: str, data: bytes, *, repeat: int, loads: int) -> dict:
    """Numbers for one backend, or ``{"backend", "error"}`` if it does not start."""
    from pac.errors import PacError

    ready = []
    for _ in range(loads):
        try:
            browser.open(backend=backend)
        except PacError as exc:
            return {"backend": backend, "error": str(exc)[:300]}
        ready.append(browser.calls()[0]["t"])
    info = browser.info()
    browser.time_classification(data, repeats=5)
    times = browser.time_classification(data, repeats=repeat)
    text = base64.b64encode(data).decode("ascii")
    features = browser.driver.execute_async_script(FEATURES_JS, text, max(10, repeat // 2))
    answer = browser.driver.execute_async_script(PARTS_JS, text, repeat)
    if "error" in answer:
        raise PacError(f"per-part timing failed: {answer['error']}")
    parts = (
        {key: statistics.median(p[key] for p in answer["parts"]) for key in answer["parts"][0]}
        if answer["parts"]
        else {}
    )
    return {
        "backend": info["backend"],
        "ready_ms": statistics.median(ready),
        "ready_runs_ms": ready,
        "median_ms": statistics.median(times),
        "p90_ms": percentile(times, 0.9),
        "min_ms": min(times),
        "features_median_ms": statistics.median(features),
        "parts_median_ms": parts,
        "head": info.get("head"),
        "blocks": info.get("blocks"),
        "startup": info["timings"],
        "runs_ms": times,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a trained model folder (default: a random 3-label head)")
    parser.add_argument(
        "--head",
        choices=sorted(HEADS),
        default="rows",
        help="the random model's head: linear on speech + MobileNet's rows (the default's), on speech + "
        "MobileNet's average (both), on one block, or conv",
    )
    parser.add_argument("--clip", type=Path, help="the WAV clip (default: a 1 s Speech Commands clip)")
    parser.add_argument("--repeat", type=int, default=50, help="classifications per backend (default 50)")
    parser.add_argument("--loads", type=int, default=3, help="page loads per backend (default 3)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default webgl,wasm,cpu)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)

    from pac.browser import Browser
    from pac.runtime import write_assets

    clip = args.clip or default_clip()
    data = clip.read_bytes()
    with tempfile.TemporaryDirectory(prefix="pac-latency-") as tmp:
        model = args.model or random_model(Path(tmp) / "model", args.head)
        write_assets(model, Path(tmp) / "assets", base_dir=BASE_DIR, speech_dir=SPEECH_DIR)
        with Browser(Path(tmp) / "assets", timeout=120) as browser:
            browser.open(backend="cpu")
            renderer = browser.execute(RENDERER_JS)
            version = browser.driver.capabilities.get("browserVersion")
            results = [
                measure(browser, b, data, repeat=args.repeat, loads=args.loads) for b in args.backends.split(",")
            ]

    print(
        f"Classifier page latency, headless Chromium {version} (--disable-gpu; WebGL renderer: "
        f"{renderer or 'none'}), {machine()}"
    )
    print(
        f"clip: {clip.name} (1 s); {args.repeat} classifications per backend after 5 warm-up; "
        f"load -> ready: median of {args.loads} page loads\n"
    )
    ok = [r for r in results if "error" not in r]
    if ok:
        print(f"model: {ok[0]['head']} head" + (f" on {' + '.join(ok[0]['blocks'])}" if ok[0]["blocks"] else ""))
    print(
        "| backend | classify median (ms) | classify p90 (ms) | speech block (ms) | mobilenet (ms) | head (ms) "
        "| JS image features alone (ms) | page load -> ready (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if "error" in r:
            print(f"| {r['backend']} | unavailable | | | | | | |")
            continue
        parts = r["parts_median_ms"]
        cell = lambda key: f"{parts[key]:.1f}" if key in parts else "-"  # noqa: E731,B023 (used at once)
        mobilenet = "mobilenet_rows_ms" if "mobilenet_rows_ms" in parts else "mobilenet_ms"
        print(
            f"| {r['backend']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | {cell('speech_ms')} "
            f"| {cell(mobilenet)} | {cell('head_ms')} | {r['features_median_ms']:.1f} | {r['ready_ms']:.0f} |"
        )
    best = min(ok, key=lambda r: r["median_ms"]) if ok else None
    if best:
        verdict = "meets" if best["median_ms"] <= TARGET_MS else "MISSES"
        print(f"\nbest: {best['backend']} {best['median_ms']:.1f} ms median ({verdict} the {TARGET_MS:.0f} ms target)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.datetime.now().isoformat(timespec="seconds"),
                    "machine": machine(),
                    "chromium": version,
                    "webgl_renderer": renderer,
                    "clip": clip.name,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
