"""Quiet, lazy imports of the heavy libraries.

TensorFlow and its XLA plugins print start-up chatter straight to the process's stdout/stderr file
descriptors, which Python's logging cannot silence.  These helpers import them with both
descriptors pointed at the null device (``os.devnull``), once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced():
    """Send fd 1 and fd 2 to the null device and ignore Python warnings inside the block.

    A process without them (``pythonw`` on Windows, or both closed) only ignores the warnings.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    saved = []
    try:
        for fd in (1, 2):
            saved.append(os.dup(fd))
    except OSError:
        for fd in saved:
            os.close(fd)
        saved = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if saved is None:
            yield
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            os.dup2(null, 2)
            yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
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
