"""Reading a model folder's head (TF.js layers model.json + weight shards) without tensorflowjs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, fsdd
from pac.cli import main
from pac.errors import PacError
from pac.head import predict_head
from pac.libs import silenced, tensorflowjs
from pac.tfjs_head import read_head

SHARD = "group1-shard1of1.bin"


def copy_model(model_dir: Path, tmp_path: Path) -> Path:
    """A copy of ``model_dir`` to break."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def edit_model_json(model_dir: Path, mutate) -> None:
    path = model_dir / "model.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))


def bits(model) -> list[bytes]:
    """The head's weights as raw bytes, for bit-for-bit comparison."""
    return [np.ascontiguousarray(w).tobytes() for w in model.get_weights()]


def refusal(model_dir: Path, capsys) -> str:
    """The one-line error ``pac predict`` prints for a broken model folder."""
    capsys.readouterr()
    assert main(["predict", str(model_dir), str(fsdd(1, "george", 0)), "--base", str(BASE_DIR)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {model_dir / 'model.json'}: "), err
    return err


# -- the same head as tensorflowjs ----------------------------------------------------------------

def test_head_is_bit_identical_to_what_tensorflowjs_loads(conv_model):
    ours = read_head(conv_model / "model.json")
    with silenced():
        theirs = tensorflowjs().converters.load_keras_model(str(conv_model / "model.json"))
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    assert [w.dtype for w in ours.get_weights()] == [w.dtype for w in theirs.get_weights()]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert bits(ours) == bits(theirs)
    assert ours.input_shape == theirs.input_shape and ours.output_shape == theirs.output_shape
    rng = np.random.default_rng(0)
    activations = np.maximum(rng.normal(0.0, 1.0, (16, 7, 7, 256)), 0).astype(np.float32)  # relu-like
    assert np.array_equal(predict_head(ours, activations), predict_head(theirs, activations))


def test_weights_split_over_several_shards_are_read_in_order(conv_model, tmp_path):
    model_dir = copy_model(conv_model, tmp_path)
    blob = (model_dir / SHARD).read_bytes()
    (model_dir / SHARD).unlink()
    cut = len(blob) // 3
    (model_dir / "group1-shard1of2.bin").write_bytes(blob[:cut])
    (model_dir / "group1-shard2of2.bin").write_bytes(blob[cut:])
    edit_model_json(model_dir, lambda m: m["weightsManifest"][0].update(
        paths=["group1-shard1of2.bin", "group1-shard2of2.bin"]))
    assert bits(read_head(model_dir / "model.json")) == bits(read_head(conv_model / "model.json"))


# -- broken model folders ---------------------------------------------------------------------------

@pytest.mark.parametrize("shard_path", [f"../{SHARD}", f"sub/{SHARD}", f"..\\{SHARD}", "absolute", "..", ""])
def test_weight_files_outside_the_model_folder_are_refused(shard_path, conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    shutil.copy(model_dir / SHARD, tmp_path / SHARD)  # readable there: the path alone must refuse it
    shard_path = str(tmp_path / SHARD) if shard_path == "absolute" else shard_path
    (model_dir / "sub").mkdir()
    shutil.copy(model_dir / SHARD, model_dir / "sub" / SHARD)
    edit_model_json(model_dir, lambda m: m["weightsManifest"][0].update(paths=[shard_path]))
    err = refusal(model_dir, capsys)
    assert "is not a plain file name inside the model folder" in err, err
    with pytest.raises(PacError, match="plain file name"):
        read_head(model_dir / "model.json")


def test_truncated_shard_is_refused_naming_it(conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    blob = (model_dir / SHARD).read_bytes()
    (model_dir / SHARD).write_bytes(blob[:-4])
    err = refusal(model_dir, capsys)
    assert f"{SHARD} has {len(blob) - 4:,d} bytes but the weightsManifest describes {len(blob):,d}" in err, err


def test_missing_shard_is_refused_naming_it(conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    (model_dir / SHARD).unlink()
    err = refusal(model_dir, capsys)
    assert f"cannot read weight file {SHARD}" in err, err


@pytest.mark.parametrize("mutate, words", [
    (lambda m: m.pop("weightsManifest"), "not a TF.js layers model"),
    (lambda m: m["weightsManifest"][0]["weights"][0].update(shape=[5, 5, 256, 4]), "has shape"),
    (lambda m: m["weightsManifest"].append(m["weightsManifest"][0]), "one group"),
])
def test_malformed_model_json_is_refused_with_one_line(mutate, words, conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    edit_model_json(model_dir, mutate)
    assert words in refusal(model_dir, capsys)


def test_model_json_that_is_not_json_is_refused(conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    (model_dir / "model.json").write_text("{nope")
    assert "model.json is not valid JSON" in refusal(model_dir, capsys)


# -- start-up cost ---------------------------------------------------------------------------------

LOAD_AND_REPORT = """
import sys
from pac.classifier import Classifier
classifier = Classifier(sys.argv[1], base=sys.argv[2])
print(classifier.head.output_shape[-1], "tensorflowjs" in sys.modules, "tf_keras" in sys.modules)
"""


@pytest.mark.parametrize("which", ["conv_model", "digits_model"])
def test_loading_a_model_does_not_import_tensorflowjs(which, request):
    model = request.getfixturevalue(which)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_REPORT, str(model), str(BASE_DIR)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    outputs, tfjs_loaded, keras_loaded = done.stdout.split()[-3:]
    assert (outputs, tfjs_loaded, keras_loaded) == ("3", "False", "True"), done.stdout


def test_a_linear_head_is_bit_identical_to_what_tensorflowjs_loads(digits_model):
    manifest = json.loads((digits_model / "pac.json").read_text())
    shape = tuple(manifest["head"]["input_shape"])
    ours = read_head(digits_model / "model.json", input_shape=shape)
    with silenced():
        theirs = tensorflowjs().converters.load_keras_model(str(digits_model / "model.json"))
    assert [type(layer).__name__ for layer in ours.layers] == ["Dense"]
    assert bits(ours) == bits(theirs)
    with pytest.raises(PacError, match="not MobileNet's conv_pw_13_relu activation"):
        read_head(digits_model / "model.json")  # a linear head is no PAC head (e.g. for export-mdl)
