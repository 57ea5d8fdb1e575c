"""The studio's training form: what the page sends (:class:`StudioTrainOptions`, checked by the options'
declaration in :mod:`pac.train_options`), the words the page uses for model kinds and networks, and
what it shows of a finished linear head (:func:`linear_result`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .. import train_options
from ..errors import PacError
from .layout import StudioError

#: Below this many usable clips in some label, PAC's conv head with an automatic validation fraction
#: trains on every clip instead of holding 20% back (one clip of three is a third of what it learns
#: from, and a one-clip validation score says little); the linear head always trains on every clip
#: and reports cross-validation instead.
SMALL_LABEL_CLIPS = 10


def is_folder(name: str) -> bool:
    """Whether ``name`` (``~`` expanded) is a folder; ``~someone`` of no such user is not."""
    try:
        return Path(name).expanduser().is_dir()
    except RuntimeError:  # expanduser: "Could not determine home directory"
        return False


# -- training options --------------------------------------------------------------------------------

#: The background noise the form may choose: the declared words (``generated``, ``none``), the clips of
#: the ``_background_noise_`` label, or a folder on this computer.
NOISE_CHOICES = (*train_options.BY_NAME["generated_noise"].words, "label", "folder")


def _value(spec, data: dict):
    """The form's value of ``spec`` (its words for the option, :func:`pac.train_options.parse`), or its
    default when the form left it empty; a 400 naming the option as the form does."""
    try:
        value = train_options.parse(spec, data.get(spec.front_name), name=spec.label)
    except PacError as error:
        raise StudioError(str(error)) from None
    return spec.default if value is None else value


#: Words the page and its messages use for the model kinds (``pac train --head``) and networks.
HEAD_NAMES = {"linear": "Speech + sound features", "conv": "PAC's original head (paper)"}
NETWORK_NAMES = {"mobilenet": "MobileNet", "speech": "the speech embedding"}


@dataclass(frozen=True)
class StudioTrainOptions:
    """What the page's training form sends, checked by the options' declaration
    (:data:`pac.train_options.OPTIONS`, those the studio offers).

    ``head`` is ``pac train --head`` (``"linear"``, the default, or ``"conv"``); ``bases`` and ``l2``
    only matter for the linear head, and ``epochs``, ``learning_rate``, ``optimizer`` and
    ``batch_fraction`` only for the conv head: the other head's options are neither checked nor used
    (they are ``None``).  ``validation_fraction`` ``None`` is automatic: 0 for the linear head (every
    clip trains; cross-validation estimates the accuracy), 0.2 for the conv head.  ``noise`` is one of
    :data:`NOISE_CHOICES` (``off``, as the page once said, is ``none``).
    """

    max_shift: float
    seed: int
    head: str = "linear"
    bases: str | None = "speech+mobilenet"
    l2: float | None = None
    epochs: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    batch_fraction: float | None = None
    validation_fraction: float | None = None
    noise: str = "generated"
    noise_folder: str | None = None

    @classmethod
    def from_json(cls, data) -> StudioTrainOptions:
        if not isinstance(data, dict):
            raise StudioError("training options must be a JSON object")
        head = _value(train_options.BY_NAME["head"], data)
        values = {}
        for spec in train_options.OPTIONS:
            if spec.studio and not spec.words and spec.name != "head":
                values[spec.name] = None if spec.head not in (None, head) else _value(spec, data)
        noise_spec = train_options.BY_NAME["generated_noise"]
        noise = data.get(noise_spec.front_name) or noise_spec.word(noise_spec.default)
        noise = noise_spec.aliases.get(noise.strip().lower(), noise.strip().lower())
        if noise not in NOISE_CHOICES:
            raise StudioError(
                f"{noise_spec.label} must be one of {', '.join(NOISE_CHOICES)}, not {data.get(noise_spec.front_name)!r}"
            )
        folder = data.get("noise_folder")
        if noise == "folder":
            if not isinstance(folder, str) or not folder.strip():
                raise StudioError("give the folder of background-noise WAV files (a folder on this computer)")
            folder = folder.strip()
        else:
            folder = None
        return cls(head=head, noise=noise, noise_folder=folder, **values)

    def for_clips(self, clips: dict) -> StudioTrainOptions:
        """These options for a project's clips (``{label: clip infos}``): PAC's conv head with the
        automatic validation fraction keeps every clip for training when a label has fewer than
        :data:`SMALL_LABEL_CLIPS` usable clips (validation fraction 0)."""
        if self.head != "conv" or self.validation_fraction is not None or not clips:
            return self
        smallest = min(sum(1 for info in infos if not info["problem"]) for infos in clips.values())
        return replace(self, validation_fraction=0.0) if smallest < SMALL_LABEL_CLIPS else self

    def train_options(self):
        from ..train import TrainOptions, options_with

        return options_with(
            TrainOptions(),
            head=self.head,
            bases=self.bases,
            l2=self.l2,
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            optimizer=self.optimizer,
            batch_fraction=self.batch_fraction,
            validation_fraction=self.validation_fraction,
            max_shift=self.max_shift,
            seed=self.seed,
            generated_noise=self.noise == "generated",
        )


def linear_result(report: dict) -> dict | None:
    """What the page shows of a linear head's training: the cross-validated accuracy and the blocks
    (networks) cross-validation chose, with their weights; ``None`` for a conv head."""
    cv = report.get("cross_validation")
    head = report.get("head")
    if not cv or not head:
        return None
    return {
        "accuracy": cv.get("accuracy"),
        "folds": cv.get("folds"),
        "clips": len(cv.get("clips") or []),
        "blocks": [{"name": b["name"], "weight": b["weight"]} for b in head.get("blocks", [])],
        "candidates": head.get("candidates", []),
    }


__all__ = ["StudioTrainOptions", "linear_result", "HEAD_NAMES", "NETWORK_NAMES", "NOISE_CHOICES", "SMALL_LABEL_CLIPS"]
