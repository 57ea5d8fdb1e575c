"""Stage 2 of ``pac verify``, App Inventor's rules: the descriptor schema, ``extension.properties``, the
build infos (no INTERNET permission), the Java and dex files, declared assets == shipped assets.

What the designer (``ComponentDatabase``), the Companion and the APK build server rely on, and what
makes a broken extension fail later, on a phone.
"""

from __future__ import annotations

import json
import re

from ..aix import BUILD_INFOS, DESCRIPTOR, DEX_JAR, PROPERTIES, RUNTIME_JAR, AssetPaths
from ..errors import PacError
from .archive import Archive, read_components
from .binary import check_dex_jar, check_runtime_jar
from .report import Report, listing

#: The YAIL types App Inventor's annotation processor emits (ComponentProcessor.javaTypeToYailType);
#: option-list types end in "Enum".
YAIL_TYPES = {
    "text",
    "number",
    "boolean",
    "list",
    "dictionary",
    "component",
    "any",
    "yailobject",
    "InstantInTime",
    "continuation",
}
RW_VALUES = {"read-only", "read-write", "write-only", "invisible"}
#: PropertyCategory names; "Unspecified" (UNSET) is what the processor rejects for designer properties.
CATEGORIES = {
    "Behavior",
    "Appearance",
    "Deprecated",
    "Application",
    "Advanced",
    "General",
    "Theming",
    "Publishing",
    "iOS Settings",
}
BOOLEAN_STRINGS = {"true", "false"}
#: Keys the upstream generator writes as JSON booleans rather than strings.
BOOLEAN_KEYS = {"alwaysSend", "continuation"}
REQUIRED_COMPONENT = (
    "type",
    "name",
    "external",
    "version",
    "categoryString",
    "helpString",
    "showOnPalette",
    "nonVisible",
    "iconName",
    "properties",
    "blockProperties",
    "events",
    "methods",
)
RECOMMENDED_COMPONENT = ("versionName", "dateBuilt", "helpUrl", "licenseName", "androidMinSdk")
LIST_KEYS = ("properties", "blockProperties", "events", "methods")
BUILD_INFO_LISTS = (
    "permissions",
    "assets",
    "libraries",
    "native",
    "activities",
    "metadata",
    "activityMetadata",
    "broadcastReceivers",
    "services",
    "contentProviders",
)
INTERNET = "android.permission.INTERNET"


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
        report.fail(
            f"{where} is {json.dumps(value)} ({type(value).__name__}); App Inventor descriptors hold every "
            f'value as a string ("{str(value).lower() if isinstance(value, bool) else value}")'
        )


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
        report.fail(f'{where}.{key}: {obj[key]!r} is not "true" or "false"')


def check_descriptor(d: dict, where: str, report: Report) -> None:
    """The schema ComponentDescriptorGenerator writes and ComponentDatabase reads."""
    _string_scalars(d, where, report)
    _need(d, REQUIRED_COMPONENT, where, report)
    missing = [k for k in RECOMMENDED_COMPONENT if k not in d]
    if missing:
        report.warn(f"{where}: no {', '.join(missing)} (written by App Inventor's annotation processor)")
    if d.get("external") != "true":
        report.fail(f'{where}.external must be "true" for an extension (found {d.get("external")!r})')
    if d.get("categoryString", "EXTENSION") != "EXTENSION":
        report.fail(f'{where}.categoryString must be "EXTENSION" (found {d.get("categoryString")!r})')
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
            report.fail(
                f"{w}: designer property {name!r} has no category (App Inventor's annotation processor "
                f"rejects a @DesignerProperty whose @SimpleProperty has no category)"
            )
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


def check_assets(archive: Archive, infos: list, rule: AssetPaths, report: Report) -> dict[str, bytes]:
    """Declared assets (descriptor and build info) == the files under <package>/assets/."""
    prefix = f"{archive.top}/assets/"
    shipped = {name[len(prefix) :]: data for name, data in archive.files.items() if name.startswith(prefix)}
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
        report.fail(f"{where}: declared but not shipped: {listing(missing)}")
    if extra:
        report.fail(f"{where}: shipped but not declared: {listing(extra)}")


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
        from ..listen import check_listen_blocks

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
                infos = check_build_infos(
                    read_components(infos_raw.decode("utf-8"), source=f"{top}/{BUILD_INFOS}"),
                    types,
                    BUILD_INFOS,
                    report,
                )
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
        min_sdk = min(
            (
                int(d["androidMinSdk"])
                for d in descriptors
                if isinstance(d.get("androidMinSdk"), str) and re.fullmatch(r"[0-9]{1,9}", d["androidMinSdk"])
            ),
            default=7,
        )
        if dex_jar is None:
            report.fail(f"{top}/{DEX_JAR} is missing (the Companion loads the extension from it)")
        elif report.package:
            check_dex_jar(dex_jar, report.package, types, min_sdk, report, budget=archive.budget)

    with report.step("declared assets == shipped assets, flat names"):
        shipped = check_assets(archive, infos, rule, report)
    return shipped
