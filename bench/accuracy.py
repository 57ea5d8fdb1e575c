"""5-shot accuracy of the PAC paper's test cases: paper-faithful settings vs. the product's defaults.

Protocol (the PAC paper's, and REFERENCE.md section 5): for each task and seed, 5 random training
clips per label, test on all the other clips of those labels; mean +- std over ``--seeds`` seeds.
Both settings see the same split for a given seed.  Tasks, on ``../shared/data``:

- numbers: FSDD speaker george saying one / seven / nine (one speaker's own clips, 20 each);
  the same clips placed at random in 3 s of quiet room noise (how a phone recording looks, which
  tests where the analysis window goes; :func:`place_in_noise`); the same digits from Speech
  Commands (10 different speakers each);
- words: Speech Commands on / off / stop.  Every clip of a word is from a different speaker and no
  speaker recorded a word twice, so a one-speaker words task cannot be formed from this data; the
  row is the multi-speaker task (see :func:`speakers_with_several_words`);
- voices: FSDD george vs jackson saying "one" (label = speaker);
- emotion: RAVDESS actor 01 angry / happy / sad (8 clips each); actor 02 as a second row.

Settings:

- ``paper``: feature profile ``paper`` + :data:`pac.train.PAPER` (Adam 1e-4, 20 epochs, batch
  fraction 0.4, no augmentation);
- ``product``: ``PROFILES["default"]`` + ``TrainOptions()``, exactly what ``pac train`` does
  without options (validation fraction 0 so all 5 clips train), so generated noise is mixed in;
- ``product+noise`` (``--noise``): the same with ``--noise ../shared/data/background_noise``
  (real background recordings instead of generated noise).

MobileNet activations are cached under ``/tmp/pac-bench-activations`` (``--cache``), so seeds and
reruns skip MobileNet.  Uses the library (``pac.train.fit``), not the ``pac`` command.

    .venv/bin/python bench/accuracy.py [--seeds 10] [--json out.json] [--noise] [--tasks numbers,voices]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "compiler"))

from pac.activations import CLEAN, ActivationCache, compute_activations  # noqa: E402
from pac.audio import Audio, read_wav  # noqa: E402
from pac.base import load_base  # noqa: E402
from pac.dataset import Dataset, LabelledClip  # noqa: E402
from pac.features import PROFILES, FeatureConfig  # noqa: E402
from pac.features.pipeline import load_clip  # noqa: E402
from pac.head import predict_head  # noqa: E402
from pac.train import PAPER, TrainOptions, fit, load_noise  # noqa: E402

SHARED = Path(os.environ.get("PAC_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "data"
BASE_DIR = SHARED / "models" / "mobilenet_v1_0.25_224"
NOISE_DIR = DATA / "background_noise"
DEFAULT_CACHE = Path("/tmp/pac-bench-activations")
SHOTS = 5

DIGITS = {"one": 1, "seven": 7, "nine": 9}
RAVDESS_EMOTIONS = {"angry": "05", "happy": "03", "sad": "04"}


@dataclass(frozen=True)
class Task:
    """A labelled set of clip paths; ``group`` is the paper's test case the row stands for.

    ``placed``: each clip is put at a random place in a 3 s recording of room noise (a background
    clip 30 dB below the word's RMS), like a phone recording started before and stopped after the
    word; the same recordings every run.
    """

    name: str
    group: str
    labels: tuple[str, ...]
    paths: tuple[tuple[Path, ...], ...]  # per label
    placed: bool = False

    def dataset(self, config: FeatureConfig) -> Dataset:
        clips = [LabelledClip(path=p, label=i, audio=load_clip(p, config))
                 for i, group in enumerate(self.paths) for p in group]
        if self.placed:
            rng = np.random.default_rng(7)
            noise = [read_wav(p) for p in sorted(NOISE_DIR.rglob("*.wav"))]
            clips = [replace(c, audio=place_in_noise(c.audio, noise[rng.integers(len(noise))], rng)) for c in clips]
        return Dataset(root=DATA, labels=self.labels, clips=tuple(clips))

    @property
    def test_clips(self) -> int:
        return sum(len(g) - SHOTS for g in self.paths)


def place_in_noise(clip: Audio, noise: Audio, rng: np.random.Generator, *, seconds: float = 3.0,
                   below_db: float = 30.0) -> Audio:
    """``clip`` at a random place in ``seconds`` of ``noise`` (looped, resampled) ``below_db`` under its RMS."""
    n = int(seconds * clip.rate)
    g = np.gcd(noise.rate, clip.rate)
    background = np.resize(resample_poly(noise.samples, clip.rate // g, noise.rate // g), n)
    rms = lambda x: np.sqrt(np.mean(x ** 2))  # noqa: E731
    background = background / rms(background) * rms(clip.samples) * 10 ** (-below_db / 20)
    start = int(rng.integers(0, n - len(clip.samples)))
    background[start:start + len(clip.samples)] += clip.samples
    return Audio(samples=background, rate=clip.rate, channels=1, source=f"{clip.source} placed at {start / clip.rate:.2f} s")

    @property
    def test_clips(self) -> int:
        return sum(len(g) - SHOTS for g in self.paths)


def _fsdd(digit: int, speaker: str) -> tuple[Path, ...]:
    return tuple(DATA / "fsdd" / "recordings" / f"{digit}_{speaker}_{i}.wav" for i in range(20))


def _commands(word: str) -> tuple[Path, ...]:
    return tuple(sorted((DATA / "speech_commands_v001" / word).glob("*.wav")))


def _ravdess(actor: int, code: str) -> tuple[Path, ...]:
    return tuple(sorted((DATA / "ravdess" / f"Actor_{actor:02d}").glob(f"03-01-{code}-*.wav")))


def all_tasks() -> list[Task]:
    """The benchmark's tasks, in table order."""
    return [
        Task("numbers (FSDD george)", "numbers", tuple(DIGITS), tuple(_fsdd(d, "george") for d in DIGITS.values())),
        Task("numbers (FSDD george, in 3 s room-noise recordings)", "numbers", tuple(DIGITS),
             tuple(_fsdd(d, "george") for d in DIGITS.values()), placed=True),
        Task("numbers (Speech Commands, many speakers)", "numbers", tuple(DIGITS),
             tuple(_commands(w) for w in DIGITS)),
        Task("words (Speech Commands on/off/stop, many speakers)", "words", ("off", "on", "stop"),
             tuple(_commands(w) for w in ("off", "on", "stop"))),
        Task("voices (FSDD george vs jackson, \"one\")", "voices", ("george", "jackson"),
             (_fsdd(1, "george"), _fsdd(1, "jackson"))),
        Task("emotion (RAVDESS actor 01)", "emotion", tuple(RAVDESS_EMOTIONS),
             tuple(_ravdess(1, c) for c in RAVDESS_EMOTIONS.values())),
        Task("emotion (RAVDESS actor 02)", "emotion", tuple(RAVDESS_EMOTIONS),
             tuple(_ravdess(2, c) for c in RAVDESS_EMOTIONS.values())),
    ]


SHORT_NAMES = {"numbers (FSDD george)": "numbers",
               "numbers (FSDD george, in 3 s room-noise recordings)": "numbers-placed", "numbers (Speech Commands, many speakers)": "numbers-sc",
               "words (Speech Commands on/off/stop, many speakers)": "words",
               "voices (FSDD george vs jackson, \"one\")": "voices",
               "emotion (RAVDESS actor 01)": "emotion", "emotion (RAVDESS actor 02)": "emotion-02"}


def speakers_with_several_words(words=("on", "off", "stop")) -> dict[str, dict[str, int]]:
    """``{speaker: {word: clips}}`` for Speech Commands speakers who recorded more than one clip of
    any of ``words`` (the hash before ``_nohash_``); empty means no one-speaker words task exists."""
    counts: dict[str, dict[str, int]] = {}
    for word in words:
        for path in _commands(word):
            speaker = path.name.split("_nohash_")[0]
            counts.setdefault(speaker, {}).setdefault(word, 0)
            counts[speaker][word] += 1
    return {s: c for s, c in counts.items() if max(c.values()) >= SHOTS + 1}


def split(task: Task, seed: int) -> list[int]:
    """Indices (into ``task.dataset``'s clip order) of the 5 training clips per label for ``seed``."""
    rng = np.random.default_rng(10_000 + seed)
    train, offset = [], 0
    for group in task.paths:
        train.extend(offset + int(k) for k in rng.choice(len(group), SHOTS, replace=False))
        offset += len(group)
    return sorted(train)


@dataclass(frozen=True)
class Setting:
    """A feature configuration and training options (and whether background noise is mixed in)."""

    name: str
    config: FeatureConfig
    options: TrainOptions
    noise: bool = False


def paper_setting() -> Setting:
    return Setting("paper-faithful", PROFILES["paper"], replace(PAPER, validation_fraction=0.0))


def product_setting(noise: bool = False) -> Setting:
    return Setting("product defaults" + (" + --noise" if noise else ""), PROFILES["default"],
                   replace(TrainOptions(), validation_fraction=0.0), noise)


def run_task(task: Task, setting: Setting, seeds, *, base, cache: ActivationCache, noise_bank=None,
             dataset: Dataset | None = None) -> list[float]:
    """Test accuracy of ``setting`` on ``task`` for each seed."""
    dataset = dataset or task.dataset(setting.config)
    accuracies = []
    for seed in seeds:
        train_idx = split(task, seed)
        options = replace(setting.options, seed=seed, validation_fraction=0.0)
        # Train on a dataset of only the training clips: fit() would otherwise score every other
        # clip after each epoch (as validation), which costs time and changes nothing.
        train_set = replace(dataset, clips=tuple(dataset.clips[i] for i in train_idx))
        result = fit(train_set, config=setting.config, options=options, base=base,
                     noise=noise_bank if setting.noise else None, cache=cache,
                     train_indices=range(len(train_idx)))
        test_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
        acts = compute_activations([dataset.clips[i].audio for i in test_idx], [[CLEAN]] * len(test_idx),
                                   config=setting.config, base=base, cache=cache)
        probs = predict_head(result.model, np.concatenate(acts))
        truth = np.array([dataset.clips[i].label for i in test_idx])
        accuracies.append(float(np.mean(probs.argmax(axis=1) == truth)))
    return accuracies


def machine() -> str:
    """``nproc`` and the CPU model."""
    model = platform.processor() or "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if found:
            model = found.group(1).strip()
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cores}, {model}"


def fmt(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0..N-1) [10]")
    parser.add_argument("--json", type=Path, help="write per-seed accuracies and settings here")
    parser.add_argument("--noise", action="store_true",
                        help="also run the product defaults with --noise shared/data/background_noise "
                             "(real recordings instead of generated noise)")
    parser.add_argument("--tasks", help="comma-separated short names: " + ", ".join(SHORT_NAMES.values()))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"activation cache [{DEFAULT_CACHE}]")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seeds = range(args.seeds)
    tasks = all_tasks()
    if args.tasks:
        wanted = args.tasks.split(",")
        tasks = [t for t in tasks if SHORT_NAMES[t.name] in wanted]
    settings = [paper_setting(), product_setting()]
    if args.noise:
        settings.append(product_setting(noise=True))
    base = load_base(BASE_DIR)
    cache = ActivationCache(args.cache)
    noise_bank = load_noise(NOISE_DIR) if args.noise else None

    results: dict[str, dict[str, list[float]]] = {}
    for task in tasks:
        results[task.name] = {}
        for setting in settings:
            t0 = time.perf_counter()
            accs = run_task(task, setting, seeds, base=base, cache=cache, noise_bank=noise_bank)
            results[task.name][setting.name] = accs
            print(f"  {task.name}: {setting.name} {fmt(accs)} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    wall = time.perf_counter() - started

    today = datetime.date.today().isoformat()
    print(f"5-shot accuracy, mean ± std over {args.seeds} seeds; {today}; {machine()}; "
          f"total wall time {wall:.0f} s\n")
    header = "| task | test clips | " + " | ".join(s.name for s in settings) + " |"
    print(header)
    print("|---|---:|" + "---|" * len(settings))
    for task in tasks:
        cells = " | ".join(fmt(results[task.name][s.name]) for s in settings)
        print(f"| {task.name} | {task.test_clips} | {cells} |")
    several = speakers_with_several_words()
    if not several:
        print("\nwords: no Speech Commands speaker recorded any of on/off/stop more than once, so a "
              "one-speaker words task cannot be formed; the row is the multi-speaker task.")
    if args.json:
        args.json.write_text(json.dumps({
            "date": today, "machine": machine(), "seeds": args.seeds, "wall_seconds": round(wall, 1),
            "settings": {s.name: {"features": s.config.to_dict(),
                                  "options": {**asdict(s.options), "snr_db": list(s.options.snr_db)},
                                  "noise": str(NOISE_DIR) if s.noise else None} for s in settings},
            "tasks": {t.name: {"test_clips": t.test_clips, "accuracy": results[t.name]} for t in tasks},
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
