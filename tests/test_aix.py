"""``pac build``: the .aix layout App Inventor expects, deterministic bytes, size, asset naming, errors."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from conftest import BASE_DIR, SPEECH_DIR
from pac import aix, resources, runtime
from pac.cli import main
from pac.errors import PacError
from pac.modeldir import read_manifest

pytestmark = pytest.mark.slow


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def network_assets(shipped) -> dict[str, int]:
    """How many assets each network folder has (mobilenet: model.json + 55 shards; speech: graph.json,
    weights.bin, NOTICE.txt)."""
    return {n: sum(a.startswith(f"{n}__") for a in shipped) for n in runtime.NETWORKS}


def expected_network_assets(model_dir) -> dict[str, int]:
    networks = runtime.networks_of(read_manifest(model_dir))
    return {"mobilenet": 56 if "mobilenet" in networks else 0, "speech": 3 if "speech" in networks else 0}


def test_layout(built_aix, digits_model):
    files = entries(built_aix)
    tops = {name.split("/", 1)[0] for name in files}
    assert len(tops) == 1
    package = tops.pop()
    descriptors = json.loads(files[f"{package}/components.json"])
    assert [d["type"].rpartition(".")[0] for d in descriptors] == [package]
    assert files[f"{package}/extension.properties"].decode().strip() == "type=external"
    for name in ("classes.jar", "files/AndroidRuntime.jar", "files/component_build_infos.json"):
        assert f"{package}/{name}" in files
    with zipfile.ZipFile(io.BytesIO(files[f"{package}/classes.jar"])) as jar:
        assert "classes.dex" in jar.namelist()
    icon = descriptors[0]["iconName"]
    assert icon.startswith("aiwebres/") and f"{package}/{icon}" in files
    shipped = sorted(n.split("/assets/", 1)[1] for n in files if n.startswith(f"{package}/assets/"))
    assert sorted(descriptors[0]["assets"]) == shipped
    infos = json.loads(files[f"{package}/files/component_build_infos.json"])
    assert sorted(infos[0]["assets"]) == shipped
    # the page, its scripts, TF.js, the networks the model runs, the model - all flat names
    assert "classifier.html" in shipped and "model__pac.json" in shipped
    assert network_assets(shipped) == expected_network_assets(digits_model)
    assert all("/" not in n for n in shipped)
    # every entry of the .aix: fixed time and mode
    with zipfile.ZipFile(built_aix) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {aix.ZIP_TIME}
        assert {i.external_attr >> 16 for i in infos if not i.is_dir()} == {aix.FILE_MODE}


def test_size(built_aix):
    """The whole extension stays below 3.5 MiB; no file is near App Inventor's 15 MiB limit."""
    size = built_aix.stat().st_size
    assert size <= aix.TARGET_AIX_BYTES, f"{size} bytes"
    with zipfile.ZipFile(built_aix) as archive:
        assert max(i.file_size for i in archive.infolist()) < aix.MAX_FILE_BYTES


def test_deterministic(built_aix, digits_model, tmp_path):
    """Same model, same component build: the same bytes."""
    again = tmp_path / "again.aix"
    assert main(["build", str(digits_model), "-o", str(again), "--base", str(BASE_DIR)]) == 0
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(built_aix.read_bytes()).digest()


@pytest.mark.parametrize("model", ["conv_model", "speech_model", "mobilenet_linear_model", "both_blocks_model"])
def test_every_model_kind_builds_with_only_its_networks(model, request, tmp_path):
    """PAC's conv head (format 1) and linear heads on each block and on both: only the networks the
    model runs are packaged (mobilenet__* for MobileNet, speech__graph.json + speech__weights.bin for the
    speech block), within the size target, and the same inputs give the same bytes."""
    model_dir = request.getfixturevalue(model)
    first, second = tmp_path / "first.aix", tmp_path / "second.aix"
    assert (
        main(["build", str(model_dir), "-o", str(first), "--base", str(BASE_DIR), "--speech-base", str(SPEECH_DIR)])
        == 0
    )
    aix.build_aix(model_dir, second, base_dir=BASE_DIR, speech_dir=SPEECH_DIR)
    assert first.read_bytes() == second.read_bytes()
    files = entries(first)
    package = next(iter(files)).split("/", 1)[0]
    shipped = [n.split("/assets/", 1)[1] for n in files if n.startswith(f"{package}/assets/")]
    assert network_assets(shipped) == expected_network_assets(model_dir)
    if "speech" in runtime.networks_of(read_manifest(model_dir)):
        assert {"speech__graph.json", "speech__weights.bin"} <= set(shipped)
    assert first.stat().st_size <= aix.TARGET_AIX_BYTES


def test_zip_bytes_is_deterministic_and_sorted():
    first = aix.zip_bytes({"p/b.txt": b"b", "p/a/x": b"x" * 1000})
    second = aix.zip_bytes({"p/a/x": b"x" * 1000, "p/b.txt": b"b"})
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["p/", "p/a/", "p/a/x", "p/b.txt"]


@pytest.mark.parametrize(
    "url, name",
    [
        ("classifier.html", "classifier.html"),
        ("mobilenet/model.json", "mobilenet__model.json"),
        ("mobilenet/group1-shard1of1", "mobilenet__group1-shard1of1"),
        ("model/group1-shard1of1.bin", "model__group1-shard1of1.bin"),
        ("tfjs/tfjs-backend-wasm-simd.wasm", "tfjs__tfjs-backend-wasm-simd.wasm"),
    ],
)
def test_asset_names_round_trip(url, name):
    rule = aix.AssetPaths.load()
    assert rule.asset_name(url) == name
    assert rule.url_path(name) == url


def test_bridge_examples_follow_the_rule():
    bridge = json.loads(resources.current().bridge_json.read_text())
    rule = aix.AssetPaths.load()
    for url, name in bridge["asset_paths"]["examples"].items():
        assert rule.asset_name(url) == name


@pytest.mark.parametrize(
    "url", ["components.json", "classes.jar", "COMPONENT.JSON", "a__b/c", "dir/_x", "backup~", "x/.hidden", "a/../b"]
)
def test_asset_names_refused(url):
    with pytest.raises(PacError):
        aix.AssetPaths.load().asset_name(url)


def test_not_a_model(tmp_path, capsys):
    assert main(["build", str(tmp_path), "-o", str(tmp_path / "x.aix")]) == 2
    assert "not a pac model folder" in capsys.readouterr().err
    assert not (tmp_path / "x.aix").exists()


def test_component_not_built(tmp_path):
    """Without Maven outputs and without building: one clear line telling what to run."""
    (tmp_path / "bridge.json").write_text("{}")
    with pytest.raises(PacError, match=r"not built.*setup\.sh.*build\.py"):
        resources.Resources.checkout(tmp_path).component(build=False)


def test_existing_output_kept_on_failure(digits_model, tmp_path, monkeypatch):
    """A failed build leaves an existing .aix untouched and no temporary file behind."""
    target = tmp_path / "x.aix"
    target.write_bytes(b"old")

    class Unwritable:  # fails inside the atomic write, after the temporary file exists
        def __len__(self):
            return 10

    monkeypatch.setattr(aix, "zip_bytes", lambda files: Unwritable())
    with pytest.raises(TypeError):
        aix.build_aix(digits_model, target, base_dir=BASE_DIR)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.aix"]


def test_stale_when_a_source_is_newer(tmp_path):
    """pac build rebuilds the component when a POM or main source is newer than its outputs."""
    import os

    out = tmp_path / "target" / "aix"
    out.mkdir(parents=True)
    names = ("components.json", "component_build_infos.json", "AndroidRuntime.jar", "classes.jar")
    for name in names:
        (out / name).write_text("x")
    source = tmp_path / "component" / "src" / "main" / "java" / "A.java"
    test_source = tmp_path / "component" / "src" / "test" / "java" / "ATest.java"
    for path in (source, test_source, tmp_path / "pom.xml", tmp_path / "bridge.json"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        os.utime(path, (1_000_000, 1_000_000))
    outputs = resources.java_outputs(tmp_path)
    assert source in outputs.sources and test_source not in outputs.sources
    assert not outputs.stale()
    os.utime(source, None)
    for name in names:
        os.utime(out / name, (2_000_000, 2_000_000))
    assert outputs.stale()
    (out / "classes.jar").unlink()
    assert outputs.missing() == [out / "classes.jar"] and outputs.stale()
