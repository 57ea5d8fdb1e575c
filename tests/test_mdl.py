"""MIT Personal Audio Classifier model files: pac train --config pac-compat, pac export-mdl, pac import-mdl."""

from __future__ import annotations

import io
import json
import shutil
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import DIGITS
from pac.base import OFFICIAL_URL
from pac.classifier import Classifier
from pac.cli import main
from pac.features import PROFILES
from pac.features.pipeline import load_clip

ENTRIES = ["model.json", "model.weights.bin", "model_labels.json", "transfer_model.json"]
LABELS = sorted(DIGITS)  # nine, one, seven
TRANSFER = (
    '{"name":"mobilenet","lastLayer":"conv_pw_13_relu","url":'
    '"https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json"}'
)


def probabilities(model_dir: Path, clips) -> dict:
    """{clip: {label: probability}} from a pac model folder."""
    classifier = Classifier(model_dir)
    probs = classifier.probabilities([load_clip(p, classifier.config) for p in clips])
    return {str(c): dict(zip(classifier.labels, map(float, row))) for c, row in zip(clips, probs)}


def clips_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.wav"))


# -- pac train --config pac-compat ---------------------------------------------------------------


def test_training_with_pac_compat_is_pac_equivalent(compat_model, digits_test_dir, tmp_path):
    manifest = json.loads((compat_model / "pac.json").read_text())
    assert manifest["features"] == PROFILES["pac-compat"].manifest_dict()
    assert manifest["labels"] == LABELS
    options = json.loads((compat_model / "report.json").read_text())["options"]
    assert (
        options["epochs"],
        options["learning_rate"],
        options["batch_fraction"],
        options["validation_fraction"],
        options["max_shift"],
    ) == (20, 1e-4, 0.4, 0.0, 0.0)
    assert main(["evaluate", str(compat_model), str(digits_test_dir), "--json", str(tmp_path / "r.json")]) == 0
    accuracy = json.loads((tmp_path / "r.json").read_text())["accuracy"]
    assert accuracy >= 0.6  # REFERENCE.md: PAC as shipped scores 0.88 +- 0.07 on this kind of task


# -- export, import, round trip ------------------------------------------------------------------


def local_headers(data: bytes) -> list[dict]:
    """The local file headers of a zip, in file order."""
    headers, offset = [], 0
    while data[offset : offset + 4] == b"PK\x03\x04":
        flags, method, _, _, crc, packed, size, name_len, extra_len = struct.unpack(
            "<HHHHIIIHH", data[offset + 6 : offset + 30]
        )
        name = data[offset + 30 : offset + 30 + name_len].decode()
        headers.append({"name": name, "flags": flags, "method": method, "packed": packed, "size": size})
        offset += 30 + name_len + extra_len + packed
    return headers


def test_round_trip_gives_identical_predictions(compat_model, digits_test_dir, tmp_path):
    mdl = tmp_path / "digits.mdl"
    assert main(["export-mdl", str(compat_model), "-o", str(mdl)]) == 0
    imported = tmp_path / "imported"
    assert main(["import-mdl", str(mdl), "-o", str(imported)]) == 0
    assert sorted(p.name for p in imported.iterdir()) == [
        "group1-shard1of1.bin",
        "model.json",
        "pac.json",
        "report.json",
    ]
    manifest = json.loads((imported / "pac.json").read_text())
    assert manifest["features"] == PROFILES["pac-compat"].manifest_dict() and manifest["labels"] == LABELS
    clips = clips_in(digits_test_dir)
    assert probabilities(imported, clips) == probabilities(compat_model, clips)
    assert main(["evaluate", str(imported), str(digits_test_dir)]) == 0
    assert main(["predict", str(imported), str(clips[0]), "--json"]) == 0
    # exporting the imported model gives the same bytes
    again = tmp_path / "again.mdl"
    assert main(["export-mdl", str(imported), "-o", str(again)]) == 0
    assert again.read_bytes() == mdl.read_bytes()


def test_export_writes_what_mits_extension_reads(compat_model, tmp_path):
    first, second = tmp_path / "a.mdl", tmp_path / "b.mdl"
    assert main(["export-mdl", str(compat_model), "-o", str(first)]) == 0
    assert main(["export-mdl", str(compat_model), "-o", str(second)]) == 0
    data = first.read_bytes()
    assert data == second.read_bytes()  # deterministic
    headers = local_headers(data)
    assert [h["name"] for h in headers] == ENTRIES
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in ENTRIES}
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())
    for header in headers:  # STORED, sizes in the local header (ZipInputStream.getSize()), no descriptor
        assert header["method"] == 0 and not header["flags"] & 0x8
        assert header["size"] == header["packed"] == len(files[header["name"]]) > 0
    assert files["transfer_model.json"].decode() == TRANSFER
    assert json.loads(files["transfer_model.json"])["url"] == OFFICIAL_URL
    assert files["model_labels.json"].decode() == '{"0":"nine","1":"one","2":"seven"}'
    model = json.loads(files["model.json"])
    assert set(model) == {"modelTopology", "weightsManifest"}
    topology = model["modelTopology"]
    assert topology["class_name"] == "Sequential" and isinstance(topology["config"], list)
    assert [layer["class_name"] for layer in topology["config"]] == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert topology["config"][0]["config"]["batch_input_shape"] == [None, 7, 7, 256]
    manifest = model["weightsManifest"]
    assert manifest[0]["paths"] == ["./model.weights.bin"]
    assert [w["name"] for w in manifest[0]["weights"]] == [
        "conv2d_Conv2D1/kernel",
        "conv2d_Conv2D1/bias",
        "dense_Dense1/kernel",
        "dense_Dense1/bias",
        "dense_Dense2/kernel",
    ]
    assert len(files["model.weights.bin"]) == 4 * sum(int(np.prod(w["shape"])) for w in manifest[0]["weights"])
    # the weights are the model's own, byte for byte (same order, float32 little-endian)
    assert files["model.weights.bin"] == (compat_model / "group1-shard1of1.bin").read_bytes()


def edit_manifest(src: Path, dst: Path, **changes) -> Path:
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "pac.json").read_text())
    manifest.update(changes)
    (dst / "pac.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return dst


def test_labels_keep_the_models_order_and_the_outputs_follow_the_labels(compat_model, digits_test_dir, tmp_path):
    """Export writes the labels in the model's output order (MIT's extension reads them by index), so
    an order JavaScript's sort would change (U+1F600 before U+FF48 in UTF-16 units) stays."""
    labels = ["a", "\uff48", "\U0001f600"]
    model = edit_manifest(compat_model, tmp_path / "emoji", labels=labels)
    mdl = tmp_path / "emoji.mdl"
    assert main(["export-mdl", str(model), "-o", str(mdl)]) == 0
    with zipfile.ZipFile(mdl) as archive:
        assert json.loads(archive.read("model_labels.json")) == {"0": "a", "1": "\uff48", "2": "\U0001f600"}
    imported = tmp_path / "imported"
    assert main(["import-mdl", str(mdl), "-o", str(imported)]) == 0
    assert json.loads((imported / "pac.json").read_text())["labels"] == labels
    clips = clips_in(digits_test_dir)[::5]
    assert probabilities(imported, clips) == probabilities(model, clips)


# -- .mdl files as MIT's web app writes them ------------------------------------------------------


def tfjs_layer(class_name: str, name: str, extra: dict, *, first: bool = False) -> dict:
    """One layer config as TF.js layers 1.2.8 serialises it (MIT's trainer)."""
    init = {
        "class_name": "VarianceScaling",
        "config": {"scale": 1, "mode": "fan_in", "distribution": "normal", "seed": None},
    }
    config = dict(extra)
    if class_name in ("Conv2D", "Dense"):
        config.update(
            {
                "kernel_initializer": init,
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "kernel_constraint": None,
                "bias_constraint": None,
            }
        )
    config.update({"name": name, "trainable": True})
    if first:
        config.update({"batch_input_shape": [None, 7, 7, 256], "dtype": "float32"})
    return {"class_name": class_name, "config": config}


def mit_model_json(n_labels: int = 3) -> dict:
    layers = [
        tfjs_layer(
            "Conv2D",
            "conv2d_Conv2D1",
            {
                "filters": 5,
                "kernel_size": [5, 5],
                "strides": [1, 1],
                "padding": "valid",
                "data_format": "channels_last",
                "dilation_rate": [1, 1],
                "activation": "relu",
                "use_bias": True,
            },
            first=True,
        ),
        tfjs_layer("Flatten", "flatten_Flatten1", {}),
        tfjs_layer("Dense", "dense_Dense1", {"units": 100, "activation": "relu", "use_bias": True}),
        tfjs_layer("Dense", "dense_Dense2", {"units": n_labels, "activation": "softmax", "use_bias": False}),
    ]
    weights = [
        ("conv2d_Conv2D1/kernel", [5, 5, 256, 5]),
        ("conv2d_Conv2D1/bias", [5]),
        ("dense_Dense1/kernel", [45, 100]),
        ("dense_Dense1/bias", [100]),
        ("dense_Dense2/kernel", [100, n_labels]),
    ]
    return {
        "modelTopology": {
            "class_name": "Sequential",
            "config": layers,
            "keras_version": "tfjs-layers 1.2.8",
            "backend": "tensor_flow.js",
        },
        "weightsManifest": [
            {
                "paths": ["./model.weights.bin"],
                "weights": [{"name": n, "shape": s, "dtype": "float32"} for n, s in weights],
            }
        ],
    }


def random_weights(n_labels: int = 3, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    sizes = [5 * 5 * 256 * 5, 5, 45 * 100, 100, 100 * n_labels]
    return b"".join((rng.standard_normal(n) * 0.05).astype("<f4").tobytes() for n in sizes)


def mit_entries(blob: bytes | None = None, labels=LABELS, model=None) -> dict:
    model = mit_model_json(len(labels)) if model is None else model
    return {
        "model.json": json.dumps(model, separators=(",", ":")).encode(),
        "model.weights.bin": random_weights(len(labels)) if blob is None else blob,
        "model_labels.json": json.dumps({str(i): x for i, x in enumerate(labels)}, separators=(",", ":")).encode(),
        "transfer_model.json": TRANSFER.encode(),
    }


def write_zip(path: Path, entries, *, compress=zipfile.ZIP_STORED) -> Path:
    """``entries``: dict or list of (name, bytes), written in order (duplicates allowed)."""
    items = entries.items() if isinstance(entries, dict) else entries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(path, "w", compression=compress) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def test_an_mdl_from_mits_web_app_imports_and_classifies(compat_model, digits_test_dir, tmp_path):
    blob = (compat_model / "group1-shard1of1.bin").read_bytes()  # same weight order as MIT's head
    mdl = write_zip(tmp_path / "model.mdl", mit_entries(blob))
    out = tmp_path / "imported"
    assert main(["import-mdl", str(mdl), "-o", str(out)]) == 0
    clips = clips_in(digits_test_dir)
    assert probabilities(out, clips) == probabilities(compat_model, clips)


def test_import_says_a_mdl_does_not_record_sound_or_image(compat_model, tmp_path, capsys):
    blob = (compat_model / "group1-shard1of1.bin").read_bytes()
    mdl = write_zip(tmp_path / "model.mdl", mit_entries(blob))
    capsys.readouterr()
    assert main(["import-mdl", str(mdl), "-o", str(tmp_path / "imported")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 1 and "does not record whether it classifies sounds or images" in err
    report = json.loads((tmp_path / "imported" / "report.json").read_text())
    assert report["imported"]["image_model_signs"] == []


def image_classifier_head(model: dict) -> None:
    """The head a Personal Image Classifier user builds: a max-pooling layer and 50 units."""
    layers = model["modelTopology"]["config"]
    layers[2]["config"]["units"] = 50
    model["weightsManifest"][0]["weights"][2]["shape"] = [45, 50]
    model["weightsManifest"][0]["weights"][3]["shape"] = [50]
    model["weightsManifest"][0]["weights"][4]["shape"] = [50, 3]
    model["modelTopology"]["keras_version"] = "tfjs-layers 0.8.3"


def test_import_names_the_signs_of_an_image_model(tmp_path, capsys):
    model = mit_model_json()
    image_classifier_head(model)
    rng = np.random.default_rng(1)
    blob = b"".join(
        (rng.standard_normal(n) * 0.05).astype("<f4").tobytes() for n in (5 * 5 * 256 * 5, 5, 45 * 50, 50, 50 * 3)
    )
    mdl = write_zip(tmp_path / "pic.mdl", mit_entries(blob, model=model))
    capsys.readouterr()
    assert main(["import-mdl", str(mdl), "-o", str(tmp_path / "imported")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 3, lines
    assert "dense 50" in lines[1] and "Personal Image Classifier" in lines[1] and str(mdl) in lines[1]
    assert "tfjs-layers 0.8.3" in lines[2]
    report = json.loads((tmp_path / "imported" / "report.json").read_text())
    assert len(report["imported"]["image_model_signs"]) == 2


def test_an_mit_file_with_unsorted_labels_comes_back_as_it_was(compat_model, digits_test_dir, tmp_path):
    """MIT's files are not always sorted; import then export keeps the labels and the weights in order."""
    blob = (compat_model / "group1-shard1of1.bin").read_bytes()
    labels = ["seven", "nine", "one"]  # not sorted
    mdl = write_zip(tmp_path / "model.mdl", mit_entries(blob, labels=labels))
    imported, again = tmp_path / "imported", tmp_path / "again.mdl"
    assert main(["import-mdl", str(mdl), "-o", str(imported)]) == 0
    assert json.loads((imported / "pac.json").read_text())["labels"] == labels
    assert main(["export-mdl", str(imported), "-o", str(again)]) == 0
    with zipfile.ZipFile(mdl) as original, zipfile.ZipFile(again) as exported:
        assert json.loads(exported.read("model_labels.json")) == {"0": "seven", "1": "nine", "2": "one"}
        assert exported.read("model.weights.bin") == original.read("model.weights.bin")


def test_a_model_made_before_pac_measured_the_canvas_exports_with_a_warning(compat_model, tmp_path, capsys):
    features = {k: v for k, v in PROFILES["pac-compat"].to_dict().items() if k != "downscale"}
    old = edit_manifest(compat_model, tmp_path / "old", features=features)
    capsys.readouterr()
    assert main(["export-mdl", str(old), "-o", str(tmp_path / "old.mdl")]) == 0
    err = capsys.readouterr().err
    assert "canvas filter 'centre'" in err and "--config pac-compat" in err and (tmp_path / "old.mdl").exists()
    assert main(["export-mdl", str(compat_model), "-o", str(tmp_path / "new.mdl")]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "layout", ["tfjs-layers >= 1.3 {name, layers}", "tf_keras model_config (a pac model folder's)"]
)
def test_other_writers_of_the_head_import_too(layout, compat_model, digits_test_dir, tmp_path):
    blob = (compat_model / "group1-shard1of1.bin").read_bytes()
    if layout.startswith("tfjs"):
        model = mit_model_json()
        model["modelTopology"]["config"] = {"name": "sequential_1", "layers": model["modelTopology"]["config"]}
    else:
        model = json.loads((compat_model / "model.json").read_text())
        model["weightsManifest"][0]["paths"] = ["./model.weights.bin"]
    mdl = write_zip(tmp_path / "m.mdl", mit_entries(blob, model=model), compress=zipfile.ZIP_DEFLATED)
    out = tmp_path / "imported"
    assert main(["import-mdl", str(mdl), "-o", str(out)]) == 0
    clips = clips_in(digits_test_dir)[::7]
    assert probabilities(out, clips) == probabilities(compat_model, clips)


# -- refusals ------------------------------------------------------------------------------------


def with_model(mutate):
    def entries():
        model = mit_model_json()
        mutate(model)
        return mit_entries(model=model)

    return entries


def with_labels(text: bytes):
    def entries():
        e = mit_entries()
        e["model_labels.json"] = text
        return e

    return entries


def with_entry(name, data):
    def entries():
        e = mit_entries()
        e[name] = data
        return e

    return entries


def without(name):
    def entries():
        e = mit_entries()
        del e[name]
        return e

    return entries


def flagged(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit in every local and central header."""
    data = bytearray(data)
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(signature, start)) >= 0:
            flags = struct.unpack_from("<H", data, i + at)[0] | bit
            struct.pack_into("<H", data, i + at, flags)
            start = i + 4
    return bytes(data)


def corrupted(data: bytes) -> bytes:
    """Flip one byte inside the stored weights (the CRC no longer matches)."""
    data = bytearray(data)
    i = data.find(b"model.weights.bin") + len("model.weights.bin") + 1000
    data[i] ^= 0xFF
    return bytes(data)


def nan_weights():
    blob = bytearray(random_weights())
    blob[0:4] = struct.pack("<f", float("nan"))
    return mit_entries(bytes(blob))


def set_layer(index, **changes):
    def mutate(model):
        model["modelTopology"]["config"][index]["config"].update(changes)

    return mutate


def set_spec(index, **changes):
    def mutate(model):
        model["weightsManifest"][0]["weights"][index].update(changes)

    return mutate


BAD = {
    "not a zip": (lambda: b"RIFF\x24\x00\x00\x00WAVEfmt ", ["not a .mdl"]),
    "empty file": (lambda: b"", ["not a .mdl"]),
    "missing entry": (without("transfer_model.json"), ["transfer_model.json is missing"]),
    "extra entry": (with_entry("__MACOSX/._model.json", b"x"), ["unexpected entry", "__MACOSX"]),
    "path traversal": (with_entry("../model.json", b"{}"), ["unexpected entry", "../model.json"]),
    "absolute path": (with_entry("/tmp/evil.json", b"{}"), ["unexpected entry"]),
    "duplicate entry": (lambda: list(mit_entries().items()) + [("model.json", b"{}")], ["model.json appears 2 times"]),
    "zip bomb": (
        lambda: (with_entry("model.weights.bin", bytes(20 << 20))(), zipfile.ZIP_DEFLATED),
        ["expands", "zip bomb"],
    ),
    "entry too big": (with_entry("model_labels.json", b" " * (2 << 20)), ["model_labels.json is", "more than"]),
    "corrupted data": (lambda: ("raw", corrupted), ["cannot be read"]),
    "encrypted": (lambda: ("raw", lambda d: flagged(d, 0x1)), ["encrypted"]),
    # the first byte lost: the directory's offsets point one byte before the start (found by the fuzzer)
    "offsets before the start": (lambda: ("raw", lambda d: d[1:]), ["entry model.json cannot be read"]),
    "labels not JSON": (with_labels(b"{nope"), ["model_labels.json is not valid JSON"]),
    "labels not UTF-8": (with_labels(b'{"0":"\xff","1":"b"}'), ["not UTF-8"]),
    "labels a list": (with_labels(b'["nine","one","seven"]'), ["must be an object"]),
    "labels with a gap": (with_labels(b'{"0":"nine","1":"one","3":"seven"}'), ['keys must be "0" to "2"']),
    "labels with leading zero": (with_labels(b'{"00":"nine","1":"one","2":"seven"}'), ["keys must be"]),
    "labels repeated": (with_labels(b'{"0":"one","1":"one","2":"seven"}'), ["'one' appears twice"]),
    "labels repeated key": (with_labels(b'{"0":"nine","0":"x","1":"one","2":"seven"}'), ["'0' appears twice"]),
    "one label": (with_labels(b'{"0":"nine"}'), ["needs 2 to"]),
    "label not a string": (with_labels(b'{"0":"nine","1":1,"2":"seven"}'), ["label 1 must be a non-empty string"]),
    "label not UTF-8 text": (
        with_labels(b'{"0":"nine","1":"o\\udcffne","2":"seven"}'),
        ["label 1 is not valid UTF-8 text"],
    ),
    "label with a control character": (
        with_labels(b'{"0":"nine","1":"o\\nne","2":"seven"}'),
        ["label 1 contains the control character(s) U+000A"],
    ),
    "label too long": (
        with_labels(b'{"0":"nine","1":"' + b"x" * 41 + b'","2":"seven"}'),
        ["label 1 has 41 characters, more than the limit of 40"],
    ),
    "model.json nested deeply": (
        with_entry("model.json", b'{"modelTopology": ' + b"[" * 100 + b"]" * 100 + b', "weightsManifest": []}'),
        ["model.json: JSON nested 101 levels deep"],
    ),
    "model.json with NaN": (
        with_entry("model.json", b'{"modelTopology": NaN, "weightsManifest": []}'),
        ["model.json: not valid JSON (NaN is not valid JSON)"],
    ),
    "labels vs outputs": (with_labels(b'{"0":"a","1":"b","2":"c","3":"d"}'), ["3 outputs", "4 labels"]),
    "weights truncated": (lambda: mit_entries(random_weights()[:-4]), ["model.weights.bin has", "describes"]),
    "weights too long": (lambda: mit_entries(random_weights() + bytes(4)), ["model.weights.bin has", "describes"]),
    "weight shape": (with_model(set_spec(0, shape=[5, 5, 256, 4])), ["conv2d_Conv2D1/kernel", "has shape"]),
    "weight unknown": (with_model(set_spec(1, name="conv2d_Conv2D9/bias")), ["belongs to no layer"]),
    "weight quantized": (with_model(set_spec(2, quantization={"dtype": "uint8"})), ["not plain float32"]),
    "weight NaN": (nan_weights, ["NaN"]),
    "weights elsewhere": (
        with_model(lambda m: m["weightsManifest"][0].update(paths=["../../x.bin"])),
        ["paths must be"],
    ),
    "no weightsManifest": (with_model(lambda m: m.pop("weightsManifest")), ["not a TF.js layers model"]),
    "functional model": (with_model(lambda m: m["modelTopology"].update(class_name="Model")), ["Sequential"]),
    "input shape": (with_model(set_layer(0, batch_input_shape=[None, 7, 7, 512])), ["the head's input is"]),
    "kernel too big": (with_model(set_layer(0, kernel_size=[9, 9])), ["does not fit"]),
    "unsupported layer": (
        with_model(
            lambda m: m["modelTopology"]["config"].insert(
                1, {"class_name": "BatchNormalization", "config": {"name": "bn"}}
            )
        ),
        ['layer type "BatchNormalization"'],
    ),
    "not softmax": (with_model(set_layer(3, activation="linear")), ["must end with a softmax"]),
    "base not mobilenet": (
        with_entry("transfer_model.json", b'{"name":"mobilenet_v2","lastLayer":"conv_pw_13_relu"}'),
        ['names base "mobilenet_v2"'],
    ),
    "image classifier's squeezenet": (
        with_entry("transfer_model.json", b'{"name":"squeezenet","lastLayer":"max_pooling2d_1"}'),
        ['names base "squeezenet"', "Personal Image Classifier", "image model"],
    ),
    "other cut layer": (
        with_entry("transfer_model.json", b'{"name":"mobilenet","lastLayer":"conv_pw_12_relu"}'),
        ['cuts MobileNet at "conv_pw_12_relu"'],
    ),
    "other mobilenet": (
        with_entry(
            "transfer_model.json",
            json.dumps(
                {"name": "mobilenet", "lastLayer": "conv_pw_13_relu", "url": OFFICIAL_URL.replace("0.25", "1.0")}
            ).encode(),
        ),
        ["is not mobilenet_v1_0.25_224"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_mdl_is_refused_with_one_line_and_nothing_written(case, tmp_path, capsys):
    make, words = BAD[case]
    made = make()
    mdl = tmp_path / "bad.mdl"
    if isinstance(made, bytes):
        mdl.write_bytes(made)
    elif isinstance(made, tuple) and made[0] == "raw":
        write_zip(mdl, mit_entries())
        mdl.write_bytes(made[1](mdl.read_bytes()))
    elif isinstance(made, tuple):
        write_zip(mdl, made[0], compress=made[1])
    else:
        write_zip(mdl, made)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out" / "model"
    capsys.readouterr()
    assert main(["import-mdl", str(mdl), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {mdl}: "), err
    for word in words:
        assert word in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, not even out/


def test_export_refuses_models_mits_extension_cannot_run(compat_model, tmp_path, capsys):
    default = edit_manifest(compat_model, tmp_path / "default", features=PROFILES["default"].to_dict())
    capsys.readouterr()
    assert main(["export-mdl", str(default), "-o", str(tmp_path / "x.mdl")]) == 2
    err = capsys.readouterr().err
    assert "feature profile 'default'" in err and "--config pac-compat" in err and "makes its own spectrogram" in err
    assert main(["export-mdl", str(compat_model), "-o", str(tmp_path / "x.zip")]) == 2
    assert "ends in .mdl" in capsys.readouterr().err
    assert main(["export-mdl", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.mdl")]) == 2
    assert not (tmp_path / "x.mdl").exists() and not (tmp_path / "x.zip").exists()


def test_import_refuses_to_overwrite_a_folder_that_is_not_a_model(tmp_path, capsys):
    mdl = write_zip(tmp_path / "m.mdl", mit_entries())
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"x")
    assert main(["import-mdl", str(mdl), "-o", str(folder)]) == 2
    assert "not a pac model folder" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["cat.jpg"]


def test_an_mdl_that_is_a_fifo_or_too_big_is_refused_without_reading_it(tmp_path):
    import os
    import subprocess
    import sys

    from pac.limits import LIMITS

    fifo = tmp_path / "fifo.mdl"
    os.mkfifo(fifo)
    big = tmp_path / "big.mdl"
    with open(big, "wb") as handle:
        handle.truncate(LIMITS.model_max_bytes + 1)  # sparse: nothing to read, but too big
    exe = shutil.which("pac") or str(Path(sys.executable).with_name("pac"))
    for path, words in (
        (fifo, "is not a regular file (a FIFO/pipe)"),
        (big, f"larger than the {LIMITS.model_max_bytes:,d}-byte limit for a model file"),
    ):
        result = subprocess.run(
            [exe, "import-mdl", str(path), "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=60
        )
        err = result.stderr.strip()
        assert result.returncode == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"error: {path}: ") and words in err, err
    assert not (tmp_path / "out").exists()


def test_the_studio_offers_the_mdl_of_a_pac_compat_model_made_before_the_canvas_filter(tmp_path):
    """The studio's download button asks pac.mdl's own test: a pac-compat model without ``downscale``
    (made before it existed: 'centre') exports, as ``pac export-mdl`` exports it (with its warning);
    the studio once compared the whole profile and refused it, naming pac-compat as what to use."""
    from pac.studio.exports import export_problem

    new = tmp_path / "new"
    assert main(["import-mdl", str(write_zip(tmp_path / "model.mdl", mit_entries())), "-o", str(new)]) == 0
    features = {k: v for k, v in PROFILES["pac-compat"].to_dict().items() if k != "downscale"}
    old = edit_manifest(new, tmp_path / "old", features=features)
    assert export_problem("mdl", new) is None and export_problem("mdl", old) is None
    assert main(["export-mdl", str(old), "-o", str(tmp_path / "old.mdl")]) == 0
    other = edit_manifest(new, tmp_path / "other", features={**features, "colormap": "gray"})
    assert export_problem("mdl", other).startswith("only models trained with the feature profile pac-compat")
