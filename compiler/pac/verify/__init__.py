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
with it (MobileNet's ``mobilenet/`` for a conv head or a MobileNet block, with every shard its
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

import tempfile
from pathlib import Path

from ..aix import TARGET_AIX_BYTES, AssetPaths
from ..errors import PacError
from .appinventor import (
    BOOLEAN_KEYS,
    BOOLEAN_STRINGS,
    BUILD_INFO_LISTS,
    CATEGORIES,
    INTERNET,
    LIST_KEYS,
    RECOMMENDED_COMPONENT,
    REQUIRED_COMPONENT,
    RW_VALUES,
    YAIL_TYPES,
    check_assets,
    check_build_infos,
    check_descriptor,
    check_package_files,
)
from .archive import (
    Archive,
    Budget,
    central_directory_records,
    check_import,
    entry_problem,
    open_archive,
    read_components,
    read_entries,
    read_jar,
)
from .binary import DEX_MIN_API, JAVA8_MAJOR, check_dex_jar, check_runtime_jar, class_file_info, parse_dex
from .model import check_model, extract_page, page_constants, speech_network
from .page import PARITY_TOLERANCE, check_page, compare_results, label_clips, page_answer, python_classifier
from .report import Report, Step

__all__ = [
    "BOOLEAN_KEYS",
    "BOOLEAN_STRINGS",
    "BUILD_INFO_LISTS",
    "CATEGORIES",
    "DEX_MIN_API",
    "INTERNET",
    "JAVA8_MAJOR",
    "LIST_KEYS",
    "PARITY_TOLERANCE",
    "RECOMMENDED_COMPONENT",
    "REQUIRED_COMPONENT",
    "RW_VALUES",
    "YAIL_TYPES",
    "Archive",
    "Budget",
    "Report",
    "Step",
    "central_directory_records",
    "check_assets",
    "check_build_infos",
    "check_dex_jar",
    "check_descriptor",
    "check_import",
    "check_model",
    "check_package_files",
    "check_page",
    "check_runtime_jar",
    "class_file_info",
    "compare_results",
    "entry_problem",
    "extract_page",
    "label_clips",
    "open_archive",
    "page_answer",
    "page_constants",
    "parse_dex",
    "python_classifier",
    "read_components",
    "read_entries",
    "read_jar",
    "speech_network",
    "verify",
]


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
        from ..browser import find_browser

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
