# One module on purpose (issue 15): small related file services; the tests patch its WINDOWS, os and open in one place.
"""Writing files so that a failure never leaves a half-written result behind, portably.

Every output pac writes (``-o``, ``--json``, ``--plot``, a model folder, an ``.aix``, the studio's
files) is written beside its target under a temporary name and renamed onto it once complete
(:func:`atomic_path`, :func:`write_bytes_atomic`, :func:`atomic_dir`), so a failure leaves the target
as it was.  The target must be a new path or a regular file (an existing folder for
:func:`atomic_dir`); anything else is refused with a one-line :class:`pac.errors.PacError`
(:func:`check_output`): a FIFO, a device such as ``/dev/null``, a socket, a folder where a file is
written, a path inside a file.  **Symbolic links are refused too**, whatever they point to: renaming
onto a link would replace the link itself, and writing through it would change a file the user did
not name, so pac asks for the real path instead.  The CLI checks every output path when it reads the
command line, before any work, and the check runs again when the file is written.

Also the few file-system services pac needs on Linux, macOS and Windows alike: reading a file the
user names within a size limit (:func:`read_limited`), an exclusive lock on a file
(:class:`FileLock`: ``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows), a rename that
survives Windows' briefly held files (:func:`replace`), and the rules for names that are valid files
on every one of them (:func:`portable_name_problem`) and for label names (:func:`label_problem`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from .errors import PacError
from .limits import LIMITS

#: Whether this is Windows (a module constant, so tests can take the Windows paths).
WINDOWS = os.name == "nt"


# -- what pac may write -----------------------------------------------------------------------------


def check_output(target: str | os.PathLike, *, folder: bool = False, probe: bool = False) -> Path:
    """Refuse an output path that pac must not write (see the module's docstring).

    Parameters
    ----------
    target : str or os.PathLike
        The file (or folder) to be written.
    folder : bool
        The output is a folder (:func:`atomic_dir`): an existing folder is accepted instead of a
        file, and missing parent folders will be created.
    probe : bool
        Also create and remove a temporary file where the output will be written, so that a folder
        pac cannot write into is reported now rather than after the work.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    PacError
        Naming ``target`` and the problem, in one line.
    """
    target = Path(target)
    problem = output_problem(target, folder=folder)
    if problem:
        raise PacError(problem, path=target)
    if probe:
        _probe(target, _nearest_folder(target) if folder else _parent(target))
    return target


def output_problem(target: Path, *, folder: bool = False) -> str | None:
    """Why ``target`` cannot be written (None if it can): :func:`check_output` without the probe."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return _missing_parent(target, folder=folder)
    except NotADirectoryError:
        return "cannot be written: part of the path is a file, not a folder"
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    if stat.S_ISLNK(mode):
        return (
            "is a symbolic link; pac neither writes through links nor replaces them "
            "(give the real path, or another one)"
        )
    if folder and stat.S_ISDIR(mode) or not folder and stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder; pac writes a file here (give a file name)"
    if stat.S_ISREG(mode):
        return "exists and is a file, not a folder (give a folder)"
    return f"is {_kind(mode)}, not a regular file; pac writes only new or regular files"


def _parent(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _missing_parent(target: Path, *, folder: bool) -> str | None:
    """A new ``target`` needs its folder (a new folder: its nearest existing ancestor, a folder)."""
    parent = _nearest_folder(target) if folder else _parent(target)
    if parent.is_dir():
        return None
    if parent.exists():
        return f"cannot be written: {parent} is not a folder"
    return f"cannot be written: folder {parent} does not exist"


def _nearest_folder(target: Path) -> Path:
    """The nearest ancestor of ``target`` that exists (where :func:`atomic_dir` starts creating)."""
    parent = _parent(target)
    while not parent.exists() and parent != _parent(parent):
        parent = _parent(parent)
    return parent


def _probe(target: Path, folder: Path) -> None:
    """Create and remove a temporary file in ``folder``; a :class:`PacError` naming ``target`` if impossible."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise PacError(
            f"cannot be written: pac cannot create files in {folder} ({exc.strerror or exc})", path=target
        ) from None
    os.close(fd)
    os.unlink(name)


def _cannot_write(target: Path, exc: OSError) -> PacError:
    return PacError(f"cannot be written ({exc.strerror or exc})", path=target)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed onto ``target``.

    ``target`` is checked by :func:`check_output` first and again just before the rename.  On an
    exception the temporary file is removed and ``target`` is left as it was.

    Raises
    ------
    PacError
        ``target`` may not be written, or its folder does not accept the temporary file.
    """
    target = check_output(target)
    parent = _parent(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=parent)
    except OSError as exc:
        raise PacError(
            f"cannot be written: no temporary file can be created in {parent} ({exc.strerror or exc})", path=target
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    _default_mode(tmp_path, 0o666)
    try:
        yield tmp_path
        check_output(target)
        try:
            replace(tmp_path, target)
        except OSError as exc:
            raise _cannot_write(target, exc) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename (:func:`atomic_path`)."""
    with atomic_path(target) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise _cannot_write(Path(target), exc) from None


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target``.

    ``target`` must be new or a folder (:func:`check_output`, checked first and again before the
    swap); missing parent folders are created.  An existing ``target`` is only replaced once the new
    one is complete, and is put back if the new one cannot be moved in.

    Raises
    ------
    PacError
        ``target`` may not be written, or its folder does not accept the staging folder, or writing
        into the staging folder failed with an ``OSError`` (a full disk): ``target`` is then as it was.
    """
    target = check_output(target, folder=True)
    parent = _parent(target)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except OSError as exc:
        raise PacError(
            f"cannot be written: no folder can be created in {parent} ({exc.strerror or exc})", path=target
        ) from None
    _default_mode(staging, 0o777)
    old = None
    try:
        try:
            yield staging
        except OSError as exc:  # writing the new contents failed (a full disk, a quota): one line, no traceback
            raise _cannot_write(target, exc) from None
        check_output(target, folder=True)
        try:
            old = _swap_in(staging, target, parent)
        except OSError as exc:
            raise _cannot_write(target, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _swap_in(staging: Path, target: Path, parent: Path) -> Path | None:
    """Move ``staging`` onto ``target``; an existing ``target`` goes into a new folder, which is returned
    (for removal), or comes back if the move fails."""
    if not os.path.lexists(target):
        replace(staging, target)
        return None
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
    replace(target, old / "x")
    try:
        replace(staging, target)
    except OSError:
        replace(old / "x", target)
        old.rmdir()
        raise
    return old


# -- reading what the user names --------------------------------------------------------------------


def read_limited(path: str | os.PathLike, *, max_bytes: int, what: str = "file") -> bytes:
    """Read a whole regular file of at most ``max_bytes`` bytes, refusing anything else first.

    The file is opened without blocking (a FIFO named ``x.wav`` would otherwise wait for a writer for
    ever) and checked with ``fstat`` on the open handle (no race with a rename): a FIFO, a device
    (``/dev/zero``), a socket or a folder is refused, and so is a file larger than ``max_bytes``,
    before any of it is read.  At most ``max_bytes + 1`` bytes are ever read, so a file that grows
    while it is read is refused too.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int
        The limit (see :mod:`pac.limits`).
    what : str
        What the file is, for the messages ("WAV file", "model file", ...).

    Returns
    -------
    bytes
        The file's contents.

    Raises
    ------
    PacError
        Naming the file and the problem: missing, a folder, not a regular file, too large,
        unreadable.
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise PacError("does not exist", path=name) from None
    except IsADirectoryError:
        raise PacError(f"is a folder, not a {what}", path=name) from None
    except PermissionError:
        if os.path.isdir(name):  # Windows reports folders as permission errors
            raise PacError(f"is a folder, not a {what}", path=name) from None
        raise PacError("cannot be read: permission denied", path=name) from None
    except OSError as exc:
        raise PacError(f"cannot be read: {exc.strerror or exc}", path=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PacError(f"is a folder, not a {what}", path=name)
        if not stat.S_ISREG(info.st_mode):
            raise PacError(f"is not a regular file ({_kind(info.st_mode)}); pac reads only files", path=name)
        if info.st_size > max_bytes:
            raise PacError(
                f"is {info.st_size:,d} bytes, larger than the {max_bytes:,d}-byte limit for a {what}", path=name
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise PacError(f"cannot be read: {exc.strerror or exc}", path=name) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise PacError(f"grew past the {max_bytes:,d}-byte limit for a {what} while it was read", path=name)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    """A plain name for a file type that is not a regular file."""
    for test, text in (
        (stat.S_ISFIFO, "a FIFO/pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return text
    return "a special file"


# -- renames and permissions ------------------------------------------------------------------------

#: How often :func:`replace` tries on Windows, and the pause after the n-th failure (n x this).
REPLACE_ATTEMPTS = 10
REPLACE_PAUSE = 0.05


def replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """``os.replace``; on Windows retried for about 2 s while it fails with ``PermissionError``.

    Windows refuses to rename a file another program holds open, and virus scanners and search
    indexers open new files for a moment; on Linux and macOS a rename never waits, so it is tried once.
    """
    attempts = REPLACE_ATTEMPTS if WINDOWS else 1
    for attempt in range(1, attempts + 1):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts:
                raise
            time.sleep(REPLACE_PAUSE * attempt)


def _default_mode(path: Path, mode: int) -> None:
    """Give ``path`` (made private by ``tempfile``) the permissions a plain ``open`` would have given
    it.  Windows has no such permission bits (``os.chmod`` only sets the read-only flag): nothing to do."""
    if not WINDOWS:
        os.chmod(path, mode & ~_umask())


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``);
    elsewhere (macOS) set for an instant to a private 077, never to 0, so a file another thread
    creates meanwhile is never world-writable."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


# -- locks ---------------------------------------------------------------------------------------------

#: Where the Windows lock sits: one byte far past any content (SQLite's "pending byte"), so that the
#: lock file's text stays readable by other processes while the lock is held (Windows locks are
#: mandatory: nobody can read a locked byte).
WINDOWS_LOCK_OFFSET = 1 << 30
#: errno values that mean "this file system cannot lock" (e.g. NFS without a lock daemon), not "held".
_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


def lock_backend() -> str:
    """``fcntl`` (Linux, macOS), ``msvcrt`` (Windows) or ``none`` (neither: locks are on trust)."""
    try:
        import fcntl  # noqa: F401

        return "fcntl"
    except ImportError:
        pass
    try:
        import msvcrt  # noqa: F401

        return "msvcrt"
    except ImportError:
        return "none"


class FileLock:
    """An exclusive lock on ``path`` (created if missing) between processes and between the
    objects of one process.

    The operating system drops the lock when the process ends, so a crash never leaves a stale lock.
    While held, :attr:`file` is the lock file open for reading and appending (binary).  On file
    systems that cannot lock (some network shares) and on systems without ``fcntl`` or ``msvcrt``,
    :meth:`acquire` succeeds without a lock (:attr:`locked` is then False).

    Parameters
    ----------
    path : path
        The lock file.
    backend : str, optional
        ``fcntl``, ``msvcrt`` or ``none``; by default :func:`lock_backend`'s.
    poll : float
        Seconds between tries of a blocking :meth:`acquire` on Windows.
    """

    def __init__(self, path: str | os.PathLike, *, backend: str | None = None, poll: float = 0.1):
        self.path = Path(path)
        self.backend = backend or lock_backend()
        self.poll = poll
        self.file = None
        self.locked = False

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock: wait for it (``blocking``), or return False at once if another holds it."""
        if self.file is not None:
            raise RuntimeError(f"{self.path}: this FileLock is already held")
        handle = open(self.path, "a+b")
        try:
            taken = self._lock(handle, blocking)
        except BaseException:
            handle.close()
            raise
        if taken is False:
            handle.close()
            return False
        self.file, self.locked = handle, bool(taken)
        return True

    def _lock(self, handle, blocking: bool) -> bool | None:
        """True: locked; False: held by another; None: cannot lock here (go on without)."""
        if self.backend == "fcntl":
            import fcntl

            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except OSError as exc:
                if exc.errno in _NO_LOCKING:
                    return None
                if isinstance(exc, BlockingIOError) or exc.errno in (errno.EACCES, errno.EAGAIN):
                    return False
                raise
            return True
        if self.backend == "msvcrt":
            import msvcrt

            while True:
                handle.seek(WINDOWS_LOCK_OFFSET)
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    return True
                except OSError:
                    if not blocking:
                        return False
                time.sleep(self.poll)
        return None

    def release(self) -> None:
        """Drop the lock and close the file.  Safe to call twice."""
        handle, self.file = self.file, None
        if handle is None:
            return
        try:
            if self.locked and self.backend == "msvcrt":
                import msvcrt

                handle.seek(WINDOWS_LOCK_OFFSET)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing the file drops it anyway
        finally:
            self.locked = False
            handle.close()  # fcntl: closing releases the lock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# -- names ---------------------------------------------------------------------------------------------

#: Characters Windows does not allow in a file name (besides the control characters).
WINDOWS_FORBIDDEN = '<>:"/\\|?*'
#: Windows' device names: no file may be called so, with or without an extension, in any case.
WINDOWS_DEVICE_NAMES = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        "conin$",
        "conout$",
        *(f"{p}{d}" for p in ("com", "lpt") for d in "0123456789\u00b9\u00b2\u00b3"),
    }
)
MAX_NAME_BYTES = 255


def portable_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file or folder name on Linux, macOS and Windows alike (None if it can).

    Windows is the strictest: no ``< > : " / \\ | ? *`` or control characters, no trailing dot or
    space (Windows drops them), no device name (``CON``, ``NUL``, ``COM1``, ``LPT1``, ... also with
    an extension, as in ``aux.json``); and at most 255 bytes (Linux).
    """
    if not name or name in (".", ".."):
        return "is empty or a folder reference"
    bad = sorted({c for c in name if c in WINDOWS_FORBIDDEN or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad)
        return f"contains {shown}, which Windows does not allow in file names"
    if name[-1] in ". ":
        return "ends with a dot or a space, which Windows drops"
    device = name.split(".", 1)[0].rstrip(" ").casefold()
    if device in WINDOWS_DEVICE_NAMES:
        return f"is the reserved device name {device.upper()} on Windows"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    return None


def label_problem(name: str) -> str | None:
    """Why ``name`` cannot be a label of a model (None if it can).

    A label is shown in App Inventor and stored as JSON text, so it must be valid Unicode text
    (a folder name that is not valid UTF-8 reaches Python with lone surrogates), not empty, without
    control characters (line breaks, tabs, NUL), and at most ``LIMITS.label_max_chars`` characters.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text"
    if not name.strip():
        return "is empty"
    controls = sorted({c for c in name if unicodedata.category(c) == "Cc"})
    if controls:
        return "contains the control character(s) " + " ".join(f"U+{ord(c):04X}" for c in controls)
    if len(name) > LIMITS.label_max_chars:
        return f"has {len(name)} characters, more than the limit of {LIMITS.label_max_chars}"
    return None


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as printable text: bytes that are not UTF-8 (surrogate escapes) appear as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
