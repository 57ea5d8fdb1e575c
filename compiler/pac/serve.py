"""Running an HTTP server of pac's (the studio, the classroom studio, the browser harness's page
server) in a background thread."""

from __future__ import annotations

import threading
from socketserver import BaseServer

#: How often ``serve_forever`` looks for a shutdown request: ``shutdown()`` waits up to this long
#: (socketserver's default of 0.5 s made every close half a second).
POLL_SECONDS = 0.05


def serve_in_thread(server: BaseServer, *, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread called ``name`` and return the thread."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name=name, daemon=True
    )
    thread.start()
    return thread
