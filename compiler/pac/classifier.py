"""Run a trained model on clips: WAV -> features -> MobileNet -> head -> ``[[label, confidence], ...]``.

The result format is the one the App Inventor extension's ``GotClassification`` event delivers:
every label with its probability, most confident first.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .activations import CLEAN, ActivationCache, compute_activations
from .base import load_base
from .features.pipeline import load_clip
from .head import predict_head
from .modeldir import load_head, read_manifest


def ranked(labels, probabilities) -> list[list]:
    """``[[label, probability], ...]`` sorted by probability, highest first (ties keep label order)."""
    order = sorted(range(len(labels)), key=lambda i: -float(probabilities[i]))
    return [[labels[i], float(probabilities[i])] for i in order]


class Classifier:
    """A model folder ready to classify clips.

    Parameters
    ----------
    model_dir : path
        A folder written by ``pac train`` (or ``pac import-mdl``).
    base : path, optional
        The MobileNet folder (see :func:`pac.base.resolve_base_dir`).
    progress : callable, optional
        Download progress callback, if the base must be downloaded.
    """

    def __init__(self, model_dir: str | os.PathLike, *, base: str | os.PathLike | None = None, progress=None):
        self.directory = Path(model_dir)
        self.manifest = read_manifest(self.directory)
        self.labels = self.manifest.labels
        self.config = self.manifest.features
        self.head = load_head(self.directory, self.manifest)
        self.base = load_base(base, progress=progress)

    def probabilities(self, clips) -> np.ndarray:
        """Probabilities ``[n, labels]`` for decoded clips (:class:`pac.audio.Audio`)."""
        acts = compute_activations(list(clips), [[CLEAN]] * len(clips), config=self.config,
                                   base=self.base, cache=ActivationCache(None))
        x = np.concatenate(acts) if acts else np.zeros((0, 7, 7, 256), np.float32)
        return predict_head(self.head, x)

    def classify_files(self, paths) -> list[list[list]]:
        """The ranked result for each WAV file."""
        clips = [load_clip(p, self.config) for p in paths]
        return [ranked(self.labels, p) for p in self.probabilities(clips)]
