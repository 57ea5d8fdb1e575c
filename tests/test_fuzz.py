"""The fuzz suite: pac's readers of outside input against generated hostile inputs.

Why Hypothesis (property-based) and not a coverage-guided fuzzer such as atheris: the promise under
test is a property of *every* input ("a result within pac.limits, or one PacError"; "a 4xx, never a
5xx"), which is what property-based testing states directly; Hypothesis is pure Python, installs from
the package index on every OS pac supports (atheris needs a clang-built CPython extension and runs on
Linux only), and with ``derandomize=True`` every run tries the same inputs, so a failure in CI is
reproduced by running the test again and is shrunk to a small example.  The inputs are not blind
random bytes: the generators (``bench/fuzz_targets.py``) mutate real files - WAV headers of the
recordings in ``../shared/data``, pac's feature profiles, a ``.mdl`` in MIT's layout, an ``.aix`` of
the component's real build outputs - and the studio's real routes, which reaches the checks deep in
each reader that random bytes never pass.

The same generators and checks run for a million inputs and more in ``bench/fuzz.py`` (random draws
instead of Hypothesis, a hang and memory watchdog, more of them compared with wav.js).  Here each
target gets a hundred to a thousand inputs (about 30 s in all, 10 s of them the studio's project files
and classroom); the long runs are the bench's.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter

from hypothesis import HealthCheck, given, settings

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import fuzz_targets as F  # noqa: E402

#: Same inputs on every run; nothing stored between runs; no time limit per input (speed is bench's).
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def fuzz(target: F.Target, examples: int) -> list:
    """Run ``target.check`` on ``examples`` Hypothesis inputs (shrunk and re-raised on failure); the inputs."""
    seen = []

    @settings(FUZZ, max_examples=examples)
    @given(target.strategy())
    def holds(value):
        seen.append(value)
        target.check(value)

    holds()
    return seen


def test_wav_decoder_gives_audio_within_the_limits_or_one_error_and_wav_js_agrees(tmp_path):
    """decode_wav on mutated real headers, WAVs built from hostile fields and random bytes; then the
    same bytes through wav.js in headless Chromium, in one batch: same error text or same samples."""
    inputs = fuzz(F.wav_target(), 1000)
    unique = list(dict.fromkeys(inputs))[:400]
    with F.wav_page(tmp_path / "page") as page:
        outcomes = F.js_decode(page, unique)
    problems = [
        (F.hex_of(data, 200), problem)
        for data, js in zip(unique, outcomes)
        if (problem := F.decoders_disagree(data, js))
    ]
    assert problems == []
    refused = sum(isinstance(F.python_decode(data), F.PacError) for data in unique)
    assert 0 < refused < len(unique)  # both outcomes are exercised


def test_config_files_give_a_bounded_configuration_or_one_error(tmp_path):
    fuzz(F.config_target(tmp_path, render_every=10), 300)


def test_mdl_import_gives_a_consistent_model_or_one_error(tmp_path):
    fuzz(F.mdl_target(tmp_path), 300)


def test_verify_reports_on_any_aix_without_raising(tmp_path):
    fuzz(F.aix_target(tmp_path), 120)


def test_studio_answers_every_request_below_500_and_keeps_its_files(tmp_path):
    from pac.audio import read_wav
    from pac.features import PROFILES
    from pac.studio.server import Studio

    with Studio(tmp_path / "project", port=0, warm=False) as studio:
        target = F.studio_target(studio, F.wav_seeds())
        fuzz(target, 500)
        assert F.StudioCheck(studio)(F.Request("GET", "/api/project", (), b"")) == "200"
        root = studio.store.root
        assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
        for path in (root / "labels").rglob("*"):  # only whole clips the store accepted
            assert path.is_dir() or (path.suffix == ".wav" and read_wav(path).duration > 0), path
        assert studio.store.settings()["profile"] in PROFILES


def counted(target: F.Target) -> tuple[F.Target, Counter]:
    """``target`` whose outcomes are counted."""
    outcomes: Counter = Counter()

    def check(value):
        outcome = target.check(value)
        outcomes[outcome] += 1
        return outcome

    return dataclasses.replace(target, check=check), outcomes


def test_project_files_and_model_names_get_a_2xx_or_one_4xx_line_and_refused_ones_change_nothing(tmp_path):
    """``POST api/project/import`` with mutations of the studio's own export of a real project (hostile
    entry names, doubled entries, clips that are not WAV, broken settings and models, bombs, sizes that
    lie) and ``POST api/models/<id>/rename`` with hostile names: a refused one leaves the project's
    folder byte for byte as it was, an accepted one a project the page, a new export and a second
    import of that export agree on (the checks are ``F.TransferCheck``'s)."""
    from pac.studio.server import Studio

    with (
        Studio(tmp_path / "project", port=0, warm=False) as studio,
        Studio(tmp_path / "empty", port=0, warm=False) as empty,
    ):
        target, outcomes = counted(F.transfer_target(studio, empty, tmp_path))
        fuzz(target, 250)
    assert outcomes["accepted"] and outcomes["refused"] and outcomes["rename refused"], outcomes
    assert outcomes["refused into an empty project"] + outcomes["accepted into an empty project"], outcomes


def test_a_classroom_student_never_reaches_another_students_project(tmp_path):
    """Requests with the attacker's cookie, forged, cut or foreign ones, validly signed ones for names
    that are no student's folder, on victims' names cased, encoded, decomposed or traversing: the
    victims' folders stay byte for byte as they were and no answer holds their names (the checks are
    ``F.ClassroomCheck``'s)."""
    from pac.studio.classroom import ClassroomStudio

    with ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False) as classroom:
        target, outcomes = counted(F.classroom_target(classroom))
        fuzz(target, 300)
    assert outcomes["200"] and outcomes["403"] and outcomes["301"], outcomes


# -- what the fuzz targets above found, kept as plain tests -------------------------------------------------


def test_a_project_file_whose_settings_name_a_profile_by_a_list_imports_into_an_empty_project(tmp_path):
    """A studio.json with ``"profile": ["paper"]`` imported into an empty project was a 500 (TypeError)
    after its clips had been moved in; now the clips come in and the profile stays the default."""
    from pac.studio.server import Studio

    with (
        Studio(tmp_path / "project", port=0, warm=False) as studio,
        Studio(tmp_path / "empty", port=0, warm=False) as empty,
    ):
        check = F.transfer_target(studio, empty, tmp_path).check
        wav = (F.shared_dir() / "data" / "fsdd" / "recordings" / "3_jackson_0.wav").read_bytes()
        for profile in (["paper"], {"name": "paper"}):
            settings = json.dumps({"format": "pac-studio-project", "profile": profile}).encode()
            body = F.rezip([("p/studio.json", settings), ("p/labels/three/a.wav", wav)])
            assert check(F.Transfer("import", body, empty=True)) == "accepted into an empty project"


def test_an_imported_model_whose_report_holds_other_types_shows_in_the_page_and_the_teachers(tmp_path):
    """An imported model's report.json is the file's: ``clips`` a number, a cross-validation whose
    ``clips`` is a number and ``accuracy`` a text made ``api/project`` (AttributeError, TypeError) and
    the classroom teacher's page (ValueError) answer 500."""
    from pac.studio.classroom import ClassroomStudio

    report = {"clips": 3, "cross_validation": {"accuracy": "high", "clips": 5}, "validation": {"accuracy": [1]}}
    files = {**F.model_files(), "report.json": json.dumps(report).encode()}
    body = F.rezip(
        [("p/studio.json", b'{"format": "pac-studio-project"}')]
        + [(f"p/models/m-20261202-111111/{name}", data) for name, data in files.items()]
    )
    with ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False) as classroom:
        check = F.classroom_target(classroom).check
        cookie = classroom.classroom.student_cookie(F.ATTACKER)
        request = F.ClassroomRequest(
            "POST",
            f"/s/{F.ATTACKER}/api/project/import",
            (
                ("Connection", "close"),
                ("Content-Length", str(len(body))),
                ("X-Pac-Studio", "1"),
                ("Cookie", f"pac-student={cookie}"),
            ),
            body,
        )
        assert check(request) == "200"
        teacher = (("Connection", "close"), ("Cookie", f"pac-teacher={classroom.classroom.teacher_cookie()}"))
        for path in (f"/s/{F.ATTACKER}/api/project", "/teacher", "/teacher/overview"):
            assert check(F.ClassroomRequest("GET", path, teacher, b"", teacher=True)) == "200", path


def test_a_project_with_a_long_mostly_silent_clip_exports_a_file_the_studio_imports(tmp_path):
    """A 29 s stereo 48 kHz clip that is digital silence but for a word (an editor's padding) is a clip
    the studio takes; deflated in the project's export it was more than 100:1 and the studio's own
    import refused its own export as "a zip bomb?" (the transfer check imports the file, exports the
    project and imports that export again)."""
    import numpy as np

    from pac.audio import read_wav
    from pac.studio.server import Studio

    word = read_wav(F.shared_dir() / "data" / "fsdd" / "recordings" / "0_jackson_0.wav")
    samples = np.zeros(48000 * 29, dtype=np.float32)
    snippet = np.repeat(word.samples[: word.rate // 4], 48000 // word.rate)
    samples[48000 : 48000 + len(snippet)] = snippet
    _, bits, pcm = F.encode(np.repeat(samples, 2), "pcm16")
    clip = F.riff(F.chunk(b"fmt ", F.fmt_body(F.PCM, 2, 48000, bits)) + F.chunk(b"data", pcm))
    with (
        Studio(tmp_path / "project", port=0, warm=False) as studio,
        Studio(tmp_path / "empty", port=0, warm=False) as empty,
    ):
        check = F.transfer_target(studio, empty, tmp_path).check
        studio.store.check_clip(clip, name="padded.wav")  # an upload would take it
        body = F.rezip([("p/studio.json", b'{"format": "pac-studio-project"}'), ("p/labels/padded/a.wav", clip)])
        assert check(F.Transfer("import", body)) == "accepted"
