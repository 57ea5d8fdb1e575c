"""Long recordings for continuous listening (``bench/live.py``, ``tests/test_listen.py``), built only
from the recordings in ``../shared/data``, with the ground-truth time of every word.

A *task* (:func:`make_task`, one per seed) picks 3 command words of Speech Commands v0.01 (10 clips
each, 10 speakers) and splits each word's clips: 5 to train the model, 5 for the recordings.  The
model's ``_background_noise_`` label gets 5 one-second noise pieces and 5 clips of other words
(nothing the recordings use), so "other talk" is background too.

A *recording* (:func:`make_recording`): the held-out noise pieces of both background-noise sources
(dishes, exercise bike) one after another in a random order and gain, for the whole length; on top,
at random times with 1.5 to 4 s of noise between them, every held-out clip of the 3 words
``repeats`` times (trimmed to its sound, 50 ms either side) and ``distractors`` pieces of other speech
(other Speech Commands words, Arabic command words, RAVDESS sentences), each at a random
signal-to-noise ratio of 10 to 20 dB (RMS of the word's sound over the noise's RMS).  16 kHz mono.
Same seed, same recording, bit for bit.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
from pathlib import Path

import numpy as np

from pac.audio import read_wav
from pac.dataset import BACKGROUND_LABEL as BACKGROUND
from pac.dataset import ROOM_PREFIX
from pac.features.functional import active_span
from tasks import DIGIT_WORDS

SHARED = Path(os.environ.get("PAC_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "data"
RATE = 16000
#: Words a robot or a game could be told; 3 per task.
COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SPEECH_COMMANDS = DATA / "speech_commands_v001"
NOISE_SOURCES = ("doing_the_dishes", "exercise_bike")
SHOTS = 5


@dataclasses.dataclass(frozen=True)
class Task:
    """Three words, their training and held-out clips, the background class's clips and the
    distractor clips the recordings may use (disjoint from everything the model saw)."""

    seed: int
    words: tuple[str, ...]
    train: dict  # label -> [paths]
    held_out: dict  # word -> [paths]
    noise_held_out: tuple  # noise piece paths for the recordings
    distractors: tuple  # other speech paths for the recordings
    #: ``personal`` tasks: the speaker's own other words, half of a recording's other speech
    own_distractors: tuple = ()
    speaker: str = ""

    def write_train_dir(self, root: Path, *, in_room: bool = False) -> Path:
        """Copy the training clips into ``root/<label>/`` (a ``pac train`` DATA_DIR).

        ``in_room``: instead of copying a word's clip, write it as if recorded where the app will
        listen (as the studio records it): the clip's sound in one second of the room's noise, i.e.
        the background label's own noise pieces (never the recordings' pieces) at the recordings'
        noise level, the word at a random 10-20 dB over it.  The background label's clips are copied
        as they are; its noise pieces are named as the studio's *Record the room…* names its recordings
        of the room (``room-``), which training mixes into the other clips instead of generated noise
        (``pac.dataset.room_recordings``).
        """
        rng = np.random.default_rng([31, self.seed])
        noise = [_mono16k(p) for p in self.train[BACKGROUND] if in_room and _is_room(p)]
        for label, paths in self.train.items():
            folder = root / label
            folder.mkdir(parents=True, exist_ok=True)
            for i, path in enumerate(paths):
                room = ROOM_PREFIX if _is_room(path) else ""  # as the studio's Record the room names them
                target = folder / f"{room}{i:02d}_{path.parent.name}_{path.name}"
                if in_room and label != BACKGROUND:
                    target.write_bytes(Recording(_in_room(_sound(path), noise, rng), RATE, []).wav_bytes())
                else:
                    shutil.copy(path, target)
        return root


def _wavs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav"))


def _background_split(rng: np.random.Generator, words, background_words: int):
    """``(noise_train, noise_held_out, other_train, other_rest)``: the noise pieces split into the
    background label's 5 and the recordings' rest, and the Speech Commands clips of words not in
    ``words`` split into the background label's ``background_words`` and the rest."""
    noise = [p for source in NOISE_SOURCES for p in _wavs(DATA / "background_noise" / source)]
    order = rng.permutation(len(noise))
    others = [
        p
        for w in sorted(os.listdir(SPEECH_COMMANDS))
        if (SPEECH_COMMANDS / w).is_dir() and w not in words
        for p in _wavs(SPEECH_COMMANDS / w)
    ]
    other_order = rng.permutation(len(others))
    return (
        [noise[i] for i in order[:SHOTS]],
        tuple(noise[i] for i in order[SHOTS:]),
        [others[i] for i in other_order[:background_words]],
        [others[i] for i in other_order[background_words:]],
    )


def make_task(seed: int, *, background_words: int = SHOTS) -> Task:
    """The words and clip split of one seed (see the module docstring); the background label gets
    ``background_words`` clips of other words besides its 5 noise pieces."""
    rng = np.random.default_rng([17, seed])
    words = tuple(sorted(rng.choice(COMMAND_WORDS, size=3, replace=False).tolist()))
    train, held_out = {}, {}
    for word in words:
        paths = _wavs(SPEECH_COMMANDS / word)
        order = rng.permutation(len(paths))
        train[word] = [paths[i] for i in order[:SHOTS]]
        held_out[word] = [paths[i] for i in order[SHOTS:]]
    noise_train, noise_held_out, other_train, other_rest = _background_split(rng, words, background_words)
    arabic = sorted((DATA / "arabic_speech_commands").rglob("*.wav"))
    ravdess = sorted((DATA / "ravdess").rglob("*.wav"))
    distractors = tuple(other_rest + arabic + ravdess)
    train[BACKGROUND] = noise_train + other_train
    return Task(seed, words, train, held_out, noise_held_out, distractors)


#: The one-speaker sources of ``personal`` tasks: (name, {word: folder-or-glob}) per speaker.
FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas")
ARABIC_SPEAKERS = ("00000001", "00000020")
PERSONAL_SPEAKERS = tuple(f"fsdd:{s}" for s in FSDD_SPEAKERS) + tuple(f"arabic:{s}" for s in ARABIC_SPEAKERS)


def _speaker_words(speaker: str) -> dict:
    """Word -> that speaker's clips of it (sorted)."""
    kind, name = speaker.split(":")
    if kind == "fsdd":
        folder = DATA / "fsdd" / "recordings"
        return {
            word: sorted(folder.glob(f"{i}_{name}_*.wav"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
            for i, word in enumerate(DIGIT_WORDS)
        }
    root = DATA / "arabic_speech_commands" / f"personal_{name}"
    return {d.name: _wavs(d) for d in sorted(root.iterdir()) if d.is_dir()}


def make_personal_task(seed: int, *, background_words: int = SHOTS) -> Task:
    """A *personal* task: the model of one speaker (the paper's "one user's own clips"; someone
    trains the app on their own voice and then talks to it).  Speaker ``seed % 6`` of
    :data:`PERSONAL_SPEAKERS` (4 FSDD speakers saying digits, 2 Arabic speakers saying command
    words), 3 of their words, 5 clips each to train and 5 others for the recordings.  The
    background label is built as in :func:`make_task` (5 noise pieces, ``background_words`` Speech
    Commands clips of other words, never one of the task's words); a recording's other speech is
    half the speaker's own other words (as many as they have) and half other people's speech (never
    one of the task's words: someone else saying it would be a right detection)."""
    rng = np.random.default_rng([19, seed])
    speaker = PERSONAL_SPEAKERS[seed % len(PERSONAL_SPEAKERS)]
    clips = _speaker_words(speaker)
    names = sorted(clips)
    words = tuple(sorted(rng.choice(names, size=3, replace=False).tolist()))
    train, held_out = {}, {}
    for word in words:
        order = rng.permutation(len(clips[word]))
        train[word] = [clips[word][i] for i in order[:SHOTS]]
        held_out[word] = [clips[word][i] for i in order[SHOTS : 2 * SHOTS]]
    noise_train, noise_held_out, other_train, other_rest = _background_split(rng, words, background_words)
    kind, name = speaker.split(":")
    arabic, mine = [], []  # other people's Arabic clips; the speaker's own multi-speaker ones (other words)
    for p in sorted((DATA / "arabic_speech_commands").rglob("*.wav")):
        if f"personal_{name}" not in p.parts and p.parent.name not in words:
            (mine if kind == "arabic" and p.name.startswith(f"asc_{name}_") else arabic).append(p)
    own = tuple(p for w in names if w not in words for p in clips[w]) + tuple(mine)
    fsdd = [
        p
        for p in sorted((DATA / "fsdd" / "recordings").glob("*.wav"))
        if p.stem.split("_")[1] != name and DIGIT_WORDS[int(p.stem.split("_")[0])] not in words
    ]
    ravdess = sorted((DATA / "ravdess").rglob("*.wav"))
    distractors = tuple(other_rest + arabic + fsdd + ravdess)
    train[BACKGROUND] = noise_train + other_train
    return Task(seed, words, train, held_out, noise_held_out, distractors, own_distractors=own, speaker=speaker)


@dataclasses.dataclass
class Recording:
    """A long recording and its ground truth: ``events`` are dicts ``{label, start, end, target}``
    (seconds; ``target`` false for other speech, whose label is its source)."""

    samples: np.ndarray
    rate: int
    events: list

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    def targets(self) -> list[dict]:
        return [e for e in self.events if e["target"]]

    def wav_bytes(self) -> bytes:
        """16-bit PCM WAV of the recording."""
        body = np.clip(np.round(self.samples * 32767), -32768, 32767).astype("<i2").tobytes()
        fmt = struct.pack("<HHIIHH", 1, 1, self.rate, 2 * self.rate, 2, 16)
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
        return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _is_room(path: Path) -> bool:
    """Whether ``path`` is one of the noise pieces (the room), not a clip of speech."""
    return path.parent.parent.name == "background_noise"


def _mono16k(path: Path) -> np.ndarray:
    audio = read_wav(path)
    if audio.rate != RATE:
        from scipy.signal import resample_poly

        g = np.gcd(audio.rate, RATE)
        return resample_poly(audio.samples, RATE // g, audio.rate // g)
    return np.asarray(audio.samples, dtype=np.float64)


def _sound(path: Path, *, max_seconds: float = 4.0) -> np.ndarray:
    """The clip's sound (its active span, 25 dB below the peak) with 50 ms either side."""
    x = _mono16k(path)
    first, stop = active_span(x, rate=RATE, below_peak_db=25.0)
    pad = RATE // 20
    x = x[max(0, first - pad) : min(len(x), stop + pad)]
    return x[: int(max_seconds * RATE)]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


#: The recordings' noise level (RMS, dBFS) and the range of the words' level over it.
NOISE_DBFS = -40.0
SNR_DB = (10.0, 20.0)


def _in_room(sound: np.ndarray, noise: list, rng: np.random.Generator, *, seconds: float = 1.0) -> np.ndarray:
    """``sound`` centred in ``seconds`` of one of the ``noise`` pieces (from a random point, looped) at
    :data:`NOISE_DBFS`, the sound's active span :data:`SNR_DB` over it."""
    n = int(seconds * RATE)
    piece = noise[rng.integers(len(noise))]
    bed = np.resize(np.roll(piece, -int(rng.integers(len(piece)))), n)
    bed = bed * (10.0 ** (NOISE_DBFS / 20.0) / _rms(bed))
    first, stop = active_span(sound, rate=RATE, below_peak_db=25.0)
    sound = sound[:n] * (10.0 ** ((NOISE_DBFS + rng.uniform(*SNR_DB)) / 20.0) / _rms(sound[first:stop]))
    at = (n - len(sound)) // 2
    bed[at : at + len(sound)] += sound
    return np.clip(bed, -0.99, 0.99)


def make_recording(
    task: Task,
    seed: int,
    *,
    repeats: int = 2,
    distractors: int = 20,
    noise_dbfs: float = NOISE_DBFS,
    snr_db=SNR_DB,
    gap=(1.5, 4.0),
) -> Recording:
    """One long recording of ``task`` (see the module docstring); about 3 minutes with the defaults."""
    rng = np.random.default_rng([29, task.seed, seed])
    pieces = [(word, path, True) for word in task.words for path in task.held_out[word] for _ in range(repeats)]
    own = task.own_distractors
    if own:  # personal: half of the other speech is the speaker's own other words
        mine = rng.choice(len(own), size=min(distractors // 2, len(own)), replace=False)
        pieces += [(f"own:{own[i].stem}", own[i], False) for i in mine]
        distractors -= len(mine)
    chosen = rng.choice(len(task.distractors), size=min(distractors, len(task.distractors)), replace=False)
    pieces += [(task.distractors[i].parent.name, task.distractors[i], False) for i in chosen]
    pieces = [pieces[i] for i in rng.permutation(len(pieces))]
    sounds = [(label, _sound(path), target) for label, path, target in pieces]
    gaps = rng.uniform(*gap, size=len(sounds) + 1)
    total = int(RATE * (sum(gaps) + sum(len(s) for _, s, _ in sounds) / RATE)) + RATE
    noise_rms = 10.0 ** (noise_dbfs / 20.0)
    # The noise bed: held-out noise pieces, random order and gain (+-3 dB), 10 ms cross-fades.
    bed = np.zeros(total)
    fade = RATE // 100
    at = 0
    noise = [_mono16k(p) for p in task.noise_held_out]
    while at < total:
        piece = noise[rng.integers(len(noise))]
        piece = piece * (noise_rms / _rms(piece)) * 10.0 ** (rng.uniform(-3, 3) / 20.0)
        ramp = np.ones(len(piece))
        ramp[:fade] = np.linspace(0, 1, fade)
        ramp[-fade:] = np.linspace(1, 0, fade)
        n = min(len(piece), total - at)
        bed[at : at + n] += (piece * ramp)[:n]
        at += len(piece) - fade
    events = []
    at = int(gaps[0] * RATE)
    for (label, sound, target), g in zip(sounds, gaps[1:]):
        level = noise_rms * 10.0 ** (rng.uniform(*snr_db) / 20.0)
        first, stop = active_span(sound, rate=RATE, below_peak_db=25.0)
        sound = sound * (level / _rms(sound[first:stop]))
        bed[at : at + len(sound)] += sound
        events.append({"label": label, "start": (at + first) / RATE, "end": (at + stop) / RATE, "target": target})
        at += len(sound) + int(g * RATE)
    bed = bed[:at]
    peak = float(np.max(np.abs(bed)))
    if peak > 0.99:
        bed *= 0.99 / peak
    return Recording(bed, RATE, events)


def score(detections, recording: Recording, *, window_seconds: float = 1.0) -> dict:
    """Match detections (dicts with ``label`` and ``time``, the end of their window in seconds) to the
    ground truth: a detection of word W whose window ``(time - window_seconds, time]`` overlaps the
    sound of a held-out W not yet detected finds it; every other detection is a false alarm.

    Returns
    -------
    dict
        ``detected`` / ``targets``, ``false_alarms``, ``minutes`` and per target the detection
        that found it (``found``: index into ``detections`` or None).
    """
    targets = recording.targets()
    found = [None] * len(targets)
    false_alarms = []
    for i, d in enumerate(detections):
        match = None
        for j, e in enumerate(targets):
            if found[j] is None and e["label"] == d["label"] and e["start"] < d["time"] <= e["end"] + window_seconds:
                match = j
                break
        if match is None:
            false_alarms.append(i)
        else:
            found[match] = i
    return {
        "targets": len(targets),
        "detected": sum(f is not None for f in found),
        "found": found,
        "false_alarms": len(false_alarms),
        "false_alarm_indices": false_alarms,
        "minutes": recording.duration / 60.0,
    }
