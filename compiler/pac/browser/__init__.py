"""Run the classifier page in headless Chromium, with a recording fake of the App Inventor bridge.

Used by the tests, by benchmarks and by anything that must check that the page on the phone gives
the answers pac gives.  :class:`Browser` serves a folder (normally one written by
:func:`pac.runtime.write_assets`, or a folder of several of them) over HTTP on 127.0.0.1, starts
an installed Chrome, Chromium or Edge (:func:`find_browser`) through Selenium and its WebDriver
(ChromeDriver, or msedgedriver for Edge), and installs, before any page script runs, a fake
``window.PersonalAudioClassifier`` whose ``ready``/``reportResult``/``error`` record every call
(generated from ``extension/bridge.json``)::

    with Browser(asset_dir) as browser:
        labels = browser.open(backend="wasm")          # waits for ready(labelsJson)
        call = browser.classify_wav(Path("clip.wav").read_bytes())
        call["method"], call["args"]                    # "reportResult", [json] / "error", [code, msg]

Nothing goes to the internet: Chromium's background networking is off and the page only loads
relative URLs from the local server.  Chromium is always quit, also on errors.

Which browser: :func:`find_browser` takes ``$PAC_CHROME`` and ``$PAC_CHROMEDRIVER`` when set, else
the first Chrome, Chromium or Edge found in the usual places of the operating system and on PATH
that has its driver beside it or on PATH.  Selenium Manager (which downloads drivers) is never
used: pac works offline.
"""

from __future__ import annotations

from .find import (
    ENV_BROWSER,
    ENV_DRIVER,
    BrowserCandidate,
    FoundBrowser,
    browser_candidates,
    browser_help,
    find_browser,
)
from .session import CHROMIUM_FLAGS, MIME_TYPES, Browser, fake_bridge_script

__all__ = [
    "CHROMIUM_FLAGS",
    "ENV_BROWSER",
    "ENV_DRIVER",
    "MIME_TYPES",
    "Browser",
    "BrowserCandidate",
    "FoundBrowser",
    "browser_candidates",
    "browser_help",
    "fake_bridge_script",
    "find_browser",
]
