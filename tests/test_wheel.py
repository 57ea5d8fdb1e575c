"""The wheel: ``pip wheel .`` makes a self-contained pac-audio that trains, builds and verifies an .aix
outside the checkout, with no Maven and no npm, and builds the very bytes the checkout builds.

What a newcomer does, end to end (about 1.5 minutes here, most of it pip installing TensorFlow):
``pip wheel --no-deps .`` -> a fresh virtualenv in a temporary folder outside the checkout ->
``pip install WHEEL`` with its dependencies (pinned to requirements.lock, the versions the checkout
runs, so the comparison with the checkout's ``pac build`` is of the same code and libraries) -> from
a temporary working folder (the checkout is never on sys.path): ``pac train`` on 3 labels x 5 FSDD
clips, ``pac build``, ``pac verify --clips``.  The wheel's and the install's sizes and the install
time are printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, fsdd, make_label_dir
from pac import __version__, resources
from pac.cli import main

pytestmark = pytest.mark.slow

DIST_INFO = f"pac_audio-{__version__}.dist-info/"
LABELS = {"one": 1, "seven": 7, "nine": 9}


def run(command, *, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    """Run ``command``; on failure, fail the test with its output."""
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) of everything under ``folder``."""
    total = count = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                total += path.stat().st_size
                count += 1
    return total, count


class Installed:
    """The wheel, and a fresh virtualenv with it installed, in a temporary folder outside the checkout."""

    def __init__(self, root: Path):
        self.root = root
        self.wheel: Path | None = None
        self.venv = root / "venv"
        self.bin = self.venv / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / ("python.exe" if os.name == "nt" else "python")
        self.pac = self.bin / ("pac.exe" if os.name == "nt" else "pac")
        self.work = root / "work"
        self.timings: dict[str, float] = {}
        self.verified: subprocess.CompletedProcess | None = None
        self.install_error: BaseException | None = None
        self.use_error: BaseException | None = None
        # The checkout must not leak in: no PYTHONPATH, a working folder of its own.
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        self.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def timed(self, name: str, command, **kwargs) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = run(command, **kwargs)
        self.timings[name] = time.monotonic() - started
        return done

    def site_packages(self) -> Path:
        out = run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=self.work,
            env=self.env,
        )
        return Path(out.stdout.strip())

    def build_and_install(self) -> None:
        """``pip wheel --no-deps`` of the checkout, a fresh virtualenv, ``pip install`` of the wheel."""
        self.work.mkdir()
        dist = self.root / "dist"
        self.timed(
            "wheel",
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", REPO, "-w", dist],
            cwd=self.work,
            env=self.env,
        )
        wheels = sorted(dist.glob("pac_audio-*.whl"))
        assert len(wheels) == 1, wheels
        self.wheel = wheels[0]
        self.timed("venv", [sys.executable, "-m", "venv", self.venv], cwd=self.work, env=self.env)
        self.timed(
            "install",
            [self.python, "-m", "pip", "install", "--quiet", self.wheel, "-c", REPO / "requirements.lock"],
            cwd=self.work,
            env=self.env,
            timeout=1800,
        )

    def train_build_verify(self) -> None:
        """From the working folder, with the virtualenv's pac: ``pac train`` (3 labels x 5 FSDD clips),
        ``pac build`` with only the virtualenv on PATH, ``pac verify --clips`` (15 other clips);
        ``verified`` is pac verify's run (its report is ``work/verify.json``)."""
        work = self.work
        train = make_label_dir(
            work / "train", {label: [fsdd(d, "george", i) for i in range(5)] for label, d in LABELS.items()}
        )
        clips = make_label_dir(
            work / "clips", {label: [fsdd(d, "george", i) for i in range(5, 10)] for label, d in LABELS.items()}
        )
        env = self.env  # PAC_BASE_DIR, PAC_SPEECH_DIR and PAC_CACHE_DIR point at ../shared (conftest)
        assert env["PAC_BASE_DIR"] and env["PAC_SPEECH_DIR"]
        self.timed("train", [self.pac, "train", train, "-o", work / "model", "--seed", "0"], cwd=work, env=env)
        # Nothing but the virtualenv on PATH: pac build must not need Maven, npm or any other program.
        bare = {**env, "PATH": str(self.bin)}
        self.timed("build", [self.pac, "build", work / "model", "-o", work / "wheel.aix"], cwd=work, env=bare)
        self.verified = self.timed(
            "verify",
            [self.pac, "verify", work / "wheel.aix", "--clips", clips, "--json", work / "verify.json"],
            cwd=work,
            env=env,
        )

    def prepare(self) -> None:
        """:meth:`build_and_install`, then :meth:`train_build_verify`; what either raises is kept for the
        tests: ``install_error`` fails every test that needs the install, ``use_error`` the one of train,
        build and verify."""
        try:
            self.build_and_install()
        except BaseException as exc:
            self.install_error = exc
            return
        try:
            self.train_build_verify()
        except BaseException as exc:
            self.use_error = exc


_started: dict[str, threading.Thread] = {}


def start_early(tmp_path_factory, items) -> None:
    """Called by conftest as the run starts, with the selected tests of this file: when one of them needs
    :func:`installed`, :meth:`Installed.prepare` begins in a thread.  It takes about 2 minutes, most of
    it pip on one core, so it overlaps the other test modules instead of adding to the run's time."""
    if "thread" not in _started and any("installed" in item.fixturenames for item in items):
        inst = Installed(wheel_root(tmp_path_factory))
        _started["thread"] = threading.Thread(target=inst.prepare, name="pac-wheel-install", daemon=True)
        _started["installed"] = inst
        _started["thread"].start()


def wheel_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    assert REPO not in root.parents and root != REPO, "the virtualenv must be outside the checkout"
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if "thread" in _started:
        _started["thread"].join()
        inst = _started["installed"]
    else:  # not started early (a run without tests/conftest.py's fixtures)
        inst = Installed(wheel_root(tmp_path_factory))
        inst.prepare()
    _started.clear()
    try:
        if inst.install_error is not None:
            raise inst.install_error
        yield inst
    finally:
        remove_in_background(inst.root)


def remove_in_background(folder: Path) -> None:
    """Delete ``folder`` (the 2.5 GB virtualenv: 20-40 s of unlinking here, at the end of the run) in a
    process of its own that may outlive the test run, so the run does not wait for it."""
    _removing.append(
        subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


_removing: list[subprocess.Popen] = []  # kept, so that no "still running" warning is given for them


def test_bundle_builds_the_checkouts_aix(digits_model, tmp_path, monkeypatch):
    """In-process, no install: pac.resources' installed layout, written from the checkout, gives the
    same .aix bytes; an altered bundle file is reported by check_bundle."""
    from pac.aix import build_aix

    checkout = build_aix(digits_model, tmp_path / "checkout.aix")
    bundle = tmp_path / "_bundle"
    manifest = resources.write_bundle(bundle)
    assert resources.check_bundle(bundle) == []
    monkeypatch.setattr(resources, "current", lambda: resources.Resources.installed(bundle))
    monkeypatch.setattr(resources, "run_maven", lambda *a, **k: pytest.fail("an installed pac ran Maven"))
    installed = build_aix(digits_model, tmp_path / "installed.aix")
    assert installed.path.read_bytes() == checkout.path.read_bytes()
    assert set(manifest["files"]) == {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {
        resources.BUNDLE_MANIFEST
    }
    (bundle / "js" / "wav.js").write_text("changed")
    (bundle / "extra.txt").write_text("x")
    assert resources.check_bundle(bundle) == [
        "js/wav.js: sha256 differs from BUNDLE.json",
        "extra.txt: not listed in BUNDLE.json",
    ]


def test_incomplete_installs_and_checkouts_say_what_to_do(tmp_path):
    """A bundle file missing: reinstall.  A checkout without npm ci: run ./setup.sh (also when the wheel
    is being built)."""
    from pac.errors import PacError

    bundle = tmp_path / "_bundle"
    resources.write_bundle(bundle)
    (bundle / "component" / "classes.jar").unlink()
    (bundle / "tfjs" / "tfjs-backend-wasm.wasm").unlink()
    installed = resources.Resources.installed(bundle)
    with pytest.raises(PacError, match="classes.jar.*reinstall"):
        installed.component()
    with pytest.raises(PacError, match="reinstall"):
        installed.tfjs_files()
    extension = tmp_path / "extension"
    extension.mkdir()
    for name in (
        resources.BRIDGE,
        resources.NPM_PINS,
        f"{resources.TEMPLATES}/classifier.html",
        *(f"{resources.JS}/{s}" for s in resources.RUNTIME_SCRIPTS),
    ):
        (extension / name).parent.mkdir(parents=True, exist_ok=True)
        (extension / name).write_bytes((resources.CHECKOUT_EXTENSION_DIR / name).read_bytes())
    with pytest.raises(PacError, match=r"TensorFlow\.js is not installed.*setup\.sh"):
        resources.bundle_sources(extension)


def test_wheel_holds_the_package_and_its_bundle_only(installed):
    """Every entry is pac/ or its dist-info; the bundle is complete; no file names the checkout."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = [n for n in wheel.namelist() if not n.endswith("/")]
        contents = {n: wheel.read(n) for n in names}
    assert names and all(n.startswith(("pac/", DIST_INFO)) for n in names), sorted(
        n for n in names if not n.startswith(("pac/", DIST_INFO))
    )
    for fragment in ("extension/", "node_modules", "target/", "compiler/", "tests/", "__pycache__"):
        assert not [n for n in names if fragment in n], fragment
    checkout = str(REPO).encode()
    assert not [n for n, data in contents.items() if checkout in data], "a file of the wheel names the checkout"
    bundle = json.loads(contents["pac/_bundle/BUNDLE.json"])
    shipped = {n[len("pac/_bundle/") :]: data for n, data in contents.items() if n.startswith("pac/_bundle/")}
    assert set(shipped) - {"BUNDLE.json"} == set(bundle["files"])
    assert all(hashlib.sha256(shipped[rel]).hexdigest() == digest for rel, digest in bundle["files"].items())
    assert bundle["tfjs"] == resources.Resources.checkout().tfjs_pins()
    # What pac build and pac verify read: bridge.json, the template, the scripts, TF.js, the component.
    expected = {
        "bridge.json",
        "templates/classifier.html",
        *(f"js/{s}" for s in resources.RUNTIME_SCRIPTS),
        *resources.TFJS_FILES,
        *(f"component/{n}" for n in resources.COMPONENT_FILES.values()),
    }
    assert expected <= set(bundle["files"]), expected - set(bundle["files"])
    assert "component/aiwebres/pac.png" in bundle["files"]


def test_installed_pac_is_the_virtualenvs(installed):
    """``import pac`` resolves inside the virtualenv, to the installed layout, whose bundle is intact."""
    out = run(
        [
            installed.python,
            "-c",
            "import json, pac, pac.resources as r; c = r.current(); "
            "print(json.dumps({'file': pac.__file__, 'kind': c.kind, 'root': str(c.root), "
            "'problems': r.check_bundle()}))",
        ],
        cwd=installed.work,
        env=installed.env,
    )
    found = json.loads(out.stdout)
    venv = installed.venv.resolve()
    assert venv in Path(found["file"]).resolve().parents, found
    assert found["kind"] == "installed" and venv in Path(found["root"]).resolve().parents, found
    assert found["problems"] == []


def test_installed_studio_serves_its_page_and_the_listening_code(installed):
    """The installed studio serves its page, its scripts and, from the bundle, the extension's listen.js
    (the live test's windowing), byte for byte the checkout's."""
    script = (
        "import hashlib, json, sys, tempfile, urllib.request\n"
        "from pac.studio.server import Studio\n"
        "with tempfile.TemporaryDirectory() as folder, Studio(folder + '/p', port=0, warm=False) as studio:\n"
        "    found = {}\n"
        "    for path in sys.argv[1:]:\n"
        "        with urllib.request.urlopen(studio.url + path) as answer:\n"
        "            found[path] = hashlib.sha256(answer.read()).hexdigest()\n"
        "print(json.dumps(found))\n"
    )
    paths = ["runtime/listen.js", "static/live.js", "static/liveview.js", ""]
    out = run([installed.python, "-c", script, *paths], cwd=installed.work, env=installed.env)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    static = REPO / "compiler" / "pac" / "studio" / "static"
    assert found == {
        "runtime/listen.js": sha(REPO / "extension" / "js" / "listen.js"),
        "static/live.js": sha(static / "live.js"),
        "static/liveview.js": sha(static / "liveview.js"),
        "": sha(static / "index.html"),
    }


def test_train_build_verify_outside_the_checkout(installed, tmp_path, capsys):
    """pac train -> pac build (PATH without Maven or npm) -> pac verify --clips, in the virtualenv;
    the .aix is byte-identical to the checkout's ``pac build`` of the same model."""
    if installed.use_error is not None:
        raise installed.use_error
    work = installed.work
    done = installed.verified
    report = json.loads((work / "verify.json").read_text(encoding="utf-8"))
    assert report["ok"] and report["clips"] == 15, done.stdout
    assert report["labels"] == sorted(LABELS)

    checkout_aix = tmp_path / "checkout.aix"
    assert main(["build", str(work / "model"), "-o", str(checkout_aix)]) == 0
    assert (work / "wheel.aix").read_bytes() == checkout_aix.read_bytes(), (
        "the wheel's pac build differs from the checkout's (rebuild after changing extension/?)"
    )

    wheel_bytes = installed.wheel.stat().st_size
    with zipfile.ZipFile(installed.wheel) as wheel:
        wheel_files = len([n for n in wheel.namelist() if not n.endswith("/")])
    site_bytes, site_files = folder_size(installed.site_packages())
    venv_bytes, _ = folder_size(installed.venv)
    t = installed.timings
    with capsys.disabled():
        print(
            f"\n[wheel] {installed.wheel.name}: {wheel_bytes / 1e6:.2f} MB, {wheel_files} files "
            f"(built in {t['wheel']:.0f} s)"
        )
        print(
            f"[wheel] fresh venv: created in {t['venv']:.0f} s, pip install of the wheel and its dependencies "
            f"{t['install']:.0f} s; site-packages {site_bytes / 1e9:.2f} GB in {site_files} files, "
            f"venv {venv_bytes / 1e9:.2f} GB"
        )
        print(
            f"[wheel] pac train {t['train']:.0f} s, pac build {t['build']:.1f} s, pac verify --clips "
            f"{t['verify']:.0f} s; accuracy {report['accuracy']:.3f}, .aix {report['size']:,d} bytes, "
            f"identical to the checkout's"
        )
