"""Every output path (``-o``, ``--json``, ``--plot``, model folders): written only when it is new or a
regular file (a folder for model folders); a FIFO, a device, a symbolic link, a folder where a file
goes or a path pac cannot create files in is refused with one line and exit code 2, before any work,
and left exactly as it was (issue 12)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fsdd
from pac.errors import PacError
from pac.fsutil import atomic_dir, atomic_path, check_output, write_bytes_atomic


def pac(*args, cwd=None):
    exe = shutil.which("pac") or str(Path(sys.executable).with_name("pac"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def one_line_error(result, target) -> str:
    """The single ``error:`` line of a refused command, which names ``target``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {target}: "), err
    return err


def state(path: Path):
    """What is at ``path`` (without following a link): kind, link target, file content."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISREG(info.st_mode):
        return ("file", path.read_bytes())
    if stat.S_ISDIR(info.st_mode):
        return ("folder", sorted(p.name for p in path.iterdir()))
    return ("special", stat.S_IFMT(info.st_mode), info.st_rdev)


# -- the commands and their output options --------------------------------------------------------
# The other arguments name things that do not exist: a refusal that names the output path proves the
# output was checked first, before any input was read.

FILE_OUTPUTS = {
    "spectrogram -o": lambda out: ["spectrogram", "no-clip.wav", "-o", out],
    "evaluate --json": lambda out: ["evaluate", "no-model", "no-data", "--json", out],
    "evaluate --plot": lambda out: ["evaluate", "no-model", "no-data", "--plot", out],
    "export-mdl -o": lambda out: ["export-mdl", "no-model", "-o", out],
    "build -o": lambda out: ["build", "no-model", "-o", out],
    "verify --json": lambda out: ["verify", "no.aix", "--json", out],
}
FOLDER_OUTPUTS = {
    "train -o": lambda out: ["train", "no-data", "-o", out],
    "import-mdl -o": lambda out: ["import-mdl", "no.mdl", "-o", out],
}


def make_fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "out")
    return tmp / "out"


def make_link_to_file(tmp: Path) -> Path:
    (tmp / "precious.txt").write_bytes(b"do not replace me")
    (tmp / "out").symlink_to(tmp / "precious.txt")
    return tmp / "out"


def make_link_to_folder(tmp: Path) -> Path:
    (tmp / "precious").mkdir()
    (tmp / "precious" / "a.txt").write_bytes(b"keep")
    (tmp / "out").symlink_to(tmp / "precious", target_is_directory=True)
    return tmp / "out"


def make_dangling_link(tmp: Path) -> Path:
    (tmp / "out").symlink_to(tmp / "nowhere")
    return tmp / "out"


def make_folder(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "a.txt").write_bytes(b"keep")
    return tmp / "out"


def make_file(tmp: Path) -> Path:
    (tmp / "out").write_bytes(b"a file, not a model folder")
    return tmp / "out"


def make_inside_a_file(tmp: Path) -> Path:
    (tmp / "somefile").write_bytes(b"x")
    return tmp / "somefile" / "out"


def make_too_long_for_a_temp_file(tmp: Path) -> Path:
    # A valid name (250 bytes) whose temporary sibling (".<name>.<random>.tmp") cannot exist: the
    # folder refuses the temporary file, as a read-only folder would (also for root, whom chmod
    # does not stop).
    return tmp / ("o" * 250)


BAD_FILE_TARGETS = {
    "fifo": make_fifo,
    "symlink to a file": make_link_to_file,
    "dangling symlink": make_dangling_link,
    "folder": make_folder,
    "inside a file": make_inside_a_file,
    "no temporary file possible": make_too_long_for_a_temp_file,
}
BAD_FOLDER_TARGETS = {
    "fifo": make_fifo,
    "symlink to a folder": make_link_to_folder,
    "regular file": make_file,
    "inside a file": make_inside_a_file,
    "no temporary folder possible": make_too_long_for_a_temp_file,
}
WORDS = {
    "fifo": "FIFO",
    "symlink to a file": "symbolic link",
    "dangling symlink": "symbolic link",
    "symlink to a folder": "symbolic link",
    "folder": "is a folder",
    "regular file": "not a folder",
    "inside a file": "is a file, not a folder",
    "no temporary file possible": "cannot create files",
    "no temporary folder possible": "cannot create files",
}


def refused_and_untouched(tmp_path, args, make, kind):
    target = make(tmp_path)
    before = {p.name: state(p) for p in tmp_path.iterdir()}
    err = one_line_error(pac(*args(target), cwd=tmp_path), target)
    assert WORDS[kind] in err, err
    assert {p.name: state(p) for p in tmp_path.iterdir()} == before  # nothing replaced, nothing left over


@pytest.mark.parametrize("kind", sorted(BAD_FILE_TARGETS))
@pytest.mark.parametrize("command", sorted(FILE_OUTPUTS))
def test_file_outputs_refuse_what_is_not_a_new_or_regular_file(command, kind, tmp_path):
    refused_and_untouched(tmp_path, FILE_OUTPUTS[command], BAD_FILE_TARGETS[kind], kind)


@pytest.mark.parametrize("kind", sorted(BAD_FOLDER_TARGETS))
@pytest.mark.parametrize("command", sorted(FOLDER_OUTPUTS))
def test_model_folder_outputs_refuse_what_is_not_a_new_path_or_a_folder(command, kind, tmp_path):
    refused_and_untouched(tmp_path, FOLDER_OUTPUTS[command], BAD_FOLDER_TARGETS[kind], kind)


@pytest.mark.parametrize("command", sorted(FILE_OUTPUTS) + sorted(FOLDER_OUTPUTS))
def test_dev_null_is_refused_and_left_alone(command):
    before = os.stat("/dev/null")
    args = {**FILE_OUTPUTS, **FOLDER_OUTPUTS}[command]("/dev/null")
    err = one_line_error(pac(*args), "/dev/null")
    assert "character device" in err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_the_default_spectrogram_output_is_checked_before_the_work(tmp_path):
    os.mkfifo(tmp_path / "1_george_0.png")  # where `pac spectrogram CLIP` writes by default
    err = one_line_error(pac("spectrogram", fsdd(1, "george", 0), cwd=tmp_path), "1_george_0.png")
    assert "FIFO" in err
    assert stat.S_ISFIFO(os.lstat(tmp_path / "1_george_0.png").st_mode)


def test_a_regular_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    out = tmp_path / "one.png"
    out.write_bytes(b"previous result")
    result = pac("spectrogram", fsdd(1, "george", 0), "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png"]  # no temporary or probe file


# -- the same rule where the file is written (the last line of defence) ------------------------------


def test_write_time_check_refuses_special_files_and_links(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    for target in (tmp_path / "fifo.json", tmp_path / "link.json", Path("/dev/null"), tmp_path):
        with pytest.raises(PacError, match=f"^{re.escape(str(target))}: "):
            write_bytes_atomic(target, b"{}")
    assert not (tmp_path / "real.json").exists()
    with pytest.raises(PacError, match="symbolic link"):
        with atomic_dir(tmp_path / "link.json"):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json", "link.json"]


def test_a_target_that_becomes_a_fifo_during_the_work_is_not_replaced(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(PacError, match="FIFO"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"{}")
            os.mkfifo(target)  # someone else put a FIFO there meanwhile
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the temporary file is gone


def test_no_temporary_file_possible_is_a_pac_error_not_an_oserror(tmp_path):
    target = make_too_long_for_a_temp_file(tmp_path)
    with pytest.raises(PacError, match="no temporary file can be created"):
        write_bytes_atomic(target, b"x")
    with pytest.raises(PacError, match="no folder can be created"):
        with atomic_dir(target):
            pass
    (tmp_path / "somefile").write_bytes(b"x")
    with pytest.raises(PacError, match="is a file, not a folder"):
        with atomic_dir(tmp_path / "somefile" / "model"):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile"]


def test_an_existing_folder_is_replaced_only_when_complete(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as staging:
            (staging / "new.txt").write_text("new")
            raise RuntimeError("the work failed")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    with atomic_dir(target) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_write_into_the_new_folder_is_one_pac_error_and_the_old_folder_stays(tmp_path):
    """An OSError while the new contents are written (here a real one: a file name too long for the file
    system; in use, a full disk) is one PacError line naming the folder, and the old folder is kept."""
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(PacError, match=r"model: cannot be written \(") as caught:
        with atomic_dir(target) as staging:
            (staging / "pac.json").write_text("{}")
            (staging / ("x" * 300)).write_text("too long a name")
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_check_output_accepts_new_paths_regular_files_and_folders(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    assert check_output(tmp_path / "new.json", probe=True) == tmp_path / "new.json"
    assert check_output(tmp_path / "file") == tmp_path / "file"
    assert check_output(tmp_path, folder=True) == tmp_path
    assert check_output(tmp_path / "a" / "b" / "model", folder=True, probe=True)  # parents are created later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
