"""TensorFlow is quiet without process-wide file descriptor tricks (pac.libs): ``pac predict`` prints
no TensorFlow chatter, and descriptor 2 is only ever redirected for the import in a lone main thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import REPO, fsdd
from pac.libs import alone_in_main_thread

LONE_IMPORT = """
import os, sys, threading
from pac import libs
seen = []
real = libs.stderr_to_null
def spy():
    seen.append(threading.current_thread().name)
    return real()
libs.stderr_to_null = spy
if sys.argv[1] == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
libs.tensorflow()
libs.tensorflow()
libs.tf_keras()
print(seen)
"""


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO / "compiler")},
    )


def test_only_a_lone_main_thread_redirects_and_only_for_the_import():
    # two separate processes, each importing TensorFlow (about 7 s of one core): run side by side
    with ThreadPoolExecutor(2) as pool:
        alone, with_thread = pool.map(lambda how: run_python(LONE_IMPORT, how), ("alone", "thread"))
    assert alone.returncode == 0 and alone.stdout.strip() == "['MainThread']", alone.stderr
    assert alone.stderr == ""
    assert with_thread.returncode == 0 and with_thread.stdout.strip() == "[]", with_thread.stderr


def test_alone_in_main_thread():
    assert alone_in_main_thread() is (threading.active_count() == 1)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(alone_in_main_thread()))
    thread.start()
    thread.join()
    assert answers == [False]


def test_pac_predict_prints_no_tensorflow_chatter(digits_model):
    done = subprocess.run(
        [sys.executable, "-m", "pac.cli", "predict", str(digits_model), str(fsdd(1, "george", 12))],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO / "compiler")},
    )
    assert done.returncode == 0 and done.stdout.count("\t") == 1, done.stderr
    assert done.stderr == ""
