"""A trained model on disk.

``MODEL_DIR/``
    ``model.json``, ``group1-shard1of1.bin``   the head, a TF.js layers model (written by tensorflowjs,
                                              read by :mod:`pac.tfjs_head` without it)
    ``pac.json``                              the manifest: labels in output order, the feature
                                              configuration, the base's identity, tool versions
    ``report.json``, ``curves.png``, ``confusion.png``   the training report (written by ``pac train``)

The manifest is the single description a runtime needs: the JS runtime and the extension read the
same ``pac.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .base import ACTIVATION_SHAPE, BASE_NAME, CUT_LAYER, base_sha256
from .errors import PacError
from .features import FeatureConfig
from .libs import silenced, tensorflow, tensorflowjs
from .tfjs_head import read_head

MANIFEST = "pac.json"
HEAD_JSON = "model.json"
FORMAT = "pac-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What ``pac.json`` holds."""

    labels: tuple[str, ...]
    features: FeatureConfig
    base: dict
    tools: dict

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "features": self.features.to_dict(),
            "base": self.base,
            "head": {"model": HEAD_JSON, "input_shape": list(ACTIVATION_SHAPE)},
            "tools": self.tools,
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def base_identity() -> dict:
    """The base a model was trained on: name, cut layer and weights sha256."""
    return {"name": BASE_NAME, "cut_layer": CUT_LAYER, "sha256": base_sha256()}


def tool_versions() -> dict:
    """Versions of pac and of the libraries that wrote the model (imports tensorflowjs: for writing only)."""
    return {"pac": __version__, "tensorflow": tensorflow().__version__,
            "tensorflowjs": tensorflowjs().__version__}


def write_head(model, directory: Path) -> None:
    """Write a tf_keras head as a TF.js layers model (``model.json`` + shard) into ``directory``."""
    converters = tensorflowjs().converters
    with silenced():
        converters.save_keras_model(model, str(directory))


def read_manifest(directory: str | os.PathLike) -> Manifest:
    """Load and validate ``pac.json``."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PacError(f"{directory}: not a pac model folder (no {MANIFEST}); train one with pac train") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PacError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PacError(f"{path}: not a pac model manifest")
    if data.get("format_version") != FORMAT_VERSION:
        raise PacError(f"{path}: manifest version {data.get('format_version')} is not supported "
                       f"by pac {__version__} (expects {FORMAT_VERSION})")
    labels = data.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise PacError(f"{path}: labels must be a list of at least 2 strings")
    if len(set(labels)) != len(labels):
        raise PacError(f"{path}: labels are not unique")
    base = data.get("base") or {}
    if base.get("name") != BASE_NAME or base.get("cut_layer") != CUT_LAYER:
        raise PacError(f"{path}: trained on base {base.get('name')}:{base.get('cut_layer')}, "
                       f"pac supports {BASE_NAME}:{CUT_LAYER}")
    features = FeatureConfig.from_dict(data.get("features"), source=f"{path} features")
    return Manifest(labels=tuple(labels), features=features, base=base, tools=data.get("tools", {}))


def load_head(directory: str | os.PathLike, manifest: Manifest):
    """The head as a tf_keras model, checked against the manifest's labels (its input shape is
    checked by :func:`pac.tfjs_head.read_head`)."""
    path = Path(directory) / HEAD_JSON
    if not path.is_file():
        raise PacError(f"{path}: missing (the model folder is incomplete)")
    try:
        with silenced():
            model = read_head(path)
    except PacError:
        raise
    except Exception as exc:  # tf_keras may still refuse what the parser let through
        raise PacError(f"{path}: cannot load the TF.js head ({type(exc).__name__}: {exc})") from None
    if model.output_shape[-1] != len(manifest.labels):
        raise PacError(f"{path}: head has {model.output_shape[-1]} outputs for {len(manifest.labels)} labels")
    return model
