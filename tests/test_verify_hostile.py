"""``pac verify`` on hostile .aix files: every one ends in failure lines of the report (exit code 1),
in bounded time and memory, never in a traceback, a hang or a file read whole.

Most archives here are built from scratch with :mod:`zipfile` (a descriptor naming one component
is enough to reach the jar checks); the model's JSON is attacked in a real ``pac build`` output.
A few tests lower a limit of :data:`pac.limits.LIMITS` (``dataclasses.replace``) so that the total
size limit is reached with a few megabytes instead of hundreds.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import struct
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest

from pac.cli import main
from pac.limits import LIMITS
from pac.verify import Report, open_archive, verify
from pac.verify import archive as verify_archive
from pac.verify import page as verify_page
from test_verify import rewrite

PACKAGE = "com.example.hostile"
DESCRIPTOR = json.dumps([{"type": f"{PACKAGE}.Thing"}]).encode()
MIB = 1 << 20


def zip_of(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``entries`` in this order (duplicate names allowed)."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", method) as archive:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
        for name, data in entries.items() if isinstance(entries, dict) else entries:
            archive.writestr(name, data)
    return out.getvalue()


def aix_of(tmp_path: Path, extra: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """An .aix with a one-component descriptor and ``extra`` entries (names under the package folder)."""
    path = tmp_path / "hostile.aix"
    path.write_bytes(
        zip_of(
            {f"{PACKAGE}/components.json": DESCRIPTOR, **{f"{PACKAGE}/{name}": data for name, data in extra.items()}},
            method=method,
        )
    )
    return path


def failures(path: Path) -> list[str]:
    report = verify(path, browser=False)
    assert not report.ok
    return report.failures


def patch_entry(data: bytes, name: str, *, central: dict[int, bytes], local: dict[int, bytes] | None = None) -> bytes:
    """``data`` with bytes of ``name``'s central directory record (and local header) overwritten at
    the given offsets."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    record = data.index(b"PK\x01\x02")
    while data[record + 46 : record + 46 + len(name)] != name.encode():
        record = data.index(b"PK\x01\x02", record + 4)
    for offset, value in central.items():
        out[record + offset : record + offset + len(value)] = value
    for offset, value in (local or {}).items():
        out[info.header_offset + offset : info.header_offset + offset + len(value)] = value
    return bytes(out)


@pytest.fixture
def lower_limits(monkeypatch):
    """Replace the limits of ``pac.verify``'s modules by ``LIMITS`` with the given fields changed."""

    def lower(**fields):
        lowered = dataclasses.replace(LIMITS, **fields)
        for module in (verify_archive, verify_page):
            monkeypatch.setattr(module, "LIMITS", lowered)

    return lower


# -- the file itself -------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    fifo = tmp_path / "x.aix"
    os.mkfifo(fifo)
    assert [f for f in failures(fifo) if "not a regular file" in f] == failures(fifo)[:1]
    assert main(["verify", str(fifo), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "not a regular file" in err and "Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused():
    assert "not a regular file" in " ".join(failures(Path("/dev/zero")))


def test_folder_is_refused(tmp_path):
    assert "is a folder" in " ".join(failures(tmp_path))


def test_aix_over_the_upload_limit_is_not_read(tmp_path):
    """A 10 GiB sparse file: one line, App Inventor's upload limit, and not a byte read."""
    huge = tmp_path / "huge.aix"
    with open(huge, "wb") as f:
        f.truncate(10 << 30)
    report = verify(huge, browser=False)
    assert report.failures == [
        "the .aix is 10,737,418,240 bytes; App Inventor refuses uploads over 15,728,640 bytes (not read)"
    ]
    assert report.size == 10 << 30


# -- entry counts and names ------------------------------------------------------------------------


def test_too_many_entries_are_refused_before_the_zip_is_parsed(tmp_path):
    """60,000 empty entries in under 15 MB (the old quadratic duplicate check never finished)."""
    path = tmp_path / "many.aix"
    path.write_bytes(zip_of({f"p/{i:x}": b"" for i in range(60_000)}, method=zipfile.ZIP_STORED))
    assert path.stat().st_size < 15 * MIB
    report = verify(path, browser=False)
    assert report.failures == ["the .aix: 60,000 entries, more than the limit of 10,000 per archive; not read"]
    assert report.entries == []


def test_duplicate_names_are_found_in_one_pass(tmp_path):
    names = [f"{PACKAGE}/assets/{i}" for i in range(4_000)]
    path = tmp_path / "dups.aix"
    path.write_bytes(zip_of([(f"{PACKAGE}/components.json", DESCRIPTOR)] + [(n, b"x") for n in names + names]))
    found = [f for f in failures(path) if "duplicate zip entries" in f]
    assert len(found) == 1
    assert found[0].startswith(f"the .aix: duplicate zip entries: {PACKAGE}/assets/0, ") and found[0].endswith(
        "(+3992 more)"
    )


def test_entry_name_that_is_not_utf8(tmp_path):
    """An entry flagged as UTF-8 whose name is not: not a zip App Inventor can read (was a traceback)."""
    data = zip_of({f"{PACKAGE}/components.json": DESCRIPTOR, f"{PACKAGE}/ab": b"x"})
    name = f"{PACKAGE}/ab"
    flags = struct.pack("<H", 0x800)
    bad = patch_entry(data, name, central={8: flags}, local={6: flags})
    bad = bad.replace(name.encode(), f"{PACKAGE}/".encode() + b"\xff\xfe")
    path = tmp_path / "names.aix"
    path.write_bytes(bad)
    text = " ".join(failures(path))
    assert "not a zip file" in text and "utf-8" in text


def test_entry_name_that_starts_with_nul(tmp_path):
    """A central-directory name whose first byte is NUL is read as an empty name (zipfile cuts names at
    NUL): reported as unsafe, not an IndexError from ZipInfo.is_dir (found by bench/fuzz.py)."""
    name = f"{PACKAGE}/ab"
    data = zip_of({f"{PACKAGE}/components.json": DESCRIPTOR, name: b"x"})
    bad = patch_entry(data, name, central={46: b"\0"})
    path = tmp_path / "nul.aix"
    path.write_bytes(bad)
    assert "unsafe entry name ''" in failures(path)


# -- sizes, ratios and methods of entries ----------------------------------------------------------


def test_entry_over_the_size_limit_is_not_decompressed(tmp_path):
    size = LIMITS.aix_max_entry_bytes + 1
    text = "\n".join(failures(aix_of(tmp_path, {"assets/big.bin": bytes(size)})))
    assert (
        f"{PACKAGE}/assets/big.bin: {size:,d} bytes uncompressed, more than the 67,108,864-byte limit per "
        f"entry; not decompressed"
    ) in text
    assert "FILE_TOO_LARGE" in text  # App Inventor's own limit is still reported


def test_zip_bomb_entry_is_not_decompressed(tmp_path):
    text = "\n".join(failures(aix_of(tmp_path, {"assets/bomb.bin": bytes(10 * MIB)})))
    assert f"{PACKAGE}/assets/bomb.bin: " in text
    assert "a ratio over 100:1 (a zip bomb); not decompressed" in text


def test_header_that_understates_the_size_is_caught_by_the_bounded_read(tmp_path):
    """The header says 1 KiB, the data inflates to 100 MiB: reading stops at the declared size."""
    name = f"{PACKAGE}/assets/liar.bin"
    data = zip_of({f"{PACKAGE}/components.json": DESCRIPTOR, name: bytes(100 * MIB)})
    small = struct.pack("<L", 1024)
    path = tmp_path / "liar.aix"
    path.write_bytes(patch_entry(data, name, central={24: small}, local={22: small}))
    tracemalloc.start()
    try:
        report = verify(path, browser=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert any(f.startswith(f"{name}: cannot be decompressed") for f in report.failures), report.failures
    assert peak < 16 * MIB


def test_compression_method_app_inventor_cannot_read(tmp_path):
    text = "\n".join(failures(aix_of(tmp_path, {"assets/a.txt": b"hello" * 100}, method=zipfile.ZIP_BZIP2)))
    assert (
        "components.json: uses compression method 12; App Inventor (java.util.zip) reads only stored and "
        "deflated entries" in text
    )


def test_encrypted_entry(tmp_path):
    """The encryption flag set: refused by its header (was a RuntimeError traceback)."""
    name = f"{PACKAGE}/assets/secret.txt"
    data = zip_of({f"{PACKAGE}/components.json": DESCRIPTOR, name: b"secret"})
    path = tmp_path / "secret.aix"
    path.write_bytes(patch_entry(data, name, central={8: struct.pack("<H", 1)}, local={6: struct.pack("<H", 1)}))
    assert f"{name}: is encrypted; App Inventor cannot read it" in failures(path)


def test_total_size_limit_stops_reading(tmp_path, lower_limits):
    lower_limits(aix_max_total_bytes=MIB)
    path = aix_of(tmp_path, {f"assets/{i}.bin": os.urandom(400_000) for i in range(3)})
    report = verify(path, browser=False)
    assert report.failures == [
        "the .aix: reading it would pass the limit of 1,048,576 bytes uncompressed in "
        "total (nested archives included); stopped there"
    ]


# -- archives nested in the .aix -------------------------------------------------------------------


def test_zip_bomb_inside_classes_jar(tmp_path):
    jar = zip_of({"classes.dex": bytes(20 * MIB)})
    text = "\n".join(failures(aix_of(tmp_path, {"classes.jar": jar})))
    assert "classes.jar: classes.dex: " in text
    assert "a ratio over 100:1 (a zip bomb); not decompressed" in text


def test_too_many_entries_inside_classes_jar(tmp_path):
    jar = zip_of({f"{i:x}.dex": b"" for i in range(LIMITS.aix_max_entries + 1)}, method=zipfile.ZIP_STORED)
    assert "classes.jar: 10,001 entries, more than the limit of 10,000 per archive; not read" in failures(
        aix_of(tmp_path, {"classes.jar": jar}, method=zipfile.ZIP_STORED)
    )


def test_runtime_jar_entries_count_towards_the_total(tmp_path, lower_limits):
    """Nested bytes count: the .aix itself is under the total, with the jar's classes it is not."""
    lower_limits(aix_max_total_bytes=MIB)
    jar = zip_of({f"{PACKAGE.replace('.', '/')}/Thing.class": os.urandom(700_000)}, method=zipfile.ZIP_STORED)
    text = "\n".join(failures(aix_of(tmp_path, {"files/AndroidRuntime.jar": jar}, method=zipfile.ZIP_STORED)))
    assert (
        "files/AndroidRuntime.jar: reading it would pass the limit of 1,048,576 bytes uncompressed in total "
        "(nested archives included); stopped there"
    ) in text


def test_archives_nested_deeper_than_the_limit_are_not_opened():
    report = Report(path="x.aix")
    assert open_archive(zip_of({"a": b"x"}), "inner.zip", report, depth=LIMITS.zip_max_depth + 1) is None
    assert report.failures == ["inner.zip: an archive nested 3 deep, more than the limit of 2; not read"]


# -- JSON inside -----------------------------------------------------------------------------------


def deep_json(depth: int) -> bytes:
    """Arrays nested ``depth`` deep, with random whitespace so that it does not look like a zip bomb."""
    spaces = random.Random(depth).choices(" \t\r\n", k=depth)
    return "".join("[" + space for space in spaces).encode() + b"]" * depth


DEEP = deep_json(100_000)


@pytest.mark.parametrize("entry", ["components.json", "files/component_build_infos.json"])
def test_deeply_nested_descriptor_or_build_infos(tmp_path, entry):
    extra = {"files/component_build_infos.json": DEEP} if entry.startswith("files/") else {}
    path = aix_of(tmp_path, extra)
    if entry == "components.json":
        path.write_bytes(zip_of({f"{PACKAGE}/components.json": DEEP}))
    text = "\n".join(failures(path))
    assert f"{PACKAGE}/{entry}: JSON nested 100000 levels deep, more than the limit of 32" in text


def test_values_of_the_wrong_type_in_descriptor_and_build_infos(tmp_path):
    """Lists and objects where App Inventor's schema has strings: failure lines (were TypeErrors)."""
    descriptor = [
        {
            "type": f"{PACKAGE}.Thing",
            "name": "Thing",
            "assets": [["a"], {"b": 1}],
            "blockProperties": [{"name": ["p"], "rw": ["x"], "deprecated": {}}],
            "properties": [{"name": ["p"], "editorType": "x", "defaultValue": "y"}],
            "events": [{"name": ["e"], "description": "", "deprecated": "false", "params": []}] * 2,
        }
    ]
    infos = [{"type": None, "permissions": 5, "assets": [{}]}, {"type": 3, "permissions": [], "assets": []}]
    path = tmp_path / "types.aix"
    path.write_bytes(
        zip_of(
            {
                f"{PACKAGE}/components.json": json.dumps(descriptor).encode(),
                f"{PACKAGE}/files/component_build_infos.json": json.dumps(infos).encode(),
            }
        )
    )
    text = "\n".join(failures(path))
    for says in (
        "components.json[0].assets must be an array of file names",
        "blockProperties[0].rw: ['x'] is not one of",
        "blockProperties[0].deprecated: {} is not",
        "designer property ['p'] has no blockProperties entry",
        "component_build_infos.json[0].permissions must be an array",
        "component_build_infos.json[0].assets must be an array of strings",
        "build infos for [None, 3]",
    ):
        assert says in text, says


@pytest.mark.slow
@pytest.mark.parametrize("asset", ["model__model.json", "mobilenet__model.json"])
def test_deeply_nested_model_json(built_aix, tmp_path, asset):
    def edit(files, package):
        files[f"{package}/assets/{asset}"] = DEEP

    text = "\n".join(failures(rewrite(built_aix, tmp_path / "x.aix", edit)))
    assert f"{asset}: JSON nested 100000 levels deep, more than the limit of 32" in text


# -- the command ---------------------------------------------------------------------------------


def test_cli_exit_code_and_one_line_per_problem(tmp_path, capsys):
    """A hostile .aix is a failing .aix: exit code 1, each problem one line, the JSON report written."""
    path = aix_of(tmp_path, {"assets/bomb.bin": bytes(10 * MIB), "classes.jar": zip_of({"classes.dex": bytes(MIB)})})
    out = tmp_path / "report.json"
    assert main(["verify", str(path), "--no-browser", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == len(json.loads(out.read_text())["failures"]) >= 2
    assert any("assets/bomb.bin" in line and "zip bomb" in line for line in problems)
    assert any(line.startswith("  - classes.jar: classes.dex: ") for line in problems)


@pytest.mark.parametrize("order", [("js", "js__x.js"), ("js__x.js", "js")])
def test_asset_that_is_both_a_file_and_a_folder(tmp_path, order):
    """Assets ``js`` and ``js__x.js`` cannot both be unpacked (was a FileExistsError or IsADirectoryError)."""
    names = list(order)
    descriptor = [{"type": f"{PACKAGE}.Thing", "assets": names}]
    path = tmp_path / "paths.aix"
    path.write_bytes(
        zip_of(
            {
                f"{PACKAGE}/components.json": json.dumps(descriptor).encode(),
                **{f"{PACKAGE}/assets/{name}": b"x" for name in names},
            }
        )
    )
    assert any(f.startswith("assets: asset ") and "as a file and as a folder" in f for f in failures(path))
