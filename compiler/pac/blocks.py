"""The feature blocks a linear head reads: each clip (or augmented variant) -> one vector per block.

``speech``
    The analysis window (:func:`pac.features.pipeline.analysis_window`, noise mixed in for noisy
    variants) resampled to 16 kHz as a log-mel sequence (:func:`pac.features.speech.speech_sequence`);
    Google's speech embedding network (:mod:`pac.speech_base`) gives 96 values per 76-frame window
    (every 8 frames, one pass over the sequence); their mean and their maximum over the windows ->
    192 values.
``mobilenet``
    The spectrogram image of the same window through MobileNet up to ``conv_pw_13_relu``
    (:mod:`pac.activations`), averaged over the 7 x 7 positions -> 256 values.
``mobilenet_rows``
    The same activations averaged over time only: each of the 7 rows of positions (the image's
    top row, the highest frequencies, first) keeps its 256 channels -> 1,792 values, row by row.
    Where in frequency a sound sits (a note's pitch), which the plain average loses.

The speech values and MobileNet's activations (which both MobileNet blocks are computed from, with
one network run) are cached on disk per clip and variant, so retraining and the cross-validation
that weighs the blocks (:mod:`pac.linear_head`) cost no network run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import (
    ActivationCache,
    NoiseBank,
    Variant,
    cached_per_variant,
    compute_activations,
    config_digest,
    variant_window,
)
from .audio import Audio
from .features import FeatureConfig
from .features.speech import FRONT_END, speech_sequence
from .speech_base import QUANT_LEVELS

#: Block names in the order their values are concatenated.
BLOCKS = ("speech", "mobilenet", "mobilenet_rows")
#: Values per block.
SIZES = {"speech": 192, "mobilenet": 256, "mobilenet_rows": 7 * 256}
#: How each block summarises its network's output over the clip (recorded in the manifest).
POOLING = {
    "speech": "mean+max over 76-frame windows",
    "mobilenet": "mean over 7x7 positions",
    "mobilenet_rows": "mean over the 7 positions of each row (7 rows x 256)",
}
#: The pretrained network each block runs (``pac.runtime.NETWORKS`` names).
NETWORK = {"speech": "speech", "mobilenet": "mobilenet", "mobilenet_rows": "mobilenet"}


def networks_of_blocks(blocks) -> tuple[str, ...]:
    """The pretrained networks ``blocks`` run, each once (``mobilenet`` and/or ``speech``)."""
    return tuple(dict.fromkeys(NETWORK[b] for b in ordered(blocks)))


@dataclass
class Networks:
    """The pretrained networks a set of blocks needs (``None`` where a block is not used)."""

    mobilenet: object = None
    speech: object = None


def ordered(blocks) -> tuple[str, ...]:
    """``blocks`` (any iterable of names) in :data:`BLOCKS` order, each once; refuses unknown names."""
    blocks = set(blocks)
    unknown = sorted(blocks - set(BLOCKS))
    if unknown:
        raise ValueError(f"unknown feature block(s) {unknown}")
    return tuple(b for b in BLOCKS if b in blocks)


def pool_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """``[windows, 96]`` -> ``[192]``: the mean, then the maximum, over the windows."""
    return np.concatenate([embeddings.mean(axis=0), embeddings.max(axis=0)]).astype(np.float32)


def speech_features(
    clips: list[Audio],
    variants: list[list[Variant]],
    *,
    config: FeatureConfig,
    speech,
    cache: ActivationCache,
    noise_bank: NoiseBank | None = None,
) -> list[np.ndarray]:
    """Pooled speech embeddings ``[len(variants[i]), 192]`` for each clip ``i`` (cached)."""

    def compute(pairs):
        return [
            pool_embeddings(
                speech.sequence(
                    speech_sequence(
                        variant_window(clips[i], config, variants[i][j], noise_bank), rate=clips[i].rate, config=config
                    ),
                    hop_frames=config.speech_hop_frames,
                )
            )
            for i, j in pairs
        ]

    identity = [
        config_digest(config),
        "speech",
        speech.network.sha256,
        speech.network.weights,
        QUANT_LEVELS,
        FRONT_END,
        POOLING["speech"],
    ]
    return cached_per_variant(clips, variants, identity=identity, cache=cache, noise_bank=noise_bank, compute=compute)


def block_features(
    clips: list[Audio],
    variants: list[list[Variant]],
    *,
    config: FeatureConfig,
    blocks,
    networks: Networks,
    cache: ActivationCache,
    noise_bank: NoiseBank | None = None,
) -> dict[str, list[np.ndarray]]:
    """``{block: [array [len(variants[i]), SIZES[block]] for each clip i]}`` for the given blocks."""
    out = {}
    acts = None
    for block in ordered(blocks):
        if block == "speech":
            out[block] = speech_features(
                clips, variants, config=config, speech=networks.speech, cache=cache, noise_bank=noise_bank
            )
            continue
        if acts is None:  # [variants, 7 rows, 7 columns (time), 256] per clip, once for both blocks
            acts = compute_activations(
                clips, variants, config=config, base=networks.mobilenet, cache=cache, noise_bank=noise_bank
            )
        if block == "mobilenet":
            out[block] = [a.mean(axis=(1, 2)) for a in acts]
        else:
            out[block] = [a.mean(axis=2).reshape(len(a), SIZES[block]) for a in acts]
    return out


def joined(features: dict[str, list[np.ndarray]], blocks) -> list[np.ndarray]:
    """Per clip, the blocks' values side by side ``[variants, sum of sizes]`` in :data:`BLOCKS` order."""
    names = ordered(blocks)
    n = len(features[names[0]])
    return [np.concatenate([features[b][i] for b in names], axis=1).astype(np.float32) for i in range(n)]
