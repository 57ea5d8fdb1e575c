"""pac.studio.trainqueue: one training run at a time across a classroom, first come first served, each
waiting run told its place, a cancelled run taken out (and never run, even when its turn comes as it is
cancelled).  The jobs are plain objects with the fields the queue uses; the queue is the real one."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from pac.studio.trainqueue import TrainingQueue


def new_job():
    return SimpleNamespace(cancel=threading.Event(), queued=False, position=0, stage="")


def until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_run_cancelled_before_its_turn_never_runs():
    """Cancel pressed while the run waits, at the moment the run ahead finishes: the queue used to give it
    the turn without looking (it then held the class's one slot until training noticed)."""
    queue = TrainingQueue()
    job = new_job()
    job.cancel.set()
    with queue.turn(job) as ok:
        assert ok is False
    assert queue.length == 0 and not job.queued and job.position == 0
    after = new_job()
    with queue.turn(after) as ok:  # the slot is free
        assert ok is True


def test_first_come_first_served_and_cancel_in_the_queue():
    queue = TrainingQueue()
    first, second, third = new_job(), new_job(), new_job()
    release, order = threading.Event(), []

    def run(job, name):
        with queue.turn(job) as ok:
            order.append((name, ok))
            if ok and job is first:
                release.wait(10)

    threads = [threading.Thread(target=run, args=(first, "first"))]
    threads[0].start()
    until(lambda: order == [("first", True)])
    for job, name, place in ((second, "second", 1), (third, "third", 2)):
        threads.append(threading.Thread(target=run, args=(job, name)))
        threads[-1].start()
        until(lambda job=job, place=place: job.position == place)
    assert second.queued and "number 1 in the queue" in second.stage and queue.length == 2
    second.cancel.set()
    until(lambda: third.position == 1)
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == [("first", True), ("second", False), ("third", True)]
    assert queue.length == 0
