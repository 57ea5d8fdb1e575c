"""Golden values of what models see: feature images, network inputs, embeddings and probabilities.

The parity tests compare the Python pipeline with the JS page, so a change made the same way in
both passes them and silently changes what every deployed model is fed.  This module pins, for the
feature profiles ``default``, ``paper`` and ``pac-compat`` (:data:`PROFILE_NAMES`) and a few fixed
real clips (:data:`CLIPS`), every stage a model depends on:

``image``
    The uint8 RGB spectrogram image (:func:`pac.features.pipeline.clip_image`).
``input``
    MobileNet's float32 input (:func:`pac.features.pipeline.model_input`).
``speech_frames``
    The speech network's input sequence (:func:`pac.features.speech.speech_sequence` of the
    analysis window); profiles whose models use the speech block (``default``) only.
``speech_embedding``
    The real speech embedding (``../shared/models/speech_embedding``, the 8-bit weights models
    ship with) pooled as a linear head reads it (192 values); ``default`` only.
``mobilenet_embedding``
    The real MobileNet v1 0.25 (``../shared/models/mobilenet_v1_0.25_224``) activations averaged
    over the 7 x 7 positions (256 values).
``probabilities``
    The class probabilities of a small fixed model of the profile's kind: a softmax layer on both
    blocks for ``default``, PAC's conv head for ``paper`` and ``pac-compat``, with weights drawn
    from :data:`HEAD_SEED` by numpy (:func:`fixed_head`), run by :class:`pac.classifier.Classifier`
    from a model folder, so no training is needed and the manifest path is exercised too.

How the values are stored (the quantisation, chosen so that float noise of another numpy, BLAS,
TensorFlow or operating system does not fail the test, but any change of a feature does):

- Every array is stored as its shape, a ``sha256`` over a canonical quantisation and a ``summary``
  small enough to keep in the file.  It matches if the shape is equal and either the digest is
  equal or every summary value is within the kind's tolerance (:data:`KINDS`).  The digest gives a
  bit-exact pin on the machine that wrote the file; the summary is what decides elsewhere.
- Images: the digest is over the uint8 bytes themselves (8 bits is the quantisation the pipeline
  already makes, and what the model is fed); the summary is the sum of each 16 x 16 block of each
  channel (14 x 14 x 3 integers), allowed to move by 24 levels.  Float noise can only flip a pixel
  whose value lies within ~1e-12 of a rounding boundary (by one level: a few per image at most,
  and none measured), while changing ``f_max`` by 5 % or ``n_bands`` moves hundreds of blocks by
  hundreds of levels.
- MobileNet's input: digest over the float32 values rounded to 4 decimals; summary ``[min, max,
  mean]``, tolerance 1e-4 (the input is ``pixel * scale + offset``, so it moves with the image).
- Speech frames (``(frames, 32)``, float32 around -6..+2): digest over the values rounded to 3
  decimals; summary every value in thousandths (int16, base64: ~8 KB a clip), tolerance 2e-3 on
  each (the JS page gives them within one float32 ulp, other BLAS libraries within ~1e-6).  Means
  would not do: the resampling fields change single values by up to 0.4 but frame means by 0.015,
  and a change of ``speech_resample_zeros`` from 16 to 15 moves no mean by more than 1e-3.
- Embeddings and probabilities: the summary is the values themselves (5 decimals).  MobileNet's
  (relu6 outputs, 0..6): digest over 3 decimals, tolerance 2e-3.  The speech embedding's (about
  -30..+30): digest over 2 decimals, tolerance 1e-2.  Probabilities: 4 decimals, tolerance 5e-4.
  TensorFlow's convolutions differ between CPUs and versions by ~1e-6 relative, the page's
  TensorFlow.js by ~1e-5; the tolerances are ~100 times that.

The file is keyed by feature profile and :data:`pac.features.config.SCHEMA_VERSION`
(``"default@schema1"``): a change of what models see must come with a new schema version, and
then with regenerated golden values:

    .venv/bin/python tests/golden.py            # compute and compare, print every difference
    .venv/bin/python tests/golden.py --write    # add the entries of the current schema version

``--write`` refuses to replace entries that already exist for the current schema version unless
``--overwrite`` is given too (entries of other schema versions are kept).  Clips and models come
from ``../shared`` (``$PAC_SHARED_DIR``), as in the tests.  The script runs the ``pac`` it imports,
so values can be made from a clean checkout of a commit while the working tree holds other work
(this is how the schema-1 values were made)::

    git worktree add /tmp/golden-src HEAD
    PYTHONPATH=/tmp/golden-src/compiler .venv/bin/python tests/golden.py --write
    git worktree remove /tmp/golden-src
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "fixtures" / "golden" / "features.json"
SHARED = Path(os.environ.get("PAC_SHARED_DIR", REPO.parent / "shared"))
BASE_DIR = SHARED / "models" / "mobilenet_v1_0.25_224"
SPEECH_DIR = SHARED / "models" / "speech_embedding"

#: Feature profiles whose outputs are pinned, and ``pac-compat-centre``: the ``pac-compat`` profile
#: with the canvas filter of the models made before ``FeatureConfig.downscale`` existed (their stored
#: configuration lacks the field, which reads as ``"centre"``), so that those models are pinned too.
PROFILE_NAMES = ("default", "paper", "pac-compat", "pac-compat-centre")
#: Seed of the fixed heads' weights.
HEAD_SEED = 15
#: Labels of the fixed models.
LABELS = ("alpha", "beta", "gamma")
#: Scale of the fixed linear head's weights per block (speech values are ~10, MobileNet's ~0.5).
LINEAR_SCALES = {"speech": 0.01, "mobilenet": 0.2}
#: Side of the image blocks whose sums are stored.
BLOCK = 16
REGENERATE = "tests/golden.py --write"

#: The clips: a file under ../shared, or ``"stereo"`` of two files (left, right) of the same rate
#: and length, interleaved into a 16-bit two-channel WAV by :func:`stereo_wav`.
CLIPS = {
    "fsdd-8k-0.43s": {"file": "data/fsdd/recordings/7_jackson_3.wav"},
    "commands-16k-1s": {"file": "data/speech_commands_v001/stop/1eddce1d_nohash_3.wav"},
    "ravdess-16k-3.8s": {"file": "data/ravdess/Actor_02/03-01-05-01-02-01-02.wav"},
    "cello-44k-1.5s": {"file": "data/instruments/cello/tonejs_cello_A2.wav"},
    "arabic-16k-stereo": {
        "stereo": [
            "data/arabic_speech_commands/personal_00000001/yes/asc_00000001_00000001_NO_01.wav",
            "data/arabic_speech_commands/personal_00000001/no/asc_00000001_00000001_NO_01.wav",
        ]
    },
}


@dataclass(frozen=True)
class Kind:
    """How one stage is quantised for its digest and summarised, and its summary's tolerance."""

    decimals: int | None
    tolerance: float


#: Stage name -> its quantisation and tolerance (see the module docstring for the reasons).
KINDS = {
    "image": Kind(decimals=None, tolerance=24),
    "input": Kind(decimals=4, tolerance=1e-4),
    "speech_frames": Kind(decimals=3, tolerance=2e-3),
    "speech_embedding": Kind(decimals=2, tolerance=1e-2),
    "mobilenet_embedding": Kind(decimals=3, tolerance=2e-3),
    "probabilities": Kind(decimals=4, tolerance=5e-4),
}


# -- clips --------------------------------------------------------------------------------------


def stereo_wav(left: bytes, right: bytes) -> bytes:
    """A 16-bit two-channel WAV whose channels are two mono 16-bit WAV files of one rate and length.

    Parameters
    ----------
    left, right : bytes
        The mono WAV files.

    Returns
    -------
    bytes
        The stereo file (44-byte header, then interleaved samples).
    """
    from pac.audio import decode_wav

    a, b = decode_wav(left, name="left"), decode_wav(right, name="right")
    if a.rate != b.rate or len(a.samples) != len(b.samples):
        raise ValueError("the two channels need the same rate and length")
    pcm = np.round(np.stack([a.samples, b.samples], axis=1) * 32768.0).astype("<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,
        2,
        a.rate,
        a.rate * 4,
        4,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def clip_bytes(name: str, shared: Path = SHARED) -> bytes:
    """The WAV bytes of clip ``name`` of :data:`CLIPS`."""
    spec = CLIPS[name]
    if "file" in spec:
        return (shared / spec["file"]).read_bytes()
    left, right = spec["stereo"]
    return stereo_wav((shared / left).read_bytes(), (shared / right).read_bytes())


def load_clips(shared: Path = SHARED) -> dict[str, bytes]:
    """Every clip of :data:`CLIPS` by name."""
    return {name: clip_bytes(name, shared) for name in CLIPS}


def decoded(data: bytes, name: str, config):
    """The clip as :func:`pac.features.pipeline.load_clip` gives it (decoded, checked)."""
    from pac.audio import check_classifiable, decode_wav

    clip = decode_wav(data, name=name)
    check_classifiable(clip, min_duration=config.min_duration, silence_dbfs=config.silence_dbfs)
    return clip


# -- the fixed models ----------------------------------------------------------------------------


def _dense(rng, shape, fan_in: float) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def fixed_head(kind: str):
    """A head whose weights come from :data:`HEAD_SEED` by numpy.

    ``"linear"``: one softmax layer on the speech (192) and MobileNet (256) blocks, weights scaled
    per block (:data:`LINEAR_SCALES`) so that both blocks move the logits by about 1.5 and the
    probabilities stay away from 0 and 1 (where they would hide changes).  ``"conv"``: PAC's head
    (Conv2D 5 x 5 x 5 filters, Dense 100, softmax), He-scaled normal weights.

    Returns
    -------
    tf_keras.Sequential
    """
    from pac.blocks import SIZES
    from pac.tfjs_head import Layer, keras_head

    rng = np.random.default_rng(HEAD_SEED)
    n = len(LABELS)
    if kind == "linear":
        scales = np.concatenate([np.full(SIZES[b], LINEAR_SCALES[b]) for b in ("speech", "mobilenet")])
        layer = Layer(
            "dense",
            activation="softmax",
            units=n,
            weights=[
                (rng.standard_normal((len(scales), n)) * scales[:, None]).astype(np.float32),
                (rng.standard_normal(n) * 0.1).astype(np.float32),
            ],
        )
        return keras_head([layer], input_shape=(len(scales),))
    layers = [
        Layer(
            "conv2d",
            activation="relu",
            filters=5,
            kernel_size=(5, 5),
            weights=[_dense(rng, (5, 5, 256, 5), 25 * 256), np.full(5, 0.1, np.float32)],
        ),
        Layer("flatten"),
        Layer(
            "dense", activation="relu", units=100, weights=[_dense(rng, (45, 100), 45), np.full(100, 0.1, np.float32)]
        ),
        Layer("dense", activation="softmax", units=n, use_bias=False, weights=[_dense(rng, (100, n), 100)]),
    ]
    return keras_head(layers)


def write_model(config, out: Path) -> Path:
    """A model folder for ``config`` with :func:`fixed_head`: linear on speech + MobileNet for the
    ``pac`` method with a window, PAC's conv head otherwise (the kinds ``pac train`` makes)."""
    from pac.blocks import POOLING, SIZES
    from pac.modeldir import MANIFEST, Manifest, base_identity, tool_versions, write_head
    from pac.speech_base import speech_identity

    out.mkdir(parents=True, exist_ok=True)
    if uses_speech(config):
        blocks = [{"name": b, "size": SIZES[b], "weight": 1.0, "pooling": POOLING[b]} for b in ("speech", "mobilenet")]
        manifest = Manifest(
            labels=LABELS,
            features=config,
            base=base_identity(),
            tools=tool_versions(),
            linear={"kind": "linear", "blocks": blocks},
            speech_base=speech_identity(quantized=True),
        )
        write_head(fixed_head("linear"), out)
    else:
        manifest = Manifest(labels=LABELS, features=config, base=base_identity(), tools=tool_versions())
        write_head(fixed_head("conv"), out)
    (out / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return out


def uses_speech(config) -> bool:
    """Whether the fixed model of ``config`` uses the speech block (the product's default kind)."""
    return config.name == "default"


# -- observing and pinning -----------------------------------------------------------------------


def observe(config, clips: dict[str, bytes], model_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every pinned stage of every clip under ``config``, run through the model in ``model_dir``.

    Returns
    -------
    dict
        ``{clip: {stage: array}}`` with the stages of :data:`KINDS` that the model uses.
    """
    from pac.blocks import SIZES
    from pac.classifier import Classifier
    from pac.features.pipeline import analysis_window, clip_image, model_input
    from pac.features.speech import speech_sequence
    from pac.head import predict_head

    classifier = Classifier(model_dir, base=BASE_DIR, speech_base=SPEECH_DIR)
    audio = [decoded(data, name, config) for name, data in clips.items()]
    features = classifier.features(audio)
    probabilities = predict_head(classifier.head, features)
    out = {}
    for i, (name, clip) in enumerate(zip(clips, audio)):
        image = clip_image(clip, config)
        stages = {"image": image, "input": model_input(image[None], config)[0]}
        if classifier.manifest.blocks:
            stages["speech_frames"] = speech_sequence(analysis_window(clip, config), rate=clip.rate, config=config)
            stages["speech_embedding"] = features[i, : SIZES["speech"]]
            stages["mobilenet_embedding"] = features[i, SIZES["speech"] :]
        else:
            stages["mobilenet_embedding"] = features[i].mean(axis=(0, 1))
        stages["probabilities"] = probabilities[i]
        out[name] = stages
    return out


def digest(array: np.ndarray, decimals: int | None) -> str:
    """sha256 of the shape and the values: uint8 bytes as they are, floats rounded to ``decimals``
    (as little-endian float64, ``-0.0`` made ``0.0``)."""
    array = np.asarray(array)
    h = hashlib.sha256(json.dumps(list(array.shape)).encode("ascii"))
    if decimals is None:
        h.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    else:
        h.update((np.round(array.astype(np.float64), decimals) + 0.0).astype("<f8").tobytes())
    return h.hexdigest()


def summary(stage: str, array: np.ndarray) -> dict[str, list]:
    """The values stored beside the digest (see the module docstring)."""
    array = np.asarray(array)
    if stage == "image":
        size = array.shape[0] // BLOCK
        blocks = array.astype(np.int64).reshape(size, BLOCK, size, BLOCK, 3).sum(axis=(1, 3))
        return {"block_sums": blocks.ravel().tolist()}
    x = array.astype(np.float64)
    if stage == "input":
        return {"min_max_mean": _rounded([x.min(), x.max(), x.mean()], 6)}
    if stage == "speech_frames":
        milli = np.round(x * 1000.0).astype("<i2")
        return {"values_milli_b64": base64.b64encode(milli.tobytes()).decode("ascii")}
    return {"values": _rounded(x.ravel(), 5)}


def summary_values(key: str, stored) -> np.ndarray:
    """A summary entry as float64 numbers (``*_milli_b64``: base64 of int16 thousandths)."""
    if key.endswith("_milli_b64"):
        return np.frombuffer(base64.b64decode(stored), dtype="<i2").astype(np.float64) / 1000.0
    return np.asarray(stored, dtype=np.float64)


def _rounded(values, decimals: int) -> list[float]:
    return [round(float(v), decimals) + 0.0 for v in values]


def pin(stage: str, array: np.ndarray) -> dict:
    """The stored record of one stage: shape, digest, summary."""
    array = np.asarray(array)
    return {
        "shape": list(array.shape),
        "sha256": digest(array, KINDS[stage].decimals),
        "summary": summary(stage, array),
    }


def compare(stage: str, expected: dict, array: np.ndarray) -> tuple[str, str] | None:
    """Compare one stage with its stored record.

    Returns
    -------
    tuple of str or None
        ``None`` if the digest is equal; ``("close", text)`` if it differs but every summary value
        is within the stage's tolerance; ``("changed", text)`` otherwise (the text says by how much).
    """
    actual = pin(stage, array)
    if actual["shape"] != expected["shape"]:
        return "changed", f"shape {actual['shape']} instead of {expected['shape']}"
    if actual["sha256"] == expected["sha256"]:
        return None
    worst, where = 0.0, ""
    for key, values in expected["summary"].items():
        diff = np.abs(summary_values(key, actual["summary"][key]) - summary_values(key, values))
        if diff.size and diff.max() > worst:
            worst, where = float(diff.max()), f"{key}[{int(diff.argmax())}]"
    tolerance = KINDS[stage].tolerance
    text = (
        f"digest differs; largest summary difference {worst:.3g} at {where} (tolerance {tolerance:g})"
        if where
        else "digest differs, summary equal (a value next to a rounding boundary of the digest)"
    )
    return ("close" if worst <= tolerance else "changed"), text


def config_of(profile: str):
    """The feature configuration of a name of :data:`PROFILE_NAMES`."""
    import dataclasses

    from pac.features import PROFILES

    if profile == "pac-compat-centre":
        return dataclasses.replace(PROFILES["pac-compat"], downscale="centre")
    return PROFILES[profile]


def key(profile: str, schema_version: int) -> str:
    """The file's key of a profile's entry: ``"<profile>@schema<version>"``."""
    return f"{profile}@schema{schema_version}"


def observe_profiles(shared: Path = SHARED) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """:func:`observe` of every profile of :data:`PROFILE_NAMES` with its fixed model."""
    clips = load_clips(shared)
    with tempfile.TemporaryDirectory(prefix="pac-golden-") as tmp:
        return {
            profile: observe(config_of(profile), clips, write_model(config_of(profile), Path(tmp) / profile))
            for profile in PROFILE_NAMES
        }


def entries_of(observed: dict[str, dict[str, dict[str, np.ndarray]]]) -> dict[str, dict]:
    """The file's entries for :func:`observe_profiles`' result, keyed by :func:`key`."""
    from pac.features.config import SCHEMA_VERSION

    return {
        key(profile, SCHEMA_VERSION): {
            "profile": profile,
            "schema_version": SCHEMA_VERSION,
            "config": config_of(profile).to_dict(),
            "clips": {name: {stage: pin(stage, a) for stage, a in stages.items()} for name, stages in clips.items()},
        }
        for profile, clips in observed.items()
    }


def clip_identities(shared: Path = SHARED) -> dict[str, dict]:
    """Each clip's sources and the sha256 of its bytes, rate, channels and frames."""
    from pac.audio import decode_wav

    out = {}
    for name, data in load_clips(shared).items():
        clip = decode_wav(data, name=name)
        out[name] = {
            **CLIPS[name],
            "sha256": hashlib.sha256(data).hexdigest(),
            "rate": clip.rate,
            "channels": clip.channels,
            "frames": len(clip.samples),
        }
    return out


def read_golden(path: Path = GOLDEN) -> dict:
    """The stored file (``{"about", "clips", "head_seed", "entries"}``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def changed_message(profile: str, problems: list[str]) -> str:
    """The failure text: what changed, and what to do if it was meant."""
    return (
        f"what models see has changed for feature profile {profile!r}:\n  "
        + "\n  ".join(problems)
        + "\nEvery deployed model of this profile would now be fed other values than it was trained "
        "on. If this is not intended, undo it. If it is, bump SCHEMA_VERSION in "
        f"compiler/pac/features/config.py and regenerate the golden values: .venv/bin/python {REGENERATE}"
    )


def differences(entry: dict, observed: dict[str, dict[str, np.ndarray]]) -> tuple[list[str], list[str]]:
    """``(changed, close)``: descriptions of the stages that changed and of those only within tolerance."""
    changed, close = [], []
    for clip, stages in entry["clips"].items():
        if clip not in observed:
            changed.append(f"{clip}: not computed")
            continue
        for stage, record in stages.items():
            if stage not in observed[clip]:
                changed.append(f"{clip} {stage}: no longer computed")
                continue
            found = compare(stage, record, observed[clip][stage])
            if found is not None:
                (changed if found[0] == "changed" else close).append(f"{clip} {stage}: {found[1]}")
    return changed, close


def write(path: Path, entries: dict, *, overwrite: bool, shared: Path = SHARED, check_only: bool = False) -> None:
    """Add ``entries`` to the file at ``path`` (created if missing), keeping other schema versions.

    Parameters
    ----------
    check_only : bool
        Only refuse (below) or return; write nothing.

    Raises
    ------
    SystemExit
        If an entry exists already and ``overwrite`` is false.
    """
    old = read_golden(path) if path.exists() else {"entries": {}}
    existing = sorted(set(old["entries"]) & set(entries))
    if existing and not overwrite:
        raise SystemExit(
            f"{path} already has {', '.join(existing)}; golden values of a schema version are "
            "not rewritten: bump SCHEMA_VERSION if what models see changed on purpose, or pass "
            "--overwrite to replace them anyway"
        )
    if check_only:
        return
    data = {
        "about": "Golden values of what models see; see tests/golden.py for the format and the "
        f"tolerances. Regenerate: .venv/bin/python {REGENERATE}",
        "head_seed": HEAD_SEED,
        "labels": list(LABELS),
        "clips": clip_identities(shared),
        "entries": {**old["entries"], **entries},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(data), encoding="utf-8")


def dumps(data: dict) -> str:
    """JSON text with one key per line but each list of numbers on one line (diffs stay readable)."""
    text = json.dumps(data, indent=1, sort_keys=True)
    return re.sub(r"\[\s+([-+\d.,eE\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def main(argv=None) -> int:
    """Compare the current pipeline with the golden file, or (``--write``) record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="add the current schema version's entries")
    parser.add_argument("--overwrite", action="store_true", help="with --write: replace existing entries")
    parser.add_argument("--golden", type=Path, default=GOLDEN, help="the golden file")
    args = parser.parse_args(argv)
    import pac

    print(f"pac from {Path(pac.__file__).parent}", file=sys.stderr)
    if args.write and not args.overwrite:
        write(args.golden, {key(p, _schema_version()): None for p in PROFILE_NAMES}, overwrite=False, check_only=True)
    observed = observe_profiles()
    if args.write:
        entries = entries_of(observed)
        write(args.golden, entries, overwrite=args.overwrite)
        print(f"wrote {', '.join(entries)} to {args.golden}")
        return 0
    stored = read_golden(args.golden)["entries"]
    status = 0
    for profile, clips in observed.items():
        name = key(profile, _schema_version())
        if name not in stored:
            print(f"{name}: no golden entry")
            status = 1
            continue
        changed, close = differences(stored[name], clips)
        print(f"{name}: {len(changed)} changed, {len(close)} within tolerance")
        for line in changed + close:
            print("  " + line)
        status |= bool(changed)
    return status


def _schema_version() -> int:
    from pac.features.config import SCHEMA_VERSION

    return SCHEMA_VERSION


if __name__ == "__main__":
    sys.exit(main())
