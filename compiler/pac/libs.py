"""Quiet, lazy imports of the heavy libraries.

TensorFlow is told to keep its chatter to itself by settings made before it is imported, none of
which touches a file descriptor:

* ``TF_CPP_MIN_LOG_LEVEL=3`` (unless set already): TensorFlow's C++ log, e.g. at import "oneDNN
  custom operations are on", "Could not find cuda drivers", "Unable to register cuFFT factory", the
  CPU-instructions note, and at first use "failed call to cuInit";
* the ``tensorflow`` and ``absl`` Python loggers at ERROR (:func:`absl.logging.set_verbosity`);
* Python warnings raised from TensorFlow's and Keras's own modules are ignored (one filter,
  added once, never removed: no other module's warnings are touched).

What none of these reach (TensorFlow 2.19, measured on Linux; tensorflow/tensorflow#100442): while
``import tensorflow`` loads its libraries, XLA's static initialisers log through absl's C++ log
before TensorFlow has called ``absl::InitializeLog()``, which writes straight to file descriptor 2::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    E0000 ... cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register factory ...
    E0000 ... cuda_blas.cc:1407] Unable to register cuBLAS factory: Attempting to register factory ...
    W0000 ... computation_placer.cc:177] computation placer already registered. ... (4 times)

For that one import only, and only when it runs in the main thread while that is the process's only
thread (every ``pac`` command, and ``pac studio`` before its server starts: see
:func:`pac.studio.server.run`), descriptor 2 points at the null device (:func:`stderr_to_null`).
An import in any other situation is not redirected (those lines may then appear; nothing another
thread writes is ever lost).  Nothing later is redirected.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: The modules whose own Python warnings are ignored once TensorFlow is imported.
QUIET_MODULES = r"(tensorflow|tf_keras|keras|absl)(\.|$)"


def alone_in_main_thread() -> bool:
    """Whether the caller is the main thread and no other Python thread runs."""
    return threading.current_thread() is threading.main_thread() and threading.active_count() == 1


@contextlib.contextmanager
def stderr_to_null():
    """Point file descriptor 2 at the null device inside the block, then back.

    This changes the whole process's stderr: use it only where :func:`alone_in_main_thread`.  A
    process without descriptor 2 (``pythonw`` on Windows, or closed) is left as it is.
    """
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _quiet_python_side(tf) -> None:
    """The Python loggers and warnings of TensorFlow and Keras: errors only."""
    from absl import logging as absl_logging

    tf.get_logger().setLevel(logging.ERROR)
    absl_logging.set_verbosity(absl_logging.ERROR)


@functools.cache
def tensorflow():
    """The ``tensorflow`` module, imported quietly (see the module's docstring)."""
    warnings.filterwarnings("ignore", module=QUIET_MODULES)
    redirect = "tensorflow" not in sys.modules and alone_in_main_thread()
    with stderr_to_null() if redirect else contextlib.nullcontext():
        import tensorflow as tf
    _quiet_python_side(tf)
    return tf


@functools.cache
def tf_keras():
    """The ``tf_keras`` module (Keras 2, whose TF.js export ``tf.loadLayersModel`` reads)."""
    tensorflow()
    import tf_keras as keras

    return keras
