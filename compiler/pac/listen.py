"""Continuous listening: a long recording -> the words a model hears in it, with their times.

The same rule as the classifier page's ``js/listen.js`` (which the App Inventor component's
StartContinuousListening feeds from the microphone), stated once in ``bridge.json``
``"listening"``:

* the stream is cut into windows of ``window_seconds`` ending every ``hop_ms`` (both rounded to
  whole samples, halves up): the k-th window (k = 0, 1, ...) ends at sample ``window + k * hop``;
* each window is classified exactly like a clip of that length (:class:`pac.classifier.Classifier`);
  a silent window (peak below the feature configuration's ``silence_dbfs``) counts as background
  and is not classified;
* a window's most probable label (ties: the first in label order) is a *detection* when it is not
  the background label (``_background_noise_``), its probability is at least ``threshold`` and at
  least ``minimum_interval_ms`` (rounded to samples) has passed since the window end of the last
  detection.

A model without the background label is refused: without it every window, silence and chatter
included, is one of the words.

The page never falls behind real time: a window it has no time for is dropped and counted.  Here
(a file, no clock) every window is classified, so the page gives the same detections as
:func:`listen` when it keeps up (``tests/test_listen.py`` checks that).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from .errors import PacError
from .features.functional import round_half_up


def listening_rules(bridge: dict | None = None) -> dict:
    """``bridge.json``'s ``"listening"`` section (window, hop, defaults, the background label)."""
    from .runtime import read_bridge

    return dict((bridge or read_bridge())["listening"])


@dataclasses.dataclass(frozen=True)
class ListenSettings:
    """How a stream is cut and when a window is a detection.

    Parameters
    ----------
    threshold : float
        Smallest probability of the top label that counts (0 < threshold <= 1).
    minimum_interval_ms : float
        Suppression after a detection, in milliseconds (0 to ``minimum_interval_ms_max``).
    hop_ms : float
        Time between the ends of two windows.
    window_seconds : float
        Length of one window.
    background : str
        The label that means "nothing".
    """

    threshold: float
    minimum_interval_ms: float
    hop_ms: float
    window_seconds: float
    background: str

    @classmethod
    def defaults(
        cls,
        *,
        threshold: float | None = None,
        minimum_interval_ms: float | None = None,
        hop_ms: float | None = None,
        bridge: dict | None = None,
    ) -> ListenSettings:
        """The rules of ``bridge.json`` with the given values replacing its defaults (checked)."""
        rules = listening_rules(bridge)
        settings = cls(
            threshold=float(rules["default_threshold"] if threshold is None else threshold),
            minimum_interval_ms=float(
                rules["default_minimum_interval_ms"] if minimum_interval_ms is None else minimum_interval_ms
            ),
            hop_ms=float(rules["hop_ms"] if hop_ms is None else hop_ms),
            window_seconds=float(rules["window_seconds"]),
            background=rules["background_label"],
        )
        if not 0.0 < settings.threshold <= 1.0:
            raise PacError(f"the threshold must be above 0 and at most 1, not {settings.threshold:g}")
        if not 0.0 <= settings.minimum_interval_ms <= float(rules["minimum_interval_ms_max"]):
            raise PacError(
                f"the minimum interval must be 0 to {rules['minimum_interval_ms_max']} ms, "
                f"not {settings.minimum_interval_ms:g}"
            )
        if not 10.0 <= settings.hop_ms <= 1000.0 * settings.window_seconds:
            raise PacError(f"the hop must be 10 to {1000 * settings.window_seconds:g} ms, not {settings.hop_ms:g}")
        return settings

    def samples(self, rate: int) -> tuple[int, int, int]:
        """``(window, hop, minimum interval)`` in samples at ``rate`` Hz (halves rounded up)."""
        return (
            round_half_up(self.window_seconds * rate),
            max(1, round_half_up(self.hop_ms * rate / 1000.0)),
            round_half_up(self.minimum_interval_ms * rate / 1000.0),
        )


@dataclasses.dataclass(frozen=True)
class Detection:
    """One detection: the label, its probability and where its window ends (sample and seconds)."""

    label: str
    confidence: float
    end_sample: int
    time: float

    def to_dict(self) -> dict:
        return {"time": self.time, "label": self.label, "confidence": self.confidence, "end_sample": self.end_sample}


class Decider:
    """The decision rule, window by window (``js/listen.js``'s ``Decider``).

    Parameters
    ----------
    labels : sequence of str
        The model's labels in output order; must contain ``settings.background``.
    settings : ListenSettings
    rate : int
        Sample rate of the stream.
    """

    def __init__(self, labels, settings: ListenSettings, rate: int):
        self.labels = list(labels)
        check_background(self.labels, settings)
        self.settings = settings
        self.rate = int(rate)
        _, _, self.minimum_interval = settings.samples(self.rate)
        self.last_end: int | None = None

    def step(self, end_sample: int, probabilities) -> Detection | None:
        """The detection of the window ending at ``end_sample`` with these probabilities (None: silent)."""
        if probabilities is None:
            return None
        p = np.asarray(probabilities, dtype=np.float64)
        top = int(np.argmax(p))  # the first maximum: ties keep label order
        label = self.labels[top]
        if label == self.settings.background or not p[top] >= self.settings.threshold:
            return None
        if self.last_end is not None and end_sample - self.last_end < self.minimum_interval:
            return None
        self.last_end = int(end_sample)
        return Detection(label, float(p[top]), int(end_sample), end_sample / self.rate)


def check_background(labels, settings: ListenSettings, *, path=None) -> None:
    """Refuse a model without the background label (one line, naming the label)."""
    if settings.background not in labels:
        raise PacError(
            f"continuous listening needs a model with a {settings.background} label (recordings of "
            f"nothing in particular), and this model's labels are {', '.join(labels)}",
            path=path,
        )


def window_ends(n_samples: int, rate: int, settings: ListenSettings) -> list[int]:
    """The end samples of every window of a stream of ``n_samples`` samples."""
    window, hop, _ = settings.samples(rate)
    return list(range(window, n_samples + 1, hop))


@dataclasses.dataclass
class ListenResult:
    """What :func:`listen` found: the detections and how many windows there were (and were silent)."""

    detections: list
    windows: int
    silent: int
    rate: int
    duration: float
    probabilities: np.ndarray  # [windows, labels]; NaN rows for silent windows

    def to_dict(self) -> dict:
        return {
            "detections": [d.to_dict() for d in self.detections],
            "windows": self.windows,
            "silent": self.silent,
            "rate": self.rate,
            "duration": self.duration,
        }


def listen(classifier, audio, *, settings: ListenSettings, batch: int = 64) -> ListenResult:
    """Run the decision rule over a decoded recording.

    Parameters
    ----------
    classifier : pac.classifier.Classifier
        The model.
    audio : pac.audio.Audio
        The recording (any length the WAV limits allow).
    settings : ListenSettings
    batch : int
        Windows classified per call of the networks.

    Returns
    -------
    ListenResult
    """
    from .audio import Audio, is_silent

    labels = classifier.labels
    check_background(labels, settings, path=classifier.directory / "pac.json")
    rate = audio.rate
    # What the page gets: the component streams float32 samples.
    samples = np.asarray(audio.samples, dtype=np.float32).astype(np.float64)
    window, _, _ = settings.samples(rate)
    ends = window_ends(len(samples), rate, settings)
    silence_dbfs = classifier.config.silence_dbfs
    probabilities = np.full((len(ends), len(labels)), np.nan)
    loud = [i for i, end in enumerate(ends) if not is_silent(samples[end - window : end], silence_dbfs=silence_dbfs)]
    for start in range(0, len(loud), batch):
        chunk = loud[start : start + batch]
        clips = [Audio(samples[ends[i] - window : ends[i]], rate, 1, f"{audio.source}@{ends[i]}") for i in chunk]
        probabilities[chunk] = classifier.probabilities(clips)
    decider = Decider(labels, settings, rate)
    detections = []
    for i, end in enumerate(ends):
        found = decider.step(end, None if np.isnan(probabilities[i, 0]) else probabilities[i])
        if found is not None:
            detections.append(found)
    return ListenResult(detections, len(ends), len(ends) - len(loud), rate, len(samples) / rate, probabilities)


def listen_file(
    model_dir: str | os.PathLike,
    wav: str | os.PathLike,
    *,
    threshold: float | None = None,
    minimum_interval_ms: float | None = None,
    hop_ms: float | None = None,
    base: str | os.PathLike | None = None,
    speech_base: str | os.PathLike | None = None,
    progress=None,
) -> ListenResult:
    """``pac listen MODEL LONG.wav``: the detections in a WAV file (see :func:`listen`).

    Raises
    ------
    PacError
        If the model has no background label, an option is out of range or the file cannot be read.
    """
    from .audio import read_wav
    from .classifier import Classifier
    from .modeldir import read_manifest

    settings = ListenSettings.defaults(threshold=threshold, minimum_interval_ms=minimum_interval_ms, hop_ms=hop_ms)
    manifest = read_manifest(model_dir)
    check_background(manifest.labels, settings, path=os.path.join(os.fspath(model_dir), "pac.json"))
    audio = read_wav(wav)
    window, _, _ = settings.samples(audio.rate)
    if len(audio.samples) < window:
        raise PacError(f"is shorter than one listening window ({settings.window_seconds:g} s)", path=wav)
    classifier = Classifier(model_dir, base=base, speech_base=speech_base, progress=progress)
    return listen(classifier, audio, settings=settings)


def format_time(seconds: float) -> str:
    """``m:ss.sss`` (``pac listen``'s time column)."""
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:06.3f}"


def run_cli(
    model_dir,
    recording,
    *,
    threshold=None,
    minimum_interval_ms=None,
    hop_ms=None,
    as_json=False,
    base=None,
    speech_base=None,
    echo=print,
) -> ListenResult:
    """``pac listen``: print ``m:ss.sss<TAB>label<TAB>confidence`` per detection, then a summary line
    (or one JSON object with ``as_json``)."""
    import json

    from .base import print_progress

    result = listen_file(
        model_dir,
        recording,
        threshold=threshold,
        minimum_interval_ms=minimum_interval_ms,
        hop_ms=hop_ms,
        base=base,
        speech_base=speech_base,
        progress=print_progress,
    )
    if as_json:
        echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        for d in result.detections:
            echo(f"{format_time(d.time)}\t{d.label}\t{d.confidence:.3f}")
        echo(
            f"{len(result.detections)} detections in {format_time(result.duration)} "
            f"({result.windows} windows, {result.silent} silent)"
        )
    return result


# -- pac verify's checks of continuous listening -----------------------------------------------------

#: The component pac builds (the descriptor's type), and the continuous-listening blocks it declares:
#: events and methods with their parameters (name, YAIL type), block properties with their types.
COMPONENT_TYPE = "io.github.pacaudio.PersonalAudioClassifier"
LISTEN_EVENTS = {"Heard": [("label", "text"), ("confidence", "number")]}
LISTEN_METHODS = {"StartContinuousListening": [], "StopContinuousListening": []}
LISTEN_PROPERTIES = {"Threshold": "number", "MinimumInterval": "number"}


def _objects(value) -> list[dict]:
    """The JSON objects in ``value`` when it is a list (a hostile descriptor may hold anything)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _shown(value, limit: int = 120) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages about hostile files."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_listen_blocks(descriptors, report) -> None:
    """``pac verify``: pac's component declares the continuous-listening blocks with the right
    parameters and designer defaults equal to ``bridge.json``'s (a failure if one is wrong, a warning
    if the component predates them)."""
    rules = listening_rules()
    for d in descriptors:
        if not isinstance(d, dict) or d.get("type") != COMPONENT_TYPE:
            continue
        blocks = {
            kind: {b["name"]: b for b in _objects(d.get(kind)) if isinstance(b.get("name"), str)}
            for kind in ("events", "methods", "blockProperties", "properties")
        }
        wanted = [("events", LISTEN_EVENTS), ("methods", LISTEN_METHODS)]
        if not any(name in blocks[kind] for kind, table in wanted for name in table):
            report.warn("the component has no continuous-listening blocks (built by an older pac)")
            continue
        for kind, table in wanted:
            for name, params in table.items():
                block = blocks[kind].get(name)
                got = None if block is None else [(p.get("name"), p.get("type")) for p in _objects(block.get("params"))]
                if got != params:
                    report.fail(f"{kind} {name}: expected parameters {params}, found {_shown(got)}")
        for name, yail in LISTEN_PROPERTIES.items():
            prop = blocks["blockProperties"].get(name)
            if prop is None or prop.get("type") != yail or prop.get("rw") != "read-write":
                report.fail(f"block property {name}: expected a read-write {yail}, found {_shown(prop)}")
        defaults = {"Threshold": rules["default_threshold"], "MinimumInterval": rules["default_minimum_interval_ms"]}
        for name, value in defaults.items():
            prop = blocks["properties"].get(name)
            try:
                same = prop is not None and float(prop.get("defaultValue")) == float(value)
            except (TypeError, ValueError):
                same = False
            if not same:
                report.fail(
                    f"designer property {name}: default must be {value} (bridge.json), found "
                    f"{_shown(None if prop is None else prop.get('defaultValue'))}"
                )


def check_page_stream(browser, labels, report, *, seconds: float = 2.0, rate: int = 16000) -> str:
    """``pac verify``: stream ``seconds`` of quiet noise to the page's continuous listening as the
    component does; every window must be classified (or, without a background label, the page must
    refuse with NO_BACKGROUND_LABEL, reported as a warning).  Returns a short description."""
    from .runtime import read_bridge

    bridge = read_bridge()
    codes = {e["name"]: e["code"] for e in bridge["errors"]}
    settings = ListenSettings.defaults(bridge=bridge)
    samples = np.random.default_rng(0).normal(0.0, 0.01, int(seconds * rate))
    if settings.background not in labels:
        index = len(browser.calls())
        started = browser.execute("return window.pac.startStream(arguments[0], null, null);", rate)
        call = browser.wait_call(index, timeout=10)
        if (
            started is not False
            or call is None
            or call["method"] != "error"
            or call["args"][0] != codes["NO_BACKGROUND_LABEL"]
        ):
            report.fail(
                f"continuous listening: a model without {settings.background} must be refused with error "
                f"{codes['NO_BACKGROUND_LABEL']}, the page answered {started!r} / {call}"
            )
            return "continuous listening: refusal wrong"
        report.warn(
            f"continuous listening (StartContinuousListening) will refuse this model: it has no "
            f"{settings.background} label"
        )
        return "continuous listening refused (no background label)"
    got = browser.stream_pcm(samples, rate, realtime=False)
    stats = got["stats"]
    due = len(window_ends(len(samples), rate, settings))
    if got["errors"] or stats["due"] != due or stats["classified"] != due or stats["dropped"]:
        report.fail(
            f"continuous listening: {seconds:g} s streamed, {due} windows expected, the page reports "
            f"{stats} and errors {got['errors']}"
        )
    return f"continuous listening: {stats['classified']} windows of {seconds:g} s streamed"
