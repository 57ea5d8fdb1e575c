"""The one error type for problems a user can fix.

Every user-facing failure raises :class:`PacError` with a one-line message that names the file and
the problem.  The CLI prints ``error: <message>`` and exits with :data:`EXIT_USER_ERROR`, without a
traceback.  Anything else escaping is a bug in pac.
"""

from __future__ import annotations

import os

EXIT_USER_ERROR = 2


class PacError(Exception):
    """A problem with the user's input or environment, described in one line."""

    def __init__(self, message: str, *, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        text = " ".join(str(message).split())  # one line, always
        super().__init__(f"{self.path}: {text}" if self.path else text)
