#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine: system packages, the pinned Python virtualenv (.venv),
# and the extension's build dependencies.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES="chromium chromium-driver espeak-ng"
missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .

if [ -f extension/package-lock.json ]; then
  # TensorFlow.js for the page, and ESLint for tests/test_lint.py (a devDependency: --include=dev).
  (cd extension && npm ci --include=dev --no-audit --no-fund --silent)
fi
if [ -f extension/pom.xml ]; then
  # The Java side of the extension (extension/README-java.md): fetch every plugin and dependency,
  # then build it once, which also runs its unit tests (and fetches the test runner, which
  # go-offline misses) and stages extension/target/aix for `pac build`. Afterwards
  # `mvn -o package` works offline.
  (cd extension && mvn -q -B dependency:go-offline && mvn -q -B package)
fi
echo "setup: done. Activate with: source .venv/bin/activate"
