"""``pac studio --classroom``: one studio for a class on the LAN, over HTTPS, one project per student.

``DIR/`` (the classroom folder)
    ``classroom.json``         the class code students type, the teacher's code, the cookies' secret,
                               each student's code to continue (:mod:`pac.studio.classroom_codes`)
    ``tls/cert.pem, key.pem``  the self-signed certificate (made once, kept: same fingerprint)
    ``students/<name>/``       each student's project, a studio project folder (:mod:`pac.studio.store`)

A student opens ``https://<this computer>:<port>/``, types the class code and a name, and gets the
studio at ``/s/<name>/`` (the page, ``api/...`` and ``static/...`` relative to it); a new name is
shown its code to continue first (``/welcome``), and a name that is taken needs that code or that
student's cookie (:mod:`pac.studio.classroom_codes`).  Joining sets a
cookie signed with the classroom's secret that names the student; every request under ``/s/<name>/``
must carry that student's cookie (or the teacher's), so a student reaches only their own project, by
any path.  Names are checked as label names are (letters, digits, space, ``-``, ``_``) and found in
the folder listing without regard to case.  The teacher's page (``/teacher``, the teacher's code)
shows every student's clips per label, models and training, and links to each studio.  Trainings
wait in one queue (one at a time on this computer).

Codes (the class code, a student's code to continue, the teacher's code) are only read from the body
of a form's POST to ``/join`` or ``/teacher`` (:attr:`ClassroomServer.form_paths`), never from an
address: an address stays in the browser's history and in logs, where the next user of a shared
classroom computer would find it.  ``GET /join`` is sent to ``/`` and ``GET /teacher`` ignores its query.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import quote, unquote

from .. import jsonsafe
from ..errors import PacError
from ..serve import serve_in_thread
from .classroom_codes import (
    GUESS_WINDOW,
    MAX_GUESSES,
    STUDENT_COOKIE,
    STUDENTS,
    TEACHER_COOKIE,
    TEACHER_SECONDS,
    ClassroomCodes,
    JoinPages,
)
from .classroom_pages import FORM_REFERRER, PAGE_CSP, TEACHER_REFRESH, teacher_html, teacher_login_html
from .layout import StudioError, keep_private, write_json_durable
from .networks import Networks
from .server import Project, ProjectLock, StudioServer
from .store import ProjectStore
from .tls import server_context

CLASSROOM_FILE = "classroom.json"
CLASSROOM_FORMAT = "pac-studio-classroom"
TLS = "tls"


class Classroom(ClassroomCodes):
    """The classroom folder: its codes (:class:`pac.studio.classroom_codes.ClassroomCodes`), the students'
    projects (opened as they are needed) and the networks and training queue they share.

    Parameters
    ----------
    root : path
        The classroom folder (created if missing).
    networks : Networks
        The loaded networks, shared by every student's jobs.
    """

    def __init__(self, root, *, networks: Networks):
        from .trainqueue import TrainingQueue

        self.root = Path(root).expanduser().resolve()
        if (self.root / "studio.json").exists():
            raise PacError(
                f"{self.root}: is one studio project, not a classroom folder; choose another folder "
                f"for --classroom (or open this project without --classroom)"
            )
        try:
            (self.root / STUDENTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PacError(f"{self.root}: cannot create the classroom folder ({exc.strerror or exc})") from None
        self.settings_path = self.root / CLASSROOM_FILE
        self.settings = self._settings()
        self.networks = networks
        self.queue = TrainingQueue()
        self.projects: dict[str, Project] = {}
        self.locks: dict[str, ProjectLock] = {}
        self.lock = threading.Lock()
        self.url = ""
        self.guesses: dict[str, list[float]] = {}

    def _settings(self) -> dict:
        path = self.settings_path
        if path.exists():
            try:
                data = jsonsafe.loads(path.read_bytes(), source=str(path))
            except (OSError, PacError) as exc:
                raise PacError(f"{path}: unreadable classroom settings ({exc}); move it away to start afresh") from None
            keys = ("class_code", "teacher_code", "secret")
            if (
                isinstance(data, dict)
                and data.get("format") == CLASSROOM_FORMAT
                and all(isinstance(data.get(k), str) and data[k] for k in keys)
            ):
                keep_private(path)  # the codes and the cookies' secret
                return data
            raise PacError(f"{path}: not a pac classroom file; move it away to start afresh")
        data = {
            "format": CLASSROOM_FORMAT,
            "class_code": f"{secrets.randbelow(10**6):06d}",
            "teacher_code": "-".join(secrets.token_hex(2) for _ in range(3)),
            "secret": secrets.token_hex(32),
        }
        write_json_durable(path, data, private=True)  # the codes and the cookies' secret
        return data

    @property
    def class_code(self) -> str:
        return self.settings["class_code"]

    @property
    def teacher_code(self) -> str:
        return self.settings["teacher_code"]

    # -- students ------------------------------------------------------------------------------------
    def students(self) -> list[str]:
        """Every student's folder name, sorted without regard to case."""
        folder = self.root / STUDENTS
        return sorted((p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=str.casefold)

    def find_student(self, name: str) -> str | None:
        """The folder name of the student called ``name`` (any case), if there is one."""
        return next((s for s in self.students() if s.casefold() == name.casefold()), None)

    def join(self, raw_name, **how) -> str:
        """The student's folder name for a typed name, the project made if new (a name that is taken needs
        ``cookie_student`` or ``code``: see :meth:`~pac.studio.classroom_codes.ClassroomCodes.enter`)."""
        student, _ = self.enter(raw_name, **how)
        self.project(student)
        return student

    def project(self, student: str) -> Project:
        """The open project of an existing student (opened, locked and tidied on first use)."""
        with self.lock:
            if student in self.projects:
                return self.projects[student]
            if student not in self.students():
                raise StudioError(f"there is no student {student!r} in this class; join again", status=404)
            store = ProjectStore(self.root / STUDENTS / student)
            lock = ProjectLock(store.root)
            lock.acquire(f"{self.url}s/{quote(student)}/")
            store.sweep_leftovers()
            self.locks[student] = lock
            project = Project(store, networks=self.networks, queue=self.queue)
            project.jobs.noise_folders = False  # a folder named by a student would be the teacher's
            self.projects[student] = project
            return project

    def close(self) -> None:
        """Stop every student's training and release their projects."""
        with self.lock:
            for project in self.projects.values():
                project.jobs.cancel_training()
            for lock in self.locks.values():
                lock.release()
            self.projects.clear()
            self.locks.clear()

    # -- the teacher's view ------------------------------------------------------------------------------
    def overview(self) -> list[dict]:
        """Per student (for the teacher only): the code to continue on another computer, clips per label
        (usable ones), models (name, kind, cross-validated accuracy), training (state, stage, place in the
        queue) and what still stops training."""
        rows = []
        for student in self.students():
            try:
                project = self.project(student)
            except (PacError, OSError) as exc:
                rows.append({"student": student, "code": self.student_code(student), "error": str(exc)})
                continue
            store = project.store
            clips = store.all_clips()
            job = project.jobs.training
            rows.append(
                {
                    "student": student,
                    "code": self.student_code(student),
                    "labels": [
                        {"name": label, "clips": sum(1 for c in infos if not c["problem"])}
                        for label, infos in clips.items()
                    ],
                    "models": [
                        {
                            "id": m["id"],
                            "name": m["name"],
                            "head": m["head"],
                            "cv_accuracy": (m["cross_validation"] or {}).get("accuracy"),
                            "validation_accuracy": (m["validation"] or {}).get("accuracy")
                            if isinstance(m["validation"], dict)
                            else None,
                        }
                        for m in store.models()
                    ],
                    "training": None
                    if job is None
                    else {"state": job.state, "stage": job.stage, "queued": job.queued, "position": job.position},
                    "problems": store.training_problems(clips),
                }
            )
        return rows


class ClassroomServer(JoinPages, StudioServer):
    """The HTTPS server of a classroom: the join page, the teacher's page, and each student's studio
    under ``/s/<student>/`` on that student's project."""

    scheme = "https"
    #: The forms that send codes: POSTed with this server's ``Origin`` (see :mod:`pac.studio.handler`).
    form_paths = frozenset({"/join", "/teacher"})

    def __init__(self, address, classroom: Classroom, *, cert: Path, key: Path, quiet: bool = True):
        self.classroom = classroom
        self.context = server_context(cert, key)
        super().__init__(address, None, quiet=quiet)

    def finish_request(self, request, client_address):
        """TLS in the request's own thread (a client that never finishes the handshake holds only its own
        thread, never the accepting one); a plain ``http://`` request is sent to the ``https://`` address."""
        import ssl

        try:
            request.settimeout(self.RequestHandlerClass.timeout)
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":  # not a TLS handshake record: someone typed http://
                self.to_https(request)
                return
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a certificate refused, a client gone: nothing to answer
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def to_https(self, request) -> None:
        """Answer a plain HTTP request on this port with a redirect to the same address over HTTPS."""
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = request.recv(4096)
            if not chunk:
                break
            head += chunk
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        path = parts[1].decode("ascii", "replace") if len(parts) == 3 else "/"
        host = next(
            (
                line.split(b":", 1)[1].strip().decode("ascii", "replace")
                for line in lines[1:]
                if line.lower().startswith(b"host:")
            ),
            "",
        )
        if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,100}", host):
            host = self.classroom.url.split("/")[2]
        if not re.fullmatch(r"/[\x21-\x7e]{0,2000}", path):
            path = "/"
        location = f"https://{host}{path}"
        body = f"This is pac studio's classroom: open {location}\n".encode("ascii", "replace")
        request.sendall(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: "
            + location.encode("ascii", "replace")
            + b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )

    # -- choosing the project ----------------------------------------------------------------------------
    def resolve(self, handler, path: str, method: str) -> str | None:
        cookies = SimpleCookie()
        try:
            cookies.load(handler.headers.get("Cookie", ""))
        except CookieError:
            pass
        cookie = {name: morsel.value for name, morsel in cookies.items()}
        teacher = self.classroom.is_teacher(cookie.get(TEACHER_COOKIE))
        if path.startswith("/s/"):
            segment, slash, rest = path[3:].partition("/")
            student = unquote(segment, errors="strict")
            if not slash and method == "GET":  # /s/<name> -> /s/<name>/
                self.redirect(handler, f"/s/{segment}/")
                return None
            if not teacher and self.classroom.cookie_student(cookie.get(STUDENT_COOKIE)) != student:
                if rest == "" and method == "GET":
                    self.redirect(handler, f"/?name={quote(student)}")
                    return None
                raise StudioError(
                    f"this is {student}'s studio: join the class as {student} on this computer "
                    f"first (open / and type the class code, the name and {student}'s code to continue)",
                    status=403,
                )
            handler.project = self.classroom.project(student)
            return "/" + rest
        form = method == "POST" and path in self.form_paths
        if method != "GET" and not form:
            raise StudioError("method not allowed", status=405)
        student = self.classroom.cookie_student(cookie.get(STUDENT_COOKIE))
        if student is not None and self.classroom.find_student(student) != student:
            student = None  # a cookie of a student whose folder is gone
        if path == "/":
            name = handler.query.get("name", [""])[0]
            self.join_page(handler, name=name, student=student, ask_code=self.taken(name, student))
        elif path == "/join":
            if form:
                self.join(handler, student, handler.read_form())
            else:  # an old bookmark or a typed address: codes are never taken from a query
                self.redirect(handler, "/")
        elif path == "/welcome":
            self.welcome(handler, student)
        elif path == "/teacher":
            self.teacher(handler, teacher, handler.read_form() if form else None)
        elif path == "/teacher/overview":
            if not teacher:
                raise StudioError("the teacher's overview needs the teacher's code (open /teacher)", status=401)
            handler.send_json({"students": self.classroom.overview(), "queue": self.classroom.queue.length})
        elif path == "/favicon.ico":
            handler.static("icon.svg")
        elif path.startswith("/static/") and path.count("/") == 2:
            handler.static(unquote(path[len("/static/") :], errors="strict"))
        else:
            raise StudioError("no such page", status=404)
        return None

    @staticmethod
    def redirect(handler, location: str, *, cookies: list[str] = ()) -> None:
        headers = {"Location": location}
        handler.send_bytes(
            b"", "text/plain; charset=utf-8", status=int(HTTPStatus.SEE_OTHER), headers=headers, cookies=list(cookies)
        )

    # -- the pages (joining: :class:`~pac.studio.classroom_codes.JoinPages`) -----------------------------------
    def teacher(self, handler, teacher: bool, form: dict | None) -> None:
        """``GET /teacher``: the teacher's page for the teacher's cookie, else the form asking for the code
        (a ``code`` in the query is ignored); ``POST /teacher`` (that form, ``form``): the code typed, right
        (the cookie, and back to ``GET /teacher``) or wrong (the form again, counted as a wrong guess)."""
        if form is not None:
            typed = form.get("code", "")
            if self.classroom.code_matches(typed, self.classroom.teacher_code, handler.client_address[0]):
                cookie = (
                    f"{TEACHER_COOKIE}={self.classroom.teacher_cookie()}; Path=/; Max-Age={TEACHER_SECONDS}; "
                    "Secure; HttpOnly; SameSite=Strict"
                )
                self.redirect(handler, "/teacher", cookies=[cookie])
                return
            teacher = False
        if not teacher:
            handler.send_bytes(
                teacher_login_html(wrong=form is not None),
                "text/html; charset=utf-8",
                status=401,
                csp=PAGE_CSP,
                referrer=FORM_REFERRER,
            )
            return
        handler.send_bytes(
            teacher_html(self.classroom),
            "text/html; charset=utf-8",
            csp=PAGE_CSP,
            headers={"Refresh": str(TEACHER_REFRESH)},
        )


__all__ = ["Classroom", "ClassroomServer", "CLASSROOM_FILE", "GUESS_WINDOW", "MAX_GUESSES", "TEACHER_SECONDS"]


# -- running a classroom -------------------------------------------------------------------------------

DEFAULT_CLASSROOM = "pac-classroom"


class ClassroomStudio:
    """A running classroom: the classroom folder, its certificate and the HTTPS server on a background
    thread.

    Parameters
    ----------
    folder : path
        The classroom folder (created if missing).
    host, port : str, int
        Where to listen: ``0.0.0.0`` (every network of this computer) by default; port 0 picks a free one.
    base_dir, speech_dir : path, optional
        The networks' folders (see :class:`pac.studio.server.Studio`).
    warm : bool
        Load TensorFlow and the default model's networks in the background right away.
    """

    def __init__(
        self,
        folder,
        *,
        host: str = "0.0.0.0",
        port: int = 8765,
        base_dir=None,
        speech_dir=None,
        warm: bool = True,
        quiet: bool = True,
        port_tries: int = 1,
    ):
        from .server import listen
        from .tls import certificate, fingerprint, lan_address

        self.networks = Networks(base_dir=base_dir, speech_dir=speech_dir)
        self.classroom = Classroom(folder, networks=self.networks)
        self.lock = ProjectLock(self.classroom.root)
        self.address = lan_address() if host in ("0.0.0.0", "") else host
        cert, key, self.new_certificate = certificate(self.classroom.root / TLS, addresses=[self.address])
        self.fingerprint = fingerprint(cert.read_bytes())
        self.thread = None
        self.server = listen(
            lambda address: ClassroomServer(address, self.classroom, cert=cert, key=key, quiet=quiet),
            host,
            port,
            port_tries=port_tries,
        )
        self.classroom.url = self.url
        try:
            self.lock.acquire(self.url)
        except BaseException:
            self.server.server_close()
            raise
        if warm:
            self.networks.warm_up()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        """The address students type (this computer's LAN address)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"https://{host}:{self.port}/"

    @property
    def local_url(self) -> str:
        """The address on this computer itself."""
        return (
            f"https://127.0.0.1:{self.port}/" if self.server.server_address[0] in ("0.0.0.0", "127.0.0.1") else self.url
        )

    def start(self) -> ClassroomStudio:
        self.thread = serve_in_thread(self.server, name="pac-classroom-https")
        return self

    def close(self) -> None:
        """Stop serving and release every project (running trainings are told to stop)."""
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join(timeout=10)
            self.thread = None
        self.server.server_close()
        self.classroom.close()
        self.lock.release()

    def __enter__(self) -> ClassroomStudio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def startup_lines(studio: ClassroomStudio) -> list[str]:
    """What ``pac studio --classroom`` prints once it listens: the address and its QR code, the codes,
    the certificate's fingerprint."""
    from .. import __version__
    from .tls import terminal_qr

    classroom = studio.classroom
    lines = [
        f"pac studio {__version__}: classroom {classroom.root} (one project per student in "
        f"{classroom.root / STUDENTS})",
        f"students open    {studio.url}",
        f"class code       {classroom.class_code}",
        f"teacher's page   {studio.url}teacher    teacher's code: {classroom.teacher_code}",
        f"certificate      {'made now' if studio.new_certificate else 'the same as before'}, SHA-256 "
        f"fingerprint {studio.fingerprint}",
        "Browsers warn about this self-signed certificate: check that the fingerprint they show "
        "(click the warning sign, then the certificate) is the one above, then choose Advanced > Proceed.",
        "",
        *terminal_qr(studio.url),
        "",
    ]
    if studio.address.startswith("127."):
        lines.append("note: no network found; only this computer can reach the classroom")
    lines.append("Ctrl-C stops the classroom; everything is saved as you go")
    return lines


__all__ += ["ClassroomStudio", "DEFAULT_CLASSROOM", "startup_lines"]
