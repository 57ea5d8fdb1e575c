"""Feature profile pac-compat: MIT's Personal Audio Classifier spectrogram, checked against the real thing.

pydub (a test-only dependency) runs MIT's server's silence removal on the same WAV files, and real
matplotlib (Agg, 10 x 10 inches at 100 dpi, axes filling the figure, axis off) draws the same
spectrograms; pac's numpy emulation must give the same samples and the same pixels.
"""

from __future__ import annotations

import io
import json
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, fsdd
from pac.audio import Audio, read_wav
from pac.errors import PacError
from pac.features import PROFILES, FeatureConfig, canvas, load_config
from pac.features import compat as C
from pac.features.compat import compat_window, mpl_colormap_table
from pac.features.pipeline import clip_image, model_input

COMPAT = PROFILES["pac-compat"]

# Real clips of every kind: 8 kHz digits, 16 kHz words (one entirely below -50 dBFS), 16 kHz
# emotional sentences with silence at both ends, 16 kHz noise.
REAL_CLIPS = [
    fsdd(1, "george", 0),
    fsdd(7, "jackson", 3),
    fsdd(9, "lucas", 11),
    fsdd(0, "nicolas", 5),
    DATA / "speech_commands_v001" / "on" / "2f813234_nohash_1.wav",
    DATA / "speech_commands_v001" / "two" / "51055bda_nohash_4.wav",
    DATA / "speech_commands_v001" / "stop" / "1eddce1d_nohash_3.wav",
    DATA / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.wav",
    DATA / "ravdess" / "Actor_02" / "03-01-04-01-02-02-02.wav",
    DATA / "background_noise" / "exercise_bike" / "exercise_bike_t003s.wav",
]


def write_wav(path: Path, samples: np.ndarray, rate: int, *, bits: int = 16) -> Path:
    """A PCM WAV (channels last axis) written with the standard library."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    top = 1 << (bits - 1)
    ints = np.clip(np.round(data * top), -top, top - 1).astype(np.int64)
    raw = (ints + 128).astype(np.uint8).tobytes() if bits == 8 else ints.astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(bits // 8)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def speechlike(rate: int, seconds: float, *, gaps=(), seed: int = 0, level: float = 0.3) -> np.ndarray:
    """Noise-modulated tones with digital-silence gaps ``[(start, end), ...]`` in seconds."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = level * (
        np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.3 * rng.standard_normal(len(t))
    )
    x *= np.clip(np.minimum(t, seconds - t) * 20, 0, 1)  # fade in and out
    for a, b in gaps:
        x[int(a * rate) : int(b * rate)] = 0.0
    return np.clip(x, -1, 1)


def synthetic_clips(folder: Path) -> list[Path]:
    """Rates and shapes the real clips lack: 44.1/48 kHz (Hanning path), long (downscaling), gaps."""
    return [
        write_wav(folder / "48k.wav", speechlike(48000, 1.2, gaps=[(0.5, 0.53)]), 48000),  # 1.2 s: Hanning
        write_wav(folder / "44k1.wav", speechlike(44100, 1.0, seed=1), 44100),  # fractional ms
        write_wav(folder / "22k05.wav", speechlike(22050, 0.8, gaps=[(0.3, 0.31)], seed=2), 22050),
        write_wav(folder / "16k-long.wav", speechlike(16000, 9.0, seed=3), 16000),  # > 1000 columns
        write_wav(folder / "8k-gap.wav", speechlike(8000, 0.9, gaps=[(0.4, 0.47)], seed=4), 8000),
        write_wav(
            folder / "stereo.wav",
            np.stack([speechlike(16000, 0.7, seed=5), speechlike(16000, 0.7, seed=6)], axis=1),
            16000,
        ),
    ]


# -- configuration -------------------------------------------------------------------------------


def test_profile_is_registered_and_round_trips():
    assert load_config("pac-compat") is COMPAT
    assert (
        COMPAT.method,
        COMPAT.mpl_nfft,
        COMPAT.mpl_noverlap,
        COMPAT.mpl_pixels,
        COMPAT.browser_size,
        COMPAT.pcm_bits,
        COMPAT.trim_silence_dbfs,
        COMPAT.colormap,
        COMPAT.image_size,
    ) == ("pac-compat", 512, 384, 1000, 200, 16, -50.0, "viridis", 224)
    assert COMPAT.input_scale == 1 / 127 and COMPAT.input_offset == -1.0
    assert FeatureConfig.from_json(COMPAT.to_json()) == COMPAT


@pytest.mark.parametrize("name", ["default", "paper"])
def test_configurations_without_the_new_fields_keep_their_meaning(name):
    old = json.loads(PROFILES[name].to_json())
    for key in ("method", "mpl_nfft", "mpl_noverlap", "mpl_pixels", "browser_size", "pcm_bits"):
        del old[key]
    config = FeatureConfig.from_dict(old)
    assert config == PROFILES[name] and config.method == "pac"
    clip = read_wav(fsdd(3, "george", 2))
    assert np.array_equal(clip_image(clip, config), clip_image(clip, PROFILES[name]))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"method": "mit"}, ["method must be one of pac, pac-compat"]),
        ({"pcm_bits": 24}, ["pcm_bits"]),
        ({"mpl_pixels": 999}, ["multiple of 3"]),
        ({"browser_size": 250}, ["odd multiple"]),
        ({"mpl_noverlap": 512}, ["mpl_noverlap"]),
    ],
)
def test_bad_compat_fields_are_refused(change, words):
    with pytest.raises(PacError) as info:
        FeatureConfig.from_dict({**json.loads(COMPAT.to_json()), **change}, source="x.json")
    for word in words:
        assert word in str(info.value)


# -- MIT's server: silence removal ---------------------------------------------------------------


def mit_silence_removal(path: Path, threshold: float = -50.0) -> np.ndarray:
    """MIT's server's procedure, written with pydub's public API (our reference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
        from pydub.silence import split_on_silence

    sound = AudioSegment.from_file(str(path), format="wav").set_channels(1)

    def leading(segment):
        position = 0
        while segment[position : position + 10].dBFS < threshold and position < len(segment):
            position += 10
        return position

    start, end = leading(sound), leading(sound.reverse())
    sound = sound[start : len(sound) - end]
    pieces = split_on_silence(sound, min_silence_len=10, silence_thresh=threshold, keep_silence=0)
    if pieces:
        sound = sum(pieces[1:], pieces[0])
    return np.array(sound.get_array_of_samples(), dtype=np.float64)


def need_pydub():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Couldn't find ffmpeg": not needed for WAV files
        import pydub  # noqa: F401 - the test extra; a missing one fails, never skips


def test_silence_removal_matches_pydub_on_real_and_synthetic_clips(tmp_path):
    need_pydub()
    clips = REAL_CLIPS + synthetic_clips(tmp_path)
    for path in clips:
        expected = mit_silence_removal(path)
        got = compat_window(read_wav(path), COMPAT) * 32768
        if len(expected) == 0:  # MIT's server failed on it; pac keeps the whole clip
            assert path.name == "51055bda_nohash_4.wav"
            assert np.array_equal(got, C.pcm_integers(read_wav(path).samples, bits=16) * 1.0)
            continue
        assert np.array_equal(got, expected), f"{path.name}: {len(got)} vs {len(expected)} samples"


def test_silence_removal_of_8_bit_audio_with_pcm_bits_8(tmp_path):
    need_pydub()
    path = write_wav(tmp_path / "u8.wav", speechlike(11025, 0.6, gaps=[(0.2, 0.25)], level=0.2), 11025, bits=8)
    config = FeatureConfig.from_dict({**json.loads(COMPAT.to_json()), "pcm_bits": 8})
    assert np.array_equal(compat_window(read_wav(path), config) * 128, mit_silence_removal(path))


def test_pydub_lengths_round_half_to_even():
    assert C.pydub_length_ms(441, 44100) == 10  # 10.0 ms
    assert C.pydub_length_ms(12, 8000) == 2  # 1.5 ms -> 2
    assert C.pydub_length_ms(20, 8000) == 2  # 2.5 ms -> 2 (half to even)
    assert C.pydub_frame(-3, rate=8000, length_ms=10) == 56  # 7 ms from the end


# -- MIT's server: the matplotlib figure ----------------------------------------------------------


def real_matplotlib_png(samples: np.ndarray, rate: int) -> np.ndarray:
    """The 1000 x 1000 RGB figure as MIT's server saved it, drawn by the installed matplotlib."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(real_matplotlib_png_bytes(samples, rate))).convert("RGB"))


def real_matplotlib_png_bytes(samples: np.ndarray, rate: int) -> bytes:
    """The PNG file MIT's server sent (``savefig(dpi=100)`` of its figure), by the installed matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots(1)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    fig.set_size_inches(10, 10)
    ax.axis("off")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # log10(0) in silent segments, as on MIT's server
        ax.specgram(x=samples.astype(np.int16), Fs=rate, noverlap=384, NFFT=512)
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, format="png")
    return buffer.getvalue()


def emulated_figure(samples: np.ndarray, rate: int, rows, cols) -> np.ndarray:
    db = C.mpl_specgram_db(samples, rate=rate, nfft=512, noverlap=384)
    return C.mpl_canvas(db, pixels=1000, rows=rows, cols=cols, lut=mpl_colormap_table("viridis"))


def test_figure_pixels_equal_real_matplotlib(tmp_path):
    """Every pixel the browser samples, on every kind of clip; the whole figure on four of them.

    Measured here (the assertion is exactness): mean and max absolute pixel difference 0 on the
    200 x 200 sampled pixels of all 18 figures and on all 10^6 pixels of the 5 whole ones, covering
    matplotlib's nearest path (< 334 segments), its Hanning path (334 - 1000 segments, 44.1/48 kHz
    clips), the downscaling Hanning path (> 1000 segments) and silent segments (minus infinity,
    drawn white).
    """
    positions = canvas.centre_positions(1000, 200)
    whole = {"1_george_0.wav", "48k.wav", "16k-long.wav"}
    cases = []
    for path in REAL_CLIPS + synthetic_clips(tmp_path):
        clip = read_wav(path)
        cases.append((path.name, compat_window(clip, COMPAT) * 32768, clip.rate, path.name in whole))
    # the RAVDESS clip untrimmed: 480 segments, some silent (Hanning path with "bad" cells), whole
    ravdess = read_wav(REAL_CLIPS[7])
    cases.append(("untrimmed " + REAL_CLIPS[7].name, C.pcm_integers(ravdess.samples, bits=16), ravdess.rate, True))
    # an 8 kHz clip with 70 ms of digital silence, untrimmed: nearest path with "bad" cells, whole
    gap = read_wav(tmp_path / "8k-gap.wav")
    cases.append(("untrimmed 8k-gap.wav", C.pcm_integers(gap.samples, bits=16), gap.rate, True))
    for name, samples, rate, full in cases:
        real = real_matplotlib_png(samples, rate)
        rows = np.arange(1000) if full else positions
        mine = emulated_figure(samples, rate, rows, rows)
        diff = np.abs(mine.astype(int) - real[rows][:, rows].astype(int))
        assert diff.max() == 0, f"{name}: mean {diff.mean():.4f}, max {diff.max()} over {diff.size} values"


def test_paths_of_matplotlib_are_all_exercised(tmp_path):
    columns = {}
    for path in synthetic_clips(tmp_path):
        samples = compat_window(read_wav(path), COMPAT) * 32768
        columns[path.name] = C.mpl_specgram_db(samples, rate=read_wav(path).rate, nfft=512, noverlap=384).shape[1]
    assert 334 <= columns["48k.wav"] <= 1000  # Hanning, upscaling
    assert columns["16k-long.wav"] > 1000  # Hanning, downscaling
    assert columns["8k-gap.wav"] < 334  # nearest


def test_agg_hanning_table_is_normalised_and_symmetric():
    lut = C.agg_hanning_lut()
    assert lut.shape == (512,) and lut[255] == 16384 and lut[511] == 0
    assert all(lut[i] + lut[i + 256] == 16384 for i in range(256))


def test_agg_dda_reaches_both_ends_evenly():
    values = C.agg_dda(123, 122770, 999)
    assert values[0] == 123 and values[-1] == 122770 and len(values) == 1000
    steps = np.diff(values)
    assert steps.max() - steps.min() <= 1


# -- the browser ---------------------------------------------------------------------------------


def test_browser_steps():
    assert list(canvas.centre_positions(1000, 200)[:3]) == [2, 7, 12]
    assert canvas.centre_positions(1000, 200)[-1] == 997
    assert canvas.mip_level(1000, 200) == 2 and canvas.mip_level(600, 200) == 1 and canvas.mip_level(200, 200) == 0
    first, second, weight = canvas.bilinear_taps(250, 200)  # 1.25 o + 0.125: quarters + 1/8
    assert list(first[:4]) == [0, 1, 2, 3] and list(second[:4]) == [1, 2, 3, 4] and list(weight[:4]) == [2, 6, 10, 14]
    index = C.nearest_resize_indices(200, 224)
    assert index[0] == 0 and index[-1] == 199 and list(index[27:30]) == [24, 25, 25]
    # TF.js 1.x CPU: floor(o * (200 / 224)) in float64 gives the same indices
    assert list(index) == [int(np.floor(o * (200 / 224))) for o in range(224)]
    pixels = np.arange(256, dtype=np.uint8)[None, :, None].repeat(3, axis=2)
    x = model_input(pixels, COMPAT)
    tfjs = (pixels.astype(np.float32) / np.float32(127)) - np.float32(1)  # float32 as TF.js computes
    assert np.abs(x - tfjs).max() <= 2.4e-7


def test_compat_image_is_the_real_figure_drawn_by_the_browser():
    clip = read_wav(DATA / "speech_commands_v001" / "on" / "2f813234_nohash_1.wav")
    image = clip_image(clip, COMPAT)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    figure = real_matplotlib_png(compat_window(clip, COMPAT) * 32768, clip.rate)
    index = C.nearest_resize_indices(200, 224)
    assert COMPAT.downscale == "mipmap-bilinear"
    drawn = canvas.draw(figure, 200, downscale="mipmap-bilinear")
    assert np.array_equal(image, drawn[index][:, index])
    # a model made before the field existed: its stored configuration has no "downscale"
    stored = {k: v for k, v in COMPAT.to_dict().items() if k != "downscale"}
    old = FeatureConfig.from_dict(stored)
    assert old.downscale == "centre" and "downscale" not in old.manifest_dict()
    centre = canvas.centre_positions(1000, 200)
    assert np.array_equal(clip_image(clip, old), figure[centre][:, centre][index][:, index])
    area = FeatureConfig.from_dict({**stored, "downscale": "area"})
    assert np.array_equal(clip_image(clip, area), canvas.draw(figure, 200, downscale="area")[index][:, index])


def test_canvas_filters_by_hand():
    """halve, bilinear and area on small arrays whose answers are worked out by hand."""
    a = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]], dtype=np.uint8)[..., None]
    assert canvas.halve(a)[..., 0].tolist() == [[2, 4], [10, 12]]  # (0+1+4+5)>>2 = 2
    odd = np.array([[0, 4, 8], [0, 4, 8]], dtype=np.uint8)[..., None]  # 1-2-1 across, box down
    assert canvas.halve(odd)[..., 0].tolist() == [[4]]
    assert canvas.area(a, 2)[..., 0].tolist() == [[3, 5], [11, 13]]  # 2.5 -> 3 (half up)
    ramp = np.array([[0, 160]] * 2, dtype=np.uint8)[..., None]
    # 2 -> 3: sample points 1/6 - 1/2 (clamped to 0), 1/2, 7/6 -> subpixels 0, 8, (15 clamped pixel)
    assert canvas.bilinear(ramp, 3)[0, :, 0].tolist() == [0, 80, 160]
    with pytest.raises(ValueError):
        canvas.draw(a, 2, downscale="lanczos")


def test_the_configuration_accepts_exactly_the_canvas_filters_pac_draws():
    """config.DOWNSCALES (what a model's pac.json may say, and the page's schema) and canvas.DOWNSCALES (what
    canvas.draw and the training's canvas copies use) are two lists: a filter in one only would be a model
    that cannot be drawn (a ValueError traceback) or a filter no model may name."""
    from pac.features import config

    assert sorted(config.DOWNSCALES) == sorted(canvas.DOWNSCALES)  # the page's schema takes config's list
    assert FeatureConfig().downscale == "centre"  # what a stored configuration without the field means


def test_a_clip_too_quiet_for_pydub_keeps_all_its_samples():
    rate = 16000
    x = 0.002 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)  # -54 dBFS: every chunk is "silent"
    clip = Audio(samples=np.floor(x * 32768) / 32768, rate=rate, channels=1, source="quiet")
    assert len(compat_window(clip, COMPAT)) == rate
    assert clip_image(clip, COMPAT).std() > 10


def test_pac_compat_training_adds_a_copy_per_other_canvas_filter(tmp_path):
    """With canvas_copies (off by default), each training image is also drawn with every other canvas
    filter, and such a copy is the clip drawn with that filter."""
    from dataclasses import replace

    from pac.activations import Variant, variant_image
    from pac.dataset import load_dataset
    from pac.train import PAPER, TrainOptions, _plan

    for label, digit in (("one", 1), ("two", 2)):
        (tmp_path / label).mkdir()
        for index in (0, 1):
            (tmp_path / label / f"{index}.wav").write_bytes(fsdd(digit, "george", index).read_bytes())
    dataset = load_dataset(tmp_path, COMPAT)
    assert TrainOptions().canvas_copies == 0 and PAPER.canvas_copies == 0
    plain = _plan(
        dataset,
        config=COMPAT,
        options=TrainOptions(head="conv", validation_fraction=0.0),
        noise=None,
        train_indices=None,
    )
    assert all(v.downscale is None for variants in plain.variants for v in variants)
    options = TrainOptions(head="conv", validation_fraction=0.0, canvas_copies=1)
    plan = _plan(dataset, config=COMPAT, options=options, noise=None, train_indices=None)
    assert C.other_downscales(COMPAT) == ("centre", "area")
    for variants in plan.variants:  # the clean image and a noisy copy, each drawn three ways
        assert [v.downscale for v in variants] == [None, None, "centre", "centre", "area", "area"]
        assert variants[2] == replace(variants[0], downscale="centre")
    default = _plan(dataset, config=PROFILES["default"], options=options, noise=None, train_indices=None)
    assert all(v.downscale is None for variants in default.variants for v in variants)
    clip = dataset.clips[0].audio
    figure = real_matplotlib_png(compat_window(clip, COMPAT) * 32768, clip.rate)
    index = C.nearest_resize_indices(200, 224)
    copy = variant_image(clip, COMPAT, Variant(downscale="area"))
    assert np.array_equal(copy, canvas.draw(figure, 200, downscale="area")[index][:, index])
    assert Variant(downscale="area").describe(None) == {"shift": 0.0, "downscale": "area"}
    assert Variant().describe(None) == {"shift": 0.0}  # cache keys of the other variants unchanged
