"""WAV discovery (pac.dataset): one hidden-file rule for ``pac predict``/``spectrogram`` arguments,
``pac verify --clips``, training folders and the studio's label folders."""

from __future__ import annotations

import pytest

from pac.dataset import find_wavs, is_hidden, wav_files
from pac.errors import PacError


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_wav_files_lists_visible_wavs_of_one_folder_sorted(tmp_path):
    for name in ("b.wav", "a.WAV", "c.wave", ".hidden.wav", "._a.wav", "notes.txt", "d.wav.bak"):
        touch(tmp_path / name)
    (tmp_path / "folder.wav").mkdir()
    touch(tmp_path / "sub" / "e.wav")
    assert [p.name for p in wav_files(tmp_path)] == ["a.WAV", "b.wav", "c.wave"]


def test_find_wavs_searches_folders_recursively_and_skips_hidden_names(tmp_path):
    for rel in ("x/b.wav", "x/a/c.wav", "x/.git/d.wav", "x/.hidden.wav", "x/a/.trash/e.wav", "x/f.txt", "x/g.Wave"):
        touch(tmp_path / rel)
    found = find_wavs([tmp_path / "x"])
    assert [p.relative_to(tmp_path / "x").as_posix() for p in found] == ["a/c.wav", "b.wav", "g.Wave"]


def test_find_wavs_takes_files_as_given_in_order(tmp_path):
    hidden = touch(tmp_path / ".h.wav")
    other = tmp_path / "missing.txt"
    touch(tmp_path / "d" / "z.wav")
    assert find_wavs([str(other), hidden, tmp_path / "d"]) == [other, hidden, tmp_path / "d" / "z.wav"]


def test_find_wavs_refuses_a_folder_without_wavs(tmp_path):
    touch(tmp_path / "d" / ".only-hidden.wav")
    with pytest.raises(PacError, match="folder holds no .wav files"):
        find_wavs([tmp_path / "d"])


def test_the_folder_above_a_search_may_be_hidden(tmp_path):
    """Only the names below the folder searched count: a clip under ~/.local/clips/ is found."""
    touch(tmp_path / ".local" / "clips" / "a.wav")
    assert [p.name for p in find_wavs([tmp_path / ".local" / "clips"])] == ["a.wav"]


@pytest.mark.parametrize(
    "name, hidden",
    [(".DS_Store", True), ("._x.wav", True), (".trash", True), ("x.wav", False), ("_background_noise_", False)],
)
def test_is_hidden(name, hidden):
    assert is_hidden(name) is hidden
