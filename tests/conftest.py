"""Shared test fixtures: where ../shared is, the real MobileNet, real recordings, small trained models."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAC_SHARED_DIR", REPO.parent / "shared"))
DATA = SHARED / "data"
BASE_DIR = SHARED / "models" / "mobilenet_v1_0.25_224"
SPEECH_DIR = SHARED / "models" / "speech_embedding"


def pytest_configure(config):
    if not BASE_DIR.is_dir() or not SPEECH_DIR.is_dir() or not DATA.is_dir():
        raise pytest.UsageError(
            f"the shared data folder is missing: expected {SHARED} beside the repository (or set PAC_SHARED_DIR)"
        )


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tests never touch the user's cache and never download: the bases come from ../shared."""
    cache = tmp_path_factory.mktemp("pac-cache")
    old = {k: os.environ.get(k) for k in ("PAC_CACHE_DIR", "PAC_BASE_DIR", "PAC_SPEECH_DIR")}
    os.environ["PAC_CACHE_DIR"] = str(cache)
    os.environ["PAC_BASE_DIR"] = str(BASE_DIR)
    os.environ["PAC_SPEECH_DIR"] = str(SPEECH_DIR)
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def _early_starts(request, _isolated_cache, tmp_path_factory):
    """Slow work a test module begins in the background as the run starts, so that it overlaps the other
    modules: each module with selected tests and a ``start_early(tmp_path_factory, items)`` gets it called
    with those tests (tests/test_wheel.py builds and installs the wheel)."""
    by_module: dict = {}
    for item in request.session.items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "start_early"):
            by_module.setdefault(module, []).append(item)
    for module, items in by_module.items():
        module.start_early(tmp_path_factory, items)


def fsdd(digit: int, speaker: str, index: int) -> Path:
    """Path of one Free Spoken Digit Dataset recording."""
    return DATA / "fsdd" / "recordings" / f"{digit}_{speaker}_{index}.wav"


def make_label_dir(root: Path, groups: dict[str, list[Path]]) -> Path:
    """Copy clips into ``root/<label>/`` folders (a training or evaluation DATA_DIR)."""
    for label, paths in groups.items():
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy(path, folder / path.name)
    return root


DIGITS = {"one": 1, "seven": 7, "nine": 9}


@pytest.fixture(scope="session")
def digits_train_dir(tmp_path_factory) -> Path:
    """FSDD george saying one/seven/nine, 5 clips each (indices 0-4)."""
    root = tmp_path_factory.mktemp("digits-train")
    return make_label_dir(root, {name: [fsdd(d, "george", i) for i in range(5)] for name, d in DIGITS.items()})


@pytest.fixture(scope="session")
def digits_test_dir(tmp_path_factory) -> Path:
    """The same speaker and digits, clips 5-19 (45 clips)."""
    root = tmp_path_factory.mktemp("digits-test")
    return make_label_dir(root, {name: [fsdd(d, "george", i) for i in range(5, 20)] for name, d in DIGITS.items()})


@pytest.fixture(scope="session")
def digits_model(digits_train_dir, tmp_path_factory) -> Path:
    """A model trained with the product defaults on :func:`digits_train_dir` (seed 0)."""
    from pac.cli import main

    out = tmp_path_factory.mktemp("models") / "digits"
    assert main(["train", str(digits_train_dir), "-o", str(out), "--seed", "0"]) == 0
    return out


@pytest.fixture(scope="session")
def built_aix(digits_model, tmp_path_factory) -> Path:
    """``pac build`` of :func:`digits_model` (runs the Maven build first if it is missing or stale)."""
    from pac.cli import main

    out = tmp_path_factory.mktemp("aix") / "digits.aix"
    assert main(["build", str(digits_model), "-o", str(out), "--base", str(BASE_DIR)]) == 0
    return out


@pytest.fixture(scope="session")
def compat_model(digits_train_dir, tmp_path_factory) -> Path:
    """PAC as MIT shipped it on :func:`digits_train_dir`: feature profile pac-compat (MIT's server
    spectrogram) and --preset paper training (Adam 1e-4, 20 epochs, no validation, no augmentation)."""
    from pac.cli import main

    out = tmp_path_factory.mktemp("models") / "digits-pac-compat"
    assert (
        main(
            [
                "train",
                str(digits_train_dir),
                "-o",
                str(out),
                "--preset",
                "paper",
                "--config",
                "pac-compat",
                "--seed",
                "0",
            ]
        )
        == 0
    )
    return out


def _train(train_dir: Path, out: Path, *options: str) -> Path:
    from pac.cli import main

    assert main(["train", str(train_dir), "-o", str(out), "--seed", "0", *options]) == 0
    return out


@pytest.fixture(scope="session")
def conv_model(digits_train_dir, tmp_path_factory) -> Path:
    """PAC's conv head (format 1) on MobileNet, product defaults otherwise, on :func:`digits_train_dir`:
    a model like every model made before the linear head."""
    return _train(digits_train_dir, tmp_path_factory.mktemp("models") / "digits-conv", "--head", "conv")


@pytest.fixture(scope="session")
def speech_model(digits_train_dir, tmp_path_factory) -> Path:
    """A linear head on the speech block only (``--bases speech``)."""
    return _train(digits_train_dir, tmp_path_factory.mktemp("models") / "digits-speech", "--bases", "speech")


@pytest.fixture(scope="session")
def mobilenet_linear_model(digits_train_dir, tmp_path_factory) -> Path:
    """A linear head on the mobilenet block only (``--bases mobilenet``)."""
    return _train(digits_train_dir, tmp_path_factory.mktemp("models") / "digits-mobilenet", "--bases", "mobilenet")


@pytest.fixture(scope="session")
def both_blocks_model(digits_train_dir, tmp_path_factory) -> Path:
    """A linear head on both blocks (speech then mobilenet, weights 1 and 1): the cross-validation that
    may drop a block is given that one weighting only, so both are always in the model."""
    return _train_weighted(digits_train_dir, tmp_path_factory.mktemp("models") / "digits-both", (1.0, 1.0, 0.0))


@pytest.fixture(scope="session")
def rows_model(digits_train_dir, tmp_path_factory) -> Path:
    """A linear head on the speech block and MobileNet's frequency rows (weights 1 and 0.5), the
    weighting cross-validation picks for instrument notes, given as its one candidate."""
    return _train_weighted(digits_train_dir, tmp_path_factory.mktemp("models") / "digits-rows", (1.0, 0.0, 0.5))


def _train_weighted(data: Path, out: Path, weights: tuple) -> Path:
    """``pac train`` with cross-validation given ``weights`` (``pac.linear_head.JOINED_BLOCKS`` order) only."""
    import pac.linear_head

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pac.linear_head, "JOINED_WEIGHTINGS", (weights,))
        _train(data, out)
    manifest = json.loads((out / "pac.json").read_text())
    used = {b["name"]: b["weight"] for b in manifest["head"]["blocks"]}
    assert used == {b: w for b, w in zip(pac.linear_head.JOINED_BLOCKS, weights) if w}, used
    return out


@pytest.fixture(scope="session")
def legacy_model(conv_model, tmp_path_factory) -> Path:
    """:func:`conv_model` as pac wrote models before the speech block existed: its pac.json without
    the ``speech_*`` feature fields, nor ``f_limit`` (the files are otherwise identical)."""
    out = tmp_path_factory.mktemp("models") / "digits-legacy"
    shutil.copytree(conv_model, out)
    manifest = json.loads((out / "pac.json").read_text(encoding="utf-8"))
    manifest["features"] = {
        k: v for k, v in manifest["features"].items() if not k.startswith("speech_") and k != "f_limit"
    }
    (out / "pac.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
