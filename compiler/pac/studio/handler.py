"""The studio's HTTP plumbing: routes, request reading and answers, the security checks every request
passes (the routes themselves are in :mod:`pac.studio.api_project` and :mod:`pac.studio.api_models`).

Standard library only (:class:`http.server.ThreadingHTTPServer`).  Security rules:

* it listens on 127.0.0.1 unless told otherwise (``--host``, with a warning);
* while it listens on a loopback address, requests must name a loopback host (``Host`` header), so
  a web site that points its own domain at 127.0.0.1 (DNS rebinding) gets nothing;
* every request that changes something must carry the header ``X-Pac-Studio`` (which other sites'
  pages cannot send without a CORS preflight this server never grants) and, if the browser sends an
  ``Origin``, it must be this server's own;
* the exception is a POST of a plain HTML form to one of the server's ``form_paths`` (the
  classroom's ``/join`` and ``/teacher``, which take codes: a code in a GET's query would stay in the
  browser's history and in logs): a form cannot send that header, so there the ``Origin`` must be sent
  and be this server's own (browsers send it with every form POST), and the body is read by
  :meth:`StudioHandler.read_form` (``application/x-www-form-urlencoded``, size, UTF-8, field count);
  the pages holding such a form are served with ``Referrer-Policy: same-origin``, since under the
  studio's ``no-referrer`` browsers send ``Origin: null``;
* responses forbid framing and cross-origin embedding, and the page may only load its own files;
* request bodies are limited in size (:data:`pac.limits.LIMITS`) before a byte is read, a body that
  stops arriving is dropped after :attr:`StudioHandler.timeout` seconds, JSON bodies are parsed by
  :func:`pac.jsonsafe.loads` (size, UTF-8, nesting depth) and each field a route reads is
  type-checked, so a malformed request gets a 4xx (any unknown method a 405), never a 5xx;
* names in URLs are only ever looked up in folder listings (see :mod:`pac.studio.store`);
* errors are answered as ``{"error": "one readable line"}``, and an unexpected one is logged with its
  traceback on the terminal, never sent to the page.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .. import __version__, train_options
from ..errors import PacError
from ..jsonsafe import loads as json_loads
from ..limits import LIMITS
from .jobs import tidy
from .networks import log_error
from .store import StudioError

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Bodies larger than this are not even read: the connection is closed after the error answer.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
    "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
MUTATION_HEADER = "X-Pac-Studio"
FORM_TYPE = "application/x-www-form-urlencoded"
#: Fields a form may send (the classroom's forms send at most three).
FORM_MAX_FIELDS = 10

#: JSON types a request field may have (``bool`` is not a number here, although Python says it is).
TEXT = ("text", (str,))
OPTIONAL_TEXT = ("text or null", (str, type(None)))
#: The training form sends its numbers as text (the fields' values); both are accepted.
NUMBER = ("a number, text or null", (int, float, str, type(None)))
#: The fields each JSON route reads; a field of another type is refused with a 400.
#: The training form's fields: the options the studio offers (:data:`pac.train_options.OPTIONS`) and the folder.
TRAIN_FIELDS = {
    **{
        spec.front_name: OPTIONAL_TEXT if spec.kind in (str, bool) else NUMBER
        for spec in train_options.OPTIONS
        if spec.studio
    },
    "noise_folder": OPTIONAL_TEXT,
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only reaches this computer."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- routes ------------------------------------------------------------------------------------------

_SEG = r"(?P<{}>[^/]+)"
#: ``(method, regex, function)`` of every route, in the order they were declared; the function is
#: called with the handler and the path's named segments (URL-decoded).
ROUTES: list[tuple[str, re.Pattern, object]] = []


def route(method: str, pattern: str):
    """Declare a route: ``@route("GET", "/api/labels/{label}")`` on ``def f(handler, label)``."""
    names = re.findall(r"\{(\w+)\}", pattern)
    regex = re.escape(pattern)
    for name in names:
        regex = regex.replace(re.escape("{" + name + "}"), _SEG.format(name))

    def register(fn):
        ROUTES.append((method, re.compile("^" + regex + "$"), fn))
        return fn

    return register


def json_type(value) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {
        bool: "true/false",
        type(None): "null",
        str: "text",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


def check_fields(value, fields: dict[str, tuple[str, tuple]]) -> dict:
    """A parsed request body, checked: a JSON object whose ``fields`` (when present) have their types.

    Parameters
    ----------
    value : object
        The parsed body.
    fields : dict
        ``{name: (description, types)}``; other fields are ignored.

    Returns
    -------
    dict
        ``value``.

    Raises
    ------
    StudioError
        A 400 naming the field, the type it must have and the type it had.
    """
    if not isinstance(value, dict):
        raise StudioError(f"the request must be a JSON object, not {json_type(value)}")
    for name, (description, types) in fields.items():
        if name not in value:
            continue
        field = value[name]
        if isinstance(field, bool) or not isinstance(field, types):
            raise StudioError(f"the request: {name!r} must be {description}, not {json_type(field)}")
        if isinstance(field, str) and not field.isascii():
            try:
                field.encode("utf-8")
            except UnicodeEncodeError:
                raise StudioError(f"the request: {name!r} is not valid Unicode text (a lone surrogate)") from None
    return value


def size_text(n: int) -> str:
    """A byte count for messages: ``"1.2 MB"``, or ``"65.5 KB"`` below 0.1 MB."""
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


class StudioHandler(BaseHTTPRequestHandler):
    """One request: its checks, its route (on the project :meth:`StudioServer.resolve` chose) and its answer.

    ``project`` is the :class:`pac.studio.server.Project` the request is about (``store``, ``jobs``);
    in a classroom each student's requests reach only that student's project.
    """

    server: StudioServer  # noqa: F821 - pac.studio.server.StudioServer
    project = None
    server_version = f"pac-studio/{__version__}"
    protocol_version = "HTTP/1.1"
    #: Seconds a connection may stay silent (idle between requests, or in the middle of a body)
    #: before the studio drops it: a client that stops sending cannot hold a thread for ever.
    timeout = 60

    # -- plumbing --------------------------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if not self.server.quiet:
            sys.stderr.write(f"pac studio: {self.address_string()} {format % args}\n")

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("GET", head=True)

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self):  # noqa: N802
        self._head = False
        self._body_read = False
        self._allow = "GET, HEAD, POST, DELETE"
        self._refuse(
            HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed (the studio answers GET, HEAD, POST and DELETE)"
        )

    do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = do_PUT  # noqa: N815

    def __getattr__(self, name: str):
        """Any other method (``PROPFIND``, ``get``, ``BREW``...) gets the same 405, not http.server's 501."""
        if name.startswith("do_"):
            return self.do_PUT
        raise AttributeError(name)

    def _dispatch(self, method: str, *, head: bool = False) -> None:
        self._head = head
        self._body_read = False
        self.project = None
        try:
            parts = urlsplit(self.path)
            self.query = parse_qs(parts.query)
            if not self._allowed(method, parts.path):
                return
            path = self.server.resolve(self, parts.path, method)
            if path is None:
                return  # answered (a classroom page, a redirect)
            for route_method, regex, fn in ROUTES:
                match = regex.match(path)
                if match and route_method == method:
                    args = {k: unquote(v, errors="strict") for k, v in match.groupdict().items()}
                    fn(self, **args)
                    return
            if any(regex.match(path) for _, regex, _ in ROUTES):
                self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            else:
                self._refuse(HTTPStatus.NOT_FOUND, "no such page")
        except StudioError as exc:
            self._refuse(exc.status, self._tidy(str(exc)))
        except PacError as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, self._tidy(str(exc)))
        except UnicodeDecodeError:
            self._refuse(HTTPStatus.BAD_REQUEST, "the address is not valid UTF-8")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away or stopped sending: no one to answer
        except Exception as exc:  # noqa: BLE001 - log it, answer one line
            log_error(f"{method} {self.path} failed")
            self._refuse(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"something went wrong on the server ({type(exc).__name__}); the terminal running "
                "pac studio shows the details",
            )

    def _tidy(self, message: str) -> str:
        return tidy(message, self.project.store) if self.project is not None else message

    @property
    def store(self):
        """The request's :class:`~pac.studio.store.ProjectStore`."""
        return self.project.store

    @property
    def jobs(self):
        """The request's :class:`~pac.studio.jobs.Jobs`."""
        return self.project.jobs

    def _allowed(self, method: str, path: str) -> bool:
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.server.loopback_only and not is_loopback(name.lower()):
            self._refuse(HTTPStatus.FORBIDDEN, "this studio only answers requests for localhost")
            return False
        if method != "GET":
            origin = self.headers.get("Origin")
            own = f"{self.server.scheme}://{host}"
            if method == "POST" and path in self.server.form_paths:
                allowed = origin == own  # a form cannot send X-Pac-Studio: its Origin must be there, and ours
            else:
                allowed = self.headers.get(MUTATION_HEADER) == "1" and (not origin or origin == own)
            if not allowed:
                self._refuse(HTTPStatus.FORBIDDEN, "changes must come from the studio page")
                return False
        return True

    def _security_headers(self, referrer: str = "no-referrer") -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", referrer)
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")

    def send_bytes(
        self,
        data: bytes,
        content_type: str,
        *,
        status: int = 200,
        cache: bool = False,
        filename: str | None = None,
        headers: dict | None = None,
        cookies: list[str] = (),
        csp: str = CSP,
        referrer: str = "no-referrer",
    ) -> None:
        """Answer ``data``; ``filename`` (ASCII) makes it a download of that name, ``headers`` are added
        (e.g. ``Location``), each of ``cookies`` is a ``Set-Cookie``, ``csp`` is an HTML page's
        Content-Security-Policy, ``referrer`` its Referrer-Policy (``same-origin`` for a page with a form
        to a ``form_paths`` path: under ``no-referrer`` the browser would send ``Origin: null``)."""
        if not self._body_read:
            self._drain()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", csp)
        self._security_headers(referrer)
        if getattr(self, "_allow", None):
            self.send_header("Allow", self._allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not self._head:
            self.wfile.write(data)

    def send_json(self, value, *, status: int = 200) -> None:
        try:
            data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800") echoed in a message: send it escaped
            data = json.dumps(value).encode("ascii")
        self.send_bytes(data, "application/json; charset=utf-8", status=status)

    def _refuse(self, status, message: str) -> None:
        try:
            self.send_json({"error": message}, status=int(status))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _drain(self) -> None:
        """Read and drop an unread body (so the browser sees the answer), or close if it is huge."""
        self._body_read = True
        length = self.content_length()
        if self.headers.get("Transfer-Encoding") or length < 0 or length > MAX_DRAIN_BYTES:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def content_length(self) -> int:
        """The request's ``Content-Length``: 0 when absent, -1 unless plain digits (not ``-1``, ``+5``, ``1_0``)."""
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        raw = raw.strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1

    def read_body(self, limit: int, what: str) -> bytes:
        """The request body, refused (before reading any of it) unless its length is given and within ``limit``."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise StudioError("send the data with a Content-Length (chunked uploads are not supported)", status=411)
        if self.headers.get("Content-Length") is None:
            self.close_connection = True
            raise StudioError("the request has no Content-Length", status=411)
        size = self.content_length()
        if size < 0:  # read(-1) would read until the client stops: refuse before reading anything
            self.close_connection = True
            raise StudioError("bad Content-Length", status=400)
        if size > limit:
            raise StudioError(f"{what} is too large ({size_text(size)}, at most {size_text(limit)})", status=413)
        data = self.rfile.read(size)
        self._body_read = True
        if len(data) != size:
            self.close_connection = True
            raise StudioError(f"{what} arrived incomplete", status=400)
        return data

    def read_json(self, fields: dict[str, tuple[str, tuple]]) -> dict:
        """The request's JSON object (an empty body is ``{}``), ``fields`` type-checked (:func:`check_fields`)."""
        limit = LIMITS.request_json_max_bytes
        data = self.read_body(limit, "the request")
        value = json_loads(data, source="the request", max_bytes=limit) if data.strip() else {}
        return check_fields(value, fields)

    def read_form(self, *, max_fields: int = FORM_MAX_FIELDS) -> dict[str, str]:
        """The fields of an HTML form's POST (``application/x-www-form-urlencoded``, UTF-8, at most
        :data:`~pac.limits.Limits.request_json_max_bytes` and ``max_fields`` fields): name -> its first
        value (a field sent empty is ``""``, one not sent is missing).

        Raises
        ------
        StudioError
            415 for another Content-Type, 400 for bytes that are not UTF-8 or too many fields, 411/413
            as :meth:`read_body` (one line each).
        """
        kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if kind != FORM_TYPE:
            raise StudioError(f"the form must be sent as {FORM_TYPE}", status=415)
        data = self.read_body(LIMITS.request_json_max_bytes, "the form")
        try:
            fields = parse_qs(
                data.decode("utf-8"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
                max_num_fields=max_fields,
            )
        except UnicodeDecodeError:
            raise StudioError("the form is not valid UTF-8", status=400) from None
        except ValueError:  # parse_qs: "Max number of fields exceeded"
            raise StudioError(f"the form has too many fields (at most {max_fields})", status=400) from None
        return {name: values[0] for name, values in fields.items()}

    def header_text(self, name: str) -> str | None:
        """A header sent URL-encoded by the page (file names may be any Unicode)."""
        value = self.headers.get(name)
        return unquote(value) if value else None

    def static(self, name: str) -> None:
        """A file of the page (``static/``), found by exact name in the folder's listing."""
        files = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
        if name not in files or Path(name).suffix not in CONTENT_TYPES:
            raise StudioError("no such file", status=404)
        self.send_bytes(files[name].read_bytes(), CONTENT_TYPES[Path(name).suffix])


__all__ = [
    "StudioHandler",
    "route",
    "ROUTES",
    "check_fields",
    "is_loopback",
    "TEXT",
    "OPTIONAL_TEXT",
    "NUMBER",
    "TRAIN_FIELDS",
    "CSP",
    "size_text",
]
