"""Parse JSON from files and requests pac did not write, within :mod:`pac.limits`.

``json.loads`` recurses once per nesting level, so ``[[[[...]]]]`` a hundred thousand deep raises
``RecursionError`` (or worse, exhausts the C stack).  :func:`loads` measures the nesting first, with
string literals blanked out, and refuses anything deeper than ``LIMITS.json_max_depth`` or larger
than the byte limit, as a one-line :class:`pac.errors.PacError`.  It also refuses ``NaN`` and
``Infinity``, which Python accepts but JSON does not have.
"""

from __future__ import annotations

import json
import re

import numpy as np

from .errors import PacError
from .limits import LIMITS

__all__ = ["loads", "nesting_depth"]

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def nesting_depth(data: bytes | str) -> int:
    """The deepest nesting of arrays and objects in JSON text (0 for a bare number or string).

    Parameters
    ----------
    data : bytes or str
        JSON text; brackets inside string literals do not count.

    Returns
    -------
    int
        The maximum number of unclosed ``[`` and ``{`` at any point.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    bare = _STRING.sub(b'""', raw)
    if not bare:
        return 0
    steps = _OPEN[np.frombuffer(bare, dtype=np.uint8)].astype(np.int64)
    return int(max(np.cumsum(steps).max(initial=0), 0))


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str, *, source: str, max_bytes: int | None = None, max_depth: int | None = None):
    """Parse JSON text, refusing what is too big, too deep, not UTF-8 or not JSON.

    Parameters
    ----------
    data : bytes or str
        The text (bytes are decoded as UTF-8, a leading BOM allowed).
    source : str
        What the text is (a path, or "the request"), named in the error.
    max_bytes, max_depth : int, optional
        Limits; default ``LIMITS.json_max_bytes`` and ``LIMITS.json_max_depth``.

    Returns
    -------
    object
        The parsed value.

    Raises
    ------
    PacError
        ``"<source>: <problem>"`` in one line.
    """
    max_bytes = LIMITS.json_max_bytes if max_bytes is None else max_bytes
    max_depth = LIMITS.json_max_depth if max_depth is None else max_depth
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise PacError(f"{size:,d} bytes of JSON is more than the {max_bytes:,d}-byte limit", path=source)
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PacError(f"is not UTF-8 text (bad byte at offset {exc.start})", path=source) from None
    else:
        text = data
    depth = nesting_depth(text)
    if depth > max_depth:
        raise PacError(f"JSON nested {depth} levels deep, more than the limit of {max_depth}", path=source)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError is a ValueError, and so is _no_constant's
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise PacError(f"not valid JSON ({message}{where})", path=source) from None
