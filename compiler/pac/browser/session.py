"""The headless browser session of :class:`pac.browser.Browser`: a local HTTP server for the page's folder,
Chromium driven through Selenium, and the recording fake of the App Inventor bridge it installs."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import socketserver
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

from ..errors import PacError
from ..serve import serve_in_thread
from .find import find_browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--mute-audio",
)
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
    "": "application/octet-stream",
}

# Installed with Page.addScriptToEvaluateOnNewDocument: runs before any script of every page.
# __METHODS__ is replaced by the JSON of {method: [param names]} from bridge.json.
_FAKE_BRIDGE = r"""
(function () {
  const methods = __METHODS__;
  const calls = [];
  const waiters = [];
  const consoleLines = [];
  function record(method, args) {
    const entry = {method: method, args: Array.prototype.slice.call(args), t: performance.now()};
    if (args.length !== methods[method].length) {
      entry.bad = 'expected ' + methods[method].length + ' arguments, got ' + args.length;
    }
    calls.push(entry);
    waiters.splice(0).forEach((w) => w());
  }
  const fake = {};
  Object.keys(methods).forEach((m) => { fake[m] = function () { record(m, arguments); }; });
  Object.defineProperty(window, __INTERFACE__, {value: Object.freeze(fake), writable: false});
  ['log', 'info', 'warn', 'error', 'debug'].forEach((level) => {
    const original = console[level].bind(console);
    console[level] = function () {
      try {
        consoleLines.push(level + ': ' + Array.prototype.map.call(arguments, String).join(' '));
        if (consoleLines.length > 500) consoleLines.shift();
      } catch (e) { /* never break the page */ }
      original.apply(null, arguments);
    };
  });
  window.__pacHarness = {
    calls: calls,
    console: consoleLines,
    /** Resolve with calls[index] once it exists, or null after timeoutMs. */
    waitFor: function (index, timeoutMs) {
      return new Promise((resolve) => {
        const deadline = setTimeout(() => resolve(null), timeoutMs);
        const check = () => {
          if (calls.length > index) { clearTimeout(deadline); resolve(calls[index]); }
          else waiters.push(check);
        };
        check();
      });
    },
  };
})();
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with exact MIME types, no caching, no request log."""

    def guess_type(self, path):
        return MIME_TYPES.get(Path(str(path)).suffix.lower(), "application/octet-stream")

    def do_GET(self):
        self.server.requested.append(self.path)
        super().do_GET()

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requested: list[str] = []


class Browser:
    """Headless Chromium showing pages from ``root``, with the fake bridge; a context manager.

    Parameters
    ----------
    root : path
        The folder to serve (an asset folder, or a folder holding several).
    timeout : float
        Default seconds to wait for ``ready`` and for each classification.
    chromium, chromedriver : path, optional
        The browser (Chrome, Chromium or Edge) and its driver; by default :func:`find_browser`'s.
    extra_args : sequence of str
        More Chromium flags (e.g. ``--enable-unsafe-swiftshader`` to allow software WebGL).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        timeout: float = 60.0,
        chromium: str | None = None,
        chromedriver: str | None = None,
        extra_args=(),
    ):
        self.root = Path(root)
        self.timeout = timeout
        self.chromium = chromium
        self.chromedriver = chromedriver
        self.extra_args = tuple(extra_args)
        self.driver = None
        self._server = None
        self._profile = None
        self.url = None

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the HTTP server and Chromium (called by ``with``)."""
        if not self.root.is_dir():
            raise PacError("is not a folder to serve", path=self.root)
        found = find_browser(self.chromium, self.chromedriver)
        self.chromium, self.chromedriver = found.browser, found.driver
        try:
            from selenium import webdriver
            from selenium.common.exceptions import WebDriverException

            if found.kind == "edge":
                from selenium.webdriver.edge.service import Service
            else:
                from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise PacError("the Python package selenium is missing (pip install selenium)") from None

        handler = functools.partial(_Handler, directory=str(self.root))
        self._server = _Server(("127.0.0.1", 0), handler)
        serve_in_thread(self._server, name="pac-http")
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

        self._profile = tempfile.mkdtemp(prefix="pac-chromium-")
        edge = found.kind == "edge"
        options = webdriver.EdgeOptions() if edge else webdriver.ChromeOptions()
        options.binary_location = self.chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", *self.extra_args):
            options.add_argument(flag)
        options.set_capability("ms:loggingPrefs" if edge else "goog:loggingPrefs", {"browser": "ALL"})
        try:
            service = Service(executable_path=self.chromedriver)
            self.driver = (webdriver.Edge if edge else webdriver.Chrome)(options=options, service=service)
        except WebDriverException as exc:
            raise PacError(
                f"cannot start the headless browser with {self.chromedriver} ({_first_line(exc.msg)}; "
                f"the driver's major version must match the browser's)",
                path=self.chromium,
            ) from None
        self.driver.set_script_timeout(self.timeout + 30)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": fake_bridge_script()})

    def close(self) -> None:
        """Quit Chromium, stop the server, remove the profile.  Safe to call twice."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # the browser may already be gone; quitting is best effort
                pass
            self.driver = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    # -- page ----------------------------------------------------------------------------------
    def open(
        self,
        page: str = "classifier.html",
        *,
        backend: str | None = None,
        query: dict | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> list[str] | None:
        """Load a page (a path relative to ``root``) and, by default, wait for ``ready``.

        Parameters
        ----------
        page : str
            URL path of the page below the served folder.
        backend : str, optional
            ``wasm``, ``webgl`` or ``cpu``: passed as ``?backend=`` to force a TF.js backend.
        query : dict, optional
            More query parameters (e.g. ``{"base": "layers"}``).
        wait : bool
            Whether to wait for the first bridge call and require it to be ``ready``.
        timeout : float, optional
            Seconds to wait (default: the browser's timeout).

        Returns
        -------
        list of str or None
            The labels from ``ready(labelsJson)``, or None if ``wait`` is false.

        Raises
        ------
        PacError
            If the page reports an error instead, or nothing within the timeout; the message
            includes the page's console output.
        """
        params = {**({"backend": backend} if backend else {}), **(query or {})}
        url = self.url + page.lstrip("/") + ("?" + urllib.parse.urlencode(params) if params else "")
        self.driver.get(url)
        if not wait:
            return None
        call = self.wait_call(0, timeout=timeout)
        if call is None:
            raise PacError(
                f"the classifier page did not become ready within {timeout or self.timeout:g} s; "
                f"console: {self.console_text()}",
                path=url,
            )
        if call["method"] != "ready":
            raise PacError(
                f"the classifier page called {call['method']}{tuple(call['args'])} instead of ready; "
                f"console: {self.console_text()}",
                path=url,
            )
        return json.loads(call["args"][0])

    def requested(self) -> list[str]:
        """Every URL path the browser asked the server for, in order (with any query string)."""
        return list(self._server.requested) if self._server else []

    def execute(self, script: str, *args):
        """Run JS in the page (``return`` gives a value; promises are awaited by Selenium)."""
        return self.driver.execute_script(script, *args)

    def calls(self) -> list[dict]:
        """Every bridge call so far: ``{"method", "args", "t"}`` (+ ``"bad"`` for a wrong arity)."""
        return self.execute("return window.__pacHarness ? window.__pacHarness.calls : [];")

    def wait_call(self, index: int, *, timeout: float | None = None) -> dict | None:
        """Bridge call number ``index`` (0-based) once it has happened, or None after the timeout."""
        ms = int(1000 * (timeout or self.timeout))
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.__pacHarness.waitFor(arguments[0], arguments[1]).then(done);",
            index,
            ms,
        )

    def console(self) -> list[str]:
        """The page's console lines (captured by the fake bridge) and Chromium's own log."""
        lines = []
        try:
            lines += self.execute("return window.__pacHarness ? window.__pacHarness.console : [];") or []
        except Exception:  # the page may be broken: the console is for diagnosis only
            pass
        try:
            lines += [f"chromium {e.get('level')}: {e.get('message')}" for e in self.driver.get_log("browser")]
        except Exception:  # not every driver supports the log endpoint
            pass
        return lines

    def console_text(self, limit: int = 20) -> str:
        """The last console lines joined on one line, for error messages."""
        lines = self.console()[-limit:]
        return " | ".join(" ".join(line.split()) for line in lines) or "(empty)"

    def info(self) -> dict:
        """``window.pac.info()``: state, backend, labels, feature configuration, start-up timings."""
        return self.execute("return window.pac.info();")

    # -- clips -----------------------------------------------------------------------------------
    def _submit(self, expression: str, *args, timeout: float | None = None) -> dict:
        index = len(self.calls())
        self.execute(expression, *args)
        call = self.wait_call(index, timeout=timeout)
        if call is None:
            raise PacError(
                f"the classifier page answered nothing within {timeout or self.timeout:g} s; "
                f"console: {self.console_text()}",
                path=self.driver.current_url,
            )
        return call

    def classify_wav(self, data: bytes, *, timeout: float | None = None) -> dict:
        """Send WAV bytes to ``window.pac.classifyWav`` and return the bridge call it produced."""
        text = base64.b64encode(bytes(data)).decode("ascii")
        return self._submit("window.pac.classifyWav(arguments[0]);", text, timeout=timeout)

    def classify_pcm(self, samples, rate: int, *, timeout: float | None = None) -> dict:
        """Send mono samples (as float32 little-endian) to ``window.pac.classifyPcm``."""
        raw = np.asarray(samples, dtype="<f4").tobytes()
        text = base64.b64encode(raw).decode("ascii")
        return self._submit("window.pac.classifyPcm(arguments[0], arguments[1]);", text, rate, timeout=timeout)

    def debug_image(self, data: bytes) -> np.ndarray:
        """The page's uint8 RGB spectrogram image for WAV bytes, shape ``(size, size, 3)``.

        Raises
        ------
        PacError
            With the page's error message if the page refuses the clip.
        """
        text = base64.b64encode(bytes(data)).decode("ascii")
        answer = self.execute(
            "return window.pac.debugImage(arguments[0]).then((b) => ({image: b}), (e) => ({error: e}));", text
        )
        if "error" in answer:
            raise PacError(f"the page refused the clip: error {answer['error']['code']}: {answer['error']['message']}")
        raw = np.frombuffer(base64.b64decode(answer["image"]), dtype=np.uint8)
        size = int(round((raw.size // 3) ** 0.5))
        return raw.reshape(size, size, 3)

    def time_classification(self, data: bytes, *, repeats: int, timeout: float | None = None) -> list[float]:
        """Milliseconds from ``classifyWav`` to the resulting bridge call, measured inside the page.

        The base64 text is in the page before the clock starts, so WebDriver's overhead is excluded
        but base64 decoding, WAV decoding, features, MobileNet, the head and the bridge call count.
        """
        text = base64.b64encode(bytes(data)).decode("ascii")
        ms = int(1000 * (timeout or self.timeout))
        times = self.driver.execute_async_script(
            """
            const [text, repeats, ms, done] = arguments;
            (async () => {
              const h = window.__pacHarness;
              const out = [];
              for (let i = 0; i < repeats; i++) {
                const index = h.calls.length;
                const t0 = performance.now();
                window.pac.classifyWav(text);
                const call = await h.waitFor(index, ms);
                if (!call) return {error: 'timeout'};
                if (call.method !== 'reportResult') return {error: JSON.stringify(call)};
                out.push(call.t - t0);
              }
              return {times: out};
            })().then(done, (e) => done({error: String(e)}));
            """,
            text,
            repeats,
            ms,
        )
        if "error" in times:
            raise PacError(f"timing failed: {times['error']}; console: {self.console_text()}")
        return times["times"]

    def stream_pcm(
        self,
        samples,
        rate: int,
        *,
        threshold: float | None = None,
        minimum_interval_ms: float | None = None,
        chunk_ms: float = 100.0,
        realtime: bool = True,
        timeout: float | None = None,
    ) -> dict:
        """Stream mono samples to the page's continuous listening as the component does.

        ``startStream(rate, threshold, minimumIntervalMs)``, then one ``pushPcm`` of float32 base64
        per ``chunk_ms`` of audio: with ``realtime``, chunk i is pushed ``(i + 1) * chunk_ms`` after
        the start (when a microphone would have delivered it); without, each chunk is pushed once the
        page has finished the windows of the previous ones (nothing is dropped), then ``stopStream``.

        Returns
        -------
        dict
            ``heard``: ``[{"label", "confidence", "t"}]`` (``t``: ms after the start, page clock),
            ``detections``: the same, as the stream logged them (``label``, ``confidence``,
            ``endSample`` of the window, ``time`` = endSample / rate),
            ``errors``: the error calls' args, ``pushed``: ms after the start of each push,
            ``chunk``: samples per chunk, ``stats``: the stream's counters, ``elapsed``: ms.
        """
        samples = np.asarray(samples, dtype="<f4")
        chunk = max(1, int(round(chunk_ms * rate / 1000.0)))
        chunks = [
            base64.b64encode(samples[i : i + chunk].tobytes()).decode("ascii") for i in range(0, len(samples), chunk)
        ]
        duration = len(samples) / rate
        limit = (timeout or self.timeout) + (duration if realtime else 4 * duration)
        # The stream runs in the page on its own; WebDriver only polls (one call may not last
        # longer than the driver's HTTP timeout).
        self.execute(
            """
            const [chunks, rate, threshold, interval, chunkMs, realtime] = arguments;
            window.__pacStream = null;
            (async () => {
              const h = window.__pacHarness;
              const first = h.calls.length;
              if (!window.pac.startStream(rate, threshold, interval)) {
                return {error: JSON.stringify(h.calls.slice(first))};
              }
              const t0 = performance.now();
              const pushed = [];
              for (let i = 0; i < chunks.length; i++) {
                if (realtime) {
                  const wait = t0 + (i + 1) * chunkMs - performance.now();
                  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
                } else {
                  await window.pac.streamIdle();
                }
                pushed.push(performance.now() - t0);
                window.pac.pushPcm(chunks[i]);
              }
              await window.pac.streamIdle();
              const stats = window.pac.streamStats();
              const detections = window.pac.streamDetections();
              const elapsed = performance.now() - t0;
              window.pac.stopStream();
              const calls = h.calls.slice(first);
              return {
                heard: calls.filter((c) => c.method === 'heard')
                  .map((c) => ({label: c.args[0], confidence: c.args[1], t: c.t - t0})),
                errors: calls.filter((c) => c.method === 'error').map((c) => c.args),
                detections: detections, pushed: pushed, stats: stats, elapsed: elapsed,
              };
            })().then((r) => { window.__pacStream = r; }, (e) => { window.__pacStream = {error: String(e)}; });
            """,
            chunks,
            int(rate),
            threshold,
            minimum_interval_ms,
            float(chunk_ms),
            bool(realtime),
        )
        deadline = time.monotonic() + limit
        answer = None
        while answer is None:
            if time.monotonic() > deadline:
                raise PacError(
                    f"streaming {duration:.1f} s did not finish within {limit:.0f} s; console: {self.console_text()}"
                )
            time.sleep(0.05 if not realtime else 0.5)
            answer = self.execute("return window.__pacStream;")
        if "error" in answer:
            raise PacError(f"streaming failed: {answer['error']}; console: {self.console_text()}")
        answer["chunk"] = chunk
        return answer


def fake_bridge_script(bridge: dict | None = None) -> str:
    """The JS of the recording fake bridge, generated from ``extension/bridge.json``."""
    from ..runtime import read_bridge

    bridge = bridge or read_bridge()
    methods = {name: spec.get("params", []) for name, spec in bridge["js_to_java"].items()}
    return _FAKE_BRIDGE.replace("__METHODS__", json.dumps(methods)).replace(
        "__INTERFACE__", json.dumps(bridge["javascript_interface"])
    )


def _first_line(text) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else "unknown error"
