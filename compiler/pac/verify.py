"""``pac verify``: check an ``.aix`` the way App Inventor will, and more.

Stage 1, what App Inventor's server does on *Import extension* (``ComponentServiceImpl``,
``FileImporterImpl``): a readable zip; a ``components.json`` or ``component.json`` (looked up by
base name); its text a JSON array (or one object) of descriptor objects, not empty; every file at
most 15 MiB; the one top-level folder named after the components' Java package.

A hostile .aix is checked in bounded time and memory (:mod:`pac.limits`): the file is read only if
it is a regular file of at most App Inventor's 15 MiB upload limit (a FIFO or ``/dev/zero`` is
refused at once); an archive - the .aix, or ``classes.jar`` and ``files/AndroidRuntime.jar`` inside
it - with more than ``aix_max_entries`` entries is refused before its central directory is parsed;
an entry is never decompressed when its header says it is larger than ``aix_max_entry_bytes``,
compressed more than ``zip_max_ratio``:1, encrypted or compressed with a method App Inventor cannot
read, and the others are inflated at most one byte past the size their header declares (a header
that understates it fails the CRC check instead of filling memory); reading stops before
``aix_max_total_bytes`` would be passed, nested jars included.
Every JSON text inside (descriptors, build infos, the model's files, the page's constants) is
parsed by :func:`pac.jsonsafe.loads` within the size and nesting limits.  Each problem is one
failure line of the :class:`Report`; ``pac verify`` exits with code 1 for any problem with the .aix
itself, hostile or not (unreadable, not a regular file, over a limit, broken), and with code 2 only
for problems outside it (no browser, a ``--clips`` folder that is not one).

Stage 2, what the designer (``ComponentDatabase``), the Companion and the APK build server rely on
and what makes a broken extension fail later, on a phone: the descriptor schema (every scalar a
string, required fields, YAIL types, designer properties with a category), ``extension.properties``,
the build infos, Java 8 class files of the component's package only in ``files/AndroidRuntime.jar``,
a valid ``classes.dex`` in ``classes.jar`` (header, adler32, sha1, size, dex version vs. the
minimum Android version), declared assets == shipped assets, no INTERNET permission, the model's
``pac.json`` readable by this pac and by the shipped page, and the networks the model runs shipped
with it (MobileNet's ``mobilenet/`` for a conv head or the mobilenet block, with every shard its
``model.json`` names; the speech embedding's ``speech/graph.json`` and ``speech/weights.bin`` for
the speech block: a valid export of the network and weight type the manifest names).

Stage 3: the .aix's own classifier page, its assets mapped back to URL paths, runs in headless
Chromium with a recording fake of the Java bridge (:mod:`pac.browser`): it must call ``ready``
with the model's labels; with clips, every clip is classified, and accuracy and the largest
probability difference from :class:`pac.classifier.Classifier` are reported.  The Python side runs
the very networks the page runs: the model, MobileNet and the speech network taken from the .aix
(:func:`pac.speech_base.network_from_export`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from . import __version__, jsonsafe
from .aix import (BUILD_INFOS, DESCRIPTOR, DEX_JAR, LEGACY_DESCRIPTOR, MAX_FILE_BYTES, PROPERTIES, RUNTIME_JAR,
                  TARGET_AIX_BYTES, AssetPaths)
from .errors import PacError
from .fsutil import read_limited
from .limits import LIMITS
from .zipsafe import NOT_A_ZIP, UNREADABLE_ENTRY, is_folder

#: The YAIL types App Inventor's annotation processor emits (ComponentProcessor.javaTypeToYailType);
#: option-list types end in "Enum".
YAIL_TYPES = {"text", "number", "boolean", "list", "dictionary", "component", "any", "yailobject",
              "InstantInTime", "continuation"}
RW_VALUES = {"read-only", "read-write", "write-only", "invisible"}
#: PropertyCategory names; "Unspecified" (UNSET) is what the processor rejects for designer properties.
CATEGORIES = {"Behavior", "Appearance", "Deprecated", "Application", "Advanced", "General", "Theming",
              "Publishing", "iOS Settings"}
BOOLEAN_STRINGS = {"true", "false"}
#: Keys the upstream generator writes as JSON booleans rather than strings.
BOOLEAN_KEYS = {"alwaysSend", "continuation"}
REQUIRED_COMPONENT = ("type", "name", "external", "version", "categoryString", "helpString", "showOnPalette",
                      "nonVisible", "iconName", "properties", "blockProperties", "events", "methods")
RECOMMENDED_COMPONENT = ("versionName", "dateBuilt", "helpUrl", "licenseName", "androidMinSdk")
LIST_KEYS = ("properties", "blockProperties", "events", "methods")
BUILD_INFO_LISTS = ("permissions", "assets", "libraries", "native", "activities", "metadata",
                    "activityMetadata", "broadcastReceivers", "services", "contentProviders")
INTERNET = "android.permission.INTERNET"
JAVA8_MAJOR = 52
#: dex format version -> the first Android API level that loads it.
DEX_MIN_API = {35: 1, 37: 24, 38: 26, 39: 28, 40: 34}
#: The page and pac's Python classifier must agree on every probability within this (float32 maths).
PARITY_TOLERANCE = 1e-3


@dataclass
class Step:
    """One named check of :meth:`Report.step`."""

    name: str


@dataclass
class Report:
    """The outcome of :func:`verify`."""

    path: str
    failures: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    passed: list = field(default_factory=list)
    package: str | None = None
    size: int | None = None
    entries: list = field(default_factory=list)
    labels: list | None = None
    accuracy: float | None = None
    max_prob_diff: float | None = None
    clips: int = 0
    results: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(" ".join(str(message).split()))

    def warn(self, message: str) -> None:
        self.warnings.append(" ".join(str(message).split()))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Record the check ``name`` as passed if the ``with`` block adds no failure.

        The block may change the yielded :class:`Step`'s ``name`` to say what it found.
        """
        step = Step(name)
        before = len(self.failures)
        yield step
        if len(self.failures) == before:
            self.passed.append(step.name)

    def to_json(self) -> dict:
        return {"ok": self.ok, "file": self.path, "failures": self.failures, "warnings": self.warnings,
                "passed": self.passed, "package": self.package, "size": self.size,
                "entries": [{"name": n, "size": s, "compressed": c} for n, s, c in self.entries],
                "labels": self.labels, "accuracy": self.accuracy, "max_prob_diff": self.max_prob_diff,
                "clips": self.clips, "results": self.results}


# --------------------------------------------------------------------------------------------
# stage 1: what App Inventor checks on import


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
            report.fail(f"{where}: reading it would pass the limit of {LIMITS.aix_max_total_bytes:,d} bytes "
                        f"uncompressed in total (nested archives included); stopped there")
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
    files: dict            # entry name -> bytes (no folders)
    top: str | None        # the one top-level folder
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
    zip64 = size == 0xFFFFFFFF or data[max(0, end - 20):end].startswith(_ZIP64_LOCATOR)
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
        report.fail(f"{where}: an archive nested {depth} deep, more than the limit of {LIMITS.zip_max_depth}; "
                    f"not read")
        return None
    records = central_directory_records(data)
    if records > LIMITS.aix_max_entries:
        report.fail(f"{where}: {records:,d} entries, more than the limit of {LIMITS.aix_max_entries:,d} per "
                    f"archive; not read")
        return None
    archive = zipfile.ZipFile(io.BytesIO(data))
    counts = Counter(info.filename for info in archive.infolist())
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        report.fail(f"{where}: duplicate zip entries: {_listing(duplicates)}")
    return archive


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be decompressed, from its header alone (None if it may be)."""
    if info.flag_bits & 0x1:
        return "is encrypted; App Inventor cannot read it"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return (f"uses compression method {info.compress_type}; App Inventor (java.util.zip) reads only stored "
                f"and deflated entries")
    if info.file_size > LIMITS.aix_max_entry_bytes:
        return (f"{info.file_size:,d} bytes uncompressed, more than the {LIMITS.aix_max_entry_bytes:,d}-byte limit "
                f"per entry; not decompressed")
    if info.file_size > LIMITS.zip_max_ratio * max(info.compress_size, 1):
        return (f"{info.compress_size:,d} bytes that inflate to {info.file_size:,d}, a ratio over "
                f"{LIMITS.zip_max_ratio}:1 (a zip bomb); not decompressed")
    return None


def read_entries(archive: zipfile.ZipFile, infos: list, where: str, report: Report,
                 budget: Budget) -> dict[str, bytes] | None:
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
            report.fail(f"{where}{info.filename}: inflates to more than the {info.file_size:,d} bytes its header "
                        f"says; not read")
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
        report.fail(f"the .aix is {report.size:,d} bytes; App Inventor refuses uploads over {MAX_FILE_BYTES:,d} "
                    f"bytes (not read)")
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
                report.fail(f"{name}: {info.file_size:,d} bytes is over App Inventor's {MAX_FILE_BYTES:,d} byte "
                            f"limit per file (FILE_TOO_LARGE)")
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
        report.fail("no components.json or component.json; App Inventor: \"Uploaded file does not contain "
                    "any component definition files.\"")
        return None
    for special in (DESCRIPTOR, LEGACY_DESCRIPTOR, "classes.jar", "component_build_infos.json",
                    "component_build_info.json", "AndroidRuntime.jar", "extension.properties"):
        where = by_base.get(special, [])
        if len(where) > 1:
            report.fail(f"{len(where)} files named {special} ({', '.join(sorted(where))}); App Inventor looks "
                        f"files up by base name, so an asset may not be named {special}")
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
        report.fail(f"{descriptor_name}: empty; App Inventor: \"No valid component descriptors found in the "
                    f"extension.\"")
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
        report.fail(f"{len(tops)} top-level folders ({', '.join(tops)}); an .aix holds exactly one, named after "
                    f"the component's Java package")
        return None
    return tops[0]


def _check_package(descriptors: list[dict], descriptor_name: str, top: str | None, report: Report) -> None:
    """Sets ``report.package``: the descriptors' one Java package, which must name the top folder."""
    types = [d.get("type") for d in descriptors]
    if not all(isinstance(t, str) and "." in t for t in types):
        report.fail(f"{descriptor_name}: every descriptor needs a fully qualified \"type\" (found {types})")
        return
    packages = sorted({t.rpartition(".")[0] for t in types})
    if len(packages) != 1:
        report.fail(f"{descriptor_name}: components from several packages ({', '.join(packages)})")
        return
    report.package = packages[0]
    if top is not None and top != packages[0]:
        report.fail(f"top-level folder {top!r} is not the components' Java package {packages[0]!r}; "
                    f"App Inventor finds the assets under the package name")


# --------------------------------------------------------------------------------------------
# stage 2: the descriptor, the build infos, the Java and dex files, the assets


def _string_scalars(value, where: str, report: Report) -> None:
    """Every scalar in a descriptor is a JSON string (except the upstream's few boolean flags)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in BOOLEAN_KEYS and isinstance(item, bool):
                continue
            _string_scalars(item, f"{where}.{key}", report)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _string_scalars(item, f"{where}[{i}]", report)
    elif not isinstance(value, str):
        report.fail(f"{where} is {json.dumps(value)} ({type(value).__name__}); App Inventor descriptors hold every "
                    f"value as a string (\"{str(value).lower() if isinstance(value, bool) else value}\")")


def _yail(value, where: str, report: Report) -> None:
    if isinstance(value, str) and not (value in YAIL_TYPES or value.endswith("Enum")):
        report.fail(f"{where}: {value!r} is not a YAIL type ({', '.join(sorted(YAIL_TYPES))})")


def _need(obj: dict, keys, where: str, report: Report) -> bool:
    missing = [k for k in keys if k not in obj]
    if missing:
        report.fail(f"{where}: missing {', '.join(missing)}")
    return not missing


def _one_of(value, allowed: set) -> bool:
    """Whether ``value`` is one of the strings ``allowed`` (False for any other JSON value)."""
    return isinstance(value, str) and value in allowed


def _array(value) -> list:
    """``value`` if it is a JSON array, else [] (the schema checks report it)."""
    return value if isinstance(value, list) else []


def _strings(value) -> list[str]:
    """The strings of a JSON array (none if it is not one; the schema checks report the rest)."""
    return [item for item in _array(value) if isinstance(item, str)]


def _boolean_string(obj: dict, key: str, where: str, report: Report) -> None:
    if key in obj and not _one_of(obj[key], BOOLEAN_STRINGS):
        report.fail(f"{where}.{key}: {obj[key]!r} is not \"true\" or \"false\"")


def check_descriptor(d: dict, where: str, report: Report) -> None:
    """The schema ComponentDescriptorGenerator writes and ComponentDatabase reads."""
    _string_scalars(d, where, report)
    _need(d, REQUIRED_COMPONENT, where, report)
    missing = [k for k in RECOMMENDED_COMPONENT if k not in d]
    if missing:
        report.warn(f"{where}: no {', '.join(missing)} (written by App Inventor's annotation processor)")
    if d.get("external") != "true":
        report.fail(f"{where}.external must be \"true\" for an extension (found {d.get('external')!r})")
    if d.get("categoryString", "EXTENSION") != "EXTENSION":
        report.fail(f"{where}.categoryString must be \"EXTENSION\" (found {d.get('categoryString')!r})")
    for key in ("showOnPalette", "nonVisible"):
        _boolean_string(d, key, where, report)
    for key in ("version", "androidMinSdk"):
        if key in d and not (isinstance(d[key], str) and re.fullmatch(r"-?\d+", d[key])):
            report.fail(f"{where}.{key}: {d[key]!r} is not an integer string (Integer.parseInt)")
    if "name" in d and not (isinstance(d["name"], str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", d["name"])):
        report.fail(f"{where}.name: {d['name']!r} is not a component name")
    if isinstance(d.get("type"), str) and isinstance(d.get("name"), str) and d["type"].rpartition(".")[2] != d["name"]:
        report.fail(f"{where}: name {d['name']!r} is not the simple name of type {d['type']!r}")
    for key in LIST_KEYS:
        if key in d and not isinstance(d[key], list):
            report.fail(f"{where}.{key} must be a JSON array")
    if "assets" in d and not (isinstance(d["assets"], list) and all(isinstance(a, str) for a in d["assets"])):
        report.fail(f"{where}.assets must be an array of file names")

    block_props = _check_block_properties(_array(d.get("blockProperties")), f"{where}.blockProperties", report)
    _check_designer_properties(_array(d.get("properties")), block_props, f"{where}.properties", report)
    _check_blocks(_array(d.get("events")), f"{where}.events", report, returns=False)
    _check_blocks(_array(d.get("methods")), f"{where}.methods", report, returns=True)


def _check_block_properties(items: list, where: str, report: Report) -> dict:
    """The ``blockProperties`` entries; returns them by name."""
    by_name = {}
    for i, bp in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(bp, dict):
            report.fail(f"{w} is not an object")
            continue
        _need(bp, ("name", "description", "type", "rw", "deprecated"), w, report)
        _yail(bp.get("type"), f"{w}.type", report)
        if "rw" in bp and not _one_of(bp["rw"], RW_VALUES):
            report.fail(f"{w}.rw: {bp['rw']!r} is not one of {', '.join(sorted(RW_VALUES))}")
        _boolean_string(bp, "deprecated", w, report)
        if isinstance(bp.get("name"), str):
            by_name[bp["name"]] = bp
    return by_name


def _check_designer_properties(items: list, block_props: dict, where: str, report: Report) -> None:
    """The designer ``properties``: each needs a block property with a known category."""
    for i, prop in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(prop, dict):
            report.fail(f"{w} is not an object")
            continue
        _need(prop, ("name", "editorType", "defaultValue"), w, report)
        if "editorArgs" in prop and not isinstance(prop["editorArgs"], list):
            report.fail(f"{w}.editorArgs must be an array of strings")
        name = prop.get("name")
        bp = block_props.get(name) if isinstance(name, str) else None
        if bp is None:
            report.fail(f"{w}: designer property {name!r} has no blockProperties entry (its block and category)")
        elif bp.get("category") in (None, "", "Unspecified"):
            report.fail(f"{w}: designer property {name!r} has no category (App Inventor's annotation processor "
                        f"rejects a @DesignerProperty whose @SimpleProperty has no category)")
        elif not _one_of(bp["category"], CATEGORIES):
            report.fail(f"{w}: designer property {name!r} has the unknown category {bp['category']!r}")


def _check_blocks(items: list, where: str, report: Report, *, returns: bool) -> None:
    """``events`` or ``methods``: unique names, params with YAIL types, ``returnType`` if ``returns``."""
    seen = set()
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            report.fail(f"{w} is not an object")
            continue
        if not _need(item, ("name", "description", "deprecated", "params"), w, report):
            continue
        if isinstance(item["name"], str) and item["name"] in seen:
            report.fail(f"{w}: {item['name']!r} is declared twice")
        if isinstance(item["name"], str):
            seen.add(item["name"])
        _boolean_string(item, "deprecated", w, report)
        if not isinstance(item["params"], list):
            report.fail(f"{w}.params must be an array")
            continue
        for j, param in enumerate(item["params"]):
            if isinstance(param, dict) and _need(param, ("name", "type"), f"{w}.params[{j}]", report):
                _yail(param["type"], f"{w}.params[{j}].type", report)
        if returns and "returnType" in item:
            _yail(item["returnType"], f"{w}.returnType", report)


def check_build_infos(infos, types: list[str], where: str, report: Report) -> list[dict]:
    if not isinstance(infos, list) or not infos or not all(isinstance(i, dict) for i in infos):
        report.fail(f"{where}: expected a non-empty JSON array of objects")
        return []
    found = [i.get("type") for i in infos]
    if sorted(map(str, found)) != sorted(map(str, types)):
        report.fail(f"{where}: build infos for {found}, descriptors for {types}")
    for n, info in enumerate(infos):
        w = f"{where}[{n}]"
        for key in BUILD_INFO_LISTS:
            if key in info and not isinstance(info[key], list):
                report.fail(f"{w}.{key} must be an array")
        for key in ("permissions", "assets"):
            if key not in info:
                report.fail(f"{w}: missing {key}")
            elif len(_strings(info[key])) != len(_array(info[key])):
                report.fail(f"{w}.{key} must be an array of strings")
        if INTERNET in _strings(info.get("permissions")):
            report.fail(f"{w}: requests {INTERNET}; the classifier runs offline and must not")
        conditional = json.dumps(info.get("conditionals", {}))
        if INTERNET in conditional:
            report.fail(f"{w}: conditionally requests {INTERNET}; the classifier runs offline and must not")
    return infos


def class_file_info(data: bytes) -> tuple[int, str]:
    """``(major version, binary class name)`` of a .class file; ValueError if it is not one."""
    if len(data) < 10 or data[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file (bad magic)")
    major = struct.unpack(">H", data[6:8])[0]
    count = struct.unpack(">H", data[8:10])[0]
    pos = 10
    utf8: dict[int, str] = {}
    classes: dict[int, int] = {}
    index = 1
    sizes = {3: 4, 4: 4, 5: 8, 6: 8, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}
    while index < count:
        tag = data[pos]
        if tag == 1:
            length = struct.unpack(">H", data[pos + 1:pos + 3])[0]
            utf8[index] = data[pos + 3:pos + 3 + length].decode("utf-8", "replace")
            pos += 3 + length
        elif tag == 7:
            classes[index] = struct.unpack(">H", data[pos + 1:pos + 3])[0]
            pos += 3
        elif tag in sizes:
            pos += 1 + sizes[tag]
        else:
            raise ValueError(f"unknown constant pool tag {tag}")
        index += 2 if tag in (5, 6) else 1
    this_class = struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return major, utf8[classes[this_class]]


def _class_entry(info: zipfile.ZipInfo, report: Report) -> bool:
    """Whether a jar entry is a class file to check (a non-class file outside META-INF/ is a warning)."""
    if is_folder(info) or info.filename.startswith("META-INF/"):
        return False
    if not info.filename.endswith(".class"):
        report.warn(f"{RUNTIME_JAR}: non-class file {info.filename}")
        return False
    return True


def check_runtime_jar(data: bytes, package: str, types: list[str], report: Report, *,
                      budget: Budget | None = None) -> None:
    """files/AndroidRuntime.jar: Java 8 class files, only of the component's package.

    ``budget`` is the .aix's running total of uncompressed bytes (a fresh one if None).
    """
    prefix = package.replace(".", "/") + "/"
    classes = read_jar(data, RUNTIME_JAR, report, Budget() if budget is None else budget,
                       select=lambda info: _class_entry(info, report))
    if classes is None:
        return
    names = []
    for filename, content in classes.items():
        try:
            major, name = class_file_info(content)
        except (ValueError, IndexError, KeyError, struct.error) as exc:
            report.fail(f"{RUNTIME_JAR}: {filename}: {exc}")
            continue
        names.append(name)
        if major > JAVA8_MAJOR:
            java = major - 44
            report.fail(f"{RUNTIME_JAR}: {filename} is Java {java} bytecode (class file major {major}); "
                        f"App Inventor needs Java 8 (major {JAVA8_MAJOR}) or older")
        if not name.startswith(prefix):
            report.fail(f"{RUNTIME_JAR}: class {name.replace('/', '.')} is not in the package {package}; an "
                        f"extension may only ship its own classes (App Inventor's API comes from the app)")
        if filename != name + ".class":
            report.fail(f"{RUNTIME_JAR}: {filename} holds class {name}")
    if not names:
        report.fail(f"{RUNTIME_JAR}: holds no classes")
    for t in types:
        if t.replace(".", "/") not in names:
            report.fail(f"{RUNTIME_JAR}: the component class {t} is missing")


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def parse_dex(dex: bytes) -> dict:
    """Check a dex file's header; returns ``{"version", "classes"}``.  ValueError on a broken file."""
    if len(dex) < 0x70:
        raise ValueError(f"{len(dex)} bytes is shorter than a dex header")
    magic = dex[:8]
    if magic[:4] != b"dex\n" or magic[7:8] != b"\0" or not magic[4:7].isdigit():
        raise ValueError(f"bad magic {magic!r}")
    version = int(magic[4:7])
    checksum, = struct.unpack("<I", dex[8:12])
    if checksum != zlib.adler32(dex[12:]) & 0xFFFFFFFF:
        raise ValueError("adler32 checksum does not match")
    if dex[12:32] != hashlib.sha1(dex[32:]).digest():
        raise ValueError("sha1 signature does not match")
    (file_size, header_size, endian) = struct.unpack("<III", dex[32:44])
    if file_size != len(dex):
        raise ValueError(f"header file_size {file_size} is not the file's {len(dex)} bytes")
    if header_size != 0x70 or endian != 0x12345678:
        raise ValueError(f"bad header_size {header_size:#x} or endian tag {endian:#x}")
    (n_strings, strings_off, n_types, types_off) = struct.unpack("<IIII", dex[56:72])
    (n_classes, classes_off) = struct.unpack("<II", dex[96:104])

    def string(i: int) -> str:
        off, = struct.unpack("<I", dex[strings_off + 4 * i:strings_off + 4 * i + 4])
        _, start = _uleb128(dex, off)
        end = dex.index(b"\0", start)
        return dex[start:end].decode("utf-8", "replace")

    classes = []
    for c in range(n_classes):
        type_idx, = struct.unpack("<I", dex[classes_off + 32 * c:classes_off + 32 * c + 4])
        if type_idx >= n_types:
            raise ValueError(f"class_def {c} names type {type_idx} of {n_types}")
        desc_idx, = struct.unpack("<I", dex[types_off + 4 * type_idx:types_off + 4 * type_idx + 4])
        if desc_idx >= n_strings:
            raise ValueError(f"type {type_idx} names string {desc_idx} of {n_strings}")
        classes.append(string(desc_idx))
    return {"version": version, "classes": classes}


def check_dex_jar(data: bytes, package: str, types: list[str], min_sdk: int, report: Report, *,
                  budget: Budget | None = None) -> None:
    """classes.jar: a jar with a valid classes.dex of the component's classes.

    ``budget`` is the .aix's running total of uncompressed bytes (a fresh one if None).
    """
    dexes = read_jar(data, DEX_JAR, report, Budget() if budget is None else budget,
                     select=lambda info: not is_folder(info) and info.filename.endswith(".dex"))
    if dexes is None:
        return
    if "classes.dex" not in dexes:
        report.fail(f"{DEX_JAR}: no classes.dex (the Companion loads the extension from it)")
        return
    if len(dexes) > 1:
        report.fail(f"{DEX_JAR}: several dex files ({', '.join(sorted(dexes))}); the Companion loads classes.dex only")
    try:
        info = parse_dex(dexes["classes.dex"])
    except (ValueError, IndexError, struct.error) as exc:
        report.fail(f"{DEX_JAR}: classes.dex is not a valid dex file ({exc})")
        return
    needs = DEX_MIN_API.get(info["version"])
    if needs is None:
        report.fail(f"{DEX_JAR}: unknown dex version {info['version']:03d}")
    elif needs > min_sdk:
        report.fail(f"{DEX_JAR}: dex version {info['version']:03d} needs Android API {needs}, the component declares "
                    f"androidMinSdk {min_sdk}")
    prefix = "L" + package.replace(".", "/") + "/"
    outside = [c for c in info["classes"] if not c.startswith(prefix)]
    if outside:
        report.fail(f"{DEX_JAR}: classes outside {package}: {', '.join(outside[:5])}")
    for t in types:
        if "L" + t.replace(".", "/") + ";" not in info["classes"]:
            report.fail(f"{DEX_JAR}: classes.dex lacks the component class {t}")


def check_assets(archive: Archive, infos: list, rule: AssetPaths, report: Report) -> dict[str, bytes]:
    """Declared assets (descriptor and build info) == the files under <package>/assets/."""
    prefix = f"{archive.top}/assets/"
    shipped = {name[len(prefix):]: data for name, data in archive.files.items() if name.startswith(prefix)}
    for name in sorted(shipped):
        if "/" in name:
            report.fail(f"asset {name!r} is in a sub-folder; App Inventor copies extension assets into one flat folder")
            continue
        problem = rule.name_problem(name)
        if problem:
            report.fail(problem)
    for n, d in enumerate(archive.descriptors or []):
        declared = _strings(d.get("assets"))
        _compare_assets(set(declared), set(shipped), f"{archive.descriptor_name}[{n}].assets", report)
        if len(set(declared)) != len(declared):
            report.fail(f"{archive.descriptor_name}[{n}].assets lists a file twice")
    for n, info in enumerate(infos):
        _compare_assets(set(_strings(info.get("assets"))), set(shipped), f"{BUILD_INFOS}[{n}].assets", report)
    return shipped


def _compare_assets(declared: set, shipped: set, where: str, report: Report) -> None:
    missing = sorted(declared - shipped)
    extra = sorted(shipped - declared)
    if missing:
        report.fail(f"{where}: declared but not shipped: {_listing(missing)}")
    if extra:
        report.fail(f"{where}: shipped but not declared: {_listing(extra)}")


def _listing(names: list[str], shown: int = 8) -> str:
    """``a, b, c`` - the first ``shown`` names, then ``(+N more)``."""
    more = f" (+{len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def check_package_files(archive: Archive, rule: AssetPaths, report: Report) -> dict[str, bytes] | None:
    """Stage 2.  Returns the shipped assets ``{flat name: bytes}``."""
    top = archive.top
    files = archive.files
    descriptors = archive.descriptors or []
    types = [d.get("type") for d in descriptors if isinstance(d.get("type"), str)]

    with report.step("descriptor schema (string scalars, fields, YAIL types, categories)"):
        for n, d in enumerate(descriptors):
            check_descriptor(d, f"{archive.descriptor_name}[{n}]", report)
        if archive.descriptor_name != f"{top}/{DESCRIPTOR}":
            report.warn(f"the descriptor is {archive.descriptor_name}; App Inventor's build writes {top}/{DESCRIPTOR}")
        raw = files.get(archive.descriptor_name, b"")
        if any(b > 0x7F for b in raw):
            report.warn(f"{archive.descriptor_name}: non-ASCII bytes (App Inventor's tools escape them)")
        for d in descriptors:
            icon = d.get("iconName")
            local = isinstance(icon, str) and icon and not icon.startswith(("http:", "https:"))
            if local and f"{top}/{icon}" not in files:
                report.fail(f"the icon {icon} named by the descriptor is not in the .aix")

    with report.step("continuous-listening blocks (Heard, Start/StopContinuousListening, Threshold, MinimumInterval)"):
        from .listen import check_listen_blocks

        check_listen_blocks(descriptors, report)

    with report.step("extension.properties and build infos (no INTERNET permission)"):
        props = files.get(f"{top}/{PROPERTIES}")
        if props is None:
            report.fail(f"{top}/{PROPERTIES} is missing")
        elif "type=external" not in props.decode("latin-1").replace(" ", "").splitlines():
            report.fail(f"{top}/{PROPERTIES} does not say type=external")
        infos_raw = files.get(f"{top}/{BUILD_INFOS}")
        infos: list = []
        if infos_raw is None:
            report.fail(f"{top}/{BUILD_INFOS} is missing (the APK build server reads permissions and assets from it)")
        else:
            try:
                infos = check_build_infos(read_components(infos_raw.decode("utf-8"), source=f"{top}/{BUILD_INFOS}"),
                                          types, BUILD_INFOS, report)
            except PacError as exc:
                report.fail(str(exc))
            except (UnicodeDecodeError, ValueError) as exc:
                report.fail(f"{BUILD_INFOS}: not JSON ({exc})")

    with report.step("files/AndroidRuntime.jar: Java 8 classes of the component's package only"):
        jar = files.get(f"{top}/{RUNTIME_JAR}")
        if jar is None:
            report.fail(f"{top}/{RUNTIME_JAR} is missing (the APK build server compiles the app from it)")
        elif report.package:
            check_runtime_jar(jar, report.package, types, report, budget=archive.budget)

    with report.step("classes.jar: valid classes.dex (magic, adler32, sha1, size, version)"):
        dex_jar = files.get(f"{top}/{DEX_JAR}")
        min_sdk = min((int(d["androidMinSdk"]) for d in descriptors
                       if isinstance(d.get("androidMinSdk"), str) and re.fullmatch(r"[0-9]{1,9}", d["androidMinSdk"])),
                      default=7)
        if dex_jar is None:
            report.fail(f"{top}/{DEX_JAR} is missing (the Companion loads the extension from it)")
        elif report.package:
            check_dex_jar(dex_jar, report.package, types, min_sdk, report, budget=archive.budget)

    with report.step("declared assets == shipped assets, flat names"):
        shipped = check_assets(archive, infos, rule, report)
    return shipped


def check_model(assets: dict[str, bytes], rule: AssetPaths, report: Report, page_dir: Path) -> None:
    """The built-in model's manifest: readable by this pac, of a version the shipped page supports,
    and the networks it runs shipped with it."""
    from . import modeldir

    with report.step("built-in model manifest vs. the page's runtime"):
        name = rule.asset_name(rule.model_prefix + modeldir.MANIFEST)
        if name not in assets:
            report.fail(f"no built-in model: asset {name} ({rule.model_prefix}{modeldir.MANIFEST}) is missing")
            return
        try:
            manifest = modeldir.read_manifest(page_dir / rule.model_prefix.rstrip("/"))
        except PacError as exc:
            report.fail(f"built-in model: {exc}")
            return
        report.labels = list(manifest.labels)
        head = rule.asset_name(rule.model_prefix + modeldir.HEAD_JSON)
        if head not in assets:
            report.fail(f"built-in model: {head} is missing")
        else:
            try:
                head_json = jsonsafe.loads(assets[head], source=head)
                for group in head_json.get("weightsManifest", []):
                    for shard in group.get("paths", []):
                        shard_asset = rule.asset_name(rule.model_prefix + shard.lstrip("./"))
                        if shard_asset not in assets:
                            report.fail(f"built-in model: weights {shard_asset} named by {head} are missing")
            except PacError as exc:
                report.fail(f"built-in model: {exc}")
            except (ValueError, AttributeError, TypeError) as exc:
                report.fail(f"built-in model: {head} is unreadable ({exc})")
        constants = page_constants(page_dir)
        try:
            data = jsonsafe.loads(assets[name], source=name)
        except PacError as exc:
            report.fail(f"built-in model: {exc}")
            return
        runtime = (constants or {}).get("manifest")
        if constants is None or not isinstance(runtime, dict) or not isinstance(data, dict):
            report.fail("the page classifier.html is missing or has no pac-constants block with the runtime's manifest")
        else:
            readable = runtime.get("format_versions") or [runtime.get("format_version")]
            readable = readable if isinstance(readable, list) else [readable]
            if data.get("format_version") not in readable:
                report.fail(f"built-in model: pac.json format_version {data.get('format_version')}, the page's runtime "
                            f"(pac {constants.get('pac_version')}) reads {' or '.join(map(str, readable))}")
            base = manifest.base
            if base is not None and (base.get("name"), base.get("cut_layer")) != (runtime.get("base_name"),
                                                                                  runtime.get("cut_layer")):
                report.fail(f"built-in model: trained on {base.get('name')}:{base.get('cut_layer')}, "
                            f"the page runs {runtime.get('base_name')}:{runtime.get('cut_layer')}")
            if constants.get("builtin_manifest") != data:
                report.fail("built-in model: the manifest rendered into the page differs from model/pac.json")
            if constants.get("pac_version") != __version__:
                report.warn(f"the page was rendered by pac {constants.get('pac_version')}, this is pac {__version__}")

    with report.step("the networks the model runs are in the .aix") as step:
        from .runtime import BASE_URL_DIR, networks_of
        from .speech_base import GRAPH_FILE

        needed = networks_of(manifest)
        shipped = (constants or {}).get("networks")
        for network in needed:
            if isinstance(shipped, dict) and not shipped.get(network):
                report.fail(f"the page's constants say it ships no {network} network, which the model runs")
        if "mobilenet" in needed:
            _check_mobilenet_assets(assets, rule, report)
        if "speech" in needed:
            try:
                speech_network(page_dir, manifest)
            except PacError as exc:
                report.fail(f"speech network: {exc}")
        folders = {"mobilenet": BASE_URL_DIR, "speech": PurePosixPath(GRAPH_FILE).parent.as_posix()}
        unused = [n for n, folder in folders.items()
                  if n not in needed and any(a.startswith(folder + rule.separator) for a in assets)]
        if unused:
            report.warn(f"the .aix ships {' and '.join(unused)} files the model does not run")
        step.name += f" ({', '.join(needed)})"


def _check_mobilenet_assets(assets: dict[str, bytes], rule: AssetPaths, report: Report) -> None:
    """``mobilenet/model.json`` and every shard it names are shipped."""
    from .runtime import BASE_URL_DIR

    name = rule.asset_name(f"{BASE_URL_DIR}/model.json")
    if name not in assets:
        report.fail(f"the model runs MobileNet but {name} ({BASE_URL_DIR}/model.json) is missing")
        return
    try:
        paths = [p for group in jsonsafe.loads(assets[name], source=name)["weightsManifest"] for p in group["paths"]]
        shards = [rule.asset_name(f"{BASE_URL_DIR}/{p}") for p in paths]
    except PacError as exc:
        report.fail(str(exc))
        return
    except (ValueError, KeyError, TypeError) as exc:
        report.fail(f"{name}: not a TF.js layers model.json ({exc})")
        return
    missing = [m for m in shards if m not in assets]
    if missing:
        report.fail(f"MobileNet weights named by {name} are missing: {_listing(missing)}")


def speech_network(page_dir: Path, manifest):
    """The speech network an asset folder ships (``speech/graph.json`` + ``speech/weights.bin``),
    checked against the manifest's ``speech_base`` (sha256, weight type)."""
    from . import speech_base

    graph_path, weights_path = page_dir / speech_base.GRAPH_FILE, page_dir / speech_base.WEIGHTS_FILE
    try:
        graph = jsonsafe.loads(graph_path.read_bytes(), source=speech_base.GRAPH_FILE)
        blob = weights_path.read_bytes()
    except FileNotFoundError as exc:
        raise PacError(f"the model runs the speech block but {Path(exc.filename).relative_to(page_dir).as_posix()} "
                       f"is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PacError(f"{speech_base.GRAPH_FILE} is unreadable ({exc})") from None
    network = speech_base.network_from_export(graph, blob, directory=graph_path.parent)
    wanted = manifest.speech_base
    if network.sha256 != wanted.get("sha256"):
        raise PacError(f"{speech_base.GRAPH_FILE} is the network with sha256 {network.sha256[:12]}..., the model "
                       f"was trained on {str(wanted.get('sha256'))[:12]}...")
    if network.weights != wanted["weights"]:
        raise PacError(f"{speech_base.GRAPH_FILE} has {network.weights} weights, the model runs {wanted['weights']}")
    return network


def page_constants(page_dir: Path) -> dict | None:
    """The JSON constants rendered into the shipped classifier.html (None if absent or unreadable)."""
    try:
        text = (page_dir / "classifier.html").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r'<script type="application/json" id="pac-constants">(.*?)</script>', text, re.S)
    if not found:
        return None
    try:
        value = jsonsafe.loads(found.group(1), source="classifier.html")
    except PacError:
        return None
    return value if isinstance(value, dict) else None


def extract_page(assets: dict[str, bytes], rule: AssetPaths, target: Path) -> None:
    """Write the shipped assets to ``target`` at their URL paths (the inverse of the packager's rule).

    On Windows, a URL path segment that cannot be a file there (a device name such as ``aux.json``,
    a trailing dot) is refused rather than written to a device: Android takes it, Windows cannot.
    """
    from . import fsutil

    for name, data in assets.items():
        url_path = rule.url_path(name)
        if fsutil.WINDOWS:
            for segment in url_path.split("/"):
                problem = fsutil.portable_name_problem(segment)
                if problem:
                    raise PacError(f"asset {name}: {segment!r} {problem}, so the page cannot be unpacked "
                                   f"and checked here (on Linux or macOS it can)")
        path = target / url_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:  # e.g. assets a and a__b: the page needs a file and a folder named a
            raise PacError(f"asset {name}: cannot be unpacked to {url_path} ({exc.strerror or exc}); another asset "
                           f"needs the same path as a file and as a folder") from None


# --------------------------------------------------------------------------------------------
# stage 3: the page in a browser


def label_clips(clips_dir: Path) -> list[tuple[str, Path]]:
    """``[(label, wav)]`` from a folder with one sub-folder per label."""
    from .dataset import find_wavs

    if not clips_dir.is_dir():
        raise PacError(f"{clips_dir}: not a folder")
    found = []
    for folder in sorted(p for p in clips_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for wav in find_wavs([folder]):
            found.append((folder.name, wav))
    if not found:
        raise PacError(f"{clips_dir}: no label sub-folders with .wav clips")
    return found


def check_page(page_dir: Path, clips: list[tuple[str, Path]], report: Report, *, timeout: float = 120) -> None:
    """Load the page in headless Chromium with the bridge fake; classify ``clips``; compare with Python."""
    from .browser import Browser

    with report.step("the .aix's page runs in headless Chromium") as step:
        try:
            with Browser(page_dir, timeout=timeout) as browser:
                labels = browser.open("classifier.html")
                if report.labels is not None and list(labels) != report.labels:
                    report.fail(f"the page's ready() labels {labels} are not the model's {report.labels}")
                bad = [c for c in browser.calls() if c.get("bad")]
                if bad:
                    report.fail(f"the page called the bridge with wrong arguments: {bad[0]}")
                backend = (browser.info() or {}).get("backend")
                results = [(label, wav, page_answer(browser, wav, report, timeout=timeout)) for label, wav in clips]
                from .listen import check_page_stream

                streamed = check_page_stream(browser, labels, report)
        except PacError as exc:
            report.fail(f"the .aix's page in headless Chromium: {exc}")
            return
        step.name += f": ready(labels), TF.js backend {backend}; {streamed}"
    if clips:
        compare_results(page_dir, results, report)


def page_answer(browser, wav: Path, report: Report, *, timeout: float) -> dict:
    """The page's answer to one clip: ``{"result": [[label, probability], ...]}`` or ``{"error": ...}``
    (also when the clip is not a regular file within ``LIMITS.wav_max_bytes``: not given to the page)."""
    try:
        data = read_limited(wav, max_bytes=LIMITS.wav_max_bytes, what="WAV file")
    except PacError as exc:
        return {"error": f"not read ({exc})"}
    call = browser.classify_wav(data, timeout=timeout)
    if call.get("bad"):
        report.fail(f"{wav}: the page called {call['method']} with wrong arguments ({call['bad']})")
    if call["method"] == "reportResult":
        return _page_result(call["args"], wav)
    return {"error": f"{call['method']}{tuple(call['args'])}"}


def _page_result(args: list, wav: Path) -> dict:
    """``reportResult``'s one argument, JSON text of ``[[label, probability], ...]``, as a page answer."""
    text = args[0] if args else None
    try:
        result = jsonsafe.loads(text, source=f"{wav.name}: reportResult") if isinstance(text, str) else None
    except PacError as exc:
        return {"error": f"reportResult with a result that is not readable ({exc})"}
    pairs = isinstance(result, list) and all(isinstance(p, list) and len(p) == 2 for p in result)
    if not pairs or not all(isinstance(label, str) and isinstance(prob, (int, float)) and not isinstance(prob, bool)
                            for label, prob in result):
        return {"error": f"reportResult{tuple(args)}: not [[label, probability], ...]"}
    return {"result": result}


def python_classifier(page_dir: Path):
    """:class:`pac.classifier.Classifier` of the asset folder's model with the networks shipped beside it."""
    from .classifier import Classifier
    from .modeldir import read_manifest
    from .runtime import BASE_URL_DIR, MODEL_URL_DIR

    model_dir = page_dir / MODEL_URL_DIR
    manifest = read_manifest(model_dir)
    network = speech_network(page_dir, manifest) if "speech" in manifest.blocks else None
    return Classifier(model_dir, base=page_dir / BASE_URL_DIR, speech_network=network)


def compare_results(page_dir: Path, results, report: Report) -> None:
    """Accuracy of the page's answers and their largest difference from the Python classifier's.

    A clip both sides refuse (e.g. a silent one) is a warning and does not count; a clip only one
    side refuses is a failure.
    """
    from .classifier import ranked
    from .features.pipeline import load_clip

    with report.step("clips classified by the page"):
        try:
            classifier = python_classifier(page_dir)
        except PacError as exc:
            report.fail(f"pac's Python classifier cannot run the .aix's model: {exc}")
            return
        python: list = []
        usable = []
        for _, wav, _ in results:
            try:
                usable.append(load_clip(wav, classifier.config))
                python.append(None)
            except PacError as exc:
                python.append(str(exc))
        probabilities = iter(classifier.probabilities(usable)) if usable else iter(())
        python = [ranked(classifier.labels, next(probabilities)) if p is None else p for p in python]
        correct = counted = 0
        diff = None
        for (label, wav, outcome), py in zip(results, python):
            row = {"clip": str(wav), "label": label}
            report.results.append(row)
            if isinstance(py, str) or outcome.get("error"):
                row.update(js_error=outcome.get("error"), python_error=py if isinstance(py, str) else None)
                if isinstance(py, str) and outcome.get("error"):
                    report.warn(f"{wav}: refused by the page ({outcome['error']}) and by pac ({py})")
                elif outcome.get("error"):
                    report.fail(f"{wav}: the page answered {outcome['error']}, pac's Python classifier did not "
                                f"refuse it")
                else:
                    report.fail(f"{wav}: pac refused it ({py}) but the page classified it")
                continue
            js = outcome["result"]
            row.update(js=js, python=py)
            counted += 1
            if js and js[0][0] == label:
                correct += 1
            js_p = {lab: p for lab, p in js}
            if set(js_p) != {lab for lab, _ in py}:
                report.fail(f"{wav}: the page's labels {sorted(js_p)} differ from Python's")
                continue
            diff = max(diff or 0.0, max(abs(js_p[lab] - p) for lab, p in py))
        report.clips = counted
        report.accuracy = correct / counted if counted else None
        report.max_prob_diff = diff
        if diff is not None and diff > PARITY_TOLERANCE:
            report.fail(f"the page's probabilities differ from pac's Python classifier by up to {diff:.3g} "
                        f"(tolerance {PARITY_TOLERANCE:g})")


# --------------------------------------------------------------------------------------------


def verify(path, *, clips_dir=None, browser: bool = True, timeout: float = 120) -> Report:
    """Run every check on the .aix at ``path``; never raises for a broken file (see ``Report.failures``).

    Whatever is wrong with the .aix - missing, not a regular file, over a limit, hostile or broken -
    is a failure line of the report (``pac verify`` exits with code 1); a :class:`PacError` (code 2)
    is only about the rest: the ``--clips`` folder, no browser.

    With ``browser`` (the default), raises :class:`PacError` when no Chrome, Chromium or Edge with its
    driver is installed (:func:`pac.browser.find_browser`), before checking anything.
    """
    path = Path(path)
    report = Report(path=str(path))
    rule = AssetPaths.load()
    clips = label_clips(Path(clips_dir)) if clips_dir else []
    if browser:  # no browser: one clear PacError before any check (pac verify --no-browser skips the page)
        from .browser import find_browser

        find_browser()
    archive = check_import(path, report)
    if archive is None:
        return report
    assets = check_package_files(archive, rule, report)
    if report.size is not None and report.size > TARGET_AIX_BYTES:
        report.warn(f"the .aix is {report.size:,d} bytes, over the {TARGET_AIX_BYTES:,d} byte size target")
    if not assets:
        return report
    with tempfile.TemporaryDirectory(prefix="pac-verify-") as tmp:
        page_dir = Path(tmp) / "page"
        try:
            extract_page(assets, rule, page_dir)
        except PacError as exc:
            report.fail(f"assets: {exc}")
            return report
        check_model(assets, rule, report, page_dir)
        if browser:
            check_page(page_dir, clips, report, timeout=timeout)
        elif clips:
            report.warn("--clips needs the browser stage; not classified")
    return report
