"""Reading and writing a model folder's head (TF.js layers model.json + weight shards) without tensorflowjs
(installed for the tests only, as the reference)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, fsdd
from pac.cli import main
from pac.errors import PacError
from pac.head import predict_head
from pac.tfjs_head import Layer, keras_head, read_head, write_head

SHARD = "group1-shard1of1.bin"


@functools.cache
def tensorflowjs():
    """The ``tensorflowjs`` package: a test-only reference, never imported by pac."""
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")  # its TF Decision Forests banner
    import tensorflowjs as tfjs

    return tfjs


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
    edit_model_json(
        model_dir, lambda m: m["weightsManifest"][0].update(paths=["group1-shard1of2.bin", "group1-shard2of2.bin"])
    )
    assert bits(read_head(model_dir / "model.json")) == bits(read_head(conv_model / "model.json"))


# -- broken model folders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shard_path", [f"../{SHARD}", f"sub/{SHARD}", f"..\\{SHARD}", "absolute", "..", "", f"C:{SHARD}", f"{SHARD}:stream"]
)  # Windows: a drive, a data stream
def test_weight_files_outside_the_model_folder_are_refused(shard_path, conv_model, tmp_path, capsys):
    model_dir = copy_model(conv_model, tmp_path)
    shutil.copy(model_dir / SHARD, tmp_path / SHARD)  # readable there: the path alone must refuse it
    shard_path = str(tmp_path / SHARD) if shard_path == "absolute" else shard_path
    (model_dir / "sub").mkdir()
    shutil.copy(model_dir / SHARD, model_dir / "sub" / SHARD)
    if ":" in shard_path:  # on Linux a plain file of that name: only the name may refuse it
        shutil.copy(model_dir / SHARD, model_dir / shard_path)
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


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda m: m.pop("weightsManifest"), "not a TF.js layers model"),
        (lambda m: m["weightsManifest"][0]["weights"][0].update(shape=[5, 5, 256, 4]), "has shape"),
        (lambda m: m["weightsManifest"].append(m["weightsManifest"][0]), "one group"),
    ],
)
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
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_REPORT, str(model), str(BASE_DIR)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    outputs, tfjs_loaded, keras_loaded = done.stdout.split()[-3:]
    assert (outputs, tfjs_loaded, keras_loaded) == ("3", "False", "True"), done.stdout


def test_a_linear_head_is_bit_identical_to_what_tensorflowjs_loads(digits_model):
    manifest = json.loads((digits_model / "pac.json").read_text())
    shape = tuple(manifest["head"]["input_shape"])
    ours = read_head(digits_model / "model.json", input_shape=shape)
    theirs = tensorflowjs().converters.load_keras_model(str(digits_model / "model.json"))
    assert [type(layer).__name__ for layer in ours.layers] == ["Dense"]
    assert bits(ours) == bits(theirs)
    with pytest.raises(PacError, match="not MobileNet's conv_pw_13_relu activation"):
        read_head(digits_model / "model.json")  # a linear head is no PAC head (e.g. for export-mdl)


# -- writing heads (pac's own writer, tensorflowjs as the reference) -------------------------------------


def written(model, directory: Path, **options) -> tuple[bytes, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    write_head(model, directory, **options)
    assert sorted(p.name for p in directory.iterdir()) == sorted(["model.json", SHARD])
    return (directory / "model.json").read_bytes(), (directory / SHARD).read_bytes()


@pytest.mark.parametrize("which, shape", [("conv_model", (7, 7, 256)), ("digits_model", None)])
def test_written_heads_read_back_bit_identically_here_and_in_tensorflowjs(which, shape, request, tmp_path):
    model_dir = request.getfixturevalue(which)
    if shape is None:
        shape = tuple(json.loads((model_dir / "pac.json").read_text())["head"]["input_shape"])
    trained = read_head(model_dir / "model.json", input_shape=shape)
    body, blob = written(trained, tmp_path / "ours")
    # pac train wrote it
    assert (body, blob) == ((model_dir / "model.json").read_bytes(), (model_dir / SHARD).read_bytes())
    ours = read_head(tmp_path / "ours" / "model.json", input_shape=shape)
    theirs = tensorflowjs().converters.load_keras_model(str(tmp_path / "ours" / "model.json"))
    assert bits(ours) == bits(trained) == bits(theirs)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [layer.get_config()["activation"] for layer in ours.layers if "activation" in layer.get_config()] == [
        layer.get_config()["activation"] for layer in theirs.layers if "activation" in layer.get_config()
    ]
    assert ours.input_shape == theirs.input_shape == (None, *shape)
    # What tensorflowjs' converter writes for the same head: the same weight file and manifest.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the converter saves through tf_keras's legacy HDF5 format
        tensorflowjs().converters.save_keras_model(trained, str(tmp_path / "converter"))
    reference = json.loads((tmp_path / "converter" / "model.json").read_text())
    # heads tensorflowjs wrote (every model made before pac's writer) still read bit-identically
    assert bits(read_head(tmp_path / "converter" / "model.json", input_shape=shape)) == bits(trained)
    assert (tmp_path / "converter" / SHARD).read_bytes() == blob
    assert reference["weightsManifest"] == json.loads(body)["weightsManifest"]
    assert reference["format"] == json.loads(body)["format"] == "layers-model"
    ours_cfg = json.loads(body)["modelTopology"]["model_config"]
    their_cfg = reference["modelTopology"]["model_config"]
    assert [item["class_name"] for item in ours_cfg["config"]["layers"]] == [
        item["class_name"] for item in their_cfg["config"]["layers"]
    ]
    assert (
        ours_cfg["config"]["layers"][0]["config"]["batch_input_shape"]
        == their_cfg["config"]["layers"][0]["config"]["batch_input_shape"]
        == [None, *shape]
    )


def test_writing_is_deterministic_and_layers_write_as_their_keras_head(tmp_path):
    rng = np.random.default_rng(5)
    layers = [
        Layer(
            "dense",
            activation="softmax",
            units=4,
            weights=[rng.standard_normal((448, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)],
        )
    ]
    first = written(layers, tmp_path / "a")
    assert written(layers, tmp_path / "b") == first
    assert written(keras_head(layers, input_shape=(448,)), tmp_path / "c") == first
    assert np.frombuffer(first[1], dtype="<f4").tobytes() == first[1]
    assert first[1] == layers[0].weights[0].astype("<f4").tobytes() + layers[0].weights[1].astype("<f4").tobytes()
    # The input layer's name and the initializers do not depend on how many models the process built.
    from pac.head import build_head

    conv = [written(build_head(3, seed=1), tmp_path / f"conv{i}") for i in range(2)]
    assert conv[0] == conv[1]
    assert b"input_1" not in conv[0][0] and b"input_2" not in conv[1][0]


@pytest.mark.parametrize(
    "head, words",
    [
        (
            lambda keras: keras.Sequential(
                [
                    keras.layers.InputLayer(input_shape=(8,)),
                    keras.layers.Dropout(0.5),
                    keras.layers.Dense(2, activation="softmax"),
                ]
            ),
            r"\(Dropout\) cannot be written to a TF.js head",
        ),
        (
            lambda keras: keras.Sequential(
                [keras.layers.InputLayer(input_shape=(8,)), keras.layers.Dense(2, activation="relu")]
            ),
            "must end with a softmax",
        ),
        (
            lambda keras: [
                Layer(
                    "dense",
                    activation="softmax",
                    units=2,
                    weights=[np.zeros((8, 2), np.float64), np.zeros(2, np.float32)],
                )
            ],
            "not float32",
        ),
        (
            lambda keras: [
                Layer(
                    "dense",
                    activation="softmax",
                    units=2,
                    weights=[np.zeros((8, 3), np.float32), np.zeros(2, np.float32)],
                )
            ],
            "has shape",
        ),
    ],
)
def test_a_head_pac_could_not_read_back_is_not_written(head, words, tmp_path):
    from pac.libs import tf_keras

    with pytest.raises(PacError, match=words):
        write_head(head(tf_keras()), tmp_path)
    assert list(tmp_path.iterdir()) == []


TRAIN_AND_REPORT = """
import sys
from pac.cli import main
for options in ([], ["--head", "conv", "--epochs", "2"]):
    assert main(["train", sys.argv[1], "-o", sys.argv[2] + str(len(options)), "--seed", "0", *options]) == 0
print(sorted(m for m in ("tensorflowjs", "tensorflow_decision_forests", "ydf") if m in sys.modules))
"""


@pytest.mark.slow
def test_pac_train_never_imports_tensorflowjs(tmp_path):
    from conftest import make_label_dir

    clips = DATA / "fsdd" / "recordings"
    data = make_label_dir(
        tmp_path / "clips",
        {
            word: [clips / f"{digit}_jackson_{i}.wav" for i in range(3)]
            for word, digit in (("zero", 0), ("four", 4), ("eight", 8))
        },
    )
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_REPORT, str(data), str(tmp_path / "model")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[]", done.stdout
    for name in ("model0", "model4"):
        tools = json.loads((tmp_path / name / "pac.json").read_text())["tools"]
        assert tools["tfjs_writer"] == "pac" and "tensorflowjs" not in tools
