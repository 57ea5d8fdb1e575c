"""A classifier head as a TF.js layers model: parse, read and write it, build the tf_keras model.

A TF.js layers model is ``model.json``, ``{"modelTopology": ..., "weightsManifest": [{"paths": [...],
"weights": [...]}]}``, plus the weight files its manifest names: little-endian float32 values, in
``weights`` order, split over the files in ``paths`` order.  pac model folders (written by
:func:`write_head`; earlier by tensorflowjs' ``save_keras_model``, whose files differ only in
metadata) and MIT's ``.mdl`` files (see :mod:`pac.mdl`) hold their head this way.  This
module reads and writes such heads without the ``tensorflowjs`` package (whose import costs seconds
and whose dependencies pin protobuf): only the layers a PAC head uses (Conv2D, Flatten, Dense) on
MobileNet's ``[7, 7, 256]`` activation, or a Dense layer on a linear head's feature blocks.
"""

from __future__ import annotations

from .keras import head_layers, keras_head
from .layers import ACTIVATIONS, Layer, layer_shapes, weight_shapes
from .read import MAX_MODEL_JSON_BYTES, folder_shards, parse_json, parse_topology, parse_weights, read_head
from .write import SHARD, WRITER, head_files, write_head

__all__ = [
    "ACTIVATIONS",
    "MAX_MODEL_JSON_BYTES",
    "SHARD",
    "WRITER",
    "Layer",
    "folder_shards",
    "head_files",
    "head_layers",
    "keras_head",
    "layer_shapes",
    "parse_json",
    "parse_topology",
    "parse_weights",
    "read_head",
    "weight_shapes",
    "write_head",
]
