"""The 5-shot benchmark's tasks (see ``accuracy.py``), built only from the recordings in ``../shared/data``.

Each task is a few labels with a list of clip paths per label.  ``group`` is the test case it stands
for (the PAC paper's numbers / words / voices / emotion, and beyond the paper: arabic, instruments);
``multi_speaker`` marks the words/digits tasks in which every clip of a label is from another
speaker (Speech Commands, Arabic multi-speaker), reported as a separate mean because they are the
hard case for a 5-clip classifier.  ``key`` is the short name ``--tasks`` selects.

Rows that existed before keep their labels, clip order and hence their splits, so their numbers stay
comparable with earlier tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from pac.audio import Audio, read_wav
from pac.dataset import Dataset, LabelledClip
from pac.features import FeatureConfig
from pac.features.pipeline import load_clip

SHARED = Path(os.environ.get("PAC_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "data"
NOISE_DIR = DATA / "background_noise"
SHOTS = 5

#: Task groups, in table order.
GROUPS = ("numbers", "words", "voices", "emotion", "arabic", "instruments")

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
RAVDESS_EMOTIONS = {"angry": "05", "happy": "03", "sad": "04"}


@dataclass(frozen=True)
class Task:
    """A labelled set of clip paths.

    ``placed``: each clip is put at a random place in a 3 s recording of room noise (a background
    clip 30 dB below the word's RMS), like a phone recording started before and stopped after the
    word; the same recordings every run (:func:`place_in_noise`).
    """

    key: str
    name: str
    group: str
    labels: tuple[str, ...]
    paths: tuple[tuple[Path, ...], ...]  # per label
    multi_speaker: bool = False
    placed: bool = False

    def dataset(self, config: FeatureConfig) -> Dataset:
        clips = [
            LabelledClip(path=p, label=i, audio=load_clip(p, config))
            for i, group in enumerate(self.paths)
            for p in group
        ]
        if self.placed:
            rng = np.random.default_rng(7)
            noise = [read_wav(p) for p in sorted(NOISE_DIR.rglob("*.wav"))]
            clips = [replace(c, audio=place_in_noise(c.audio, noise[rng.integers(len(noise))], rng)) for c in clips]
        return Dataset(root=DATA, labels=self.labels, clips=tuple(clips))

    @property
    def clips_per_label(self) -> tuple[int, ...]:
        return tuple(len(g) for g in self.paths)

    @property
    def test_clips(self) -> int:
        return sum(len(g) - SHOTS for g in self.paths)

    def check(self) -> None:
        """Every label has more than :data:`SHOTS` clips and every file exists."""
        for label, group in zip(self.labels, self.paths):
            missing = [p for p in group if not p.is_file()]
            if missing or len(group) <= SHOTS:
                raise FileNotFoundError(
                    f"{self.key}: label {label!r} has {len(group) - len(missing)} clips"
                    + (f" (missing {missing[0]})" if missing else "")
                    + f"; needs more than {SHOTS} (data in {DATA})"
                )


def place_in_noise(
    clip: Audio, noise: Audio, rng: np.random.Generator, *, seconds: float = 3.0, below_db: float = 30.0
) -> Audio:
    """``clip`` at a random place in ``seconds`` of ``noise`` (looped, resampled) ``below_db`` under its RMS."""
    n = int(seconds * clip.rate)
    g = np.gcd(noise.rate, clip.rate)
    background = np.resize(resample_poly(noise.samples, clip.rate // g, noise.rate // g), n)
    rms = lambda x: np.sqrt(np.mean(x**2))  # noqa: E731
    background = background / rms(background) * rms(clip.samples) * 10 ** (-below_db / 20)
    start = int(rng.integers(0, n - len(clip.samples)))
    background[start : start + len(clip.samples)] += clip.samples
    return Audio(
        samples=background, rate=clip.rate, channels=1, source=f"{clip.source} placed at {start / clip.rate:.2f} s"
    )


def _fsdd(digit: str, speaker: str) -> tuple[Path, ...]:
    return tuple(DATA / "fsdd" / "recordings" / f"{DIGIT_WORDS.index(digit)}_{speaker}_{i}.wav" for i in range(20))


def _folder(*parts: str) -> tuple[Path, ...]:
    return tuple(sorted(DATA.joinpath(*parts).glob("*.wav")))


def _commands(word: str) -> tuple[Path, ...]:
    return _folder("speech_commands_v001", word)


def _ravdess(actor: int, code: str) -> tuple[Path, ...]:
    return tuple(sorted((DATA / "ravdess" / f"Actor_{actor:02d}").glob(f"03-01-{code}-*.wav")))


def _fsdd_numbers(key: str, speaker: str, digits: tuple[str, ...], **kw) -> Task:
    return Task(
        key,
        f"numbers (FSDD {speaker}: {' / '.join(digits)})",
        "numbers",
        digits,
        tuple(_fsdd(d, speaker) for d in digits),
        **kw,
    )


def _commands_task(key: str, group: str, words: tuple[str, ...]) -> Task:
    return Task(
        key,
        f"{group} (Speech Commands {' / '.join(words)}, 10 speakers)",
        group,
        words,
        tuple(_commands(w) for w in words),
        multi_speaker=True,
    )


def _voices(key: str, speakers: tuple[str, ...], digit: str) -> Task:
    return Task(
        key,
        f'voices (FSDD {" vs ".join(speakers)}, "{digit}")',
        "voices",
        speakers,
        tuple(_fsdd(digit, s) for s in speakers),
    )


def _arabic(key: str, speaker: str, words: tuple[str, ...], name: str, multi: bool = False) -> Task:
    return Task(
        key,
        name,
        "arabic",
        words,
        tuple(_folder("arabic_speech_commands", speaker, w) for w in words),
        multi_speaker=multi,
    )


def all_tasks() -> list[Task]:
    """The benchmark's tasks, in table order."""
    one_seven_nine = ("one", "seven", "nine")
    emotions = tuple(RAVDESS_EMOTIONS)
    instruments = ("piano", "guitar_acoustic", "cello")
    return [
        # numbers, one speaker's own clips (FSDD, 20 per digit)
        _fsdd_numbers("numbers-george", "george", one_seven_nine),
        Task(
            "numbers-george-placed",
            "numbers (FSDD george: one / seven / nine, in 3 s room-noise recordings)",
            "numbers",
            one_seven_nine,
            tuple(_fsdd(d, "george") for d in one_seven_nine),
            placed=True,
        ),
        _fsdd_numbers("numbers-jackson", "jackson", one_seven_nine),
        _fsdd_numbers("numbers-lucas", "lucas", ("two", "five", "eight")),
        _fsdd_numbers("numbers-nicolas", "nicolas", ("zero", "three", "six")),
        # numbers, many speakers (Speech Commands: 10 clips per digit, each from another speaker)
        _commands_task("numbers-sc-179", "numbers", one_seven_nine),
        _commands_task("numbers-sc-234", "numbers", ("two", "three", "four")),
        _commands_task("numbers-sc-568", "numbers", ("five", "six", "eight")),
        # words, many speakers (no Speech Commands speaker recorded a word twice)
        Task(
            "words-off-on-stop",
            "words (Speech Commands off / on / stop, 10 speakers)",
            "words",
            ("off", "on", "stop"),
            tuple(_commands(w) for w in ("off", "on", "stop")),
            multi_speaker=True,
        ),
        _commands_task("words-yes-no-up", "words", ("yes", "no", "up")),
        _commands_task("words-left-right-go", "words", ("left", "right", "go")),
        _commands_task("words-down-up-go", "words", ("down", "up", "go")),
        # voices: label = speaker
        _voices("voices-george-jackson", ("george", "jackson"), "one"),
        _voices("voices-lucas-nicolas", ("lucas", "nicolas"), "seven"),
        _voices("voices-jackson-nicolas", ("jackson", "nicolas"), "three"),
        # emotion: one actor, 8 clips per emotion
        Task(
            "emotion-01",
            "emotion (RAVDESS actor 01: angry / happy / sad)",
            "emotion",
            emotions,
            tuple(_ravdess(1, c) for c in RAVDESS_EMOTIONS.values()),
        ),
        Task(
            "emotion-02",
            "emotion (RAVDESS actor 02: angry / happy / sad)",
            "emotion",
            emotions,
            tuple(_ravdess(2, c) for c in RAVDESS_EMOTIONS.values()),
        ),
        # beyond the paper: non-English words, non-speech sounds
        _arabic(
            "arabic-01",
            "personal_00000001",
            ("yes", "no", "stop"),
            "arabic (speaker 00000001: yes / no / stop, 10 each)",
        ),
        _arabic(
            "arabic-20",
            "personal_00000020",
            ("left", "right", "up", "down"),
            "arabic (speaker 00000020: left / right / up / down, 10 each)",
        ),
        _arabic(
            "arabic-multi",
            "multi_speaker",
            ("open", "close", "enter"),
            "arabic (open / close / enter, 18 speakers)",
            multi=True,
        ),
        Task(
            "instruments",
            "instruments (piano / guitar_acoustic / cello notes)",
            "instruments",
            instruments,
            tuple(_folder("instruments", i) for i in instruments),
        ),
    ]


def select(tasks: list[Task], spec: str | None) -> list[Task]:
    """Tasks named by ``spec``: comma-separated task keys, group names, ``multi`` (the
    multi-speaker words/digits tasks) or ``all``; table order is kept."""
    if not spec:
        return tasks
    wanted = {w.strip() for w in spec.split(",") if w.strip()}
    known = {t.key for t in tasks} | set(GROUPS) | {"multi", "all"}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(f"--tasks: unknown {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return [
        t
        for t in tasks
        if "all" in wanted or t.key in wanted or t.group in wanted or ("multi" in wanted and t.multi_speaker)
    ]


def speakers_with_several_words(words=("on", "off", "stop")) -> dict[str, dict[str, int]]:
    """``{speaker: {word: clips}}`` for Speech Commands speakers who recorded more than :data:`SHOTS`
    clips of any of ``words`` (the hash before ``_nohash_``); empty means no one-speaker words task exists."""
    counts: dict[str, dict[str, int]] = {}
    for word in words:
        for path in _commands(word):
            speaker = path.name.split("_nohash_")[0]
            counts.setdefault(speaker, {}).setdefault(word, 0)
            counts[speaker][word] += 1
    return {s: c for s, c in counts.items() if max(c.values()) >= SHOTS + 1}


def split(task: Task, seed: int) -> list[int]:
    """Indices (into ``task.dataset``'s clip order) of the 5 training clips per label for ``seed``."""
    rng = np.random.default_rng(10_000 + seed)
    train, offset = [], 0
    for group in task.paths:
        train.extend(offset + int(k) for k in rng.choice(len(group), SHOTS, replace=False))
        offset += len(group)
    return sorted(train)
