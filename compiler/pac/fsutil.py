"""Writing files so that a failure never leaves a half-written result behind, portably.

Also the few file-system services pac needs on Linux, macOS and Windows alike: an exclusive lock
on a file (:class:`FileLock`: ``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows),
a rename that survives Windows' briefly held files (:func:`replace`), and the rule for names that
are valid files on every one of them (:func:`portable_name_problem`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

from .errors import PacError

#: Whether this is Windows (a module constant, so tests can take the Windows paths).
WINDOWS = os.name == "nt"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed onto ``target``.

    On an exception the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise PacError(f"{target}: cannot write, folder {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _default_mode(tmp_path, 0o666)
    try:
        yield tmp_path
        replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target``.

    An existing ``target`` is only replaced once the new one is complete.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    _default_mode(staging, 0o777)
    old = None
    try:
        yield staging
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            replace(target, old / "x")
        replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


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

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# -- names ---------------------------------------------------------------------------------------------

#: Characters Windows does not allow in a file name (besides the control characters).
WINDOWS_FORBIDDEN = '<>:"/\\|?*'
#: Windows' device names: no file may be called so, with or without an extension, in any case.
WINDOWS_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$",
                                  *(f"{p}{d}" for p in ("com", "lpt") for d in "0123456789\u00b9\u00b2\u00b3")})
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
