# One module on purpose (issue 15): the training steps in the order the docstring lists them, read top-down.
"""``pac train``: clips in label folders -> a trained model folder.

1. read the clips (:mod:`pac.dataset`) and split off validation clips, stratified by label (none by
   default for the linear head: every clip trains, and cross-validation estimates the accuracy);
2. make every training clip's augmented variants (time shifts, and background noise mixed in: the
   background label's recordings of the room by default, generated noise while there are none, or
   the clips of a noise folder) and compute their features, cached:
   the feature blocks (:mod:`pac.blocks`: pooled speech embeddings and averaged MobileNet
   activations) for the default linear head, MobileNet's activations for PAC's conv head;
3. train the head: the linear head (:mod:`pac.linear_head`) weighs its blocks by k-fold
   cross-validation over the training clips, then fits on all of them; the conv head
   (:mod:`pac.head`, ``--preset paper``, ``--config pac-compat``, ``--head conv``) trains for epochs;
4. write the model folder atomically: TF.js head, ``pac.json``, ``report.json``, curves (conv head)
   and confusion-matrix PNGs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from enum import Enum
from pathlib import Path

import numpy as np

from . import train_options
from .activations import CLEAN, ActivationCache, NoiseBank, Variant, compute_activations, shift_variants
from .audio import read_wav
from .blocks import BLOCKS, POOLING, SIZES, Networks, block_features, joined, networks_of_blocks
from .dataset import BACKGROUND_LABEL, ROOM_PREFIX, Dataset, background_recordings, load_dataset, room_recordings
from .errors import PacError
from .features import FeatureConfig, band_for_rates
from .features.pipeline import time_shifts_apply
from .fsutil import atomic_dir
from .head import History, predict_head, train_head
from .metrics import scores
from .modeldir import MANIFEST, Manifest, base_identity, tool_versions, write_head

#: ``--bases`` of the linear head: which feature blocks it may use.
#: ``--bases``: the feature blocks a linear head may use (cross-validation weighs them when several).
BASES = {
    "speech+mobilenet": BLOCKS,
    "speech": ("speech",),
    "mobilenet": ("mobilenet",),
}
_DEFAULTS = train_options.defaults()


@dataclass(frozen=True)
class TrainOptions:
    """Hyperparameters of ``pac train`` with the product's defaults.

    The defaults, bounds and choices are declared in :data:`pac.train_options.OPTIONS`.

    Parameters
    ----------
    head : {"linear", "conv"}
        ``"linear"``: one softmax layer on the feature blocks (:mod:`pac.linear_head`), the product's
        default; ``"conv"``: PAC's head on MobileNet's activations (:mod:`pac.head`).  Features
        ``pac-compat`` always use the conv head (MIT's models are conv heads).
    bases : {"speech+mobilenet", "speech", "mobilenet"}
        Linear head: the networks it may use (:data:`BASES`: their blocks).  With both,
        cross-validation on the training clips weighs the blocks
        (:data:`pac.linear_head.JOINED_WEIGHTINGS`) and may drop some.
    l2 : float
        Linear head: L2 penalty on the softmax layer's weights (mean cross-entropy + l2/2 |W|^2).
    cv_folds : int
        Linear head: folds of the cross-validation over clips (capped by the smallest label's clips).
    epochs : int
        Conv head: passes over the training data.
    learning_rate : float
        Step size of the optimizer.
    optimizer : {"adam", "sgd", "adagrad", "adadelta"}
        PAC's optimizer choices.
    batch_fraction : float
        PAC's "training data fraction": batch size = ``max(1, floor(fraction * examples))``.
    validation_fraction : float or None
        Share of each label's clips held out for the report (at least one clip stays in training);
        ``None``: 0 for the linear head (cross-validation reports the accuracy instead), 0.2 for
        the conv head.
    seed : int
        Seeds the split, the augmentation draw, initialisation and shuffling: same seed, same model.
    max_shift, shift_step : float
        Time-shift augmentation: each training clip also appears shifted by ``-max..max`` seconds in
        ``shift_step`` steps; ``max_shift = 0`` disables it.
    generated_noise : bool
        Without a noise folder, mix the room's own noise (the background label's recordings of the
        room, :func:`pac.dataset.room_recordings`) into the training clips, or where there are none,
        generated white/pink/brown noise (:mod:`pac.noise`); a noise folder replaces both.
    noise_copies : int
        Noisy copies per shifted variant (when noise is mixed in).
    snr_db : tuple of float
        Range of signal-to-noise ratios (dB) drawn for the noisy copies.
    canvas_copies : int
        pac-compat features: 1 also trains on every training image drawn with each other canvas filter
        a browser may use (:func:`pac.features.compat.other_downscales`); 0 (the default) does not:
        measured (bench/compat_filters.py) no closer to the other filters' answers, and less accurate.
    restarts : int
        Times a dead head (the same answer for every training clip; see :func:`pac.head.collapsed`)
        is trained again from a new seeded initialisation.
    """

    head: str = _DEFAULTS["head"]
    bases: str = _DEFAULTS["bases"]
    l2: float = _DEFAULTS["l2"]
    cv_folds: int = _DEFAULTS["cv_folds"]
    epochs: int = _DEFAULTS["epochs"]
    learning_rate: float = _DEFAULTS["learning_rate"]
    optimizer: str = _DEFAULTS["optimizer"]
    batch_fraction: float = _DEFAULTS["batch_fraction"]
    validation_fraction: float | None = _DEFAULTS["validation_fraction"]
    seed: int = _DEFAULTS["seed"]
    max_shift: float = _DEFAULTS["max_shift"]
    shift_step: float = _DEFAULTS["shift_step"]
    generated_noise: bool = _DEFAULTS["generated_noise"]
    noise_copies: int = _DEFAULTS["noise_copies"]
    snr_db: tuple = _DEFAULTS["snr_db"]
    canvas_copies: int = _DEFAULTS["canvas_copies"]
    restarts: int = _DEFAULTS["restarts"]

    def check(self, *, naming=None) -> None:
        """Refuse options outside their bounds or choices (:func:`pac.train_options.check`).

        Parameters
        ----------
        naming : callable, optional
            ``naming(spec)``: how the error names an option (default its name, e.g. ``l2``).

        Raises
        ------
        PacError
            One line: every problem, with the value and what is allowed.
        """
        train_options.check(asdict(self), naming=naming)


#: The paper's and MIT's trainer's settings (with feature profile ``paper``).
PAPER = TrainOptions(**train_options.paper())


def resolved(options: TrainOptions, config: FeatureConfig) -> TrainOptions:
    """``options`` with the automatic choices made: the conv head for pac-compat features, and the
    validation fraction of the head when it is ``None``."""
    if config.method == "pac-compat":
        options = replace(options, head="conv")
    if options.validation_fraction is None:
        options = replace(options, validation_fraction=0.2 if options.head == "conv" else 0.0)
    return options


def needed_networks(options: TrainOptions, config: FeatureConfig) -> tuple[str, ...]:
    """The pretrained networks training needs: ``"mobilenet"`` and/or ``"speech"``."""
    options = resolved(options, config)
    return ("mobilenet",) if options.head == "conv" else networks_of_blocks(BASES[options.bases])


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
                variants.append(
                    Variant(
                        shift=s,
                        noise=int(rng.integers(len(noise.clips))),
                        noise_start=float(rng.random()),
                        snr_db=float(rng.uniform(*options.snr_db)),
                    )
                )
    return variants


class NoiseFrom(Enum):
    """Noise :func:`fit` takes from the data set itself (instead of a :class:`NoiseBank`)."""

    #: The background label's clips that train (all of them, not only the recordings of the room).
    BACKGROUND_LABEL = "background label"


#: ``fit(noise=BACKGROUND_NOISE)``: the studio's "all of _background_noise_" choice.
BACKGROUND_NOISE = NoiseFrom.BACKGROUND_LABEL


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
    #: The feature configuration the model was trained with and runs with (:func:`fit`'s, with
    #: ``f_limit`` set to the clips' band: :func:`pac.features.band_for_rates`).
    config: FeatureConfig
    #: Linear head: the manifest's ``head`` description (blocks, sizes, weights); ``None`` for conv.
    linear: dict | None = None


def validation_report(dataset: Dataset, val_idx, y_val: np.ndarray, probs: np.ndarray) -> dict:
    """``report.json``'s ``validation``: the scores of the held-back clips and the answer for each."""
    result = scores(y_val, probs.argmax(axis=1), dataset.labels)
    result["clips"] = [
        {
            "path": str(dataset.clips[i].path),
            "label": dataset.labels[dataset.clips[i].label],
            "predicted": dataset.labels[int(p.argmax())],
            "confidence": float(p.max()),
        }
        for i, p in zip(val_idx, probs)
    ]
    return result


def fit(
    dataset: Dataset,
    *,
    config: FeatureConfig,
    options: TrainOptions,
    base=None,
    speech=None,
    noise: NoiseBank | NoiseFrom | None = None,
    cache: ActivationCache | None = None,
    train_indices=None,
    on_epoch=None,
    on_restart=None,
    on_features=None,
) -> TrainResult:
    """Train a head on ``dataset`` (optionally only on ``train_indices``; the rest validates).

    Parameters
    ----------
    base, speech : optional
        The MobileNet base (:func:`pac.base.load_base`) and the speech embedding
        (:func:`pac.speech_base.load_speech_embedding`); :func:`needed_networks` says which are needed.
    noise : NoiseBank or BACKGROUND_NOISE, optional
        Noise mixed into the training clips instead of the room's or generated noise
        (:attr:`TrainOptions.generated_noise`): a bank (:func:`load_noise`), or :data:`BACKGROUND_NOISE`
        for the clips of the background label that train (never the ones held out to validate).
    on_epoch : callable, optional
        Conv head: ``on_epoch(epoch, history)`` after each epoch.
    on_restart : callable, optional
        Conv head: ``on_restart(attempt)`` says a collapsed head is trained again
        (:attr:`TrainOptions.restarts`).
    on_features : callable, optional
        ``on_features(done, total)`` as clips' features are computed.
    """
    options = resolved(options, config)
    options.check()
    config = band_for_rates(config, (clip.audio.rate for clip in dataset.clips))
    cache = cache or ActivationCache(None)
    if options.head == "linear":
        return _fit_linear(
            dataset,
            config=config,
            options=options,
            networks=Networks(mobilenet=base, speech=speech),
            noise=noise,
            cache=cache,
            train_indices=train_indices,
            on_features=on_features,
        )
    plan = _plan(dataset, config=config, options=options, noise=noise, train_indices=train_indices)
    options, noise = plan.options, plan.noise
    train_idx, val_idx, variants, clips = plan.train_idx, plan.val_idx, plan.variants, dataset.clips
    started = time.perf_counter()
    total = len(train_idx) + len(val_idx)
    train_acts, val_acts = [], []
    for n, i in enumerate([*train_idx, *val_idx]):  # clip by clip, so progress can be shown
        own = variants[n] if n < len(train_idx) else [CLEAN]
        acts = compute_activations([clips[i].audio], [own], config=config, base=base, cache=cache, noise_bank=noise)[0]
        (train_acts if n < len(train_idx) else val_acts).append(acts)
        if on_features:
            on_features(n + 1, total)
    features_seconds = time.perf_counter() - started
    x = np.concatenate(train_acts)
    y = np.concatenate([[clips[i].label] * len(v) for i, v in zip(train_idx, variants)]).astype(np.int64)
    x_val = np.concatenate(val_acts) if val_acts else np.zeros((0, 7, 7, 256), np.float32)
    y_val = np.array([clips[i].label for i in val_idx], dtype=np.int64)
    batch_size = max(1, int(np.floor(options.batch_fraction * len(x))))
    started = time.perf_counter()
    model, history = train_head(
        x,
        y,
        n_labels=len(dataset.labels),
        epochs=options.epochs,
        learning_rate=options.learning_rate,
        optimizer=options.optimizer,
        batch_size=batch_size,
        seed=options.seed,
        validation=(x_val, y_val),
        on_epoch=on_epoch,
        restarts=options.restarts,
        on_restart=on_restart,
    )
    train_seconds = time.perf_counter() - started
    report = {
        "labels": list(dataset.labels),
        "options": {**asdict(options), "snr_db": list(options.snr_db)},
        "batch_size": batch_size,
        "examples": int(len(x)),
        **plan.noise_report(),
        "clips": {
            "training": [str(clips[i].path) for i in train_idx],
            "validation": [str(clips[i].path) for i in val_idx],
            "skipped": list(dataset.skipped),
        },
        "history": asdict(history),
        "seconds": {"features": round(features_seconds, 3), "training": round(train_seconds, 3)},
        "validation": None,
    }
    if val_idx:
        report["validation"] = validation_report(dataset, val_idx, y_val, predict_head(model, x_val))
    return TrainResult(model=model, labels=dataset.labels, report=report, config=config)


@dataclass
class _Plan:
    """What training works on: the noise bank, the split and each training clip's variants."""

    options: TrainOptions
    noise: NoiseBank | None
    noise_source: str | None
    train_idx: list
    val_idx: list
    variants: list

    def noise_report(self) -> dict:
        """The report's ``noise`` (``"folder"``, ``"label"``, ``"room"``, ``"generated"`` or ``None``) and
        ``noise_clips``."""
        return {"noise": self.noise_source, "noise_clips": len(self.noise.clips) if self.noise is not None else 0}


def _plan(
    dataset: Dataset,
    *,
    config: FeatureConfig,
    options: TrainOptions,
    noise: NoiseBank | NoiseFrom | None,
    train_indices,
) -> _Plan:
    """The split (seeded), the noise bank and the augmented variants of every training clip, drawn from
    the same seeded generator for both heads.

    The noise bank is a folder's, or with :data:`BACKGROUND_NOISE` the background label's training
    clips; else (unless turned off) the training clips that are recordings of the room
    (:func:`pac.dataset.room_recordings`) when there are any, generated noise when not.
    """
    rng = np.random.default_rng(options.seed)
    if train_indices is None:
        train_idx, val_idx = split(dataset, options.validation_fraction, rng)
    else:
        train_idx = sorted(train_indices)
        val_idx = [i for i in range(len(dataset.clips)) if i not in set(train_idx)]
    noise, noise_source = _noise_bank(dataset, noise, options=options, train_idx=train_idx)
    if not time_shifts_apply(config):  # the whole clip is analysed: shifted copies would be identical
        options = replace(options, max_shift=0.0)
    variants = [training_variants(options, noise, rng) for _ in train_idx]
    if options.canvas_copies and config.method == "pac-compat":
        from .features.compat import other_downscales

        others = other_downscales(config)
        variants = [v + [replace(x, downscale=d) for d in others for x in v] for v in variants]
    return _Plan(
        options=options, noise=noise, noise_source=noise_source, train_idx=train_idx, val_idx=val_idx, variants=variants
    )


def _noise_bank(
    dataset: Dataset, noise: NoiseBank | NoiseFrom | None, *, options: TrainOptions, train_idx
) -> tuple[NoiseBank | None, str | None]:
    """The noise :func:`_plan` mixes in and where it came from (:meth:`_Plan.noise_report`'s ``noise``)."""
    if noise is BACKGROUND_NOISE:  # the background label's clips that train (validation ones stay out)
        clips = background_recordings(dataset, train_idx)
        if not clips:
            raise PacError(f"no clip of {BACKGROUND_LABEL} trains, so there is no background noise to mix in")
        return NoiseBank(clips), "label"
    if noise is not None:
        return noise, "folder"
    if not options.generated_noise:
        return None, None
    room = room_recordings(dataset, train_idx)
    if room:
        return NoiseBank(room), "room"
    from .noise import generated_bank

    return generated_bank(), "generated"


def _fit_linear(
    dataset: Dataset,
    *,
    config: FeatureConfig,
    options: TrainOptions,
    networks: Networks,
    noise: NoiseBank | NoiseFrom | None,
    cache: ActivationCache,
    train_indices,
    on_features,
) -> TrainResult:
    """The linear head: block features, cross-validated block weights, one softmax layer."""
    from .linear_head import (
        JOINED_BLOCKS,
        JOINED_DEFAULT,
        JOINED_WEIGHTINGS,
        choose_weights,
        fit_model,
        select_columns,
        to_keras,
    )

    plan = _plan(dataset, config=config, options=options, noise=noise, train_indices=train_indices)
    options, noise = plan.options, plan.noise
    train_idx, val_idx, variants, clips = plan.train_idx, plan.val_idx, plan.variants, dataset.clips
    blocks = BASES[options.bases]
    sizes = [SIZES[b] for b in blocks]
    started = time.perf_counter()
    train_x, clean_x, val_x = [], [], []
    total = len(train_idx) + len(val_idx)
    for n, i in enumerate([*train_idx, *val_idx]):  # clip by clip, so progress can be shown
        own = variants[n] if n < len(train_idx) else []
        feats = joined(
            block_features(
                [clips[i].audio],
                [[CLEAN, *own]],
                config=config,
                blocks=blocks,
                networks=networks,
                cache=cache,
                noise_bank=noise,
            ),
            blocks,
        )[0]
        if n < len(train_idx):
            clean_x.append(feats[:1])
            train_x.append(feats[1:])
        else:
            val_x.append(feats[:1])
        if on_features:
            on_features(n + 1, total)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    labels = np.array([clips[i].label for i in train_idx], dtype=np.int64)
    n_labels = len(dataset.labels)
    if blocks == JOINED_BLOCKS:
        candidates, default = JOINED_WEIGHTINGS, JOINED_DEFAULT
    else:  # one block
        candidates, default = [(1.0,)], (1.0,)
    selection = choose_weights(
        train_x,
        clean_x,
        labels,
        n_labels=n_labels,
        blocks=blocks,
        sizes=sizes,
        candidates=candidates,
        l2=options.l2,
        k=options.cv_folds,
        seed=options.seed,
        default=default,
    )
    weights = selection.best.weights if selection else default
    x = np.concatenate(train_x)
    y = np.concatenate([[labels[k]] * len(v) for k, v in enumerate(train_x)]).astype(np.int64)
    model = fit_model(x, y, n_labels=n_labels, blocks=blocks, sizes=sizes, weights=weights, l2=options.l2)
    train_seconds = time.perf_counter() - started
    keras_model = to_keras(model, n_labels)
    linear = {
        "kind": "linear",
        "blocks": [
            {"name": b, "size": s, "weight": w, "pooling": POOLING[b]}
            for b, s, w in zip(model.blocks, model.sizes, model.weights)
        ],
    }
    cv = None
    if selection:  # every clip held out once, by the chosen weighting's folds
        best = selection.best
        cv = scores(labels, best.probabilities.argmax(axis=1), dataset.labels)
        cv["folds"] = best.folds
        cv["clips"] = [
            {
                "path": str(clips[i].path),
                "label": dataset.labels[clips[i].label],
                "predicted": dataset.labels[int(p.argmax())],
                "confidence": float(p.max()),
            }
            for i, p in zip(train_idx, best.probabilities)
        ]
    report = {
        "labels": list(dataset.labels),
        "options": {**asdict(options), "snr_db": list(options.snr_db)},
        "head": {
            **linear,
            "l2": options.l2,
            "candidates": [
                {"weights": dict(zip(blocks, c.weights)), "cv_accuracy": c.accuracy, "cv_log_loss": c.log_loss}
                for c in (selection.candidates if selection else [])
            ],
        },
        "examples": int(len(x)),
        **plan.noise_report(),
        "clips": {
            "training": [str(clips[i].path) for i in train_idx],
            "validation": [str(clips[i].path) for i in val_idx],
            "skipped": list(dataset.skipped),
        },
        "history": asdict(History()),
        "seconds": {"features": round(features_seconds, 3), "training": round(train_seconds, 3)},
        "cross_validation": cv,
        "validation": None,
    }
    if val_idx:
        probs = model.probabilities(select_columns(np.concatenate(val_x), blocks, sizes, model.blocks))
        y_val = np.array([clips[i].label for i in val_idx], dtype=np.int64)
        report["validation"] = validation_report(dataset, val_idx, y_val, probs)
    return TrainResult(model=keras_model, labels=dataset.labels, report=report, linear=linear, config=config)


def training_notes(config: FeatureConfig, result: TrainResult) -> list[str]:
    """What training chose from the data that the user should know, one line each.

    When it limited the band (:func:`pac.features.band_for_rates`), the lowest clip rate (twice the
    limit) and the limit; when it mixed the room's recordings into the clips instead of generated
    noise (:func:`pac.dataset.room_recordings`), how many; when a model with a background label (one
    that can listen) had generated noise, how to give it the room's.  ``config`` is what :func:`fit`
    was given.
    """
    notes = []
    limit = result.config.f_limit
    if limit != config.f_limit:
        notes.append(
            f"the lowest sample rate of the clips is {round(2 * limit):,d} Hz: the model ignores frequencies above "
            f"{limit:g} Hz (a clip at that rate has none)"
        )
    noise = result.report.get("noise")
    if noise == "room":
        count = result.report["noise_clips"]
        notes.append(
            f"background noise: the room's own, from {count} recording{'s' if count != 1 else ''} of the room "
            f"in {BACKGROUND_LABEL} ({ROOM_PREFIX}*.wav), instead of generated noise"
        )
    elif noise == "generated" and BACKGROUND_LABEL in result.labels:
        notes.append(
            f"background noise: generated (white, pink and brown), not the room's: recordings of the room where "
            f"the app will listen (the studio's Record the room…, or {ROOM_PREFIX}*.wav files in {BACKGROUND_LABEL}) "
            f"would be mixed in instead"
        )
    return notes


def save(result: TrainResult, output: str | os.PathLike) -> Path:
    """Write the model folder atomically (an existing pac model folder is replaced); its features
    are ``result.config``."""
    from .plots import plot_confusion, plot_curves

    output = Path(output)
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / MANIFEST).exists())):
        raise PacError(f"{output}: exists and is not a pac model folder; choose another -o")
    config = result.config
    if result.linear is None:
        manifest = Manifest(labels=result.labels, features=config, base=base_identity(), tools=tool_versions())
    else:
        from .speech_base import speech_identity

        networks = networks_of_blocks(b["name"] for b in result.linear["blocks"])
        manifest = Manifest(
            labels=result.labels,
            features=config,
            base=base_identity() if "mobilenet" in networks else None,
            tools=tool_versions(),
            linear=result.linear,
            speech_base=speech_identity(quantized=True) if "speech" in networks else None,
        )
    with atomic_dir(output) as staging:
        write_head(result.model, staging)
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        (staging / "report.json").write_text(
            json.dumps(result.report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if result.report["history"]["loss"]:
            plot_curves(result.report["history"], staging / "curves.png")
        validation = result.report["validation"] or result.report.get("cross_validation")
        if validation:
            title = "validation clips" if result.report["validation"] else "cross-validation (held-out clips)"
            plot_confusion(validation["confusion"], result.labels, staging / "confusion.png", title=title)
    return output


def options_with(base: TrainOptions, **changes) -> TrainOptions:
    """``base`` with the given fields replaced (``None`` values ignored)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})


__all__ = [
    "TrainOptions",
    "PAPER",
    "BASES",
    "fit",
    "save",
    "load_dataset",
    "load_noise",
    "BACKGROUND_NOISE",
    "NoiseFrom",
    "options_with",
    "resolved",
    "needed_networks",
]
