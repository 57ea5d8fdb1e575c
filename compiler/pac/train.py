"""``pac train``: clips in label folders -> a trained model folder.

1. read the clips (:mod:`pac.dataset`) and split off validation clips, stratified by label;
2. compute MobileNet activations of every training clip's augmented variants (time shifts, and
   background noise mixed in: generated noise by default, or the clips of a noise folder) and of
   the validation clips (cached);
3. train the head (:mod:`pac.head`);
4. write the model folder atomically: TF.js head, ``pac.json``, ``report.json``, curves and
   confusion-matrix PNGs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .activations import CLEAN, ActivationCache, NoiseBank, Variant, compute_activations, shift_variants
from .audio import read_wav
from .dataset import Dataset, load_dataset
from .errors import PacError
from .features import FeatureConfig
from .features.pipeline import time_shifts_apply
from .fsutil import atomic_dir
from .head import OPTIMIZERS, predict_head, train_head
from .metrics import scores
from .modeldir import MANIFEST, Manifest, base_identity, tool_versions, write_head


@dataclass(frozen=True)
class TrainOptions:
    """Hyperparameters of ``pac train`` with the product's defaults.

    Parameters
    ----------
    epochs : int
        Passes over the training data.
    learning_rate : float
        Step size of the optimizer.
    optimizer : {"adam", "sgd", "adagrad", "adadelta"}
        PAC's optimizer choices.
    batch_fraction : float
        PAC's "training data fraction": batch size = ``max(1, floor(fraction * examples))``.
    validation_fraction : float
        Share of each label's clips held out for the report (at least one clip stays in training).
    seed : int
        Seeds the split, the augmentation draw, initialisation and shuffling: same seed, same model.
    max_shift, shift_step : float
        Time-shift augmentation: each training clip also appears shifted by ``-max..max`` seconds in
        ``shift_step`` steps; ``max_shift = 0`` disables it.
    generated_noise : bool
        Without a noise folder, mix generated white/pink/brown noise (:mod:`pac.noise`) into the
        training clips; a noise folder replaces it.
    noise_copies : int
        Noisy copies per shifted variant (when noise is mixed in).
    snr_db : tuple of float
        Range of signal-to-noise ratios (dB) drawn for the noisy copies.
    restarts : int
        Times a dead head (the same answer for every training clip; see :func:`pac.head.collapsed`)
        is trained again from a new seeded initialisation.
    """

    epochs: int = 50
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    batch_fraction: float = 0.4
    validation_fraction: float = 0.2
    seed: int = 0
    max_shift: float = 0.1
    shift_step: float = 0.05
    generated_noise: bool = True
    noise_copies: int = 1
    snr_db: tuple = (5.0, 20.0)
    restarts: int = 2

    def check(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append("--epochs must be at least 1")
        if not self.learning_rate > 0:
            problems.append("--learning-rate must be positive")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not 0 < self.batch_fraction <= 1:
            problems.append("--batch-fraction must be in (0, 1]")
        if not 0 <= self.validation_fraction < 1:
            problems.append("--validation-fraction must be in [0, 1)")
        if self.restarts < 0:
            problems.append("restarts must be >= 0")
        if self.max_shift < 0 or self.shift_step <= 0:
            problems.append("--max-shift must be >= 0")
        if problems:
            raise PacError("; ".join(problems))


#: The paper's and MIT's trainer's settings (with feature profile ``paper``).
PAPER = TrainOptions(epochs=20, learning_rate=1e-4, validation_fraction=0.0, max_shift=0.0, generated_noise=False,
                     restarts=0)


def split(dataset: Dataset, fraction: float, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Indices of training and validation clips: per label ``round(fraction * n)`` held out, >= 1 kept."""
    train, val = [], []
    for label in range(len(dataset.labels)):
        members = [i for i, c in enumerate(dataset.clips) if c.label == label]
        order = [members[k] for k in rng.permutation(len(members))]
        n_val = min(len(order) - 1, int(np.floor(fraction * len(order) + 0.5)))
        val.extend(order[:n_val])
        train.extend(order[n_val:])
    return sorted(train), sorted(val)


def training_variants(options: TrainOptions, noise: NoiseBank | None, rng: np.random.Generator) -> list[Variant]:
    """The augmented variants of one training clip."""
    shifts = shift_variants(options.max_shift, options.shift_step)
    variants = [Variant(shift=s) for s in shifts]
    if noise is not None and noise.clips:
        for s in shifts:
            for _ in range(options.noise_copies):
                variants.append(Variant(shift=s, noise=int(rng.integers(len(noise.clips))),
                                        noise_start=float(rng.random()),
                                        snr_db=float(rng.uniform(*options.snr_db))))
    return variants


def load_noise(folder: str | os.PathLike | None) -> NoiseBank | None:
    """Every WAV in ``folder`` (recursively) as a noise bank; ``None`` without a folder."""
    if folder is None:
        return None
    root = Path(folder)
    if not root.is_dir():
        raise PacError(f"{root}: noise folder does not exist")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".wav", ".wave"))
    if not paths:
        raise PacError(f"{root}: noise folder holds no .wav files")
    return NoiseBank([read_wav(p) for p in paths])


@dataclass
class TrainResult:
    """What a training run produced (also written to ``report.json``)."""

    model: object
    labels: tuple
    report: dict


def fit(dataset: Dataset, *, config: FeatureConfig, options: TrainOptions, base, noise: NoiseBank | None = None,
        cache: ActivationCache | None = None, train_indices=None, on_epoch=None, on_restart=None) -> TrainResult:
    """Train a head on ``dataset`` (optionally only on ``train_indices``; the rest validates).

    ``on_epoch(epoch, history)`` follows training; ``on_restart(attempt)`` says a collapsed head is
    being trained again (see :attr:`TrainOptions.restarts`).
    """
    options.check()
    cache = cache or ActivationCache(None)
    noise_source = "folder" if noise is not None else None
    if noise is None and options.generated_noise:
        from .noise import generated_bank

        noise, noise_source = generated_bank(), "generated"
    rng = np.random.default_rng(options.seed)
    if train_indices is None:
        train_idx, val_idx = split(dataset, options.validation_fraction, rng)
    else:
        train_idx = sorted(train_indices)
        val_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
    clips = dataset.clips
    if not time_shifts_apply(config):  # the whole clip is analysed: shifted copies would be identical
        options = replace(options, max_shift=0.0)
    variants = [training_variants(options, noise, rng) for _ in train_idx]
    started = time.perf_counter()
    train_acts = compute_activations([clips[i].audio for i in train_idx], variants, config=config,
                                     base=base, cache=cache, noise_bank=noise)
    val_acts = compute_activations([clips[i].audio for i in val_idx], [[CLEAN]] * len(val_idx),
                                   config=config, base=base, cache=cache)
    features_seconds = time.perf_counter() - started
    x = np.concatenate(train_acts)
    y = np.concatenate([[clips[i].label] * len(v) for i, v in zip(train_idx, variants)]).astype(np.int64)
    x_val = np.concatenate(val_acts) if val_acts else np.zeros((0, 7, 7, 256), np.float32)
    y_val = np.array([clips[i].label for i in val_idx], dtype=np.int64)
    batch_size = max(1, int(np.floor(options.batch_fraction * len(x))))
    started = time.perf_counter()
    model, history = train_head(x, y, n_labels=len(dataset.labels), epochs=options.epochs,
                                learning_rate=options.learning_rate, optimizer=options.optimizer,
                                batch_size=batch_size, seed=options.seed,
                                validation=(x_val, y_val), on_epoch=on_epoch,
                                restarts=options.restarts, on_restart=on_restart)
    train_seconds = time.perf_counter() - started
    report = {
        "labels": list(dataset.labels),
        "options": {**asdict(options), "snr_db": list(options.snr_db)},
        "batch_size": batch_size,
        "examples": int(len(x)),
        "noise": noise_source,
        "clips": {"training": [str(clips[i].path) for i in train_idx],
                  "validation": [str(clips[i].path) for i in val_idx],
                  "skipped": list(dataset.skipped)},
        "history": asdict(history),
        "seconds": {"features": round(features_seconds, 3), "training": round(train_seconds, 3)},
        "validation": None,
    }
    if val_idx:
        probs = predict_head(model, x_val)
        result = scores(y_val, probs.argmax(axis=1), dataset.labels)
        result["clips"] = [{"path": str(clips[i].path), "label": dataset.labels[clips[i].label],
                            "predicted": dataset.labels[int(p.argmax())],
                            "confidence": float(p.max())} for i, p in zip(val_idx, probs)]
        report["validation"] = result
    return TrainResult(model=model, labels=dataset.labels, report=report)


def save(result: TrainResult, output: str | os.PathLike, *, config: FeatureConfig) -> Path:
    """Write the model folder atomically (an existing pac model folder is replaced)."""
    from .plots import plot_confusion, plot_curves

    output = Path(output)
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / MANIFEST).exists())):
        raise PacError(f"{output}: exists and is not a pac model folder; choose another -o")
    manifest = Manifest(labels=result.labels, features=config, base=base_identity(), tools=tool_versions())
    with atomic_dir(output) as staging:
        write_head(result.model, staging)
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        (staging / "report.json").write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        plot_curves(result.report["history"], staging / "curves.png")
        validation = result.report["validation"]
        if validation:
            plot_confusion(validation["confusion"], result.labels, staging / "confusion.png",
                           title="validation clips")
    return output


def options_with(base: TrainOptions, **changes) -> TrainOptions:
    """``base`` with the given fields replaced (``None`` values ignored)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})


__all__ = ["TrainOptions", "PAPER", "fit", "save", "load_dataset", "load_noise", "options_with"]
