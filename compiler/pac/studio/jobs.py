"""Background work of the studio, each job in a thread of its own with state the page polls: training
(:func:`pac.train.fit`) and exports (:func:`write_export`: the library functions ``pac build`` and
``pac export-mdl`` call, their :class:`~pac.errors.PacError` shown to the user).

:data:`TF_LOCK` makes the short TensorFlow work of the jobs and the server run one at a time:
loading (or downloading) a network, so each loads once, and building Keras models (saving a model,
loading a head for a classifier or a ``.mdl``), whose ``tf_keras`` state is process-wide and not
documented as thread-safe.  Training's long fit and ``.aix`` builds (no TensorFlow) do not take it.

Training follows ``pac train``: the default model is the linear head on feature blocks (the speech
embedding and MobileNet, weighed by cross-validation over the clips), PAC's conv head is the
``head="conv"`` option; only the networks the chosen model needs are loaded
(:func:`pac.train.needed_networks`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import train_options
from ..errors import PacError
from .store import BACKGROUND_LABEL, LABELS, ProjectStore, StudioError
from .store import EXPORTS as EXPORTS_DIR  # the folder; EXPORTS below are the export kinds

TF_LOCK = threading.RLock()


def log_error(what: str) -> None:
    """The traceback of an unexpected error, for the terminal running ``pac studio``."""
    sys.stderr.write(f"pac studio: {what}\n{traceback.format_exc()}")
    sys.stderr.flush()


def _is_folder(name: str) -> bool:
    """Whether ``name`` (``~`` expanded) is a folder; ``~someone`` of no such user is not."""
    try:
        return Path(name).expanduser().is_dir()
    except RuntimeError:  # expanduser: "Could not determine home directory"
        return False


class Cancelled(Exception):
    """Raised from the features or epoch callback to stop a training run the user cancelled."""


# -- training options --------------------------------------------------------------------------------

#: The background noise the form may choose: the declared words (``generated``, ``none``), the clips of
#: the ``_background_noise_`` label, or a folder on this computer.
NOISE_CHOICES = (*train_options.BY_NAME["generated_noise"].words, "label", "folder")


def _value(spec, data: dict):
    """The form's value of ``spec`` (its words for the option, :func:`pac.train_options.parse`), or its
    default when the form left it empty; a 400 naming the option as the form does."""
    try:
        value = train_options.parse(spec, data.get(spec.front_name), name=spec.label)
    except PacError as error:
        raise StudioError(str(error)) from None
    return spec.default if value is None else value


#: Words the page and its messages use for the model kinds (``pac train --head``) and networks.
HEAD_NAMES = {"linear": "Speech + sound features", "conv": "PAC's original head (paper)"}
NETWORK_NAMES = {"mobilenet": "MobileNet", "speech": "the speech embedding"}


@dataclass(frozen=True)
class StudioTrainOptions:
    """What the page's training form sends, checked by the options' declaration
    (:data:`pac.train_options.OPTIONS`, those the studio offers).

    ``head`` is ``pac train --head`` (``"linear"``, the default, or ``"conv"``); ``bases`` and ``l2``
    only matter for the linear head, and ``epochs``, ``learning_rate``, ``optimizer`` and
    ``batch_fraction`` only for the conv head: the other head's options are neither checked nor used
    (they are ``None``).  ``validation_fraction`` ``None`` is automatic: 0 for the linear head (every
    clip trains; cross-validation estimates the accuracy), 0.2 for the conv head.  ``noise`` is one of
    :data:`NOISE_CHOICES` (``off``, as the page once said, is ``none``).
    """

    max_shift: float
    seed: int
    head: str = "linear"
    bases: str | None = "speech+mobilenet"
    l2: float | None = None
    epochs: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    batch_fraction: float | None = None
    validation_fraction: float | None = None
    noise: str = "generated"
    noise_folder: str | None = None

    @classmethod
    def from_json(cls, data) -> "StudioTrainOptions":
        if not isinstance(data, dict):
            raise StudioError("training options must be a JSON object")
        head = _value(train_options.BY_NAME["head"], data)
        values = {}
        for spec in train_options.OPTIONS:
            if spec.studio and not spec.words and spec.name != "head":
                values[spec.name] = None if spec.head not in (None, head) else _value(spec, data)
        noise_spec = train_options.BY_NAME["generated_noise"]
        noise = data.get(noise_spec.front_name) or noise_spec.word(noise_spec.default)
        noise = noise_spec.aliases.get(noise.strip().lower(), noise.strip().lower())
        if noise not in NOISE_CHOICES:
            raise StudioError(f"{noise_spec.label} must be one of {', '.join(NOISE_CHOICES)}, "
                              f"not {data.get(noise_spec.front_name)!r}")
        folder = data.get("noise_folder")
        if noise == "folder":
            if not isinstance(folder, str) or not folder.strip():
                raise StudioError("give the folder of background-noise WAV files (a folder on this computer)")
            folder = folder.strip()
        else:
            folder = None
        return cls(head=head, noise=noise, noise_folder=folder, **values)

    def train_options(self):
        from ..train import TrainOptions, options_with

        return options_with(TrainOptions(), head=self.head, bases=self.bases, l2=self.l2, epochs=self.epochs,
                            learning_rate=self.learning_rate, optimizer=self.optimizer,
                            batch_fraction=self.batch_fraction, validation_fraction=self.validation_fraction,
                            max_shift=self.max_shift, seed=self.seed, generated_noise=self.noise == "generated")


def linear_result(report: dict) -> dict | None:
    """What the page shows of a linear head's training: the cross-validated accuracy and the blocks
    (networks) cross-validation chose, with their weights; ``None`` for a conv head."""
    cv = report.get("cross_validation")
    head = report.get("head")
    if not cv or not head:
        return None
    return {"accuracy": cv.get("accuracy"), "folds": cv.get("folds"),
            "clips": len(cv.get("clips") or []),
            "blocks": [{"name": b["name"], "weight": b["weight"]} for b in head.get("blocks", [])],
            "candidates": head.get("candidates", [])}


# -- jobs --------------------------------------------------------------------------------------------

@dataclass
class Job:
    """State of one background job, as the page sees it (:meth:`to_json`)."""

    kind: str
    id: str
    state: str = "running"          # running, done, failed, cancelled
    stage: str = "starting"
    error: str | None = None
    detail: str | None = None       # more lines for an error (e.g. a build log tail)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    epoch: int = 0
    epochs: int = 0
    history: dict = field(default_factory=lambda: {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []})
    head: str | None = None         # training: "linear" or "conv" (after the automatic choices)
    features_done: int = 0          # training: clips whose features are computed so far ...
    features_total: int = 0         # ... of this many (0 until known)
    result: dict | None = None      # training, linear head: linear_result() of the new model
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
        return {"kind": self.kind, "id": self.id, "state": self.state, "stage": self.stage, "error": self.error,
                "detail": self.detail, "started": self.started, "finished": self.finished,
                "elapsed": round((self.finished or time.time()) - self.started, 1),
                "epoch": self.epoch, "epochs": self.epochs, "history": self.history, "head": self.head,
                "features_done": self.features_done, "features_total": self.features_total, "result": self.result,
                "model_id": self.model_id, "options": self.options, "file": self.file}


def tidy(message: str, store: ProjectStore) -> str:
    """An error message with the project's own paths shortened to what the page shows."""
    for prefix in (str(store.root / LABELS) + os.sep, str(store.root) + os.sep):
        message = message.replace(prefix, "")
    return message


class Jobs:
    """The studio's background jobs: one training run at a time, exports per model and kind."""

    def __init__(self, store: ProjectStore, *, base_dir=None, speech_dir=None):
        self.store = store
        self.base_dir = base_dir
        self.speech_dir = speech_dir
        self.lock = threading.Lock()
        self.training: Job | None = None
        self.exports: dict[tuple[str, str], Job] = {}
        self.loaded: set[str] = set()
        self.base_status = {"state": "idle", "message": None, "networks": []}

    # -- the pretrained networks (MobileNet, the speech embedding) --------------------------------------
    def _status(self, state: str, message: str | None) -> None:
        self.base_status = {"state": state, "message": message, "networks": sorted(self.loaded)}

    def load_networks(self, names=("mobilenet", "speech"), progress=None) -> dict:
        """Import TensorFlow and load (maybe download once) the named networks, under the TF lock.

        ``names``: ``"mobilenet"`` (:func:`pac.base.load_base`, from ``base_dir``) and/or ``"speech"``
        (:func:`pac.speech_base.load_speech_embedding`, from ``speech_dir``); both resolve as in
        ``pac train``: the folder given, ``$PAC_BASE_DIR`` / ``$PAC_SPEECH_DIR``, the cache, a download.
        Returns ``{name: network}``.  ``progress(name, done, total)`` reports a download.
        """
        from ..libs import tensorflow, tf_keras

        networks = {}
        with TF_LOCK:
            try:
                if not self.loaded:
                    self._status("loading", "loading TensorFlow")
                tensorflow(), tf_keras()
                for name in names:
                    def report(done, total, name=name):
                        if progress:
                            progress(name, done, total)
                    if name not in self.loaded:
                        self._status("loading", f"loading {NETWORK_NAMES[name]}")
                    if name == "mobilenet":
                        from ..base import load_base

                        networks[name] = load_base(self.base_dir, progress=report)
                    else:
                        from ..speech_base import load_speech_embedding

                        networks[name] = load_speech_embedding(self.speech_dir, progress=report)
                    self.loaded.add(name)
            except PacError as exc:
                self._status("failed", str(exc))
                raise
            self._status("ready", None)
        return networks

    def warm_up(self) -> threading.Thread:
        """Load TensorFlow and the networks the default model needs in the background, so the first
        training starts quickly."""
        from ..features import PROFILES
        from ..train import TrainOptions, needed_networks

        def progress(name, done, total):
            what = "MobileNet" if name == "mobilenet" else "the speech embedding"
            self._status("loading", f"downloading {what} ({100 * done // max(1, total)}%)")

        def run():
            try:
                self.load_networks(needed_networks(TrainOptions(), PROFILES["default"]), progress=progress)
            except PacError:
                pass  # reported through base_status, and again when training starts
            except Exception:  # noqa: BLE001 - never kill the server over a warm-up
                self._status("failed", "TensorFlow or a network could not be loaded (see the terminal)")
                log_error("loading TensorFlow / the networks failed")

        thread = threading.Thread(target=run, name="pac-studio-warmup", daemon=True)
        thread.start()
        return thread

    # -- training --------------------------------------------------------------------------------
    def start_training(self, data) -> Job:
        options = StudioTrainOptions.from_json(data)
        clips = self.store.all_clips()
        problems = self.store.training_problems(clips)
        if problems:
            raise StudioError("Not ready to train: " + "; ".join(problems), status=409)
        if options.noise == "label" and not clips.get(BACKGROUND_LABEL):
            raise StudioError(f"mixing in background noise from the project needs a label named "
                              f"{BACKGROUND_LABEL} with recordings of room noise", status=409)
        if options.noise == "folder" and not _is_folder(options.noise_folder):
            raise StudioError(f"{options.noise_folder}: no such folder on this computer")
        config = self.store.config
        if options.head == "linear" and config.method == "pac-compat":
            raise StudioError(f"the spectrogram {self.store.profile} (MIT's) only works with PAC's original head: "
                              f"choose \"{HEAD_NAMES['conv']}\" under Advanced, or another spectrogram", status=409)
        if options.head == "linear":
            self._check_cross_validation(clips, options)
        with self.lock:
            if self.training is not None and self.training.running:
                raise StudioError("a training run is already going on; wait for it or cancel it", status=409)
            job = Job(kind="train", id=f"train-{int(time.time() * 1000)}", epochs=options.epochs or 0,
                      head=options.head, options=asdict(options))
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
                raise StudioError(f"with validation fraction {fraction:g}, label {label!r} keeps {n - held} training "
                                  f"clip{'s' if n - held != 1 else ''}; cross-validation needs 2: lower the "
                                  f"validation fraction (or leave it empty) or add clips", status=409)

    def cancel_training(self) -> Job | None:
        job = self.training
        if job is not None and job.running:
            job.cancel.set()
            job.stage = "cancelling"
        return job

    def _train(self, job: Job, options: StudioTrainOptions) -> None:
        from ..activations import ActivationCache, default_cache_dir
        from ..dataset import load_dataset
        from ..train import fit, load_noise, needed_networks, resolved, save

        store = self.store
        try:
            config = store.config
            train_options = options.train_options()
            job.head = resolved(train_options, config).head
            job.stage = "reading the clips"
            noise = None
            with store.lock:
                dataset = load_dataset(store.root / LABELS, config)
                if options.noise == "label":
                    noise = load_noise(store.label_dir(BACKGROUND_LABEL))
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
            job.stage = (f"features: clip 0 of {len(dataset.clips)}" if job.head == "linear"
                         else "computing spectrograms and MobileNet features")

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

            result = fit(dataset, config=config, options=train_options, base=networks.get("mobilenet"),
                         speech=networks.get("speech"), noise=noise, cache=ActivationCache(default_cache_dir()),
                         on_epoch=on_epoch, on_features=on_features)
            job.result = linear_result(result.report)
            if job.cancel.is_set():
                raise Cancelled
            job.stage = "saving the model"
            target = store.new_model_dir()
            with TF_LOCK:
                save(result, target, config=config)
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
            job.finish("failed", f"training failed unexpectedly ({type(exc).__name__}: {exc}); "
                                 "the terminal running pac studio has the details")

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
            target = self.store.exports_dir(folder.name) / f"{self.store.download_stem(folder.name)}.{kind}"
            job = Job(kind=kind, id=f"{kind}-{folder.name}", model_id=folder.name, stage=support["stage"])
            self.exports[key] = job
        threading.Thread(target=self._export, args=(job, folder, target, support), name=f"pac-studio-{kind}",
                         daemon=True).start()
        return job

    def export_job(self, model_id: str, kind: str) -> Job | None:
        with self.lock:
            job = self.exports.get((model_id, kind))
        if job is None:
            folder = self.store.model_dir(model_id)
            out = self.store.root / EXPORTS_DIR / folder.name
            found = sorted(out.glob(f"*.{kind}")) if out.is_dir() else []
            if found:
                job = Job(kind=kind, id=f"{kind}-{folder.name}", model_id=folder.name, stage="done", file=found[-1].name)
                job.finish("done")
        return job

    def _export(self, job: Job, folder: Path, target: Path, support: dict) -> None:
        """Write the export in this job's thread, as ``pac build`` / ``pac export-mdl`` would."""
        log: list[str] = []
        try:
            write_export(support["kind"], folder, target, base_dir=self.base_dir, speech_dir=self.speech_dir,
                         echo=log.append)
        except PacError as exc:
            job.stage = "failed"
            job.finish("failed", f"pac {support['command']} failed: {tidy(str(exc), self.store)}",
                       detail="\n".join(log[-30:]) or None)
            return
        except Exception as exc:  # noqa: BLE001 - the page gets a message, the terminal the traceback
            log_error(f"pac {support['command']} failed")
            job.stage = "failed"
            job.finish("failed", f"pac {support['command']} failed unexpectedly ({type(exc).__name__}: {exc}); "
                                 "the terminal running pac studio has the details")
            return
        job.file = target.name
        job.stage = "done"
        job.finish("done")


def write_export(kind: str, model_dir: Path, target: Path, *, base_dir=None, speech_dir=None, echo=None) -> None:
    """Write ``model_dir`` as a ``kind`` file: what ``pac build`` (``aix``) or ``pac export-mdl`` does.

    Parameters
    ----------
    kind : str
        ``"aix"`` (:func:`pac.aix.build_aix`) or ``"mdl"`` (:func:`pac.mdl.export_mdl`).
    model_dir, target : Path
        The model folder and the file to write (checked first as the commands check ``-o``).
    base_dir, speech_dir : path, optional
        The networks' folders for the ``.aix`` (``--base``, ``--speech-base``).
    echo : callable, optional
        Receives the build's progress lines (a Maven run of the component).

    Raises
    ------
    PacError
        What the command would print after ``error:``.
    """
    from ..fsutil import check_output

    check_output(target, probe=True)
    if kind == "aix":
        from ..aix import build_aix

        build_aix(model_dir, target, base_dir=base_dir, speech_dir=speech_dir, echo=echo)
    else:
        from ..mdl import export_mdl

        with TF_LOCK:  # loads the head with tf_keras, as a classifier does (a moment)
            export_mdl(model_dir, target)


#: The export kinds: the ``pac`` command that makes the same file, the page's title, the job's stage.
EXPORTS = {
    "aix": {"command": "build", "title": "App Inventor extension (.aix)",
            "stage": "building the App Inventor extension (the first build can take a few minutes)"},
    "mdl": {"command": "export-mdl", "title": "MIT PAC model (.mdl)",
            "stage": "exporting the .mdl model"},
}


def export_support(kind: str) -> dict:
    """What the page shows of export kind ``kind``: ``{"kind", "available", "note", "title", "command",
    "stage"}`` (every kind is available; the page still reads ``available``).

    Raises
    ------
    StudioError
        404 for an unknown kind.
    """
    if kind not in EXPORTS:
        raise StudioError(f"unknown download kind {kind!r}", status=404)
    spec = EXPORTS[kind]
    return {**spec, "kind": kind, "available": True, "note": f"made by `pac {spec['command']}`"}


def export_problem(kind: str, model_dir: Path) -> str | None:
    """Why this model cannot be exported as ``kind`` (``None`` when it can, as far as known here).

    MIT's extension runs PAC's conv head on its own spectrogram, so ``pac export-mdl`` only takes
    conv-head models trained on the feature profile it emulates (``pac.mdl.PROFILE``, pac-compat),
    whatever the profile's name.
    """
    if kind != "mdl":
        return None
    from ..features import PROFILES
    from ..modeldir import read_manifest

    from ..mdl import PROFILE

    try:
        manifest = read_manifest(model_dir)
    except PacError as exc:
        return str(exc)
    features = manifest.features
    if manifest.head_kind != "conv":
        return (f"only models with {HEAD_NAMES['conv']} on the feature profile {PROFILE} can be exported as .mdl "
                f"(MIT's extension runs that head on its own spectrogram); this one is {HEAD_NAMES['linear']}. "
                f"Press \"MIT's PAC website (.mdl)\" under Train > Model, train again, and export that model.")
    if PROFILE in PROFILES and replace(features, name=PROFILE) == PROFILES[PROFILE]:
        return None
    return (f"only models trained with the feature profile {PROFILE} can be exported as .mdl (MIT's extension "
            f"computes its own spectrogram); this one used '{features.name}'. Choose {PROFILE} under "
            f"Train > Spectrogram, train again, and export that model.")


__all__ = ["Jobs", "export_problem", "Job", "StudioTrainOptions", "export_support", "linear_result", "TF_LOCK",
           "EXPORTS", "write_export"]
