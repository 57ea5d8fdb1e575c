"""Quiet, lazy imports of the heavy libraries.

TensorFlow, its XLA plugins and tensorflowjs (through TF Decision Forests) print start-up chatter
straight to the process's stdout/stderr file descriptors, which Python's logging cannot silence.
These helpers import them with both descriptors pointed at /dev/null, once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tensorflowjs imports TF Decision Forests, whose banner needs IPython when stdout is not a terminal.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


@contextlib.contextmanager
def silenced():
    """Send fd 1 and fd 2 to /dev/null and ignore Python warnings inside the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


@functools.lru_cache(maxsize=None)
def tensorflow():
    """The ``tensorflow`` module."""
    with silenced():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return tf


@functools.lru_cache(maxsize=None)
def tf_keras():
    """The ``tf_keras`` module (Keras 2, whose TF.js export ``tf.loadLayersModel`` reads)."""
    tensorflow()
    with silenced():
        import tf_keras as keras
    return keras


@functools.lru_cache(maxsize=None)
def tensorflowjs():
    """The ``tensorflowjs`` module."""
    tensorflow()
    with silenced():
        import tensorflowjs as tfjs
    return tfjs
