"""The studio's downloads built from a model: the App Inventor extension (``.aix``, what ``pac build``
writes) and MIT's ``.mdl`` (``pac export-mdl``), with what the page shows about each kind.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PacError
from .layout import StudioError
from .networks import TF_LOCK
from .trainform import HEAD_NAMES


def write_export(kind: str, model_dir: Path, target: Path, *, base_dir=None, speech_dir=None, echo=None) -> None:
    """Write ``model_dir`` as a ``kind`` file: what ``pac build`` (``aix``) or ``pac export-mdl`` does.

    Parameters
    ----------
    kind : str
        ``"aix"`` (:func:`pac.aix.build_aix`) or ``"mdl"`` (:func:`pac.mdl.export_mdl`).
    model_dir, target : Path
        The model folder and the file to write (checked first as the commands check ``-o``).
    base_dir, speech_dir : path, optional
        The networks' folders for the ``.aix`` (``--base``, ``--speech-base``).
    echo : callable, optional
        Receives the build's progress lines (a Maven run of the component).

    Raises
    ------
    PacError
        What the command would print after ``error:``.
    """
    from ..fsutil import check_output

    check_output(target, probe=True)
    if kind == "aix":
        from ..aix import build_aix

        build_aix(model_dir, target, base_dir=base_dir, speech_dir=speech_dir, echo=echo)
    else:
        from ..mdl import export_mdl

        with TF_LOCK:  # loads the head with tf_keras, as a classifier does (a moment)
            export_mdl(model_dir, target)


#: The export kinds: the ``pac`` command that makes the same file, the page's title, the job's stage.
EXPORTS = {
    "aix": {
        "command": "build",
        "title": "App Inventor extension (.aix)",
        "stage": "building the App Inventor extension (the first build can take a few minutes)",
    },
    "mdl": {"command": "export-mdl", "title": "MIT PAC model (.mdl)", "stage": "exporting the .mdl model"},
}


def export_support(kind: str) -> dict:
    """What the page shows of export kind ``kind``: ``{"kind", "available", "note", "title", "command",
    "stage"}`` (every kind is available; the page still reads ``available``).

    Raises
    ------
    StudioError
        404 for an unknown kind.
    """
    if kind not in EXPORTS:
        raise StudioError(f"unknown download kind {kind!r}", status=404)
    spec = EXPORTS[kind]
    return {**spec, "kind": kind, "available": True, "note": f"made by `pac {spec['command']}`"}


def export_problem(kind: str, model_dir: Path) -> str | None:
    """Why this model cannot be exported as ``kind`` (``None`` when it can, as far as known here).

    MIT's extension runs PAC's conv head on its own spectrogram, so ``pac export-mdl`` only takes
    conv-head models trained on the feature profile it emulates (``pac.mdl.PROFILE``, pac-compat),
    whatever the profile's name.
    """
    if kind != "mdl":
        return None
    from ..mdl import PROFILE, compatible
    from ..modeldir import read_manifest

    try:
        manifest = read_manifest(model_dir)
    except PacError as exc:
        return str(exc)
    features = manifest.features
    if manifest.head_kind != "conv":
        return (
            f"only models with {HEAD_NAMES['conv']} on the feature profile {PROFILE} can be exported as .mdl "
            f"(MIT's extension runs that head on its own spectrogram); this one is {HEAD_NAMES['linear']}. "
            'Press "MIT’s PAC website (.mdl)" under Train > Advanced, train again, and export that model.'
        )
    if compatible(features):  # also a model made before pac-compat's canvas filter (export-mdl warns)
        return None
    return (
        f"only models trained with the feature profile {PROFILE} can be exported as .mdl (MIT's extension "
        f"computes its own spectrogram); this one used '{features.name}'. Choose {PROFILE} under "
        f"Train > Spectrogram, train again, and export that model."
    )


__all__ = ["EXPORTS", "export_problem", "export_support", "write_export"]
