"""The studio's project folder: everything a class makes lives here, nothing only in memory.

``DIR/``
    ``studio.json``          project settings (the feature profile)
    ``labels/<label>/*.wav`` one folder of WAV clips per label - exactly ``pac train``'s DATA_DIR,
                             so ``pac train DIR/labels -o model`` works on the same clips
    ``models/<id>/``         trained models, pac model folders written by :func:`pac.train.save`
    ``tests/<id>/``          the test view's clips (``<test id>.wav``) and ``results.json`` per model
    ``exports/<id>/``        ``.aix`` / ``.mdl`` files built from a model

Safety rules, all enforced here (the HTTP layer only translates):

* names that reach the file system are never taken from a client: labels are checked against a
  strict pattern (letters, digits, space, ``-``, ``_``; no ``.``, ``/``, ``\\``, NUL) and then
  looked up among the existing folders; clip, model and test names are generated here and any
  name a client sends is looked up in the folder listing, never joined onto a path;
* every file is written to a hidden temporary file in the target folder, flushed to disk and
  renamed into place, so a crash leaves either the old or the new file, never half of one;
* every change happens under one lock, so two browser tabs cannot interleave a rename with an
  upload; new clip names carry a random part, so they never collide;
* an upload is decoded (:func:`pac.audio.decode_wav`) and checked (long enough, not silent)
  before anything is written; a refused upload leaves the project untouched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections import OrderedDict
from pathlib import Path

from .. import jsonsafe
from ..audio import check_classifiable, decode_wav, read_wav
from ..dataset import BACKGROUND_LABEL, MIN_CLIPS_PER_LABEL, is_hidden, wav_files
from ..errors import PacError
from ..features import PROFILES, FeatureConfig
from ..fsutil import WINDOWS_DEVICE_NAMES, atomic_path, portable_name_problem, replace
from ..limits import LIMITS
from ..modeldir import MANIFEST

FORMAT = "pac-studio-project"
FORMAT_VERSION = 1
SETTINGS = "studio.json"
LABELS, MODELS, TESTS, EXPORTS, TRASH = "labels", "models", "tests", "exports", ".trash"
RESULTS = "results.json"

#: Names Windows cannot use as folder names (a project folder may be copied there).
_WINDOWS_RESERVED = WINDOWS_DEVICE_NAMES
_LABEL_PUNCTUATION = " -_"
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_TEST_ID = re.compile(r"^t-\d{8}-\d{6}-[0-9a-f]{8}$")
SOURCES = {"recorded": "rec", "uploaded": "up"}
_SOURCE_NAMES = {prefix: source for source, prefix in SOURCES.items()}


class StudioError(PacError):
    """A problem the page shows to the user; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# -- names -----------------------------------------------------------------------------------------

def check_label_name(raw) -> str:
    """The label name to use for ``raw``, or a :class:`StudioError` saying what is wrong with it.

    Allowed: 1-40 letters (any script), digits, spaces, ``-`` and ``_``, not starting or ending with
    a space.  Everything that could act on a path (``.``, ``..``, ``/``, ``\\``, NUL, control
    characters) is refused, as are Windows' reserved device names.
    """
    if not isinstance(raw, str):
        raise StudioError("a label name must be text")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise StudioError("give the label a name")
    if "\x00" in name:
        raise StudioError("a label name cannot contain a NUL character")
    if "/" in name or "\\" in name:
        raise StudioError(f"{name!r}: a label name cannot contain '/' or '\\'")
    if name in (".", "..") or "." in name:
        raise StudioError(f"{name!r}: a label name cannot contain '.'")
    if len(name) > LIMITS.label_max_chars:
        raise StudioError(f"a label name can have at most {LIMITS.label_max_chars} characters")
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in _LABEL_PUNCTUATION)})
    if bad:
        shown = " ".join(repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}" for ch in bad)
        raise StudioError(f"{name!r}: a label name can only use letters, digits, spaces, '-' and '_' "
                          f"(not {shown})")
    if name.casefold() in _WINDOWS_RESERVED:
        raise StudioError(f"{name!r} is a reserved device name on Windows; choose another label name")
    problem = portable_name_problem(name)  # e.g. too long in bytes; every OS must be able to hold the folder
    if problem:
        raise StudioError(f"{name!r} {problem}; choose another label name")
    return name


def _plain_name(raw) -> str:
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


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime())


def write_bytes_durable(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through :func:`pac.fsutil.atomic_path`, flushed to disk before the rename."""
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_json_durable(target: Path, value) -> None:
    write_bytes_durable(target, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


# -- the project -----------------------------------------------------------------------------------

class ProjectStore:
    """A studio project folder (created with its sub-folders if missing).

    Parameters
    ----------
    root : path
        The project folder.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise PacError(f"{self.root}: exists and is not a folder; choose another project folder")
        self.lock = threading.RLock()
        self._revision = 0
        self._token = secrets.token_hex(4)
        self._info_cache: dict[str, tuple] = {}
        self._png_cache: OrderedDict = OrderedDict()
        self._report_cache: dict[str, tuple] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for sub in (LABELS, MODELS, TESTS, EXPORTS):
                (self.root / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise PacError(f"{self.root}: cannot create the project folder ({exc.strerror or exc})") from None
        settings_path = self.root / SETTINGS
        if not settings_path.exists():
            write_json_durable(settings_path, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                               "profile": "default"})
        self.settings()  # validate early

    # -- bookkeeping -------------------------------------------------------------------------------
    @property
    def revision(self) -> str:
        """Changes whenever the project changes (through this store): the page re-reads it then."""
        return f"{self._token}-{self._revision}"

    def _changed(self) -> None:
        self._revision += 1

    def sweep_leftovers(self) -> None:
        """Remove what an interrupted run left: half-deleted folders, temporary files, staging folders.

        Only call this while holding the project (no other studio may be writing here).
        """
        shutil.rmtree(self.root / TRASH, ignore_errors=True)
        # staging folders of model folders and exports a crash interrupted (pac.fsutil writes ".<name>.*")
        for folder in [self.root / MODELS, *(p for p in (self.root / EXPORTS).iterdir() if p.is_dir())]:
            for leftover in folder.glob(".*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                elif leftover.suffix in (".tmp", ".aix", ".mdl"):
                    leftover.unlink(missing_ok=True)
        for folder in [self.root / LABELS, *self.label_dirs(), self.root / MODELS, self.root / TESTS,
                       *(p for p in (self.root / TESTS).iterdir() if p.is_dir())]:
            for tmp in folder.glob(".*.tmp"):
                try:
                    tmp.unlink()
                except OSError:
                    pass

    def settings(self) -> dict:
        path = self.root / SETTINGS
        try:
            data = jsonsafe.loads(path.read_bytes(), source=str(path))
        except OSError as exc:
            raise PacError(f"{path}: unreadable studio settings ({exc})") from None
        except PacError as exc:
            raise PacError(f"unreadable studio settings ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PacError(f"{path}: not a pac studio project file")
        if not isinstance(data.get("profile"), str) or data["profile"] not in PROFILES:
            data["profile"] = "default"
        return data

    @property
    def profile(self) -> str:
        return self.settings()["profile"]

    @property
    def config(self) -> FeatureConfig:
        """The feature configuration of the project (what thumbnails show and training uses)."""
        return PROFILES[self.profile]

    def set_profile(self, name) -> None:
        if name not in PROFILES:
            raise StudioError(f"unknown feature profile {name!r} (choose {', '.join(PROFILES)})")
        with self.lock:
            data = self.settings()
            data["profile"] = name
            write_json_durable(self.root / SETTINGS, data)
            self._changed()

    # -- labels ------------------------------------------------------------------------------------
    def label_dirs(self) -> list[Path]:
        folder = self.root / LABELS
        return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name))

    def labels(self) -> list[str]:
        """Label names in training order (sorted, as ``pac train`` sorts them)."""
        return [p.name for p in self.label_dirs()]

    def label_dir(self, name) -> Path:
        """The folder of an existing label, found by exact name in the listing."""
        for folder in self.label_dirs():
            if folder.name == name:
                return folder
        raise StudioError(f"there is no label {name!r} (was it renamed or deleted in another tab?)", status=404)

    def _check_new_name(self, name: str, *, replacing: str | None = None) -> None:
        for existing in self.labels():
            if existing != replacing and existing.casefold() == name.casefold():
                raise StudioError(f"there is already a label {existing!r}", status=409)

    def add_label(self, raw) -> str:
        name = check_label_name(raw)
        with self.lock:
            self._check_new_name(name)
            try:
                (self.root / LABELS / name).mkdir()
            except FileExistsError:
                raise StudioError(f"there is already a label {name!r}", status=409) from None
            self._changed()
        return name

    def rename_label(self, old, raw) -> str:
        new = check_label_name(raw)
        with self.lock:
            folder = self.label_dir(old)
            if new == folder.name:
                return new
            self._check_new_name(new, replacing=folder.name)
            replace(folder, folder.parent / new)
            self._changed()
        return new

    def delete_label(self, name) -> None:
        with self.lock:
            folder = self.label_dir(name)
            self._discard(folder)
            self._changed()

    def _discard(self, path: Path) -> None:
        """Remove a folder: first renamed out of sight (atomic), then deleted."""
        trash = self.root / TRASH
        trash.mkdir(exist_ok=True)
        target = trash / f"{path.name}-{secrets.token_hex(4)}"
        replace(path, target)
        shutil.rmtree(target, ignore_errors=True)

    # -- clips -------------------------------------------------------------------------------------
    def check_clip(self, data: bytes, *, name: str):
        """Decode and check WAV bytes for this project; the decoded :class:`~pac.audio.Audio`.

        Raises a :class:`StudioError` naming the problem (not a WAV file, truncated, too short,
        silent, too large).
        """
        if len(data) > LIMITS.upload_max_bytes:  # a 30 s stereo 48 kHz 16-bit clip is 5.8 MB
            raise StudioError(f"{name}: the file is too large ({len(data) / 1e6:.1f} MB, at most "
                              f"{LIMITS.upload_max_bytes / 1e6:.0f} MB); use a shorter clip", status=413)
        if not data:
            raise StudioError(f"{name}: the file is empty")
        config = self.config
        try:
            audio = decode_wav(data, name=name)
            check_classifiable(audio, min_duration=config.min_duration, silence_dbfs=config.silence_dbfs)
        except PacError as exc:
            raise StudioError(str(exc)) from None
        return audio

    def add_clip(self, label, data: bytes, *, source: str = "uploaded", original_name=None) -> dict:
        """Check WAV bytes and store them as a new clip of ``label``; the clip's info."""
        if source not in SOURCES:
            raise StudioError(f"unknown clip source {source!r}")
        shown = original_name.replace("\\", "/").rsplit("/", 1)[-1][:80] if isinstance(original_name, str) else ""
        self.check_clip(data, name=shown or ("recording" if source == "recorded" else "upload"))
        with self.lock:
            folder = self.label_dir(label)
            stem = upload_stem(original_name) if source == "uploaded" else ""
            while True:
                name = f"{SOURCES[source]}-{_stamp()}-{secrets.token_hex(4)}" + (f"-{stem}" if stem else "") + ".wav"
                if not (folder / name).exists():
                    break
            write_bytes_durable(folder / name, data)
            self._changed()
            return self.clip_info(folder / name)

    def clip_path(self, label, clip) -> Path:
        """The file of an existing clip, found by exact name in the label folder's listing."""
        clip = _plain_name(clip)
        folder = self.label_dir(label)
        for path in wav_files(folder):
            if path.name == clip:
                return path
        raise StudioError(f"there is no clip {clip!r} in label {folder.name!r}", status=404)

    def delete_clip(self, label, clip) -> None:
        with self.lock:
            path = self.clip_path(label, clip)
            path.unlink()
            self._info_cache.pop(str(path), None)
            self._changed()

    def clip_info(self, path: Path, config: FeatureConfig | None = None) -> dict:
        """``{id, source, duration, rate, channels, bytes, problem}`` of a clip file (cached by mtime).

        ``config`` is the project's feature configuration (read from ``studio.json`` when not given).
        """
        config = config or self.config
        stat = path.stat()
        key = str(path)
        stamp = (stat.st_mtime_ns, stat.st_size, config.name)
        cached = self._info_cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        source = _SOURCE_NAMES.get(path.name.split("-", 1)[0], "file")
        info = {"id": path.name, "source": source, "bytes": stat.st_size, "modified": stat.st_mtime,
                "duration": None, "rate": None, "channels": None, "problem": None}
        try:
            audio = read_wav(path)
            info.update(duration=round(audio.duration, 3), rate=audio.rate, channels=audio.channels)
            check_classifiable(audio, min_duration=config.min_duration, silence_dbfs=config.silence_dbfs)
        except PacError as exc:
            info["problem"] = str(exc).replace(str(path), path.name)
        self._info_cache[key] = (stamp, info)
        return info

    def clips(self, label, config: FeatureConfig | None = None) -> list[dict]:
        """Info on every clip of a label, oldest first."""
        config = config or self.config
        folder = self.label_dir(label)
        infos = []
        for path in wav_files(folder):
            try:
                infos.append(self.clip_info(path, config))
            except FileNotFoundError:  # deleted meanwhile (another tab)
                continue
        return sorted(infos, key=lambda i: (i["modified"], i["id"]))

    def all_clips(self) -> dict[str, list[dict]]:
        """``{label: clips}`` for every label, in training order (labels deleted meanwhile are left out)."""
        config = self.config
        found = {}
        for label in self.labels():
            try:
                found[label] = self.clips(label, config)
            except StudioError:
                continue
        return found

    def spectrogram_png(self, path: Path, config: FeatureConfig | None = None) -> bytes:
        """The exact model input image of a clip as PNG (:func:`pac.features.pipeline.clip_image`)."""
        from ..features.pipeline import clip_image, load_clip
        from ..images import png_bytes

        config = config or self.config
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, config.to_json())
        with self.lock:
            if key in self._png_cache:
                self._png_cache.move_to_end(key)
                return self._png_cache[key]
        try:
            png = png_bytes(clip_image(load_clip(path, config), config))
        except PacError as exc:
            raise StudioError(str(exc).replace(str(path), path.name), status=422) from None
        with self.lock:
            self._png_cache[key] = png
            while len(self._png_cache) > 400:
                self._png_cache.popitem(last=False)
        return png

    def training_problems(self, clips: dict[str, list[dict]] | None = None) -> list[str]:
        """Why training cannot start yet (empty when it can); ``clips`` is :meth:`all_clips`, if at hand."""
        clips = self.all_clips() if clips is None else clips
        problems = []
        if len(clips) < 2:
            problems.append(f"make at least 2 labels (there {'is' if len(clips) == 1 else 'are'} {len(clips)})")
        for label, infos in clips.items():
            usable = [i for i in infos if not i["problem"]]
            if len(usable) < MIN_CLIPS_PER_LABEL:
                problems.append(f"label {label!r} has {len(usable)} usable clip{'s' if len(usable) != 1 else ''}; "
                                f"record or upload at least {MIN_CLIPS_PER_LABEL} (5 or more work better)")
            for info in infos:
                if info["problem"]:
                    problems.append(f"label {label!r}: {info['problem']} - delete this clip")
        return problems

    # -- models ------------------------------------------------------------------------------------
    def new_model_dir(self) -> Path:
        """A fresh, not yet existing model folder path (``models/m-<date>-<time>``)."""
        with self.lock:
            base = f"m-{_stamp()}"
            candidate, n = base, 1
            while (self.root / MODELS / candidate).exists() or (self.root / TESTS / candidate).exists():
                n += 1
                candidate = f"{base}-{n}"
            return self.root / MODELS / candidate

    def model_dirs(self) -> list[Path]:
        folder = self.root / MODELS
        return sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())

    def model_dir(self, model_id) -> Path:
        for folder in self.model_dirs():
            if folder.name == model_id:
                return folder
        raise StudioError(f"there is no model {model_id!r} (was it deleted?)", status=404)

    def model_summary(self, folder: Path, number: int) -> dict:
        """What the page shows about a trained model (from ``pac.json`` and ``report.json``).

        ``head`` is ``"linear"`` (format-2 manifest: one softmax layer on feature blocks) or
        ``"conv"`` (PAC's head); for a linear head ``blocks`` lists the networks it uses with their
        weights, ``cross_validation`` is the report's cross-validation over the training clips
        (accuracy, confusion, per label, folds; the per-clip list reduced to its count) and
        ``candidates`` the weightings cross-validation compared.  ``confusion.png`` shows the
        validation clips when some were held out, else the cross-validation.
        """
        report_path = folder / "report.json"
        try:
            stamp = report_path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        cached = self._report_cache.get(str(folder))
        if cached and cached[0] == stamp:
            report, manifest = cached[1]
        else:
            try:
                manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
                report = json.loads(report_path.read_text(encoding="utf-8")) if stamp else {}
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                manifest, report = {}, {}
            manifest, report = (v if isinstance(v, dict) else {} for v in (manifest, report))
            self._report_cache[str(folder)] = (stamp, (report, manifest))
        labels = manifest.get("labels") or report.get("labels") or []
        counts = {label: 0 for label in labels}
        for group in ("training", "validation"):
            for clip in (report.get("clips") or {}).get(group, []):
                parent = Path(clip).parent.name
                if parent in counts:
                    counts[parent] += 1
        head = manifest.get("head") if isinstance(manifest.get("head"), dict) else {}
        kind = "linear" if head.get("kind") == "linear" else "conv"
        blocks = [{"name": b.get("name"), "weight": b.get("weight")} for b in head.get("blocks") or []
                  if isinstance(b, dict)] if kind == "linear" else []
        cv = report.get("cross_validation")
        if isinstance(cv, dict):
            cv = {**cv, "clips": len(cv.get("clips") or [])}
        else:
            cv = None
        report_head = report.get("head") if isinstance(report.get("head"), dict) else {}
        created = None
        match = re.match(r"m-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})", folder.name)
        if match:
            y, mo, d, h, mi, s = match.groups()
            created = f"{y}-{mo}-{d} {h}:{mi}:{s}"
        return {
            "id": folder.name, "number": number, "name": f"Model {number}", "created": created,
            "labels": labels, "profile": (manifest.get("features") or {}).get("name"),
            "format_version": manifest.get("format_version"), "head": kind, "blocks": blocks,
            "cross_validation": cv, "candidates": report_head.get("candidates") or [],
            "l2": report_head.get("l2"),
            "options": report.get("options"), "history": report.get("history"),
            "validation": report.get("validation"), "clips": counts, "examples": report.get("examples"),
            "batch_size": report.get("batch_size"), "seconds": report.get("seconds"),
            "files": [name for name in ("curves.png", "confusion.png") if (folder / name).is_file()],
        }

    def model_labels(self, model_id) -> list[str]:
        """The labels of a trained model, in its output order."""
        return self.model_summary(self.model_dir(model_id), 0)["labels"]

    def download_stem(self, model_id: str) -> str:
        """``<project>-<model id>``, the name of a model's downloads (ASCII, so it fits an HTTP header)."""
        project = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in self.root.name)
        return f"{project or 'pac'}-{model_id}"

    def models(self) -> list[dict]:
        return [self.model_summary(folder, i + 1) for i, folder in enumerate(self.model_dirs())]

    def delete_model(self, model_id) -> None:
        with self.lock:
            folder = self.model_dir(model_id)
            for extra in (self.root / TESTS / folder.name, self.root / EXPORTS / folder.name):
                if extra.is_dir():
                    self._discard(extra)
            self._discard(folder)
            self._changed()

    def model_added(self) -> None:
        """Called after a training job wrote a model folder."""
        with self.lock:
            self._changed()

    def exports_dir(self, model_id) -> Path:
        folder = self.root / EXPORTS / self.model_dir(model_id).name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- test results ------------------------------------------------------------------------------
    def _tests_dir(self, model_id) -> Path:
        return self.root / TESTS / self.model_dir(model_id).name

    def _read_results(self, folder: Path) -> list[dict]:
        try:
            data = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return []  # a damaged results file only loses the test table, never clips or models
        entries = data.get("entries") if isinstance(data, dict) else None
        return [e for e in entries if isinstance(e, dict) and _TEST_ID.match(str(e.get("id")))] \
            if isinstance(entries, list) else []

    def _write_results(self, folder: Path, entries: list[dict]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_json_durable(folder / RESULTS, {"entries": entries})

    def add_test(self, model_id, data: bytes, *, result: list, expected=None, source: str = "recorded",
                 original_name=None) -> dict:
        """Store a classified test clip and its result; the new entry."""
        with self.lock:
            folder = self._tests_dir(model_id)
            labels = self.model_labels(model_id)
            folder.mkdir(parents=True, exist_ok=True)
            while True:
                test_id = f"t-{_stamp()}-{secrets.token_hex(4)}"
                if not (folder / f"{test_id}.wav").exists():
                    break
            write_bytes_durable(folder / f"{test_id}.wav", data)
            entry = {"id": test_id, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "source": source,
                     "name": (upload_stem(original_name) or None) if source == "uploaded" else None,
                     "expected": expected if expected in labels else None,
                     "predicted": result[0][0], "confidence": result[0][1], "result": result}
            entries = self._read_results(folder)
            entries.append(entry)
            self._write_results(folder, entries)
            self._changed()
            return entry

    def set_test_expected(self, model_id, test_id, expected) -> dict:
        with self.lock:
            folder = self._tests_dir(model_id)
            labels = self.model_labels(model_id)
            if expected is not None and expected not in labels:
                raise StudioError(f"{expected!r} is not a label of this model")
            entries = self._read_results(folder)
            for entry in entries:
                if entry["id"] == test_id:
                    entry["expected"] = expected
                    self._write_results(folder, entries)
                    self._changed()
                    return entry
        raise StudioError("no such test result", status=404)

    def delete_test(self, model_id, test_id=None) -> None:
        """Delete one test result (with its clip), or all of a model's when ``test_id`` is None."""
        with self.lock:
            folder = self._tests_dir(model_id)
            entries = self._read_results(folder)
            keep = [e for e in entries if test_id is not None and e["id"] != test_id]
            if test_id is not None and len(keep) == len(entries):
                raise StudioError("no such test result", status=404)
            if folder.is_dir():
                self._write_results(folder, keep)
                kept = {e["id"] for e in keep}
                for path in folder.glob("t-*.wav"):
                    if path.stem not in kept:
                        path.unlink()
            self._changed()

    def test_clip(self, model_id, test_id) -> Path:
        name = _plain_name(test_id)
        folder = self._tests_dir(model_id)
        for entry in self._read_results(folder):
            if entry["id"] == name and (folder / f"{name}.wav").is_file():
                return folder / f"{name}.wav"
        raise StudioError("no such test clip", status=404)

    def tests(self, model_id) -> dict:
        """Every test entry of a model, and accuracy / confusion over those whose label is known."""
        from ..metrics import scores

        with self.lock:
            labels = self.model_labels(model_id)
            entries = self._read_results(self._tests_dir(model_id))
        judged = [e for e in entries if e.get("expected") in labels and e.get("predicted") in labels]
        summary = scores([labels.index(e["expected"]) for e in judged],
                         [labels.index(e["predicted"]) for e in judged], labels)
        summary["judged"] = len(judged)
        summary["correct"] = sum(1 for e in judged if e["expected"] == e["predicted"])
        return {"labels": labels, "entries": entries, "summary": summary}


__all__ = ["ProjectStore", "StudioError", "check_label_name", "upload_stem", "BACKGROUND_LABEL"]
