"""``pac studio``: the local trainer web page (labels, clips, training, testing, downloads).

* :mod:`pac.studio.layout` - the project folder's layout, safe names, whole-file writes;
* :mod:`pac.studio.store` - the project folder on disk (the only state that matters): settings,
  labels and clips; :mod:`pac.studio.models` - its models and test results;
* :mod:`pac.studio.transfer` - a whole project as one ``.zip`` (export, import);
* :mod:`pac.studio.trainform`, :mod:`pac.studio.jobs`, :mod:`pac.studio.trainqueue`,
  :mod:`pac.studio.networks`, :mod:`pac.studio.exports` - the training form, background jobs
  (training waits in a queue, one at a time), the shared pretrained networks, ``.aix`` / ``.mdl``;
* :mod:`pac.studio.handler` - HTTP plumbing and checks; :mod:`pac.studio.api_project`,
  :mod:`pac.studio.api_models` - the JSON API; :mod:`pac.studio.server` - a running studio;
* :mod:`pac.studio.classroom`, :mod:`pac.studio.classroom_pages`, :mod:`pac.studio.tls` - a class on the LAN
  over HTTPS (joining, the teacher's page, the certificate, the QR code);
* ``static/`` - the page itself (HTML, CSS, JS; no CDN, no network).
"""

from .store import ProjectStore, StudioError

__all__ = ["ProjectStore", "StudioError"]
