"""The long fuzz run: the targets of ``tests/test_fuzz.py`` (``bench/fuzz_targets.py``) on many inputs.

    .venv/bin/python bench/fuzz.py --inputs 1000000 --json artifacts/fuzz.json

The inputs are shared among the targets (``--share``; by default mostly the WAV decoder, the fastest
and most exposed, then the configuration loader, ``.mdl`` import, ``pac verify`` on ``.aix`` files,
the studio's HTTP API, its project files and model names (``transfer``) and the classroom's students
behind their cookies (``classroom``)).  Each target runs in a worker process that draws its inputs from a seeded
:class:`random.Random` (the same generators the tests drive with Hypothesis, about a hundred times
faster) and counts every outcome.  A failure is one of:

``uncaught <type>``
    An exception other than :class:`pac.errors.PacError` escaped (a traceback for the user).
``broken: <promise>``
    A result outside :mod:`pac.limits` was accepted (e.g. a sample rate of 1 Hz), the studio
    answered 5xx, a refused project file changed the project, an accepted one left it inconsistent,
    or a request reached a classroom student's project without that student's cookie.
``hang > 10 s``
    One input took longer than ``--hang`` seconds: a watchdog thread in the worker records it and
    ends the worker; the run goes on in a new worker with the next seed.
``peak RSS > 1 GB``
    The worker's peak resident memory passed ``--memory`` MB (recorded and ended the same way).
``python/js disagree``
    With ``--js N``: N of the WAV inputs also go through ``extension/js/wav.js`` in headless
    Chromium (batches of 500), which must give Python's error text or Python's samples.

It prints a table (inputs tried, outcomes, failures by kind, time, peak memory per target) and, with
``--json``, writes every count and the first reproducers of each failure kind.  The peak memory is
read with :mod:`resource` (Linux and macOS).  Scratch files go to ``/dev/shm`` when it exists (a file
system in memory: writing a file per input is 100 times faster there).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fuzz_targets as F  # noqa: E402

DEFAULT_SHARE = {
    "wav": 0.75,
    "config": 0.12,
    "mdl": 0.08,
    "aix": 0.03,
    "studio": 0.016,
    "transfer": 0.002,
    "classroom": 0.002,
}
EXAMPLES_KEPT = 3


# -- the worker: one target, one seed ------------------------------------------------------------------


def peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def kind_of(exc: BaseException) -> str:
    """The failure kind of an exception: its type, or the broken promise with numbers blanked."""
    if isinstance(exc, F.Broken):
        return "broken: " + re.sub(r"[-+]?\d[\d.e+-]*", "N", str(exc).split(":")[0])[:80]
    return f"uncaught {type(exc).__name__}"


class Tally:
    """What one worker saw, written to ``path`` (atomically) every few seconds and at the end."""

    def __init__(self, path: Path, target: str, seed: int):
        self.path = path
        self.data = {
            "target": target,
            "seed": seed,
            "tried": 0,
            "outcomes": Counter(),
            "failures": Counter(),
            "examples": {},
            "slowest": [0.0, None],
            "seconds": 0.0,
            "peak_rss_mb": 0.0,
        }
        self.lock = threading.Lock()

    def fail(self, kind: str, shown: str, detail: str = "") -> None:
        with self.lock:
            self.data["failures"][kind] += 1
            kept = self.data["examples"].setdefault(kind, [])
            if len(kept) < EXAMPLES_KEPT:
                kept.append({"input": shown[:8192], "detail": detail[:2000]})

    def save(self) -> None:
        with self.lock:
            self.data["peak_rss_mb"] = round(peak_rss_mb(), 1)
            text = json.dumps(self.data, default=str)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


def watchdog(tally: Tally, state: dict, target: F.Target, *, hang: float, memory_mb: float) -> None:
    """Ends the worker (after recording the input) when one input runs too long or memory passes the limit."""
    while True:
        time.sleep(0.25)
        started, current = state.get("started"), state.get("current")
        kind = None
        if started is not None and time.monotonic() - started > hang:
            kind = f"hang > {hang:g} s"
        elif peak_rss_mb() > memory_mb:
            kind = f"peak RSS > {memory_mb / 1024:g} GB"
        if kind:
            tally.fail(kind, target.show(current) if current is not None else "")
            with tally.lock:
                tally.data["tried"] += 1
            tally.save()
            os._exit(3)


def make_target(name: str, scratch: Path, stack) -> F.Target:
    if name == "wav":
        return F.wav_target()
    if name == "config":
        return F.config_target(scratch)
    if name == "mdl":
        return F.mdl_target(scratch)
    if name == "aix":
        return F.aix_target(scratch)
    if name == "studio":
        from pac.studio.server import Studio

        studio = stack.enter_context(Studio(scratch / "project", port=0, warm=False))
        return F.studio_target(studio, F.wav_seeds())
    if name == "transfer":
        from pac.studio.server import Studio

        studio = stack.enter_context(Studio(scratch / "project", port=0, warm=False))
        empty = stack.enter_context(Studio(scratch / "empty", port=0, warm=False))
        return F.transfer_target(studio, empty, scratch)
    if name == "classroom":
        from pac.studio.classroom import ClassroomStudio

        classroom = stack.enter_context(ClassroomStudio(scratch / "class", host="127.0.0.1", port=0, warm=False))
        return F.classroom_target(classroom)
    raise SystemExit(f"unknown target {name}")


def run_worker(args) -> None:
    import contextlib

    scratch = Path(args.scratch)
    tally = Tally(Path(args.report), args.worker, args.seed)
    js_every = max(1, args.count // args.js) if args.js else 0
    js_inputs: list[bytes] = []
    with contextlib.ExitStack() as stack:
        target = make_target(args.worker, scratch, stack)
        state: dict = {}
        threading.Thread(
            target=watchdog,
            args=(tally, state, target),
            daemon=True,
            kwargs=dict(hang=args.hang, memory_mb=args.memory),
        ).start()
        draw = F.RandomDraw(random.Random(args.seed))
        started = time.perf_counter()
        last_save = started
        for i in range(args.count):
            value = target.generate(draw)
            state["current"], state["started"] = value, time.monotonic()
            try:
                outcome = target.check(value)
            except Exception as exc:  # noqa: BLE001 - counting them is the point
                outcome = None
                tally.fail(kind_of(exc), target.show(value), f"{type(exc).__name__}: {exc}")
            took = time.monotonic() - state["started"]
            state["started"] = None
            with tally.lock:
                tally.data["tried"] += 1
                if outcome:
                    tally.data["outcomes"][outcome] += 1
                if took > tally.data["slowest"][0]:
                    tally.data["slowest"] = [round(took, 3), target.show(value)[:200]]
            if js_every and i % js_every == 0:
                js_inputs.append(value)
            now = time.perf_counter()
            if now - last_save > 5:
                tally.data["seconds"] = round(now - started, 1)
                tally.save()
                last_save = now
        tally.data["seconds"] = round(time.perf_counter() - started, 1)
    if js_inputs:
        compare_with_js(js_inputs, scratch, tally)
    tally.save()


def compare_with_js(inputs: list[bytes], scratch: Path, tally: Tally) -> None:
    """Every input through wav.js too (batches of 500); a disagreement is a failure."""
    with F.wav_page(scratch / "wav-page") as page:
        for start in range(0, len(inputs), 500):
            batch = inputs[start : start + 500]
            for data, js in zip(batch, F.js_decode(page, batch)):
                problem = F.decoders_disagree(data, js)
                if problem:
                    tally.fail("python/js disagree", F.hex_of(data), problem)
    tally.data["js_compared"] = len(inputs)


# -- the parent: shares, workers, restarts, the table ---------------------------------------------------------


def run_target(name: str, count: int, args, scratch_root: Path) -> dict:
    """Run ``count`` inputs of one target, in as many workers as hangs or crashes need."""
    total = {
        "target": name,
        "tried": 0,
        "outcomes": Counter(),
        "failures": Counter(),
        "examples": {},
        "seconds": 0.0,
        "peak_rss_mb": 0.0,
        "workers": 0,
        "slowest": [0.0, None],
    }
    seed = args.seed
    js_left = args.js if name == "wav" else 0
    while total["tried"] < count:
        scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch_root))
        report = scratch / "report.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--count",
            str(count - total["tried"]),
            "--seed",
            str(seed),
            "--scratch",
            str(scratch),
            "--report",
            str(report),
            "--hang",
            str(args.hang),
            "--memory",
            str(args.memory),
            "--js",
            str(js_left),
        ]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        part = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {"tried": 0}
        if done.returncode not in (0, 3):
            part.setdefault("failures", {})
            kind = f"worker crashed (exit {done.returncode})"
            part["failures"][kind] = part["failures"].get(kind, 0) + 1
            part.setdefault("examples", {})[kind] = [{"input": "", "detail": done.stderr[-2000:]}]
            part["tried"] = part.get("tried", 0) + 1  # the input it died on
        merge(total, part)
        total["workers"] += 1
        js_left = max(0, js_left - part.get("js_compared", 0)) if done.returncode == 3 else 0
        seed += 1
        if done.returncode not in (0, 3) and part["tried"] <= 1:
            break  # it cannot even start: do not loop
    return total


def merge(total: dict, part: dict) -> None:
    total["tried"] += part.get("tried", 0)
    total["outcomes"].update(part.get("outcomes", {}))
    total["failures"].update(part.get("failures", {}))
    for kind, kept in part.get("examples", {}).items():
        total["examples"].setdefault(kind, []).extend(kept[: EXAMPLES_KEPT - len(total["examples"].get(kind, []))])
    total["seconds"] += part.get("seconds", 0.0)
    total["peak_rss_mb"] = max(total["peak_rss_mb"], part.get("peak_rss_mb", 0.0))
    if part.get("slowest") and part["slowest"][0] > total["slowest"][0]:
        total["slowest"] = part["slowest"]
    total["js_compared"] = total.get("js_compared", 0) + part.get("js_compared", 0)


def shares(text: str | None, inputs: int) -> dict[str, int]:
    share = dict(DEFAULT_SHARE)
    if text:
        share = {k: float(v) for k, v in (item.split("=") for item in text.split(","))}
    whole = sum(share.values())
    return {name: max(1, round(inputs * part / whole)) for name, part in share.items() if part > 0}


def print_table(results: list[dict], seconds: float) -> None:
    print(f"{'target':8} {'inputs':>9} {'s':>7} {'peak MB':>8}  outcomes / failures")
    for r in results:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        print(f"{r['target']:8} {r['tried']:>9,d} {r['seconds']:>7.0f} {r['peak_rss_mb']:>8.0f}  {outcomes}")
        for kind, n in sorted(r["failures"].items()):
            print(f"{'':36}FAIL {kind}: {n}")
        print(
            f"{'':36}slowest input {r['slowest'][0]:.2f} s"
            + (f"; {r['js_compared']} compared with wav.js" if r.get("js_compared") else "")
        )
    tried = sum(r["tried"] for r in results)
    failed = sum(sum(r["failures"].values()) for r in results)
    print(f"{tried:,d} inputs in {seconds:.0f} s wall time; {failed} failures")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all (default 10^6)")
    parser.add_argument(
        "--share",
        help="how the inputs are shared, e.g. wav=0.75,config=0.12,mdl=0.08,aix=0.03,"
        "studio=0.016,transfer=0.002,classroom=0.002 (a target left out is not run)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="targets run at once (default 1)")
    parser.add_argument("--js", type=int, default=2000, help="WAV inputs also decoded by wav.js (0: none)")
    parser.add_argument("--hang", type=float, default=10.0, help="seconds one input may take")
    parser.add_argument("--memory", type=float, default=1024.0, help="peak resident MB a worker may reach")
    parser.add_argument("--json", help="write the full report here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    plan = shares(args.share, args.inputs)
    memory_fs = Path("/dev/shm")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pac-fuzz-", dir=memory_fs if memory_fs.is_dir() else None) as tmp:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_target, name, count, args, Path(tmp)) for name, count in plan.items()]
            results = [f.result() for f in futures]
    seconds = time.perf_counter() - started
    print_table(results, seconds)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {"inputs": args.inputs, "seed": args.seed, "seconds": round(seconds, 1), "targets": results},
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
