"""5-shot accuracy on the PAC paper's test cases and beyond: paper settings vs. old and new defaults.

Protocol (the PAC paper's, and REFERENCE.md section 5): for each task and seed, 5 random training
clips per label, test on all the other clips of those labels; mean +- std over the seeds (``--seeds
N`` seeds starting at ``--seed-offset``: the README reports seeds 0-9, tuning runs use 100 and up so
the reported splits are not the ones settings were chosen on).  Every setting sees the same split
for a given seed (:func:`tasks.split`).  Tasks (``tasks.py``; only the recordings in
``../shared/data``, or ``$PAC_SHARED_DIR/data``):

- numbers: FSDD one speaker's own clips (george, jackson: one / seven / nine; lucas, nicolas: other
  digit triples; 20 each), george's clips placed at random in 3 s of quiet room noise (how a phone
  recording looks), and Speech Commands digit triples (10 speakers per digit);
- words: Speech Commands word triples (10 speakers per word; no speaker recorded a word twice, so a
  one-speaker English words task cannot be formed from this data);
- voices: two FSDD speakers saying the same digit (label = speaker);
- emotion: RAVDESS actor 01 and actor 02, angry / happy / sad (8 clips each);
- arabic: one speaker's own command words (two speakers), and open / close / enter by 18 speakers;
- instruments: single notes of piano / acoustic guitar / cello.

The Speech Commands and Arabic multi-speaker tasks are flagged ``multi_speaker``; their mean is
reported separately (the hard case), next to the mean over all tasks and per group.

Settings (``--settings``):

- ``paper``: feature profile ``paper`` + :data:`pac.train.PAPER` (Adam 1e-4, 20 epochs, batch
  fraction 0.4, no augmentation);
- ``old-default``: the spectrogram-image default as it was before the speech-embedding default:
  ``PROFILES["default"]`` + the training options pinned in :data:`OLD_DEFAULT_OPTIONS` (Adam 1e-3,
  50 epochs, time shifts, generated noise, the 5-filter conv head), validation fraction 0 so all 5
  clips train;
- ``default``: what ``pac train`` does without options (:func:`new_default_options`: the linear
  head, cross-validation over the speech block and MobileNet's frequency rows, every clip trains);
  ``default-float32`` the same with the speech network's float32 kernels;
- ``old-default+noise``: ``old-default`` with ``--noise ../shared/data/background_noise`` (real
  background recordings instead of generated noise); ``--noise`` adds it.
- ``default+conv-switch`` (a candidate rule for instrument notes, issue 11; not the product): the
  default, but when cross-validation finds the sounds not speech-like (:func:`speech_outweighed`)
  PAC's conv head is trained on the same clips and variants instead (``old-default``'s options);
  ``default+conv-switch-weight-only`` without the log-loss check.  The JSON lists the task-seeds
  that switched (``switched_to_conv``).

MobileNet activations are cached under ``/tmp/pac-bench-activations`` (``--cache``), so seeds and
reruns skip MobileNet.  Uses the library (``pac.train.fit``), not the ``pac`` command.  ``--json``
writes per task and setting the mean, std and per-seed accuracies, plus the summaries (rewritten
after every task, so a long run can be watched); ``--markdown`` writes the README's table.

    .venv/bin/python bench/accuracy.py [--seeds 10] [--seed-offset 0] [--settings paper,old-default]
        [--tasks numbers,multi,voices-lucas-nicolas] [--json out.json] [--markdown out.md]
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
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "compiler"))
sys.path.insert(0, str(BENCH))

from pac.activations import CLEAN, ActivationCache, compute_activations  # noqa: E402
from pac.base import load_base  # noqa: E402
from pac.blocks import Networks, block_features, joined  # noqa: E402
from pac.features import PROFILES, FeatureConfig  # noqa: E402
from pac.head import predict_head  # noqa: E402
from pac.speech_base import load_speech_embedding  # noqa: E402
from pac.train import PAPER, TrainOptions, fit, load_noise  # noqa: E402
from tasks import DATA, GROUPS, NOISE_DIR, SHARED, SHOTS, Task, all_tasks, select, speakers_with_several_words, split  # noqa: E402,F401

BASE_DIR = SHARED / "models" / "mobilenet_v1_0.25_224"
SPEECH_DIR = SHARED / "models" / "speech_embedding"
DEFAULT_CACHE = Path("/tmp/pac-bench-activations")


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Setting:
    """A feature configuration and training options (and whether real background noise is mixed in).

    ``predict(result, audios, base, cache)`` gives test-clip probabilities ``[n, labels]`` of a
    :func:`pac.train.fit` result; ``None`` = MobileNet activations + :func:`pac.head.predict_head`.
    """

    name: str
    config: FeatureConfig
    options: TrainOptions
    noise: bool = False
    predict: Callable | None = None
    #: Linear head: run the speech network with its 8-bit kernels (what models ship) or float32 ones.
    speech_quantized: bool = True
    #: Linear head: ``switch(result)`` true -> train PAC's conv head (:func:`old_default_options`) on
    #: the same clips and variants instead (see :func:`speech_outweighed`).
    switch: Callable | None = None


def paper_setting() -> Setting:
    return Setting("paper", PROFILES["paper"], replace(PAPER, validation_fraction=0.0))


#: ``TrainOptions()`` as it was while the spectrogram image + 5-filter conv head was the default,
#: pinned here so that ``old-default`` keeps meaning that setting after the defaults change.
#: (``bases``, ``l2`` and ``cv_folds`` only concern the linear head; pinned so the check below passes.)
OLD_DEFAULT_OPTIONS = dict(
    head="conv",
    bases="speech+mobilenet",
    l2=0.01,
    cv_folds=5,
    epochs=50,
    learning_rate=1e-3,
    optimizer="adam",
    batch_fraction=0.4,
    validation_fraction=0.0,
    seed=0,
    max_shift=0.1,
    shift_step=0.05,
    generated_noise=True,
    noise_copies=1,
    snr_db=(5.0, 20.0),
    restarts=2,
    canvas_copies=0,
)


def old_default_options() -> TrainOptions:
    """:data:`OLD_DEFAULT_OPTIONS` as ``TrainOptions``.

    A field ``TrainOptions`` gains later must be pinned to its old value in
    :data:`OLD_DEFAULT_OPTIONS`; until then this refuses, so the old default can never silently
    become the new one.
    """
    new = sorted({f.name for f in fields(TrainOptions)} - set(OLD_DEFAULT_OPTIONS))
    if new:
        raise NotImplementedError(
            f"old-default: TrainOptions has new field(s) {', '.join(new)}; pin their "
            "old-default values (e.g. the conv head) in bench/accuracy.py OLD_DEFAULT_OPTIONS"
        )
    return TrainOptions(**OLD_DEFAULT_OPTIONS)


def old_default_setting(noise: bool = False) -> Setting:
    return Setting("old-default" + ("+noise" if noise else ""), PROFILES["default"], old_default_options(), noise)


def new_default_options() -> TrainOptions:
    """The default's training options: exactly what ``pac train`` does without options (the linear
    head on the speech and MobileNet blocks, every clip trains)."""
    return replace(TrainOptions(), validation_fraction=0.0)


def linear_head_probabilities(
    setting: Setting, result, audios, *, base, cache: ActivationCache, speech=None
) -> np.ndarray:
    """Test-clip probabilities of a linear-head result: its blocks, joined, through its softmax layer,
    with the features it was trained with (``result.config``: the setting's, ``f_limit`` set by training)."""
    blocks = [b["name"] for b in result.linear["blocks"]]
    feats = block_features(
        audios,
        [[CLEAN]] * len(audios),
        config=result.config,
        blocks=blocks,
        networks=Networks(mobilenet=base, speech=speech),
        cache=cache,
    )
    return predict_head(result.model, np.concatenate(joined(feats, blocks)))


def new_default_setting(*, quantized: bool = True) -> Setting:
    return Setting(
        "default" + ("" if quantized else "-float32"),
        PROFILES["default"],
        new_default_options(),
        predict=linear_head_probabilities,
        speech_quantized=quantized,
    )


#: :func:`speech_outweighed`: the largest speech weight (relative to MobileNet's) that can send a
#: model to PAC's conv head.  Chosen on tuning seeds 100-104 (issue 11; README, Accuracy).
CONV_SWITCH_SPEECH_WEIGHT = 0.5


def speech_outweighed(result, *, loss_check: bool = True) -> bool:
    """True when the sounds look not speech-like to cross-validation: it gave the speech block at
    most :data:`CONV_SWITCH_SPEECH_WEIGHT` of the MobileNet block's weight (or dropped it), and
    (``loss_check``) MobileNet alone had a lower held-out log-loss than speech alone.  PAC's conv
    head, which keeps where in the picture (in frequency) a sound is, is then trained instead."""
    weights = {b["name"]: b["weight"] for b in result.linear["blocks"]}
    mobilenet = weights.get("mobilenet", 0.0)
    if not (mobilenet > 0 and weights.get("speech", 0.0) <= CONV_SWITCH_SPEECH_WEIGHT * mobilenet):
        return False
    if not loss_check:
        return True
    # keyed by every block's weight: speech alone (1, 0, 0) and averaged MobileNet alone (0, 1, 0), not
    # the frequency-rows weightings, which have mobilenet 0 too
    loss = {
        tuple(c["weights"].get(b, 0.0) for b in ("speech", "mobilenet", "mobilenet_rows")): c["cv_log_loss"]
        for c in result.report["head"]["candidates"]
    }
    alone_speech, alone_mobilenet = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    return alone_speech in loss and alone_mobilenet in loss and loss[alone_mobilenet] < loss[alone_speech]


def conv_switch_setting(*, loss_check: bool = True) -> Setting:
    """``default``, but PAC's conv head when :func:`speech_outweighed` (a candidate rule, bench only)."""
    return replace(
        new_default_setting(),
        name="default+conv-switch" + ("" if loss_check else "-weight-only"),
        switch=lambda result: speech_outweighed(result, loss_check=loss_check),
    )


SETTINGS: dict[str, Callable[[], Setting]] = {
    "paper": paper_setting,
    "old-default": old_default_setting,
    "default": new_default_setting,
    "old-default+noise": lambda: old_default_setting(noise=True),
    "default-float32": lambda: new_default_setting(quantized=False),
    "default+conv-switch": conv_switch_setting,
    "default+conv-switch-weight-only": lambda: conv_switch_setting(loss_check=False),
}


def make_settings(names: list[str]) -> list[Setting]:
    """The settings named; one that is not available yet is skipped with a message."""
    settings = []
    for name in names:
        if name not in SETTINGS:
            raise SystemExit(f"--settings: unknown {name!r}; choose from {', '.join(SETTINGS)}")
        try:
            settings.append(SETTINGS[name]())
        except NotImplementedError as e:
            print(f"skipping setting {name!r}: {e}", file=sys.stderr, flush=True)
    return settings


# ---------------------------------------------------------------------------------------------
# Running


def mobilenet_head_probabilities(
    setting: Setting, result, audios, *, base, cache: ActivationCache, speech=None
) -> np.ndarray:
    acts = compute_activations(audios, [[CLEAN]] * len(audios), config=result.config, base=base, cache=cache)
    return predict_head(result.model, np.concatenate(acts))


#: Per setting with a ``switch``: the task-seeds that trained PAC's conv head instead.
SWITCHED: dict[str, list[str]] = {}


def run_task(
    task: Task, setting: Setting, seeds, *, base, cache: ActivationCache, noise_bank=None, dataset=None, speech=None
) -> list[float]:
    """Test accuracy of ``setting`` on ``task`` for each seed."""
    dataset = dataset or task.dataset(setting.config)
    predict = setting.predict or mobilenet_head_probabilities
    accuracies = []
    for seed in seeds:
        train_idx = split(task, seed)
        options = replace(setting.options, seed=seed, validation_fraction=0.0)
        # Train on a dataset of only the training clips: fit() would otherwise score every other
        # clip after each epoch (as validation), which costs time and changes nothing.
        train_set = replace(dataset, clips=tuple(dataset.clips[i] for i in train_idx))
        result = fit(
            train_set,
            config=setting.config,
            options=options,
            base=base,
            speech=speech,
            noise=noise_bank if setting.noise else None,
            cache=cache,
            train_indices=range(len(train_idx)),
        )
        predict_this = predict
        if setting.switch is not None and setting.switch(result):
            SWITCHED.setdefault(setting.name, []).append(f"{task.key}-{seed}")
            result = fit(
                train_set,
                config=setting.config,
                options=replace(old_default_options(), seed=seed),
                base=base,
                noise=noise_bank if setting.noise else None,
                cache=cache,
                train_indices=range(len(train_idx)),
            )
            predict_this = mobilenet_head_probabilities
        chosen = set(train_idx)
        test_idx = [i for i in range(len(dataset.clips)) if i not in chosen]
        probs = predict_this(
            setting, result, [dataset.clips[i].audio for i in test_idx], base=base, cache=cache, speech=speech
        )
        truth = np.array([dataset.clips[i].label for i in test_idx])
        accuracies.append(float(np.mean(np.asarray(probs).argmax(axis=1) == truth)))
    return accuracies


# ---------------------------------------------------------------------------------------------
# Reporting


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


def summaries(tasks: list[Task], settings: list[Setting], results: dict) -> dict:
    """Per setting: the mean over tasks of the per-task mean accuracy, overall, over the
    multi-speaker words/digits tasks and per group (only tasks that have finished)."""
    done = [t for t in tasks if all(s.name in results.get(t.key, {}) for s in settings)]

    def mean_of(members: list[Task]) -> dict:
        return {
            "tasks": [t.key for t in members],
            **{
                s.name: (
                    round(float(np.mean([np.mean(results[t.key][s.name]) for t in members])), 4) if members else None
                )
                for s in settings
            },
        }

    return {
        "overall": mean_of(done),
        "multi_speaker": mean_of([t for t in done if t.multi_speaker]),
        "groups": {g: mean_of([t for t in done if t.group == g]) for g in GROUPS if any(t.group == g for t in done)},
    }


def report(tasks, settings, seeds, results, wall, complete: bool) -> dict:
    return {
        "complete": complete,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "seeds": list(seeds),
        "shots": SHOTS,
        "wall_seconds": round(wall, 1),
        "data": str(DATA),
        "settings": {
            s.name: {
                "features": s.config.to_dict(),
                "options": {**asdict(s.options), "snr_db": list(s.options.snr_db)},
                "noise": str(NOISE_DIR) if s.noise else None,
            }
            for s in settings
        },
        "tasks": {
            t.key: {
                "name": t.name,
                "group": t.group,
                "multi_speaker": t.multi_speaker,
                "labels": list(t.labels),
                "clips_per_label": list(t.clips_per_label),
                "test_clips": t.test_clips,
                "results": {
                    name: {"mean": round(float(np.mean(a)), 4), "std": round(float(np.std(a)), 4), "accuracy": a}
                    for name, a in results.get(t.key, {}).items()
                },
            }
            for t in tasks
        },
        "summary": summaries(tasks, settings, results),
        "switched_to_conv": {name: list(keys) for name, keys in SWITCHED.items()},
    }


def markdown(data: dict) -> str:
    """The README's table (per task mean ± std, then the means) from a :func:`report`."""
    names = list(data["settings"])
    seeds = data["seeds"]
    seed_text = f"seeds {seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}"
    lines = [
        f"5-shot accuracy, mean ± std over {len(seeds)} seeds ({seed_text}); {data['date']}; "
        f"{data['machine']}; total wall time {data['wall_seconds']:.0f} s"
        + ("" if data["complete"] else " (INCOMPLETE run)"),
        "",
        "| task | group | test clips | " + " | ".join(names) + " |",
        "|---|---|---:|" + "---|" * len(names),
    ]
    for task in data["tasks"].values():
        res = task["results"]
        cells = " | ".join(f"{res[n]['mean']:.2f} ± {res[n]['std']:.2f}" if n in res else "" for n in names)
        group = task["group"] + (", multi-speaker" if task["multi_speaker"] else "")
        lines.append(f"| {task['name']} | {group} | {task['test_clips']} | {cells} |")
    summary = data["summary"]

    def row(title: str, entry: dict) -> str:
        cells = " | ".join("" if entry[n] is None else f"**{entry[n]:.2f}**" for n in names)
        return f"| **{title}** ({len(entry['tasks'])} tasks) | | | {cells} |"

    lines.append(row("mean over all tasks", summary["overall"]))
    if summary["multi_speaker"]["tasks"]:
        lines.append(row("mean, multi-speaker words/digits", summary["multi_speaker"]))
    lines += ["", "| group | tasks | " + " | ".join(names) + " |", "|---|---:|" + "---|" * len(names)]
    for group, entry in summary["groups"].items():
        lines.append(
            f"| {group} | {len(entry['tasks'])} | "
            + " | ".join("" if entry[n] is None else f"{entry[n]:.2f}" for n in names)
            + " |"
        )
    if summary["multi_speaker"]["tasks"]:
        entry = summary["multi_speaker"]
        lines.append(
            f"| multi-speaker words/digits | {len(entry['tasks'])} | "
            + " | ".join(f"{entry[n]:.2f}" for n in names)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds [10]")
    parser.add_argument(
        "--seed-offset", type=int, default=0, help="first seed [0]; the README reports 0-9, tuning runs use 100 and up"
    )
    parser.add_argument(
        "--settings",
        default="paper,old-default,default",
        help=f"comma-separated, from {', '.join(SETTINGS)} [paper,old-default,default]",
    )
    parser.add_argument(
        "--noise",
        action="store_true",
        help="also run old-default+noise (real background "
        "recordings from shared/data/background_noise instead of generated noise)",
    )
    parser.add_argument(
        "--tasks",
        help="comma-separated task keys, groups ("
        + ", ".join(GROUPS)
        + "), 'multi' (multi-speaker words/digits) or 'all'; keys: "
        + ", ".join(t.key for t in all_tasks()),
    )
    parser.add_argument("--json", type=Path, help="write results, summaries, settings, machine, seeds here")
    parser.add_argument("--markdown", type=Path, help="write the README-style table here")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"activation cache [{DEFAULT_CACHE}]")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    tasks = select(all_tasks(), args.tasks)
    for task in tasks:
        task.check()
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    if args.noise and "old-default+noise" not in names:
        names.append("old-default+noise")
    settings = make_settings(names)
    if not settings or not tasks:
        print("nothing to run", file=sys.stderr)
        return 2
    base = load_base(BASE_DIR)
    speech = {
        q: load_speech_embedding(SPEECH_DIR, quantized=q)
        for q in (True, False)
        if any(s.options.head == "linear" and s.speech_quantized == q for s in settings)
    }
    cache = ActivationCache(args.cache)
    noise_bank = load_noise(NOISE_DIR) if any(s.noise for s in settings) else None

    def write(complete: bool) -> dict:
        data = report(tasks, settings, seeds, results, time.perf_counter() - started, complete)
        if args.json:
            tmp = args.json.with_name(args.json.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(tmp, args.json)
        return data

    results: dict[str, dict[str, list[float]]] = {}
    for task in tasks:
        results[task.key] = {}
        for setting in settings:
            t0 = time.perf_counter()
            accs = run_task(
                task,
                setting,
                seeds,
                base=base,
                cache=cache,
                noise_bank=noise_bank,
                speech=speech.get(setting.speech_quantized),
            )
            results[task.key][setting.name] = accs
            print(
                f"  {task.name}: {setting.name} {fmt(accs)} ({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        write(complete=False)
    data = write(complete=True)

    table = markdown(data)
    if not speakers_with_several_words():
        table += (
            "\nwords: no Speech Commands speaker recorded any of on / off / stop more than once, so a "
            "one-speaker English words task cannot be formed; the words rows are multi-speaker tasks.\n"
        )
    print(table)
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
