"""What models see, pinned: Python's images, network inputs, embeddings and probabilities against
tests/fixtures/golden/features.json (format, quantisation and tolerances: tests/golden.py).

A change of the default, paper or pac-compat profile's output fails here even when it is made the
same way in Python and JS (which the parity tests cannot see).  If it is intended, bump
``SCHEMA_VERSION`` and regenerate with ``.venv/bin/python tests/golden.py --write``.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import golden
from pac.features import PROFILES, FeatureConfig
from pac.features.config import OPTIONAL_FIELDS, SCHEMA_VERSION
from pac.features.pipeline import analysis_window, clip_image, model_input
from pac.features.speech import speech_sequence

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stored() -> dict:
    return golden.read_golden()


@pytest.fixture(scope="module")
def observed() -> dict:
    """Every pinned stage of every profile and clip, computed now (MobileNet and the speech network
    from ../shared, the fixed heads of tests/golden.py)."""
    return golden.observe_profiles()


def entry(stored: dict, profile: str) -> dict:
    """The stored entry of ``profile`` for the current schema version, or a failure saying what to do."""
    name = golden.key(profile, SCHEMA_VERSION)
    if name not in stored["entries"]:
        pytest.fail(
            f"no golden values for {name} (SCHEMA_VERSION is {SCHEMA_VERSION}): generate them with "
            f".venv/bin/python {golden.REGENERATE}"
        )
    return stored["entries"][name]


def test_the_clips_are_the_recorded_ones(stored):
    """The clips (and the stereo clip built from two of them) are byte for byte those of the file."""
    assert golden.clip_identities() == stored["clips"], (
        "the golden clips under ../shared (or tests/golden.py's stereo builder) changed"
    )
    rates = {c["rate"] for c in stored["clips"].values()}
    assert rates == {8000, 16000, 44100} and {c["channels"] for c in stored["clips"].values()} == {1, 2}


@pytest.mark.parametrize("profile", golden.PROFILE_NAMES)
def test_the_profiles_fields_are_those_of_their_schema_version(stored, profile):
    recorded = entry(stored, profile)["config"]
    # an optional field added after the record was written reads, missing, as its default (as in pac.json)
    defaults = FeatureConfig().to_dict()
    recorded = {**{k: defaults[k] for k in OPTIONAL_FIELDS if k not in recorded}, **recorded}
    now = golden.config_of(profile).to_dict()
    changed = sorted(k for k in set(now) | set(recorded) if now.get(k, "missing") != recorded.get(k, "missing"))
    assert not changed, golden.changed_message(
        profile, [f"config field(s) {', '.join(changed)} differ from schema version {SCHEMA_VERSION}'s"]
    )


@pytest.mark.parametrize("profile", golden.PROFILE_NAMES)
def test_what_models_see_is_unchanged(stored, observed, profile):
    changed, close = golden.differences(entry(stored, profile), observed[profile])
    if close:
        print(f"\n{profile}: within tolerance but not bit-identical: " + "; ".join(close))
    assert not changed, golden.changed_message(profile, changed)


def test_every_stage_is_pinned(stored):
    """The default profile pins both networks' inputs and outputs; the conv-head profiles MobileNet's."""
    for profile in golden.PROFILE_NAMES:
        stages = {s for clip in entry(stored, profile)["clips"].values() for s in clip}
        both = set(golden.KINDS) if profile == "default" else set(golden.KINDS) - {"speech_frames", "speech_embedding"}
        assert stages == both, profile
        assert set(entry(stored, profile)["clips"]) == set(golden.CLIPS)


# -- the comparison can fail --------------------------------------------------------------------


def _stored_clip(stored, profile: str, clip: str = "commands-16k-1s") -> dict:
    return entry(stored, profile)["clips"][clip]


def _decoded(profile_config, clip: str = "commands-16k-1s"):
    return golden.decoded(golden.clip_bytes(clip), clip, profile_config)


@pytest.mark.parametrize(
    "profile, change",
    [
        ("default", {"f_max": 7600.0}),
        ("default", {"n_bands": 64}),
        ("default", {"db_range": 70.0}),
        ("default", {"window_seconds": 0.9}),
        ("paper", {"f_max": 6000.0}),
        ("paper", {"frame_seconds": 0.03}),
        ("pac-compat", {"mpl_noverlap": 256}),
        ("pac-compat", {"trim_silence_dbfs": -40.0}),
    ],
)
def test_a_changed_field_changes_the_image(stored, profile, change):
    config = dataclasses.replace(golden.config_of(profile), **change)
    found = golden.compare("image", _stored_clip(stored, profile)["image"], clip_image(_decoded(config), config))
    assert found is not None and found[0] == "changed", (change, found)


def test_a_changed_speech_field_or_input_scale_is_reported(stored):
    """The resampling fields matter for clips not at 16 kHz, most when up-sampling (8 kHz: the cut-off
    lies inside the front end's 60-3800 Hz); even 16 -> 15 zero crossings is seen."""
    default = PROFILES["default"]
    fsdd = _stored_clip(stored, "default", "fsdd-8k-0.43s")
    for change in (
        {"speech_resample_rolloff": 0.9},
        {"speech_resample_zeros": 8},
        {"speech_resample_zeros": 15},
        {"speech_resample_rolloff": 0.94},
    ):
        config = dataclasses.replace(default, **change)
        clip = _decoded(config, "fsdd-8k-0.43s")
        frames = speech_sequence(analysis_window(clip, config), rate=clip.rate, config=config)
        found = golden.compare("speech_frames", fsdd["speech_frames"], frames)
        assert found is not None and found[0] == "changed", (change, found)
    record = _stored_clip(stored, "default")
    image = clip_image(_decoded(default), default)
    assert golden.compare("image", record["image"], image) is None
    shifted = dataclasses.replace(default, input_offset=-0.99)
    assert golden.compare("input", record["input"], model_input(image[None], shifted)[0])[0] == "changed"


def test_float_noise_is_tolerated_but_not_more(stored):
    """A few pixels one level off and embeddings off by 1e-6 relative pass (as 'close'); a 1 % change
    of an embedding or a block of pixels moved by 2 levels does not."""
    record = _stored_clip(stored, "default")
    image = clip_image(_decoded(PROFILES["default"]), PROFILES["default"])
    noisy = image.copy()
    noisy[[3, 50, 100, 200], [7, 60, 100, 220], 1] ^= 1
    assert golden.compare("image", record["image"], noisy)[0] == "close"
    shifted = image.astype(int)
    shifted[:16, :16, 0] = np.clip(shifted[:16, :16, 0] + 2, 0, 255)
    assert golden.compare("image", record["image"], shifted.astype(np.uint8))[0] == "changed"
    for stage in ("speech_embedding", "mobilenet_embedding", "probabilities"):
        values = np.asarray(record[stage]["summary"]["values"])
        found = golden.compare(stage, record[stage], values * (1 + 1e-6))
        assert found is None or found[0] == "close", (stage, found)
        bigger = values + 0.01 * np.abs(values).max()
        assert golden.compare(stage, record[stage], bigger)[0] == "changed", stage


def test_the_failure_says_what_to_do():
    text = golden.changed_message("default", ["fsdd-8k-0.43s image: digest differs"])
    assert "what models see has changed" in text and "SCHEMA_VERSION" in text and golden.REGENERATE in text


def test_writing_refuses_to_replace_a_schema_versions_values(stored, tmp_path):
    path = tmp_path / "features.json"
    path.write_text(json.dumps(stored), encoding="utf-8")
    some = {golden.key("default", SCHEMA_VERSION): entry(stored, "default")}
    with pytest.raises(SystemExit, match="not rewritten"):
        golden.write(path, some, overwrite=False)
    later = {golden.key("default", SCHEMA_VERSION + 1): entry(stored, "default")}
    golden.write(path, later, overwrite=False)
    assert set(golden.read_golden(path)["entries"]) == set(stored["entries"]) | set(later)
    assert golden.read_golden(path)["clips"] == stored["clips"]
