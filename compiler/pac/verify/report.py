"""The outcome of ``pac verify``: the :class:`Report` every check writes its failure lines into."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Step:
    """One named check of :meth:`Report.step`."""

    name: str


@dataclass
class Report:
    """The outcome of :func:`verify`."""

    path: str
    failures: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    passed: list = field(default_factory=list)
    package: str | None = None
    size: int | None = None
    entries: list = field(default_factory=list)
    labels: list | None = None
    accuracy: float | None = None
    max_prob_diff: float | None = None
    clips: int = 0
    results: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(" ".join(str(message).split()))

    def warn(self, message: str) -> None:
        self.warnings.append(" ".join(str(message).split()))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Record the check ``name`` as passed if the ``with`` block adds no failure.

        The block may change the yielded :class:`Step`'s ``name`` to say what it found.
        """
        step = Step(name)
        before = len(self.failures)
        yield step
        if len(self.failures) == before:
            self.passed.append(step.name)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "file": self.path,
            "failures": self.failures,
            "warnings": self.warnings,
            "passed": self.passed,
            "package": self.package,
            "size": self.size,
            "entries": [{"name": n, "size": s, "compressed": c} for n, s, c in self.entries],
            "labels": self.labels,
            "accuracy": self.accuracy,
            "max_prob_diff": self.max_prob_diff,
            "clips": self.clips,
            "results": self.results,
        }


def listing(names: list[str], shown: int = 8) -> str:
    """``a, b, c`` - the first ``shown`` names, then ``(+N more)``."""
    more = f" (+{len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
