"""The classifier page that runs inside the App Inventor app's WebView, and the folder it loads.

:func:`write_assets` renders the page template ``templates/classifier.html`` and writes a complete,
self-contained folder: the page, pac's runtime scripts (``js/``), TensorFlow.js (the versions pinned
by ``extension/package.json``), the pretrained networks the model uses and the model.  The
template, the scripts, TensorFlow.js and ``bridge.json`` are found by :mod:`pac.resources` (a
checkout's ``extension/`` folder, or the package data of an installed pac).  The page asks for
nothing else, and only by these RELATIVE URL paths (the Android side serves the same paths from the
extension's assets through ``WebViewClient.shouldInterceptRequest``; a user's model swapped in at
run time replaces the three ``model/`` entries)::

    classifier.html                        the page
    js/bridge.js                           constants, bridge calls, error guard (loaded first)
    js/wav.js, js/features.js              WAV decoding, the feature pipeline
    js/pac_compat.js                       feature method pac-compat (MIT's PAC spectrogram)
    js/speech.js                           the speech front end (16 kHz resampling, log-mel windows)
    js/base.js                             MobileNet cut and compiled into fused kernels
    js/speech_net.js                       the speech embedding network (speech/ below)
    js/listen.js                           continuous listening: ring buffer, windows, decision rule
    js/classifier.js                       start-up, window.pac entry points
    tfjs/tf.es2017.min.js                  TensorFlow.js (core, layers, CPU and WebGL backends)
    tfjs/tf-backend-wasm.es2017.min.js     its WASM backend, which fetches
    tfjs/tfjs-backend-wasm.wasm            ... this binary, or (when the WebView has WASM SIMD)
    tfjs/tfjs-backend-wasm-simd.wasm       ... this one (serve both as application/wasm)
    mobilenet/model.json                   MobileNet v1 0.25 224 (TF.js layers model), only for a
    mobilenet/group<N>-shard1of1           model that uses it (a conv head, or a MobileNet block);
                                           its 55 weight shards, N = 1..55 (no file extension)
    speech/graph.json                      the speech embedding network (pac.speech_base.export_files,
    speech/weights.bin                     8-bit kernels unless the manifest says float32), only for a
    speech/NOTICE.txt                      model that uses the speech block; NOTICE.txt: where the
                                           weights come from and their licence note (not loaded)
    model/pac.json                         the model's manifest: labels, feature configuration, head
    model/model.json                       the head (TF.js layers model)
    model/<weights>                        the head's shards as model/model.json names them
                                           (pac train writes group1-shard1of1.bin)

``classifier.html?backend=wasm`` (or ``webgl``, ``cpu``) forces a TensorFlow.js backend; without it
the page takes the first of :data:`BACKENDS` that starts.  ``?base=layers`` runs MobileNet through
the TF.js layers API instead of fused kernels (slower; for checking).  If ``model/pac.json`` does not exist
(HTTP 404) the page falls back to the manifest rendered into it.

Everything the page's JS needs from Python (bridge names and error codes from
``bridge.json``, the feature-configuration schema and defaults, the colour-map tables,
the manifest rules of :mod:`pac.modeldir` and :mod:`pac.blocks`, which networks the folder ships,
the built-in manifest) is rendered into the page as one JSON data block, never as script code, so a
label such as ``</script>`` stays data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath

from . import __version__, resources, speech_base
from .base import BASE_NAME, CUT_LAYER, expected_shards, resolve_base_dir
from .blocks import BLOCKS, NETWORK, SIZES
from .errors import PacError
from .features import config as feature_config
from .features import functional as F
from .features import speech as speech_front_end
from .features.compat import mpl_colormap_table
from .features.pipeline import colormap_lut
from .fsutil import atomic_dir
from .limits import CONFIG_BOUNDS, LIMITS
from .modeldir import (
    FORMAT,
    FORMAT_VERSION,
    FORMAT_VERSION_LINEAR,
    FORMAT_VERSIONS,
    HEAD_JSON,
    MANIFEST,
    SPEECH_WEIGHT_TYPES,
    Manifest,
    read_manifest,
)

PAGE = "classifier.html"
#: pac's runtime scripts (at js/ in the asset folder) and TensorFlow.js (URL path -> file under
#: node_modules), as :mod:`pac.resources` finds them.
RUNTIME_SCRIPTS = resources.RUNTIME_SCRIPTS
TFJS_FILES = resources.TFJS_FILES
#: Scripts in page order: the guard first, then TensorFlow.js, then pac's pipeline and start-up.
PAGE_SCRIPTS = (
    "js/bridge.js",
    "tfjs/tf.es2017.min.js",
    "tfjs/tf-backend-wasm.es2017.min.js",
    "js/wav.js",
    "js/features.js",
    "js/pac_compat.js",
    "js/speech.js",
    "js/base.js",
    "js/speech_net.js",
    "js/listen.js",
    "js/classifier.js",
)
#: TensorFlow.js backends in order of preference.  WASM first: float32 arithmetic like TensorFlow in
#: Python on every device (WebGL on many phone GPUs falls back to float16 textures), and the fastest
#: in headless Chromium (bench/latency.py: WASM ~30 ms per clip end to end, software WebGL ~230 ms,
#: CPU ~330 ms); WebGL next for a WebView without WebAssembly, then the plain-JS CPU backend.
BACKENDS = ("wasm", "webgl", "cpu")
BASE_URL_DIR = "mobilenet"
MODEL_URL_DIR = "model"
#: The pretrained networks a page can ship, by the name :func:`networks_of` gives them.
NETWORKS = ("mobilenet", "speech")

# Feature-configuration fields restricted to a list of values: field -> list in pac.features.config.
_CHOICES = {
    "freq_scale": "FREQ_SCALES",
    "window_select": "WINDOW_SELECTS",
    "colormap": "COLORMAPS",
    "method": "METHODS",
    "downscale": "DOWNSCALES",
}
# What the JS requires of bridge.json.
_JS_TO_JAVA = ("ready", "reportResult", "error", "heard")
_JAVA_TO_JS = ("classifyWav", "classifyPcm", "startStream", "pushPcm", "stopStream")
_JS_ERRORS = (
    "NOT_READY",
    "MODEL_LOAD_FAILED",
    "NOT_WAV",
    "UNSUPPORTED_WAV",
    "EMPTY_AUDIO",
    "SILENT_AUDIO",
    "TOO_SHORT",
    "CLASSIFICATION_FAILED",
    "NO_BACKGROUND_LABEL",
)


def read_bridge(path: str | os.PathLike | None = None) -> dict:
    """Load ``bridge.json`` and check it defines everything the JS runtime calls.

    Parameters
    ----------
    path : path, optional
        Another bridge definition (tests); defaults to pac's (:mod:`pac.resources`).

    Returns
    -------
    dict
        The parsed file.
    """
    path = Path(path) if path else resources.current().bridge_json
    try:
        bridge = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PacError(f"cannot read the bridge definition ({exc})", path=path) from None
    try:
        missing = [m for m in _JS_TO_JAVA if m not in bridge["js_to_java"]]
        missing += [m for m in _JAVA_TO_JS if m not in bridge["java_to_js"]]
        names = {e["name"] for e in bridge["errors"]}
        missing += [e for e in _JS_ERRORS if e not in names]
        bridge["javascript_interface"], bridge["java_to_js"]["object"], bridge["listening"]
    except (KeyError, TypeError) as exc:
        raise PacError(f"not a bridge definition (missing {exc})", path=path) from None
    if missing:
        raise PacError(f"the JS runtime needs {', '.join(missing)}, which it does not define", path=path)
    return bridge


def networks_of(manifest: Manifest) -> tuple[str, ...]:
    """The pretrained networks a model runs, in :data:`NETWORKS` order: ``mobilenet`` for PAC's conv
    head or a block that runs it (``mobilenet``, ``mobilenet_rows``), ``speech`` for the speech block."""
    return tuple(n for n in NETWORKS if n in manifest.networks)


def page_constants(manifest: dict, *, networks=(), bridge: dict | None = None) -> dict:
    """The JSON object the page's scripts read (``<script type="application/json" id="pac-constants">``).

    Parameters
    ----------
    manifest : dict
        The model's parsed ``pac.json``; embedded as the fallback manifest.
    networks : sequence of str
        The pretrained networks the asset folder ships (:data:`NETWORKS`; :func:`write_assets`
        ships :func:`networks_of` the model).
    bridge : dict, optional
        The parsed bridge definition (default: :func:`read_bridge`).

    Returns
    -------
    dict
        Bridge names and error codes, the limits (:data:`pac.limits.LIMITS`), the
        feature-configuration schema, colour maps, the manifest
        rules (format versions, base, blocks, speech base), the networks shipped, paths, the backend
        order and the built-in manifest.
    """
    bridge = bridge or read_bridge()
    schema = {
        "defaults": feature_config.FeatureConfig().to_dict(),
        "kinds": dict(feature_config._KINDS),
        "kind_names": dict(feature_config._KIND_NAMES),
        # [low, high, low as written, high as written], in the order Python checks them.
        "bounds": {
            name: [low, high, feature_config._number(low), feature_config._number(high)]
            for name, (low, high) in CONFIG_BOUNDS.items()
        },
        # The order Python checks the bounds in (the page's JSON block sorts the keys of "bounds").
        "bound_order": list(CONFIG_BOUNDS),
        "choices": {name: list(getattr(feature_config, table)) for name, table in _CHOICES.items()},
        "schema_version": feature_config.SCHEMA_VERSION,
    }
    colormaps = {}
    for name in feature_config.COLORMAPS:
        lut = colormap_lut(name)
        colormaps[name] = None if lut is None else lut.tolist()
    return {
        "pac_version": __version__,
        "bridge": {
            "javascript_interface": bridge["javascript_interface"],
            "js_to_java": {name: name for name in _JS_TO_JAVA},
            "java_to_js": {"object": bridge["java_to_js"]["object"], **{name: name for name in _JAVA_TO_JS}},
        },
        "errors": {e["name"]: int(e["code"]) for e in bridge["errors"]},
        # Continuous listening (js/listen.js), the rule pac.listen follows too.
        "listening": {k: v for k, v in bridge["listening"].items() if k != "doc"},
        # pac.limits.LIMITS: wav.js refuses what pac.audio refuses, by the same numbers.
        "limits": LIMITS.to_dict(),
        "features": {
            "schema": schema,
            "colormaps": colormaps,
            "power_floor": F.POWER_FLOOR,
            "chunk_seconds": F.CHUNK_SECONDS,
            "speech_front_end": dict(speech_front_end.FRONT_END),
            "compat_colormaps": {name: mpl_colormap_table(name).tolist() for name in feature_config.COLORMAPS},
        },
        # What pac.modeldir.read_manifest accepts (format_version: what a .mdl's manifest gets).
        "manifest": {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "format_versions": list(FORMAT_VERSIONS),
            "linear_format_version": FORMAT_VERSION_LINEAR,
            "base_name": BASE_NAME,
            "cut_layer": CUT_LAYER,
            "blocks": [{"name": b, "size": SIZES[b], "network": NETWORK[b]} for b in BLOCKS],
            "speech_base_name": speech_base.SPEECH_BASE_NAME,
            "speech_weights": list(SPEECH_WEIGHT_TYPES),
        },
        # The pretrained networks this page ships (a model swapped in at run time may need another).
        "networks": {name: name in networks for name in NETWORKS},
        "builtin_manifest": manifest,
        "backends": list(BACKENDS),
        # An MIT .mdl given as the extension's Model property has no pac.json: the page then reads
        # its labels and base from these entries and runs MIT's spectrogram (profile pac-compat).
        "mdl": {
            "labels": f"{MODEL_URL_DIR}/model_labels.json",
            "transfer": f"{MODEL_URL_DIR}/transfer_model.json",
            "features": feature_config.PROFILES["pac-compat"].to_dict(),
        },
        "paths": {
            "manifest": f"{MODEL_URL_DIR}/{MANIFEST}",
            "head": f"{MODEL_URL_DIR}/{HEAD_JSON}",
            "base": f"{BASE_URL_DIR}/model.json",
            "speech_graph": speech_base.GRAPH_FILE,
            "speech_weights": speech_base.WEIGHTS_FILE,
            "wasm_prefix": "tfjs/",
            "tfjs": PAGE_SCRIPTS[1],
        },
    }


def render_page(manifest: dict, *, networks=(), bridge: dict | None = None) -> str:
    """The text of ``classifier.html`` for a model's parsed ``pac.json`` and the networks shipped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

    templates = resources.current().templates_dir
    env = Environment(
        loader=FileSystemLoader(str(templates)), autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    try:
        template = env.get_template(PAGE)
        constants = page_constants(manifest, networks=networks, bridge=bridge)
        return template.render(constants=constants, scripts=PAGE_SCRIPTS, pac_version=__version__)
    except TemplateError as exc:
        raise PacError(f"cannot render the classifier page ({exc})", path=templates / PAGE) from None


def _safe_relative(name: str, where: Path) -> str:
    """A weight path from a model.json, refused unless it is a plain relative path."""
    pure = PurePosixPath(name)
    if not name or "\\" in name or pure.is_absolute() or ".." in pure.parts or ":" in name:
        raise PacError(f"weight path {name!r} is not a plain relative file name", path=where)
    return str(pure)


def _head_sources(model_dir: Path) -> dict[str, Path]:
    """URL path -> file for the head's model.json and the weight files it names."""
    head_json = model_dir / HEAD_JSON
    try:
        groups = json.loads(head_json.read_text(encoding="utf-8"))["weightsManifest"]
        names = [p for group in groups for p in group["paths"]]
    except FileNotFoundError:
        raise PacError("missing (the model folder is incomplete)", path=head_json) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PacError(f"not a TF.js layers model.json ({exc})", path=head_json) from None
    sources = {f"{MODEL_URL_DIR}/{HEAD_JSON}": head_json}
    for name in names:
        rel = _safe_relative(name, head_json)
        path = model_dir / rel
        if not path.is_file():
            raise PacError(f"missing weight file {rel} (named by {HEAD_JSON})", path=model_dir)
        sources[f"{MODEL_URL_DIR}/{rel}"] = path
    return sources


def _base_files(base_dir: Path) -> dict[str, bytes]:
    """URL path -> bytes of MobileNet's model.json and its shards, every shard's sha256 verified."""
    model_json = base_dir / "model.json"
    shards = expected_shards()
    try:
        text = model_json.read_bytes()
        names = [p for group in json.loads(text)["weightsManifest"] for p in group["paths"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PacError(f"not a TF.js layers model.json ({exc})", path=model_json) from None
    if sorted(names) != sorted(shards):
        raise PacError(f"does not list {BASE_NAME}'s {len(shards)} shards", path=model_json)
    files = {f"{BASE_URL_DIR}/model.json": text}
    for name in names:
        path = base_dir / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PacError(f"cannot read weight shard ({exc.strerror})", path=path) from None
        if hashlib.sha256(data).hexdigest() != shards[name]:
            raise PacError(f"sha256 does not match {BASE_NAME}'s published shard", path=path)
        files[f"{BASE_URL_DIR}/{name}"] = data
    return files


def _speech_files(manifest: Manifest, speech_dir) -> dict[str, bytes]:
    """URL path -> bytes of the speech network the model runs (:func:`pac.speech_base.export_files`)."""
    identity = manifest.speech_base
    if identity.get("sha256") != speech_base.network_sha256():
        raise PacError(
            f"the model was trained on another {speech_base.SPEECH_BASE_NAME} network "
            f"(sha256 {str(identity.get('sha256'))[:12]}...); pac ships "
            f"{speech_base.network_sha256()[:12]}..."
        )
    network = speech_base.read_speech_network(speech_base.resolve_speech_dir(speech_dir))
    if identity["weights"] == "uint8":
        network = network.quantized()
    return speech_base.export_files(network)


def write_assets(
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    base_dir: str | os.PathLike | None = None,
    speech_dir: str | os.PathLike | None = None,
) -> list[str]:
    """Write the classifier page and everything it loads into ``out_dir``.

    Parameters
    ----------
    model_dir : path
        A model folder (``pac.json``, ``model.json`` and the head's weights).
    out_dir : path
        The asset folder to write.  It must not exist, be empty, or be an earlier asset folder
        (holding ``classifier.html``), which is replaced as a whole.
    base_dir : path, optional
        The MobileNet folder (see :func:`pac.base.resolve_base_dir`); read only when the model uses
        MobileNet.
    speech_dir : path, optional
        The speech embedding folder (see :func:`pac.speech_base.resolve_speech_dir`); read only when
        the model uses the speech block.

    Returns
    -------
    list of str
        The URL paths written (POSIX, relative to ``out_dir``), sorted.

    Raises
    ------
    PacError
        If the model, a network it uses or TensorFlow.js (``./setup.sh`` installs it) is missing or
        broken, or ``out_dir`` holds something else.  Nothing is written then.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    checked = read_manifest(model_dir)  # validates labels, head, bases and features
    manifest_bytes = (model_dir / MANIFEST).read_bytes()
    manifest = json.loads(manifest_bytes)
    found = resources.current()
    copies = {**found.tfjs_files(), **_head_sources(model_dir), **found.runtime_scripts()}
    contents: dict[str, bytes] = {}
    networks = networks_of(checked)
    if "mobilenet" in networks:
        contents.update(_base_files(resolve_base_dir(base_dir)))
    if "speech" in networks:
        contents.update(_speech_files(checked, speech_dir))
    contents[f"{MODEL_URL_DIR}/{MANIFEST}"] = manifest_bytes
    contents[PAGE] = render_page(manifest, networks=networks).encode("utf-8")

    if out_dir.exists() and not (out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / PAGE).is_file())):
        raise PacError("exists and is not an asset folder written by pac; choose a new or empty folder", path=out_dir)
    try:
        with atomic_dir(out_dir) as staging:
            for url, source in copies.items():
                target = staging / url
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copyfile(source, target)
                except OSError as exc:
                    raise PacError(f"cannot copy ({exc.strerror})", path=source) from None
            for url, data in contents.items():
                target = staging / url
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    except OSError as exc:
        raise PacError(f"cannot write the asset folder ({exc.strerror or exc})", path=out_dir) from None
    return sorted([*copies, *contents])
