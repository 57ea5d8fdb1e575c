"""PNG charts of a training run and of an evaluation (matplotlib, headless)."""

from __future__ import annotations

import os

import numpy as np

from .fsutil import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
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
    """The confusion matrix with counts in the cells."""
    plt = _pyplot()
    m = np.asarray(confusion)
    size = 1.5 + 0.6 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(1, m.max()))
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    fig.tight_layout()
    _save(fig, path)
