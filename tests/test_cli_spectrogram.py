"""`pac --help`, `pac --version` and `pac spectrogram`, run as the installed command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import DATA, fsdd
from pac import __version__
from pac.audio import read_wav
from pac.features import PROFILES
from pac.features.pipeline import clip_image


def pac(*args, cwd=None):
    exe = shutil.which("pac") or str(Path(sys.executable).with_name("pac"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_every_command():
    result = pac("--help")
    assert result.returncode == 0
    for command in ("spectrogram", "train", "predict", "evaluate"):
        assert command in result.stdout


def test_version():
    result = pac("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_spectrogram_writes_the_exact_model_image(tmp_path):
    out = tmp_path / "one.png"
    result = pac("spectrogram", fsdd(1, "george", 0), "-o", out)
    assert result.returncode == 0, result.stderr
    written = np.asarray(Image.open(out).convert("RGB"))
    expected = clip_image(read_wav(fsdd(1, "george", 0)), PROFILES["default"])
    assert np.array_equal(written, expected)


def test_spectrogram_default_output_name_and_profile_option(tmp_path):
    result = pac("spectrogram", fsdd(1, "george", 0), "--config", "paper", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = np.asarray(Image.open(tmp_path / "1_george_0.png").convert("RGB"))
    assert np.array_equal(written, clip_image(read_wav(fsdd(1, "george", 0)), PROFILES["paper"]))


def test_spectrogram_of_a_folder_is_a_labelled_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    result = pac("spectrogram", DATA / "speech_commands_v001" / "on", "-o", out)
    assert result.returncode == 0, result.stderr
    sheet = Image.open(out)
    n = len(list((DATA / "speech_commands_v001" / "on").glob("*.wav")))
    assert f"{n} clips" in result.stdout
    assert sheet.width > 3 * 224 and sheet.height > 3 * 224


BAD_INPUTS = {
    "empty.wav": (b"", "empty"),
    "song.wav": (b"ID3\x03\x00\x00\x00" + bytes(100), "MP3"),
    "rec.wav": (b"\x00\x00\x00\x18ftyp3gp4" + bytes(100), "3GP"),
    "page.wav": (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
    "cut.wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", "truncated"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_audio_gives_one_line_exit_2_and_writes_nothing(tmp_path, name):
    data, word = BAD_INPUTS[name]
    clip = tmp_path / name
    clip.write_bytes(data)
    out = tmp_path / "out.png"
    out.write_bytes(b"previous result")
    result = pac("spectrogram", clip, "-o", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(clip) in lines[0] and word in lines[0]
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _wav16(samples: np.ndarray, rate: int) -> bytes:
    import struct

    data = (samples * 32767).astype("<i2").tobytes()
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize(
    "samples, word",
    [
        (np.zeros(16000), "silent"),
        (0.5 * np.ones(400), "too short"),
        (np.zeros(0), "no audio samples"),
    ],
)
def test_unusable_clips_are_refused(tmp_path, samples, word):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(_wav16(samples, 16000))
    result = pac("spectrogram", clip, "-o", tmp_path / "x.png")
    assert result.returncode == 2 and word in result.stderr and str(clip) in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_missing_file_and_folder_without_clips(tmp_path):
    result = pac("spectrogram", tmp_path / "nope.wav")
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = pac("spectrogram", tmp_path)
    assert result.returncode == 2 and "no .wav files" in result.stderr


def test_a_folder_of_more_clips_than_one_sheet_shows_is_refused_before_any_is_read(tmp_path):
    """The sheet's pixels grow with the number of clips: past LIMITS.sheet_max_clips the folder is
    refused in one line, naming it, before a clip is decoded (these files are not even WAVs) and
    without touching the output."""
    from pac.limits import LIMITS

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(LIMITS.sheet_max_clips + 1):
        (folder / f"{i:04d}.wav").write_bytes(b"not audio")
    out = tmp_path / "sheet.png"
    out.write_bytes(b"previous result")
    result = pac("spectrogram", folder, "-o", out)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {folder}: {LIMITS.sheet_max_clips + 1:,d} clips are more than one contact sheet shows "
        f"({LIMITS.sheet_max_clips:,d}); give fewer clips or a smaller folder"
    ]
    assert out.read_bytes() == b"previous result"
