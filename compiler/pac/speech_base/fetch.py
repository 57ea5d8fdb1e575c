"""Finding the speech base's two ONNX files: ``--speech-base DIR``, ``$PAC_SPEECH_DIR``, the user cache,
else a verified download of the pinned wheel into the cache; every file sha256-verified when read."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path

from ..errors import PacError
from ..zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY

SPEECH_BASE_NAME = "speech_embedding"
#: The network, then its front end (the reference a numpy / JS log-mel must match).
FILES = ("embedding_model.onnx", "melspectrogram.onnx")
NETWORK_FILE = FILES[0]
ENV_DIR = "PAC_SPEECH_DIR"
#: A direct http(s) or file URL of the pinned wheel (a mirror, or tests); else pip fetches it.
ENV_URL = "PAC_SPEECH_URL"
#: The pinned source: this wheel from the Python package index (later versions do not ship the
#: models), fetched with the user's own pip configuration so that index mirrors work.
WHEEL_REQUIREMENT = "openwakeword==0.4.0"
WHEEL_NAME = "openwakeword-0.4.0-py3-none-any.whl"
WHEEL_BYTES = 9_285_483
WHEEL_MODELS = "openwakeword/resources/models/"
#: Refuse to read a download or a zip member larger than this.
MAX_DOWNLOAD_BYTES = 64 * 2**20
PIP_TIMEOUT_S = 600

_WHERE = (
    f"both are in the {WHEEL_REQUIREMENT.replace('==', ' ')} wheel under {WHEEL_MODELS} "
    f"(`pip download {WHEEL_REQUIREMENT} --no-deps` fetches it; a wheel is a zip)"
)


def expected_sha256() -> dict[str, str]:
    """``{file name: sha256}`` of the two ONNX files and of the pinned wheel, shipped with pac."""
    text = resources.files("pac.data").joinpath(f"{SPEECH_BASE_NAME}.sha256").read_text(encoding="ascii")
    return {name: digest for digest, name in (line.split() for line in text.splitlines() if line.strip())}


def network_sha256() -> str:
    """Identity of the speech base: the sha256 of ``embedding_model.onnx``."""
    return expected_sha256()[NETWORK_FILE]


def cache_dir() -> Path:
    """The user cache for the speech base, beside MobileNet's (see :func:`pac.base.cache_dir`)."""
    from ..base import cache_dir as base_cache_dir

    return base_cache_dir().parent / SPEECH_BASE_NAME


def resolve_speech_dir(folder: str | os.PathLike | None = None, *, download: bool = True, progress=None) -> Path:
    """Find the speech base: ``folder``, then ``$PAC_SPEECH_DIR``, the user cache, then a download.

    Parameters
    ----------
    folder : path, optional
        A folder holding ``embedding_model.onnx`` and ``melspectrogram.onnx`` (``--speech-base``).
    download : bool
        Whether to fetch the pinned wheel into the cache when nothing local is found.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` during a download; without it one line goes to stderr.

    Returns
    -------
    Path
        The folder.  Its files' sha256 are checked when they are read (:func:`read_speech_file`).

    Raises
    ------
    PacError
        If a given folder lacks a file, or nothing is found and it cannot (or may not) be fetched.
    """
    for candidate, origin in ((folder, "--speech-base"), (os.environ.get(ENV_DIR), ENV_DIR)):
        if candidate:
            path = Path(candidate)
            for name in FILES:
                if not (path / name).is_file():
                    raise PacError(
                        f"no {name} here (given by {origin}); point it at a folder holding "
                        f"{' and '.join(FILES)}; {_WHERE}",
                        path=path,
                    )
            return path
    cached = cache_dir()
    if all((cached / name).is_file() for name in FILES):
        return cached
    if not download:
        raise PacError(f"the speech embedding is not in {cached}; {_point_at_a_copy()}")
    return download_speech(cached, progress=progress)


def _point_at_a_copy() -> str:
    return f"pass --speech-base DIR or set {ENV_DIR} to a folder holding {' and '.join(FILES)}; {_WHERE}"


def download_speech(
    target: str | os.PathLike, *, progress=None, url: str | None = None, wheel_sha256: str | None = None
) -> Path:
    """Fetch the pinned wheel, verify it, and install its two ONNX files into ``target``.

    Parameters
    ----------
    target : path
        The folder to create or replace (normally :func:`cache_dir`); replaced only as a whole,
        once both files are verified.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)``; without it one line goes to stderr.
    url : str, optional
        A direct http(s) or file URL of the wheel; default ``$PAC_SPEECH_URL``, and without that
        ``pip download`` with the user's pip configuration.
    wheel_sha256 : str, optional
        The wheel's expected sha256 (default: the pinned one; tests pass a wheel they built).

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    PacError
        If the wheel cannot be fetched, is too large, has the wrong sha256 or lacks a file, or a
        file in it has the wrong sha256.  Nothing is written then.
    """
    target = Path(target)
    url = url if url is not None else os.environ.get(ENV_URL) or None
    expected = expected_sha256()
    wheel_sha256 = wheel_sha256 or expected[WHEEL_NAME]
    if progress is None:
        sys.stderr.write(
            f"downloading the speech embedding ({WHEEL_REQUIREMENT.replace('==', ' ')} wheel, "
            f"{WHEEL_BYTES / 1e6:.1f} MB)...\n"
        )
        sys.stderr.flush()
    else:
        progress(0, WHEEL_BYTES)
    source, data = (url, _fetch_url(url, progress)) if url else _pip_download()
    if progress is not None:
        progress(len(data), len(data))
    if hashlib.sha256(data).hexdigest() != wheel_sha256:
        raise PacError(
            f"sha256 does not match the pinned {WHEEL_NAME} ({wheel_sha256[:12]}...); refusing it", path=source
        )
    files = extract_speech_files(data, source=source)
    from ..fsutil import atomic_dir

    try:
        with atomic_dir(target) as staging:
            for name, content in files.items():
                (staging / name).write_bytes(content)
    except OSError as exc:
        raise PacError(f"cannot write the speech embedding ({exc.strerror or exc})", path=target) from None
    return target


def extract_speech_files(wheel: bytes, *, source: str = WHEEL_NAME) -> dict[str, bytes]:
    """``{name: bytes}`` of the two ONNX files in a wheel's bytes, each sha256-verified.

    Raises
    ------
    PacError
        If it is not a zip, lacks a file, a file is too large, or a file's sha256 is wrong.
    """
    expected = expected_sha256()
    out = {}
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
            for name in FILES:
                member = WHEEL_MODELS + name
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    raise PacError(f"the wheel has no {member}", path=source) from None
                if info.file_size > MAX_DOWNLOAD_BYTES:
                    raise PacError(f"{member} in the wheel is larger than {MAX_DOWNLOAD_BYTES >> 20} MB", path=source)
                with archive.open(info) as stream:
                    content = stream.read(MAX_DOWNLOAD_BYTES + 1)
                if hashlib.sha256(content).hexdigest() != expected[name]:
                    raise PacError(
                        f"sha256 of {member} in the wheel does not match {SPEECH_BASE_NAME}'s published {name}",
                        path=source,
                    )
                out[name] = content
    except NOT_A_ZIP + UNREADABLE_ENTRY as exc:
        raise PacError(f"not a readable wheel (zip) ({exc})", path=source) from None
    return out


def _fetch_url(url: str, progress) -> bytes:
    """The bytes at a direct http(s) or file URL, at most :data:`MAX_DOWNLOAD_BYTES`."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise PacError(f"{ENV_URL} must be an http(s) or file URL of {WHEEL_NAME}, not {url!r}")
    chunks, done = [], 0
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (scheme checked above)
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not the {WHEEL_NAME}", path=url)
                chunks.append(chunk)
                if progress is not None:
                    progress(done, max(done, WHEEL_BYTES))
    except PacError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PacError(
            f"cannot download the speech embedding from {url} ({reason}); without internet, {_point_at_a_copy()}"
        ) from None
    return b"".join(chunks)


def _pip_download() -> tuple[str, bytes]:
    """``(path, bytes)`` of the pinned wheel, fetched by pip from the user's configured index."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        WHEEL_REQUIREMENT,
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "-q",
    ]
    with tempfile.TemporaryDirectory(prefix="pac-speech-") as tmp:
        try:
            done = subprocess.run(
                [*command, "-d", tmp],
                capture_output=True,
                text=True,
                timeout=PIP_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PacError(f"cannot run pip to download {WHEEL_REQUIREMENT} ({exc}); {_point_at_a_copy()}") from None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            reason = lines[-1] if lines else f"pip exited with code {done.returncode}"
            raise PacError(
                f"cannot download the speech embedding ({WHEEL_REQUIREMENT} with pip: {reason}); "
                f"without internet, {_point_at_a_copy()}"
            )
        wheel = wheels[0]
        if wheel.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not the {WHEEL_NAME}", path=wheel.name)
        return f"{wheel.name} (from pip download {WHEEL_REQUIREMENT})", wheel.read_bytes()


def read_speech_file(directory: str | os.PathLike, name: str) -> bytes:
    """The bytes of one of :data:`FILES` in ``directory``, sha256-verified.

    Raises
    ------
    PacError
        Naming the file, if it cannot be read or its sha256 is not the published one.
    """
    if name not in FILES:
        raise ValueError(f"not a speech base file: {name}")
    path = Path(directory) / name
    expected = expected_sha256()
    try:
        if path.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise PacError(f"larger than {MAX_DOWNLOAD_BYTES >> 20} MB; not {SPEECH_BASE_NAME}'s {name}", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise PacError(f"cannot read the speech embedding ({exc.strerror or exc})", path=path) from None
    if hashlib.sha256(data).hexdigest() != expected[name]:
        raise PacError(
            f"sha256 does not match {SPEECH_BASE_NAME}'s published {name} (openWakeWord 0.4.0's copy)", path=path
        )
    return data


def print_progress(done: int, total: int) -> None:
    """A one-line download progress bar on stderr."""
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    sys.stderr.write(f"\rdownloading the speech embedding [{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f} MB")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
