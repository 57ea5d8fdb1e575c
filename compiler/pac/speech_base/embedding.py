"""Running the speech embedding: the rebuilt network as a TensorFlow function, memoised per folder and
weight type, and the identity a model's manifest records."""

from __future__ import annotations

import os

import numpy as np

from ..errors import PacError
from .fetch import SPEECH_BASE_NAME, network_sha256, resolve_speech_dir
from .network import (
    EMBEDDING_SIZE,
    INPUT_BANDS,
    INPUT_FRAMES,
    INPUT_SHAPE,
    TIME_STRIDE,
    SpeechNetwork,
    read_speech_network,
)


class SpeechEmbedding:
    """The speech embedding network as a TensorFlow function.

    ``SpeechEmbedding(network)(frames)`` maps float32 ``[n, 76, 32]`` or ``[n, 76, 32, 1]`` log-mel
    windows (already ``x / 10 + 2``) to ``[n, 96]`` embeddings.
    """

    def __init__(self, network: SpeechNetwork):
        from ..libs import tensorflow

        tf = tensorflow()
        self.network = network
        ops = [_tf_op(tf, kind, params) for kind, params in network.ops]

        @tf.function(input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)], jit_compile=False)
        def forward(x):
            for op in ops:
                x = op(x)
            return tf.reshape(x, [-1, EMBEDDING_SIZE])

        @tf.function(input_signature=[tf.TensorSpec([1, None, INPUT_BANDS, 1], tf.float32)], jit_compile=False)
        def over_sequence(x):
            for op in ops:
                x = op(x)
            return tf.reshape(x, [-1, EMBEDDING_SIZE])

        self._forward = forward
        self._over_sequence = over_sequence

    def __call__(self, frames: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Embeddings for a batch of log-mel windows, as float32 numpy ``[n, 96]``."""
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected [n, {INPUT_FRAMES}, {INPUT_BANDS}(, 1)] frames, got {list(frames.shape)}")
        out = [self._forward(frames[i : i + batch_size]).numpy() for i in range(0, len(frames), batch_size)]
        if not out:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        return np.concatenate(out)

    def sequence(self, frames: np.ndarray, *, hop_frames: int = TIME_STRIDE) -> np.ndarray:
        """Embeddings of every 76-frame window of a whole sequence, in one pass of the network.

        The network is convolutional in time with stride :data:`TIME_STRIDE` (8 frames), so run over
        ``(n_frames, 32)`` frames (``n_frames >= 76``) it gives the embeddings of the windows
        starting at frames 0, 8, 16, ... that fit -- what :meth:`__call__` gives for those windows
        cut out one by one (:func:`pac.features.speech.embedding_windows`), up to float rounding.

        Parameters
        ----------
        frames : ndarray
            float32 ``(n_frames, 32)`` network input (:func:`pac.features.speech.speech_sequence`).
        hop_frames : int
            Keep the windows starting every ``hop_frames`` frames (a multiple of 8).

        Returns
        -------
        ndarray
            float32 ``(windows, 96)``.
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != INPUT_BANDS or frames.shape[0] < INPUT_FRAMES:
            raise ValueError(f"expected [n >= {INPUT_FRAMES}, {INPUT_BANDS}] frames, got {list(frames.shape)}")
        if hop_frames < 1 or hop_frames % TIME_STRIDE:
            raise ValueError(f"hop_frames must be a positive multiple of {TIME_STRIDE}")
        out = self._over_sequence(frames[None, :, :, None]).numpy()
        return out[:: hop_frames // TIME_STRIDE]


def _tf_op(tf, kind, p):
    if kind == "conv":
        kernel = tf.constant(p["kernel"])
        bias = None if p["bias"] is None else tf.constant(p["bias"])
        padding = [[0, 0], list(p["padding"][0]), list(p["padding"][1]), [0, 0]]
        strides = [1, *p["strides"], 1]

        def conv(x):
            y = tf.nn.conv2d(x, kernel, strides=strides, padding=padding)
            return y if bias is None else tf.nn.bias_add(y, bias)

        return conv
    if kind == "relu":
        return tf.nn.relu
    if kind == "affine":
        scale, shift = tf.constant(p["scale"]), tf.constant(p["shift"])
        return lambda x: x * scale + shift
    if kind == "leaky_relu":
        alpha = p["alpha"]
        return lambda x: tf.nn.leaky_relu(x, alpha=alpha)
    if kind == "maximum":
        value = tf.constant(p["value"], tf.float32)
        return lambda x: tf.maximum(x, value)
    if kind == "max_pool":
        size, strides = [1, *p["size"], 1], [1, *p["strides"], 1]
        return lambda x: tf.nn.max_pool2d(x, ksize=size, strides=strides, padding="VALID")
    raise PacError(f"speech network: unsupported operation {kind}")


_LOADED: dict[tuple[str, bool], SpeechEmbedding] = {}


def load_speech_embedding(
    folder: str | os.PathLike | None = None, *, quantized: bool = True, progress=None
) -> SpeechEmbedding:
    """Resolve, verify and build the speech embedding (memoised per folder and weight type).

    Parameters
    ----------
    folder : path, optional
        See :func:`resolve_speech_dir`.
    quantized : bool
        Run with the 8-bit weights (what models ship with) instead of the float32 ones.
    progress : callable, optional
        Download progress, see :func:`resolve_speech_dir`.
    """
    directory = resolve_speech_dir(folder, progress=progress).resolve()
    key = (str(directory), bool(quantized))
    if key not in _LOADED:
        float_key = (str(directory), False)
        network = _LOADED[float_key].network if float_key in _LOADED else read_speech_network(directory)
        _LOADED[key] = SpeechEmbedding(network.quantized() if quantized else network)
    return _LOADED[key]


def speech_identity(*, quantized: bool) -> dict:
    """The speech base a model uses, for its manifest: name, sha256 of the network, weight type."""
    return {"name": SPEECH_BASE_NAME, "sha256": network_sha256(), "weights": "uint8" if quantized else "float32"}
