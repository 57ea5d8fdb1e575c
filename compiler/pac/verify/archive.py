"""Stage 1 of ``pac verify``: what App Inventor checks on import, and reading the archives within :mod:`pac.limits`.

The .aix, and ``classes.jar`` and ``files/AndroidRuntime.jar`` inside it, are read in bounded time and
memory: an archive with too many entries is refused before its central directory is parsed, an entry
is never decompressed when its header makes it too large, too compressed, encrypted or of a method App
Inventor cannot read, and reading stops before the total limit (nested jars included) would be passed.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import jsonsafe
from ..aix import DESCRIPTOR, LEGACY_DESCRIPTOR, MAX_FILE_BYTES
from ..errors import PacError
from ..fsutil import read_limited
from ..limits import LIMITS
from ..zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY, is_folder
from .report import Report, listing


def read_components(text: str, *, source: str):
    """``ComponentServiceImpl.readComponents``: trimmed text that is a JSON object or array -> a list.

    Parameters
    ----------
    text : str
        The file's text.
    source : str
        The entry's name, for the messages.

    Raises
    ------
    PacError
        The text is over App Inventor's file size limit, nested too deep or not JSON.
    ValueError
        It is JSON but neither an object nor an array.
    """
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")) and not (text.startswith("[") and text.endswith("]")):
        raise ValueError("Content was not a valid component descriptor file")
    value = jsonsafe.loads(text, source=source, max_bytes=MAX_FILE_BYTES)
    return [value] if isinstance(value, dict) else value


@dataclass
class Budget:
    """The uncompressed bytes ``pac verify`` may still read from one .aix, nested archives included."""

    left: int = field(default_factory=lambda: LIMITS.aix_max_total_bytes)
    spent: bool = False

    def fits(self, size: int, where: str, report: Report) -> bool:
        """Whether ``size`` more bytes may be read; if not, one failure line and no more reading."""
        if not self.spent and size <= self.left:
            return True
        if not self.spent:
            report.fail(
                f"{where}: reading it would pass the limit of {LIMITS.aix_max_total_bytes:,d} bytes "
                f"uncompressed in total (nested archives included); stopped there"
            )
        self.spent = True
        return False

    def take(self, size: int, where: str, report: Report) -> bool:
        """Count ``size`` bytes that were read (:meth:`fits`, then subtracted)."""
        if not self.fits(size, where, report):
            return False
        self.left -= size
        return True


@dataclass
class Archive:
    files: dict  # entry name -> bytes (no folders)
    top: str | None  # the one top-level folder
    descriptors: list | None = None
    descriptor_name: str | None = None
    budget: Budget = field(default_factory=Budget)


def check_import(path: Path, report: Report) -> Archive | None:
    """Stage 1.  Returns the unpacked archive (None when App Inventor would refuse it outright)."""
    budget = Budget()
    with report.step("import: zip, descriptor, single package folder, file sizes"):
        files = _unzip(path, report, budget)
        if files is None:
            return None
        descriptor_name = _descriptor_name(files, report)
        if descriptor_name is None:
            return None
        descriptors = _read_descriptors(files[descriptor_name], descriptor_name, report)
        top = _top_folder(files, report)
        if descriptors is not None:
            _check_package(descriptors, descriptor_name, top, report)
    if top is None:
        return None
    return Archive(files=files, top=top, descriptors=descriptors, descriptor_name=descriptor_name, budget=budget)


# -- reading archives within pac.limits ------------------------------------------------------------

_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_CENTRAL_RECORD = b"PK\x01\x02"


def central_directory_records(data: bytes) -> int:
    """At least as many as the entries :class:`zipfile.ZipFile` would parse from ``data``.

    Counts the central directory's record signatures in the region its end record points to (the
    whole file before that record when a zip64 locator or size is there), without parsing anything,
    so an archive with too many entries is refused in one pass over its bytes.  A zip has one record
    per entry; a hostile file can only make the count larger than the real one.
    """
    end = data.rfind(_END_OF_CENTRAL_DIRECTORY, max(0, len(data) - 22 - 0xFFFF))
    if end < 0:
        return 0
    size = struct.unpack_from("<L", data, end + 12)[0] if end + 16 <= len(data) else 0xFFFFFFFF
    zip64 = size == 0xFFFFFFFF or data[max(0, end - 20) : end].startswith(_ZIP64_LOCATOR)
    start = 0 if zip64 else max(0, end - size - 76)
    return data.count(_CENTRAL_RECORD, start, end)


def open_archive(data: bytes, where: str, report: Report, *, depth: int) -> zipfile.ZipFile | None:
    """``data`` as a zip if its nesting and entry count are within the limits (else a failure line, None).

    Parameters
    ----------
    data : bytes
        The archive.
    where : str
        Its name in the messages.
    report : Report
        Where the failures go.
    depth : int
        How deep it is nested: 1 for the .aix, 2 for a jar inside it.

    Raises
    ------
    NOT_A_ZIP
        ``data`` is not a zip (the caller says what it should have been).
    """
    if depth > LIMITS.zip_max_depth:
        report.fail(f"{where}: an archive nested {depth} deep, more than the limit of {LIMITS.zip_max_depth}; not read")
        return None
    records = central_directory_records(data)
    if records > LIMITS.aix_max_entries:
        report.fail(
            f"{where}: {records:,d} entries, more than the limit of {LIMITS.aix_max_entries:,d} per archive; not read"
        )
        return None
    archive = zipfile.ZipFile(io.BytesIO(data))
    counts = Counter(info.filename for info in archive.infolist())
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        report.fail(f"{where}: duplicate zip entries: {listing(duplicates)}")
    return archive


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be decompressed, from its header alone (None if it may be)."""
    if info.flag_bits & 0x1:
        return "is encrypted; App Inventor cannot read it"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return (
            f"uses compression method {info.compress_type}; App Inventor (java.util.zip) reads only stored "
            f"and deflated entries"
        )
    if info.file_size > LIMITS.aix_max_entry_bytes:
        return (
            f"{info.file_size:,d} bytes uncompressed, more than the {LIMITS.aix_max_entry_bytes:,d}-byte limit "
            f"per entry; not decompressed"
        )
    if info.file_size > LIMITS.zip_max_ratio * max(info.compress_size, 1):
        return (
            f"{info.compress_size:,d} bytes that inflate to {info.file_size:,d}, a ratio over "
            f"{LIMITS.zip_max_ratio}:1 (a zip bomb); not decompressed"
        )
    return None


def read_entries(
    archive: zipfile.ZipFile, infos: list, where: str, report: Report, budget: Budget
) -> dict[str, bytes] | None:
    """Decompress ``infos`` of ``archive`` within the limits.

    An entry :func:`entry_problem` refuses gets a failure line and is skipped; then the declared
    sizes of the others must fit in what is left of ``budget``, and each is decompressed at most to
    one byte more than its header says, so a header that understates the size cannot make pac
    inflate more (the short read then fails the entry's CRC check).

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    infos : list of zipfile.ZipInfo
        The entries to read.
    where : str
        The prefix of the entries' names in the messages ("" for the .aix's own entries).
    report : Report
        Where the failures go.
    budget : Budget
        The running total of the .aix.

    Returns
    -------
    dict or None
        ``{entry name: bytes}`` of the entries read; None once the total limit is reached.
    """
    readable = []
    for info in infos:
        problem = entry_problem(info)
        if problem:
            report.fail(f"{where}{info.filename}: {problem}")
        else:
            readable.append(info)
    if not budget.fits(sum(info.file_size for info in readable), where.rstrip(": ") or "the .aix", report):
        return None
    files: dict[str, bytes] = {}
    for info in readable:
        try:
            with archive.open(info) as stream:  # at most one byte more than the header says
                data = stream.read(min(info.file_size, budget.left) + 1)
        except UNREADABLE_ENTRY as exc:
            report.fail(f"{where}{info.filename}: cannot be decompressed ({exc})")
            continue
        if len(data) > info.file_size:
            report.fail(
                f"{where}{info.filename}: inflates to more than the {info.file_size:,d} bytes its header says; not read"
            )
            continue
        if not budget.take(len(data), f"{where}{info.filename}", report):
            return None
        files[info.filename] = data
    return files


def read_jar(data: bytes, jar: str, report: Report, budget: Budget, *, select) -> dict[str, bytes] | None:
    """The entries ``select(info)`` picks of a jar inside the .aix, read within the limits.

    Returns None after a failure line (not a jar, over a limit) or when the total limit was reached
    earlier (already reported).
    """
    if budget.spent:
        return None
    try:
        archive = open_archive(data, jar, report, depth=2)
    except NOT_A_ZIP as exc:
        report.fail(f"{jar}: not a jar ({exc})")
        return None
    if archive is None:
        return None
    with archive:
        return read_entries(archive, [i for i in archive.infolist() if select(i)], f"{jar}: ", report, budget)


def _read_aix(path: Path, report: Report) -> bytes | None:
    """The .aix's bytes if it is a regular file within App Inventor's upload limit (else a failure line)."""
    try:
        info = os.stat(path)
    except OSError:
        info = None  # read_limited says why
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
        report.size = info.st_size
        report.fail(
            f"the .aix is {report.size:,d} bytes; App Inventor refuses uploads over {MAX_FILE_BYTES:,d} "
            f"bytes (not read)"
        )
        return None
    try:
        data = read_limited(path, max_bytes=MAX_FILE_BYTES, what=".aix file")
    except PacError as exc:
        report.fail(str(exc))
        return None
    report.size = len(data)
    return data


def _unzip(path: Path, report: Report, budget: Budget) -> dict[str, bytes] | None:
    """The .aix's ``{entry name: bytes}`` (no folders); None if it is unreadable, not a zip, over a
    limit or empty."""
    data = _read_aix(path, report)
    if data is None:
        return None
    try:
        archive = open_archive(data, "the .aix", report, depth=1)
    except NOT_A_ZIP as exc:
        report.fail(f"not a zip file ({exc}); App Inventor: the extension cannot be read")
        return None
    if archive is None:
        return None
    wanted = []
    with archive:
        for info in archive.infolist():
            name = info.filename
            if not name or name.startswith("/") or "\\" in name or ".." in PurePosixPath(name).parts:
                report.fail(f"unsafe entry name {name!r}")
                continue
            if is_folder(info):
                continue
            report.entries.append((name, info.file_size, info.compress_size))
            if info.file_size > MAX_FILE_BYTES:
                report.fail(
                    f"{name}: {info.file_size:,d} bytes is over App Inventor's {MAX_FILE_BYTES:,d} byte "
                    f"limit per file (FILE_TOO_LARGE)"
                )
            wanted.append(info)
        files = read_entries(archive, wanted, "", report, budget)
    if files is None:
        return None
    if not files:
        report.fail("the zip holds no files")
        return None
    return files


def _descriptor_name(files: dict[str, bytes], report: Report) -> str | None:
    """The entry App Inventor reads the descriptors from; files are looked up by base name
    (``buildExtensionPathnameMap``), so no other entry may share a special file's base name."""
    by_base: dict[str, list[str]] = {}
    for name in files:
        by_base.setdefault(PurePosixPath(name).name, []).append(name)
    if DESCRIPTOR not in by_base and LEGACY_DESCRIPTOR not in by_base:
        report.fail(
            'no components.json or component.json; App Inventor: "Uploaded file does not contain '
            'any component definition files."'
        )
        return None
    for special in (
        DESCRIPTOR,
        LEGACY_DESCRIPTOR,
        "classes.jar",
        "component_build_infos.json",
        "component_build_info.json",
        "AndroidRuntime.jar",
        "extension.properties",
    ):
        where = by_base.get(special, [])
        if len(where) > 1:
            report.fail(
                f"{len(where)} files named {special} ({', '.join(sorted(where))}); App Inventor looks "
                f"files up by base name, so an asset may not be named {special}"
            )
    return (by_base.get(DESCRIPTOR) or by_base[LEGACY_DESCRIPTOR])[0]


def _read_descriptors(data: bytes, descriptor_name: str, report: Report) -> list[dict] | None:
    """The descriptor objects (None if App Inventor would find none)."""
    try:
        descriptors = read_components(data.decode("utf-8"), source=descriptor_name)
    except UnicodeDecodeError as exc:
        report.fail(f"{descriptor_name}: not UTF-8 text ({exc})")
        return None
    except PacError as exc:
        report.fail(str(exc))
        return None
    except ValueError as exc:
        report.fail(f"{descriptor_name}: not a JSON array of component descriptors ({exc})")
        return None
    if not isinstance(descriptors, list) or not descriptors:
        report.fail(f'{descriptor_name}: empty; App Inventor: "No valid component descriptors found in the extension."')
        return None
    if not all(isinstance(d, dict) for d in descriptors):
        report.fail(f"{descriptor_name}: every element must be a JSON object (a component descriptor)")
        return None
    return descriptors


def _top_folder(files: dict[str, bytes], report: Report) -> str | None:
    """The one top-level folder holding every entry (None if there is not exactly one)."""
    tops = sorted({name.split("/", 1)[0] for name in files})
    loose = sorted(name for name in files if "/" not in name)
    if loose:
        report.fail(f"files outside the extension's folder: {', '.join(loose)}")
        return None
    if len(tops) != 1:
        report.fail(
            f"{len(tops)} top-level folders ({', '.join(tops)}); an .aix holds exactly one, named after "
            f"the component's Java package"
        )
        return None
    return tops[0]


def _check_package(descriptors: list[dict], descriptor_name: str, top: str | None, report: Report) -> None:
    """Sets ``report.package``: the descriptors' one Java package, which must name the top folder."""
    types = [d.get("type") for d in descriptors]
    if not all(isinstance(t, str) and "." in t for t in types):
        report.fail(f'{descriptor_name}: every descriptor needs a fully qualified "type" (found {types})')
        return
    packages = sorted({t.rpartition(".")[0] for t in types})
    if len(packages) != 1:
        report.fail(f"{descriptor_name}: components from several packages ({', '.join(packages)})")
        return
    report.package = packages[0]
    if top is not None and top != packages[0]:
        report.fail(
            f"top-level folder {top!r} is not the components' Java package {packages[0]!r}; "
            f"App Inventor finds the assets under the package name"
        )
