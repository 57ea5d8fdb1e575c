"""Portable code paths: finding a browser on each OS, file locks, renames, permissions and file names.

This machine is Linux: the Windows and macOS paths are exercised here through their seams (the
platform and environment :func:`pac.browser.find_browser` is given, ``pac.fsutil.WINDOWS``, a
stand-in for ``msvcrt`` with Windows' per-handle byte-range lock semantics), not on those systems.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import fsdd
from pac import fsutil
from pac.browser import ENV_BROWSER, ENV_DRIVER, Browser, browser_candidates, find_browser
from pac.errors import PacError

REPO = Path(__file__).resolve().parents[1]


def executable(path: Path, target: str | None = None) -> Path:
    """``path`` as an executable: a symlink to ``target``, or an empty script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if target:
        path.symlink_to(target)
    else:
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return path


def real(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (./setup.sh installs Chromium and its driver)")
    return found


def fixed_places_here() -> list[str]:
    """The Linux browsers' absolute places that exist on this machine (they make 'nothing found' untestable)."""
    return [p for c in browser_candidates("linux", {}) for p in c.places if os.path.isabs(p) and os.path.exists(p)]


# -- finding a browser -----------------------------------------------------------------------------------


def test_a_browser_on_a_fake_path_is_found_with_its_driver(tmp_path):
    chromium, chromedriver = real("chromium"), real("chromedriver")
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "chromium-browser", chromium)  # Ubuntu's name
    executable(bin_dir / "chromedriver", chromedriver)
    found = find_browser(environ={"PATH": str(bin_dir)}, platform="linux")
    assert (found.kind, found.browser, found.driver) == (
        "chromium",
        str(bin_dir / "chromium-browser"),
        str(bin_dir / "chromedriver"),
    )
    # Chromium comes before Chrome and Edge; a browser without its driver is skipped for one with it.
    executable(bin_dir / "google-chrome")
    executable(bin_dir / "microsoft-edge")
    assert find_browser(environ={"PATH": str(bin_dir)}, platform="linux").kind == "chromium"
    (bin_dir / "chromium-browser").unlink()
    assert find_browser(environ={"PATH": str(bin_dir)}, platform="linux").browser == str(bin_dir / "google-chrome")
    (bin_dir / "chromedriver").unlink()
    executable(bin_dir / "msedgedriver")
    found = find_browser(environ={"PATH": str(bin_dir)}, platform="linux")
    assert (found.kind, found.browser, found.driver) == (
        "edge",
        str(bin_dir / "microsoft-edge"),
        str(bin_dir / "msedgedriver"),
    )


def test_the_environment_variables_come_first(tmp_path):
    chromium, chromedriver = real("chromium"), real("chromedriver")
    other = executable(tmp_path / "bin" / "chromium")  # on PATH, but the variables win
    executable(tmp_path / "bin" / "chromedriver")
    env = {"PATH": str(other.parent), ENV_BROWSER: chromium, ENV_DRIVER: chromedriver}
    found = find_browser(environ=env)
    assert (found.browser, found.driver) == (chromium, chromedriver)
    # only the browser named: its driver beside it, else on PATH
    alone = executable(tmp_path / "apps" / "chromium", chromium)
    found = find_browser(environ={"PATH": str(other.parent), ENV_BROWSER: str(alone)})
    assert (found.browser, found.driver) == (str(alone), str(tmp_path / "bin" / "chromedriver"))
    beside = executable(tmp_path / "apps" / "chromedriver", chromedriver)
    found = find_browser(environ={"PATH": str(other.parent), ENV_BROWSER: str(alone)})
    assert (found.browser, found.driver) == (str(alone), str(beside))
    with pytest.raises(PacError, match=f"{ENV_BROWSER}=/nowhere/chrome is not an executable file"):
        find_browser(environ={"PATH": str(other.parent), ENV_BROWSER: "/nowhere/chrome"})


def test_the_found_browser_really_starts(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "chromium", real("chromium"))
    executable(bin_dir / "chromedriver", real("chromedriver"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")  # selenium needs no more
    monkeypatch.delenv(ENV_BROWSER, raising=False)
    monkeypatch.delenv(ENV_DRIVER, raising=False)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<title>ok</title>")
    with Browser(tmp_path / "site", timeout=30) as b:
        assert b.chromium == str(bin_dir / "chromium") and b.chromedriver == str(bin_dir / "chromedriver")
        b.driver.get(b.url + "index.html")
        assert b.driver.title == "ok"


def test_windows_and_macos_install_places(tmp_path):
    """The per-OS places, taken on this machine from files at those paths under a fake root."""
    root = str(tmp_path / "x")  # 'x\\Microsoft\\Edge\\...' is one file name on Linux: enough to find it
    edge = Path(f"{root}\\Microsoft\\Edge\\Application\\msedge.exe")
    executable(edge)
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "msedgedriver")
    env = {"PATH": str(bin_dir), "PROGRAMFILES(X86)": root}
    found = find_browser(environ=env, platform="win32")
    assert (found.kind, found.browser, found.driver) == ("edge", str(edge), str(bin_dir / "msedgedriver"))
    chrome = Path(f"{root}\\Google\\Chrome\\Application\\chrome.exe")
    executable(chrome)
    with pytest.raises(PacError, match="no WebDriver for the browser found: Google Chrome at .*chromedriver"):
        find_browser(environ={"PATH": "", "PROGRAMFILES(X86)": root}, platform="win32")
    executable(bin_dir / "chromedriver")
    assert find_browser(environ=env, platform="win32").browser == str(chrome)  # Chrome before Edge
    # macOS: the .app bundles in ~/Applications (and /Applications)
    home = tmp_path / "home"
    app = executable(home / "Applications" / "Chromium.app" / "Contents" / "MacOS" / "Chromium")
    found = find_browser(environ={"PATH": str(bin_dir), "HOME": str(home)}, platform="darwin")
    assert (found.kind, found.browser, found.driver) == ("chromium", str(app), str(bin_dir / "chromedriver"))
    places = [p for c in browser_candidates("darwin", {"HOME": "/Users/a"}) for p in c.places]
    assert "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" in places
    assert "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge" in places
    places = [p for c in browser_candidates("win32", {"PROGRAMFILES": "C:\\Program Files"}) for p in c.places]
    assert "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" in places
    assert "C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe" in places


@pytest.mark.parametrize(
    "platform, advice",
    [("linux", "sudo apt install chromium chromium-driver"), ("darwin", "brew install"), ("win32", "msedgedriver.exe")],
)
def test_no_browser_is_one_clear_error(platform, advice):
    if fixed_places_here():
        pytest.skip(f"a browser is installed at a fixed place here: {fixed_places_here()}")
    with pytest.raises(PacError) as caught:
        find_browser(environ={"PATH": ""}, platform=platform)
    message = str(caught.value)
    assert message.startswith("no Chrome, Chromium or Edge found") and "\n" not in message
    assert ENV_BROWSER in message and ENV_DRIVER in message and advice in message
    assert "`pac verify --no-browser` checks everything else" in message


def pac(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pac.cli", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )


def test_pac_verify_without_a_browser_exits_2_and_no_browser_checks_the_rest(built_aix):
    if fixed_places_here():
        pytest.skip(f"a browser is installed at a fixed place here: {fixed_places_here()}")
    env = {k: v for k, v in os.environ.items() if k not in (ENV_BROWSER, ENV_DRIVER)}
    env.update(PATH="", PYTHONPATH=str(REPO / "compiler"))
    done = pac("verify", str(built_aix), env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: no Chrome, Chromium or Edge found") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    done = pac("verify", str(built_aix), "--no-browser", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed:" in done.stdout and "Traceback" not in done.stderr
    done = pac("verify", str(built_aix), env={**env, ENV_BROWSER: "/nowhere/chrome"})
    assert done.returncode == 2 and f"{ENV_BROWSER}=/nowhere/chrome is not an executable" in done.stderr


# -- locks -----------------------------------------------------------------------------------------------


class FakeMsvcrt:
    """``msvcrt.locking`` as Windows does it: byte ranges locked per open handle (so two handles of one
    process exclude each other), a locked range refused at once with OSError for LK_NBLCK."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self):
        self.held: dict[tuple, int] = {}
        self.calls: list[tuple] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino, os.lseek(fd, 0, os.SEEK_CUR), nbytes)
        self.calls.append((mode, key[2], nbytes))
        if mode == self.LK_UNLCK:
            if self.held.get(key) != fd:
                raise OSError(errno.EACCES, "not locked by this handle")
            del self.held[key]
        elif mode == self.LK_NBLCK:
            if key in self.held:
                raise OSError(errno.EACCES, "Permission denied")
            self.held[key] = fd
        else:
            raise AssertionError("pac only uses LK_NBLCK and LK_UNLCK")


@pytest.fixture
def fake_msvcrt(monkeypatch):
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake


@pytest.mark.parametrize("backend", ["fcntl", "msvcrt"])
def test_file_lock_excludes_a_second_holder(backend, tmp_path, request):
    fake = request.getfixturevalue("fake_msvcrt") if backend == "msvcrt" else None
    path = tmp_path / "x.lock"
    first, second = fsutil.FileLock(path, backend=backend), fsutil.FileLock(path, backend=backend)
    assert first.acquire(blocking=False) and first.locked
    assert second.acquire(blocking=False) is False and second.file is None
    first.release()
    first.release()  # twice is fine
    assert second.acquire(blocking=False)
    # a blocking acquire waits for the holder
    got = []
    waiter = threading.Thread(target=lambda: got.append(first.acquire(blocking=True)))
    first.poll = 0.01
    waiter.start()
    time.sleep(0.3)
    assert got == []
    second.release()
    waiter.join(10)
    assert got == [True]
    first.release()
    if fake is not None:  # the Windows lock sits far past the content and is undone on release
        assert {offset for _, offset, _ in fake.calls} == {fsutil.WINDOWS_LOCK_OFFSET}
        assert fake.held == {}


def test_fcntl_lock_excludes_another_process(tmp_path):
    path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pac.fsutil import FileLock; lock = FileLock(sys.argv[1]); "
                "assert lock.acquire(); print('held', flush=True); sys.stdin.read()"
            ),
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "compiler")},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert fsutil.FileLock(path).acquire(blocking=False) is False
    finally:
        holder.stdin.close()
        holder.wait(30)
    lock = fsutil.FileLock(path)
    assert lock.acquire(blocking=False)  # the OS dropped the lock when the holder ended
    lock.release()


def test_file_systems_that_cannot_lock_and_systems_without_locks_go_on(tmp_path, monkeypatch):
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    lock = fsutil.FileLock(tmp_path / "x.lock", backend="fcntl")
    assert lock.acquire(blocking=False) and not lock.locked
    lock.release()
    lock = fsutil.FileLock(tmp_path / "y.lock", backend="none")
    assert lock.acquire(blocking=False) and not lock.locked and lock.file is not None
    lock.release()


@pytest.mark.parametrize("backend", ["fcntl", "msvcrt"])
def test_one_studio_per_project_on_each_lock(backend, tmp_path, request):
    from pac.studio.server import ProjectLock

    if backend == "msvcrt":
        request.getfixturevalue("fake_msvcrt")
    first = ProjectLock(tmp_path, backend=backend)
    first.acquire("http://127.0.0.1:8765/")
    second = ProjectLock(tmp_path, backend=backend)
    with pytest.raises(PacError, match="another pac studio has this project open at http://127.0.0.1:8765/"):
        second.acquire("http://127.0.0.1:8766/")
    first.release()
    assert (tmp_path / ".studio.lock").read_text() == ""
    second.acquire("http://127.0.0.1:8766/")
    assert (tmp_path / ".studio.lock").read_text() == "http://127.0.0.1:8766/\n"
    second.release()


# -- renames, permissions, the null device ------------------------------------------------------------


def test_replace_retries_on_windows_only(tmp_path, monkeypatch):
    src, dst = tmp_path / "a", tmp_path / "b"
    real_replace, failures = os.replace, []

    def flaky(a, b):
        if len(failures) < 2:
            failures.append(a)
            raise PermissionError(errno.EACCES, "in use by another process")
        real_replace(a, b)

    monkeypatch.setattr(fsutil.os, "replace", flaky)
    monkeypatch.setattr(fsutil, "REPLACE_PAUSE", 0.001)
    src.write_text("x")
    with pytest.raises(PermissionError):  # Linux/macOS: a refused rename is final
        fsutil.replace(src, dst)
    monkeypatch.setattr(fsutil, "WINDOWS", True)
    failures.clear()
    fsutil.replace(src, dst)
    assert len(failures) == 2 and dst.read_text() == "x" and not src.exists()
    failures.clear()
    monkeypatch.setattr(fsutil, "REPLACE_ATTEMPTS", 2)
    (tmp_path / "c").write_text("y")
    with pytest.raises(PermissionError):
        fsutil.replace(tmp_path / "c", dst)


def test_atomic_writes_get_the_umask_mode_without_changing_it(tmp_path, monkeypatch):
    old = os.umask(0o027)
    try:
        fsutil.write_bytes_atomic(tmp_path / "f", b"x")
        assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640
        with fsutil.atomic_dir(tmp_path / "d") as staging:
            (staging / "x").write_bytes(b"")
        assert (tmp_path / "d").stat().st_mode & 0o777 == 0o750

        def no_proc(*args, **kwargs):
            raise OSError(errno.ENOENT, "no /proc here (macOS)")

        monkeypatch.setattr(fsutil, "open", no_proc, raising=False)
        assert fsutil._umask() == 0o027
        monkeypatch.setattr(fsutil, "WINDOWS", True)  # Windows: no chmod (tempfile's private mode stays)
        fsutil.write_bytes_atomic(tmp_path / "g", b"x")
        assert (tmp_path / "g").stat().st_mode & 0o777 == 0o600
        assert os.umask(0o027) == 0o027  # never changed
    finally:
        os.umask(old)


STDERR_TO_NULL_WITHOUT_FDS = """
import os, sys
out = open(sys.argv[1], "w")
os.close(1)
os.close(2)
from pac.libs import stderr_to_null
with stderr_to_null():
    out.write("ok")
out.close()
"""


def test_stderr_to_null_works_without_stdout_and_stderr(tmp_path):
    """As under pythonw on Windows: no fd 2 to point at the null device while TensorFlow is imported."""
    done = subprocess.run(
        [sys.executable, "-c", STDERR_TO_NULL_WITHOUT_FDS, str(tmp_path / "out")],
        env={**os.environ, "PYTHONPATH": str(REPO / "compiler")},
        timeout=60,
    )
    assert done.returncode == 0 and (tmp_path / "out").read_text() == "ok"


# -- file names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, problem",
    [
        ("a:b", "':'"),
        ("x<y", "'<'"),
        ("q?", "'?'"),
        ("tab\there", "U+0009"),
        ("back\\slash", "'\\\\'"),
        ("CON", "device name CON"),
        ("aux.json", "device name AUX"),
        ("Nul .txt", "device name NUL"),
        ("com\u00b9", "device name COM\u00b9"),
        ("LPT0", "device name LPT0"),
        ("conin$", "device name CONIN$"),
        ("name.", "ends with a dot"),
        ("name ", "ends with a dot or a space"),
        ("", "empty"),
        ("..", "folder"),
        ("\u00e9" * 128, "longer than 255 bytes"),
    ],
)
def test_names_windows_cannot_hold_are_named(name, problem):
    assert problem in (fsutil.portable_name_problem(name) or "")


@pytest.mark.parametrize(
    "name",
    [
        "model.json",
        "group1-shard1of1.bin",
        "rec-20250101-120000-0a1b2c3d-x.wav",
        "console",
        "auxiliary.json",
        "com10",
        "日本語",
        ".studio.lock",
    ],
)
def test_ordinary_names_pass(name):
    assert fsutil.portable_name_problem(name) is None


@pytest.mark.parametrize("label", ["COM\u00b9", "lpt0", "Con"])
def test_studio_refuses_every_windows_device_name_as_a_label(label):
    from pac.studio.store import StudioError, check_label_name

    with pytest.raises(StudioError, match="reserved device name on Windows"):
        check_label_name(label)


def test_every_name_pac_generates_is_valid_on_windows(digits_model, tmp_path):
    from pac.studio.store import ProjectStore

    store = ProjectStore(tmp_path / "project")
    store.add_label("one")
    for original in ("a:b<c>|d?.wav", "CON.wav", "name. .wav", "..\\..\\x.wav", "日本語.wav"):
        store.add_clip("one", fsdd(1, "george", 0).read_bytes(), original_name=original)
    names = [p.name for p in (*store.root.rglob("*"), *digits_model.rglob("*"))]
    assert len(names) > 10
    assert [(n, fsutil.portable_name_problem(n)) for n in names if fsutil.portable_name_problem(n)] == []


def test_verify_on_windows_refuses_assets_windows_cannot_unpack(tmp_path, monkeypatch):
    from pac.aix import AssetPaths
    from pac.verify import extract_page

    rule = AssetPaths.load()
    assets = {"classifier.html": b"<html>", "model__aux.json": b"{}"}
    extract_page(assets, rule, tmp_path / "linux")  # Linux, macOS, Android: a fine file name
    assert json.loads((tmp_path / "linux" / "model" / "aux.json").read_text()) == {}
    monkeypatch.setattr(fsutil, "WINDOWS", True)
    with pytest.raises(PacError, match="asset model__aux.json: 'aux.json' is the reserved device name AUX"):
        extract_page(assets, rule, tmp_path / "windows")
