"""The shared conformance cases (tests/fixtures/conformance) against the Java component: runs
``extension/component/src/test/java/io/github/pacaudio/ConformanceTest.java`` (JUnit) by Maven, offline.

The component has two of the rules the cases cover: whether a sound file goes to the page as WAV
(wav.json's ``sent_as_wav``, ``SoundLoader.isWav``) and what a Model archive must hold (mdl.json's
``expect.java``, ``ModelArchive.read``); configs and manifests are the page's business.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import REPO

JAVA_TEST = "ConformanceTest"


@pytest.mark.slow
def test_java_conformance():
    """ConformanceTest.java (JUnit) on wav.json and mdl.json, by Maven offline, one Maven run at a
    time (the lock pac build takes); 20-30 s here."""
    from pac.fsutil import FileLock

    mvn = shutil.which("mvn")
    assert mvn, "Maven (mvn) is not on PATH: ./setup.sh installs it; the Java conformance cases need it"
    extension = REPO / "extension"
    report = extension / "component" / "target" / "surefire-reports" / f"TEST-io.github.pacaudio.{JAVA_TEST}.xml"
    (extension / "target").mkdir(parents=True, exist_ok=True)
    with FileLock(extension / "target" / ".pac-maven.lock"):
        report.unlink(missing_ok=True)
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-o",
                "-Dstyle.color=never",
                "test",
                "-pl",
                "component",
                "-am",
                f"-Dtest={JAVA_TEST}",
                "-Dsurefire.failIfNoSpecifiedTests=false",
            ],
            cwd=extension,
            capture_output=True,
            text=True,
            timeout=600,
        )
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
    assert done.returncode == 0, f"mvn test -Dtest={JAVA_TEST} failed:\n{tail}"
    summary = report.read_text(encoding="utf-8")[:600]
    assert 'tests="3"' in summary and 'failures="0"' in summary and 'errors="0"' in summary, summary
