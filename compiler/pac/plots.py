"""PNG charts of a training run and of an evaluation (matplotlib, headless).

Charts are written through :func:`pac.fsutil.atomic_path` (so only to a new path or a regular
file) and stay bounded in size and time whatever the number of labels (``LIMITS.max_labels``).
"""

from __future__ import annotations

import os

import numpy as np

from .errors import PacError
from .fsutil import atomic_path

#: Largest side of the confusion matrix figure (inches, at 100 dpi).
MAX_FIGURE_INCHES = 30.0
#: Cells get their counts printed only up to this many labels (beyond, the colours tell).
MAX_ANNOTATED_LABELS = 40


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    """Write ``fig`` as a PNG to ``path``; a :class:`PacError` naming ``path`` if it cannot be written."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            try:
                fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
            except OSError as exc:
                raise PacError(f"cannot be written ({exc.strerror or exc})", path=path) from None
    finally:
        _pyplot().close(fig)


def plot_curves(history: dict, path: str | os.PathLike) -> None:
    """Loss and accuracy per epoch (training, and validation where present)."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax_loss.plot(epochs, history["loss"], label="training")
    ax_acc.plot(epochs, history["accuracy"], label="training")
    if history.get("val_loss"):
        ax_loss.plot(epochs, history["val_loss"], label="validation")
        ax_acc.plot(epochs, history["val_accuracy"], label="validation")
    ax_loss.set(title="loss", xlabel="epoch")
    ax_acc.set(title="accuracy", xlabel="epoch", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(confusion, labels, path: str | os.PathLike, *, title: str) -> None:
    """The confusion matrix with counts in the cells (up to :data:`MAX_ANNOTATED_LABELS` labels)."""
    plt = _pyplot()
    m = np.asarray(confusion)
    size = min(1.5 + 0.6 * len(labels), MAX_FIGURE_INCHES)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(1, m.max()))
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    if len(labels) <= MAX_ANNOTATED_LABELS:
        _annotate(ax, m)
    fig.tight_layout()
    _save(fig, path)


def _annotate(ax, m: np.ndarray) -> None:
    """Print each cell's count in it."""
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > m.max() / 2 else "black")
