"""``pac studio``: a running studio (:class:`Studio`), its HTTP server and the project each request is
about.  The plumbing and security checks are in :mod:`pac.studio.handler`, the routes in
:mod:`pac.studio.api_project` and :mod:`pac.studio.api_models`, the classroom (many students, HTTPS
on the LAN) in :mod:`pac.studio.classroom`.

Security rules (see :mod:`pac.studio.handler` for each request's checks):

* it listens on 127.0.0.1 unless told otherwise (``--host``, with a warning; ``--classroom`` for a
  class, over HTTPS with a code to join);
* while it listens on a loopback address, requests must name a loopback host (``Host`` header), so
  a web site that points its own domain at 127.0.0.1 (DNS rebinding) gets nothing;
* every request that changes something must carry the header ``X-Pac-Studio`` and, if the browser
  sends an ``Origin``, it must be this server's own (a classroom's forms, which cannot send that
  header, must send this server's ``Origin``);
* names in URLs are only ever looked up in folder listings (see :mod:`pac.studio.store`).
"""

from __future__ import annotations

import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from .. import __version__
from ..errors import PacError
from ..modeldir import MANIFEST
from ..serve import serve_in_thread
from . import api_models, api_project  # noqa: F401 - they declare the routes
from .handler import StudioHandler, is_loopback
from .jobs import Jobs
from .networks import TF_LOCK, Networks
from .store import ProjectStore
from .trainqueue import TrainingQueue

DEFAULT_PORT = 8765
DEFAULT_PROJECT = "pac-studio-project"


class Project:
    """One project as the server sees it: its store, its jobs and its classifiers (kept for the next clip).

    Parameters
    ----------
    store : ProjectStore
        The project folder.
    networks : Networks
        The loaded networks (shared by every project of a classroom).
    queue : TrainingQueue
        Where its training runs wait (shared by every project of a classroom).
    """

    def __init__(self, store: ProjectStore, *, networks: Networks, queue: TrainingQueue):
        self.store = store
        self.jobs = Jobs(store, networks=networks, queue=queue)
        self.classifiers: dict[str, tuple] = {}
        self.classifier_lock = threading.Lock()

    def classifier(self, model_id: str):
        """A :class:`pac.classifier.Classifier` for a project model (kept for the next clip)."""
        from ..classifier import Classifier

        folder = self.store.model_dir(model_id)
        stamp = (folder / MANIFEST).stat().st_mtime_ns
        with self.classifier_lock:
            cached = self.classifiers.get(folder.name)
            if cached and cached[0] == stamp:
                return cached[1]
        from ..modeldir import read_manifest

        manifest = read_manifest(folder)
        networks = list(manifest.networks)
        with TF_LOCK:
            self.jobs.load_networks(networks)
            classifier = Classifier(folder, base=self.jobs.base_dir, speech_base=self.jobs.speech_dir)
        with self.classifier_lock:
            self.classifiers[folder.name] = (stamp, classifier)
            while len(self.classifiers) > 3:
                self.classifiers.pop(next(iter(self.classifiers)))
        return classifier

    def forget_classifier(self, model_id: str) -> None:
        with self.classifier_lock:
            self.classifiers.pop(model_id, None)


class StudioServer(ThreadingHTTPServer):
    """The HTTP server of one studio: one project, every request about it (a classroom's server,
    :class:`pac.studio.classroom.ClassroomServer`, chooses the project by the address)."""

    daemon_threads = True
    block_on_close = False
    #: Connections the OS queues while the studio is busy (a class of 30 opening the page at once).
    request_queue_size = 128
    scheme = "http"
    #: Exact paths that take a POST of a plain HTML form (:meth:`pac.studio.handler.StudioHandler.read_form`):
    #: there the request must carry this server's ``Origin`` in place of ``X-Pac-Studio``.  None here.
    form_paths: frozenset[str] = frozenset()

    def __init__(self, address, project: Project | None, *, quiet: bool = True):
        self.project = project
        self.quiet = quiet
        self.loopback_only = is_loopback(address[0])
        host = address[0]
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        self.address_family = family
        super().__init__((host.strip("[]"), address[1]), StudioHandler)

    @property
    def store(self) -> ProjectStore:
        return self.project.store

    @property
    def jobs(self) -> Jobs:
        return self.project.jobs

    def resolve(self, handler, path: str, method: str) -> str | None:
        """Choose the request's project (``handler.project``) and return the path to route, or answer the
        request here and return ``None``."""
        handler.project = self.project
        return path


# -- running a studio --------------------------------------------------------------------------------


class ProjectLock:
    """An exclusive lock on a project folder for the life of one studio (``.studio.lock``).

    A :class:`pac.fsutil.FileLock` (``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows);
    the file holds the running studio's URL, for the message a second studio gives.
    """

    def __init__(self, root: Path, *, backend: str | None = None):
        from ..fsutil import FileLock

        self.path = root / ".studio.lock"
        self.lock = FileLock(self.path, backend=backend)

    @property
    def file(self):
        return self.lock.file

    def acquire(self, url: str) -> None:
        if not self.lock.acquire(blocking=False):
            try:
                other = self.path.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                other = ""
            raise PacError(
                f"{self.path.parent}: another pac studio has this project open"
                + (f" at {other}" if other else "")
                + "; use that one, or stop it first"
            ) from None
        handle = self.lock.file
        handle.seek(0)
        handle.truncate()
        handle.write((url + "\n").encode("utf-8"))
        handle.flush()

    def release(self) -> None:
        if self.lock.file is not None:
            try:
                self.lock.file.seek(0)
                self.lock.file.truncate()
            except OSError:
                pass
        self.lock.release()


def listen(make, host: str, port: int, *, port_tries: int = 1):
    """``make((host, port))``, the server, on ``port`` or one of the ``port_tries - 1`` ports after it
    (port 0: any free port); a :class:`PacError` when none is free."""
    last_error = None
    for offset in range(max(1, port_tries)):
        try:
            return make((host, port + offset if port else 0))
        except OSError as exc:
            last_error = exc
    raise PacError(
        f"cannot listen on {host}:{port} ({last_error.strerror or last_error}); try another --port (or check --host)"
    )


class Studio:
    """A running studio: project store, jobs and HTTP server on a background thread.

    Parameters
    ----------
    project : path
        The project folder (created if missing).
    host, port : str, int
        Where to listen (port 0 picks a free one).
    base_dir : path, optional
        The MobileNet folder (see :func:`pac.base.resolve_base_dir`).
    speech_dir : path, optional
        The speech embedding folder (see :func:`pac.speech_base.resolve_speech_dir`).
    warm : bool
        Load TensorFlow, MobileNet and the speech embedding in the background right away.
    """

    def __init__(
        self,
        project,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        base_dir=None,
        speech_dir=None,
        warm: bool = True,
        quiet: bool = True,
        port_tries: int = 1,
    ):
        if (Path(project).expanduser() / "classroom.json").is_file():
            raise PacError(f"{project}: is a classroom folder; open it with pac studio --classroom")
        self.store = ProjectStore(project)
        self.project = Project(
            self.store, networks=Networks(base_dir=base_dir, speech_dir=speech_dir), queue=TrainingQueue()
        )
        self.jobs = self.project.jobs
        self.networks = self.jobs.networks
        self.lock = ProjectLock(self.store.root)
        self.thread = None
        self.server = listen(
            lambda address: StudioServer(address, self.project, quiet=quiet), host, port, port_tries=port_tries
        )
        try:
            self.lock.acquire(self.url)
        except BaseException:
            self.server.server_close()
            raise
        self.store.sweep_leftovers()
        if warm:
            self.jobs.warm_up()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        if host in ("0.0.0.0", "::") or is_loopback(host):
            host = "127.0.0.1" if self.server.address_family == socket.AF_INET else "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> Studio:
        self.thread = serve_in_thread(self.server, name="pac-studio-http")
        return self

    def close(self) -> None:
        """Stop serving and release the project (a running training thread is told to stop)."""
        self.jobs.cancel_training()
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join(timeout=10)
            self.thread = None
        self.server.server_close()
        self.lock.release()

    def __enter__(self) -> Studio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def run(
    project=None,
    *,
    host: str | None = None,
    port: int | None = None,
    open_browser: bool = True,
    base_dir=None,
    speech_dir=None,
    classroom: bool = False,
    echo=print,
) -> None:
    """``pac studio``: serve until Ctrl-C (``classroom``: ``pac studio --classroom``, see
    :mod:`pac.studio.classroom`).

    TensorFlow is imported here, in the main thread before the server's threads start, the one moment
    :func:`pac.libs.tensorflow` may hide the lines its import writes straight to stderr; the
    networks then load in the background (:meth:`Jobs.warm_up`).
    """
    from ..libs import tensorflow

    if classroom:
        from .classroom import DEFAULT_CLASSROOM, ClassroomStudio, startup_lines

        host = host or "0.0.0.0"
        kind, folder = ClassroomStudio, DEFAULT_CLASSROOM
    else:
        host = host or "127.0.0.1"
        if not is_loopback(host):
            echo(
                f"warning: listening on {host}: anyone who can reach this computer on the network can open the "
                f"studio and read, change or delete the project's clips and models. Use this only on a network "
                f"you trust (the default, 127.0.0.1, is reachable from this computer only; --classroom serves "
                f"a class over HTTPS with a project per student)."
            )
        kind, folder = Studio, DEFAULT_PROJECT
    studio = kind(
        Path(project or folder),
        host=host,
        port=DEFAULT_PORT if port is None else port,
        base_dir=base_dir,
        speech_dir=speech_dir,
        port_tries=20 if port is None else 1,
        warm=False,
    )
    try:
        echo(f"pac studio {__version__}: starting (loading TensorFlow takes a few seconds)")
        sys.stdout.flush()
        tensorflow()
        studio.start()
        if classroom:
            for line in startup_lines(studio):
                echo(line)
            opened = f"{studio.local_url}teacher"
        else:
            echo(f"pac studio {__version__}: project {studio.store.root}")
            echo(f"open {studio.url} in a browser (Ctrl-C stops the studio; everything is saved as you go)")
            if not is_loopback(host):
                echo(
                    "note: browsers only allow the microphone on http://localhost or https pages; "
                    "other computers can upload WAV files but not record"
                )
            opened = studio.url
        sys.stdout.flush()
        studio.networks.warm_up()
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(opened,), daemon=True).start()
        while studio.thread.is_alive():
            studio.thread.join(0.5)
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("\nstopping pac studio (everything is saved)\n")
            sys.stderr.flush()
    finally:
        studio.close()


__all__ = [
    "Studio",
    "StudioServer",
    "StudioHandler",
    "Project",
    "ProjectLock",
    "listen",
    "run",
    "DEFAULT_PORT",
    "DEFAULT_PROJECT",
]
