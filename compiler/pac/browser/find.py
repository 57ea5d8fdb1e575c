"""Finding a browser for :class:`pac.browser.Browser`: ``$PAC_CHROME`` and ``$PAC_CHROMEDRIVER`` when set,
else the first Chrome, Chromium or Edge in the operating system's usual places and on PATH that has its
driver beside it or on PATH (never Selenium Manager, which downloads drivers)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

from ..errors import PacError

#: Environment variables naming the browser and its driver (both optional; see :func:`find_browser`).
ENV_BROWSER = "PAC_CHROME"
ENV_DRIVER = "PAC_CHROMEDRIVER"


@dataclasses.dataclass(frozen=True)
class BrowserCandidate:
    """A browser pac may drive: its ``kind`` (``chrome``, ``chromium`` or ``edge``), where it is
    looked for (absolute paths and PATH names) and the names of its WebDriver."""

    kind: str
    title: str
    places: tuple[str, ...]
    drivers: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class FoundBrowser:
    """A browser executable and the WebDriver that drives it."""

    kind: str
    browser: str
    driver: str


_CHROMEDRIVER = ("chromedriver",)
_EDGEDRIVER = ("msedgedriver",)


def _windows_places(environ, *tails: str) -> tuple[str, ...]:
    roots = [environ.get(k) for k in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
    roots = [r for r in roots if r] or ["C:\\Program Files", "C:\\Program Files (x86)"]
    return tuple(f"{root}\\{tail}" for tail in tails for root in roots)


def browser_candidates(platform: str | None = None, environ=None) -> list[BrowserCandidate]:
    """The browsers :func:`find_browser` looks for on ``platform`` (``sys.platform``), in order.

    Linux and others: the PATH names of Debian's/Ubuntu's Chromium (``chromium``,
    ``chromium-browser``), Google Chrome (``google-chrome-stable``, ``google-chrome``) and Microsoft
    Edge (``microsoft-edge-stable``, ``microsoft-edge``), and their install folders under ``/opt``
    and ``/snap``.  macOS: the apps in ``/Applications`` (and ``~/Applications``).  Windows: the
    installers' folders under Program Files, Program Files (x86) and the user's Local AppData.
    """
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    if platform.startswith("win"):
        return [
            BrowserCandidate(
                "chrome",
                "Google Chrome",
                ("chrome.exe", *_windows_places(environ, "Google\\Chrome\\Application\\chrome.exe")),
                _CHROMEDRIVER,
            ),
            BrowserCandidate(
                "chromium", "Chromium", _windows_places(environ, "Chromium\\Application\\chrome.exe"), _CHROMEDRIVER
            ),
            BrowserCandidate(
                "edge",
                "Microsoft Edge",
                ("msedge.exe", *_windows_places(environ, "Microsoft\\Edge\\Application\\msedge.exe")),
                _EDGEDRIVER,
            ),
        ]
    if platform == "darwin":
        apps = ["/Applications", str(Path(environ.get("HOME") or "~").expanduser() / "Applications")]
        return [
            BrowserCandidate(
                "chrome",
                "Google Chrome",
                tuple(f"{a}/Google Chrome.app/Contents/MacOS/Google Chrome" for a in apps),
                _CHROMEDRIVER,
            ),
            BrowserCandidate(
                "chromium",
                "Chromium",
                ("chromium", *(f"{a}/Chromium.app/Contents/MacOS/Chromium" for a in apps)),
                _CHROMEDRIVER,
            ),
            BrowserCandidate(
                "edge",
                "Microsoft Edge",
                tuple(f"{a}/Microsoft Edge.app/Contents/MacOS/Microsoft Edge" for a in apps),
                _EDGEDRIVER,
            ),
        ]
    return [
        BrowserCandidate(
            "chromium",
            "Chromium",
            ("chromium", "chromium-browser", "/snap/bin/chromium"),
            (
                *_CHROMEDRIVER,
                "chromium.chromedriver",
                "/usr/lib/chromium/chromedriver",
                "/usr/lib/chromium-browser/chromedriver",
            ),
        ),
        BrowserCandidate(
            "chrome",
            "Google Chrome",
            ("google-chrome-stable", "google-chrome", "/opt/google/chrome/chrome"),
            _CHROMEDRIVER,
        ),
        BrowserCandidate(
            "edge",
            "Microsoft Edge",
            ("microsoft-edge-stable", "microsoft-edge", "/opt/microsoft/msedge/msedge"),
            _EDGEDRIVER,
        ),
    ]


def _executable(place: str, environ) -> str | None:
    """``place`` (an absolute path, or a name looked up on the ``PATH`` of ``environ``) if it is an
    executable file."""
    if os.path.isabs(place) or os.sep in place or (os.altsep and os.altsep in place):
        return place if os.path.isfile(place) and os.access(place, os.X_OK) else None
    return shutil.which(place, path=environ.get("PATH", ""))


def _kind_of(path: str) -> str:
    """``edge`` for Microsoft Edge or its driver (by file name), else ``chrome`` (Chrome, Chromium)."""
    return "edge" if "edge" in Path(path).name.lower() else "chrome"


def _same_kind(candidates: list[BrowserCandidate], kind: str) -> list[BrowserCandidate]:
    return [c for c in candidates if (c.kind == "edge") == (kind == "edge")]


def _driver_for(candidate: BrowserCandidate, browser: str, environ) -> str | None:
    """The candidate's driver: beside the browser (as some installs ship it), on PATH, or at its
    usual absolute place."""
    suffix = ".exe" if browser.lower().endswith(".exe") else ""
    for name in candidate.drivers:
        if os.path.isabs(name):
            found = _executable(name, environ)
        else:
            found = _executable(str(Path(browser).parent / (name + suffix)), environ) or _executable(name, environ)
        if found:
            return found
    return None


def browser_help(platform: str | None = None) -> str:
    """How to get a browser and driver pac can use, for the message when none is found."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        how = (
            "Microsoft Edge comes with Windows: put msedgedriver.exe of the same version (Microsoft's "
            "Edge WebDriver download) on PATH; or install Google Chrome and put chromedriver.exe of the same "
            "version on PATH"
        )
    elif platform == "darwin":
        how = (
            "install Google Chrome and ChromeDriver of the same version (e.g. brew install --cask "
            "google-chrome chromedriver) so that chromedriver is on PATH"
        )
    else:
        how = "install Chromium and its driver (Debian/Ubuntu: sudo apt install chromium chromium-driver)"
    return (
        f"{how}, or set {ENV_BROWSER} and {ENV_DRIVER} to the browser and its driver. "
        f"`pac verify --no-browser` checks everything else"
    )


def find_browser(
    browser: str | None = None, driver: str | None = None, *, platform: str | None = None, environ=None
) -> FoundBrowser:
    """The Chrome, Chromium or Edge to run pages in, and its WebDriver.

    Looked up in this order: ``browser`` / ``driver`` given here, then ``$PAC_CHROME`` /
    ``$PAC_CHROMEDRIVER``, then each of :func:`browser_candidates` (the operating system's usual
    install places and PATH names) that has its driver (ChromeDriver for Chrome and Chromium,
    msedgedriver for Edge) beside it or on PATH.

    Raises
    ------
    PacError
        One line saying what was looked for and how to get a browser and driver.
    """
    environ = os.environ if environ is None else environ
    browser = browser or environ.get(ENV_BROWSER) or None
    driver = driver or environ.get(ENV_DRIVER) or None
    for value, what in ((browser, ENV_BROWSER), (driver, ENV_DRIVER)):
        if value and not _executable(value, environ):
            raise PacError(
                f"{what}={value} is not an executable file (nor a program on PATH); {browser_help(platform)}"
            )
    candidates = browser_candidates(platform, environ)
    if browser:
        browser = _executable(browser, environ)
        kind = _kind_of(browser)
        if driver is None:
            driver = next(filter(None, (_driver_for(c, browser, environ) for c in _same_kind(candidates, kind))), None)
        if driver is None:
            names = "msedgedriver" if kind == "edge" else "chromedriver"
            raise PacError(
                f"found the browser {browser} ({ENV_BROWSER}) but no {names} beside it or on PATH; "
                f"{browser_help(platform)}"
            )
        return FoundBrowser(kind, browser, _executable(driver, environ))
    if driver:  # only browsers this driver can drive
        candidates = _same_kind(candidates, _kind_of(driver))
    without_driver = []
    for candidate in candidates:
        for place in candidate.places:
            found = _executable(place, environ)
            if not found:
                continue
            chosen = _executable(driver, environ) if driver else _driver_for(candidate, found, environ)
            if chosen:
                return FoundBrowser(candidate.kind, found, chosen)
            without_driver.append(f"{candidate.title} at {found} (no {' or '.join(candidate.drivers[:1])})")
    looked = "; ".join(f"{c.title}: {', '.join(c.places)}" for c in candidates)
    if without_driver:
        raise PacError(f"no WebDriver for the browser found: {'; '.join(without_driver)}; {browser_help(platform)}")
    raise PacError(
        f"no Chrome, Chromium or Edge found ({ENV_BROWSER} is not set; looked on PATH and in the usual "
        f"places: {looked}); {browser_help(platform)}"
    )
