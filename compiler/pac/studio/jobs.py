"""Background work of the studio, each job in a thread of its own with state the page polls: training
(:func:`pac.train.fit`) and exports (:func:`pac.studio.exports.write_export`: the library functions
``pac build`` and ``pac export-mdl`` call, their :class:`~pac.errors.PacError` shown to the user).

Training follows ``pac train``: the default model is the linear head on feature blocks (the speech
embedding and MobileNet, weighed by cross-validation over the clips), PAC's conv head is the
``head="conv"`` option; only the networks the chosen model needs are loaded
(:func:`pac.train.needed_networks`, through the shared :class:`pac.studio.networks.Networks`).
Trainings wait in a :class:`pac.studio.trainqueue.TrainingQueue`, one at a time on this computer
(a classroom's students share one queue).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import PacError
from .exports import EXPORTS, export_problem, export_support, write_export
from .layout import EXPORTS as EXPORTS_DIR  # the folder; EXPORTS are the export kinds
from .layout import LABELS, StudioError
from .networks import TF_LOCK, Networks, log_error
from .store import BACKGROUND_LABEL, ProjectStore
from .trainform import HEAD_NAMES, NETWORK_NAMES, SMALL_LABEL_CLIPS, StudioTrainOptions, is_folder, linear_result
from .trainqueue import TrainingQueue


class Cancelled(Exception):  # noqa: N818 - a signal, not an error: the user asked to stop
    """Raised from the features or epoch callback to stop a training run the user cancelled."""


# -- jobs --------------------------------------------------------------------------------------------


@dataclass
class Job:
    """State of one background job, as the page sees it (:meth:`to_json`)."""

    kind: str
    id: str
    state: str = "running"  # running, done, failed, cancelled
    stage: str = "starting"
    error: str | None = None
    detail: str | None = None  # more lines for an error (e.g. a build log tail)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    epoch: int = 0
    epochs: int = 0
    history: dict = field(default_factory=lambda: {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []})
    head: str | None = None  # training: "linear" or "conv" (after the automatic choices)
    features_done: int = 0  # training: clips whose features are computed so far ...
    features_total: int = 0  # ... of this many (0 until known)
    result: dict | None = None  # training, linear head: linear_result() of the new model
    queued: bool = False  # training: waiting in the queue (state stays "running": the page polls)
    position: int = 0  # training: place in the queue while queued (1 = next)
    note: str | None = None  # training: how the clips were used (e.g. all clips, no validation)
    model_id: str | None = None
    options: dict | None = None
    file: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def finish(self, state: str, error: str | None = None, detail: str | None = None) -> None:
        self.state, self.error, self.detail, self.finished = state, error, detail, time.time()

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "error": self.error,
            "detail": self.detail,
            "started": self.started,
            "finished": self.finished,
            "elapsed": round((self.finished or time.time()) - self.started, 1),
            "epoch": self.epoch,
            "epochs": self.epochs,
            "history": self.history,
            "head": self.head,
            "features_done": self.features_done,
            "features_total": self.features_total,
            "result": self.result,
            "model_id": self.model_id,
            "options": self.options,
            "file": self.file,
            "queued": self.queued,
            "position": self.position,
            "note": self.note,
        }


def tidy(message: str, store: ProjectStore) -> str:
    """An error message with the project's own paths shortened to what the page shows."""
    for prefix in (str(store.root / LABELS) + os.sep, str(store.root) + os.sep):
        message = message.replace(prefix, "")
    return message


class Jobs:
    """A project's background jobs: one training run at a time (waiting in ``queue``, shared by a
    classroom), exports per model and kind.

    Parameters
    ----------
    store : ProjectStore
        The project.
    networks : Networks, optional
        The loaded networks (shared by a classroom's projects); a new one from ``base_dir`` and
        ``speech_dir`` when not given.
    queue : TrainingQueue, optional
        Where training runs wait for their turn (a new one when not given).
    """

    def __init__(
        self,
        store: ProjectStore,
        *,
        networks: Networks | None = None,
        queue: TrainingQueue | None = None,
        base_dir=None,
        speech_dir=None,
    ):
        self.store = store
        self.networks = networks or Networks(base_dir=base_dir, speech_dir=speech_dir)
        self.queue = queue or TrainingQueue()
        self.lock = threading.Lock()
        self.training: Job | None = None
        self.exports: dict[tuple[str, str], Job] = {}
        #: Whether the page may name a folder of this computer for training's noise (not in a classroom:
        #: a student would have the teacher's computer read any folder, other students' clips included).
        self.noise_folders = True

    @property
    def base_dir(self):
        return self.networks.base_dir

    @property
    def speech_dir(self):
        return self.networks.speech_dir

    @property
    def base_status(self) -> dict:
        return self.networks.status

    def load_networks(self, names=("mobilenet", "speech"), progress=None) -> dict:
        """:meth:`Networks.load`."""
        return self.networks.load(names, progress=progress)

    def warm_up(self) -> threading.Thread:
        """:meth:`Networks.warm_up`."""
        return self.networks.warm_up()

    # -- training --------------------------------------------------------------------------------
    def start_training(self, data) -> Job:
        options = StudioTrainOptions.from_json(data)
        clips = self.store.all_clips()
        problems = self.store.training_problems(clips)
        if problems:
            raise StudioError("Not ready to train: " + "; ".join(problems), status=409)
        if options.noise == "label" and not clips.get(BACKGROUND_LABEL):
            raise StudioError(
                f"mixing in background noise from the project needs a label named {BACKGROUND_LABEL} with clips",
                status=409,
            )
        if options.noise == "folder" and not self.noise_folders:
            raise StudioError(
                "in a classroom the background noise cannot come from a folder (it would be one on the "
                f"teacher's computer): choose the room or made-up noise, the {BACKGROUND_LABEL} label or none",
                status=403,
            )
        if options.noise == "folder" and not is_folder(options.noise_folder):
            raise StudioError(f"{options.noise_folder}: no such folder on this computer")
        config = self.store.config
        if options.head == "linear" and config.method == "pac-compat":
            raise StudioError(
                f"the spectrogram {self.store.profile} (MIT's) only works with PAC's original head: "
                f'choose "{HEAD_NAMES["conv"]}" under Advanced, or another spectrogram',
                status=409,
            )
        if options.head == "linear":
            self._check_cross_validation(clips, options)
        chosen = options.for_clips(clips)
        note = None
        if chosen.validation_fraction == 0 and options.validation_fraction is None and options.head == "conv":
            note = (
                f"every clip trains (a label has fewer than {SMALL_LABEL_CLIPS} clips, too few to hold some "
                f"back for validation)"
            )
        elif options.head == "linear" and not options.validation_fraction:
            note = "every clip trains; cross-validation over the clips estimates the accuracy"
        options = chosen
        with self.lock:
            if self.training is not None and self.training.running:
                raise StudioError("a training run is already going on; wait for it or cancel it", status=409)
            job = Job(
                kind="train",
                id=f"train-{int(time.time() * 1000)}",
                epochs=options.epochs or 0,
                head=options.head,
                options=asdict(options),
                note=note,
            )
            self.training = job
        threading.Thread(target=self._train, args=(job, options), name="pac-studio-train", daemon=True).start()
        return job

    @staticmethod
    def _check_cross_validation(clips: dict, options: StudioTrainOptions) -> None:
        """The linear head cross-validates over the training clips: every label must keep 2 of them
        after the validation clips are set aside (as :func:`pac.train.split` sets them aside)."""
        fraction = options.validation_fraction or 0.0
        for label, infos in clips.items():
            n = sum(1 for info in infos if not info["problem"])
            held = min(n - 1, int(fraction * n + 0.5))
            if n - held < 2:
                raise StudioError(
                    f"with validation fraction {fraction:g}, label {label!r} keeps {n - held} training "
                    f"clip{'s' if n - held != 1 else ''}; cross-validation needs 2: lower the "
                    f"validation fraction (or leave it empty) or add clips",
                    status=409,
                )

    def cancel_training(self) -> Job | None:
        job = self.training
        if job is not None and job.running:
            job.cancel.set()
            if not job.queued:
                job.stage = "cancelling"
        return job

    def _train(self, job: Job, options: StudioTrainOptions) -> None:
        """Wait for the job's turn in the queue, then train (:meth:`_train_now`)."""
        with self.queue.turn(job) as ok:
            if not ok:
                job.stage = "cancelled"
                job.finish("cancelled")
                return
            job.stage = "starting"
            self._train_now(job, options)

    def _train_now(self, job: Job, options: StudioTrainOptions) -> None:
        from ..activations import ActivationCache, default_cache_dir
        from ..dataset import load_dataset
        from ..train import BACKGROUND_NOISE, fit, load_noise, needed_networks, resolved, save, training_notes

        store = self.store
        try:
            config = store.config
            train_options = options.train_options()
            job.head = resolved(train_options, config).head
            job.stage = "reading the clips"
            noise = None
            with store.lock:
                dataset = load_dataset(store.root / LABELS, config)
            if options.noise == "label":  # the label's clips that train, read with the rest
                noise = BACKGROUND_NOISE
            if options.noise == "folder":
                noise = load_noise(Path(options.noise_folder).expanduser())
            if job.cancel.is_set():
                raise Cancelled
            needed = needed_networks(train_options, config)
            job.stage = "loading " + " and ".join(NETWORK_NAMES[n] for n in needed)

            def on_download(name, done, total):
                job.stage = f"downloading {NETWORK_NAMES[name]} ({100 * done // max(1, total)}%)"

            networks = self.load_networks(needed, progress=on_download)
            job.features_total = len(dataset.clips)
            job.stage = (
                f"features: clip 0 of {len(dataset.clips)}"
                if job.head == "linear"
                else "computing spectrograms and MobileNet features"
            )

            def on_features(done, total):
                job.features_done, job.features_total = done, total
                job.stage = f"features: clip {done} of {total}"
                if job.cancel.is_set():
                    raise Cancelled
                if done == total:
                    job.stage = "cross-validation: choosing how to weigh the networks"

            def on_epoch(epoch, history):
                job.history = {k: list(getattr(history, k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
                job.epoch = epoch + 1
                job.stage = f"training: epoch {epoch + 1} of {job.epochs}"
                if job.cancel.is_set():
                    raise Cancelled

            result = fit(
                dataset,
                config=config,
                options=train_options,
                base=networks.get("mobilenet"),
                speech=networks.get("speech"),
                noise=noise,
                cache=ActivationCache(default_cache_dir()),
                on_epoch=on_epoch,
                on_features=on_features,
            )
            job.result = linear_result(result.report)
            notes = training_notes(config, result)
            if notes:
                job.note = "; ".join([job.note, *notes] if job.note else notes)
            if job.cancel.is_set():
                raise Cancelled
            job.stage = "saving the model"
            target = store.new_model_dir()
            with TF_LOCK:
                save(result, target)
            store.model_added()
            job.model_id = target.name
            job.stage = "done"
            job.finish("done")
        except Cancelled:
            job.stage = "cancelled"
            job.finish("cancelled")
        except PacError as exc:
            job.stage = "failed"
            job.finish("failed", tidy(str(exc), store))
        except Exception as exc:  # noqa: BLE001 - the page gets a message, the terminal the traceback
            log_error("training failed")
            job.stage = "failed"
            job.finish(
                "failed",
                f"training failed unexpectedly ({type(exc).__name__}: {exc}); "
                "the terminal running pac studio has the details",
            )

    # -- exports ---------------------------------------------------------------------------------
    def start_export(self, model_id: str, kind: str) -> Job:
        support = export_support(kind)
        folder = self.store.model_dir(model_id)
        problem = export_problem(kind, folder)
        if problem:
            raise StudioError(problem, status=409)
        key = (folder.name, kind)
        with self.lock:
            job = self.exports.get(key)
            if job is not None and job.running:
                return job
            target = self.store.exports_dir(folder.name) / f"{self.store.project_stem()}.{kind}"
            job = Job(kind=kind, id=f"{kind}-{folder.name}", model_id=folder.name, stage=support["stage"])
            self.exports[key] = job
        threading.Thread(
            target=self._export, args=(job, folder, target, support), name=f"pac-studio-{kind}", daemon=True
        ).start()
        return job

    def export_job(self, model_id: str, kind: str) -> Job | None:
        with self.lock:
            job = self.exports.get((model_id, kind))
        if job is None:
            folder = self.store.model_dir(model_id)
            out = self.store.root / EXPORTS_DIR / folder.name
            found = sorted(out.glob(f"*.{kind}")) if out.is_dir() else []
            if found:
                job = Job(
                    kind=kind, id=f"{kind}-{folder.name}", model_id=folder.name, stage="done", file=found[-1].name
                )
                job.finish("done")
        return job

    def _export(self, job: Job, folder: Path, target: Path, support: dict) -> None:
        """Write the export in this job's thread, as ``pac build`` / ``pac export-mdl`` would."""
        log: list[str] = []
        try:
            write_export(
                support["kind"], folder, target, base_dir=self.base_dir, speech_dir=self.speech_dir, echo=log.append
            )
        except PacError as exc:
            job.stage = "failed"
            job.finish(
                "failed",
                f"pac {support['command']} failed: {tidy(str(exc), self.store)}",
                detail="\n".join(log[-30:]) or None,
            )
            return
        except Exception as exc:  # noqa: BLE001 - the page gets a message, the terminal the traceback
            log_error(f"pac {support['command']} failed")
            job.stage = "failed"
            job.finish(
                "failed",
                f"pac {support['command']} failed unexpectedly ({type(exc).__name__}: {exc}); "
                "the terminal running pac studio has the details",
            )
            return
        job.file = target.name
        job.stage = "done"
        job.finish("done")


__all__ = [
    "Jobs",
    "Job",
    "tidy",
    "log_error",
    "TF_LOCK",
    "EXPORTS",
    "export_problem",
    "export_support",
    "write_export",
    "StudioTrainOptions",
    "linear_result",
]
