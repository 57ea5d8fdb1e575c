"""``pac studio`` under load: 50 clients at once uploading clips, renaming labels and deleting clips
while a training run goes on, then an audit of the project folder against every answer
(see ``bench/studio_load.py``, which runs the same test bigger)."""

from __future__ import annotations

import sys

from conftest import BASE_DIR, REPO, SPEECH_DIR, fsdd

sys.path.insert(0, str(REPO / "bench"))
from studio_load import run_load  # noqa: E402


def test_fifty_clients_and_a_training_run_lose_nothing(tmp_path):
    clips = [
        fsdd(digit, speaker, index).read_bytes()
        for digit in range(10)
        for speaker in ("george", "nicolas")
        for index in (18, 19)
    ]
    report = run_load(
        tmp_path / "project",
        clips,
        clients=50,
        rounds=4,
        train={"bases": "mobilenet"},
        base_dir=BASE_DIR,
        speech_dir=SPEECH_DIR,
    )
    print(
        f"{report.requests} requests in {report.seconds:.1f} s: {dict(report.statuses)}; "
        f"{report.clips} clips at the end; training {report.training and report.training['state']}"
    )
    assert report.problems == []
    assert report.statuses[201] >= 100  # most uploads landed: the load was real
    assert report.training["state"] == "done"
