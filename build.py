#!/usr/bin/env python3
"""Build the App Inventor extension and a ready-to-import demo ``.aix`` into ``build/``.

    .venv/bin/python build.py

1. builds the App Inventor component with Maven (skipped when its outputs are up to date);
2. speaks the PAC paper's words "one", "seven" and "eleven" with several espeak-ng voices, voice
   variants, pitches and speeds into ``build/demo-data/{train,test}/<word>/`` (the test clips use
   voices and variants the training clips do not);
3. ``pac train`` -> ``build/demo-model/`` (the product default: a linear head on the speech
   embedding and/or MobileNet features, as the cross-validation on the clips chooses);
4. ``pac build`` -> ``build/pac-demo.aix`` (with the networks the model runs);
5. ``pac verify build/pac-demo.aix --clips build/demo-data/test --json build/verify.json``.

Options: ``--base DIR`` (MobileNet folder) and ``--speech-base DIR`` (the speech embedding's folder;
both default to pac's usual lookup, then ../shared/models if present), ``--out DIR`` (default
``build``).  Exit code 0 only if the .aix passes verification.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent
WORDS = ("one", "seven", "eleven")
#: (espeak-ng voice, variant) pairs; every pair speaks every word at every (speed, pitch).
TRAIN_VOICES = [
    ("en-us", "m1"),
    ("en-us", "f2"),
    ("en-gb", "m3"),
    ("en-gb", "f4"),
    ("en-gb-scotland", "m2"),
    ("en-029", "f1"),
    ("en-gb-x-rp", "m7"),
    ("en-us-nyc", "f3"),
]
TEST_VOICES = [("en-gb-x-gbclan", "m4"), ("en-us", "f5"), ("en-gb-x-gbcwmd", "m6")]
TRAIN_STYLES = [(130, 40), (175, 60)]  # (words per minute, pitch 0-99)
TEST_STYLES = [(150, 50), (190, 35)]


def say(text: str, voice: str, variant: str, speed: int, pitch: int, target: Path) -> None:
    """One clip from espeak-ng (22,050 Hz mono 16-bit WAV)."""
    subprocess.run(
        ["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch), "-w", str(target), text],
        check=True,
        capture_output=True,
    )


def make_clips(root: Path, voices, styles) -> int:
    """Speak every word with every voice and style into ``root/<word>/``; returns the clip count."""
    count = 0
    for word in WORDS:
        folder = root / word
        folder.mkdir(parents=True, exist_ok=True)
        for voice, variant in voices:
            for speed, pitch in styles:
                target = folder / f"{word}_{voice}+{variant}_s{speed}_p{pitch}.wav"
                if not target.is_file():
                    say(word, voice, variant, speed, pitch, target)
                count += 1
    return count


def default_base(given: str | None) -> str | None:
    """``--base``, else pac's lookup (PAC_BASE_DIR, cache); offline fallback: ../shared's copy."""
    if given:
        return given
    from pac.base import ENV_DIR, cache_dir

    if os.environ.get(ENV_DIR) or (cache_dir() / "model.json").is_file():
        return None
    shared = REPO.parent / "shared" / "models" / "mobilenet_v1_0.25_224"
    return str(shared) if (shared / "model.json").is_file() else None


def default_speech_base(given: str | None) -> str | None:
    """``--speech-base``, else pac's lookup (PAC_SPEECH_DIR, cache); offline fallback: ../shared's copy."""
    if given:
        return given
    from pac.speech_base import ENV_DIR, FILES, cache_dir

    if os.environ.get(ENV_DIR) or all((cache_dir() / name).is_file() for name in FILES):
        return None
    shared = REPO.parent / "shared" / "models" / "speech_embedding"
    return str(shared) if all((shared / name).is_file() for name in FILES) else None


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="folder with MobileNet's model.json and its 55 shards")
    parser.add_argument(
        "--speech-base", help="folder with the speech embedding's embedding_model.onnx and melspectrogram.onnx"
    )
    parser.add_argument("--out", default=str(REPO / "build"), help="output folder [build/]")
    args = parser.parse_args(argv)

    try:
        from pac import resources
        from pac.cli import main as pac
        from pac.errors import PacError
    except ImportError:
        print(
            "error: the pac package is not importable; run ./setup.sh and use .venv/bin/python build.py",
            file=sys.stderr,
        )
        return 2
    if shutil.which("espeak-ng") is None:
        print("error: espeak-ng is not installed; run ./setup.sh", file=sys.stderr)
        return 2

    started = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = default_base(args.base)
    speech = default_speech_base(args.speech_base)
    base_args = (["--base", base] if base else []) + (["--speech-base", speech] if speech else [])

    step("App Inventor component (Maven)")
    try:
        outputs = resources.current().component(echo=print)
    except PacError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"component built: {outputs.runtime_jar.parent}")

    step("demo clips (espeak-ng)")
    data = out / "demo-data"
    n_train = make_clips(data / "train", TRAIN_VOICES, TRAIN_STYLES)
    n_test = make_clips(data / "test", TEST_VOICES, TEST_STYLES)
    print(f"{n_train} training clips, {n_test} test clips in {data}")

    step("pac train")
    model = out / "demo-model"
    code = pac(["train", str(data / "train"), "-o", str(model), "--seed", "0", *base_args])
    if code:
        return code

    step("pac build")
    target = out / "pac-demo.aix"
    code = pac(["build", str(model), "-o", str(target), "--sizes", *base_args])
    if code:
        return code

    step("pac verify")
    code = pac(["verify", str(target), "--clips", str(data / "test"), "--json", str(out / "verify.json")])

    elapsed = time.monotonic() - started
    size = target.stat().st_size
    print(
        f"\n{'ready' if code == 0 else 'FAILED VERIFICATION'}: {target} ({size:,d} bytes, {size / 2**20:.2f} MiB) "
        f"in {elapsed:.0f} s"
    )
    if code == 0:
        print("Import it in App Inventor: Designer -> Palette -> Extension -> Import extension (see README.md).")
    return code


if __name__ == "__main__":
    sys.exit(main())
