"""Run a trained model on clips: WAV -> features -> bases -> head -> ``[[label, confidence], ...]``.

A linear-head model (the default) joins its feature blocks (:mod:`pac.blocks`: the pooled speech
embedding and/or averaged MobileNet activations) and applies its softmax layer; a conv-head model
(PAC's) runs MobileNet's activations through its head.

The result format is the one the App Inventor extension's ``GotClassification`` event delivers:
every label with its probability, most confident first.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .activations import CLEAN, ActivationCache, compute_activations
from .base import load_base
from .blocks import Networks, block_features, joined
from .errors import PacError
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
    speech_base : path, optional
        The speech embedding folder (see :func:`pac.speech_base.resolve_speech_dir`).
    speech_network : pac.speech_base.SpeechNetwork, optional
        The speech network to run instead of the one read from ``speech_base`` (``pac verify`` runs
        the one an .aix ships, :func:`pac.speech_base.network_from_export`); it must be the one the
        manifest names (sha256 and weight type).
    progress : callable, optional
        Download progress callback, if a base must be downloaded.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        *,
        base: str | os.PathLike | None = None,
        speech_base: str | os.PathLike | None = None,
        speech_network=None,
        progress=None,
    ):
        self.directory = Path(model_dir)
        self.manifest = read_manifest(self.directory)
        self.labels = self.manifest.labels
        self.config = self.manifest.features
        self.head = load_head(self.directory, self.manifest)
        networks = self.manifest.networks
        self.base = load_base(base, progress=progress) if "mobilenet" in networks else None
        self.speech = None
        if "speech" in networks:
            from .speech_base import SpeechEmbedding, load_speech_embedding

            wanted = self.manifest.speech_base
            if speech_network is None:
                self.speech = load_speech_embedding(
                    speech_base, progress=progress, quantized=wanted["weights"] == "uint8"
                )
                if wanted.get("sha256") != self.speech.network.sha256:
                    raise PacError(
                        f"the model was trained on the speech network with sha256 "
                        f"{str(wanted.get('sha256'))[:12]}..., this pac runs "
                        f"{self.speech.network.sha256[:12]}...",
                        path=self.directory / "pac.json",
                    )
            elif (speech_network.sha256, speech_network.weights) != (wanted.get("sha256"), wanted["weights"]):
                raise PacError(
                    f"the speech network given ({speech_network.weights}, sha256 "
                    f"{speech_network.sha256[:12]}...) is not the model's ({wanted['weights']}, sha256 "
                    f"{str(wanted.get('sha256'))[:12]}...)",
                    path=self.directory,
                )
            else:
                self.speech = SpeechEmbedding(speech_network)

    def features(self, clips) -> np.ndarray:
        """The head's input for decoded clips: activations ``[n, 7, 7, 256]`` or joined blocks ``[n, d]``."""
        clips = list(clips)
        blocks = self.manifest.blocks
        if blocks:
            feats = block_features(
                clips,
                [[CLEAN]] * len(clips),
                config=self.config,
                blocks=blocks,
                networks=Networks(mobilenet=self.base, speech=self.speech),
                cache=ActivationCache(None),
            )
            rows = joined(feats, blocks) if clips else []
            return np.concatenate(rows) if rows else np.zeros((0, *self.manifest.head_input_shape), np.float32)
        acts = compute_activations(
            clips, [[CLEAN]] * len(clips), config=self.config, base=self.base, cache=ActivationCache(None)
        )
        return np.concatenate(acts) if acts else np.zeros((0, 7, 7, 256), np.float32)

    def probabilities(self, clips) -> np.ndarray:
        """Probabilities ``[n, labels]`` for decoded clips (:class:`pac.audio.Audio`)."""
        return predict_head(self.head, self.features(clips))

    def classify_files(self, paths) -> list[list[list]]:
        """The ranked result for each WAV file."""
        clips = [load_clip(p, self.config) for p in paths]
        return [ranked(self.labels, p) for p in self.probabilities(clips)]
