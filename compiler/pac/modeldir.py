"""A trained model on disk.

``MODEL_DIR/``
    ``model.json``, ``group1-shard1of1.bin``   the head, a TF.js layers model (written and read by
                                              :mod:`pac.tfjs_head`)
    ``pac.json``                              the manifest: labels in output order, the feature
                                              configuration, which bases and head the model uses and
                                              their identities, tool versions
    ``report.json``, ``curves.png``, ``confusion.png``   the training report (written by ``pac train``)

The manifest is the single description a runtime needs: the JS runtime and the extension read the
same ``pac.json``.  Two kinds of model exist:

- format version 1, ``head.kind`` absent or ``"conv"``: PAC's head (Conv2D, Flatten, Dense) on
  MobileNet's ``[7, 7, 256]`` activations (``--preset paper``, ``--config pac-compat``, ``--head conv``,
  MIT's ``.mdl`` models, and every model made before pac 0.3);
- format version 2, ``head.kind = "linear"``: one softmax layer on feature blocks (:mod:`pac.blocks`),
  listed in ``head.blocks`` in input order; ``base`` is present when a block runs MobileNet
  (``mobilenet``, ``mobilenet_rows``), ``speech_base`` when the ``speech`` block is used
  (:data:`pac.blocks.NETWORK`). A model made before ``mobilenet_rows`` existed reads the same.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__, jsonsafe
from .base import ACTIVATION_SHAPE, BASE_NAME, CUT_LAYER, base_sha256
from .blocks import BLOCKS, SIZES, networks_of_blocks
from .errors import PacError
from .features import FeatureConfig
from .fsutil import read_limited
from .libs import tensorflow
from .limits import LIMITS
from .tfjs_head import WRITER, read_head
from .tfjs_head import write_head as _write_tfjs_head

MANIFEST = "pac.json"
HEAD_JSON = "model.json"
FORMAT = "pac-model"
FORMAT_VERSION = 1
#: Format version of models with a linear head on feature blocks.
FORMAT_VERSION_LINEAR = 2
FORMAT_VERSIONS = (FORMAT_VERSION, FORMAT_VERSION_LINEAR)
HEAD_KINDS = ("conv", "linear")
#: Weight types of the speech base a model may run with (``speech_base.weights``).
SPEECH_WEIGHT_TYPES = ("uint8", "float32")


@dataclass(frozen=True)
class Manifest:
    """What ``pac.json`` holds."""

    labels: tuple[str, ...]
    features: FeatureConfig
    base: dict | None
    tools: dict
    #: ``None`` for PAC's conv head; else ``{"kind": "linear", "blocks": [{"name", "size", "weight",
    #: "pooling"}, ...]}``.
    linear: dict | None = None
    speech_base: dict | None = None

    @property
    def head_kind(self) -> str:
        return "conv" if self.linear is None else "linear"

    @property
    def blocks(self) -> tuple[str, ...]:
        """Feature blocks of a linear head in input order (``()`` for the conv head)."""
        return tuple(b["name"] for b in self.linear["blocks"]) if self.linear else ()

    @property
    def networks(self) -> tuple[str, ...]:
        """The pretrained networks the model runs: ``mobilenet`` for the conv head, else its blocks'."""
        return ("mobilenet",) if self.linear is None else networks_of_blocks(self.blocks)

    @property
    def head_input_shape(self) -> tuple:
        if self.linear is None:
            return ACTIVATION_SHAPE
        return (sum(b["size"] for b in self.linear["blocks"]),)

    def to_json(self) -> str:
        if self.linear is None:
            data = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "labels": list(self.labels),
                "features": self.features.manifest_dict(),
                "base": self.base,
                "head": {"model": HEAD_JSON, "input_shape": list(ACTIVATION_SHAPE)},
                "tools": self.tools,
            }
        else:
            data = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION_LINEAR,
                "labels": list(self.labels),
                "features": self.features.manifest_dict(),
                "head": {
                    "model": HEAD_JSON,
                    "kind": "linear",
                    "input_shape": list(self.head_input_shape),
                    "blocks": self.linear["blocks"],
                },
                "tools": self.tools,
            }
            if self.base is not None:
                data["base"] = self.base
            if self.speech_base is not None:
                data["speech_base"] = self.speech_base
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def base_identity() -> dict:
    """The base a model was trained on: name, cut layer and weights sha256."""
    return {"name": BASE_NAME, "cut_layer": CUT_LAYER, "sha256": base_sha256()}


def tool_versions() -> dict:
    """Versions of pac and TensorFlow, and what wrote the head (pac's own TF.js writer)."""
    return {"pac": __version__, "tensorflow": tensorflow().__version__, "tfjs_writer": WRITER}


def write_head(model, directory: Path) -> None:
    """Write a tf_keras head as a TF.js layers model (``model.json`` + shard) into ``directory``
    (:func:`pac.tfjs_head.write_head`)."""
    _write_tfjs_head(model, directory)


def read_manifest(directory: str | os.PathLike) -> Manifest:
    """Load and validate ``pac.json``.

    It is read within ``LIMITS.json_max_bytes`` (:func:`pac.fsutil.read_limited`: a FIFO or device
    is refused without waiting) and parsed by :func:`pac.jsonsafe.loads` (nesting, no NaN).
    """
    path = Path(directory) / MANIFEST
    if not os.path.lexists(path):
        raise PacError(f"{directory}: not a pac model folder (no {MANIFEST}); train one with pac train")
    data = jsonsafe.loads(
        read_limited(path, max_bytes=LIMITS.json_max_bytes, what="model manifest"), source=os.fspath(path)
    )
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PacError(f"{path}: not a pac model manifest")
    version = data.get("format_version")
    if version not in FORMAT_VERSIONS or isinstance(version, bool):
        raise PacError(
            f"{path}: manifest version {version} is not supported "
            f"by pac {__version__} (expects {' or '.join(map(str, FORMAT_VERSIONS))})"
        )
    labels = data.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise PacError(f"{path}: labels must be a list of at least 2 strings")
    if len(labels) > LIMITS.max_labels:
        raise PacError(f"{path}: {len(labels):,d} labels, more than the limit of {LIMITS.max_labels:,d}")
    if len(set(labels)) != len(labels):
        raise PacError(f"{path}: labels are not unique")
    linear = _linear_head(path, data) if version == FORMAT_VERSION_LINEAR else None
    # the networks the model runs (Manifest.networks, before there is a Manifest)
    networks = ("mobilenet",) if linear is None else networks_of_blocks(b["name"] for b in linear["blocks"])
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise PacError(f"{path}: base must be an object naming the MobileNet the model was trained on")
    if "mobilenet" in networks and (base.get("name") != BASE_NAME or base.get("cut_layer") != CUT_LAYER):
        raise PacError(
            f"{path}: trained on base {base.get('name')}:{base.get('cut_layer')}, pac supports {BASE_NAME}:{CUT_LAYER}"
        )
    speech = None
    if "speech" in networks:
        from .speech_base import SPEECH_BASE_NAME

        speech = data.get("speech_base")
        if not isinstance(speech, dict) or speech.get("name") != SPEECH_BASE_NAME:
            raise PacError(f"{path}: the speech block needs speech_base {SPEECH_BASE_NAME}")
        if speech.get("weights") not in SPEECH_WEIGHT_TYPES:
            raise PacError(f"{path}: speech_base weights must be {' or '.join(SPEECH_WEIGHT_TYPES)}")
    features = FeatureConfig.from_dict(data.get("features"), source=f"{path} features")
    if linear is not None and features.method == "pac-compat":
        raise PacError(f"{path}: a linear head cannot use the pac-compat features (MIT's models are conv heads)")
    return Manifest(
        labels=tuple(labels),
        features=features,
        base=base if "mobilenet" in networks else None,
        tools=data.get("tools", {}),
        linear=linear,
        speech_base=speech,
    )


def _linear_head(path, data) -> dict:
    """The ``head`` of a format-2 manifest, checked: kind linear, known blocks in order, sizes."""
    head = data.get("head")
    if not isinstance(head, dict) or head.get("kind") != "linear":
        raise PacError(f'{path}: head.kind must be "linear" in a version {FORMAT_VERSION_LINEAR} manifest')
    blocks = head.get("blocks")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise PacError(f"{path}: head.blocks must be a non-empty list of blocks")
    names = [b.get("name") for b in blocks]
    if any(n not in BLOCKS for n in names) or names != [n for n in BLOCKS if n in names]:
        raise PacError(f"{path}: head.blocks must name {' and/or '.join(BLOCKS)}, each once, in that order")
    for block in blocks:
        if block.get("size") != SIZES[block["name"]]:
            raise PacError(f"{path}: block {block['name']} must have size {SIZES[block['name']]}")
    if head.get("input_shape") != [sum(b["size"] for b in blocks)]:
        raise PacError(f"{path}: head.input_shape must be [{sum(b['size'] for b in blocks)}]")
    return {"kind": "linear", "blocks": blocks}


def load_head(directory: str | os.PathLike, manifest: Manifest):
    """The head as a tf_keras model, checked against the manifest's labels (its input shape is
    checked by :func:`pac.tfjs_head.read_head`)."""
    path = Path(directory) / HEAD_JSON
    if not path.is_file():
        raise PacError(f"{path}: missing (the model folder is incomplete)")
    try:
        model = read_head(path, input_shape=manifest.head_input_shape)
    except PacError:
        raise
    except Exception as exc:  # tf_keras may still refuse what the parser let through
        raise PacError(f"{path}: cannot load the TF.js head ({type(exc).__name__}: {exc})") from None
    if model.output_shape[-1] != len(manifest.labels):
        raise PacError(f"{path}: head has {model.output_shape[-1]} outputs for {len(manifest.labels)} labels")
    return model
