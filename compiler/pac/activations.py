"""MobileNet activations of clips (and of their augmented variants), cached on disk.

An activation depends only on the clip's samples, the feature configuration, the base weights and
the augmentation variant, so it is stored under the sha256 of exactly those; retraining and
hyperparameter sweeps then skip MobileNet entirely.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import Audio
from .features import FeatureConfig
from .features import functional as F
from .features.pipeline import analysis_window, model_input, spectrogram_image


@dataclass(frozen=True)
class Variant:
    """One augmented view of a clip: a time shift and, optionally, mixed-in noise.

    ``noise`` is the index into the noise bank, ``noise_start`` the fraction of the noise clip
    where mixing starts (it wraps around), ``snr_db`` the signal-to-noise ratio of the mix.
    ``downscale``, if set, draws the image with that pac-compat canvas filter instead of the
    configuration's (:data:`pac.features.canvas.DOWNSCALES`; the trainer's canvas copies).
    """

    shift: float = 0.0
    noise: int | None = None
    noise_start: float = 0.0
    snr_db: float = 0.0
    downscale: str | None = None

    def describe(self, noise_bank: NoiseBank | None) -> dict:
        """JSON-able identity of the variant (noise named by its content hash)."""
        canvas = {} if self.downscale is None else {"downscale": self.downscale}
        if self.noise is None:
            return {"shift": round(self.shift, 6), **canvas}
        return {
            "shift": round(self.shift, 6),
            "noise": noise_bank.digests[self.noise],
            "noise_start": round(self.noise_start, 6),
            "snr_db": round(self.snr_db, 6),
            **canvas,
        }


CLEAN = Variant()


class NoiseBank:
    """Background-noise clips to mix into training clips."""

    def __init__(self, clips: list[Audio]):
        self.clips = clips
        self.digests = [audio_digest(c) for c in clips]
        self._resampled: dict[tuple[int, int], np.ndarray] = {}

    def samples(self, index: int, rate: int) -> np.ndarray:
        """Noise clip ``index`` at ``rate`` (resampled once per rate, then kept)."""
        from scipy.signal import resample_poly

        clip = self.clips[index]
        if clip.rate == rate:
            return clip.samples
        if (index, rate) not in self._resampled:
            g = np.gcd(clip.rate, rate)
            self._resampled[index, rate] = resample_poly(clip.samples, rate // g, clip.rate // g)
        return self._resampled[index, rate]

    def mix(self, window: np.ndarray, rate: int, variant: Variant) -> np.ndarray:
        """``window`` plus noise at ``variant.snr_db`` (noise resampled to ``rate``, looped)."""
        noise = self.samples(variant.noise, rate)
        start = int(variant.noise_start * len(noise))
        piece = np.resize(np.roll(noise, -start), len(window))
        signal_rms = np.sqrt(np.mean(window**2))
        noise_rms = np.sqrt(np.mean(piece**2))
        if signal_rms == 0 or noise_rms == 0:
            return window
        gain = signal_rms / (noise_rms * 10.0 ** (variant.snr_db / 20.0))
        return window + gain * piece


def audio_digest(clip: Audio) -> str:
    """sha256 of a clip's decoded content (rate + float64 samples)."""
    h = hashlib.sha256(str(clip.rate).encode("ascii") + b":")
    h.update(np.ascontiguousarray(clip.samples, dtype="<f8").tobytes())
    return h.hexdigest()


def variant_window(
    clip: Audio, config: FeatureConfig, variant: Variant, noise_bank: NoiseBank | None = None
) -> np.ndarray:
    """The analysis window of one variant of ``clip`` (shifted, noise mixed in), at the clip's rate."""
    window = analysis_window(clip, config, shift_seconds=variant.shift)
    if variant.noise is not None:
        window = noise_bank.mix(window, clip.rate, variant)
    return window


def variant_image(
    clip: Audio, config: FeatureConfig, variant: Variant, noise_bank: NoiseBank | None = None
) -> np.ndarray:
    """The uint8 spectrogram image of one variant of ``clip``."""
    drawn = config if variant.downscale is None else dataclasses.replace(config, downscale=variant.downscale)
    return spectrogram_image(variant_window(clip, config, variant, noise_bank), rate=clip.rate, config=drawn)


class ActivationCache:
    """A folder of ``.npy`` activations named by the sha256 of their inputs (``None`` = no cache)."""

    def __init__(self, directory: str | os.PathLike | None):
        self.directory = Path(directory) if directory else None

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        if self.directory is None:
            return None
        try:
            return np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: np.ndarray) -> None:
        if self.directory is None:
            return
        from .fsutil import replace

        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # one per writing thread
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                np.save(f, value, allow_pickle=False)
            replace(tmp, path)  # on Windows, retried while a reader holds the old file
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()  # a cache that cannot be written only costs time


def default_cache_dir() -> Path:
    """``activations/`` inside pac's cache folder."""
    from .base import cache_dir

    return cache_dir().parent / "activations"


def cached_per_variant(
    clips: list[Audio],
    variants: list[list[Variant]],
    *,
    identity: list,
    cache: ActivationCache,
    noise_bank: NoiseBank | None,
    compute,
) -> list[np.ndarray]:
    """One array per variant of each clip, from ``cache`` where possible.

    Parameters
    ----------
    identity : list
        JSON-able description of everything else the values depend on (configuration digest,
        network identity); it is part of every cache key.
    compute : callable
        ``compute([(clip_index, variant_index), ...]) -> sequence of arrays`` for the missing ones.

    Returns
    -------
    list of ndarray
        ``[len(variants[i]), ...]`` for each clip ``i``.
    """
    missing = []
    results: list[list[np.ndarray | None]] = []
    for i, (clip, clip_variants) in enumerate(zip(clips, variants)):
        digest = audio_digest(clip)
        row = []
        for j, variant in enumerate(clip_variants):
            ident = json.dumps([digest, *identity, variant.describe(noise_bank)], sort_keys=True)
            key = hashlib.sha256(ident.encode("utf-8")).hexdigest()
            value = cache.get(key)
            if value is None:
                missing.append((i, j, key))
            row.append(value)
        results.append(row)
    if missing:
        first = {}  # identical variants (e.g. CLEAN and an unshifted copy without noise) run once
        for i, j, key in missing:
            first.setdefault(key, (i, j))
        computed = dict(zip(first, compute(list(first.values()))))
        for i, j, key in missing:
            results[i][j] = computed[key]
        for key, value in computed.items():
            cache.put(key, value)
    return [np.stack(row) for row in results]


def config_digest(config: FeatureConfig) -> str:
    """sha256 of the configuration's canonical JSON."""
    return hashlib.sha256(config.to_json().encode("utf-8")).hexdigest()


def compute_activations(
    clips: list[Audio],
    variants: list[list[Variant]],
    *,
    config: FeatureConfig,
    base,
    cache: ActivationCache,
    noise_bank: NoiseBank | None = None,
) -> list[np.ndarray]:
    """Activations ``[len(variants[i]), 7, 7, 256]`` for each clip ``i``, from cache where possible."""

    def compute(pairs):
        images = np.stack([variant_image(clips[i], config, variants[i][j], noise_bank) for i, j in pairs])
        return base(model_input(images, config))

    return cached_per_variant(
        clips,
        variants,
        identity=[config_digest(config), base.weights.sha256],
        cache=cache,
        noise_bank=noise_bank,
        compute=compute,
    )


def shift_variants(max_shift: float, step: float) -> list[float]:
    """Shifts ``-max..max`` in ``step`` increments (always including 0)."""
    if max_shift <= 0 or step <= 0:
        return [0.0]
    n = int(F.round_half_up(max_shift / step))
    return [k * step for k in range(-n, n + 1)]
