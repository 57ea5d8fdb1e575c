"""The models and test results of a studio project (:class:`ModelsMixin`, part of
:class:`pac.studio.store.ProjectStore`): trained model folders, their display names, the test
view's clips and results.

Model and test ids are generated here; a name a client sends is only looked up in a listing.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from ..modeldir import MANIFEST
from .layout import (
    EXPORTS,
    MODELS,
    RESULTS,
    TEST_ID,
    TESTS,
    StudioError,
    ascii_stem,
    check_model_name,
    plain_name,
    stamp,
    upload_stem,
    write_bytes_durable,
    write_json_durable,
)


class ModelsMixin:
    """Models and tests of a :class:`~pac.studio.store.ProjectStore` (which provides ``root``, ``lock``,
    ``settings``, ``write_settings``, ``_changed``, ``_discard`` and the caches)."""

    # -- models ------------------------------------------------------------------------------------
    def new_model_dir(self) -> Path:
        """A fresh, not yet existing model folder path (``models/m-<date>-<time>``)."""
        with self.lock:
            base = f"m-{stamp()}"
            candidate, n = base, 1
            while (self.root / MODELS / candidate).exists() or (self.root / TESTS / candidate).exists():
                n += 1
                candidate = f"{base}-{n}"
            return self.root / MODELS / candidate

    def model_dirs(self) -> list[Path]:
        folder = self.root / MODELS
        return sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
        )

    def model_dir(self, model_id) -> Path:
        for folder in self.model_dirs():
            if folder.name == model_id:
                return folder
        raise StudioError(f"there is no model {model_id!r} (was it deleted?)", status=404)

    def model_summary(self, folder: Path, number: int, names: dict | None = None) -> dict:
        """What the page shows about a trained model (from ``pac.json`` and ``report.json``).

        ``head`` is ``"linear"`` (format-2 manifest: one softmax layer on feature blocks) or
        ``"conv"`` (PAC's head); for a linear head ``blocks`` lists the networks it uses with their
        weights, ``cross_validation`` is the report's cross-validation over the training clips
        (accuracy, confusion, per label, folds; the per-clip list reduced to its count) and
        ``candidates`` the weightings cross-validation compared.  ``name`` is the display name the
        student gave it (:meth:`rename_model`), else ``Model <number>``.  ``confusion.png`` shows the
        validation clips when some were held out, else the cross-validation.
        """
        report_path = folder / "report.json"
        try:
            mtime = report_path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        cached = self._report_cache.get(str(folder))
        if cached and cached[0] == mtime:
            report, manifest = cached[1]
        else:
            try:
                manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
                report = json.loads(report_path.read_text(encoding="utf-8")) if mtime else {}
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                manifest, report = {}, {}
            manifest, report = (v if isinstance(v, dict) else {} for v in (manifest, report))
            self._report_cache[str(folder)] = (mtime, (report, manifest))
        labels = manifest.get("labels") or report.get("labels") or []
        counts = {label: 0 for label in labels}
        groups = report.get("clips") if isinstance(report.get("clips"), dict) else {}
        for group in ("training", "validation"):
            for clip in groups.get(group) if isinstance(groups.get(group), list) else []:
                parent = Path(clip).parent.name if isinstance(clip, str) else None
                if parent in counts:
                    counts[parent] += 1
        head = manifest.get("head") if isinstance(manifest.get("head"), dict) else {}
        kind = "linear" if head.get("kind") == "linear" else "conv"
        blocks = (
            [
                {"name": b.get("name"), "weight": b.get("weight")}
                for b in head.get("blocks") or []
                if isinstance(b, dict)
            ]
            if kind == "linear"
            else []
        )
        cv = report.get("cross_validation")
        if isinstance(cv, dict):
            cv = {**cv, "clips": len(cv["clips"]) if isinstance(cv.get("clips"), list) else 0}
        else:
            cv = None
        report_head = report.get("head") if isinstance(report.get("head"), dict) else {}
        created = None
        match = re.match(r"m-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})", folder.name)
        if match:
            y, mo, d, h, mi, s = match.groups()
            created = f"{y}-{mo}-{d} {h}:{mi}:{s}"
        names = names if names is not None else self.model_names()
        return {
            "id": folder.name,
            "number": number,
            "name": names.get(folder.name) or f"Model {number}",
            "created": created,
            "labels": labels,
            "profile": (manifest.get("features") or {}).get("name"),
            "format_version": manifest.get("format_version"),
            "head": kind,
            "blocks": blocks,
            "cross_validation": cv,
            "candidates": report_head.get("candidates") or [],
            "l2": report_head.get("l2"),
            "options": report.get("options"),
            "history": report.get("history"),
            "validation": report.get("validation"),
            "clips": counts,
            "examples": report.get("examples"),
            "batch_size": report.get("batch_size"),
            "seconds": report.get("seconds"),
            "files": [name for name in ("curves.png", "confusion.png") if (folder / name).is_file()],
        }

    def model_labels(self, model_id) -> list[str]:
        """The labels of a trained model, in its output order."""
        return self.model_summary(self.model_dir(model_id), 0, {})["labels"]

    def project_stem(self) -> str:
        """The project's name as a download's file name (ASCII, so it fits an HTTP header)."""
        return ascii_stem(self.root.name)

    def download_stem(self, model_id: str) -> str:
        """``<project>-<model name>``, the name of a model folder's ``.zip`` (its display name, else its id)."""
        folder = self.model_dir(model_id)
        return f"{self.project_stem()}-{ascii_stem(self.model_names().get(folder.name) or folder.name)}"

    def models(self) -> list[dict]:
        names = self.model_names()
        return [self.model_summary(folder, i + 1, names) for i, folder in enumerate(self.model_dirs())]

    def model_names(self) -> dict[str, str]:
        """``{model id: display name}`` of the models the student renamed (kept in ``studio.json``)."""
        names = self.settings().get("model_names")
        return (
            {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(names, dict)
            else {}
        )

    def rename_model(self, model_id, raw) -> str:
        """Give a model a display name (its id and folder stay); the name."""
        name = check_model_name(raw)
        with self.lock:
            folder = self.model_dir(model_id)
            data = self.settings()
            data["model_names"] = {**self.model_names(), folder.name: name}
            self.write_settings(data)
        return name

    def delete_model(self, model_id) -> None:
        with self.lock:
            folder = self.model_dir(model_id)
            for extra in (self.root / TESTS / folder.name, self.root / EXPORTS / folder.name):
                if extra.is_dir():
                    self._discard(extra)
            self._discard(folder)
            names = self.model_names()
            if names.pop(folder.name, None) is not None:
                data = self.settings()
                data["model_names"] = names
                self.write_settings(data)
            self._changed()

    def model_added(self) -> None:
        """Called after a training job wrote a model folder."""
        with self.lock:
            self._changed()

    def exports_dir(self, model_id) -> Path:
        folder = self.root / EXPORTS / self.model_dir(model_id).name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- test results ------------------------------------------------------------------------------
    def _tests_dir(self, model_id) -> Path:
        return self.root / TESTS / self.model_dir(model_id).name

    def _read_results(self, folder: Path) -> list[dict]:
        try:
            data = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return []  # a damaged results file only loses the test table, never clips or models
        entries = data.get("entries") if isinstance(data, dict) else None
        return (
            [e for e in entries if isinstance(e, dict) and TEST_ID.match(str(e.get("id")))]
            if isinstance(entries, list)
            else []
        )

    def _write_results(self, folder: Path, entries: list[dict]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_json_durable(folder / RESULTS, {"entries": entries})

    def add_test(
        self, model_id, data: bytes, *, result: list, expected=None, source: str = "recorded", original_name=None
    ) -> dict:
        """Store a classified test clip and its result; the new entry."""
        with self.lock:
            folder = self._tests_dir(model_id)
            labels = self.model_labels(model_id)
            folder.mkdir(parents=True, exist_ok=True)
            while True:
                test_id = f"t-{stamp()}-{secrets.token_hex(4)}"
                if not (folder / f"{test_id}.wav").exists():
                    break
            write_bytes_durable(folder / f"{test_id}.wav", data)
            entry = {
                "id": test_id,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                "source": source,
                "name": (upload_stem(original_name) or None) if source == "uploaded" else None,
                "expected": expected if expected in labels else None,
                "predicted": result[0][0],
                "confidence": result[0][1],
                "result": result,
            }
            entries = self._read_results(folder)
            entries.append(entry)
            self._write_results(folder, entries)
            self._changed()
            return entry

    def set_test_expected(self, model_id, test_id, expected) -> dict:
        with self.lock:
            folder = self._tests_dir(model_id)
            labels = self.model_labels(model_id)
            if expected is not None and expected not in labels:
                raise StudioError(f"{expected!r} is not a label of this model")
            entries = self._read_results(folder)
            for entry in entries:
                if entry["id"] == test_id:
                    entry["expected"] = expected
                    self._write_results(folder, entries)
                    self._changed()
                    return entry
        raise StudioError("no such test result", status=404)

    def delete_test(self, model_id, test_id=None) -> None:
        """Delete one test result (with its clip), or all of a model's when ``test_id`` is None."""
        with self.lock:
            folder = self._tests_dir(model_id)
            entries = self._read_results(folder)
            keep = [e for e in entries if test_id is not None and e["id"] != test_id]
            if test_id is not None and len(keep) == len(entries):
                raise StudioError("no such test result", status=404)
            if folder.is_dir():
                self._write_results(folder, keep)
                kept = {e["id"] for e in keep}
                for path in folder.glob("t-*.wav"):
                    if path.stem not in kept:
                        path.unlink()
            self._changed()

    def test_clip(self, model_id, test_id) -> Path:
        name = plain_name(test_id)
        folder = self._tests_dir(model_id)
        for entry in self._read_results(folder):
            if entry["id"] == name and (folder / f"{name}.wav").is_file():
                return folder / f"{name}.wav"
        raise StudioError("no such test clip", status=404)

    def tests(self, model_id) -> dict:
        """Every test entry of a model, and accuracy / confusion over those whose label is known."""
        from ..metrics import scores

        with self.lock:
            labels = self.model_labels(model_id)
            entries = self._read_results(self._tests_dir(model_id))
        judged = [e for e in entries if e.get("expected") in labels and e.get("predicted") in labels]
        summary = scores(
            [labels.index(e["expected"]) for e in judged], [labels.index(e["predicted"]) for e in judged], labels
        )
        summary["judged"] = len(judged)
        summary["correct"] = sum(1 for e in judged if e["expected"] == e["predicted"])
        return {"labels": labels, "entries": entries, "summary": summary}


__all__ = ["ModelsMixin"]
