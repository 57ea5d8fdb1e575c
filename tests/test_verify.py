"""``pac verify``: passes on a fresh build (page in Chromium, clips, parity); names each broken variant."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import BASE_DIR, SPEECH_DIR
from pac import aix
from pac.cli import main
from pac.verify import PARITY_TOLERANCE, class_file_info, parse_dex, verify

pytestmark = pytest.mark.slow


def unpack(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def package_of(files: dict[str, bytes]) -> str:
    return next(iter(files)).split("/", 1)[0]


def rewrite(built: Path, target: Path, edit) -> Path:
    """A copy of the real .aix with ``edit(files, package)`` applied to its ``{entry: bytes}``."""
    files = unpack(built)
    edit(files, package_of(files))
    target.write_bytes(aix.zip_bytes(files))
    return target


def edit_json(files, name, change):
    value = json.loads(files[name])
    change(value)
    files[name] = json.dumps(value).encode()


def edit_jar(data: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as jar:
        content = {i.filename: jar.read(i) for i in jar.infolist() if not i.is_dir()}
    change(content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as jar:
        for name, value in content.items():
            jar.writestr(name, value)
    return out.getvalue()


def failures(path: Path) -> str:
    report = verify(path, browser=False)
    assert not report.ok
    return "\n".join(report.failures)


# -- a fresh build -------------------------------------------------------------------------------


def test_fresh_build_passes_with_clips(built_aix, digits_test_dir, tmp_path, capsys):
    """Every check, the page in headless Chromium, 45 real recordings: accurate and equal to Python."""
    out = tmp_path / "report.json"
    code = main(["verify", str(built_aix), "--clips", str(digits_test_dir), "--json", str(out)])
    text = capsys.readouterr()
    assert code == 0, text.err
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["failures"] == []
    assert report["clips"] == 45
    assert report["accuracy"] >= 0.6  # 5 training clips per label; chance is 1/3 (test_train uses the same bar)
    assert report["max_prob_diff"] <= PARITY_TOLERANCE
    assert report["labels"] == ["nine", "one", "seven"]
    assert "passed:" in text.out and "accuracy" in text.out


def test_fresh_build_static_checks_all_pass(built_aix):
    report = verify(built_aix, browser=False)
    assert report.ok, report.failures
    assert report.package and report.labels == ["nine", "one", "seven"]
    assert len(report.passed) == 9


def test_java_and_dex_files_parse(built_aix):
    files = unpack(built_aix)
    package = package_of(files)
    with zipfile.ZipFile(io.BytesIO(files[f"{package}/files/AndroidRuntime.jar"])) as jar:
        classes = [class_file_info(jar.read(n)) for n in jar.namelist() if n.endswith(".class")]
    assert classes and all(major <= 52 for major, _ in classes)
    with zipfile.ZipFile(io.BytesIO(files[f"{package}/classes.jar"])) as jar:
        dex = parse_dex(jar.read("classes.dex"))
    assert dex["version"] == 35
    assert "L" + package.replace(".", "/") + "/PersonalAudioClassifier;" in dex["classes"]


@pytest.fixture(scope="module")
def both_aix(both_blocks_model, tmp_path_factory) -> Path:
    """``pac build`` of a linear head on both blocks: ships MobileNet and the speech network."""
    out = tmp_path_factory.mktemp("aix") / "both.aix"
    assert (
        main(
            ["build", str(both_blocks_model), "-o", str(out), "--base", str(BASE_DIR), "--speech-base", str(SPEECH_DIR)]
        )
        == 0
    )
    return out


@pytest.mark.parametrize(
    ("model", "networks"), [("both_blocks_model", "mobilenet, speech"), ("conv_model", "mobilenet")]
)
def test_other_model_kinds_pass_with_clips(model, networks, request, digits_test_dir, tmp_path):
    """A linear head on both blocks (Python runs the .aix's own MobileNet and speech network) and PAC's
    conv head (format 1): every check passes, the page's answers equal Python's."""
    if model == "both_blocks_model":
        built = request.getfixturevalue("both_aix")
    else:
        built = tmp_path / "conv.aix"
        assert main(["build", str(request.getfixturevalue(model)), "-o", str(built), "--base", str(BASE_DIR)]) == 0
    report = verify(built, clips_dir=digits_test_dir)
    assert report.ok, report.failures
    assert f"the networks the model runs are in the .aix ({networks})" in report.passed
    assert report.clips == 45 and report.accuracy >= 0.6
    assert report.max_prob_diff <= PARITY_TOLERANCE
    print(f"\n{model}: verify max |dP| {report.max_prob_diff:.2e}, accuracy {report.accuracy:.3f}")


def test_python_side_runs_the_speech_network_of_the_aix(both_aix, tmp_path):
    """verify's Python classifier runs the network rebuilt from the .aix's own speech/ files (which
    equal the export of the network pac resolves)."""
    from pac import speech_base
    from pac.modeldir import read_manifest
    from pac.verify import extract_page, python_classifier, speech_network

    page = tmp_path / "page"
    rule = aix.AssetPaths.load()
    files = unpack(both_aix)
    package = package_of(files)
    extract_page(
        {n.split("/assets/", 1)[1]: d for n, d in files.items() if n.startswith(f"{package}/assets/")}, rule, page
    )
    network = speech_network(page, read_manifest(page / "model"))
    resolved = speech_base.read_speech_network(SPEECH_DIR).quantized()
    assert speech_base.export_files(network) == speech_base.export_files(resolved)
    ran = python_classifier(page).speech.network
    assert ran.directory == page / "speech"
    assert speech_base.export_files(ran) == speech_base.export_files(network)


def _edit_manifest(change):
    """Change the built-in model's pac.json and the copy rendered into the page alike."""

    def edit(files, package):
        name = f"{package}/assets/model__pac.json"
        manifest = json.loads(files[name])
        change(manifest)
        files[name] = json.dumps(manifest).encode()
        html = files[f"{package}/assets/classifier.html"].decode()
        start = html.index('id="pac-constants">') + len('id="pac-constants">')
        end = html.index("</script>", start)
        constants = json.loads(html[start:end])
        constants["builtin_manifest"] = manifest
        files[f"{package}/assets/classifier.html"] = (html[:start] + json.dumps(constants) + html[end:]).encode()

    return edit


def _flip_weights(files, package):
    name = f"{package}/assets/speech__weights.bin"
    data = bytearray(files[name])
    data[1000] ^= 0x01
    files[name] = bytes(data)


def _other_network(files, package):
    name = f"{package}/assets/speech__graph.json"
    graph = json.loads(files[name])
    graph["sha256"] = "0" * 64
    files[name] = json.dumps(graph).encode()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda f, p: f.pop(f"{p}/assets/speech__weights.bin"), "speech/weights.bin is missing"),
        (_flip_weights, "does not match the graph's weights_bytes and weights_sha256"),
        (_other_network, "is the network with sha256 000000000000..."),
        (
            _edit_manifest(lambda m: m["speech_base"].update(weights="float32")),
            "has uint8 weights, the model runs float32",
        ),
        (
            lambda f, p: f.pop(f"{p}/assets/mobilenet__group7-shard1of1"),
            "MobileNet weights named by mobilenet__model.json are missing: mobilenet__group7-shard1of1",
        ),
        (lambda f, p: f.pop(f"{p}/assets/mobilenet__model.json"), "the model runs MobileNet but mobilenet__model.json"),
    ],
)
def test_missing_or_wrong_network_files(both_aix, tmp_path, edit, says):
    text = failures(rewrite(both_aix, tmp_path / "x.aix", edit))
    assert says in text, text


# -- broken variants: each fails with the right message -------------------------------------------


def test_not_a_zip(tmp_path, capsys):
    bad = tmp_path / "bad.aix"
    bad.write_bytes(b"this is not a zip file")
    assert "not a zip file" in failures(bad)
    out = tmp_path / "r.json"
    assert main(["verify", str(bad), "--json", str(out)]) == 1
    assert "not a zip file" in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert report["ok"] is False and report["accuracy"] is None and report["max_prob_diff"] is None
    assert report["clips"] == 0


def test_missing_descriptor(built_aix, tmp_path):
    bad = rewrite(built_aix, tmp_path / "x.aix", lambda f, p: f.pop(f"{p}/components.json"))
    assert "no components.json or component.json" in failures(bad)


def test_empty_descriptor_array(built_aix, tmp_path):
    def edit(files, package):
        files[f"{package}/components.json"] = b"[]"

    assert "No valid component descriptors" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_non_string_scalar(built_aix, tmp_path):
    def edit(files, package):
        edit_json(files, f"{package}/components.json", lambda d: d[0].update(version=20200904))

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "components.json[0].version is 20200904 (int)" in text
    assert "as a string" in text


def test_boolean_instead_of_string(built_aix, tmp_path):
    def edit(files, package):
        edit_json(files, f"{package}/components.json", lambda d: d[0]["events"][0].update(deprecated=False))

    assert "events[0].deprecated is false (bool)" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_event_without_params_and_designer_property_without_category(built_aix, tmp_path):
    def change(d):
        d[0]["events"][0].pop("params")
        for bp in d[0]["blockProperties"]:
            bp.pop("category", None)

    def edit(files, package):
        edit_json(files, f"{package}/components.json", change)

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "events[0]: missing params" in text
    assert "has no category" in text


def test_bad_yail_type(built_aix, tmp_path):
    def edit(files, package):
        edit_json(files, f"{package}/components.json", lambda d: d[0]["methods"][0]["params"][0].update(type="String"))

    assert "'String' is not a YAIL type" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_java_11_class_file(built_aix, tmp_path):
    def bump(classes):
        name = next(n for n in classes if n.endswith(".class"))
        data = bytearray(classes[name])
        data[6:8] = struct.pack(">H", 55)
        classes[name] = bytes(data)

    def edit(files, package):
        name = f"{package}/files/AndroidRuntime.jar"
        files[name] = edit_jar(files[name], bump)

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "is Java 11 bytecode (class file major 55)" in text


def test_class_outside_the_package(built_aix, tmp_path):
    """App Inventor's own classes (e.g. a compile-only API stub) must never ship in the extension."""
    src = tmp_path / "src" / "com" / "google" / "appinventor" / "components" / "runtime" / "Form.java"
    src.parent.mkdir(parents=True)
    src.write_text("package com.google.appinventor.components.runtime;\npublic class Form {}\n")
    subprocess.run(["javac", "--release", "8", "-d", str(tmp_path / "classes"), str(src)], check=True)
    form = (tmp_path / "classes" / "com/google/appinventor/components/runtime/Form.class").read_bytes()

    def edit(files, package):
        name = f"{package}/files/AndroidRuntime.jar"
        files[name] = edit_jar(
            files[name], lambda c: c.update({"com/google/appinventor/components/runtime/Form.class": form})
        )

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "class com.google.appinventor.components.runtime.Form is not in the package" in text


def test_corrupt_dex(built_aix, tmp_path):
    def flip(content):
        dex = bytearray(content["classes.dex"])
        dex[200] ^= 0xFF
        content["classes.dex"] = bytes(dex)

    def edit(files, package):
        files[f"{package}/classes.jar"] = edit_jar(files[f"{package}/classes.jar"], flip)

    assert "adler32 checksum does not match" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_dex_with_fixed_checksum_but_wrong_signature(built_aix, tmp_path):
    def flip(content):
        dex = bytearray(content["classes.dex"])
        dex[200] ^= 0xFF
        dex[8:12] = struct.pack("<I", zlib.adler32(bytes(dex[12:])) & 0xFFFFFFFF)
        content["classes.dex"] = bytes(dex)

    def edit(files, package):
        files[f"{package}/classes.jar"] = edit_jar(files[f"{package}/classes.jar"], flip)

    assert "sha1 signature does not match" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_missing_asset(built_aix, tmp_path):
    bad = rewrite(built_aix, tmp_path / "x.aix", lambda f, p: f.pop(f"{p}/assets/js__wav.js"))
    assert "declared but not shipped: js__wav.js" in failures(bad)


def test_undeclared_asset(built_aix, tmp_path):
    def edit(files, package):
        files[f"{package}/assets/extra.txt"] = b"x"

    assert "shipped but not declared: extra.txt" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


@pytest.mark.parametrize("name", ["components.json", "classes.jar"])
def test_asset_with_a_reserved_name(built_aix, tmp_path, name):
    def edit(files, package):
        files[f"{package}/assets/{name}"] = b"[]"
        for key in (f"{package}/components.json", f"{package}/files/component_build_infos.json"):
            edit_json(files, key, lambda d: d[0]["assets"].append(name))

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert f"2 files named {name}" in text
    assert f"asset name {name!r} is reserved" in text


def test_wrong_top_level_folder(built_aix, tmp_path):
    def edit(files, package):
        for name in list(files):
            files["com.example.other" + name[len(package) :]] = files.pop(name)

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "top-level folder 'com.example.other' is not the components' Java package" in text


def test_two_top_level_folders(built_aix, tmp_path):
    def edit(files, package):
        files["other/readme.txt"] = b"x"

    assert "2 top-level folders" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_file_over_the_limit(built_aix, tmp_path):
    def edit(files, package):
        files[f"{package}/assets/model__group1-shard1of1.bin"] = bytes(aix.MAX_FILE_BYTES + 1)

    text = failures(rewrite(built_aix, tmp_path / "x.aix", edit))
    assert "over App Inventor's 15,728,640 byte limit per file" in text


def test_internet_permission(built_aix, tmp_path):
    def edit(files, package):
        edit_json(
            files,
            f"{package}/files/component_build_infos.json",
            lambda d: d[0]["permissions"].append("android.permission.INTERNET"),
        )

    assert "requests android.permission.INTERNET" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_model_manifest_version_the_page_cannot_read(built_aix, tmp_path):
    def edit(files, package):
        edit_json(files, f"{package}/assets/model__pac.json", lambda m: m.update(format_version=99))

    assert "manifest version 99 is not supported" in failures(rewrite(built_aix, tmp_path / "x.aix", edit))


def test_page_that_never_gets_ready(built_aix, tmp_path):
    """The browser stage catches a page that breaks (here: a network's model.json or graph is not JSON)."""

    def edit(files, package):
        broken = [f"{package}/assets/{name}" for name in ("speech__graph.json", "mobilenet__model.json")]
        files[next(name for name in broken if name in files)] = b"{not json"

    report = verify(rewrite(built_aix, tmp_path / "x.aix", edit), timeout=60)
    assert not report.ok
    assert any("headless Chromium" in f for f in report.failures), report.failures


def test_clips_both_sides_refuse_are_warnings(built_aix, digits_test_dir, tmp_path):
    """A silent clip is refused by the page and by pac alike: a warning, not a failure, not counted."""
    import wave

    clips = tmp_path / "clips"
    for label in ("one", "nine"):
        (clips / label).mkdir(parents=True)
        first = sorted((digits_test_dir / label).glob("*.wav"))[0]
        (clips / label / first.name).write_bytes(first.read_bytes())
    with wave.open(str(clips / "one" / "silent.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(2 * 8000))
    report = verify(built_aix, clips_dir=clips)
    assert report.ok, report.failures
    assert report.clips == 2
    assert any("silent.wav: refused by the page" in w for w in report.warnings)
    assert report.max_prob_diff <= PARITY_TOLERANCE
