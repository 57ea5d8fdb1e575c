"""MIT Personal Audio Classifier model files (``.mdl``): ``pac import-mdl`` and ``pac export-mdl``.

A ``.mdl`` is what MIT's PAC trainer (``mit-cml/image-classification-explorer``) downloads and what
MIT's App Inventor extension reads from its ``Model`` property: a zip of exactly four entries,

``model.json``
    The head as a TF.js layers model ``{"modelTopology": ..., "weightsManifest": [{"paths":
    ["./model.weights.bin"], "weights": [...]}]}``.  MIT's trainer (TF.js layers 1.2.8) writes the
    ``Sequential`` topology with ``config`` as a list of layers; later TF.js writes
    ``{"name", "layers"}`` and tf_keras exports wrap it in ``model_config``: all three are read.
``model.weights.bin``
    The weights, little-endian float32, in ``weightsManifest`` order.
``model_labels.json``
    ``{"0": "label", "1": "label", ...}``: the label of each output of the head.  MIT's trainer
    sorts the labels as JavaScript's ``Array.prototype.sort`` does (UTF-16 code units), but some
    MIT files are not sorted, and the extension reads the labels by index, so any order works:
    ``pac export-mdl`` writes a model's labels in its output order (a pac model's are sorted by
    code point; an imported file's keep the file's order, so import then export changes nothing).
``transfer_model.json``
    ``{"name": "mobilenet", "lastLayer": "conv_pw_13_relu", "url": ...}``: the base the head sits on
    (the extension loads its bundled ``<name>_model.json`` and cuts it at ``lastLayer``).

The zip is STORED with the sizes in the local headers (the extension reads it with
``java.util.zip.ZipInputStream`` and sizes its buffers from ``ZipEntry.getSize()``).

MIT's extension computes its own features (the spectrogram from MIT's server, see the
``pac-compat`` feature profile), so a ``.mdl`` holds a model of feature profile ``pac-compat``:
imported models get it, and only models trained with it can be exported.

A ``.mdl`` does not say whether it classifies sounds or images: MIT's Personal Image Classifier
writes the same four entries, the same MobileNet base and, by default, the same head.  Import says
so every time, and names the signs of an image model where a file shows them
(:func:`image_model_signs`); a SqueezeNet base (only the image classifier offers it) is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from . import jsonsafe
from .base import ACTIVATION_SHAPE, BASE_NAME, CUT_LAYER, OFFICIAL_URL, base_sha256
from .errors import PacError
from .features import PROFILES, FeatureConfig
from .fsutil import label_problem, read_limited
from .limits import LIMITS
from .tfjs_head import Layer, head_layers, keras_head, parse_json, parse_topology, parse_weights
from .zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY

ENTRIES = ("model.json", "model.weights.bin", "model_labels.json", "transfer_model.json")
WEIGHTS_PATH = "./model.weights.bin"
TRANSFER_NAME = "mobilenet"
#: The transfer_model.json MIT's trainer writes (key order and all).
TRANSFER_JSON = json.dumps({"name": TRANSFER_NAME, "lastLayer": CUT_LAYER, "url": OFFICIAL_URL}, separators=(",", ":"))
PROFILE = "pac-compat"

#: Largest uncompressed size of each entry (a PAC head's weights are ~150 kB).  The .mdl file itself
#: is limited by ``LIMITS.model_max_bytes``, the number of labels by ``LIMITS.max_labels``.
MAX_ENTRY_BYTES = {
    "model.json": LIMITS.json_max_bytes,
    "model.weights.bin": 32 << 20,
    "model_labels.json": LIMITS.json_max_bytes,
    "transfer_model.json": 64 << 10,
}
#: Entries above this many bytes may expand at most ``LIMITS.zip_max_ratio`` times (zip bombs).
RATIO_FLOOR = 64 << 10
#: 1980-01-01 00:00:00, the earliest zip time: exported bytes do not depend on the clock.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# -- reading a .mdl ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Mdl:
    """The validated content of a ``.mdl``: labels in output order, the head, the base it names."""

    labels: tuple[str, ...]
    layers: list[Layer]
    transfer: dict
    sha256: str
    keras_version: str | None = None


def _refuse(path, text: str):
    raise PacError(text, path=path)


def read_entries(path: str | os.PathLike) -> dict[str, bytes]:
    """The four entries of a ``.mdl`` file, refused unless it is a sane zip holding exactly them."""
    return entries_of(path, read_limited(path, max_bytes=LIMITS.model_max_bytes, what="model file"))


def entries_of(path: str | os.PathLike, data: bytes) -> dict[str, bytes]:
    """The four entries of the ``.mdl`` bytes ``data`` read from ``path`` (see :func:`read_entries`)."""
    path = Path(path)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        _refuse(path, f"not a .mdl model (a .mdl is a zip file; this one starts with {data[:8].hex(' ') or 'nothing'})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except NOT_A_ZIP as exc:
        _refuse(path, f"damaged zip file ({exc})")
    names = [info.filename for info in infos]
    for name in names:
        if name not in ENTRIES:
            shown = name if name.isprintable() else repr(name)
            _refuse(path, f"unexpected entry {shown!r} in the .mdl (a .mdl holds exactly {', '.join(ENTRIES)})")
    for name in ENTRIES:
        if names.count(name) != 1:
            problem = "is missing" if name not in names else f"appears {names.count(name)} times"
            _refuse(path, f"entry {name} {problem} (a .mdl holds exactly {', '.join(ENTRIES)})")
    total = 0
    entries = {}
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x1:
            _refuse(path, f"entry {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            _refuse(path, f"entry {name} uses zip compression method {info.compress_type} (only stored or deflated)")
        limit = MAX_ENTRY_BYTES[name]
        if info.file_size > limit:
            _refuse(path, f"entry {name} is {info.file_size:,d} bytes, more than a PAC model's {limit:,d}")
        ratio = LIMITS.zip_max_ratio
        if info.file_size > RATIO_FLOOR and info.file_size > ratio * max(info.compress_size, 1):
            _refuse(
                path,
                f"entry {name} expands {info.file_size / max(info.compress_size, 1):.0f} times "
                f"(more than {ratio}; a zip bomb?)",
            )
        total += info.file_size
        try:
            with archive.open(info) as handle:
                body = handle.read(limit + 1)
        except UNREADABLE_ENTRY as exc:
            _refuse(path, f"entry {name} cannot be read ({exc})")
        if len(body) > limit or len(body) != info.file_size:
            _refuse(path, f"entry {name} does not hold the {info.file_size:,d} bytes its header declares")
        entries[name] = body
    if total > sum(MAX_ENTRY_BYTES.values()):
        _refuse(path, "the entries are too big together")
    return entries


def parse_labels(path, body: bytes) -> tuple[str, ...]:
    """``model_labels.json`` -> labels in output order; keys must be "0", "1", ... without gaps."""
    data = _parse_json(path, "model_labels.json", body)
    if not isinstance(data, dict):
        _refuse(path, 'model_labels.json must be an object like {"0": "label", "1": "label"}')
    if not 2 <= len(data) <= LIMITS.max_labels:
        _refuse(path, f"model_labels.json has {len(data)} label(s); a classifier needs 2 to {LIMITS.max_labels}")
    expected = [str(i) for i in range(len(data))]
    if sorted(data, key=lambda k: (len(k), k)) != expected:
        odd = sorted(set(data) - set(expected)) or sorted(set(expected) - set(data))
        _refuse(path, f'model_labels.json keys must be "0" to "{len(data) - 1}" without gaps (found {odd[0]!r})')
    labels = []
    for key in expected:
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            _refuse(path, f"model_labels.json: label {key} must be a non-empty string, not {json.dumps(value)[:40]}")
        problem = label_problem(value)
        if problem:
            _refuse(path, f"model_labels.json: label {key} {problem}")
        labels.append(value)
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        _refuse(path, f"model_labels.json: label {dup!r} appears twice")
    return tuple(labels)


def parse_transfer(path, body: bytes) -> dict:
    """``transfer_model.json``: the base must be MobileNet (v1 0.25 224) cut at conv_pw_13_relu."""
    data = _parse_json(path, "transfer_model.json", body)
    if not isinstance(data, dict):
        _refuse(path, "transfer_model.json must be a JSON object")
    if isinstance(data.get("name"), str) and data["name"].lower() == "squeezenet":
        _refuse(
            path,
            'transfer_model.json names base "squeezenet", which only MIT\'s Personal Image '
            "Classifier offers: this is an image model, not a sound model (MIT's Personal Audio "
            "Classifier always uses mobilenet)",
        )
    if data.get("name") != TRANSFER_NAME:
        _refuse(
            path,
            f"transfer_model.json names base {json.dumps(data.get('name'))}; pac supports "
            f'"{TRANSFER_NAME}" (MobileNet v1 0.25 224, the base MIT\'s extension bundles)',
        )
    if data.get("lastLayer") != CUT_LAYER:
        _refuse(
            path, f"transfer_model.json cuts MobileNet at {json.dumps(data.get('lastLayer'))}; pac supports {CUT_LAYER}"
        )
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or BASE_NAME not in url):
        _refuse(path, f"transfer_model.json: base url {json.dumps(url)[:80]} is not {BASE_NAME}")
    return data


def _entry_shards(path, entries: dict[str, bytes]):
    """A ``shards`` reader (see :func:`pac.tfjs_head.parse_weights`) that accepts only the .mdl's own
    ``model.weights.bin`` entry."""

    def shards(paths) -> bytes:
        if paths not in ([WEIGHTS_PATH], [WEIGHTS_PATH.removeprefix("./")]):
            _refuse(path, f'model.json: weightsManifest paths must be ["{WEIGHTS_PATH}"], not {json.dumps(paths)[:80]}')
        return entries["model.weights.bin"]

    return shards


def _parse_json(path, name: str, body: bytes):
    """An entry's JSON: strict (UTF-8, no repeated keys; :func:`pac.tfjs_head.parse_json`) and within
    :mod:`pac.limits` (size, nesting, no NaN or Infinity; :func:`pac.jsonsafe.loads`)."""
    value = parse_json(path, name, body)
    jsonsafe.loads(body, source=f"{path}: {name}", max_bytes=MAX_ENTRY_BYTES[name])
    return value


def read_mdl(path: str | os.PathLike) -> Mdl:
    """Read and validate a ``.mdl`` completely (nothing is written)."""
    data = read_limited(path, max_bytes=LIMITS.model_max_bytes, what="model file")
    entries = entries_of(path, data)
    labels = parse_labels(path, entries["model_labels.json"])
    transfer = parse_transfer(path, entries["transfer_model.json"])
    model = _parse_json(path, "model.json", entries["model.json"])
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        _refuse(path, "model.json is not a TF.js layers model (no modelTopology and weightsManifest)")
    layers, names = parse_topology(path, model["modelTopology"])
    parse_weights(path, model["weightsManifest"], layers, names, shards=_entry_shards(path, entries))
    if layers[-1].units != len(labels):
        _refuse(path, f"the head has {layers[-1].units} outputs but model_labels.json names {len(labels)} labels")
    digest = hashlib.sha256(data).hexdigest()
    topology = model["modelTopology"]
    version = topology.get("keras_version") if isinstance(topology, dict) else None
    return Mdl(
        labels=labels,
        layers=layers,
        transfer=transfer,
        sha256=digest,
        keras_version=version if isinstance(version, str) else None,
    )


#: What the ``.mdl`` format cannot tell, said at every import.
NO_KIND_WARNING = (
    "a .mdl does not record whether it classifies sounds or images (MIT's Personal Image "
    "Classifier writes the same format): pac imports it as a sound model, so use only .mdl "
    "files from MIT's Personal Audio Classifier"
)

#: The head MIT's audio trainer always builds (its users cannot change it): (kind, filters or units,
#: kernel, activation, bias); the last layer's units are the labels.
PAC_HEAD = (
    ("conv2d", 5, (5, 5), "relu", True),
    ("flatten", 0, None, "linear", True),
    ("dense", 100, None, "relu", True),
    ("dense", None, None, "softmax", False),
)


def image_model_signs(mdl: Mdl) -> list[str]:
    """Signs in a ``.mdl`` that MIT's Personal Image Classifier made it, each a short sentence.

    A file of the image classifier's current site with its default head shows none (the format,
    the base and the head are the audio trainer's).  The signs are a head other than the one the
    audio trainer always builds (:data:`PAC_HEAD`; the image classifier lets its users choose
    layers), and a model written by TF.js layers 0.x (the image classifier's site of 2018-2019;
    the audio trainer used 1.x).
    """
    signs = []
    shape = tuple(
        (
            layer.kind,
            layer.filters if layer.kind == "conv2d" else (layer.units or 0),
            layer.kernel_size if layer.kind == "conv2d" else None,
            layer.activation,
            layer.use_bias,
        )
        for layer in mdl.layers
    )
    expected = PAC_HEAD[:-1] + (("dense", len(mdl.labels), None, "softmax", False),)
    if shape != expected:
        described = ", ".join(f"{kind} {size}" if size else kind for kind, size, *_ in shape)
        signs.append(
            f"its head ({described}) is not the one MIT's audio trainer always builds (conv2d 5 "
            f"5x5 relu, flatten, dense 100 relu, dense softmax without bias); MIT's Personal Image "
            f"Classifier lets its users choose layers"
        )
    if mdl.keras_version and mdl.keras_version.startswith("tfjs-layers 0."):
        signs.append(
            f"it was written by {mdl.keras_version}, as MIT's Personal Image Classifier site of "
            f"2018-2019 wrote models (MIT's audio trainer used TF.js 1.x)"
        )
    return signs


# -- writing a .mdl ------------------------------------------------------------------------------------


def tfjs_topology(layers: list[Layer]) -> tuple[dict, list[dict]]:
    """``modelTopology`` and weight specs as TF.js layers 1.2.8 (MIT's trainer) writes them."""
    initializer = {
        "class_name": "VarianceScaling",
        "config": {"scale": 1, "mode": "fan_in", "distribution": "normal", "seed": None},
    }
    zeros = {"class_name": "Zeros", "config": {}}
    counters: dict[str, int] = {}
    items, specs = [], []
    for i, layer in enumerate(layers):
        cls = {"conv2d": "Conv2D", "flatten": "Flatten", "dense": "Dense"}[layer.kind]
        counters[cls] = counters.get(cls, 0) + 1
        name = f"{cls.lower()}_{cls}{counters[cls]}"
        if layer.kind == "conv2d":
            cfg = {
                "filters": layer.filters,
                "kernel_initializer": initializer,
                "kernel_regularizer": None,
                "kernel_constraint": None,
                "kernel_size": list(layer.kernel_size),
                "strides": list(layer.strides),
                "padding": layer.padding,
                "data_format": "channels_last",
                "dilation_rate": [1, 1],
                "activation": layer.activation,
                "use_bias": layer.use_bias,
                "bias_initializer": zeros,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "bias_constraint": None,
            }
        elif layer.kind == "dense":
            cfg = {
                "units": layer.units,
                "activation": layer.activation,
                "use_bias": layer.use_bias,
                "kernel_initializer": initializer,
                "bias_initializer": zeros,
                "kernel_regularizer": None,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "kernel_constraint": None,
                "bias_constraint": None,
            }
        else:
            cfg = {}
        cfg.update({"name": name, "trainable": True})
        if i == 0:
            cfg.update({"batch_input_shape": [None, *ACTIVATION_SHAPE], "dtype": "float32"})
        items.append({"class_name": cls, "config": cfg})
        for slot, array in zip(("kernel", "bias"), layer.weights):
            specs.append({"name": f"{name}/{slot}", "shape": list(array.shape), "dtype": "float32"})
    topology = {
        "class_name": "Sequential",
        "config": items,
        "keras_version": "tfjs-layers 1.2.8",
        "backend": "tensor_flow.js",
    }
    return topology, specs


def mdl_bytes(labels, layers: list[Layer]) -> bytes:
    """The ``.mdl`` zip for a head whose outputs are ``labels``, labels in that (output) order,
    STORED entries, fixed timestamps.  Not re-sorted: the extension reads labels by index, and an
    imported MIT file whose labels were not sorted must come back as it was."""
    topology, specs = tfjs_topology(layers)
    model_json = json.dumps(
        {"modelTopology": topology, "weightsManifest": [{"paths": [WEIGHTS_PATH], "weights": specs}]},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    blob = b"".join(np.ascontiguousarray(w, dtype="<f4").tobytes() for layer in layers for w in layer.weights)
    labels_json = json.dumps(
        {str(i): label for i, label in enumerate(labels)}, separators=(",", ":"), ensure_ascii=False
    )
    files = {
        "model.json": model_json.encode("utf-8"),
        "model.weights.bin": blob,
        "model_labels.json": labels_json.encode("utf-8"),
        "transfer_model.json": TRANSFER_JSON.encode("utf-8"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in ENTRIES:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, files[name])
    return buffer.getvalue()


# -- the commands --------------------------------------------------------------------------------------


def compatible(features: FeatureConfig) -> bool:
    """Whether a model of ``features`` sees MIT's images: the ``pac-compat`` profile, with any canvas
    filter (models made before ``downscale`` existed have ``"centre"``).  The one test of what
    ``pac export-mdl`` takes (the studio asks it too)."""
    profile = PROFILES[PROFILE]
    return dataclasses.replace(features, name=PROFILE, downscale=profile.downscale) == profile


def export_mdl(model_dir: str | os.PathLike, output: str | os.PathLike, *, warn=None) -> Path:
    """``pac export-mdl``: write ``model_dir`` as a ``.mdl`` MIT's extension can load.

    Parameters
    ----------
    model_dir : path
        A pac model folder trained with the ``pac-compat`` profile.
    output : path
        The ``.mdl`` to write.
    warn : callable, optional
        ``warn(text)`` is told when the model was trained on images drawn with another canvas filter
        than Chromium's (a model made before pac emulated it).

    Returns
    -------
    Path
        ``output``.
    """
    from .fsutil import write_bytes_atomic
    from .modeldir import load_head, read_manifest

    model_dir, output = Path(model_dir), Path(output)
    if output.suffix != ".mdl":
        raise PacError(f"{output}: MIT's extension only accepts model files whose name ends in .mdl")
    manifest = read_manifest(model_dir)
    if not compatible(manifest.features):
        raise PacError(
            f"{model_dir}: trained with feature profile '{manifest.features.name}', not '{PROFILE}'. MIT's "
            f"Personal Audio Classifier extension makes its own spectrogram (MIT's server: silence-stripped "
            f"clip, matplotlib specgram, viridis, drawn at 200x200, then 224x224) and would feed this model "
            f"images unlike its training images; train with --config {PROFILE} to export a .mdl"
        )
    if manifest.base.get("sha256") != base_sha256():
        raise PacError(f"{model_dir}: trained on other MobileNet weights than the ones MIT's extension bundles")
    if warn is not None and manifest.features.downscale != PROFILES[PROFILE].downscale:
        warn(
            f"{model_dir}: trained on spectrograms drawn with canvas filter '{manifest.features.downscale}' "
            f"(pac's assumption before it measured Chromium's, '{PROFILES[PROFILE].downscale}'); MIT's page "
            f"will feed it other images and may answer differently: train it again with --config {PROFILE}"
        )
    layers = head_layers(load_head(model_dir, manifest), model_dir)
    data = mdl_bytes(manifest.labels, layers)
    write_bytes_atomic(output, data)
    return output


def import_mdl(mdl_path: str | os.PathLike, output: str | os.PathLike, *, warn=None) -> Path:
    """``pac import-mdl``: validate a ``.mdl`` completely, then write a pac model folder.

    Parameters
    ----------
    mdl_path : path
        The ``.mdl`` (MIT's Personal Audio Classifier's, or ``pac export-mdl``'s).
    output : path
        The model folder to write (feature profile ``pac-compat``, labels in the file's order).
    warn : callable, optional
        ``warn(text)`` is told :data:`NO_KIND_WARNING` and each of :func:`image_model_signs`.

    Returns
    -------
    Path
        ``output``.
    """
    from .fsutil import atomic_dir
    from .modeldir import MANIFEST, Manifest, base_identity, tool_versions, write_head

    output = Path(output)
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / MANIFEST).exists())):
        raise PacError(f"{output}: exists and is not a pac model folder; choose another -o")
    mdl = read_mdl(mdl_path)
    signs = image_model_signs(mdl)
    if warn is not None:
        warn(NO_KIND_WARNING)
        for sign in signs:
            warn(f"{mdl_path}: may be an image model: {sign}")
    model = keras_head(mdl.layers)
    manifest = Manifest(labels=mdl.labels, features=PROFILES[PROFILE], base=base_identity(), tools=tool_versions())
    report = {
        "labels": list(mdl.labels),
        "imported": {
            "mdl": Path(mdl_path).name,
            "sha256": mdl.sha256,
            "transfer_model": mdl.transfer,
            "image_model_signs": signs,
        },
    }
    with atomic_dir(output) as staging:
        try:
            write_head(model, staging)
            (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
            (staging / "report.json").write_text(
                json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise PacError(f"cannot be written ({exc.strerror or exc})", path=output) from None
    return output
