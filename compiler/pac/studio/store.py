"""The studio's project folder: everything a class makes lives here, nothing only in memory.

The folder's layout is described in :mod:`pac.studio.layout`; this module holds the settings, labels
and clips, :mod:`pac.studio.models` the models and test results (:class:`ProjectStore` is both).

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

import math
import os
import secrets
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from .. import jsonsafe
from ..audio import check_classifiable, decode_wav, read_wav
from ..dataset import BACKGROUND_LABEL, MIN_CLIPS_PER_LABEL, is_hidden, is_room_recording, wav_files
from ..errors import PacError
from ..features import PROFILES, FeatureConfig
from ..fsutil import replace
from ..limits import LIMITS
from .layout import (
    EXPORTS,
    FORMAT,
    FORMAT_VERSION,
    LABELS,
    MODELS,
    SETTINGS,
    SOURCE_NAMES,
    SOURCES,
    TESTS,
    TRASH,
    StudioError,
    check_label_name,
    plain_name,
    stamp,
    upload_stem,
    write_bytes_durable,
    write_json_durable,
)
from .models import ModelsMixin

# -- the project -----------------------------------------------------------------------------------


class ProjectStore(ModelsMixin):
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
            write_json_durable(
                settings_path, {"format": FORMAT, "format_version": FORMAT_VERSION, "profile": "default"}
            )
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
        for folder in [
            self.root / LABELS,
            *self.label_dirs(),
            self.root / MODELS,
            self.root / TESTS,
            *(p for p in (self.root / TESTS).iterdir() if p.is_dir()),
        ]:
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
            self.write_settings(data)

    def write_settings(self, data: dict) -> None:
        """Replace ``studio.json`` with ``data`` (whole, flushed; call it holding :attr:`lock`)."""
        write_json_durable(self.root / SETTINGS, data)
        self._changed()

    # -- labels ------------------------------------------------------------------------------------
    def label_dirs(self) -> list[Path]:
        folder = self.root / LABELS
        return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name))

    def labels(self) -> list[str]:
        """Label names in the order they were made (``studio.json``'s ``labels``); labels made outside the
        page follow, sorted, and a project from before the order was kept is sorted (as ``pac train``
        sorts them; a model's own label order is always that)."""
        names = [p.name for p in self.label_dirs()]
        order = self.settings().get("labels")
        if not isinstance(order, list):
            return names
        rank = {name: i for i, name in reversed(list(enumerate(order))) if isinstance(name, str)}
        return sorted(names, key=lambda name: (name not in rank, rank.get(name, 0), name))

    def _write_label_order(self, order: list[str]) -> None:
        """Keep ``order`` as the labels' order (call it holding :attr:`lock`)."""
        data = self.settings()
        data["labels"] = order
        self.write_settings(data)

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
            self._write_label_order([*(n for n in self.labels() if n != name), name])
        return name

    def rename_label(self, old, raw) -> str:
        new = check_label_name(raw)
        with self.lock:
            folder = self.label_dir(old)
            if new == folder.name:
                return new
            self._check_new_name(new, replacing=folder.name)
            before = self.labels()
            replace(folder, folder.parent / new)
            self._write_label_order([new if n == folder.name else n for n in before])
        return new

    def delete_label(self, name) -> None:
        with self.lock:
            folder = self.label_dir(name)
            self._discard(folder)
            self._write_label_order(self.labels())

    def _discard(self, path: Path) -> None:
        """Remove a folder: first renamed out of sight (atomic), then deleted."""
        trash = self.root / TRASH
        trash.mkdir(exist_ok=True)
        target = trash / f"{path.name}-{secrets.token_hex(4)}"
        replace(path, target)
        shutil.rmtree(target, ignore_errors=True)

    # -- clips -------------------------------------------------------------------------------------
    def check_clip(self, data: bytes, *, name: str, config=None, silent_ok: bool = False):
        """Decode and check WAV bytes for this project; the decoded :class:`~pac.audio.Audio`.

        Raises a :class:`StudioError` naming the problem (not a WAV file, truncated, too short,
        silent, too large).  ``config`` (default: the project's) gives the shortest duration and the
        silence level; with ``silent_ok`` a silent clip passes (a window of live listening, which
        counts as background: :func:`pac.audio.is_silent`).
        """
        if len(data) > LIMITS.upload_max_bytes:  # a 30 s stereo 48 kHz 16-bit clip is 5.8 MB
            raise StudioError(
                f"{name}: the file is too large ({len(data) / 1e6:.1f} MB, at most "
                f"{LIMITS.upload_max_bytes / 1e6:.0f} MB); use a shorter clip",
                status=413,
            )
        if not data:
            raise StudioError(f"{name}: the file is empty")
        config = config or self.config
        try:
            audio = decode_wav(data, name=name)
            check_classifiable(
                audio, min_duration=config.min_duration, silence_dbfs=-math.inf if silent_ok else config.silence_dbfs
            )
        except PacError as exc:
            raise StudioError(str(exc)) from None
        return audio

    def add_clip(self, label, data: bytes, *, source: str = "uploaded", original_name=None) -> dict:
        """Check WAV bytes and store them as a new clip of ``label``; the clip's info.

        An upload into the background label named like a recording of the room (``room-*.wav``, as
        ``pac train`` reads a data folder) is stored as one (source ``room``): training's noise.
        """
        if source not in SOURCES:
            raise StudioError(f"unknown clip source {source!r}")
        shown = original_name.replace("\\", "/").rsplit("/", 1)[-1][:80] if isinstance(original_name, str) else ""
        self.check_clip(data, name=shown or ("recording" if source == "recorded" else "upload"))
        if source == "uploaded" and is_room_recording(label, shown):
            source = "room"
        with self.lock:
            folder = self.label_dir(label)
            stem = upload_stem(original_name) if source != "recorded" and shown else ""
            while True:
                name = f"{SOURCES[source]}-{stamp()}-{secrets.token_hex(4)}" + (f"-{stem}" if stem else "") + ".wav"
                if not (folder / name).exists():
                    break
            write_bytes_durable(folder / name, data)
            self._changed()
            return self.clip_info(folder / name)

    def clip_path(self, label, clip) -> Path:
        """The file of an existing clip, found by exact name in the label folder's listing."""
        clip = plain_name(clip)
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
        source = SOURCE_NAMES.get(path.name.split("-", 1)[0], "file")
        info = {
            "id": path.name,
            "source": source,
            "bytes": stat.st_size,
            "modified": stat.st_mtime,
            "duration": None,
            "rate": None,
            "channels": None,
            "problem": None,
        }
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
        return training_problems(self.all_clips() if clips is None else clips)


def training_problems(clips: dict[str, list[dict]], *, min_clips: int = MIN_CLIPS_PER_LABEL) -> list[str]:
    """Why training cannot start, one sentence each (empty when it can).

    Parameters
    ----------
    clips
        Label name -> its clips' infos (each with ``problem``: ``None`` or why the clip cannot train), in
        the order shown.
    min_clips
        The fewest usable clips a label needs.

    Notes
    -----
    The page's problems.js runs the same rule on what it shows (tests/fixtures/studio/training_problems.json).
    """
    problems = []
    if len(clips) < 2:
        problems.append(f"make at least 2 labels (there {'is' if len(clips) == 1 else 'are'} {len(clips)})")
    for label, infos in clips.items():
        usable = [i for i in infos if not i["problem"]]
        if len(usable) < min_clips:
            problems.append(
                f"label '{label}' has {len(usable)} usable clip{'s' if len(usable) != 1 else ''}; "
                f"record or upload at least {min_clips} (5 or more work better)"
            )
        for info in infos:
            if info["problem"]:
                problems.append(f"label '{label}': {info['problem']} - delete this clip")
    return problems


__all__ = [
    "ProjectStore",
    "StudioError",
    "check_label_name",
    "training_problems",
    "upload_stem",
    "BACKGROUND_LABEL",
    "LABELS",
    "MODELS",
    "SOURCES",
    "EXPORTS",
    "TESTS",
]
