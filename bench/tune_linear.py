"""How the linear head's settings were chosen: a grid over the L2 penalty and the block weighting,
scored on TUNING seeds (100-104 by default), never on the seeds the README's table reports (0-9).

For every task of ``bench/tasks.py`` and seed, the training clips' augmented variants and the test
clips are turned into block features exactly as ``pac train`` does (same variants, same on-disk
cache as ``bench/accuracy.py``), once; then each setting is only a few logistic regressions:

- ``cv``: the product rule (:func:`pac.linear_head.choose_weights`), k-fold cross-validation over the training
  clips picks the weighting (:data:`pac.linear_head.WEIGHTINGS`): the default one unless another is more
  accurate on held-out clips;
- ``fixed s:m``: always the weighting (speech s, mobilenet m), e.g. ``1:0`` speech only;
- ``cv+tta``: ``cv``, with each test clip's probabilities averaged over the training shifts
  (-0.1 .. 0.1 s; test-time augmentation, which costs the page one pass per shift).

    .venv/bin/python bench/tune_linear.py [--seeds 5] [--seed-offset 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "compiler"))
sys.path.insert(0, str(BENCH))

from accuracy import BASE_DIR, DEFAULT_CACHE, SHARED  # noqa: E402
from pac.activations import CLEAN, ActivationCache, Variant, shift_variants  # noqa: E402
from pac.base import load_base  # noqa: E402
from pac.blocks import SIZES, Networks, block_features, joined  # noqa: E402
from pac.features import PROFILES  # noqa: E402
from pac.linear_head import WEIGHTINGS, choose_weights, fit_model, select_columns  # noqa: E402
from pac.noise import generated_bank  # noqa: E402
from pac.speech_base import load_speech_embedding  # noqa: E402
from pac.train import TrainOptions, training_variants  # noqa: E402
from tasks import all_tasks, select, split  # noqa: E402

BLOCKS = ("speech", "mobilenet")
L2S = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
FIXED = ((1.0, 1.0), (1.0, 0.5), (1.0, 0.0), (0.0, 1.0))


def task_features(task, seed, *, networks, cache, noise, options):
    """Training features per clip (variants), their clean rows, test features and labels."""
    config = PROFILES["default"]
    dataset = task.dataset(config)
    train_idx = split(task, seed)
    rng = np.random.default_rng(seed)  # as pac.train.fit draws the variants (train_indices given)
    variants = [training_variants(options, noise, rng) for _ in train_idx]
    clips = [dataset.clips[i].audio for i in train_idx]
    feats = joined(block_features(clips, [[CLEAN, *v] for v in variants], config=config, blocks=BLOCKS,
                                  networks=networks, cache=cache, noise_bank=noise), BLOCKS)
    test_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
    shifts = [Variant(shift=s) for s in shift_variants(options.max_shift, options.shift_step)]
    test = joined(block_features([dataset.clips[i].audio for i in test_idx], [shifts] * len(test_idx),
                                 config=config, blocks=BLOCKS, networks=networks, cache=cache), BLOCKS)
    return ([f[1:] for f in feats], [f[:1] for f in feats], np.array([dataset.clips[i].label for i in train_idx]),
            np.stack(test), np.array([dataset.clips[i].label for i in test_idx]), len(task.labels))


def score(train, clean, labels, test_x, test_y, n_labels, *, l2, weights=None, seed=0, tta=False):
    """Test accuracy; ``test_x`` is ``[clips, shifts, d]`` (the middle shift is the clean clip)."""
    sizes = [SIZES[b] for b in BLOCKS]
    if weights is None:
        weights = choose_weights(train, clean, labels, n_labels=n_labels, blocks=BLOCKS, sizes=sizes,
                                 candidates=WEIGHTINGS, l2=l2, k=5, seed=seed).best.weights
    x = np.concatenate(train)
    y = np.concatenate([[labels[k]] * len(v) for k, v in enumerate(train)])
    model = fit_model(x, y, n_labels=n_labels, blocks=BLOCKS, sizes=sizes, weights=weights, l2=l2)
    n, shifts, d = test_x.shape
    probs = model.probabilities(select_columns(test_x.reshape(n * shifts, d), BLOCKS, sizes, model.blocks))
    probs = probs.reshape(n, shifts, -1)
    probs = probs.mean(axis=1) if tta else probs[:, shifts // 2]
    return float(np.mean(probs.argmax(axis=1) == test_y)), weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-offset", type=int, default=100)
    parser.add_argument("--tasks", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    networks = Networks(mobilenet=load_base(BASE_DIR), speech=load_speech_embedding(SHARED / "models" /
                                                                                    "speech_embedding"))
    cache = ActivationCache(DEFAULT_CACHE)
    options = TrainOptions()
    noise = generated_bank()
    settings = ([f"cv l2={l2}" for l2 in L2S] + [f"cv+tta l2={l2}" for l2 in L2S]
                + [f"fixed {w[0]:g}:{w[1]:g} l2={l2}" for w in FIXED for l2 in L2S])
    results = {s: {} for s in settings}
    chosen = {l2: {} for l2 in L2S}
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    started = time.time()
    for task in select(all_tasks(), args.tasks):
        for seed in seeds:
            data = task_features(task, seed, networks=networks, cache=cache, noise=noise, options=options)
            for l2 in L2S:
                acc, w = score(*data, l2=l2, seed=seed)
                results[f"cv l2={l2}"].setdefault(task.key, []).append(acc)
                acc, _ = score(*data, l2=l2, weights=w, tta=True)
                results[f"cv+tta l2={l2}"].setdefault(task.key, []).append(acc)
                chosen[l2].setdefault(task.key, []).append(list(w))
                for fixed in FIXED:
                    acc, _ = score(*data, l2=l2, weights=fixed)
                    results[f"fixed {fixed[0]:g}:{fixed[1]:g} l2={l2}"].setdefault(task.key, []).append(acc)
        line = "  ".join(f"{s.replace(' l2=', '@')} {np.mean(results[s][task.key]):.3f}"
                         for s in settings if s.endswith("l2=0.01"))
        print(f"{task.key:<24} {line}  ({time.time() - started:.0f} s)", flush=True)
    print("\nmean over tasks (tuning seeds):")
    summary = {}
    for s in settings:
        per_task = [np.mean(v) for v in results[s].values()]
        summary[s] = float(np.mean(per_task))
    for s, v in sorted(summary.items(), key=lambda kv: -kv[1]):
        print(f"  {v:.4f}  {s}")
    if args.json:
        args.json.write_text(json.dumps({"seeds": list(seeds), "results": results, "summary": summary,
                                         "chosen": {str(k): v for k, v in chosen.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
