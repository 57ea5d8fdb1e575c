"""The studio's HTTP server: the page's static files and a small JSON API over the project store.

Standard library only (:class:`http.server.ThreadingHTTPServer`).  Security rules:

* it listens on 127.0.0.1 unless told otherwise (``--host``, with a warning);
* while it listens on a loopback address, requests must name a loopback host (``Host`` header), so
  a web site that points its own domain at 127.0.0.1 (DNS rebinding) gets nothing;
* every request that changes something must carry the header ``X-Pac-Studio`` (which other sites'
  pages cannot send without a CORS preflight this server never grants) and, if the browser sends an
  ``Origin``, it must be this server's own;
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

import io
import ipaddress
import json
import re
import socket
import sys
import threading
import time
import zipfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .. import __version__, train_options
from ..dataset import BACKGROUND_LABEL, MIN_CLIPS_PER_LABEL
from ..errors import PacError
from ..features import PROFILES
from ..jsonsafe import loads as json_loads
from ..limits import LIMITS
from ..modeldir import MANIFEST
from .jobs import EXPORTS, TF_LOCK, Jobs, export_problem, export_support, log_error, tidy
from .store import LABELS, MODELS, SOURCES, ProjectStore, StudioError

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_PORT = 8765
DEFAULT_PROJECT = "pac-studio-project"
#: Bodies larger than this are not even read: the connection is closed after the error answer.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                 ".ico": "image/x-icon", ".json": "application/json"}
CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
       "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
MUTATION_HEADER = "X-Pac-Studio"

#: JSON types a request field may have (``bool`` is not a number here, although Python says it is).
TEXT = ("text", (str,))
OPTIONAL_TEXT = ("text or null", (str, type(None)))
#: The training form sends its numbers as text (the fields' values); both are accepted.
NUMBER = ("a number, text or null", (int, float, str, type(None)))
#: The fields each JSON route reads; a field of another type is refused with a 400.
#: The training form's fields: the options the studio offers (:data:`pac.train_options.OPTIONS`) and the folder.
TRAIN_FIELDS = {**{spec.front_name: OPTIONAL_TEXT if spec.kind in (str, bool) else NUMBER
                   for spec in train_options.OPTIONS if spec.studio},
                "noise_folder": OPTIONAL_TEXT}


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
ROUTES: list[tuple[str, re.Pattern, str]] = []


def route(method: str, pattern: str):
    names = re.findall(r"\{(\w+)\}", pattern)
    regex = re.escape(pattern)
    for name in names:
        regex = regex.replace(re.escape("{" + name + "}"), _SEG.format(name))

    def register(fn):
        ROUTES.append((method, re.compile("^" + regex + "$"), fn.__name__))
        return fn
    return register


class StudioServer(ThreadingHTTPServer):
    """The HTTP server of one studio (its store, jobs and classifier cache)."""

    daemon_threads = True
    block_on_close = False
    #: Connections the OS queues while the studio is busy (a class of 30 opening the page at once).
    request_queue_size = 128

    def __init__(self, address, store: ProjectStore, jobs: Jobs, *, quiet: bool = True):
        self.store = store
        self.jobs = jobs
        self.quiet = quiet
        self.loopback_only = is_loopback(address[0])
        self.classifiers: dict[str, tuple] = {}
        self.classifier_lock = threading.Lock()
        host = address[0]
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        self.address_family = family
        super().__init__((host.strip("[]"), address[1]), StudioHandler)

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
        networks = [n for n in ("mobilenet", "speech") if n in manifest.blocks] or ["mobilenet"]
        with TF_LOCK:
            self.jobs.load_networks(networks)
            classifier = Classifier(folder, base=self.jobs.base_dir, speech_base=self.jobs.speech_dir)
        with self.classifier_lock:
            self.classifiers[folder.name] = (stamp, classifier)
            while len(self.classifiers) > 3:
                self.classifiers.pop(next(iter(self.classifiers)))
        return classifier


def json_type(value) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {bool: "true/false", type(None): "null", str: "text", int: "a number", float: "a number",
             list: "a list", dict: "an object"}
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
    server: StudioServer
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
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed (the studio answers GET, HEAD, POST "
                                                    "and DELETE)")

    do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = do_PUT  # noqa: N815

    def __getattr__(self, name: str):
        """Any other method (``PROPFIND``, ``get``, ``BREW``...) gets the same 405, not http.server's 501."""
        if name.startswith("do_"):
            return self.do_PUT
        raise AttributeError(name)

    def _dispatch(self, method: str, *, head: bool = False) -> None:
        self._head = head
        self._body_read = False
        try:
            parts = urlsplit(self.path)
            self.query = parse_qs(parts.query)
            if not self._allowed(method):
                return
            for route_method, regex, name in ROUTES:
                match = regex.match(parts.path)
                if match and route_method == method:
                    args = {k: unquote(v, errors="strict") for k, v in match.groupdict().items()}
                    getattr(self, name)(**args)
                    return
            if any(regex.match(parts.path) for _, regex, _ in ROUTES):
                self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            else:
                self._refuse(HTTPStatus.NOT_FOUND, "no such page")
        except StudioError as exc:
            self._refuse(exc.status, tidy(str(exc), self.server.store))
        except PacError as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, tidy(str(exc), self.server.store))
        except UnicodeDecodeError:
            self._refuse(HTTPStatus.BAD_REQUEST, "the address is not valid UTF-8")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away or stopped sending: no one to answer
        except Exception as exc:  # noqa: BLE001 - log it, answer one line
            log_error(f"{method} {self.path} failed")
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR,
                         f"something went wrong on the server ({type(exc).__name__}); the terminal running "
                         "pac studio shows the details")

    def _allowed(self, method: str) -> bool:
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.server.loopback_only and not is_loopback(name.lower()):
            self._refuse(HTTPStatus.FORBIDDEN, "this studio only answers requests for localhost")
            return False
        if method != "GET":
            if self.headers.get(MUTATION_HEADER) != "1":
                self._refuse(HTTPStatus.FORBIDDEN, "changes must come from the studio page")
                return False
            origin = self.headers.get("Origin")
            if origin and origin != f"http://{host}":
                self._refuse(HTTPStatus.FORBIDDEN, "changes must come from the studio page")
                return False
        return True

    def _security_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")

    def send_bytes(self, data: bytes, content_type: str, *, status: int = 200, cache: bool = False,
                   filename: str | None = None) -> None:
        if not self._body_read:
            self._drain()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
        self._security_headers()
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

    def header_text(self, name: str) -> str | None:
        """A header sent URL-encoded by the page (file names may be any Unicode)."""
        value = self.headers.get(name)
        return unquote(value) if value else None

    # -- the page ----------------------------------------------------------------------------------
    @route("GET", "/")
    def index(self) -> None:
        self.static("index.html")

    @route("GET", "/favicon.ico")
    def favicon(self) -> None:
        self.static("icon.svg")

    @route("GET", "/static/{name}")
    def static(self, name: str) -> None:
        files = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
        if name not in files or Path(name).suffix not in CONTENT_TYPES:
            raise StudioError("no such file", status=404)
        self.send_bytes(files[name].read_bytes(), CONTENT_TYPES[Path(name).suffix])

    # -- project -----------------------------------------------------------------------------------
    def disk_signature(self) -> str:
        """Changes when folders gain or lose entries (also edits made outside the page)."""
        store = self.server.store
        stamps = []
        for folder in [store.root / LABELS, *store.label_dirs(), store.root / MODELS]:
            try:
                stamps.append(folder.stat().st_mtime_ns)
            except FileNotFoundError:
                stamps.append(0)
        return f"{store.revision}-{hash(tuple(stamps)) & 0xFFFFFFFF:x}"

    @route("GET", "/api/project")
    def project(self) -> None:
        store = self.server.store
        revision = self.disk_signature()
        if self.query.get("since", [None])[0] == revision:
            self.send_json({"revision": revision, "unchanged": True})
            return
        with store.lock:
            clips = store.all_clips()
            models = store.models()
            for model in models:
                model["export_problems"] = {kind: export_problem(kind, store.root / MODELS / model["id"])
                                            for kind in EXPORTS}
        training = self.server.jobs.training
        self.send_json({
            "revision": revision, "version": __version__,
            "name": store.root.name, "path": str(store.root),
            "profile": store.profile, "profiles": list(PROFILES),
            "labels": [{"name": name, "clips": infos} for name, infos in clips.items()], "models": models,
            "training": training.to_json() if training else None,
            "problems": store.training_problems(clips),
            "base": self.server.jobs.base_status,
            "exports": {kind: {k: v for k, v in export_support(kind).items() if k in ("available", "note", "title")}
                        for kind in EXPORTS},
            "limits": {"max_clip_bytes": LIMITS.upload_max_bytes, "min_clips": MIN_CLIPS_PER_LABEL,
                       "max_label_chars": LIMITS.label_max_chars,
                       "max_request_bytes": LIMITS.request_json_max_bytes},
            "background_label": BACKGROUND_LABEL,
            "remote": not self.server.loopback_only,
        })

    @route("POST", "/api/settings")
    def settings(self) -> None:
        data = self.read_json({"profile": TEXT})
        if "profile" in data:
            if self.server.jobs.training is not None and self.server.jobs.training.running:
                raise StudioError("wait for the training run to finish before changing the feature profile",
                                  status=409)
            self.server.store.set_profile(data["profile"])
        self.send_json({"profile": self.server.store.profile})

    # -- labels and clips --------------------------------------------------------------------------
    @route("POST", "/api/labels")
    def add_label(self) -> None:
        name = self.server.store.add_label(self.read_json({"name": TEXT}).get("name"))
        self.send_json({"name": name}, status=201)

    @route("POST", "/api/labels/{label}/rename")
    def rename_label(self, label: str) -> None:
        name = self.server.store.rename_label(label, self.read_json({"name": TEXT}).get("name"))
        self.send_json({"name": name})

    @route("DELETE", "/api/labels/{label}")
    def delete_label(self, label: str) -> None:
        self.server.store.delete_label(label)
        self.send_json({"deleted": label})

    @route("POST", "/api/labels/{label}/clips")
    def add_clip(self, label: str) -> None:
        store = self.server.store
        store.label_dir(label)  # a clear 404 before reading a body for nothing
        data = self.read_body(LIMITS.upload_max_bytes, "the clip")
        source = self.headers.get("X-Clip-Source", "uploaded")
        info = store.add_clip(label, data, source=source, original_name=self.header_text("X-Clip-Name"))
        self.send_json(info, status=201)

    @route("GET", "/api/labels/{label}/clips/{clip}/audio")
    def clip_audio(self, label: str, clip: str) -> None:
        path = self.server.store.clip_path(label, clip)
        self.send_bytes(path.read_bytes(), "audio/wav")

    @route("GET", "/api/labels/{label}/clips/{clip}/spectrogram")
    def clip_spectrogram(self, label: str, clip: str) -> None:
        store = self.server.store
        path = store.clip_path(label, clip)
        self.send_bytes(store.spectrogram_png(path), "image/png", cache=True)

    @route("DELETE", "/api/labels/{label}/clips/{clip}")
    def delete_clip(self, label: str, clip: str) -> None:
        self.server.store.delete_clip(label, clip)
        self.send_json({"deleted": clip})

    # -- training ----------------------------------------------------------------------------------
    @route("POST", "/api/train")
    def train(self) -> None:
        job = self.server.jobs.start_training(self.read_json(TRAIN_FIELDS))
        self.send_json(job.to_json(), status=202)

    @route("GET", "/api/train/options")
    def train_option_declarations(self) -> None:
        """The training options the form offers: bounds, defaults, choices and presets
        (:func:`pac.train_options.to_json`), so the page does not repeat them."""
        self.send_json(train_options.to_json())

    @route("GET", "/api/train")
    def train_status(self) -> None:
        job = self.server.jobs.training
        self.send_json(job.to_json() if job else None)

    @route("POST", "/api/train/cancel")
    def train_cancel(self) -> None:
        job = self.server.jobs.cancel_training()
        self.send_json(job.to_json() if job else None)

    # -- models ------------------------------------------------------------------------------------
    @route("GET", "/api/models/{model}/files/{name}")
    def model_file(self, model: str, name: str) -> None:
        if name not in ("curves.png", "confusion.png"):
            raise StudioError("no such file", status=404)
        path = self.server.store.model_dir(model) / name
        if not path.is_file():
            raise StudioError("no such file", status=404)
        self.send_bytes(path.read_bytes(), "image/png", cache=True)

    @route("DELETE", "/api/models/{model}")
    def delete_model(self, model: str) -> None:
        self.server.store.delete_model(model)
        with self.server.classifier_lock:
            self.server.classifiers.pop(model, None)
        self.send_json({"deleted": model})

    @route("GET", "/api/models/{model}/download/zip")
    def model_zip(self, model: str) -> None:
        store = self.server.store
        folder = store.model_dir(model)
        prefix = store.download_stem(folder.name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    archive.write(path, f"{prefix}/{path.name}")
        self.send_bytes(buffer.getvalue(), "application/zip", filename=f"{prefix}.zip")

    @route("POST", "/api/models/{model}/export/{kind}")
    def export(self, model: str, kind: str) -> None:
        job = self.server.jobs.start_export(model, kind)
        self.send_json(job.to_json(), status=202)

    @route("GET", "/api/models/{model}/export/{kind}")
    def export_status(self, model: str, kind: str) -> None:
        export_support(kind)
        job = self.server.jobs.export_job(self.server.store.model_dir(model).name, kind)
        self.send_json(job.to_json() if job else None)

    @route("GET", "/api/models/{model}/download/{kind}")
    def export_download(self, model: str, kind: str) -> None:
        if kind not in EXPORTS:
            raise StudioError("no such download", status=404)
        job = self.server.jobs.export_job(self.server.store.model_dir(model).name, kind)
        if job is None or job.state != "done" or not job.file:
            raise StudioError(f"build the {EXPORTS[kind]['title']} first", status=404)
        path = self.server.store.exports_dir(model) / job.file
        if not path.is_file():
            raise StudioError("the file is gone; build it again", status=404)
        content_type = "application/zip" if kind == "aix" else "application/octet-stream"
        self.send_bytes(path.read_bytes(), content_type, filename=path.name)

    # -- testing -----------------------------------------------------------------------------------
    @route("POST", "/api/models/{model}/classify")
    def classify(self, model: str) -> None:
        from ..classifier import ranked

        store = self.server.store
        store.model_dir(model)
        data = self.read_body(LIMITS.upload_max_bytes, "the clip")
        source = self.headers.get("X-Clip-Source", "recorded")
        if source not in SOURCES:
            raise StudioError(f"unknown clip source {source!r}")
        name = self.header_text("X-Clip-Name") or ("recording" if source == "recorded" else "upload")
        audio = store.check_clip(data, name=name)
        classifier = self.server.classifier(model)
        started = time.perf_counter()
        result = ranked(classifier.labels, classifier.probabilities([audio])[0])
        expected = self.query.get("expected", [None])[0] or None
        entry = store.add_test(model, data, result=result, expected=expected, source=source, original_name=name)
        entry["seconds"] = round(time.perf_counter() - started, 3)
        self.send_json(entry, status=201)

    @route("GET", "/api/models/{model}/tests")
    def tests(self, model: str) -> None:
        self.send_json(self.server.store.tests(model))

    @route("DELETE", "/api/models/{model}/tests")
    def clear_tests(self, model: str) -> None:
        self.server.store.delete_test(model)
        self.send_json({"cleared": model})

    @route("POST", "/api/models/{model}/tests/{test}")
    def set_test(self, model: str, test: str) -> None:
        expected = self.read_json({"expected": OPTIONAL_TEXT}).get("expected") or None
        self.send_json(self.server.store.set_test_expected(model, test, expected))

    @route("DELETE", "/api/models/{model}/tests/{test}")
    def delete_test(self, model: str, test: str) -> None:
        self.server.store.delete_test(model, test)
        self.send_json({"deleted": test})

    @route("GET", "/api/models/{model}/tests/{test}/audio")
    def test_audio(self, model: str, test: str) -> None:
        self.send_bytes(self.server.store.test_clip(model, test).read_bytes(), "audio/wav")

    @route("GET", "/api/models/{model}/tests/{test}/spectrogram")
    def test_spectrogram(self, model: str, test: str) -> None:
        """The image the model saw for a test clip (the model's own feature configuration)."""
        from ..modeldir import read_manifest

        store = self.server.store
        path = store.test_clip(model, test)
        config = read_manifest(store.model_dir(model)).features
        self.send_bytes(store.spectrogram_png(path, config), "image/png", cache=True)


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
            raise PacError(f"{self.path.parent}: another pac studio has this project open"
                           + (f" at {other}" if other else "") + "; use that one, or stop it first") from None
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

    def __init__(self, project, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, base_dir=None,
                 speech_dir=None, warm: bool = True, quiet: bool = True, port_tries: int = 1):
        self.store = ProjectStore(project)
        self.jobs = Jobs(self.store, base_dir=base_dir, speech_dir=speech_dir)
        self.lock = ProjectLock(self.store.root)
        self.server = None
        self.thread = None
        last_error = None
        for offset in range(max(1, port_tries)):
            try:
                self.server = StudioServer((host, port + offset if port else 0), self.store, self.jobs, quiet=quiet)
                break
            except OSError as exc:
                last_error = exc
        if self.server is None:
            raise PacError(f"cannot listen on {host}:{port} ({last_error.strerror or last_error}); "
                           "try another --port")
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

    def start(self) -> "Studio":
        self.thread = threading.Thread(target=self.server.serve_forever, name="pac-studio-http", daemon=True)
        self.thread.start()
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

    def __enter__(self) -> "Studio":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def run(project=None, *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True,
        base_dir=None, speech_dir=None, echo=print) -> None:
    """``pac studio``: serve until Ctrl-C.

    TensorFlow is imported here, in the main thread before the server's threads start, the one moment
    :func:`pac.libs.tensorflow` may hide the lines its import writes straight to stderr; the
    networks then load in the background (:meth:`Jobs.warm_up`).
    """
    from ..libs import tensorflow

    project = Path(project or DEFAULT_PROJECT)
    if not is_loopback(host):
        echo(f"warning: listening on {host}: anyone who can reach this computer on the network can open the "
             f"studio and read, change or delete the project's clips and models. Use this only on a network "
             f"you trust (the default, 127.0.0.1, is reachable from this computer only).")
    studio = Studio(project, host=host, port=DEFAULT_PORT if port is None else port, base_dir=base_dir,
                    speech_dir=speech_dir, port_tries=20 if port is None else 1, warm=False)
    try:
        echo(f"pac studio {__version__}: starting (loading TensorFlow takes a few seconds)")
        sys.stdout.flush()
        tensorflow()
        studio.start()
        echo(f"pac studio {__version__}: project {studio.store.root}")
        echo(f"open {studio.url} in a browser (Ctrl-C stops the studio; everything is saved as you go)")
        if not is_loopback(host):
            echo("note: browsers only allow the microphone on http://localhost or https pages; "
                 "other computers can upload WAV files but not record")
        sys.stdout.flush()
        studio.jobs.warm_up()
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(studio.url,), daemon=True).start()
        while studio.thread.is_alive():
            studio.thread.join(0.5)
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("\nstopping pac studio (everything is saved)\n")
            sys.stderr.flush()
    finally:
        studio.close()


__all__ = ["Studio", "StudioServer", "run", "DEFAULT_PORT", "DEFAULT_PROJECT"]
