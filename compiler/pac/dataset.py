"""A labelled set of clips on disk: ``DATA_DIR/<label>/<clip>.wav``.

Labels are the sub-folder names, sorted (as PAC sorts them).  Hidden files and folders are ignored.
Unreadable clips are an error naming the file, unless the caller asks to skip them (then each is
reported as a warning), so that a teacher learns about a broken recording instead of silently
training on fewer clips.

Names are checked before any clip is read: the folder names must be valid labels
(:func:`pac.fsutil.label_problem`: UTF-8 text, no control characters, at most
``LIMITS.label_max_chars`` characters, at most ``LIMITS.max_labels`` of them), and every path that
goes into a report must be UTF-8 text, so that nothing fails after the work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .audio import Audio
from .errors import PacError
from .features import FeatureConfig
from .features.pipeline import load_clip
from .fsutil import label_problem, shown_path
from .limits import LIMITS

WAV_SUFFIXES = (".wav", ".wave")
#: Each label needs at least this many readable clips.
MIN_CLIPS_PER_LABEL = 2
#: The label for "nothing of interest" (recommended, as in Teachable Machine; continuous listening
#: needs it).  Its recordings of the room (:data:`ROOM_PREFIX`) are also training's noise.
BACKGROUND_LABEL = "_background_noise_"
#: File names (any case) of the background label's recordings of the room where the app will listen,
#: as the studio's *Record the room…* stores them; training mixes them into the other clips instead
#: of generated noise (:func:`room_recordings`).
ROOM_PREFIX = "room-"


@dataclass(frozen=True)
class LabelledClip:
    """One readable clip and the index of its label."""

    path: Path
    label: int
    audio: Audio


@dataclass(frozen=True)
class Dataset:
    """Clips grouped by label; ``labels[i]`` names label index ``i``."""

    root: Path
    labels: tuple[str, ...]
    clips: tuple[LabelledClip, ...]
    skipped: tuple[str, ...] = ()

    def count(self, label: int) -> int:
        """Number of clips of label index ``label``."""
        return sum(1 for c in self.clips if c.label == label)


def is_room_recording(label: str, file_name: str) -> bool:
    """Whether a clip of ``label`` named ``file_name`` is a recording of the room: in
    :data:`BACKGROUND_LABEL`, the name starting with :data:`ROOM_PREFIX` (any case)."""
    return label == BACKGROUND_LABEL and file_name.lower().startswith(ROOM_PREFIX)


def room_recordings(dataset: Dataset, indices) -> list[Audio]:
    """The clips among ``indices`` that are recordings of the room (:func:`is_room_recording`)."""
    return _audio_where(dataset, indices, is_room_recording)


def background_recordings(dataset: Dataset, indices) -> list[Audio]:
    """The clips among ``indices`` of the label :data:`BACKGROUND_LABEL` (all of them, not only the room's)."""
    return _audio_where(dataset, indices, lambda label, _name: label == BACKGROUND_LABEL)


def _audio_where(dataset: Dataset, indices, keep) -> list[Audio]:
    """The audio of the clips among ``indices`` for which ``keep(label name, file name)``."""
    clips = (dataset.clips[i] for i in indices)
    return [c.audio for c in clips if keep(dataset.labels[c.label], c.path.name)]


def is_hidden(name: str) -> bool:
    """Whether a file or folder named ``name`` is hidden, and so never a clip or a label.

    Hidden names start with ``.``: ``.DS_Store``, ``._clip.wav`` (macOS metadata), editors' and
    pac's own temporary files, the studio's ``.trash``.
    """
    return name.startswith(".")


def is_wav_name(name: str) -> bool:
    """Whether ``name`` is a visible file name with a WAV suffix (:data:`WAV_SUFFIXES`, any case)."""
    return not is_hidden(name) and Path(name).suffix.lower() in WAV_SUFFIXES


def wav_files(folder: Path) -> list[Path]:
    """The visible WAV files directly inside ``folder``, sorted by name (see :func:`is_wav_name`)."""
    return sorted(p for p in folder.iterdir() if is_wav_name(p.name) and p.is_file())


def find_wavs(paths) -> list[Path]:
    """Expand clip arguments: files as given, folders searched recursively for WAV files.

    Parameters
    ----------
    paths : iterable of path
        Files (taken as they are, whatever their name) and folders.

    Returns
    -------
    list of Path
        In the order given; each folder's WAV files sorted by path.  Inside a folder, a file is
        skipped when its name or the name of a folder on the way to it is hidden (:func:`is_hidden`).

    Raises
    ------
    PacError
        A folder holds no WAV file.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            found.append(path)
            continue
        inside = sorted(p for p in path.rglob("*") if _visible_wav_below(p, path) and p.is_file())
        if not inside:
            raise PacError(f"{path}: folder holds no .wav files")
        found.extend(inside)
    return found


def _visible_wav_below(path: Path, top: Path) -> bool:
    """Whether ``path``, found under ``top``, is a WAV name with no hidden folder between them."""
    *folders, name = path.relative_to(top).parts
    return is_wav_name(name) and not any(is_hidden(folder) for folder in folders)


def load_dataset(
    root: str | os.PathLike,
    config: FeatureConfig,
    *,
    skip_bad: bool = False,
    min_clips: int = MIN_CLIPS_PER_LABEL,
    labels: tuple[str, ...] | None = None,
    warn=None,
) -> Dataset:
    """Read every clip of every label folder under ``root``.

    Parameters
    ----------
    root : path
        The folder with one sub-folder per label.
    config : FeatureConfig
        Decides which clips are usable (length, silence).
    skip_bad : bool
        Skip unreadable or unusable clips (calling ``warn(message)``) instead of failing.
    min_clips : int
        Fail if a label has fewer usable clips.
    labels : tuple of str, optional
        Expect exactly these labels (evaluation against a trained model); folders of other
        names are an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise PacError(f"{shown_path(root)}: not a folder (expected one sub-folder of WAV clips per label)")
    _check_text(root, "folder path")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p.name))
    check_label_folders(root, folders, training=labels is None)
    if labels is None:
        if len(folders) < 2:
            raise PacError(f"{root}: needs at least 2 label sub-folders, found {len(folders)}")
        names = tuple(p.name for p in folders)
    else:
        unknown = [p.name for p in folders if p.name not in labels]
        if unknown:
            raise PacError(f"{root}: folder(s) {', '.join(unknown)} are not labels of this model ({', '.join(labels)})")
        names = labels
        folders = [root / name for name in names if (root / name).is_dir()]
    clips: list[LabelledClip] = []
    skipped: list[str] = []
    for folder in folders:
        index = names.index(folder.name)
        for path in wav_files(folder):
            try:
                _check_text(path, "file name")
                clips.append(LabelledClip(path=path, label=index, audio=load_clip(path, config)))
            except PacError as exc:
                if not skip_bad:
                    raise
                skipped.append(str(exc))
                if warn:
                    warn(f"skipped {exc}")
    dataset = Dataset(root=root, labels=names, clips=tuple(clips), skipped=tuple(skipped))
    for folder in folders:
        have = dataset.count(names.index(folder.name))
        if have < min_clips:
            raise PacError(
                f"{folder}: label has {have} usable clip{'s' if have != 1 else ''}, needs at least {min_clips}"
            )
    if not dataset.clips:
        raise PacError(f"{root}: no usable .wav clips in the label folders")
    return dataset


def check_label_folders(root: Path, folders: list[Path], *, training: bool) -> None:
    """Refuse label folders whose names cannot be labels, before any clip is read.

    Parameters
    ----------
    root : Path
        The dataset folder.
    folders : list of Path
        Its label folders.
    training : bool
        The names become a model's labels: every rule of :func:`pac.fsutil.label_problem` and
        ``LIMITS.max_labels`` apply; otherwise (evaluation against a model's labels) only that the
        names are UTF-8 text.

    Raises
    ------
    PacError
        Naming the first bad folder (bytes that are not UTF-8 shown as ``\\xff``).
    """
    if training and len(folders) > LIMITS.max_labels:
        raise PacError(
            f"{len(folders):,d} label folders, more than the limit of {LIMITS.max_labels:,d}", path=shown_path(root)
        )
    for folder in folders:
        if training:
            problem = label_problem(folder.name)
        else:
            problem = None if _is_utf8(folder.name) else "is not valid UTF-8 text"
        if problem:
            raise PacError(f"label folder name {problem}; rename the folder", path=shown_path(folder))


def _is_utf8(text: str) -> bool:
    """Whether ``text`` is real text (a name that is not UTF-8 reaches Python with lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(path: Path, what: str) -> None:
    """Refuse a path that is not UTF-8 text: it could not be written into a report or a model."""
    if not _is_utf8(os.fspath(path)):
        raise PacError(f"{what} is not valid UTF-8 text; rename it", path=shown_path(path))
