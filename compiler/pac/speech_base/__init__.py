"""The speech base: Google's speech_embedding network, found, verified and run with plain TF ops.

The second pretrained base, beside MobileNet (:mod:`pac.base`): a keyword-spotting embedding that
maps 76 frames (0.78 s) of 32-band log-mel, already scaled ``x / 10 + 2`` by the front end, to a
96-value embedding.  The weights are openWakeWord's ONNX export of the network
(``embedding_model.onnx``), shipped with its front end (``melspectrogram.onnx``) in the wheel
``openwakeword==0.4.0`` on the Python package index.

:func:`resolve_speech_dir` finds the two files (``--speech-base DIR``, ``$PAC_SPEECH_DIR``, the user
cache, else a verified download of the pinned wheel into the cache), :func:`read_speech_network`
checks the sha256 and rebuilds the network from the ONNX graph as a plain list of NHWC operations
with numpy weights, :meth:`SpeechNetwork.quantized` gives its 8-bit weight version (what a model
ships and runs with, in Python and in the classifier page alike), :class:`SpeechEmbedding` runs it
with TensorFlow and :func:`export_network` writes it for the page's ``js/speech_net.js``.

The operations (``(kind, params)``, NHWC, float32 numpy)::

    ("conv", {"kernel": HWIO, "bias": [O] or None, "padding": [[top, bottom], [left, right]],
              "strides": [sh, sw]})          zero padding, then a VALID convolution
    ("relu", {})
    ("affine", {"scale": [C], "shift": [C]}) x * scale + shift (a batch normalisation)
    ("leaky_relu", {"alpha": a})
    ("maximum", {"value": v})                max(x, v)
    ("max_pool", {"size": [kh, kw], "strides": [sh, sw]})   VALID

How the ONNX graph maps onto them: it starts with ``Pad`` (ONNX ``pads`` order: the begin of every
axis, then the end of every axis; here ``[0, 0, 1, 0, 0, 0, 1, 0]`` on NHWC = one zero column on
each side of the 32 bands) and a ``Reshape`` from ``[n, 76, 34, 1]`` to NCHW ``[n, 1, 76, 34]``,
which only moves data when there is more than one channel: with one channel it IS the NHWC->NCHW
transposition, so in NHWC it vanishes and the zero padding joins the first convolution's padding.
Every ``Conv`` has OIHW weights (-> HWIO) and ``pads`` ``[top, left, bottom, right]``.  The final
``Reshape`` of NCHW ``[n, 96, 1, 1]`` to ``[n, 1, 1, 96]`` is again a transposition (1x1 spatial),
so the embedding is the NHWC output flattened.
"""

from __future__ import annotations

from .embedding import SpeechEmbedding, load_speech_embedding, speech_identity
from .export import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    GRAPH_FILE,
    NOTICE,
    NOTICE_FILE,
    WEIGHTS_FILE,
    export_files,
    export_network,
    network_from_export,
)
from .fetch import (
    ENV_DIR,
    ENV_URL,
    FILES,
    MAX_DOWNLOAD_BYTES,
    NETWORK_FILE,
    PIP_TIMEOUT_S,
    SPEECH_BASE_NAME,
    WHEEL_BYTES,
    WHEEL_MODELS,
    WHEEL_NAME,
    WHEEL_REQUIREMENT,
    cache_dir,
    download_speech,
    expected_sha256,
    extract_speech_files,
    network_sha256,
    print_progress,
    read_speech_file,
    resolve_speech_dir,
)
from .network import (
    EMBEDDING_SIZE,
    INPUT_BANDS,
    INPUT_FRAMES,
    INPUT_SHAPE,
    QUANT_LEVELS,
    TIME_STRIDE,
    SpeechNetwork,
    dequantize_kernel,
    op_shapes,
    parse_onnx,
    quantize_kernel,
    read_speech_network,
)

__all__ = [
    "EMBEDDING_SIZE",
    "ENV_DIR",
    "ENV_URL",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "FILES",
    "GRAPH_FILE",
    "INPUT_BANDS",
    "INPUT_FRAMES",
    "INPUT_SHAPE",
    "MAX_DOWNLOAD_BYTES",
    "NETWORK_FILE",
    "NOTICE",
    "NOTICE_FILE",
    "PIP_TIMEOUT_S",
    "QUANT_LEVELS",
    "SPEECH_BASE_NAME",
    "TIME_STRIDE",
    "WEIGHTS_FILE",
    "WHEEL_BYTES",
    "WHEEL_MODELS",
    "WHEEL_NAME",
    "WHEEL_REQUIREMENT",
    "SpeechEmbedding",
    "SpeechNetwork",
    "cache_dir",
    "dequantize_kernel",
    "download_speech",
    "expected_sha256",
    "export_files",
    "export_network",
    "extract_speech_files",
    "load_speech_embedding",
    "network_from_export",
    "network_sha256",
    "op_shapes",
    "parse_onnx",
    "print_progress",
    "quantize_kernel",
    "read_speech_file",
    "read_speech_network",
    "resolve_speech_dir",
    "speech_identity",
]
