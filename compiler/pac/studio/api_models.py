"""The studio's JSON API, part 2: training, models (files, renaming, deleting, downloads and exports)
and the test view.  Every route works on ``handler.project`` and finds models by id in its listing.
"""

from __future__ import annotations

import io
import time
import zipfile

from .. import train_options
from ..limits import LIMITS
from .exports import EXPORTS, export_support
from .handler import OPTIONAL_TEXT, TEXT, TRAIN_FIELDS, route
from .layout import SOURCES, StudioError

# -- training ----------------------------------------------------------------------------------------


@route("POST", "/api/train")
def train(handler) -> None:
    job = handler.jobs.start_training(handler.read_json(TRAIN_FIELDS))
    handler.send_json(job.to_json(), status=202)


@route("GET", "/api/train/options")
def train_option_declarations(handler) -> None:
    """The training options the form offers: bounds, defaults, choices and presets
    (:func:`pac.train_options.to_json`), so the page does not repeat them."""
    handler.send_json(train_options.to_json())


@route("GET", "/api/train")
def train_status(handler) -> None:
    job = handler.jobs.training
    handler.send_json(job.to_json() if job else None)


@route("POST", "/api/train/cancel")
def train_cancel(handler) -> None:
    job = handler.jobs.cancel_training()
    handler.send_json(job.to_json() if job else None)


# -- models ------------------------------------------------------------------------------------------


@route("GET", "/api/models/{model}/files/{name}")
def model_file(handler, model: str, name: str) -> None:
    if name not in ("curves.png", "confusion.png"):
        raise StudioError("no such file", status=404)
    path = handler.store.model_dir(model) / name
    if not path.is_file():
        raise StudioError("no such file", status=404)
    handler.send_bytes(path.read_bytes(), "image/png", cache=True)


@route("DELETE", "/api/models/{model}")
def delete_model(handler, model: str) -> None:
    handler.store.delete_model(model)
    handler.project.forget_classifier(model)
    handler.send_json({"deleted": model})


@route("POST", "/api/models/{model}/rename")
def rename_model(handler, model: str) -> None:
    """``{"name": "..."}``: the model's display name (its id stays); answers ``{"id", "name"}``."""
    name = handler.store.rename_model(model, handler.read_json({"name": TEXT}).get("name"))
    handler.send_json({"id": handler.store.model_dir(model).name, "name": name})


@route("GET", "/api/models/{model}/download/zip")
def model_zip(handler, model: str) -> None:
    store = handler.store
    folder = store.model_dir(model)
    prefix = store.download_stem(folder.name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                archive.write(path, f"{prefix}/{path.name}")
    handler.send_bytes(buffer.getvalue(), "application/zip", filename=f"{prefix}.zip")


@route("POST", "/api/models/{model}/export/{kind}")
def export(handler, model: str, kind: str) -> None:
    job = handler.jobs.start_export(model, kind)
    handler.send_json(job.to_json(), status=202)


@route("GET", "/api/models/{model}/export/{kind}")
def export_status(handler, model: str, kind: str) -> None:
    export_support(kind)
    job = handler.jobs.export_job(handler.store.model_dir(model).name, kind)
    handler.send_json(job.to_json() if job else None)


@route("GET", "/api/models/{model}/download/{kind}")
def export_download(handler, model: str, kind: str) -> None:
    """The built ``.aix`` / ``.mdl``, downloaded as ``<project>.aix`` / ``<project>.mdl``."""
    if kind not in EXPORTS:
        raise StudioError("no such download", status=404)
    store = handler.store
    job = handler.jobs.export_job(store.model_dir(model).name, kind)
    if job is None or job.state != "done" or not job.file:
        raise StudioError(f"build the {EXPORTS[kind]['title']} first", status=404)
    path = store.exports_dir(model) / job.file
    if not path.is_file():
        raise StudioError("the file is gone; build it again", status=404)
    content_type = "application/zip" if kind == "aix" else "application/octet-stream"
    handler.send_bytes(path.read_bytes(), content_type, filename=f"{store.project_stem()}.{kind}")


# -- testing -----------------------------------------------------------------------------------------


@route("POST", "/api/models/{model}/classify")
def classify(handler, model: str) -> None:
    """Classify the WAV body and keep it as a test result (201, the stored entry); with ``?keep=0``
    (live listening, one window at a time) nothing is stored and the answer is only
    ``{"labels", "probabilities"}`` in the model's label order, ``probabilities`` null for a silent
    window (below the model's ``silence_dbfs``: background, as ``pac listen`` counts it)."""
    from ..audio import is_silent
    from ..classifier import ranked

    store = handler.store
    store.model_dir(model)
    data = handler.read_body(LIMITS.upload_max_bytes, "the clip")
    source = handler.headers.get("X-Clip-Source", "recorded")
    if source not in SOURCES:
        raise StudioError(f"unknown clip source {source!r}")
    name = handler.header_text("X-Clip-Name") or ("recording" if source == "recorded" else "upload")
    keep = handler.query.get("keep", ["1"])[0]
    if keep not in ("0", "1"):
        raise StudioError(f"keep must be 0 or 1, not {keep!r}")
    if keep == "0":
        classifier = handler.project.classifier(model)
        config = classifier.config
        audio = store.check_clip(data, name=name, config=config, silent_ok=True)
        silent = is_silent(audio.samples, silence_dbfs=config.silence_dbfs)
        probabilities = None if silent else [float(p) for p in classifier.probabilities([audio])[0]]
        handler.send_json({"labels": list(classifier.labels), "probabilities": probabilities})
        return
    audio = store.check_clip(data, name=name)
    classifier = handler.project.classifier(model)
    started = time.perf_counter()
    result = ranked(classifier.labels, classifier.probabilities([audio])[0])
    expected = handler.query.get("expected", [None])[0] or None
    entry = store.add_test(model, data, result=result, expected=expected, source=source, original_name=name)
    entry["seconds"] = round(time.perf_counter() - started, 3)
    handler.send_json(entry, status=201)


@route("GET", "/api/models/{model}/tests")
def tests(handler, model: str) -> None:
    handler.send_json(handler.store.tests(model))


@route("DELETE", "/api/models/{model}/tests")
def clear_tests(handler, model: str) -> None:
    handler.store.delete_test(model)
    handler.send_json({"cleared": model})


@route("POST", "/api/models/{model}/tests/{test}")
def set_test(handler, model: str, test: str) -> None:
    expected = handler.read_json({"expected": OPTIONAL_TEXT}).get("expected") or None
    handler.send_json(handler.store.set_test_expected(model, test, expected))


@route("DELETE", "/api/models/{model}/tests/{test}")
def delete_test(handler, model: str, test: str) -> None:
    handler.store.delete_test(model, test)
    handler.send_json({"deleted": test})


@route("GET", "/api/models/{model}/tests/{test}/audio")
def test_audio(handler, model: str, test: str) -> None:
    handler.send_bytes(handler.store.test_clip(model, test).read_bytes(), "audio/wav")


@route("GET", "/api/models/{model}/tests/{test}/spectrogram")
def test_spectrogram(handler, model: str, test: str) -> None:
    """The image the model saw for a test clip (the model's own feature configuration)."""
    from ..modeldir import read_manifest

    store = handler.store
    path = store.test_clip(model, test)
    config = read_manifest(store.model_dir(model)).features
    handler.send_bytes(store.spectrogram_png(path, config), "image/png", cache=True)
