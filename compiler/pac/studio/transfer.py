"""Moving a whole studio project between computers: :func:`export_project` writes it as one ``.zip``
(settings, labels and clips, models), :func:`import_project` adds such a ``.zip`` to a project.

An import reads the archive with bounds on everything (the body, the number of entries, each entry's
size as declared and as actually inflated, the compression ratio) and trusts nothing in it: every
entry name is checked (no absolute path, ``..``, ``\\``, NUL or unknown place; labels by the label
rules), every clip is decoded as WAV and every model's ``pac.json`` read before anything reaches the
project; the entries are unpacked into a hidden staging folder and only then moved in, so a refused
archive leaves the project as it was.  Clips already in a label (same bytes) are skipped, so
importing the same file twice adds nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .. import jsonsafe
from ..audio import decode_wav
from ..dataset import wav_files
from ..errors import PacError
from ..features import PROFILES
from ..fsutil import replace
from ..limits import LIMITS
from ..zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY, is_folder
from .layout import (
    FORMAT,
    LABELS,
    MODEL_ID,
    MODELS,
    SETTINGS,
    TRASH,
    StudioError,
    check_label_name,
    check_model_name,
    stamp,
)

#: The largest project file an import reads (the request body).
IMPORT_MAX_BYTES = 100 * 1024 * 1024
#: The most entries, and the most bytes all entries inflate to, of a project file.
IMPORT_MAX_ENTRIES = 5000
IMPORT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
#: The largest file of a model folder in a project file.
MODEL_FILE_MAX_BYTES = 32 * 1024 * 1024
_CLIP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.wav$")
_MODEL_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.(json|bin|png)$")
#: Folders of a project that an export leaves out and an import ignores (made again from the rest).
_IGNORED = {"tests", "exports"}


def export_project(store) -> bytes:
    """The project as a ``.zip``: ``<project>/studio.json``, ``<project>/labels/<label>/*.wav`` and
    ``<project>/models/<id>/*`` (test results and built downloads are left out)."""
    top = store.project_stem()
    buffer = io.BytesIO()
    with store.lock, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{top}/{SETTINGS}", (store.root / SETTINGS).read_bytes())
        for label in store.labels():
            archive.writestr(f"{top}/{LABELS}/{label}/", b"")  # a label without clips yet is kept too
            for path in wav_files(store.label_dir(label)):
                _add(archive, path, f"{top}/{LABELS}/{label}/{path.name}")
        for folder in store.model_dirs():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    _add(archive, path, f"{top}/{MODELS}/{folder.name}/{path.name}")
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    """Add the file ``path`` as ``name``, read once, compressed as :func:`_compression` says."""
    data = path.read_bytes()
    archive.writestr(zipfile.ZipInfo.from_file(path, name), data, compress_type=_compression(data))


def _compression(data: bytes) -> int:
    """Deflated, or stored when the bytes deflate more than an import accepts (:func:`_read_entry`'s
    bomb check): a long clip that is mostly digital silence does, and the studio must read its own export.
    Only files over 64 KB can be refused, so only they are deflated once more to measure."""
    if len(data) > 1 << 16:
        deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # as zipfile deflates
        if len(data) > LIMITS.zip_max_ratio * (len(deflate.compress(data)) + len(deflate.flush())):
            return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _refuse(message: str) -> StudioError:
    return StudioError(f"the project file: {message}")


def _entry_parts(name: str) -> tuple[str, ...]:
    """The parts of an entry's name, or a refusal for a name that could reach outside the project."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise _refuse(f"unsafe entry name {name[:80]!r}")
    parts = tuple(PurePosixPath(name).parts)
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        raise _refuse(f"unsafe entry name {name[:80]!r}")
    return parts


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's bytes, refused when it declares or inflates to more than ``limit`` or looks like a bomb."""
    if info.flag_bits & 0x1:
        raise _refuse(f"{info.filename}: encrypted entries are not supported")
    if info.file_size > limit:
        raise _refuse(f"{info.filename} is too large ({info.file_size:,d} bytes, at most {limit:,d})")
    if info.file_size > 1 << 16 and info.file_size > LIMITS.zip_max_ratio * max(1, info.compress_size):
        raise _refuse(f"{info.filename}: compressed more than {LIMITS.zip_max_ratio}:1 (a zip bomb?)")
    try:
        with archive.open(info) as entry:
            data = entry.read(limit + 1)
    except UNREADABLE_ENTRY as exc:
        raise _refuse(f"{info.filename} cannot be read ({type(exc).__name__}: {exc})") from None
    if len(data) > limit:
        raise _refuse(f"{info.filename} inflates to more than {limit:,d} bytes")
    return data


def _label(folder: str) -> str:
    """The label a label folder of a project file names (as the studio writes it: NFC, no outer spaces; a
    zip tool that wrote the name decomposed is read the same), refused unless it is a label name."""
    try:
        return check_label_name(folder)
    except StudioError as exc:
        raise _refuse(f"label folder {folder[:60]!r}: {exc}") from None


def _plan(archive: zipfile.ZipFile) -> tuple[dict, dict, dict]:
    """``(settings, labels, models)`` of a project file: its ``studio.json``, ``{label: [(name, info)]}`` and
    ``{model id: [(file name, info)]}``, every name checked; nothing is read but ``studio.json``."""
    infos = archive.infolist()
    if len(infos) > IMPORT_MAX_ENTRIES:
        raise _refuse(f"{len(infos):,d} entries (at most {IMPORT_MAX_ENTRIES:,d})")
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise _refuse("an entry name appears twice")
    settings_entries = [
        info
        for info in infos
        if _entry_parts(info.filename)[-1] == SETTINGS and len(_entry_parts(info.filename)) <= 2 and not is_folder(info)
    ]
    if len(settings_entries) != 1:
        raise _refuse(f"not a pac studio project ({SETTINGS} missing; make it with the studio's project export)")
    prefix = _entry_parts(settings_entries[0].filename)[:-1]
    total = 0
    labels: dict[str, list] = {}
    models: dict[str, list] = {}
    for info in infos:
        parts = _entry_parts(info.filename)
        if parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts):
            continue  # a file manager's hidden files (.DS_Store, resource forks)
        if parts[: len(prefix)] != prefix:
            raise _refuse(f"unexpected entry {info.filename[:80]!r} (outside the project's folder)")
        inner = parts[len(prefix) :]
        if inner == (SETTINGS,) or (inner and inner[0] in _IGNORED):
            continue
        if is_folder(info):
            if len(inner) == 2 and inner[0] == LABELS:
                labels.setdefault(_label(inner[1]), [])
            continue
        total += info.file_size
        if total > IMPORT_MAX_TOTAL_BYTES:
            raise _refuse(f"its entries add up to more than {IMPORT_MAX_TOTAL_BYTES:,d} bytes")
        if len(inner) == 3 and inner[0] == LABELS and inner[2].lower().endswith(".wav"):
            labels.setdefault(_label(inner[1]), []).append((inner[2], info))
        elif len(inner) == 3 and inner[0] == MODELS and MODEL_ID.match(inner[1]) and _MODEL_FILE.match(inner[2]):
            models.setdefault(inner[1], []).append((inner[2], info))
        else:
            raise _refuse(
                f"unexpected entry {info.filename[:80]!r} (a project holds {SETTINGS}, "
                f"{LABELS}/<label>/*.wav and {MODELS}/<id>/)"
            )
    try:
        settings = jsonsafe.loads(_read_entry(archive, settings_entries[0], LIMITS.json_max_bytes), source=SETTINGS)
    except PacError as exc:
        raise _refuse(str(exc)) from None
    if not isinstance(settings, dict) or settings.get("format") != FORMAT:
        raise _refuse(f"{SETTINGS} is not a pac studio project's settings")
    return settings, labels, models


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_project(store, data: bytes) -> dict:
    """Add the project file ``data`` (a ``.zip`` as :func:`export_project` writes it) to ``store``.

    Returns
    -------
    dict
        ``{"labels": [label names, in the file's order], "clips": clips added, "skipped": clips already
        there, "models": [ids of the models added], "profile": the project's feature profile}``.

    Raises
    ------
    StudioError
        A 400 naming the problem (not a zip, an unsafe or unexpected entry, a clip that is not a WAV
        file, a model folder without a readable ``pac.json``, sizes beyond the bounds); the project is
        unchanged.
    """
    from ..modeldir import read_manifest

    if not data:
        raise _refuse("it is empty")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except NOT_A_ZIP:
        raise _refuse("not a zip file (use a project exported by pac studio)") from None
    with archive:
        settings, labels, models = _plan(archive)
        staging = store.root / TRASH / f"import-{secrets.token_hex(6)}"
        staging.mkdir(parents=True)
        try:
            clips: dict[str, list[tuple[str, Path, str]]] = {label: [] for label in labels}
            for label, entries in labels.items():
                for name, info in entries:
                    content = _read_entry(archive, info, LIMITS.upload_max_bytes)
                    try:
                        decode_wav(content, name=f"{label}/{name}")
                    except PacError as exc:
                        raise _refuse(str(exc)) from None
                    path = staging / f"c{sum(map(len, clips.values()))}.wav"
                    path.write_bytes(content)
                    clips[label].append((name, path, _digest(content)))
            staged_models: dict[str, Path] = {}
            for model_id, entries in models.items():
                folder = staging / model_id
                folder.mkdir()
                for name, info in entries:
                    (folder / name).write_bytes(_read_entry(archive, info, MODEL_FILE_MAX_BYTES))
                try:
                    read_manifest(folder)
                except PacError as exc:
                    raise _refuse(f"model {model_id}: {exc}".replace(str(folder), model_id)) from None
                if not (folder / "model.json").is_file():
                    raise _refuse(f"model {model_id} has no model.json")
                staged_models[model_id] = folder
            return _move_in(store, settings, clips, staged_models)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _label_order(settings: dict, names) -> list[str]:
    order = (
        [n for n in settings.get("labels") or [] if isinstance(n, str) and n in names]
        if isinstance(settings.get("labels"), list)
        else []
    )
    return order + sorted(n for n in names if n not in order)


def _move_in(store, settings: dict, clips: dict, staged_models: dict) -> dict:
    """Move the checked, staged clips and models into the project (under its lock), all or nothing:
    if any step fails (a file where a label folder should be, a full disk), what was moved in is taken
    out again and the settings are written back as they were, and the error goes on."""
    with store.lock:
        before = store.settings()
        moved: list[Path] = []  # clips and model folders moved in, label folders made
        try:
            return _move_all(store, settings, clips, staged_models, moved)
        except BaseException:
            for path in reversed(moved):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            if store.settings() != before:
                store.write_settings(before)
            raise


def _move_all(store, settings: dict, clips: dict, staged_models: dict, moved: list) -> dict:
    """The steps of :func:`_move_in`; each path it makes in the project is appended to ``moved``."""
    added = skipped = 0
    new_models = []
    was_empty = not store.labels() and not store.model_dirs()
    for label in _label_order(settings, clips):
        existing = next((n for n in store.labels() if n.casefold() == label.casefold()), None)
        if existing:
            target = store.label_dir(existing)
        else:
            target = store.label_dir(store.add_label(label))
            moved.append(target)
        have = {_digest(path.read_bytes()) for path in wav_files(target)}
        for name, path, digest in clips[label]:
            if digest in have:
                skipped += 1
                continue
            if not _CLIP_NAME.match(name) or (target / name).exists():
                name = f"up-{stamp()}-{secrets.token_hex(4)}.wav"
            replace(path, target / name)
            moved.append(target / name)
            have.add(digest)
            added += 1
    names = settings.get("model_names") if isinstance(settings.get("model_names"), dict) else {}
    renamed = {}
    for model_id, folder in sorted(staged_models.items()):
        target = store.root / MODELS / model_id
        if target.exists():
            if (target / "pac.json").is_file() and (target / "pac.json").read_bytes() == (
                folder / "pac.json"
            ).read_bytes():
                continue  # the same model, imported before
            target = store.new_model_dir()
        replace(folder, target)
        moved.append(target)
        new_models.append(target.name)
        try:
            renamed[target.name] = check_model_name(names.get(model_id))
        except StudioError:
            pass
    data = store.settings()
    if renamed:
        data["model_names"] = {**store.model_names(), **renamed}
    if was_empty and isinstance(settings.get("profile"), str) and settings["profile"] in PROFILES:
        data["profile"] = settings["profile"]
    if data != store.settings():
        store.write_settings(data)
    if new_models:
        store.model_added()
    return {
        "labels": _label_order(settings, clips),
        "clips": added,
        "skipped": skipped,
        "models": new_models,
        "profile": store.profile,
    }


__all__ = ["export_project", "import_project", "IMPORT_MAX_BYTES"]
