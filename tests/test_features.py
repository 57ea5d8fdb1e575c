"""The feature configuration and the clip -> image pipeline."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import DATA, fsdd
from pac.audio import Audio, read_wav
from pac.errors import PacError
from pac.features import PROFILES, FeatureConfig, band_for_rates, load_config, methods
from pac.features import functional as F
from pac.features.config import METHODS
from pac.features.pipeline import analysis_window, clip_image, model_input, time_shifts_apply


def tone(freq: float, seconds: float, rate: int, *, amplitude: float = 0.5) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio(samples=amplitude * np.sin(2 * np.pi * freq * t), rate=rate, channels=1, source="tone")


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles_round_trip_through_json(name):
    config = PROFILES[name]
    text = config.to_json()
    assert FeatureConfig.from_json(text) == config
    assert json.loads(text)["schema_version"] == 1


def test_config_file_may_hold_only_changes(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"n_bands": 64, "colormap": "viridis"}')
    config = load_config(path)
    assert (config.n_bands, config.colormap, config.n_frames) == (64, "viridis", FeatureConfig().n_frames)


@pytest.mark.parametrize(
    "body, words",
    [
        ('{"n_bands": "x"}', ["n_bands", "whole number"]),
        ('{"bogus": 1}', ["unknown field", "bogus"]),
        ('{"freq_scale": "bark"}', ["freq_scale"]),
        ('{"f_min": 9000}', ["f_min < f_max"]),
        ("[1, 2]", ["JSON object"]),
        ("{nope", ["not valid JSON"]),
        ('{"n_frames": 100000000}', ["n_frames must be from 2 to 1024, not 100000000"]),
        ('{"image_size": 50000}', ["image_size must be from 2 to 1024, not 50000"]),
        ('{"active_db": NaN}', ["NaN is not valid JSON"]),
        ('{"f_min": -Infinity}', ["-Infinity is not valid JSON"]),
        pytest.param('{"name": ' + "[" * 5000 + "]" * 5000 + "}", ["JSON nested 5001 levels deep"], id="deep nesting"),
    ],
)
def test_bad_config_files_are_refused_naming_the_file(tmp_path, body, words):
    path = tmp_path / "bad.json"
    path.write_text(body)
    with pytest.raises(PacError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert "\n" not in message


def test_every_profile_and_the_config_of_every_kind_of_stored_model_still_loads(
    digits_model, compat_model, legacy_model
):
    from pac.modeldir import read_manifest

    for name, config in PROFILES.items():
        assert FeatureConfig.from_dict(config.to_dict()) == config, name
    fsdd_band = band_for_rates(PROFILES["default"], [8000])  # the models are trained on FSDD's 8 kHz clips
    assert read_manifest(digits_model).features == fsdd_band
    assert read_manifest(compat_model).features == PROFILES["pac-compat"]
    assert read_manifest(legacy_model).features == PROFILES["default"]  # written before the speech fields and f_limit


def test_unknown_profile_name_lists_the_profiles():
    with pytest.raises(PacError, match="default, paper"):
        load_config("no-such-profile")


# -- pure functions -------------------------------------------------------------------------------


def test_round_half_up_matches_javascript_math_round():
    assert [F.round_half_up(v) for v in (0.5, 1.5, 2.5, -0.5, 2.4999)] == [1, 2, 3, 0, 2]


def test_hann_is_periodic():
    w = F.hann(8)
    assert w[0] == 0.0 and w[4] == pytest.approx(1.0)
    assert np.allclose(w[1:4], w[7:4:-1])


def test_equal_size_resize_is_exactly_the_identity():
    image = np.random.default_rng(0).random((5, 7))
    assert np.array_equal(F.resize_bilinear(image, height=5, width=7), image)


def test_resize_rows_sum_to_one_and_interpolate_linearly():
    m = F.linear_resize_matrix(3, 6)
    assert np.allclose(m.sum(axis=1), 1.0)
    ramp = np.array([0.0, 1.0, 2.0])
    assert np.allclose(m @ ramp, [0.0, 0.25, 0.75, 1.25, 1.75, 2.0])


@pytest.mark.parametrize("rate, n_fft", [(8000, 512), (16000, 1024), (44100, 4096)])
def test_mel_filterbank_has_no_empty_band_below_nyquist_and_none_above(rate, n_fft):
    config = PROFILES["default"]
    bank = F.mel_filterbank(rate=rate, n_fft=n_fft, n_bands=config.n_bands, f_min=config.f_min, f_max=config.f_max)
    assert bank.shape == (config.n_bands, n_fft // 2 + 1)
    assert bank.max() <= 1.0 and bank.min() >= 0.0
    j = np.arange(config.n_bands + 2)
    lo, hi = F.hz_to_mel(config.f_min), F.hz_to_mel(config.f_max)
    edges = F.mel_to_hz(lo + j * (hi - lo) / (config.n_bands + 1))
    upper_edge, lower_edge = edges[2:], edges[:-2]
    assert bank[upper_edge <= rate / 2].sum(axis=1).min() > 0
    assert not bank[lower_edge >= rate / 2].any()


def test_window_start_picks_the_loudest_second():
    rate = 1000
    x = np.zeros(5000)
    x[3200:3700] = 1.0
    start = F.window_start(x, rate=rate, length=1000, select="energy")
    assert start <= 3200 and start + 1000 >= 3700


def test_active_window_centres_a_short_sound_and_shows_a_long_one_whole():
    rate = 1000  # 10-sample chunks
    x = np.full(5000, 1e-3)  # a quiet room, 40 dB below the sound
    x[3200:3400] = 0.1
    assert F.active_span(x, rate=rate, below_peak_db=30.0) == (3200, 3400)
    assert F.active_span(x, rate=rate, below_peak_db=50.0) == (0, 5000)  # the room counts as sound
    kw = dict(rate=rate, min_length=1000, max_length=2000, below_peak_db=30.0)
    assert F.active_window(x, **kw) == (3300 - 500, 1000)
    x[3200:3400] = 1e-3
    x[4900:] = 0.1  # a sound at the very end: the window stays inside the clip
    assert F.active_window(x, **kw) == (4000, 1000)
    x = np.full(5000, 1e-3)
    x[1000:2500] = 0.1  # 1.5 s of sound: shown whole
    assert F.active_window(x, **kw) == (1000, 1500)
    x[2500:4000] = 0.05  # 3 s of sound: its loudest 2 s
    assert F.active_window(x, **kw) == (1000, 2000)
    short = np.zeros(300)
    short[:100] = 0.1  # shorter than the window: the sound (not the clip) is centred, in zeros
    assert F.active_window(short, **kw) == (50 - 500, 1000)


def test_active_window_profile_shows_the_sound_wherever_it_is_in_the_recording():
    config = PROFILES["default"]
    assert config.window_select == "active"
    word = tone(1000.0, 0.4, 16000)
    images = []
    for offset in (0.75, 1.5, 2.0):
        samples = np.zeros(3 * 16000)
        samples[int(offset * 16000) : int(offset * 16000) + len(word.samples)] = word.samples
        images.append(clip_image(Audio(samples=samples, rate=16000, channels=1, source="placed"), config))
    assert np.array_equal(images[0], images[1]) and np.array_equal(images[1], images[2])


def test_short_clips_are_centred_in_the_window():
    assert F.window_start(np.ones(200), rate=1000, length=1000, select="energy") == -400
    window = F.cut(np.ones(200), start=-400, length=1000)
    assert window[:400].sum() == 0 and window[400:600].sum() == 200 and window[600:].sum() == 0


def test_trim_silence_removes_quiet_chunks_anywhere():
    rate = 1000
    x = np.concatenate([np.zeros(50), np.full(30, 0.5), np.zeros(40), np.full(20, 0.5), np.zeros(10)])
    kept = F.trim_silence(x, rate=rate, threshold_dbfs=-50.0)
    assert len(kept) == 50 and np.all(kept == 0.5)


def test_unit_decibels_puts_the_loudest_cell_at_one_and_floors_at_zero():
    power = np.array([[1.0, 1e-3], [1e-12, 0.0]])
    unit = F.unit_decibels(power, db_range=80.0)
    assert unit[0, 0] == 1.0
    assert unit[0, 1] == pytest.approx(1 - 30 / 80)
    assert unit[1, 0] == 0.0 and unit[1, 1] == 0.0
    assert np.array_equal(F.unit_decibels(np.zeros((2, 2)), db_range=80.0), np.zeros((2, 2)))


# -- pipeline -------------------------------------------------------------------------------------


def test_every_method_the_configuration_accepts_is_registered():
    assert sorted(methods.registered_methods()) == sorted(METHODS)
    with pytest.raises(KeyError, match="not registered"):
        methods.feature_method(SimpleNamespace(method="no-such-method"))


def test_the_pipeline_calls_the_registered_method(monkeypatch):
    fake = methods.FeatureMethod(
        analysis_window=lambda clip, config, *, shift_seconds: ("window", shift_seconds),
        spectrogram_image=lambda window, *, rate, config: ("image", window, rate),
    )
    monkeypatch.setitem(methods._METHODS, "test-only", fake)
    config = SimpleNamespace(method="test-only")
    clip = tone(440.0, 0.1, 8000)
    assert clip_image(clip, config, shift_seconds=0.25) == ("image", ("window", 0.25), 8000)
    assert not time_shifts_apply(config)
    assert [time_shifts_apply(PROFILES[name]) for name in ("default", "paper", "pac-compat")] == [True, False, False]


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_any_rate_gives_a_224_image_with_the_tone_in_the_right_band(rate):
    config = PROFILES["default"]
    image = clip_image(tone(1000.0, 1.0, rate), config)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    rows = image[:, :, 0].astype(float).mean(axis=1)
    peak_row = int(np.argmax(rows))
    # 1 kHz on the mel axis from 40 Hz to 8 kHz, low frequencies at the bottom.
    expected = 224 - 224 * (F.hz_to_mel(1000.0) - F.hz_to_mel(40.0)) / (F.hz_to_mel(8000.0) - F.hz_to_mel(40.0))
    assert abs(peak_row - expected) < 4


def test_same_tone_at_different_rates_gives_nearly_the_same_image():
    config = PROFILES["default"]
    a = clip_image(tone(440.0, 1.0, 16000), config).astype(float)
    b = clip_image(tone(440.0, 1.0, 44100), config).astype(float)
    lower = slice(112, 224)  # the bands below ~1.5 kHz, present at both rates
    assert np.abs(a[lower] - b[lower]).mean() < 6


@pytest.mark.parametrize(
    "path",
    [
        fsdd(1, "george", 0),  # 0.3 s at 8 kHz
        DATA / "speech_commands_v001" / "on" / "2f813234_nohash_1.wav",  # 1 s at 16 kHz
        DATA / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.wav",  # ~4 s at 16 kHz
    ],
)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_real_clips_of_every_length_become_images(path, profile):
    config = PROFILES[profile]
    clip = read_wav(path)
    image = clip_image(clip, config)
    assert image.shape == (224, 224, 3)
    assert image.std() > 10  # a real picture, not a blank
    x = model_input(image, config)
    assert x.dtype == np.float32 and -1.0 <= x.min() and x.max() <= 1.0 + 1e-6


def test_long_clip_window_is_the_loudest_second_under_energy():
    clip = read_wav(DATA / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.wav")
    config = dataclasses.replace(PROFILES["default"], window_select="energy")
    window = analysis_window(clip, config)
    assert len(window) == clip.rate
    energies = [np.sum(clip.samples[s : s + clip.rate] ** 2) for s in range(0, len(clip.samples) - clip.rate, 160)]
    assert np.sum(window**2) >= max(energies) * (1 - 1e-12)
    assert np.sum(window**2) > 0.5 * np.sum(clip.samples**2)


def test_long_sentence_is_shown_whole_without_the_silence_around_it():
    clip = read_wav(DATA / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.wav")  # 3.9 s, 1.8 s of it spoken
    config = PROFILES["default"]
    window = analysis_window(clip, config)
    assert config.window_seconds * clip.rate < len(window) < 0.6 * len(clip.samples)
    assert np.sum(window**2) > 0.99 * np.sum(clip.samples**2)


def test_features_are_deterministic_bit_for_bit():
    clip = read_wav(fsdd(7, "jackson", 3))
    for config in PROFILES.values():
        first = clip_image(clip, config)
        assert np.array_equal(first, clip_image(read_wav(fsdd(7, "jackson", 3)), config))


def test_shift_moves_the_content_in_time():
    clip = read_wav(fsdd(1, "george", 0))
    config = PROFILES["default"]
    base = analysis_window(clip, config)
    later = analysis_window(clip, config, shift_seconds=-0.1)
    assert np.array_equal(np.roll(base, 800), later)


def test_manifests_leave_out_speech_fields_at_their_defaults():
    """A model that keeps the speech front end's defaults is written exactly as before those fields
    existed, so earlier pages and pac versions read it; a changed field is written."""
    from pac.features.config import SPEECH_FIELDS

    default = PROFILES["default"]
    assert not set(SPEECH_FIELDS) & set(default.manifest_dict()) and set(SPEECH_FIELDS) <= set(default.to_dict())
    changed = FeatureConfig(speech_hop_frames=16)
    assert changed.manifest_dict()["speech_hop_frames"] == 16
    assert FeatureConfig.from_dict(changed.manifest_dict()) == changed
    assert FeatureConfig.from_dict(default.manifest_dict()) == default


def test_band_for_rates_sets_f_limit_to_the_lowest_nyquist_frequency_only_when_it_is_below_f_max():
    default = PROFILES["default"]
    assert band_for_rates(default, [16000, 48000]) is default
    assert band_for_rates(default, []) is default
    limited = band_for_rates(default, [48000, 11025, 16000])
    assert limited.f_limit == 5512.5 and dataclasses.replace(limited, f_limit=None) == default
    assert band_for_rates(limited, [11025]) is limited and band_for_rates(limited, [8000]).f_limit == 4000
    assert band_for_rates(PROFILES["pac-compat"], [8000]) is PROFILES["pac-compat"]  # MIT's features as they are
    assert "f_limit" not in default.manifest_dict() and limited.manifest_dict()["f_limit"] == 5512.5
    with pytest.raises(PacError, match="clips at 4,000 Hz hold nothing above 2000 Hz"):
        band_for_rates(dataclasses.replace(default, f_min=2500.0), [4000])
    with pytest.raises(PacError, match="f_limit is for method pac only"):
        dataclasses.replace(PROFILES["pac-compat"], f_limit=4000.0)
    # a linear band between two FFT bins (23.4 Hz apart at 48 kHz): one clear error, as in the page
    with pytest.raises(PacError, match="no FFT bin lies between f_min and f_max at 48000 Hz"):
        F.linear_bin_range(rate=48000, n_fft=2048, f_min=3990.0, f_max=8000.0, f_limit=4000.0)


def test_a_band_limited_model_sees_its_8khz_clip_recorded_at_48khz_in_hiss_as_it_learned_it():
    """An 8 kHz clip, and the same sound as a 48 kHz microphone in a room with hiss above 4.5 kHz:
    the default image differs in its top rows, the image of the clips' band barely."""
    from scipy.signal import resample_poly

    clip = read_wav(fsdd(1, "george", 0))
    assert clip.rate == 8000
    x48 = resample_poly(np.asarray(clip.samples, np.float64), 6, 1)
    spectrum = np.fft.rfft(np.random.default_rng(0).standard_normal(len(x48)))
    spectrum[np.fft.rfftfreq(len(x48), 1 / 48000) < 4500] = 0
    hiss = np.fft.irfft(spectrum, len(x48))
    hiss *= 0.1 * np.sqrt(np.mean(x48**2) / np.mean(hiss**2))  # 20 dB below the word
    room = Audio(x48 + hiss, 48000, 1, "room")

    def difference(config):
        return np.abs(clip_image(clip, config).astype(float) - clip_image(room, config).astype(float)).mean()

    default, band = PROFILES["default"], band_for_rates(PROFILES["default"], [clip.rate])
    assert band.f_limit == 4000
    assert difference(default) > 10  # of 255
    assert difference(band) < 0.4 * difference(default)
    # and at the training clips' own rate the image is the one it was without the limit
    for config in (default, PROFILES["paper"]):
        assert np.array_equal(clip_image(clip, config), clip_image(clip, band_for_rates(config, [clip.rate])))
