"""The wheel's build hook: puts what ``pac build`` and ``pac verify`` read into the package.

pyproject.toml configures the package (setuptools.build_meta); this file only adds one step to
setuptools' ``build_py``, so that ``pip wheel .`` (or ``pip install .``) from a checkout makes a
self-contained ``pac-audio`` wheel.  After the Python files, :class:`BuildPyWithBundle` writes
``pac/_bundle/`` into the build folder with :func:`pac.resources.write_bundle`: ``bridge.json``, the
page template, pac's runtime JS, the pinned TensorFlow.js files (from ``extension/node_modules``:
needs ``npm ci``) and the App Inventor component's prebuilt outputs (``extension/target/aix``:
needs the Maven build, which is run offline first when a Java source is newer than its outputs).
``./setup.sh`` does both.  Users of the wheel never need Maven, npm or the checkout;
:mod:`pac.resources` finds the bundle at run time.

* The bundle is never written into the source tree (``compiler/pac/_bundle/`` is in .gitignore
  anyway); an editable install (``pip install -e .``, what setup.sh does) skips it, because a
  checkout reads ``extension/`` directly.
* The build folder is a fresh temporary folder per run, not ``build/`` (which is build.py's): no
  file of an earlier build can slip into the wheel.
* Files are copied byte for byte, so an installed pac builds the same ``.aix`` bytes as the checkout
  (tests/test_wheel.py checks it).

Build a wheel:  ``.venv/bin/python -m pip wheel --no-deps . -w dist/``
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "compiler"))

from pac import resources  # noqa: E402  (the source tree's pac; standard library only)
from pac.errors import PacError  # noqa: E402


class BuildPyWithBundle(build_py):
    """setuptools' build_py, then ``pac/_bundle/`` (unless the install is editable)."""

    def bundle_dir(self) -> Path:
        return Path(self.build_lib) / "pac" / resources.BUNDLE_DIR.name

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not resources.CHECKOUT_EXTENSION_DIR.is_dir():
            raise SystemExit(
                f"error: the pac-audio wheel is built from a checkout of pac's repository "
                f"(pip wheel .): {resources.CHECKOUT_EXTENSION_DIR} is missing"
            )
        try:
            manifest = resources.write_bundle(self.bundle_dir(), echo=lambda m: print(m, file=sys.stderr))
        except PacError as exc:
            raise SystemExit(f"error: cannot bundle the page and component files into the wheel: {exc}") from None
        print(
            f"pac: bundled {len(manifest['files'])} files (TensorFlow.js "
            f"{', '.join(f'{k} {v}' for k, v in manifest['tfjs'].items())}) into {self.bundle_dir()}",
            file=sys.stderr,
        )

    def get_outputs(self, include_bytecode=1):
        outputs = list(super().get_outputs(include_bytecode))
        if self.bundle_dir().is_dir() and not getattr(self, "editable_mode", False):
            outputs += [str(p) for p in sorted(self.bundle_dir().rglob("*")) if p.is_file()]
        return outputs


def _fresh_build_base() -> str:
    folder = tempfile.mkdtemp(prefix="pac-wheel-build-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


setup(cmdclass={"build_py": BuildPyWithBundle}, options={"build": {"build_base": _fresh_build_base()}})
