"""``pac evaluate``: score a model on labelled clips."""

from __future__ import annotations

import numpy as np

from .classifier import Classifier, ranked
from .dataset import load_dataset
from .metrics import scores


def evaluate(classifier: Classifier, data_dir, *, skip_bad: bool = False, warn=None) -> dict:
    """Accuracy, per-label precision/recall, confusion matrix and per-clip predictions.

    ``data_dir`` holds one sub-folder per label, named as the model's labels (a subset is fine).
    """
    dataset = load_dataset(
        data_dir, classifier.config, skip_bad=skip_bad, min_clips=0, labels=classifier.labels, warn=warn
    )
    probs = classifier.probabilities([c.audio for c in dataset.clips])
    truth = [c.label for c in dataset.clips]
    predicted = probs.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
    result = scores(truth, predicted, classifier.labels)
    result["clips"] = [
        {
            "path": str(c.path),
            "label": classifier.labels[c.label],
            "predicted": classifier.labels[int(p)],
            "correct": bool(int(p) == c.label),
            "result": ranked(classifier.labels, row),
        }
        for c, p, row in zip(dataset.clips, predicted, probs)
    ]
    result["skipped"] = list(dataset.skipped)
    return result
