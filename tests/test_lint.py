"""The linters, in the default test run: ruff (lint and format) on the Python code (settings in
pyproject.toml) and ESLint on the JavaScript (extension/eslint.config.mjs: the classifier page's
runtime scripts and the studio page).

Both are development dependencies that ``./setup.sh`` installs: ruff from requirements.lock into
``.venv``, ESLint from extension/package.json's devDependencies (``npm ci``).  A finding fails the test
with the linter's own report.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What ruff checks (the same as ``.venv/bin/ruff check`` with these arguments in the checkout).
PYTHON_PATHS = ("compiler", "tests", "bench", "build.py", "setup.py")
ESLINT = REPO / "extension" / "node_modules" / "eslint" / "bin" / "eslint.js"
ESLINT_CONFIG = "extension/eslint.config.mjs"
#: What ESLint checks (``npm run lint`` in extension/ runs the same).
JS_PATHS = ("extension/js", "compiler/pac/studio/static")


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_ruff():
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed in this environment; run ./setup.sh (requirements.lock pins it)")
    done = run([sys.executable, "-m", "ruff", "check", "--no-cache", *PYTHON_PATHS])
    assert done.returncode == 0, f"ruff check found problems:\n{done.stdout}{done.stderr}"


def test_ruff_format():
    """The Python code is as ``ruff format`` writes it (settings in pyproject.toml); run it to fix."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed in this environment; run ./setup.sh (requirements.lock pins it)")
    done = run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *PYTHON_PATHS])
    assert done.returncode == 0, f"ruff format would change these files:\n{done.stdout}{done.stderr}"


def test_eslint():
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed; ./setup.sh's npm ci needs it")
    if not ESLINT.is_file():
        pytest.fail(f"ESLint is not installed ({ESLINT.relative_to(REPO)}); run ./setup.sh (npm ci in extension/)")
    done = run([node, str(ESLINT), "--config", ESLINT_CONFIG, "--max-warnings", "0", *JS_PATHS])
    assert done.returncode == 0, f"ESLint found problems:\n{done.stdout}{done.stderr}"
