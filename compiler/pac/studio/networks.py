"""The pretrained networks the studio's jobs use (MobileNet, the speech embedding), loaded once per
process and shared by every project of the studio (a classroom's students too), and :data:`TF_LOCK`.

:data:`TF_LOCK` makes the short TensorFlow work of the jobs and the server run one at a time:
loading (or downloading) a network, so each loads once, and building Keras models (saving a model,
loading a head for a classifier or a ``.mdl``), whose ``tf_keras`` state is process-wide and not
documented as thread-safe.  Training's long fit and ``.aix`` builds (no TensorFlow) do not take it.
"""

from __future__ import annotations

import sys
import threading
import traceback

from ..errors import PacError
from .trainform import NETWORK_NAMES

TF_LOCK = threading.RLock()


def log_error(what: str) -> None:
    """The traceback of an unexpected error, for the terminal running ``pac studio``."""
    sys.stderr.write(f"pac studio: {what}\n{traceback.format_exc()}")
    sys.stderr.flush()


class Networks:
    """Which networks are loaded, and the state the page shows (:attr:`status`).

    Parameters
    ----------
    base_dir : path, optional
        The MobileNet folder (see :func:`pac.base.resolve_base_dir`).
    speech_dir : path, optional
        The speech embedding folder (see :func:`pac.speech_base.resolve_speech_dir`).
    """

    def __init__(self, *, base_dir=None, speech_dir=None):
        self.base_dir = base_dir
        self.speech_dir = speech_dir
        self.loaded: set[str] = set()
        self.status = {"state": "idle", "message": None, "networks": []}

    def _status(self, state: str, message: str | None) -> None:
        self.status = {"state": state, "message": message, "networks": sorted(self.loaded)}

    def load(self, names=("mobilenet", "speech"), progress=None) -> dict:
        """Import TensorFlow and load (maybe download once) the named networks, under the TF lock.

        ``names``: ``"mobilenet"`` (:func:`pac.base.load_base`, from ``base_dir``) and/or ``"speech"``
        (:func:`pac.speech_base.load_speech_embedding`, from ``speech_dir``); both resolve as in
        ``pac train``: the folder given, ``$PAC_BASE_DIR`` / ``$PAC_SPEECH_DIR``, the cache, a download.
        Returns ``{name: network}``.  ``progress(name, done, total)`` reports a download.
        """
        from ..libs import tensorflow, tf_keras

        networks = {}
        with TF_LOCK:
            try:
                if not self.loaded:
                    self._status("loading", "loading TensorFlow")
                tensorflow(), tf_keras()
                for name in names:

                    def report(done, total, name=name):
                        if progress:
                            progress(name, done, total)

                    if name not in self.loaded:
                        self._status("loading", f"loading {NETWORK_NAMES[name]}")
                    if name == "mobilenet":
                        from ..base import load_base

                        networks[name] = load_base(self.base_dir, progress=report)
                    else:
                        from ..speech_base import load_speech_embedding

                        networks[name] = load_speech_embedding(self.speech_dir, progress=report)
                    self.loaded.add(name)
            except PacError as exc:
                self._status("failed", str(exc))
                raise
            self._status("ready", None)
        return networks

    def warm_up(self) -> threading.Thread:
        """Load TensorFlow and the networks the default model needs in the background, so the first
        training starts quickly."""
        from ..features import PROFILES
        from ..train import TrainOptions, needed_networks

        def progress(name, done, total):
            self._status("loading", f"downloading {NETWORK_NAMES[name]} ({100 * done // max(1, total)}%)")

        def run():
            try:
                self.load(needed_networks(TrainOptions(), PROFILES["default"]), progress=progress)
            except PacError:
                pass  # reported through status, and again when training starts
            except Exception:  # noqa: BLE001 - never kill the server over a warm-up
                self._status("failed", "TensorFlow or a network could not be loaded (see the terminal)")
                log_error("loading TensorFlow / the networks failed")

        thread = threading.Thread(target=run, name="pac-studio-warmup", daemon=True)
        thread.start()
        return thread


__all__ = ["Networks", "TF_LOCK", "log_error"]
