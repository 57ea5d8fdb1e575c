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
target gets a hundred to a thousand inputs (about 20 s in all); the long runs are the bench's.
"""

from __future__ import annotations

import sys

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
