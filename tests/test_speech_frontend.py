"""The speech block's front end (pac.features.speech) against its reference, melspectrogram.onnx.

The reference is openWakeWord's ONNX export of the front end of Google's speech_embedding network
(../shared/models/speech_embedding), run by onnxruntime on the same 16 kHz samples: real clips of
every sample rate in ../shared/data, brought to 16 kHz by pac's own resampler first.  The resampler
is checked on sines (pass band, alias rejection) and against a plain per-sample evaluation of the
documented kernel formula.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import pytest

from conftest import DATA, SHARED, fsdd
from pac.audio import read_wav
from pac.features import PROFILES, FeatureConfig
from pac.features import speech as S
from pac.features.pipeline import analysis_window

SPEECH_MODELS = SHARED / "models" / "speech_embedding"
DEFAULT = PROFILES["default"]


def resample_default(x, rate):
    return S.resample(x, rate=rate, zeros=DEFAULT.speech_resample_zeros, rolloff=DEFAULT.speech_resample_rolloff)


@pytest.fixture(scope="module")
def onnx_front_end():
    """``samples16k -> dB [frames, 32]`` by melspectrogram.onnx (float32, int16 scale)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(SPEECH_MODELS / "melspectrogram.onnx"), providers=["CPUExecutionProvider"])

    def run(x16: np.ndarray) -> np.ndarray:
        out = session.run(None, {"input": (np.asarray(x16) * S.INT16_SCALE).astype(np.float32)[None, :]})[0]
        assert out.shape[1] == 1 and out.shape[3] == S.N_BANDS
        return out[0, 0].astype(np.float64)

    return run


def real_clips() -> list:
    """Real recordings of every rate in ../shared/data: 8 kHz FSDD digits, 16 kHz Speech Commands,
    RAVDESS (4 s), Arabic commands and background noise, 44.1 kHz instrument notes."""
    clips = [fsdd(d, s, i) for d, s, i in ((0, "george", 0), (3, "jackson", 7), (7, "lucas", 12), (9, "nicolas", 3))]
    for word in ("on", "stop", "seven"):
        clips += sorted((DATA / "speech_commands_v001" / word).glob("*.wav"))[:2]
    clips += sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[:2]
    clips += sorted((DATA / "ravdess" / "Actor_02").glob("*.wav"))[:1]
    clips += sorted((DATA / "arabic_speech_commands").rglob("*.wav"))[::40][:3]
    clips += sorted((DATA / "background_noise" / "exercise_bike").glob("*.wav"))[:1]
    for instrument in ("piano", "cello", "guitar_acoustic"):
        clips += sorted((DATA / "instruments" / instrument).glob("*.wav"))[:2]
    return clips


# -- log-mel against melspectrogram.onnx ----------------------------------------------------------


def test_mel_filterbank_is_the_onnx_matrix():
    """The formula (Slaney mel, slaney norm, 60-3800 Hz) gives the float32 matrix in the file."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(SPEECH_MODELS / "melspectrogram.onnx"))
    stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}["1.melW"].astype(np.float64)
    bank = S.mel_filterbank()
    assert bank.shape == stored.shape == (S.N_FFT // 2 + 1, S.N_BANDS)
    # float32 storage: at most one float32 rounding of the largest weights (~0.014 -> 9.3e-10).
    assert np.abs(bank - stored).max() <= 1e-9
    assert np.array_equal(bank != 0, stored != 0)
    assert S.mel_bin_range() == (2, 122)


def test_log_mel_matches_melspectrogram_onnx_on_real_clips(onnx_front_end):
    """Measured 1.7e-4 dB at most (float32 rounding inside the ONNX graph), 3e-6 dB on average."""
    rates, worst, total, count = set(), 0.0, 0.0, 0
    for path in real_clips():
        clip = read_wav(path)
        rates.add(clip.rate)
        x16 = resample_default(clip.samples, clip.rate)
        ours, reference = S.log_mel(x16), onnx_front_end(x16)
        assert ours.shape == reference.shape == ((len(x16) - S.N_FFT) // S.HOP + 1, S.N_BANDS), path
        diff = np.abs(ours - reference)
        worst, total, count = max(worst, float(diff.max())), total + float(diff.sum()), count + diff.size
        assert ours.max() - ours.min() <= S.TOP_DB
    print(
        f"\nlog_mel vs melspectrogram.onnx on {len(real_clips())} clips at {sorted(rates)} Hz: "
        f"max |diff| {worst:.2e} dB, mean {total / count:.1e} dB"
    )
    assert rates == {8000, 16000, 44100}
    assert worst <= 1e-3


def test_log_mel_of_an_analysis_window_and_of_silence(onnx_front_end):
    """A default-profile analysis window (zeros around the sound) and digital silence: the floor
    at the loudest value - 80 dB, and -100 dB everywhere for silence, as the ONNX front end."""
    clip = read_wav(fsdd(4, "george", 1))
    x16 = resample_default(analysis_window(clip, DEFAULT), clip.rate)
    ours = S.log_mel(x16)
    assert np.abs(ours - onnx_front_end(x16)).max() <= 1e-3
    assert np.isclose(ours.min(), ours.max() - S.TOP_DB)
    silence = S.log_mel(np.zeros(16000))
    assert np.array_equal(silence, onnx_front_end(np.zeros(16000)))
    assert np.all(silence == -100.0)


def test_log_mel_of_short_inputs_is_one_zero_padded_frame(onnx_front_end):
    rng = np.random.default_rng(1)
    for n in (1, 100, 511):
        x = 0.3 * rng.standard_normal(n)
        padded = np.concatenate([x, np.zeros(S.N_FFT - n)])
        ours = S.log_mel(x)
        assert ours.shape == (1, S.N_BANDS)
        assert np.array_equal(ours, S.log_mel(padded))
        assert np.abs(ours - onnx_front_end(padded)).max() <= 1e-3
    assert S.log_mel(np.zeros(0)).shape == (1, S.N_BANDS)
    # Frame count: samples after the last full frame are not used (center=False).
    assert S.log_mel(np.zeros(S.N_FFT + S.HOP - 1)).shape[0] == 1
    assert S.log_mel(np.zeros(S.N_FFT + S.HOP)).shape[0] == 2


def test_speech_frames_are_openwakewords_windows(onnx_front_end):
    """melspectrogram.onnx -> x/10 + 2 -> windows of 76 frames every 8 (openWakeWord's
    AudioFeatures._get_embeddings); speech_sequence is the whole sequence they are cut from."""
    clip = read_wav(sorted((DATA / "ravdess" / "Actor_02").glob("*.wav"))[0])
    assert clip.rate == 16000
    ours = S.speech_frames(clip.samples, rate=clip.rate, config=DEFAULT)
    spec = (onnx_front_end(clip.samples).astype(np.float32) / 10 + 2).astype(np.float32)
    theirs = np.stack([spec[i : i + 76] for i in range(0, len(spec), 8) if len(spec[i : i + 76]) == 76])
    assert ours.dtype == np.float32 and ours.shape == theirs.shape and ours.shape[1:] == (76, 32)
    assert np.abs(ours - theirs).max() <= 1e-4
    sequence = S.speech_sequence(clip.samples, rate=clip.rate, config=DEFAULT)
    assert sequence.shape == spec.shape and np.array_equal(ours, S.embedding_windows(sequence, hop_frames=8))


# -- resampling ----------------------------------------------------------------------------------

RATES = (8000, 11025, 22050, 44100, 48000)


def sine(freq, rate, seconds, *, phase=0.3, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate + phase)


@pytest.mark.parametrize("rate", RATES)
def test_resampling_reproduces_sines_in_the_mel_range(rate):
    """1 kHz and 3 kHz: measured error ~1e-5 of full scale away from the edges (the first and last
    16 zero crossings feel the zeros beyond the clip).  From 8 kHz the filter's transition band
    (cut-off 0.945 x 4 kHz) starts near 3.3 kHz: 3.5 kHz loses ~1 dB, inside the top mel band."""
    for freq in (1000.0, 3000.0) if rate == 8000 else (1000.0, 3000.0, 3500.0):
        y = resample_default(sine(freq, rate, 0.5), rate)
        ideal = sine(freq, 16000, len(y) / 16000)
        edge = math.ceil(DEFAULT.speech_resample_zeros * 16000 / min(rate, 16000)) + 1
        error = np.abs(y - ideal)[edge:-edge].max()
        assert error <= 1e-4, (rate, freq, error)
        assert np.abs(y - ideal).max() > 10 * error  # the edges do differ: the test sees errors


@pytest.mark.parametrize("rate", (22050, 44100, 48000))
def test_resampling_rejects_tones_above_the_target_nyquist(rate):
    """Tones that would alias into 0-8 kHz are removed: measured below -85 dB from 9 kHz up."""
    reference = np.sqrt(np.mean(sine(1000.0, 16000, 0.5)[200:-200] ** 2))
    for freq in (9000.0, 10000.0, 12000.0, min(20000.0, 0.45 * rate)):
        y = resample_default(sine(freq, rate, 0.5), rate)
        level = 20 * np.log10(np.sqrt(np.mean(y[200:-200] ** 2)) / reference)
        assert level <= -80.0, (rate, freq, level)
    # Without the filter the tone would be there at full level: the measure can fail.
    naive = sine(12000.0, rate, 0.5)[np.floor(np.arange(8000) * rate / 16000).astype(int)]
    assert 20 * np.log10(np.sqrt(np.mean(naive**2)) / reference) > -1.0


def reference_resample(x, rate, target, zeros, rolloff):
    """The documented kernel evaluated sample by sample with the math module (independent code)."""
    low = min(rate, target)
    half = zeros * rate / low
    c = rolloff * low / rate

    def i0(v):
        return sum((v / 2) ** (2 * k) / math.factorial(k) ** 2 for k in range(40))

    def h(d):
        if abs(d) >= half:
            return 0.0
        sinc = 1.0 if d == 0 else math.sin(math.pi * c * d) / (math.pi * c * d)
        return c * sinc * i0(S.KAISER_BETA * math.sqrt(1 - (d / half) ** 2)) / i0(S.KAISER_BETA)

    n_out = int(Fraction(len(x) * target, rate) + Fraction(1, 2))
    out = np.zeros(n_out)
    for n in range(n_out):
        t = Fraction(n * rate, target)
        lo, hi = math.floor(t - half), math.ceil(t + half)
        out[n] = sum(x[j] * h(float(t - j)) for j in range(max(lo, 0), min(hi + 1, len(x))))
    return out


@pytest.mark.parametrize(
    "rate,zeros,rolloff", [(44100, 16, 0.945), (8000, 16, 0.945), (48000, 8, 0.9), (11111, 16, 0.945), (22050, 4, 1.0)]
)
def test_resampling_is_the_documented_kernel(rate, zeros, rolloff):
    """Both loop orders (phase by phase; tap by tap for 11111 Hz, whose phase period is 16000)."""
    x = np.random.default_rng(rate).uniform(-1, 1, 700)
    ours = S.resample(x, rate=rate, zeros=zeros, rolloff=rolloff)
    expected = reference_resample(x, rate, 16000, zeros, rolloff)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() <= 1e-12


def test_resampled_length_rounds_halves_up():
    for n in (0, 1, 2, 3, 7, 441, 882, 12345, 44100):
        for rate in (8000, 11025, 22050, 32000, 44100, 48000, 11111):
            exact = Fraction(n * 16000, rate)
            expected = math.floor(exact + Fraction(1, 2))
            assert S.resampled_length(n, rate=rate, target=16000) == expected
            assert len(S.resample(np.zeros(n), rate=rate, zeros=16, rolloff=0.945)) == expected
    assert S.resampled_length(1, rate=32000, target=16000) == 1  # 0.5 -> 1 (half up)
    assert S.resampled_length(3, rate=32000, target=16000) == 2  # 1.5 -> 2


def test_resampling_at_the_target_rate_is_a_copy():
    x = read_wav(sorted((DATA / "speech_commands_v001" / "on").glob("*.wav"))[0]).samples
    y = S.resample(x, rate=16000, zeros=16, rolloff=0.945)
    assert y is not x and y.dtype == np.float64 and np.array_equal(x, y)


def test_resampling_a_4_second_44k_clip_is_fast():
    """Runs on every training clip and its augmented copies; measured ~5 ms (kernel table cached)."""
    x = read_wav(sorted((DATA / "instruments" / "piano").glob("*.wav"))[0]).samples
    x = np.tile(x, 3)[: 4 * 44100]
    resample_default(x, 44100)
    best = min(_timed(lambda: resample_default(x, 44100)) for _ in range(5))
    print(f"\nresample 4 s at 44.1 kHz -> 16 kHz: {best * 1000:.1f} ms")
    assert best < 0.05


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- padding and windows ---------------------------------------------------------------------------


def test_short_windows_are_centred_in_zeros_before_the_log_mel():
    assert S.WINDOW_SAMPLES == 12512
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 8001)
    padded = S.pad_to_window(x)
    left = (12512 - 8001) // 2
    assert len(padded) == 12512 and left == 2255
    assert np.array_equal(padded[left : left + 8001], x)
    assert not padded[:left].any() and not padded[left + 8001 :].any()
    assert S.pad_to_window(np.zeros(12512)).shape == (12512,)
    assert S.pad_to_window(np.zeros(20000)).shape == (20000,)
    assert S.log_mel(padded).shape == (S.WINDOW_FRAMES, S.N_BANDS)
    # speech_frames pads at 16 kHz: a 0.3 s 8 kHz digit gives one window of the centred sound.
    clip = read_wav(fsdd(0, "george", 0))
    short = clip.samples[:2400]
    frames = S.speech_frames(short, rate=8000, config=DEFAULT)
    expected = S.network_input(S.log_mel(S.pad_to_window(resample_default(short, 8000))))
    assert frames.shape == (1, 76, 32)
    assert np.array_equal(frames[0], expected)


def test_window_placement():
    assert S.window_starts(76, hop_frames=8).tolist() == [0]
    assert S.window_starts(100, hop_frames=8).tolist() == [0, 8, 16, 24]
    assert S.window_starts(101, hop_frames=8).tolist() == [0, 8, 16, 24]  # the tail is not embedded
    assert S.window_starts(97, hop_frames=8).tolist() == [0, 8, 16]
    assert S.window_starts(140, hop_frames=16).tolist() == [0, 16, 32, 48, 64]
    for bad in (0, 75):
        with pytest.raises(ValueError):
            S.window_starts(bad, hop_frames=8)
    for hop in (0, 1, 12):  # not a multiple of the network's stride
        with pytest.raises(ValueError):
            S.window_starts(100, hop_frames=hop)
    frames = np.random.default_rng(3).standard_normal((101, 32)).astype(np.float32)
    windows = S.embedding_windows(frames, hop_frames=8)
    assert windows.dtype == np.float32 and windows.shape == (4, 76, 32)
    for window, start in zip(windows, (0, 8, 16, 24)):
        assert np.array_equal(window, frames[start : start + 76])


def test_the_hop_is_a_multiple_of_the_networks_stride_in_every_configuration():
    from pac.errors import PacError
    from pac.features import FeatureConfig
    from pac.speech_base import TIME_STRIDE

    assert S.NETWORK_STRIDE == TIME_STRIDE == 8 == S.FRONT_END["network_stride"]
    assert FeatureConfig(speech_hop_frames=16).speech_hop_frames == 16
    with pytest.raises(PacError, match="multiple of 8"):
        FeatureConfig(speech_hop_frames=12)


def test_network_input_is_openwakewords_transform():
    db = np.array([[-100.0, -37.25, 0.0, 12.5]])
    out = S.network_input(db)
    assert out.dtype == np.float32
    assert out.tolist() == [[-8.0, np.float32(-1.725), 2.0, 3.25]]


def test_speech_frames_of_real_windows_follow_the_configuration():
    """A 1 s 16 kHz window: 97 frames -> windows at 0, 8, 16; config fields are used."""
    path = sorted((DATA / "speech_commands_v001" / "stop").glob("*.wav"))[0]
    clip = read_wav(path)
    window = analysis_window(clip, DEFAULT)
    assert len(window) == 16000
    frames = S.speech_frames(window, rate=clip.rate, config=DEFAULT)
    assert frames.shape == (3, 76, 32) and frames.dtype == np.float32
    hop16 = S.speech_frames(window, rate=clip.rate, config=FeatureConfig(speech_hop_frames=16))
    assert hop16.shape == (2, 76, 32) and np.array_equal(hop16[1], frames[2])
    note = read_wav(sorted((DATA / "instruments" / "cello").glob("*.wav"))[0])
    a = S.speech_frames(note.samples, rate=note.rate, config=DEFAULT)
    b = S.speech_frames(
        note.samples, rate=note.rate, config=FeatureConfig(speech_resample_zeros=4, speech_resample_rolloff=0.8)
    )
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_front_end_constants():
    assert S.FRONT_END == {
        "sample_rate": 16000,
        "frame_length": 400,
        "n_fft": 512,
        "hop": 160,
        "n_bands": 32,
        "f_min": 60.0,
        "f_max": 3800.0,
        "top_db": 80.0,
        "amin": 1e-10,
        "int16_scale": 32768.0,
        "window_frames": 76,
        "network_stride": 8,
        "network_divisor": 10.0,
        "network_offset": 2.0,
        "kaiser_beta": S.KAISER_BETA,
        "i0_terms": S.I0_TERMS,
    }
    from pac import runtime

    constants = runtime.page_constants({"labels": ["a", "b"]})
    assert constants["features"]["speech_front_end"] == S.FRONT_END
    assert np.allclose(S.bessel_i0(np.array([0.0, 1.0, 8.6])), np.i0([0.0, 1.0, 8.6]), rtol=1e-15, atol=0)
