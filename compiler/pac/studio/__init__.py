"""``pac studio``: the local trainer web page (labels, clips, training, testing, downloads).

* :mod:`pac.studio.store` - the project folder on disk (the only state that matters);
* :mod:`pac.studio.jobs` - training and export jobs running in background threads;
* :mod:`pac.studio.server` - the HTTP server (standard library) and its JSON API;
* ``static/`` - the page itself (HTML, CSS, JS; no CDN, no network).
"""

from .store import ProjectStore, StudioError

__all__ = ["ProjectStore", "StudioError"]
