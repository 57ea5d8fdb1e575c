"""One training run at a time on this computer: a classroom's students (2 cores shared by a class)
wait in a first-come queue, and each waiting job shows its place in it."""

from __future__ import annotations

import threading


class TrainingQueue:
    """A first-come queue of training jobs, one running at a time.

    A job waits in :meth:`turn` (a context manager) until it is first and nothing else runs; while it
    waits its ``position`` (1 = next) and ``stage`` say where it stands, and a set ``cancel`` event
    takes it out of the queue.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._waiting: list = []
        self._running = None

    def _update(self) -> None:
        for i, job in enumerate(self._waiting):
            job.position = i + 1
            job.stage = (
                f"waiting for its turn: number {i + 1} in the queue (one model trains at a time on this computer)"
            )

    @property
    def length(self) -> int:
        """How many jobs wait (not counting the one training)."""
        with self._condition:
            return len(self._waiting)

    def turn(self, job) -> _Turn:
        """``with queue.turn(job) as ok:`` waits for the job's turn; ``ok`` is False when it was cancelled
        while waiting (its ``cancel`` event), and then the job never ran."""
        return _Turn(self, job)

    def _enter(self, job) -> bool:
        with self._condition:
            self._waiting.append(job)
            job.queued = True
            self._update()
            while True:
                if job.cancel.is_set():  # also when its turn came at the moment it was cancelled
                    self._waiting.remove(job)
                    job.queued, job.position = False, 0
                    self._update()
                    self._condition.notify_all()
                    return False
                if self._running is None and self._waiting[0] is job:
                    break
                self._condition.wait(0.2)
            self._waiting.pop(0)
            self._running = job
            job.queued, job.position = False, 0
            self._update()
            return True

    def _leave(self, job) -> None:
        with self._condition:
            if self._running is job:
                self._running = None
            self._update()
            self._condition.notify_all()


class _Turn:
    def __init__(self, queue: TrainingQueue, job):
        self.queue, self.job, self.entered = queue, job, False

    def __enter__(self) -> bool:
        self.entered = self.queue._enter(self.job)
        return self.entered

    def __exit__(self, *exc) -> None:
        if self.entered:
            self.queue._leave(self.job)


__all__ = ["TrainingQueue"]
