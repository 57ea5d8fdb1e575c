"""The classifier head PAC trains on MobileNet's ``[7, 7, 256]`` activations.

Conv2D(5 filters, 5x5, relu) -> Flatten -> Dense(100, relu) -> Dense(labels, softmax, no bias),
variance-scaling initialisers, as MIT's trainer builds it.  Built with tf-keras (Keras 2); saved by
:func:`pac.tfjs_head.write_head` with the ``batch_input_shape`` that ``tf.loadLayersModel`` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import ACTIVATION_SHAPE
from .errors import PacError
from .libs import tensorflow, tf_keras

OPTIMIZERS = ("adam", "sgd", "adagrad", "adadelta")


@dataclass
class History:
    """Per-epoch training curves of the kept attempt (validation lists stay empty without validation
    clips), and how many dead attempts (:func:`collapsed`) came before it."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    restarts: int = 0


def build_head(n_labels: int, *, seed: int):
    """A fresh, untrained head for ``n_labels`` labels (tf_keras Sequential)."""
    keras = tf_keras()

    def init(offset):
        return keras.initializers.VarianceScaling(
            scale=1.0, mode="fan_avg", distribution="uniform", seed=seed * 7919 + offset
        )

    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=ACTIVATION_SHAPE),
            keras.layers.Conv2D(
                5,
                5,
                strides=1,
                activation="relu",
                kernel_initializer=init(1),
                bias_initializer="zeros",
                name="head_conv",
            ),
            keras.layers.Flatten(name="head_flatten"),
            keras.layers.Dense(100, activation="relu", use_bias=True, kernel_initializer=init(2), name="head_dense"),
            keras.layers.Dense(
                n_labels, activation="softmax", use_bias=False, kernel_initializer=init(3), name="head_softmax"
            ),
        ],
        name="pac_head",
    )


def make_optimizer(name: str, learning_rate: float):
    """A tf_keras optimizer by PAC's names."""
    keras = tf_keras()

    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "adagrad": keras.optimizers.Adagrad,
        "adadelta": keras.optimizers.Adadelta,
    }
    if name not in classes:
        raise PacError(f"unknown optimizer {name!r} (choose {', '.join(OPTIMIZERS)})")
    return classes[name](learning_rate=learning_rate)


def train_head(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_labels: int,
    epochs: int,
    learning_rate: float,
    optimizer: str,
    batch_size: int,
    seed: int,
    validation=None,
    on_epoch=None,
    restarts: int = 0,
    on_restart=None,
):
    """Train a new head; returns ``(model, History)``.

    Parameters
    ----------
    x, y : ndarray
        Activations ``[n, 7, 7, 256]`` and label indices ``[n]``.
    validation : tuple of ndarray, optional
        ``(x_val, y_val)`` scored after every epoch.
    on_epoch : callable, optional
        ``on_epoch(epoch_index, History)`` after each epoch (of every attempt).
    restarts : int
        How many times a :func:`collapsed` head is trained again from a new initialisation
        (seeded from ``seed``, so still reproducible).  The last attempt is kept whatever it is.
    on_restart : callable, optional
        ``on_restart(attempt)`` before each new attempt (1, 2, ...).
    """
    for attempt in range(restarts + 1):
        if attempt and on_restart:
            on_restart(attempt)
        model, history = _train_once(
            x,
            y,
            n_labels=n_labels,
            epochs=epochs,
            learning_rate=learning_rate,
            optimizer=optimizer,
            batch_size=batch_size,
            seed=seed + 100_003 * attempt,
            validation=validation,
            on_epoch=on_epoch,
        )
        history.restarts = attempt
        if not collapsed(model, x, y):
            break
    return model, history


def collapsed(model, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the head is dead: the same probabilities (within 1e-6) for every training example
    although they have different labels, or non-finite ones.  The PAC head's five ReLU filters can
    all die at an unlucky initialisation; no amount of training brings them back."""
    if len(x) < 2 or len(np.unique(y)) < 2:
        return False
    probabilities = predict_head(model, x)
    if not np.isfinite(probabilities).all():  # diverged: as dead as it gets
        return True
    return bool(np.ptp(probabilities, axis=0).max() < 1e-6)


def _train_once(x, y, *, n_labels, epochs, learning_rate, optimizer, batch_size, seed, validation, on_epoch):
    tf, keras = tensorflow(), tf_keras()

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = build_head(n_labels, seed=seed)
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    history = History()
    onehot = np.eye(n_labels, dtype=np.float32)

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            history.loss.append(float(logs["loss"]))
            history.accuracy.append(float(logs["accuracy"]))
            if "val_loss" in logs:
                history.val_loss.append(float(logs["val_loss"]))
                history.val_accuracy.append(float(logs["val_accuracy"]))
            if on_epoch:
                on_epoch(epoch, history)

    val = None
    if validation is not None and len(validation[0]):
        val = (validation[0], onehot[validation[1]])
    model.fit(
        x,
        onehot[y],
        batch_size=max(1, batch_size),
        epochs=epochs,
        shuffle=True,
        validation_data=val,
        verbose=0,
        callbacks=[Recorder()],
    )
    return model, history


def predict_head(model, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``[n, labels]`` as float32 numpy."""
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.asarray(model(x, training=False))
