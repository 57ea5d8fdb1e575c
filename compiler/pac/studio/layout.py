"""The project folder's layout and names: what a studio project holds, which names may reach the
file system, and how files are written (whole or not at all).

``DIR/``
    ``studio.json``          project settings: the feature profile, the labels in the order they were
                             made, the models' display names
    ``labels/<label>/*.wav`` one folder of WAV clips per label - exactly ``pac train``'s DATA_DIR,
                             so ``pac train DIR/labels -o model`` works on the same clips
    ``models/<id>/``         trained models, pac model folders written by :func:`pac.train.save`
    ``tests/<id>/``          the test view's clips (``<test id>.wav``) and ``results.json`` per model
    ``exports/<id>/``        ``.aix`` / ``.mdl`` files built from a model
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from pathlib import Path

from ..dataset import ROOM_PREFIX
from ..errors import PacError
from ..fsutil import WINDOWS_DEVICE_NAMES, atomic_path, portable_name_problem
from ..limits import LIMITS

FORMAT = "pac-studio-project"
FORMAT_VERSION = 1
SETTINGS = "studio.json"
LABELS, MODELS, TESTS, EXPORTS, TRASH = "labels", "models", "tests", "exports", ".trash"
RESULTS = "results.json"
#: The longest display name of a model.
MODEL_NAME_MAX_CHARS = 60

_LABEL_PUNCTUATION = " -_"
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
TEST_ID = re.compile(r"^t-\d{8}-\d{6}-[0-9a-f]{8}$")
MODEL_ID = re.compile(r"^m-\d{8}-\d{6}(-\d{1,4})?$")
#: Where a clip came from -> the start of its file name; the room's recordings start with
#: ``pac.dataset.ROOM_PREFIX``, which training mixes into the other clips as noise.
SOURCES = {"recorded": "rec", "uploaded": "up", "room": ROOM_PREFIX.removesuffix("-")}
SOURCE_NAMES = {prefix: source for source, prefix in SOURCES.items()}


class StudioError(PacError):
    """A problem the page shows to the user; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_label_name(raw, *, what: str = "label name") -> str:
    """The name to use for ``raw`` (a label's, or with ``what`` a student's), or a :class:`StudioError`
    saying what is wrong with it.

    Allowed: 1-40 letters (any script), digits, spaces, ``-`` and ``_``, not starting or ending with
    a space.  Everything that could act on a path (``.``, ``..``, ``/``, ``\\``, NUL, control
    characters) is refused, as are Windows' reserved device names.
    """
    a = f"a {what}"
    if not isinstance(raw, str):
        raise StudioError(f"{a} must be text")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise StudioError(f"give the {what.split()[0]} a name" if what == "label name" else f"type {a}")
    if "\x00" in name:
        raise StudioError(f"{a} cannot contain a NUL character")
    if "/" in name or "\\" in name:
        raise StudioError(f"{name!r}: {a} cannot contain '/' or '\\'")
    if name in (".", "..") or "." in name:
        raise StudioError(f"{name!r}: {a} cannot contain '.'")
    if len(name) > LIMITS.label_max_chars:
        raise StudioError(f"{a} can have at most {LIMITS.label_max_chars} characters")
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in _LABEL_PUNCTUATION)})
    if bad:
        shown = " ".join(repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}" for ch in bad)
        raise StudioError(f"{name!r}: {a} can only use letters, digits, spaces, '-' and '_' (not {shown})")
    if name.casefold() in WINDOWS_DEVICE_NAMES:
        raise StudioError(f"{name!r} is a reserved device name on Windows; choose another {what}")
    problem = portable_name_problem(name)  # e.g. too long in bytes; every OS must be able to hold the folder
    if problem:
        raise StudioError(f"{name!r} {problem}; choose another {what}")
    return name


def check_model_name(raw) -> str:
    """A model's display name: 1-60 printable characters (any script; it never reaches a path)."""
    if not isinstance(raw, str):
        raise StudioError("a model name must be text")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise StudioError("give the model a name")
    if len(name) > MODEL_NAME_MAX_CHARS:
        raise StudioError(f"a model name can have at most {MODEL_NAME_MAX_CHARS} characters")
    if not name.isprintable():
        raise StudioError("a model name cannot contain control characters")
    return name


def plain_name(raw) -> str:
    """A client-sent file name that may only be looked up in a listing (never joined blindly)."""
    if not isinstance(raw, str) or not raw or raw in (".", "..") or any(c in raw for c in "/\\\x00"):
        raise StudioError("no such file", status=404)
    return raw


def upload_stem(original) -> str:
    """A short, safe hint of an uploaded file's name for the generated clip name (may be empty)."""
    if not isinstance(original, str):
        return ""
    stem = original.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return _STEM_UNSAFE.sub("_", stem).strip("_-")[:32]


def ascii_stem(text: str, *, fallback: str = "pac") -> str:
    """``text`` as an ASCII file-name stem (letters, digits, ``-``, ``_``; the rest ``_``), for a
    download's name in an HTTP header."""
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text).strip("_")
    return stem[:80] or fallback


def stamp() -> str:
    """The local time as ``YYYYmmdd-HHMMSS`` (generated names sort by it)."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime())


def write_bytes_durable(target: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``target`` through :func:`pac.fsutil.atomic_path`, flushed to disk before the rename;
    ``private`` (a key, a secret): readable by this computer's user only from before the first byte."""
    with atomic_path(target) as tmp:
        if private:
            keep_private(tmp)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_json_durable(target: Path, value, *, private: bool = False) -> None:
    """Write ``value`` as indented JSON through :func:`write_bytes_durable`."""
    data = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_bytes_durable(target, data, private=private)


def keep_private(path: Path) -> None:
    """Make ``path`` readable and writable by its owner only (mode 0600; on Windows this changes nothing)."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


__all__ = [
    "StudioError",
    "check_label_name",
    "check_model_name",
    "plain_name",
    "upload_stem",
    "ascii_stem",
    "stamp",
    "write_bytes_durable",
    "write_json_durable",
    "keep_private",
    "SOURCES",
    "LABELS",
    "MODELS",
    "TESTS",
    "EXPORTS",
]
