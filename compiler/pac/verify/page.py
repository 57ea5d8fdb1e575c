"""Stage 3 of ``pac verify``: the .aix's own classifier page in a headless browser, its answers to the
clips, and their accuracy and difference from :class:`pac.classifier.Classifier`."""

from __future__ import annotations

from pathlib import Path

from .. import jsonsafe
from ..errors import PacError
from ..fsutil import read_limited
from ..limits import LIMITS
from .model import speech_network
from .report import Report

#: The page and pac's Python classifier must agree on every probability within this (float32 maths).
PARITY_TOLERANCE = 1e-3


def label_clips(clips_dir: Path) -> list[tuple[str, Path]]:
    """``[(label, wav)]`` from a folder with one sub-folder per label."""
    from ..dataset import find_wavs

    if not clips_dir.is_dir():
        raise PacError(f"{clips_dir}: not a folder")
    found = []
    for folder in sorted(p for p in clips_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for wav in find_wavs([folder]):
            found.append((folder.name, wav))
    if not found:
        raise PacError(f"{clips_dir}: no label sub-folders with .wav clips")
    return found


def check_page(page_dir: Path, clips: list[tuple[str, Path]], report: Report, *, timeout: float = 120) -> None:
    """Load the page in headless Chromium with the bridge fake; classify ``clips``; compare with Python."""
    from ..browser import Browser

    with report.step("the .aix's page runs in headless Chromium") as step:
        try:
            with Browser(page_dir, timeout=timeout) as browser:
                labels = browser.open("classifier.html")
                if report.labels is not None and list(labels) != report.labels:
                    report.fail(f"the page's ready() labels {labels} are not the model's {report.labels}")
                bad = [c for c in browser.calls() if c.get("bad")]
                if bad:
                    report.fail(f"the page called the bridge with wrong arguments: {bad[0]}")
                backend = (browser.info() or {}).get("backend")
                results = [(label, wav, page_answer(browser, wav, report, timeout=timeout)) for label, wav in clips]
                from ..listen import check_page_stream

                streamed = check_page_stream(browser, labels, report)
        except PacError as exc:
            report.fail(f"the .aix's page in headless Chromium: {exc}")
            return
        step.name += f": ready(labels), TF.js backend {backend}; {streamed}"
    if clips:
        compare_results(page_dir, results, report)


def page_answer(browser, wav: Path, report: Report, *, timeout: float) -> dict:
    """The page's answer to one clip: ``{"result": [[label, probability], ...]}`` or ``{"error": ...}``
    (also when the clip is not a regular file within ``LIMITS.wav_max_bytes``: not given to the page)."""
    try:
        data = read_limited(wav, max_bytes=LIMITS.wav_max_bytes, what="WAV file")
    except PacError as exc:
        return {"error": f"not read ({exc})"}
    call = browser.classify_wav(data, timeout=timeout)
    if call.get("bad"):
        report.fail(f"{wav}: the page called {call['method']} with wrong arguments ({call['bad']})")
    if call["method"] == "reportResult":
        return _page_result(call["args"], wav)
    return {"error": f"{call['method']}{tuple(call['args'])}"}


def _page_result(args: list, wav: Path) -> dict:
    """``reportResult``'s one argument, JSON text of ``[[label, probability], ...]``, as a page answer."""
    text = args[0] if args else None
    try:
        result = jsonsafe.loads(text, source=f"{wav.name}: reportResult") if isinstance(text, str) else None
    except PacError as exc:
        return {"error": f"reportResult with a result that is not readable ({exc})"}
    pairs = isinstance(result, list) and all(isinstance(p, list) and len(p) == 2 for p in result)
    if not pairs or not all(
        isinstance(label, str) and isinstance(prob, (int, float)) and not isinstance(prob, bool)
        for label, prob in result
    ):
        return {"error": f"reportResult{tuple(args)}: not [[label, probability], ...]"}
    return {"result": result}


def python_classifier(page_dir: Path):
    """:class:`pac.classifier.Classifier` of the asset folder's model with the networks shipped beside it."""
    from ..classifier import Classifier
    from ..modeldir import read_manifest
    from ..runtime import BASE_URL_DIR, MODEL_URL_DIR

    model_dir = page_dir / MODEL_URL_DIR
    manifest = read_manifest(model_dir)
    network = speech_network(page_dir, manifest) if "speech" in manifest.blocks else None
    return Classifier(model_dir, base=page_dir / BASE_URL_DIR, speech_network=network)


def compare_results(page_dir: Path, results, report: Report) -> None:
    """Accuracy of the page's answers and their largest difference from the Python classifier's.

    A clip both sides refuse (e.g. a silent one) is a warning and does not count; a clip only one
    side refuses is a failure.
    """
    from ..classifier import ranked
    from ..features.pipeline import load_clip

    with report.step("clips classified by the page"):
        try:
            classifier = python_classifier(page_dir)
        except PacError as exc:
            report.fail(f"pac's Python classifier cannot run the .aix's model: {exc}")
            return
        python: list = []
        usable = []
        for _, wav, _ in results:
            try:
                usable.append(load_clip(wav, classifier.config))
                python.append(None)
            except PacError as exc:
                python.append(str(exc))
        probabilities = iter(classifier.probabilities(usable)) if usable else iter(())
        python = [ranked(classifier.labels, next(probabilities)) if p is None else p for p in python]
        correct = counted = 0
        diff = None
        for (label, wav, outcome), py in zip(results, python):
            row = {"clip": str(wav), "label": label}
            report.results.append(row)
            if isinstance(py, str) or outcome.get("error"):
                row.update(js_error=outcome.get("error"), python_error=py if isinstance(py, str) else None)
                if isinstance(py, str) and outcome.get("error"):
                    report.warn(f"{wav}: refused by the page ({outcome['error']}) and by pac ({py})")
                elif outcome.get("error"):
                    report.fail(
                        f"{wav}: the page answered {outcome['error']}, pac's Python classifier did not refuse it"
                    )
                else:
                    report.fail(f"{wav}: pac refused it ({py}) but the page classified it")
                continue
            js = outcome["result"]
            row.update(js=js, python=py)
            counted += 1
            if js and js[0][0] == label:
                correct += 1
            js_p = {lab: p for lab, p in js}
            if set(js_p) != {lab for lab, _ in py}:
                report.fail(f"{wav}: the page's labels {sorted(js_p)} differ from Python's")
                continue
            diff = max(diff or 0.0, max(abs(js_p[lab] - p) for lab, p in py))
        report.clips = counted
        report.accuracy = correct / counted if counted else None
        report.max_prob_diff = diff
        if diff is not None and diff > PARITY_TOLERANCE:
            report.fail(
                f"the page's probabilities differ from pac's Python classifier by up to {diff:.3g} "
                f"(tolerance {PARITY_TOLERANCE:g})"
            )
