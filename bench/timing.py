"""Wall time of the real ``pac`` command, start-up included.

- ``pac train`` of 3 labels x 5 clips (FSDD george one / seven / nine) with the product defaults,
  with a cold activation cache (``PAC_CACHE_DIR`` = an empty temporary folder) and then warm
  (same folder again); target <= 15 s;
- ``pac evaluate`` of that model on 100 clips (FSDD one / seven / nine, all speakers); target <= 10 s.

The networks are passed with ``--base ../shared/models/mobilenet_v1_0.25_224`` and
``--speech-base ../shared/models/speech_embedding`` (never downloaded).  Runs each command ``--repeat`` times
and reports every run.

    .venv/bin/python bench/timing.py [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from accuracy import BASE_DIR, DATA, SPEECH_DIR, machine  # noqa: E402

PAC = Path(sys.executable).parent / "pac"
DIGITS = {"one": 1, "seven": 7, "nine": 9}
SPEAKERS = ("george", "jackson", "lucas", "nicolas")


def make_train_dir(root: Path) -> Path:
    """3 labels x 5 clips of one speaker."""
    for label, digit in DIGITS.items():
        (root / label).mkdir(parents=True)
        for i in range(5):
            shutil.copy(DATA / "fsdd" / "recordings" / f"{digit}_george_{i}.wav", root / label)
    return root


def make_eval_dir(root: Path, total: int = 100) -> Path:
    """``total`` clips of the same labels from all four FSDD speakers (not the training clips)."""
    pool = [
        (label, DATA / "fsdd" / "recordings" / f"{digit}_{speaker}_{i}.wav")
        for i in range(5, 20)
        for speaker in SPEAKERS
        for label, digit in DIGITS.items()
    ]
    for label, path in pool[:total]:
        (root / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / label)
    return root


def run(args: list[str], env: dict) -> float:
    """Wall seconds of one ``pac`` run (fails loudly if the command fails)."""
    started = time.perf_counter()
    done = subprocess.run([str(PAC), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pac {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement [2]")
    parser.add_argument("--json", type=Path, help="write the timings here")
    args = parser.parse_args(argv)
    if not PAC.exists():
        raise SystemExit(f"{PAC}: the pac command is not installed in this interpreter's environment")

    rows = []
    with tempfile.TemporaryDirectory(prefix="pac-timing-") as tmp:
        tmp = Path(tmp)
        train_dir = make_train_dir(tmp / "train")
        eval_dir = make_eval_dir(tmp / "eval")
        n_eval = sum(1 for _ in eval_dir.rglob("*.wav"))
        base = ["--base", str(BASE_DIR), "--speech-base", str(SPEECH_DIR)]
        env = {k: v for k, v in os.environ.items() if k not in ("PAC_BASE_DIR", "PAC_SPEECH_DIR", "PAC_CACHE_DIR")}
        for k in range(args.repeat):
            cache = tmp / f"cache{k}"
            cache.mkdir()
            env_k = {**env, "PAC_CACHE_DIR": str(cache)}
            model = tmp / f"model{k}"
            cold = run(["train", str(train_dir), "-o", str(model), *base], env_k)
            warm = run(["train", str(train_dir), "-o", str(model), *base], env_k)
            evaluate = run(["evaluate", str(model), str(eval_dir), *base], env_k)
            rows.append({"train_cold": cold, "train_warm": warm, "evaluate": evaluate})
            print(
                f"  run {k + 1}: train cold {cold:.1f} s, warm {warm:.1f} s, evaluate {evaluate:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"pac wall time incl. start-up; {datetime.date.today().isoformat()}; {machine()}; "
        f"load average {load:.1f} at the end\n"
    )
    print("| command | target | " + " | ".join(f"run {k + 1}" for k in range(len(rows))) + " |")
    print("|---|---|" + "---:|" * len(rows))
    for key, what, target in (
        ("train_cold", "`pac train` 3 labels x 5 clips, cold activation cache", "<= 15 s"),
        ("train_warm", "`pac train` 3 labels x 5 clips, warm activation cache", "<= 15 s"),
        ("evaluate", f"`pac evaluate` {n_eval} clips", "<= 10 s"),
    ):
        print(f"| {what} | {target} | " + " | ".join(f"{r[key]:.1f} s" for r in rows) + " |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.date.today().isoformat(),
                    "machine": machine(),
                    "runs": rows,
                    "evaluate_clips": n_eval,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
