"""Package a trained model and the built component into an App Inventor extension (``.aix``).

An ``.aix`` is a zip whose entries all sit under ONE folder named after the component's Java
package (App Inventor's ``components/build.xml``, targets ``jarExtension``/``d8Extension``/
``packExtension``; checked on import by ``ComponentServiceImpl``)::

    <package>/components.json                 JSON array of component descriptors
    <package>/extension.properties            type=external
    <package>/classes.jar                     a jar holding classes.dex (loaded by the Companion)
    <package>/files/AndroidRuntime.jar        the plain Java 8 .class files (the build server re-dexes them)
    <package>/files/component_build_infos.json
    <package>/assets/<name>                   every asset the component declares, nothing else
    <package>/aiwebres/<icon>                 the palette icon

The assets are the classifier page rendered by :func:`pac.runtime.write_assets` for one model: a
folder of files addressed by URL path (``mobilenet/model.json``).  App Inventor copies extension
assets into one flat folder, so every URL path becomes a flat asset name by the rule in
``bridge.json`` (``asset_paths``: segments joined with ``__``); :class:`AssetPaths` maps both ways.
The descriptor's and build info's ``assets`` lists are filled in here with exactly the shipped
names.  The component's own files (descriptors, jars, icon) do not depend on the model: they are
the Maven build's outputs, found by :mod:`pac.resources` (a checkout's ``extension/target/aix``,
rebuilt when stale, or the package data of an installed pac).

The zip is deterministic: sorted entries, fixed timestamps (1980-01-01), fixed permissions, deflate
level 9 - the same inputs give a byte-identical file (with the same zlib).
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import resources
from .errors import PacError
from .fsutil import write_bytes_atomic
from .resources import JavaOutputs

#: App Inventor's per-file upload limit (FileImporterImpl ``max.asset.size.megs`` = 15,
#: ObjectifyStorageIo.getMaxJobSizeBytes = 15 MiB); the .aix itself is uploaded under the same limit.
MAX_FILE_BYTES = 15 * 1024 * 1024
#: What we aim for: the whole .aix (it is copied into every app that uses it).
TARGET_AIX_BYTES = int(3.5 * 1024 * 1024)

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o040755

DESCRIPTOR = "components.json"
LEGACY_DESCRIPTOR = "component.json"
BUILD_INFOS = "files/component_build_infos.json"
RUNTIME_JAR = "files/AndroidRuntime.jar"
DEX_JAR = "classes.jar"
PROPERTIES = "extension.properties"
PROPERTIES_TEXT = b"type=external\n"


# --------------------------------------------------------------------------------------------
# URL path <-> flat asset name


@dataclass(frozen=True)
class AssetPaths:
    """The rule of ``bridge.json`` ``asset_paths``: URL path segments joined by ``separator``."""

    separator: str
    segment_pattern: str
    reserved_names: frozenset
    reserved_suffixes: tuple
    model_prefix: str

    @classmethod
    def load(cls, bridge: str | os.PathLike | None = None) -> AssetPaths:
        path = Path(bridge) if bridge else resources.current().bridge_json
        try:
            rule = json.loads(path.read_text(encoding="utf-8"))["asset_paths"]
            return cls(
                separator=rule["separator"],
                segment_pattern=rule["segment_pattern"],
                reserved_names=frozenset(n.lower() for n in rule["reserved_names"]),
                reserved_suffixes=tuple(rule["reserved_suffixes"]),
                model_prefix=rule["model_prefix"],
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PacError(f"{path}: cannot read the asset_paths rule ({exc})") from None

    def name_problem(self, name: str) -> str | None:
        """Why ``name`` cannot be a flat asset name (None when it can)."""
        if name.lower() in self.reserved_names:
            return f"asset name {name!r} is reserved (App Inventor looks .aix files up by base name)"
        for suffix in self.reserved_suffixes:
            if name.endswith(suffix):
                return f"asset name {name!r} ends with {suffix!r} (dropped by aapt)"
        for segment in name.split(self.separator):
            if not re.match(self.segment_pattern, segment):
                return f"asset name {name!r}: segment {segment!r} does not match {self.segment_pattern}"
        return None

    def asset_name(self, url_path: str) -> str:
        """``mobilenet/model.json`` -> ``mobilenet__model.json``."""
        segments = url_path.split("/")
        for segment in segments:
            if not re.match(self.segment_pattern, segment):
                raise PacError(
                    f"page file {url_path!r}: path segment {segment!r} cannot be an asset name "
                    f"(must match {self.segment_pattern})"
                )
        name = self.separator.join(segments)
        problem = self.name_problem(name)
        if problem:
            raise PacError(f"page file {url_path!r}: {problem}")
        return name

    def url_path(self, asset_name: str) -> str:
        """``mobilenet__model.json`` -> ``mobilenet/model.json``."""
        problem = self.name_problem(asset_name)
        if problem:
            raise PacError(problem)
        return "/".join(asset_name.split(self.separator))


# --------------------------------------------------------------------------------------------
# deterministic zip


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A deterministic zip of ``{entry name: bytes}`` with its folder entries (as ant's zip task writes).

    Entries are sorted by name; every entry has the 1980-01-01 timestamp, Unix mode 644 (folders 755),
    and file data is deflated at level 9.
    """
    names = set(files)
    folders = set()
    for name in files:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folders.add("/".join(parts[:i]) + "/")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(names | folders):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3
            if name in folders:
                info.external_attr = (DIR_MODE << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# packaging


@dataclass
class BuildResult:
    """What :func:`build_aix` wrote: the file and every entry's size."""

    path: Path
    package: str
    size: int
    entries: list = field(default_factory=list)  # [(name, bytes, compressed bytes)]

    def summary(self) -> str:
        return f"{self.path} ({self.size / 1e6:.2f} MB, {len(self.entries)} files)"


def read_json(path: Path, what: str):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PacError(f"{path}: cannot read {what} ({exc})") from None


def component_package(descriptors: list) -> str:
    """The one Java package of the descriptors' types (the .aix's top folder)."""
    if not isinstance(descriptors, list) or not descriptors:
        raise PacError("components.json: expected a non-empty JSON array of component descriptors")
    packages = {str(d.get("type", "")).rpartition(".")[0] for d in descriptors if isinstance(d, dict)}
    if len(packages) != 1 or "" in packages:
        raise PacError(f"components.json: the components must share one Java package (found {sorted(packages)})")
    return packages.pop()


def render_assets(model_dir, out_dir: Path, *, base_dir=None, speech_dir=None, rule: AssetPaths) -> dict[str, Path]:
    """Render the classifier page for ``model_dir``: ``{flat asset name: file}``."""
    from .runtime import write_assets

    assets = {}
    for url_path in write_assets(model_dir, out_dir, base_dir=base_dir, speech_dir=speech_dir):
        name = rule.asset_name(url_path)
        if name in assets:
            raise PacError(f"two page files map to the asset name {name}")
        assets[name] = out_dir / url_path
    return assets


def with_assets(entries: list, names: list[str]) -> list:
    """Copies of the descriptors (or build infos) whose ``assets`` list is exactly ``names``."""
    result = []
    for entry in entries:
        entry = dict(entry)
        entry["assets"] = list(names)
        result.append(entry)
    return result


def descriptor_bytes(value) -> bytes:
    """JSON text as App Inventor writes it: ASCII only (non-ASCII escaped)."""
    return (json.dumps(value, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def aix_entries(java: JavaOutputs, assets: dict[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """The .aix's ``{entry name: bytes}`` and its top folder, from the Java outputs and flat assets."""
    descriptors = read_json(java.components_json, "the component descriptors")
    infos = read_json(java.build_infos_json, "the component build infos")
    package = component_package(descriptors)
    if not isinstance(infos, list) or not infos:
        raise PacError(f"{java.build_infos_json}: expected a non-empty JSON array")
    names = sorted(assets)
    files = {
        f"{package}/{DESCRIPTOR}": descriptor_bytes(with_assets(descriptors, names)),
        f"{package}/{PROPERTIES}": PROPERTIES_TEXT,
        f"{package}/{DEX_JAR}": java.dex_jar.read_bytes(),
        f"{package}/{RUNTIME_JAR}": java.runtime_jar.read_bytes(),
        f"{package}/{BUILD_INFOS}": descriptor_bytes(with_assets(infos, names)),
    }
    for name in names:
        files[f"{package}/assets/{name}"] = assets[name]
    for descriptor in descriptors:
        icon = str(descriptor.get("iconName", ""))
        if icon and not icon.startswith(("http:", "https:")):
            source = java.components_json.parent / icon
            if not source.is_file():
                raise PacError(f"the component's icon {icon} is missing ({source})")
            files[f"{package}/{icon}"] = source.read_bytes()
    for name, data in files.items():
        if len(data) > MAX_FILE_BYTES:
            raise PacError(f"{name}: {len(data)} bytes is over App Inventor's {MAX_FILE_BYTES} byte limit per file")
    return package, files


def build_aix(
    model_dir, output, *, base_dir=None, speech_dir=None, java: JavaOutputs | None = None, echo=None
) -> BuildResult:
    """Render the page for ``model_dir``, package it with the component, write ``output`` atomically.

    ``base_dir`` and ``speech_dir`` locate MobileNet and the speech embedding (see
    :func:`pac.runtime.write_assets`); only the networks the model runs are packaged.
    """
    from .modeldir import read_manifest

    read_manifest(model_dir)  # a clear error before anything is built
    rule = AssetPaths.load()
    if java is None:
        java = resources.current().component(echo=echo)
    with tempfile.TemporaryDirectory(prefix="pac-aix-") as tmp:
        page = Path(tmp) / "page"
        page.mkdir()
        assets = render_assets(model_dir, page, base_dir=base_dir, speech_dir=speech_dir, rule=rule)
        package, files = aix_entries(java, {name: path.read_bytes() for name, path in assets.items()})
    data = zip_bytes(files)
    if len(data) > MAX_FILE_BYTES:
        raise PacError(f"the .aix would be {len(data)} bytes, over App Inventor's {MAX_FILE_BYTES} byte upload limit")
    write_bytes_atomic(output, data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [(i.filename, i.file_size, i.compress_size) for i in archive.infolist() if not i.is_dir()]
    return BuildResult(path=Path(output), package=package, size=len(data), entries=entries)


def size_report(entries, total: int) -> str:
    """A readable size breakdown: groups of assets and the Java files, raw and compressed."""
    groups: dict[str, list[int]] = {}
    for name, raw, packed in entries:
        rel = name.split("/", 1)[1] if "/" in name else name
        if rel.startswith("assets/"):
            asset = rel[len("assets/") :]
            head = asset.split("__", 1)[0] if "__" in asset else asset
            key = f"assets/{head}" + ("/*" if "__" in asset else "")
        else:
            key = rel
        group = groups.setdefault(key, [0, 0, 0])
        group[0] += 1
        group[1] += raw
        group[2] += packed
    width = max(len(k) for k in groups)
    lines = [f"{'entry':<{width}}  files        raw   in .aix"]
    for key, (count, raw, packed) in sorted(groups.items(), key=lambda kv: -kv[1][2]):
        lines.append(f"{key:<{width}}  {count:5d} {raw:10,d} {packed:9,d}")
    lines.append(f"{'total (.aix file)':<{width}}  {len(entries):5d} {sum(e[1] for e in entries):10,d} {total:9,d}")
    if total > TARGET_AIX_BYTES:
        lines.append(f"note: {total - TARGET_AIX_BYTES:,d} bytes over the {TARGET_AIX_BYTES:,d} byte target")
    return "\n".join(lines)
