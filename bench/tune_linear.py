"""How the linear head's settings were chosen: a grid over the L2 penalty and the block weighting,
scored on TUNING seeds (100-104 by default), never on the seeds the README's table reports (0-9).

For every task of ``bench/tasks.py`` and seed, the training clips' augmented variants and the test
clips are turned into block features exactly as ``pac train`` does (same variants, same on-disk
cache as ``bench/accuracy.py``), once; then each setting is only a few logistic regressions:

- ``cv``: the rule of :func:`pac.linear_head.choose_weights` over the (speech, averaged MobileNet) pairs
  (:data:`pac.linear_head.WEIGHTINGS`; the product's until 2026-12-02, which now also has the frequency-row
  pairs: ``--experiment frequency-rows``, rule R1): k-fold cross-validation over the training clips picks the
  weighting, the default one unless another is more accurate on held-out clips;
- ``fixed s:m``: always the weighting (speech s, mobilenet m), e.g. ``1:0`` speech only;
- ``cv+tta``: ``cv``, with each test clip's probabilities averaged over the training shifts
  (-0.1 .. 0.1 s; test-time augmentation, which costs the page one pass per shift).

    .venv/bin/python bench/tune_linear.py [--seeds 5] [--seed-offset 100] [--json out.json]

``--experiment frequency-rows`` (issue 11, instrument notes) instead compares the MobileNet block
``mean`` (the 7 x 7 positions averaged, 256 values, the product's) with ``rows``: averaged over time
only, so each of the 7 frequency rows keeps its 256 channels (1,792 values); and, fixed only,
``full`` (all 12,544 activations). All come from the same cached activations. Rules scored (L2 0.1,
5 folds): ``R0`` the product's (the 7 weightings of speech and ``mean``, the default kept unless
another is more accurate held out); ``R1`` the same plus the 6 weightings of speech and ``rows``;
``R3`` only speech and ``rows`` (default speech 1, rows 0.5; the product's since 2026-12-03, with
the scale floor below); ``fixed`` weightings. The fits are
exact L2 logistic regressions solved in the span of the training examples (:func:`kernel_fit`), so a
1,792-value block costs no more than a 256-value one.

``--experiment scale-floor`` scores the same rules with each block standardised under a floor on the
scale (:data:`SCALE_FLOORS`: no value is divided by less than that fraction of its block's median
standard deviation), asking whether near-constant activations, blown up by standardising over a few
clips, are what costs instrument notes.
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
from pac.linear_head import (  # noqa: E402
    SCALE_FLOOR,
    WEIGHTINGS,
    block_scale,
    choose_weights,
    fit_model,
    select_columns,
)
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
    feats = joined(
        block_features(
            clips,
            [[CLEAN, *v] for v in variants],
            config=config,
            blocks=BLOCKS,
            networks=networks,
            cache=cache,
            noise_bank=noise,
        ),
        BLOCKS,
    )
    test_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
    shifts = [Variant(shift=s) for s in shift_variants(options.max_shift, options.shift_step)]
    test = joined(
        block_features(
            [dataset.clips[i].audio for i in test_idx],
            [shifts] * len(test_idx),
            config=config,
            blocks=BLOCKS,
            networks=networks,
            cache=cache,
        ),
        BLOCKS,
    )
    return (
        [f[1:] for f in feats],
        [f[:1] for f in feats],
        np.array([dataset.clips[i].label for i in train_idx]),
        np.stack(test),
        np.array([dataset.clips[i].label for i in test_idx]),
        len(task.labels),
    )


def score(train, clean, labels, test_x, test_y, n_labels, *, l2, weights=None, seed=0, tta=False):
    """Test accuracy; ``test_x`` is ``[clips, shifts, d]`` (the middle shift is the clean clip)."""
    sizes = [SIZES[b] for b in BLOCKS]
    if weights is None:
        weights = choose_weights(
            train,
            clean,
            labels,
            n_labels=n_labels,
            blocks=BLOCKS,
            sizes=sizes,
            candidates=WEIGHTINGS,
            l2=l2,
            k=5,
            seed=seed,
        ).best.weights
    x = np.concatenate(train)
    y = np.concatenate([[labels[k]] * len(v) for k, v in enumerate(train)])
    model = fit_model(x, y, n_labels=n_labels, blocks=BLOCKS, sizes=sizes, weights=weights, l2=l2)
    n, shifts, d = test_x.shape
    probs = model.probabilities(select_columns(test_x.reshape(n * shifts, d), BLOCKS, sizes, model.blocks))
    probs = probs.reshape(n, shifts, -1)
    probs = probs.mean(axis=1) if tta else probs[:, shifts // 2]
    return float(np.mean(probs.argmax(axis=1) == test_y)), weights


# ---------------------------------------------------------------------------------------------
# --experiment frequency-rows

ROW_WEIGHTINGS = WEIGHTINGS  # (speech, second block) pairs, the product's list
ROW_FIXED = (
    ("mean", (1.0, 0.5)),
    ("rows", (1.0, 0.5)),
    ("rows", (1.0, 0.25)),
    ("rows", (1.0, 1.0)),
    ("rows", (0.0, 1.0)),
    ("full", (1.0, 0.5)),
    ("full", (1.0, 0.25)),
)


#: ``--experiment scale-floor``: the smallest scale a value is divided by, as a fraction of its block's
#: median standard deviation (0: the product's until 2026-12-03, only constant values kept at 1; the
#: product's now: :data:`pac.linear_head.SCALE_FLOOR`, chosen with this experiment).
SCALE_FLOORS = (0.0, 0.03, 0.1, 0.3, 1.0)


def row_blocks(speech: np.ndarray, acts: np.ndarray) -> dict:
    """``speech [..., 192]`` and activations ``[..., 7, 7, 256]`` -> ``{"sp", "mean", "rows", "full"}``
    (``full``: all 12,544 activations)."""
    lead = speech.shape[:-1]
    return {
        "sp": speech.astype(np.float64),
        "mean": acts.mean(axis=(-3, -2)).astype(np.float64),
        "rows": acts.mean(axis=-2).reshape(*lead, 7 * 256).astype(np.float64),
        "full": acts.reshape(*lead, 49 * 256).astype(np.float64),
    }


def standardised_grams(train: dict, test: dict, *, floor: float = SCALE_FLOOR) -> dict:
    """Per block, ``(K_train, K_test)`` of the block standardised by the training rows as the product
    does (:func:`pac.linear_head.block_scale`; ``floor``: the product's unless ``--experiment
    scale-floor`` asks for another)."""
    out = {}
    for name, a in train.items():
        mean, scale = a.mean(axis=0), block_scale(a, floor=floor)
        a, t = (a - mean) / scale, (test[name] - mean) / scale
        out[name] = (a @ a.T, t @ a.T)
    return out


def kernel_fit(grams: dict, weights: dict, y, n_labels: int, l2: float) -> np.ndarray:
    """Test probabilities of :func:`pac.linear_head.fit_model`'s model (same objective, same optimum):
    with ``X = U S V^T`` the weighted standardised training values, the L2-penalised weights lie in the
    span of ``V``, so the regression is fitted on ``U S`` (at most one column per example)."""
    from pac.linear_head import fit_logistic, softmax

    k_train = sum(w * w * grams[b][0] for b, w in weights.items() if w > 0)
    k_test = sum(w * w * grams[b][1] for b, w in weights.items() if w > 0)
    values, vectors = np.linalg.eigh(k_train)
    keep = values > values.max() * 1e-10
    u, s = vectors[:, keep], np.sqrt(values[keep])
    kernel, bias = fit_logistic(u * s, y, n_labels=n_labels, l2=l2)
    return softmax(k_test @ (u / s) @ kernel + bias)


def row_features(task, seed, *, networks, cache, noise, options):
    """Per training clip its variants' blocks (first row the clean clip), test blocks and labels."""
    from pac.activations import compute_activations
    from pac.blocks import speech_features

    config = PROFILES["default"]
    dataset = task.dataset(config)
    train_idx = split(task, seed)
    rng = np.random.default_rng(seed)
    variants = [[CLEAN, *training_variants(options, noise, rng)] for _ in train_idx]
    clips = [dataset.clips[i].audio for i in train_idx]
    train = row_blocks(
        np.stack(
            speech_features(clips, variants, config=config, speech=networks.speech, cache=cache, noise_bank=noise)
        ),
        np.stack(
            compute_activations(clips, variants, config=config, base=networks.mobilenet, cache=cache, noise_bank=noise)
        ),
    )
    test_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
    tests = [dataset.clips[i].audio for i in test_idx]
    test = row_blocks(
        np.concatenate(
            speech_features(tests, [[CLEAN]] * len(tests), config=config, speech=networks.speech, cache=cache)
        ),
        np.concatenate(
            compute_activations(tests, [[CLEAN]] * len(tests), config=config, base=networks.mobilenet, cache=cache)
        ),
    )
    return (
        train,
        test,
        np.array([dataset.clips[i].label for i in train_idx]),
        np.array([dataset.clips[i].label for i in test_idx]),
        len(task.labels),
    )


def row_candidates(train, test, labels, test_y, n_labels, *, seed, l2=0.1, k=5, floor=SCALE_FLOOR) -> dict:
    """Test accuracy and cross-validated (accuracy, log-loss) of every (speech, mean|rows) weighting,
    and the test accuracy of :data:`ROW_FIXED`'s other weightings (``floor``: :func:`standardised_grams`)."""
    from pac.linear_head import folds

    n_variants = train["sp"].shape[1] - 1
    flat = {b: v[:, 1:].reshape(-1, v.shape[-1]) for b, v in train.items()}
    y = np.repeat(labels, n_variants)
    full = standardised_grams(flat, test, floor=floor)
    fold_of = folds(labels, min(k, int(np.bincount(labels).min())), np.random.default_rng(seed))
    fold_grams = []
    for f in range(int(fold_of.max()) + 1):
        inside, held = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        fold_grams.append(
            (
                held,
                np.repeat(labels[inside], n_variants),
                standardised_grams(
                    {b: v[inside, 1:].reshape(-1, v.shape[-1]) for b, v in train.items() if b != "full"},
                    {b: v[held, 0] for b, v in train.items() if b != "full"},
                    floor=floor,
                ),
            )
        )
    out = {}
    for second in ("mean", "rows"):
        for w in ROW_WEIGHTINGS:
            if second == "rows" and w[1] == 0:
                continue  # speech alone is the same model either way
            weights = {"sp": w[0], second: w[1]}
            probs = np.zeros((len(labels), n_labels))
            for held, fold_y, grams in fold_grams:
                probs[held] = kernel_fit(grams, weights, fold_y, n_labels, l2)
            picked = np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)
            test_p = kernel_fit(full, weights, y, n_labels, l2)
            out[f"{w[0]:g}:{second}{w[1]:g}"] = {
                "test": float((test_p.argmax(axis=1) == test_y).mean()),
                "cv": (float((probs.argmax(axis=1) == labels).mean()), float(-np.log(picked).mean())),
            }
    for second, w in ROW_FIXED:
        name = f"{w[0]:g}:{second}{w[1]:g}"
        if name not in out:  # test accuracy only (not a cross-validation candidate)
            test_p = kernel_fit(full, {"sp": w[0], second: w[1]}, y, n_labels, l2)
            out[name] = {"test": float((test_p.argmax(axis=1) == test_y).mean()), "cv": None}
    return out


def product_rule(cands: dict, names, default: str) -> str:
    """The product's rule: ``default`` unless another is more accurate held out (then lowest log-loss)."""
    best = min(names, key=lambda n: (-cands[n]["cv"][0], cands[n]["cv"][1]))
    return default if cands[default]["cv"][0] >= cands[best]["cv"][0] else best


def row_rules() -> dict:
    mean = [f"{w[0]:g}:mean{w[1]:g}" for w in ROW_WEIGHTINGS]
    rows = [f"{w[0]:g}:rows{w[1]:g}" for w in ROW_WEIGHTINGS if w[1] > 0]
    rules = {
        "R0 (speech, mean), the product's to 2026-12-02": lambda c: product_rule(c, mean, "1:mean0.5"),
        "R1 R0 + (speech, rows), to 2026-12-03": lambda c: product_rule(c, mean + rows, "1:mean0.5"),
        "R3 (speech, rows) only, default 1:rows0.5, the product's": lambda c: product_rule(
            c, ["1:mean0", *rows], "1:rows0.5"
        ),
    }
    for second, w in ROW_FIXED:
        name = f"{w[0]:g}:{second}{w[1]:g}"
        rules[f"fixed {name}"] = lambda c, name=name: name
    return rules


def frequency_rows(args, tasks, networks, cache, noise, options, *, floors=(SCALE_FLOOR,)) -> int:
    """``--experiment frequency-rows``, and ``scale-floor`` (every rule at every floor in ``floors``)."""
    base_rules = row_rules()
    if len(floors) > 1:
        rules = {f"{r} floor={f:g}": (pick, f) for f in floors for r, pick in base_rules.items()}
    else:
        rules = {r: (pick, floors[0]) for r, pick in base_rules.items()}
    results = {r: {} for r in rules}
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    started = time.time()
    for task in tasks:
        for seed in seeds:
            data = row_features(task, seed, networks=networks, cache=cache, noise=noise, options=options)
            cands = {f: row_candidates(*data, seed=seed, floor=f) for f in floors}
            for rule, (pick, f) in rules.items():
                results[rule].setdefault(task.key, []).append(cands[f][pick(cands[f])]["test"])
        shown = [r for r in results if len(floors) == 1 or r.startswith("R3")]
        print(
            f"{task.key:<24} "
            + "  ".join(
                f"{r.split()[-1] if r.startswith('fixed') or len(floors) > 1 else r.split()[0]} "
                f"{np.mean(results[r][task.key]):.3f}"
                for r in shown
            )
            + f"  ({time.time() - started:.0f} s)",
            flush=True,
        )
    print("\nmean over tasks; multi-speaker mean; instruments mean ± std:")
    multi = {t.key for t in tasks if t.multi_speaker}
    for rule, per_task in results.items():
        line = f"  {np.mean([np.mean(v) for v in per_task.values()]):.4f}"
        if multi:
            line += f"  {np.mean([np.mean(v) for k, v in per_task.items() if k in multi]):.4f}"
        if "instruments" in per_task:
            line += f"  {np.mean(per_task['instruments']):.3f} ± {np.std(per_task['instruments']):.3f}"
        print(f"{line}  {rule}")
    if args.json:
        args.json.write_text(json.dumps({"seeds": list(seeds), "results": results}, indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-offset", type=int, default=100)
    parser.add_argument("--tasks", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--experiment",
        choices=("frequency-rows", "scale-floor"),
        default=None,
        help="instead of the grid: the frequency-row MobileNet block (see above)",
    )
    args = parser.parse_args(argv)
    networks = Networks(
        mobilenet=load_base(BASE_DIR), speech=load_speech_embedding(SHARED / "models" / "speech_embedding")
    )
    cache = ActivationCache(DEFAULT_CACHE)
    options = TrainOptions()
    noise = generated_bank()
    if args.experiment == "frequency-rows":
        return frequency_rows(args, select(all_tasks(), args.tasks), networks, cache, noise, options)
    if args.experiment == "scale-floor":
        return frequency_rows(
            args, select(all_tasks(), args.tasks), networks, cache, noise, options, floors=SCALE_FLOORS
        )
    settings = (
        [f"cv l2={l2}" for l2 in L2S]
        + [f"cv+tta l2={l2}" for l2 in L2S]
        + [f"fixed {w[0]:g}:{w[1]:g} l2={l2}" for w in FIXED for l2 in L2S]
    )
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
        line = "  ".join(
            f"{s.replace(' l2=', '@')} {np.mean(results[s][task.key]):.3f}" for s in settings if s.endswith("l2=0.01")
        )
        print(f"{task.key:<24} {line}  ({time.time() - started:.0f} s)", flush=True)
    print("\nmean over tasks (tuning seeds):")
    summary = {}
    for s in settings:
        per_task = [np.mean(v) for v in results[s].values()]
        summary[s] = float(np.mean(per_task))
    for s, v in sorted(summary.items(), key=lambda kv: -kv[1]):
        print(f"  {v:.4f}  {s}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "seeds": list(seeds),
                    "results": results,
                    "summary": summary,
                    "chosen": {str(k): v for k, v in chosen.items()},
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
