"""`pac train`, `pac predict`, `pac evaluate` and the MobileNet base resolution."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, DIGITS, fsdd, make_label_dir
from pac import base as base_mod
from pac.cli import main
from pac.dataset import BACKGROUND_LABEL, ROOM_PREFIX
from pac.errors import PacError
from pac.features import FeatureConfig
from pac.linear_head import DEFAULT_WEIGHTING, JOINED_DEFAULT, JOINED_WEIGHTINGS
from pac.speech_base import speech_identity


def train(data_dir, out, *args) -> int:
    return main(["train", str(data_dir), "-o", str(out), *map(str, args)])


def report(model_dir: Path) -> dict:
    return json.loads((model_dir / "report.json").read_text())


def manifest(model_dir: Path) -> dict:
    return json.loads((model_dir / "pac.json").read_text())


# -- the model folder ------------------------------------------------------------------------------


def test_identical_variants_run_the_networks_once(digits_train_dir):
    """CLEAN and an unshifted noise-free copy are the same variant: computed once, cached once."""
    from pac.activations import CLEAN, ActivationCache, Variant, compute_activations
    from pac.base import load_base
    from pac.features import PROFILES
    from pac.features.pipeline import load_clip

    clip = load_clip(next(digits_train_dir.rglob("*.wav")), PROFILES["default"])
    seen = []
    base = load_base()

    class Counting:
        weights = base.weights

        def __call__(self, x):
            seen.append(len(x))
            return base(x)

    acts = compute_activations(
        [clip],
        [[CLEAN, Variant(shift=0.0), Variant(shift=0.05)]],
        config=PROFILES["default"],
        base=Counting(),
        cache=ActivationCache(None),
    )
    assert seen == [2] and np.array_equal(acts[0][0], acts[0][1]) and not np.array_equal(acts[0][0], acts[0][2])


def test_model_dir_holds_head_manifest_and_report(digits_model):
    names = {p.name for p in digits_model.iterdir()}
    assert {"model.json", "pac.json", "report.json", "confusion.png"} <= names
    assert "curves.png" not in names  # the linear head has no epochs
    head = json.loads((digits_model / "model.json").read_text())
    topology = json.dumps(head["modelTopology"])
    assert "batch_input_shape" in topology and '"batch_shape"' not in topology  # tf.loadLayersModel-safe
    shard = head["weightsManifest"][0]["paths"][0]
    assert (digits_model / shard).stat().st_size == 4 * sum(
        int(np.prod(w["shape"])) for w in head["weightsManifest"][0]["weights"]
    )
    m = manifest(digits_model)
    assert m["labels"] == sorted(DIGITS)
    assert m["format_version"] == 2 and m["head"]["kind"] == "linear"
    blocks = [b["name"] for b in m["head"]["blocks"]]
    assert blocks in (
        ["speech"],
        ["mobilenet_rows"],
        ["speech", "mobilenet_rows"],
    )  # the picture average is no candidate
    assert m["head"]["input_shape"] == [sum(b["size"] for b in m["head"]["blocks"])]
    assert ("base" in m) == any(b.startswith("mobilenet") for b in blocks) and ("speech_base" in m) == (
        "speech" in blocks
    )
    if "speech" in blocks:
        assert m["speech_base"] == speech_identity(quantized=True)
    assert m["features"]["name"] == "default"
    assert {"pac", "tensorflow", "tfjs_writer"} <= set(m["tools"]) and "tensorflowjs" not in m["tools"]
    r = report(digits_model)
    assert r["validation"] is None and r["clips"]["validation"] == []  # every clip trains
    cv = r["cross_validation"]
    assert cv["folds"] == 5 and len(cv["clips"]) == 15 and cv["labels"] == sorted(DIGITS)
    assert len(r["head"]["candidates"]) == len(JOINED_WEIGHTINGS)  # every weighting was cross-validated
    chosen = {b["name"]: b["weight"] for b in m["head"]["blocks"]}
    default = next(c for c in r["head"]["candidates"] if tuple(c["weights"].values()) == JOINED_DEFAULT)
    best = min(r["head"]["candidates"], key=lambda c: (-c["cv_accuracy"], c["cv_log_loss"]))
    kept = default if default["cv_accuracy"] >= best["cv_accuracy"] else best
    assert {k: v for k, v in kept["weights"].items() if v} == chosen
    assert cv["accuracy"] == kept["cv_accuracy"]


def test_conv_head_model_dir_is_the_format_1_model(conv_model):
    names = {p.name for p in conv_model.iterdir()}
    assert {"model.json", "pac.json", "report.json", "curves.png", "confusion.png"} <= names
    m = manifest(conv_model)
    assert m["format_version"] == 1 and "kind" not in m["head"] and "speech_base" not in m
    assert m["head"]["input_shape"] == [7, 7, 256]
    assert m["base"] == {
        "name": "mobilenet_v1_0.25_224",
        "cut_layer": "conv_pw_13_relu",
        "sha256": base_mod.base_sha256(),
    }
    r = report(conv_model)
    assert len(r["history"]["loss"]) == r["options"]["epochs"]
    assert r["validation"]["labels"] == sorted(DIGITS)
    assert len(r["clips"]["validation"]) == 3  # one of five clips per label at fraction 0.2


def test_training_is_reproducible_with_a_seed(digits_train_dir, digits_model, tmp_path):
    again = tmp_path / "again"
    assert train(digits_train_dir, again, "--seed", "0") == 0
    assert (again / "group1-shard1of1.bin").read_bytes() == (digits_model / "group1-shard1of1.bin").read_bytes()
    other = tmp_path / "other"
    assert train(digits_train_dir, other, "--seed", "1") == 0
    assert (other / "group1-shard1of1.bin").read_bytes() != (digits_model / "group1-shard1of1.bin").read_bytes()


@pytest.fixture(scope="module")
def short_run(digits_train_dir, tmp_path_factory):
    """A 3-epoch reference run, to compare each option against."""
    out = tmp_path_factory.mktemp("short") / "m"
    assert train(digits_train_dir, out, "--head", "conv", "--epochs", "3") == 0
    return out


def weights(model_dir: Path) -> bytes:
    return (model_dir / "group1-shard1of1.bin").read_bytes()


@pytest.mark.parametrize(
    "option, value, check",
    [
        ("--epochs", "5", lambda r: len(r["history"]["loss"]) == 5),
        ("--learning-rate", "0.05", lambda r: r["options"]["learning_rate"] == 0.05),
        ("--optimizer", "sgd", lambda r: r["options"]["optimizer"] == "sgd"),
        ("--batch-fraction", "0.1", lambda r: r["batch_size"] == int(0.1 * r["examples"])),
        ("--validation-fraction", "0.4", lambda r: len(r["clips"]["validation"]) == 6),
        ("--max-shift", "0", lambda r: r["examples"] == 2 * 12),  # each clip, clean and with generated noise
    ],
)
def test_every_option_changes_what_it_should(digits_train_dir, short_run, tmp_path, option, value, check):
    out = tmp_path / "m"
    args = ["--head", "conv", *(["--epochs", "3"] if option != "--epochs" else []), option, value]
    assert train(digits_train_dir, out, *args) == 0
    assert check(report(out))
    assert weights(out) != weights(short_run)


@pytest.mark.parametrize("bases, blocks", [("speech", ["speech"]), ("mobilenet", ["mobilenet"])])
def test_bases_option_limits_the_blocks(digits_train_dir, tmp_path, bases, blocks):
    out = tmp_path / bases
    assert train(digits_train_dir, out, "--bases", bases) == 0
    m = manifest(out)
    assert [b["name"] for b in m["head"]["blocks"]] == blocks and m["head"]["blocks"][0]["weight"] == 1.0
    assert ("base" in m) == (bases == "mobilenet") and ("speech_base" in m) == (bases == "speech")
    assert len(report(out)["head"]["candidates"]) == 1


def test_l2_and_validation_fraction_of_the_linear_head(digits_train_dir, digits_model, tmp_path):
    strong = tmp_path / "strong"
    assert train(digits_train_dir, strong, "--seed", "0", "--l2", "10", "--bases", "speech") == 0
    plain = tmp_path / "plain"
    assert train(digits_train_dir, plain, "--seed", "0", "--bases", "speech") == 0
    assert report(strong)["head"]["l2"] == 10 and weights(strong) != weights(plain)
    held = tmp_path / "held"
    assert train(digits_train_dir, held, "--validation-fraction", "0.4") == 0
    r = report(held)
    assert len(r["clips"]["validation"]) == 6 and r["validation"]["labels"] == sorted(DIGITS)
    assert len(r["cross_validation"]["clips"]) == 9  # cross-validation over the 9 training clips
    alone = tmp_path / "alone"  # one training clip per label: nothing to hold out, fixed weighting
    assert train(digits_train_dir, alone, "--validation-fraction", "0.8") == 0
    r = report(alone)
    assert r["cross_validation"] is None and r["head"]["candidates"] == [] and len(r["clips"]["training"]) == 3
    assert [b["weight"] for b in manifest(alone)["head"]["blocks"]] == list(DEFAULT_WEIGHTING)


def test_linear_head_predictions_match_its_report(digits_model, digits_train_dir):
    """What pac predict says of a training clip is what the final model (not a fold's) computes; the
    report's cross-validation held every clip out once."""
    from pac.classifier import Classifier

    classifier = Classifier(digits_model)
    paths = sorted(digits_train_dir.rglob("*.wav"))
    results = classifier.classify_files(paths)
    assert all(r[0][0] == p.parent.name for r, p in zip(results, paths))  # training clips: all right
    cv_paths = {Path(c["path"]).name for c in report(digits_model)["cross_validation"]["clips"]}
    assert cv_paths == {p.name for p in paths}


def test_a_model_made_before_the_speech_block_classifies_the_same(legacy_model, conv_model, digits_test_dir):
    from pac.classifier import Classifier

    assert "speech_hop_frames" not in manifest(legacy_model)["features"]
    paths = sorted(digits_test_dir.rglob("*.wav"))[::4]
    old, new = Classifier(legacy_model), Classifier(conv_model)
    assert old.manifest.head_kind == "conv" and old.speech is None
    assert old.classify_files(paths) == new.classify_files(paths)


def test_a_model_of_another_speech_network_is_refused(speech_model, tmp_path, capsys):
    model = Path(shutil.copytree(speech_model, tmp_path / "other"))
    data = manifest(model)
    data["speech_base"]["sha256"] = "0" * 64
    (model / "pac.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["predict", str(model), str(fsdd(1, "george", 0))]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(
            f"error: {model / 'pac.json'}: the model was trained on the speech network with sha256 000000000000..."
        )
        and len(err.splitlines()) == 1
    ), err


def test_noise_is_generated_by_default_replaced_by_a_folder_or_turned_off(digits_train_dir, short_run, tmp_path):
    assert report(short_run)["noise"] == "generated"
    folder = tmp_path / "folder"
    assert (
        train(
            digits_train_dir,
            folder,
            "--head",
            "conv",
            "--epochs",
            "3",
            "--noise",
            DATA / "background_noise" / "exercise_bike",
        )
        == 0
    )
    assert report(folder)["noise"] == "folder" and report(folder)["examples"] == report(short_run)["examples"]
    assert weights(folder) != weights(short_run)
    off = tmp_path / "off"
    assert train(digits_train_dir, off, "--head", "conv", "--epochs", "3", "--noise", "none") == 0
    assert report(off)["noise"] is None and 2 * report(off)["examples"] == report(short_run)["examples"]
    assert weights(off) != weights(short_run)
    generated = tmp_path / "generated"
    assert train(digits_train_dir, generated, "--epochs", "3", "--preset", "paper", "--noise", "generated") == 0
    assert report(generated)["noise"] == "generated" and report(generated)["examples"] == 2 * 15


def room_data(root: Path, *, room_names: bool) -> Path:
    """one/seven plus a background label of 2 kitchen pieces and 2 other words; the pieces named as the
    studio's Record the room names them, or not."""
    data = make_label_dir(
        root, {name: [fsdd(DIGITS[name], "george", i) for i in range(3)] for name in ("one", "seven")}
    )
    background = data / BACKGROUND_LABEL
    background.mkdir()
    for i, piece in enumerate(sorted((DATA / "background_noise" / "doing_the_dishes").glob("*.wav"))[:2]):
        prefix = (ROOM_PREFIX.upper() if i else ROOM_PREFIX) if room_names else ""
        shutil.copy(piece, background / f"{prefix}{piece.name}")
    for word in ("left", "right"):
        shutil.copy(sorted((DATA / "speech_commands_v001" / word).glob("*.wav"))[0], background / f"{word}.wav")
    return data


def test_the_rooms_recordings_replace_the_generated_noise(tmp_path, capsys):
    """The background label's clips named room-* (any case) are mixed into the clips instead of the
    generated noise; its other clips, and room-* clips of other labels, are not noise."""
    from pac.dataset import load_dataset, room_recordings

    room = room_data(tmp_path / "room", room_names=True)
    shutil.copy(fsdd(1, "george", 4), room / "one" / f"{ROOM_PREFIX}one.wav")  # a word, whatever its name
    dataset = load_dataset(room, config=FeatureConfig())
    background = dataset.labels.index(BACKGROUND_LABEL)
    pieces = [i for i, c in enumerate(dataset.clips) if c.label == background and "dishes" in c.path.name]
    assert len(pieces) == 2
    everything = range(len(dataset.clips))
    assert [a.source for a in room_recordings(dataset, everything)] == [dataset.clips[i].audio.source for i in pieces]
    assert [a.source for a in room_recordings(dataset, pieces[1:])] == [dataset.clips[pieces[1]].audio.source]
    plain = room_data(tmp_path / "plain", room_names=False)
    unnamed = load_dataset(plain, config=FeatureConfig())
    assert room_recordings(unnamed, range(len(unnamed.clips))) == []
    shutil.rmtree(plain / BACKGROUND_LABEL)
    assert room_recordings(load_dataset(plain, config=FeatureConfig()), range(6)) == []

    runs = {}
    for name, data, extra in (
        ("room", room_data(tmp_path / "r", room_names=True), ()),
        ("plain", room_data(tmp_path / "p", room_names=False), ()),
        ("off", room_data(tmp_path / "o", room_names=True), ("--noise", "none")),
    ):
        assert train(data, tmp_path / f"m-{name}", "--head", "conv", "--epochs", "3", *extra) == 0
        runs[name] = tmp_path / f"m-{name}"
        said = capsys.readouterr().err
        room = "background noise: the room's own, from 2 recordings of the room in _background_noise_ (room-*.wav)"
        hint = "background noise: generated (white, pink and brown), not the room's: recordings of the room where"
        assert (room in said, hint in said) == (name == "room", name == "plain"), said
    assert report(runs["room"])["noise"] == "room" and report(runs["plain"])["noise"] == "generated"
    assert report(runs["room"])["noise_clips"] == 2 and report(runs["plain"])["noise_clips"] == 3  # white, pink, brown
    assert report(runs["off"])["noise"] is None
    assert report(runs["room"])["examples"] == report(runs["plain"])["examples"]  # other noise, not more copies
    assert weights(runs["room"]) != weights(runs["plain"])
    # a recording of the room held back to validate is not mixed into the training clips
    held = tmp_path / "m-held"
    data = room_data(tmp_path / "h", room_names=True)
    assert train(data, held, "--head", "conv", "--epochs", "3", "--validation-fraction", "0.5") == 0
    validating = [Path(p).name.lower() for p in report(held)["clips"]["validation"]]
    assert sum(name.startswith(ROOM_PREFIX) for name in validating) == 1
    assert report(held)["noise"] == "room" and report(held)["noise_clips"] == 1
    assert "from 1 recording of the room" in capsys.readouterr().err


def test_the_background_labels_noise_is_its_training_clips_only(tmp_path):
    """fit(noise=BACKGROUND_NOISE) (the studio's "the _background_noise_ label"): every clip of that label
    that trains is noise, the ones held out to validate are not, and no other label's."""
    from pac.dataset import load_dataset
    from pac.train import BACKGROUND_NOISE, TrainOptions, _plan

    dataset = load_dataset(room_data(tmp_path / "d", room_names=True), config=FeatureConfig())
    background = dataset.labels.index(BACKGROUND_LABEL)
    options = TrainOptions(head="conv", validation_fraction=0.5)
    plan = _plan(dataset, config=FeatureConfig(), options=options, noise=BACKGROUND_NOISE, train_indices=None)
    training = [dataset.clips[i].audio for i in plan.train_idx if dataset.clips[i].label == background]
    held = [dataset.clips[i].audio for i in plan.val_idx if dataset.clips[i].label == background]
    assert len(training) == len(held) == 2
    noise = [id(a) for a in plan.noise.clips]
    assert noise == [id(a) for a in training] and not {id(a) for a in held} & set(noise)
    assert plan.noise_report() == {"noise": "label", "noise_clips": 2}
    assert all(v.noise is not None for vs in plan.variants for v in vs[len(vs) // 2 :])  # noisy copies drawn from it
    words = load_dataset(room_data(tmp_path / "w", room_names=True), config=FeatureConfig())
    only_words = [i for i, c in enumerate(words.clips) if words.labels[c.label] != BACKGROUND_LABEL]
    with pytest.raises(PacError, match="no clip of _background_noise_ trains"):
        _plan(words, config=FeatureConfig(), options=options, noise=BACKGROUND_NOISE, train_indices=only_words)


def test_generated_noise_is_the_same_every_time_and_has_its_colour():
    from pac.noise import COLOURS, coloured_noise

    for colour in COLOURS:
        x = coloured_noise(colour)
        assert np.array_equal(x, coloured_noise(colour)) and np.abs(x).max() == 0.5 and len(x) == 160000
    # Spectral slope between 100-200 Hz and 3.2-6.4 kHz (5 octaves): 0, -15 and -30 dB.
    for colour, slope in zip(COLOURS, (0.0, -15.0, -30.0)):
        power = np.abs(np.fft.rfft(coloured_noise(colour))) ** 2
        f = np.fft.rfftfreq(160000, 1 / 16000)
        low, high = power[(f >= 100) & (f < 200)].mean(), power[(f >= 3200) & (f < 6400)].mean()
        assert 10 * np.log10(high / low) == pytest.approx(slope, abs=2.5), colour


def test_config_option_is_stored_in_the_manifest(digits_train_dir, tmp_path):
    cfg = tmp_path / "features.json"
    cfg.write_text('{"name": "mine", "n_bands": 64}')
    out = tmp_path / "m"
    assert train(digits_train_dir, out, "--epochs", "2", "--config", cfg) == 0
    features = manifest(out)["features"]
    assert features["name"] == "mine" and features["n_bands"] == 64


def test_the_model_sees_only_the_band_every_training_clip_has(digits_model, tmp_path, capsys):
    # FSDD clips are 8 kHz: nothing above 4 kHz, so the model looks no higher (a phone's 48 kHz
    # microphone would otherwise show it the room's noise up there; pac.features.band_for_rates)
    assert manifest(digits_model)["features"]["f_limit"] == 4000
    words = {w: sorted((DATA / "speech_commands_v001" / w).glob("*.wav"))[:3] for w in ("yes", "no")}
    data = make_label_dir(tmp_path / "sc", words)  # 16 kHz: the default 8 kHz band fits
    assert train(data, tmp_path / "m16") == 0
    assert "f_limit" not in manifest(tmp_path / "m16")["features"]
    assert "ignores frequencies" not in capsys.readouterr().err
    make_label_dir(data, {"yes": [fsdd(1, "george", 0)]})  # one 8 kHz clip among them
    assert train(data, tmp_path / "m8") == 0
    assert manifest(tmp_path / "m8")["features"]["f_limit"] == 4000
    assert "lowest sample rate of the clips is 8,000 Hz: the model ignores frequencies above 4000 Hz" in (
        capsys.readouterr().err
    )
    cfg = tmp_path / "high.json"
    cfg.write_text('{"name": "high", "f_min": 4500}')
    assert train(data, tmp_path / "none", "--config", cfg) == 2
    err = capsys.readouterr().err
    assert "clips at 8,000 Hz hold nothing above 4000 Hz" in err and "Traceback" not in err
    assert not (tmp_path / "none").exists()


def test_paper_preset_uses_the_paper_settings(digits_train_dir, tmp_path):
    out = tmp_path / "m"
    assert train(digits_train_dir, out, "--preset", "paper", "--epochs", "2") == 0
    r = report(out)
    assert r["options"]["learning_rate"] == 1e-4 and r["options"]["max_shift"] == 0
    assert r["validation"] is None and r["examples"] == 15
    assert manifest(out)["features"]["name"] == "paper"


def test_a_dead_head_is_detected_and_trained_again():
    from pac.head import build_head, collapsed, train_head

    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((12, 7, 7, 256))).astype(np.float32)
    y = np.arange(12) % 3
    dead = build_head(3, seed=0)
    dead.get_layer("head_conv").set_weights([-np.abs(w) - 1 for w in dead.get_layer("head_conv").get_weights()])
    assert collapsed(dead, x, y)  # every conv filter is negative on positive activations: ReLU outputs 0
    assert not collapsed(build_head(3, seed=0), x, y)
    # A learning rate this large kills every attempt's filters (NaN or dead ReLUs), so all restarts run.
    attempts = []
    model, history = train_head(
        x,
        y,
        n_labels=3,
        epochs=2,
        learning_rate=1e6,
        optimizer="sgd",
        batch_size=4,
        seed=0,
        restarts=2,
        on_restart=attempts.append,
    )
    assert attempts == [1, 2] and history.restarts == 2 and collapsed(model, x, y)
    model, history = train_head(
        x,
        y,
        n_labels=3,
        epochs=2,
        learning_rate=1e-3,
        optimizer="adam",
        batch_size=4,
        seed=0,
        restarts=2,
        on_restart=attempts.append,
    )
    assert attempts == [1, 2] and history.restarts == 0 and not collapsed(model, x, y)


# -- bad training data -------------------------------------------------------------------------------


@pytest.fixture()
def data_with_bad_clip(digits_train_dir, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(digits_train_dir, root)
    (root / "one" / "broken.wav").write_bytes(b"ID3\x04" + bytes(64))
    return root


def test_unreadable_clip_stops_training_naming_it_and_writes_nothing(data_with_bad_clip, tmp_path, capsys):
    out = tmp_path / "m"
    assert train(data_with_bad_clip, out, "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert "broken.wav" in err and "MP3" in err and err.count("\n") == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_skip_bad_skips_the_clip_with_a_warning(data_with_bad_clip, tmp_path, capsys):
    out = tmp_path / "m"
    assert train(data_with_bad_clip, out, "--epochs", "2", "--skip-bad") == 0
    assert "warning: skipped" in capsys.readouterr().err
    assert any("broken.wav" in s for s in report(out)["clips"]["skipped"])


def test_label_with_too_few_clips_is_refused(tmp_path, capsys):
    data = make_label_dir(
        tmp_path / "d", {"one": [fsdd(1, "george", 0)], "seven": [fsdd(7, "george", i) for i in range(3)]}
    )
    assert train(data, tmp_path / "m") == 2
    err = capsys.readouterr().err
    assert "one" in err and "needs at least 2" in err


def test_a_single_label_is_refused(tmp_path, capsys):
    data = make_label_dir(tmp_path / "d", {"one": [fsdd(1, "george", i) for i in range(3)]})
    assert train(data, tmp_path / "m") == 2
    assert "at least 2 label" in capsys.readouterr().err


def test_existing_non_model_output_is_not_overwritten(digits_train_dir, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert train(digits_train_dir, out, "--epochs", "1") == 2
    assert "not a pac model folder" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


# -- predict and evaluate ----------------------------------------------------------------------------


def test_predict_prints_sorted_label_confidence_pairs(digits_model, capsys):
    clips = [fsdd(1, "george", 7), fsdd(9, "george", 8)]
    assert main(["predict", str(digits_model), *map(str, clips)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, clip in zip(lines, clips):
        path, result = line.split("\t")
        assert path == str(clip)
        result = json.loads(result)
        assert sorted(label for label, _ in result) == sorted(DIGITS)
        confidences = [c for _, c in result]
        assert confidences == sorted(confidences, reverse=True)
        assert abs(sum(confidences) - 1) < 1e-5


def test_the_pac_command_ends_promptly_with_all_its_output_and_exit_code(digits_model, tmp_path):
    """The console script skips TensorFlow's slow teardown (os._exit): nothing may be lost."""
    exe = shutil.which("pac") or str(Path(sys.executable).with_name("pac"))
    clips = [fsdd(d, "george", i) for d in DIGITS.values() for i in range(12, 20)]
    done = subprocess.run(
        [exe, "predict", "--json", str(digits_model), *map(str, clips)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)) == [str(c) for c in clips]  # 24 results, the JSON complete
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"ID3" + bytes(100))
    done = subprocess.run([exe, "predict", str(digits_model), str(bad)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and "bad.wav" in done.stderr and done.stderr.count("\n") == 1


def test_predict_json_and_accuracy_on_held_out_clips(digits_model, capsys):
    clips = [fsdd(d, "george", i) for d in DIGITS.values() for i in (10, 11, 12)]
    assert main(["predict", "--json", str(digits_model), *map(str, clips)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results) == [str(c) for c in clips]
    names = {v: k for k, v in DIGITS.items()}
    correct = sum(results[str(c)][0][0] == names[int(c.name[0])] for c in clips)
    assert correct >= 5  # a real classifier, well above chance (3 of 9)


def test_evaluate_json_plot_and_table(digits_model, digits_test_dir, tmp_path, capsys):
    out_json, out_png = tmp_path / "eval.json", tmp_path / "eval.png"
    assert (
        main(["evaluate", str(digits_model), str(digits_test_dir), "--json", str(out_json), "--plot", str(out_png)])
        == 0
    )
    text = capsys.readouterr().out
    assert "accuracy" in text and "precision" in text
    result = json.loads(out_json.read_text())
    assert {"accuracy", "labels", "confusion", "clips"} <= set(result)
    assert 0.6 <= result["accuracy"] <= 1.0  # chance is 1/3
    assert result["labels"] == sorted(DIGITS)
    assert np.array(result["confusion"]).sum() == len(result["clips"]) == 45
    first = result["clips"][0]
    assert {"path", "label", "predicted", "correct", "result"} <= set(first)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_refuses_folders_that_are_not_labels(digits_model, tmp_path, capsys):
    data = make_label_dir(tmp_path / "d", {"eleven": [fsdd(1, "george", 0)]})
    assert main(["evaluate", str(digits_model), str(data)]) == 2
    assert "eleven" in capsys.readouterr().err


def test_predict_on_a_folder_that_is_not_a_model(tmp_path, capsys):
    assert main(["predict", str(tmp_path), str(fsdd(1, "george", 0))]) == 2
    assert "not a pac model folder" in capsys.readouterr().err


# -- the MobileNet base -------------------------------------------------------------------------------


@pytest.fixture()
def no_local_base(tmp_path, monkeypatch):
    monkeypatch.delenv("PAC_BASE_DIR", raising=False)
    monkeypatch.setenv("PAC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_offline_without_cache_says_how_to_point_at_a_local_copy(no_local_base, monkeypatch):
    monkeypatch.setenv("PAC_BASE_URL", "http://127.0.0.1:9/tfjs/mobilenet_v1_0.25_224/model.json")
    with pytest.raises(PacError) as info:
        base_mod.resolve_base_dir(None)
    message = str(info.value)
    assert "cannot download" in message and "--base" in message and "PAC_BASE_DIR" in message
    assert not (no_local_base / "cache" / "mobilenet_v1_0.25_224").exists()


@pytest.fixture()
def mirror(tmp_path):
    """A loopback HTTP server serving a copy of the weights (stands in for the official URL)."""
    root = tmp_path / "mirror" / "mobilenet_v1_0.25_224"
    shutil.copytree(BASE_DIR, root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root.parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}/mobilenet_v1_0.25_224/model.json"
    server.shutdown()


def test_download_verifies_and_caches_the_weights(no_local_base, mirror, monkeypatch):
    _, url = mirror
    monkeypatch.setenv("PAC_BASE_URL", url)
    seen = []
    path = base_mod.resolve_base_dir(None, progress=lambda done, total: seen.append(done))
    assert path == no_local_base / "cache" / "mobilenet_v1_0.25_224"
    assert len(list(path.glob("group*-shard1of1"))) == 55 and seen[-1] == 475_544 * 4
    base_mod.read_base(path)  # every sha256 checks out
    monkeypatch.setenv("PAC_BASE_URL", "http://127.0.0.1:9/nothing/model.json")
    assert base_mod.resolve_base_dir(None) == path  # second time: from the cache, no network


def test_download_of_a_corrupt_shard_is_refused_and_nothing_cached(no_local_base, mirror, monkeypatch):
    root, url = mirror
    shard = root / "group7-shard1of1"
    shard.write_bytes(b"\x00" + shard.read_bytes()[1:])
    monkeypatch.setenv("PAC_BASE_URL", url)
    with pytest.raises(PacError, match="group7-shard1of1.*sha256"):
        base_mod.resolve_base_dir(None)
    assert not (no_local_base / "cache" / "mobilenet_v1_0.25_224").exists()


def test_base_option_must_point_at_a_model_json(tmp_path, digits_train_dir, capsys):
    assert train(digits_train_dir, tmp_path / "m", "--base", str(tmp_path)) == 2
    assert "no model.json" in capsys.readouterr().err


def test_local_base_with_a_tampered_shard_is_refused(tmp_path):
    copy = tmp_path / "base"
    shutil.copytree(BASE_DIR, copy)
    (copy / "group3-shard1of1").write_bytes(b"\x00" * 16)
    with pytest.raises(PacError, match="group3-shard1of1.*sha256"):
        base_mod.read_base(copy)


def test_no_shifted_copies_when_the_whole_clip_is_analysed(digits_train_dir, tmp_path):
    out = tmp_path / "m"
    assert train(digits_train_dir, out, "--epochs", "1", "--config", "pac-compat") == 0
    r = report(out)
    assert r["examples"] == 2 * len(r["clips"]["training"]) == 2 * 12  # clean + generated noise, no shifts
    assert r["options"]["max_shift"] == 0
