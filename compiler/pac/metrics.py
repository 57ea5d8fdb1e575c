"""Scores of a classifier on labelled clips: accuracy, confusion matrix, per-label precision/recall."""

from __future__ import annotations

import numpy as np


def confusion_matrix(truth, predicted, n_labels: int) -> np.ndarray:
    """``m[i, j]`` = clips of true label ``i`` predicted as ``j``."""
    m = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(m, (np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return m


def scores(truth, predicted, labels) -> dict:
    """Accuracy (0..1, ``None`` without clips), the confusion matrix and per-label precision/recall."""
    m = confusion_matrix(truth, predicted, len(labels))
    total = int(m.sum())
    per_label = {}
    for i, label in enumerate(labels):
        predicted_i, actual_i, correct = int(m[:, i].sum()), int(m[i, :].sum()), int(m[i, i])
        per_label[label] = {
            "precision": correct / predicted_i if predicted_i else None,
            "recall": correct / actual_i if actual_i else None,
            "clips": actual_i,
        }
    return {
        "accuracy": float(np.trace(m) / total) if total else None,
        "labels": list(labels),
        "confusion": m.tolist(),
        "per_label": per_label,
    }
