"""Stage 2 of ``pac verify``, the model: the built-in model's manifest against the page's runtime, the
networks it runs shipped beside it, and the page's assets unpacked at their URL paths."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from .. import __version__, jsonsafe
from ..aix import AssetPaths
from ..errors import PacError
from .report import Report, listing


def check_model(assets: dict[str, bytes], rule: AssetPaths, report: Report, page_dir: Path) -> None:
    """The built-in model's manifest: readable by this pac, of a version the shipped page supports,
    and the networks it runs shipped with it."""
    from .. import modeldir

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
                report.fail(
                    f"built-in model: pac.json format_version {data.get('format_version')}, the page's runtime "
                    f"(pac {constants.get('pac_version')}) reads {' or '.join(map(str, readable))}"
                )
            base = manifest.base
            if base is not None and (base.get("name"), base.get("cut_layer")) != (
                runtime.get("base_name"),
                runtime.get("cut_layer"),
            ):
                report.fail(
                    f"built-in model: trained on {base.get('name')}:{base.get('cut_layer')}, "
                    f"the page runs {runtime.get('base_name')}:{runtime.get('cut_layer')}"
                )
            if constants.get("builtin_manifest") != data:
                report.fail("built-in model: the manifest rendered into the page differs from model/pac.json")
            if constants.get("pac_version") != __version__:
                report.warn(f"the page was rendered by pac {constants.get('pac_version')}, this is pac {__version__}")

    with report.step("the networks the model runs are in the .aix") as step:
        from ..runtime import BASE_URL_DIR, networks_of
        from ..speech_base import GRAPH_FILE

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
        unused = [
            n
            for n, folder in folders.items()
            if n not in needed and any(a.startswith(folder + rule.separator) for a in assets)
        ]
        if unused:
            report.warn(f"the .aix ships {' and '.join(unused)} files the model does not run")
        step.name += f" ({', '.join(needed)})"


def _check_mobilenet_assets(assets: dict[str, bytes], rule: AssetPaths, report: Report) -> None:
    """``mobilenet/model.json`` and every shard it names are shipped."""
    from ..runtime import BASE_URL_DIR

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
        report.fail(f"MobileNet weights named by {name} are missing: {listing(missing)}")


def speech_network(page_dir: Path, manifest):
    """The speech network an asset folder ships (``speech/graph.json`` + ``speech/weights.bin``),
    checked against the manifest's ``speech_base`` (sha256, weight type)."""
    from .. import speech_base

    graph_path, weights_path = page_dir / speech_base.GRAPH_FILE, page_dir / speech_base.WEIGHTS_FILE
    try:
        graph = jsonsafe.loads(graph_path.read_bytes(), source=speech_base.GRAPH_FILE)
        blob = weights_path.read_bytes()
    except FileNotFoundError as exc:
        raise PacError(
            f"the model runs the speech block but {Path(exc.filename).relative_to(page_dir).as_posix()} is missing"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PacError(f"{speech_base.GRAPH_FILE} is unreadable ({exc})") from None
    network = speech_base.network_from_export(graph, blob, directory=graph_path.parent)
    wanted = manifest.speech_base
    if network.sha256 != wanted.get("sha256"):
        raise PacError(
            f"{speech_base.GRAPH_FILE} is the network with sha256 {network.sha256[:12]}..., the model "
            f"was trained on {str(wanted.get('sha256'))[:12]}..."
        )
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
    from .. import fsutil

    for name, data in assets.items():
        url_path = rule.url_path(name)
        if fsutil.WINDOWS:
            for segment in url_path.split("/"):
                problem = fsutil.portable_name_problem(segment)
                if problem:
                    raise PacError(
                        f"asset {name}: {segment!r} {problem}, so the page cannot be unpacked "
                        f"and checked here (on Linux or macOS it can)"
                    )
        path = target / url_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:  # e.g. assets a and a__b: the page needs a file and a folder named a
            raise PacError(
                f"asset {name}: cannot be unpacked to {url_path} ({exc.strerror or exc}); another asset "
                f"needs the same path as a file and as a folder"
            ) from None
