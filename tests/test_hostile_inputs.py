"""Hostile configuration files, model manifests and names, through the real ``pac`` command: each is
refused with one line naming the file and the problem, exit code 2, before any work, and nothing is
written (issue 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fsdd, make_label_dir
from pac.dataset import check_label_folders, load_dataset
from pac.errors import PacError
from pac.features import PROFILES
from pac.limits import LIMITS


def pac(*args, cwd=None):
    exe = shutil.which("pac") or str(Path(sys.executable).with_name("pac"))
    return subprocess.run([exe, *map(os.fsdecode, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr[-2000:])
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("error: "), err
    return err


# -- --config FILE ------------------------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def deep(levels: int) -> bytes:
    return b'{"name": ' + b"[" * levels + b"]" * levels + b"}"


BAD_CONFIGS = {
    "huge frame count": (
        lambda p: write(p, b'{"n_frames": 100000000}'),
        "n_frames must be from 2 to 1024, not 100000000",
    ),
    "huge image": (lambda p: write(p, b'{"image_size": 1e6}'), "image_size must be from 2 to 1024, not 1000000"),
    "huge mel bank": (lambda p: write(p, b'{"n_bands": 50000000}'), "n_bands must be from 2 to 1024"),
    "huge FFT": (lambda p: write(p, b'{"fft_seconds": 100000}'), "fft_seconds must be from 0.001 to 1, not 100000"),
    "huge specgram": (
        lambda p: write(p, b'{"method": "pac-compat", "mpl_nfft": 4294967296}'),
        "mpl_nfft must be from 2 to 65536",
    ),
    "huge figure": (
        lambda p: write(p, b'{"method": "pac-compat", "mpl_pixels": 1000000001}'),
        "mpl_pixels must be from 1 to 4000",
    ),
    "overflowing number": (lambda p: write(p, b'{"f_max": 1e400}'), "f_max must be from 1 to 192000, not inf"),
    "400-digit integer": (
        lambda p: write(p, b'{"n_frames": 1' + b"0" * 400 + b"}"),
        "n_frames must be from 2 to 1024, not a 401-digit number",
    ),
    "NaN": (lambda p: write(p, b'{"window_seconds": NaN}'), "NaN is not valid JSON"),
    "Infinity": (lambda p: write(p, b'{"db_range": Infinity}'), "Infinity is not valid JSON"),
    "deep nesting": (lambda p: write(p, deep(100000)), "JSON nested 100001 levels deep, more than the limit of 32"),
    "too big": (
        lambda p: write(p, b'{"name": "' + b"x" * (2 << 20) + b'"}'),
        "larger than the 1,048,576-byte limit for a feature configuration",
    ),
    "not UTF-8": (lambda p: write(p, b'{"name": "\xff"}'), "is not UTF-8 text"),
    "FIFO": (lambda p: os.mkfifo(p), "is not a regular file (a FIFO/pipe)"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_hostile_config_files_are_refused_in_one_line_before_any_work(case, tmp_path):
    make, words = BAD_CONFIGS[case]
    config = tmp_path / "conf.json"
    make(config)
    err = one_line_error(pac("spectrogram", fsdd(1, "george", 0), "--config", config, "-o", tmp_path / "x.png"))
    assert err.startswith(f"error: {config}: "), err
    assert words in err, err
    assert not (tmp_path / "x.png").exists()


def test_dev_zero_as_config_is_refused_without_reading_it(tmp_path):
    err = one_line_error(pac("train", tmp_path / "no-data", "-o", tmp_path / "m", "--config", "/dev/zero"))
    assert err == "error: /dev/zero: is not a regular file (a character device); pac reads only files"


def test_a_config_at_every_bound_is_accepted(tmp_path):
    from pac.features import FeatureConfig
    from pac.limits import CONFIG_BOUNDS

    for name, (low, high) in CONFIG_BOUNDS.items():
        for value in (low, high):
            data = {name: value}
            try:
                config = FeatureConfig.from_dict(data)
            except PacError as exc:  # only a relation between fields may object, never the bound
                assert f"{name} must be from" not in str(exc), exc
                continue
            assert getattr(config, name) == value


# -- pac.json of a model folder ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, words",
    [
        ("deep nesting", "JSON nested 100001 levels deep"),
        ("too big", "larger than the 1,048,576-byte limit for a model manifest"),
        ("FIFO", "is not a regular file (a FIFO/pipe)"),
    ],
)
def test_hostile_model_manifests_are_refused_in_one_line(case, words, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    manifest = model / "pac.json"
    if case == "deep nesting":
        manifest.write_bytes(deep(100000))
    elif case == "too big":
        manifest.write_bytes(b'{"format": "' + b"x" * (2 << 20) + b'"}')
    else:
        os.mkfifo(manifest)
    err = one_line_error(pac("predict", model, fsdd(1, "george", 0)))
    assert err.startswith(f"error: {manifest}: ") and words in err, err


# -- label names ------------------------------------------------------------------------------------


def dataset(root: Path, *extra: bytes, clip_name: bytes | None = None) -> Path:
    """Labels one and seven (2 FSDD clips each) plus folders named by the raw bytes ``extra``."""
    make_label_dir(
        root, {"one": [fsdd(1, "george", i) for i in range(2)], "seven": [fsdd(7, "george", i) for i in range(2)]}
    )
    for name in extra:
        folder = os.path.join(os.fsencode(root), name)
        os.mkdir(folder)
        for i in range(2):
            shutil.copy(fsdd(9, "george", i), os.path.join(folder, b"%d.wav" % i))
    if clip_name is not None:
        shutil.copy(fsdd(1, "george", 3), os.path.join(os.fsencode(root / "one"), clip_name))
    return root


def test_a_label_folder_that_is_not_utf8_stops_pac_train_at_the_start(tmp_path):
    data = dataset(tmp_path / "data", b"\xff\xfe")
    out = tmp_path / "model"
    result = pac("train", data, "-o", out)
    err = one_line_error(result)
    assert err == (f"error: {data}/\\xff\\xfe: label folder name is not valid UTF-8 text; rename the folder"), err
    assert "features" not in result.stderr and "training on" not in result.stderr  # no work was done
    assert not out.exists()


def test_a_clip_name_that_is_not_utf8_stops_pac_train_at_the_start(tmp_path):
    data = dataset(tmp_path / "data", clip_name=b"\xe9t\xe9.wav")  # Latin-1, not UTF-8
    result = pac("train", data, "-o", tmp_path / "model")
    err = one_line_error(result)
    assert err == f"error: {data}/one/\\xe9t\\xe9.wav: file name is not valid UTF-8 text; rename it", err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    "name, words",
    [
        (b"tab\tlabel", "contains the control character(s) U+0009"),
        (b"line\nbreak", "contains the control character(s) U+000A"),
        (b"x" * 41, "has 41 characters, more than the limit of 40"),
        (b" ", "is empty"),
    ],
)
def test_label_folders_that_cannot_be_labels_are_refused(name, words, tmp_path):
    data = dataset(tmp_path / "data", name)
    with pytest.raises(PacError) as info:
        load_dataset(data, PROFILES["default"])
    assert f"label folder name {words}; rename the folder" in str(info.value)


def test_labels_at_the_limits_are_accepted(tmp_path):
    name = "é" * LIMITS.label_max_chars  # characters, not bytes
    data = dataset(tmp_path / "data", name.encode())
    assert name in load_dataset(data, PROFILES["default"]).labels


def test_too_many_label_folders_are_refused_before_any_clip_is_read(tmp_path):
    root = tmp_path / "data"
    folders = [root / f"l{i}" for i in range(LIMITS.max_labels + 1)]
    with pytest.raises(PacError, match=f"1,001 label folders, more than the limit of {LIMITS.max_labels:,d}"):
        check_label_folders(root, folders, training=True)


def test_evaluation_data_with_a_folder_that_is_not_utf8_is_refused_by_name(tmp_path):
    data = dataset(tmp_path / "data", b"\xff")
    with pytest.raises(PacError, match=r"\\xff: label folder name is not valid UTF-8 text"):
        load_dataset(data, PROFILES["default"], labels=("one", "seven"), min_clips=0)
