"""What the standard :mod:`zipfile` raises on hostile archives, named once for every reader of zips
(``.mdl`` import, ``pac verify``, the speech base's wheel).

A reader catches these and turns them into one :class:`pac.errors.PacError` line naming the file.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

#: What opening bytes that are not a readable zip raises: a damaged directory, a bad UTF-8 name
#: flagged as UTF-8 or a negative offset (ValueError), a truncated record (struct.error).
NOT_A_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error)

#: What reading one entry raises when its data or local header is broken: a header offset before
#: the start of the file is a ValueError from ``seek``, a corrupt deflate stream a zlib.error.
UNREADABLE_ENTRY = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
)


def is_folder(info: zipfile.ZipInfo) -> bool:
    """Whether an entry names a folder (ends in ``/``).

    :meth:`zipfile.ZipInfo.is_dir` raises IndexError for an entry whose name is empty (a name that
    starts with a NUL byte is cut there); this does not.
    """
    return info.filename.endswith("/")
