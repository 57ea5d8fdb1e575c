"""Load test of ``pac studio``: many clients at once uploading, renaming, deleting, plus a training run.

A real :class:`pac.studio.server.Studio` on a fresh project folder gets ``--clients`` threads that all
start at the same moment (a barrier) and each make ``--rounds`` rounds of what a class of browser tabs
does: poll the project, upload a clip, delete one of their own earlier clips, and (one client in five)
rename the label it owns.  Meanwhile one training run is started.  At the end the project on disk must
be exactly what the successful answers imply:

* every clip answered 201 is in its label's folder (under the label's final name), byte for byte, and
  no clip answered 200 to a DELETE is anywhere; no other clip, no temporary or hidden file;
* every answer is a 2xx or a 4xx (404/409 are expected: a client may name a label another just
  renamed), none a 5xx, and no connection is dropped;
* the training run ends "done" with one complete model folder.

Every label always keeps at least two clips nobody deletes, so the training run, whenever it reads the
clips, finds a project it can train on.  ``tests/test_studio_load.py`` runs this with 50 clients; run it
bigger here::

    .venv/bin/python bench/studio_load.py --clients 200 --rounds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "compiler"))

STABLE = ("alpha", "beta")  #: labels that are never renamed (uploads and deletes only)


@dataclass
class LoadReport:
    """What a load run did and found.

    Attributes
    ----------
    requests : int
        HTTP requests made.
    statuses : Counter
        Answers by status (``-1``: the connection was dropped or timed out).
    problems : list of str
        Every broken promise (a 5xx, a dropped connection, a lost, extra or changed file, a failed
        training run); empty when the studio held.
    seconds : float
        Wall time of the concurrent part and the training run.
    clips : int
        Clips in the project at the end.
    training : dict or None
        The training job's last state.
    """

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    seconds: float = 0.0
    clips: int = 0
    training: dict | None = None


class Ledger:
    """The answers of every client, and what they imply about the project (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.clips: dict[str, tuple[str, bytes]] = {}  # clip id -> (label identity, bytes)
        self.deleted: set[str] = set()
        self.names: dict[str, str] = {}  # label identity -> current name

    def call(
        self, port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, object]:
        """One request on a fresh connection; ``(-1, error)`` when the connection fails."""
        headers = dict(headers or {})
        if method != "GET":
            headers["X-Pac-Studio"] = "1"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
            value = json.loads(data) if response.getheader("Content-Type", "").startswith("application/json") else data
        except (OSError, http.client.HTTPException, ValueError) as exc:
            status, value = -1, f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with self.lock:
            self.statuses[status] += 1
            if status < 0 or status >= 500:
                self.failures.append(f"{method} {path}: {status} {value}")
        return status, value

    def upload(self, port: int, identity: str, data: bytes, name: str) -> str | None:
        """Upload a clip to a label by its current name; the new clip's id if it was stored."""
        label = self.names[identity]
        status, info = self.call(
            port,
            "POST",
            f"/api/labels/{quote(label)}/clips",
            data,
            {"X-Clip-Source": "uploaded", "X-Clip-Name": quote(name)},
        )
        if status != 201:
            return None
        with self.lock:
            self.clips[info["id"]] = (identity, data)
        return info["id"]

    def delete(self, port: int, identity: str, clip: str) -> None:
        status, _ = self.call(port, "DELETE", f"/api/labels/{quote(self.names[identity])}/clips/{quote(clip)}")
        if status == 200:
            with self.lock:
                self.deleted.add(clip)

    def rename(self, port: int, identity: str, new: str) -> None:
        status, _ = self.call(
            port,
            "POST",
            f"/api/labels/{quote(self.names[identity])}/rename",
            json.dumps({"name": new}).encode(),
            {"Content-Type": "application/json"},
        )
        if status == 200:
            with self.lock:
                self.names[identity] = new


def client_rounds(
    ledger: Ledger, port: int, number: int, *, owners: int, rounds: int, clips: list[bytes], start: threading.Barrier
) -> None:
    """What one client does: poll, upload, delete one of its own clips, and rename its own label."""
    owned = f"r{number}" if number < owners else None
    targets = [*STABLE, *(f"r{k}" for k in range(owners))]
    mine: list[tuple[str, str]] = []
    start.wait()
    for r in range(rounds):
        ledger.call(port, "GET", "/api/project")
        identity = owned or targets[(number + r) % len(targets)]
        clip = ledger.upload(port, identity, clips[(number * rounds + r) % len(clips)], f"c{number}-{r}.wav")
        if clip:
            mine.append((identity, clip))
        if r % 2 == 1 and mine:
            ledger.delete(port, *mine.pop(0))
        if owned:
            ledger.rename(port, owned, f"r{number}-{r}")


def setup_project(ledger: Ledger, port: int, clips: list[bytes], owners: int) -> None:
    """The labels (two stable ones, one per renaming client), each with two clips nobody deletes."""
    for i, identity in enumerate([*STABLE, *(f"r{k}" for k in range(owners))]):
        ledger.names[identity] = identity
        status, answer = ledger.call(
            port, "POST", "/api/labels", json.dumps({"name": identity}).encode(), {"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"cannot create label {identity}: {status} {answer}")
        for j in range(2):
            if not ledger.upload(port, identity, clips[(2 * i + j) % len(clips)], f"setup-{j}.wav"):
                raise RuntimeError(f"cannot upload a setup clip to {identity}")


def wait_training(ledger: Ledger, port: int, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while True:
        status, job = ledger.call(port, "GET", "/api/train")
        if status != 200 or not job or job.get("state") != "running" or time.monotonic() > deadline:
            return job if status == 200 else None
        time.sleep(0.2)


def audit(root: Path, ledger: Ledger) -> list[str]:
    """Differences between the project on disk and what the answers imply (empty when none)."""
    problems = []
    labels = root / "labels"
    on_disk = {p.name for p in labels.iterdir()}
    expected_labels = set(ledger.names.values())
    if on_disk != expected_labels:
        problems.append(f"label folders {sorted(on_disk ^ expected_labels)} differ from the answers")
    kept = {clip: value for clip, value in ledger.clips.items() if clip not in ledger.deleted}
    found = {}
    for path in labels.rglob("*"):
        if path.is_file():
            found[path.name] = path
    for clip, (identity, data) in kept.items():
        path = found.pop(clip, None)
        if path is None:
            problems.append(f"clip {clip} of {identity} (answered 201, never deleted) is missing")
        elif path.parent.name != ledger.names[identity]:
            problems.append(f"clip {clip} of {identity} is in {path.parent.name}, not {ledger.names[identity]}")
        elif path.read_bytes() != data:
            problems.append(f"clip {clip} differs from what was uploaded")
    problems += [f"unexpected file {path.relative_to(root)}" for path in found.values()]
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".tmp") or (p.is_file() and ".trash" in p.parts)]
    problems += [f"leftover {p.relative_to(root)}" for p in leftovers]
    return problems


def audit_model(root: Path, job: dict | None) -> list[str]:
    if not job or job.get("state") != "done":
        return [f"the training run did not finish: {job}"]
    models = [p for p in (root / "models").iterdir()]
    if [p.name for p in models] != [job["model_id"]]:
        return [f"models/ holds {[p.name for p in models]}, expected only {job['model_id']}"]
    if not (models[0] / "pac.json").is_file():
        return [f"model {job['model_id']} has no pac.json"]
    return []


def run_load(
    project: Path,
    clips: list[bytes],
    *,
    clients: int = 50,
    rounds: int = 4,
    train: dict | None = None,
    base_dir=None,
    speech_dir=None,
    train_timeout: float = 600,
) -> LoadReport:
    """Run the load test on a new project folder.

    Parameters
    ----------
    project : Path
        A folder that does not exist yet (the project).
    clips : list of bytes
        Real WAV recordings to upload (a few dozen different ones).
    clients, rounds : int
        Concurrent clients, and the rounds each makes.
    train : dict, optional
        Training options to start meanwhile (``None``: no training run).
    base_dir, speech_dir : path, optional
        The networks' folders (see :class:`pac.studio.server.Studio`).
    train_timeout : float
        Seconds to wait for the training run after the clients are done.

    Returns
    -------
    LoadReport
    """
    from pac.studio.server import Studio

    ledger = Ledger()
    owners = max(1, clients // 5)
    report = LoadReport()
    with Studio(project, port=0, warm=False, base_dir=base_dir, speech_dir=speech_dir) as studio:
        port = studio.port
        setup_project(ledger, port, clips, owners)
        start = threading.Barrier(clients + 1)
        threads = [
            threading.Thread(
                target=client_rounds,
                args=(ledger, port, n),
                kwargs=dict(owners=owners, rounds=rounds, clips=clips, start=start),
            )
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        start.wait()
        if train is not None:
            status, job = ledger.call(
                port, "POST", "/api/train", json.dumps(train).encode(), {"Content-Type": "application/json"}
            )
            if status != 202:
                report.problems.append(f"the training run did not start: {status} {job}")
        for thread in threads:
            thread.join()
        if train is not None:
            report.training = wait_training(ledger, port, train_timeout)
            report.problems += audit_model(studio.store.root, report.training)
        report.seconds = time.perf_counter() - started
        report.problems += audit(studio.store.root, ledger)
        report.clips = sum(1 for _ in (studio.store.root / "labels").rglob("*.wav"))
    report.problems = ledger.failures + report.problems
    report.requests = sum(ledger.statuses.values())
    report.statuses = ledger.statuses
    return report


def shared_dir() -> Path:
    """``../shared`` beside the repository, or ``PAC_SHARED_DIR``."""
    return Path(os.environ.get("PAC_SHARED_DIR") or REPO.parent / "shared")


def shared_clips(count: int = 40) -> list[bytes]:
    """``count`` different Free Spoken Digit recordings from ``../shared/data`` (or ``PAC_SHARED_DIR``)."""
    folder = shared_dir() / "data" / "fsdd" / "recordings"
    paths = sorted(folder.glob("*.wav"))[:: max(1, len(list(folder.glob("*.wav"))) // count)][:count]
    if not paths:
        raise SystemExit(f"no recordings in {folder}")
    return [p.read_bytes() for p in paths]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-train", action="store_true", help="no training run meanwhile")
    parser.add_argument(
        "--base",
        default=shared_dir() / "models" / "mobilenet_v1_0.25_224",
        help="MobileNet folder (default: ../shared/models/mobilenet_v1_0.25_224)",
    )
    parser.add_argument(
        "--speech-base",
        default=shared_dir() / "models" / "speech_embedding",
        help="speech embedding folder (default: ../shared/models/speech_embedding)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pac-studio-load-") as tmp:
        report = run_load(
            Path(tmp) / "project",
            shared_clips(),
            clients=args.clients,
            rounds=args.rounds,
            train=None if args.no_train else {},
            base_dir=args.base,
            speech_dir=args.speech_base,
        )
    print(
        json.dumps(
            {
                "clients": args.clients,
                "rounds": args.rounds,
                "requests": report.requests,
                "statuses": {str(k): v for k, v in sorted(report.statuses.items())},
                "clips_at_end": report.clips,
                "seconds": round(report.seconds, 1),
                "training": (report.training or {}).get("state"),
                "problems": report.problems[:50],
            },
            indent=2,
        )
    )
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
