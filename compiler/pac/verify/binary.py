"""Stage 2 of ``pac verify``, the binaries: Java 8 class files of the component's package only in
``files/AndroidRuntime.jar``, and a valid ``classes.dex`` in ``classes.jar`` (header, adler32, sha1,
size, dex version vs. the minimum Android version), with their parsers."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib

from ..aix import DEX_JAR, RUNTIME_JAR
from ..zipsafe import is_folder
from .archive import Budget, read_jar
from .report import Report

JAVA8_MAJOR = 52
#: dex format version -> the first Android API level that loads it.
DEX_MIN_API = {35: 1, 37: 24, 38: 26, 39: 28, 40: 34}


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
            length = struct.unpack(">H", data[pos + 1 : pos + 3])[0]
            utf8[index] = data[pos + 3 : pos + 3 + length].decode("utf-8", "replace")
            pos += 3 + length
        elif tag == 7:
            classes[index] = struct.unpack(">H", data[pos + 1 : pos + 3])[0]
            pos += 3
        elif tag in sizes:
            pos += 1 + sizes[tag]
        else:
            raise ValueError(f"unknown constant pool tag {tag}")
        index += 2 if tag in (5, 6) else 1
    this_class = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return major, utf8[classes[this_class]]


def _class_entry(info: zipfile.ZipInfo, report: Report) -> bool:
    """Whether a jar entry is a class file to check (a non-class file outside META-INF/ is a warning)."""
    if is_folder(info) or info.filename.startswith("META-INF/"):
        return False
    if not info.filename.endswith(".class"):
        report.warn(f"{RUNTIME_JAR}: non-class file {info.filename}")
        return False
    return True


def check_runtime_jar(
    data: bytes, package: str, types: list[str], report: Report, *, budget: Budget | None = None
) -> None:
    """files/AndroidRuntime.jar: Java 8 class files, only of the component's package.

    ``budget`` is the .aix's running total of uncompressed bytes (a fresh one if None).
    """
    prefix = package.replace(".", "/") + "/"
    classes = read_jar(
        data,
        RUNTIME_JAR,
        report,
        Budget() if budget is None else budget,
        select=lambda info: _class_entry(info, report),
    )
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
            report.fail(
                f"{RUNTIME_JAR}: {filename} is Java {java} bytecode (class file major {major}); "
                f"App Inventor needs Java 8 (major {JAVA8_MAJOR}) or older"
            )
        if not name.startswith(prefix):
            report.fail(
                f"{RUNTIME_JAR}: class {name.replace('/', '.')} is not in the package {package}; an "
                f"extension may only ship its own classes (App Inventor's API comes from the app)"
            )
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
    (checksum,) = struct.unpack("<I", dex[8:12])
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
        (off,) = struct.unpack("<I", dex[strings_off + 4 * i : strings_off + 4 * i + 4])
        _, start = _uleb128(dex, off)
        end = dex.index(b"\0", start)
        return dex[start:end].decode("utf-8", "replace")

    classes = []
    for c in range(n_classes):
        (type_idx,) = struct.unpack("<I", dex[classes_off + 32 * c : classes_off + 32 * c + 4])
        if type_idx >= n_types:
            raise ValueError(f"class_def {c} names type {type_idx} of {n_types}")
        (desc_idx,) = struct.unpack("<I", dex[types_off + 4 * type_idx : types_off + 4 * type_idx + 4])
        if desc_idx >= n_strings:
            raise ValueError(f"type {type_idx} names string {desc_idx} of {n_strings}")
        classes.append(string(desc_idx))
    return {"version": version, "classes": classes}


def check_dex_jar(
    data: bytes, package: str, types: list[str], min_sdk: int, report: Report, *, budget: Budget | None = None
) -> None:
    """classes.jar: a jar with a valid classes.dex of the component's classes.

    ``budget`` is the .aix's running total of uncompressed bytes (a fresh one if None).
    """
    dexes = read_jar(
        data,
        DEX_JAR,
        report,
        Budget() if budget is None else budget,
        select=lambda info: not is_folder(info) and info.filename.endswith(".dex"),
    )
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
        report.fail(
            f"{DEX_JAR}: dex version {info['version']:03d} needs Android API {needs}, the component declares "
            f"androidMinSdk {min_sdk}"
        )
    prefix = "L" + package.replace(".", "/") + "/"
    outside = [c for c in info["classes"] if not c.startswith(prefix)]
    if outside:
        report.fail(f"{DEX_JAR}: classes outside {package}: {', '.join(outside[:5])}")
    for t in types:
        if "L" + t.replace(".", "/") + ";" not in info["classes"]:
            report.fail(f"{DEX_JAR}: classes.dex lacks the component class {t}")
