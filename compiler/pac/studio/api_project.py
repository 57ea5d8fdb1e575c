"""The studio's JSON API, part 1: the page, the project, labels and clips, and moving a whole project
(export as a ``.zip``, import of one).  Every route works on ``handler.project`` (one student's project
in a classroom) and reads names only through the store's listings.
"""

from __future__ import annotations

import functools

from .. import __version__, resources
from ..dataset import BACKGROUND_LABEL, MIN_CLIPS_PER_LABEL
from ..features import PROFILES
from ..limits import LIMITS
from ..listen import listening_rules
from .exports import EXPORTS, export_problem, export_support
from .handler import TEXT, route
from .layout import LABELS, MODELS, StudioError
from .transfer import IMPORT_MAX_BYTES, export_project, import_project


@functools.cache
def _listening_rules() -> dict:
    """``bridge.json``'s listening rules, read once (the file ships with pac; nothing changes it)."""
    return listening_rules()


# -- the page ----------------------------------------------------------------------------------------


@route("GET", "/")
def index(handler) -> None:
    handler.static("index.html")


@route("GET", "/favicon.ico")
def favicon(handler) -> None:
    handler.static("icon.svg")


@route("GET", "/static/{name}")
def static(handler, name: str) -> None:
    handler.static(name)


#: The extension's runtime scripts the page runs itself (``runtime/<name>``): continuous listening's
#: windowing and decision rule, so the live test listens exactly as the extension does.
PAGE_RUNTIME_SCRIPTS = ("listen.js",)


@route("GET", "/runtime/{name}")
def runtime_script(handler, name: str) -> None:
    """One of :data:`PAGE_RUNTIME_SCRIPTS`, found by :mod:`pac.resources` (the checkout's
    ``extension/js/`` or the installed wheel's bundle)."""
    if name not in PAGE_RUNTIME_SCRIPTS:
        raise StudioError("no such file", status=404)
    path = resources.current().runtime_scripts()[f"{resources.JS}/{name}"]
    handler.send_bytes(path.read_bytes(), "text/javascript; charset=utf-8")


# -- the project -------------------------------------------------------------------------------------


def disk_signature(store) -> str:
    """Changes when folders gain or lose entries (also edits made outside the page)."""
    stamps = []
    for folder in [store.root / LABELS, *store.label_dirs(), store.root / MODELS]:
        try:
            stamps.append(folder.stat().st_mtime_ns)
        except FileNotFoundError:
            stamps.append(0)
    return f"{store.revision}-{hash(tuple(stamps)) & 0xFFFFFFFF:x}"


@route("GET", "/api/project")
def project(handler) -> None:
    """Everything the page shows: labels (in the order they were made) with their clips, models (``id``,
    display ``name``, ...), the training job, what stops training, the networks' state, limits."""
    store, jobs = handler.store, handler.jobs
    revision = disk_signature(store)
    if handler.query.get("since", [None])[0] == revision:
        handler.send_json({"revision": revision, "unchanged": True})
        return
    with store.lock:
        clips = store.all_clips()
        models = store.models()
        for model in models:
            model["export_problems"] = {
                kind: export_problem(kind, store.root / MODELS / model["id"]) for kind in EXPORTS
            }
    training = jobs.training
    handler.send_json(
        {
            "revision": revision,
            "version": __version__,
            "name": store.root.name,
            # where the project is on disk, for the local studio; a classroom's students get no path of
            # the teacher's computer (their folder's place in the classroom folder instead)
            "path": f"students/{store.root.name}" if hasattr(handler.server, "classroom") else str(store.root),
            "profile": store.profile,
            "profiles": list(PROFILES),
            "labels": [{"name": name, "clips": infos} for name, infos in clips.items()],
            "models": models,
            "training": training.to_json() if training else None,
            "problems": store.training_problems(clips),
            "base": jobs.networks.status,
            "exports": {
                kind: {k: v for k, v in export_support(kind).items() if k in ("available", "note", "title")}
                for kind in EXPORTS
            },
            "limits": {
                "max_clip_bytes": LIMITS.upload_max_bytes,
                "min_clips": MIN_CLIPS_PER_LABEL,
                "max_label_chars": LIMITS.label_max_chars,
                "max_request_bytes": LIMITS.request_json_max_bytes,
                "max_import_bytes": IMPORT_MAX_BYTES,
            },
            "background_label": BACKGROUND_LABEL,
            "listening": _listening_rules(),
            "remote": not handler.server.loopback_only,
        }
    )


@route("POST", "/api/settings")
def settings(handler) -> None:
    data = handler.read_json({"profile": TEXT})
    if "profile" in data:
        if handler.jobs.training is not None and handler.jobs.training.running:
            raise StudioError("wait for the training run to finish before changing the feature profile", status=409)
        handler.store.set_profile(data["profile"])
    handler.send_json({"profile": handler.store.profile})


@route("GET", "/api/project/export")
def project_export(handler) -> None:
    """The whole project as ``<project>.zip``: ``studio.json``, ``labels/<label>/*.wav``, ``models/<id>/``."""
    store = handler.store
    handler.send_bytes(export_project(store), "application/zip", filename=f"{store.project_stem()}.zip")


@route("POST", "/api/project/import")
def project_import(handler) -> None:
    """Add a project ``.zip`` (the body, as :func:`project_export` makes it) to this project: its labels
    and clips (clips already there are skipped), its models; a hostile or broken zip is refused whole."""
    data = handler.read_body(IMPORT_MAX_BYTES, "the project file")
    handler.send_json(import_project(handler.store, data), status=200)


# -- labels and clips --------------------------------------------------------------------------------


@route("POST", "/api/labels")
def add_label(handler) -> None:
    name = handler.store.add_label(handler.read_json({"name": TEXT}).get("name"))
    handler.send_json({"name": name}, status=201)


@route("POST", "/api/labels/{label}/rename")
def rename_label(handler, label: str) -> None:
    name = handler.store.rename_label(label, handler.read_json({"name": TEXT}).get("name"))
    handler.send_json({"name": name})


@route("DELETE", "/api/labels/{label}")
def delete_label(handler, label: str) -> None:
    handler.store.delete_label(label)
    handler.send_json({"deleted": label})


@route("POST", "/api/labels/{label}/clips")
def add_clip(handler, label: str) -> None:
    store = handler.store
    store.label_dir(label)  # a clear 404 before reading a body for nothing
    data = handler.read_body(LIMITS.upload_max_bytes, "the clip")
    source = handler.headers.get("X-Clip-Source", "uploaded")
    info = store.add_clip(label, data, source=source, original_name=handler.header_text("X-Clip-Name"))
    handler.send_json(info, status=201)


@route("GET", "/api/labels/{label}/clips/{clip}/audio")
def clip_audio(handler, label: str, clip: str) -> None:
    path = handler.store.clip_path(label, clip)
    handler.send_bytes(path.read_bytes(), "audio/wav")


@route("GET", "/api/labels/{label}/clips/{clip}/spectrogram")
def clip_spectrogram(handler, label: str, clip: str) -> None:
    store = handler.store
    path = store.clip_path(label, clip)
    handler.send_bytes(store.spectrogram_png(path), "image/png", cache=True)


@route("DELETE", "/api/labels/{label}/clips/{clip}")
def delete_clip(handler, label: str, clip: str) -> None:
    handler.store.delete_clip(label, clip)
    handler.send_json({"deleted": clip})
