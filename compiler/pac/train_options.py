# One module on purpose (issue 15): the one declaration of every training option, read by the CLI, studio and README.
"""The options of training, declared once: name, type, product default, the PAC paper's value, bounds or
choices, one line of help, the command-line flag and whether the studio offers it.

:class:`pac.train.TrainOptions` takes its defaults and :data:`pac.train.PAPER` its values from
:data:`OPTIONS`, and :meth:`~pac.train.TrainOptions.check` validates with :func:`check`; ``pac train``
makes its options from it, the studio checks the page's form with it and sends it to the page (bounds,
defaults, choices, presets), and the README's training options table is :func:`table` (a test
compares them).

An error names the option and says the value and what is allowed (``l2 must be more than 0 and at
most 100, not 0``); a front end may name it its own way (``pac train`` by its flag, the studio by the
words of its form).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import PacError

#: "The same as the product's default" (the paper preset's value of most options).
SAME = object()


@dataclass(frozen=True)
class OptionSpec:
    """One training option.

    Parameters
    ----------
    name : str
        The field of :class:`pac.train.TrainOptions`.
    kind : type
        ``int``, ``float``, ``str``, ``bool`` or ``tuple`` (a pair of floats).
    default : object
        The product's default; ``None`` for a choice made automatically (see ``default_text``).
    help : str
        One line: what it does (the README's "meaning" and ``pac train --help``; backquotes mark words).
    paper : object
        The value of the PAC paper's settings (``--preset paper``); :data:`SAME` when it is the default.
    low, high : float, optional
        Bounds of a number (or of each number of a pair); inclusive unless ``low_open``/``high_open``.
    choices : tuple of str
        The values a text option may take.
    words : dict, optional
        A ``bool`` option's values as the front ends spell them (``{"generated": True, "none": False}``).
    aliases : dict, optional
        Other spellings the front ends accept for ``words``, ``{alias: word}``.
    key : str, optional
        The option's name in the front ends (the flag is ``--key`` with ``-`` for ``_``, the studio's
        request field is ``key``); default ``name``.
    cli : bool
        Whether ``pac train`` has a flag for it.
    studio : bool
        Whether the studio's training form offers it.
    head : {"linear", "conv"}, optional
        The one head the option matters to (the other head ignores it).
    label : str
        The studio form's words for it (its errors name the option so).
    default_text : str, optional
        How to show a default that is not a plain value (``validation_fraction``'s automatic one).
    """

    name: str
    kind: type
    default: object
    help: str
    paper: object = SAME
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    words: dict | None = None
    aliases: dict = field(default_factory=dict)
    key: str | None = None
    cli: bool = False
    studio: bool = False
    head: str | None = None
    label: str = ""
    default_text: str | None = None

    @property
    def front_name(self) -> str:
        """The name in the front ends: the studio's request field (``noise`` for ``generated_noise``)."""
        return self.key or self.name

    @property
    def flag(self) -> str | None:
        """The ``pac train`` flag (``--learning-rate``), ``None`` without one."""
        return "--" + self.front_name.replace("_", "-") if self.cli else None

    @property
    def paper_value(self):
        """The value under the PAC paper's settings."""
        return self.default if self.paper is SAME else self.paper

    def word(self, value) -> str:
        """``value`` as the front ends and the README show it."""
        if self.words:
            return next(w for w, v in self.words.items() if v == value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def allowed(self) -> str:
        """What the option may be, in words: ``from 1 to 1000``, ``one of adam, sgd``."""
        if self.words:
            return "one of " + ", ".join(self.words)
        if self.choices:
            return "one of " + ", ".join(self.choices)
        low, high = _number(self.low), _number(self.high)
        if not self.low_open and not self.high_open:
            text = f"from {low} to {high}"
        else:
            text = (
                (f"more than {low}" if self.low_open else f"at least {low}")
                + " and "
                + (f"less than {high}" if self.high_open else f"at most {high}")
            )
        if self.kind is tuple:
            return f"two numbers {text}, the lower first"
        return ("a whole number " if self.kind is int else "") + text

    def within(self, number: float) -> bool:
        """Whether ``number`` is inside the bounds (NaN never is)."""
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        return above and below


_SNR = "5-20 dB SNR"

#: Every training option, in :class:`pac.train.TrainOptions`' order.
OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "head",
        str,
        "linear",
        paper="conv",
        choices=("linear", "conv"),
        cli=True,
        studio=True,
        label="the model kind",
        help="the model: `linear` (speech + MobileNet features, one softmax layer) or `conv` (PAC's head on MobileNet)",
    ),
    OptionSpec(
        "bases",
        str,
        "speech+mobilenet",
        choices=("speech+mobilenet", "speech", "mobilenet"),
        cli=True,
        studio=True,
        head="linear",
        label="the networks",
        help="linear head: the networks it may use, `speech+mobilenet`, `speech` or `mobilenet` "
        "(no speech weights needed); with both, cross-validation weighs them",
    ),
    OptionSpec(
        "l2",
        float,
        0.1,
        low=0.0,
        high=100.0,
        low_open=True,
        cli=True,
        studio=True,
        head="linear",
        label="the L2 penalty",
        help="linear head: L2 penalty of the softmax layer",
    ),
    OptionSpec(
        "cv_folds",
        int,
        5,
        low=2,
        high=20,
        label="the cross-validation folds",
        help="linear head: folds of the cross-validation over clips (fewer when a label has fewer clips)",
    ),
    OptionSpec(
        "epochs",
        int,
        50,
        paper=20,
        low=1,
        high=1000,
        cli=True,
        studio=True,
        head="conv",
        label="epochs",
        help="conv head: passes over the training data",
    ),
    OptionSpec(
        "learning_rate",
        float,
        0.001,
        paper=0.0001,
        low=0.0,
        high=1.0,
        low_open=True,
        cli=True,
        studio=True,
        head="conv",
        label="the learning rate",
        help="conv head: optimizer step size",
    ),
    OptionSpec(
        "optimizer",
        str,
        "adam",
        choices=("adam", "sgd", "adagrad", "adadelta"),
        cli=True,
        studio=True,
        head="conv",
        label="the optimizer",
        help="conv head: `adam`, `sgd`, `adagrad`, `adadelta`",
    ),
    OptionSpec(
        "batch_fraction",
        float,
        0.4,
        low=0.0,
        high=1.0,
        low_open=True,
        cli=True,
        studio=True,
        head="conv",
        label="the training data fraction",
        help='conv head: PAC\'s "training data fraction": batch = floor(fraction x examples)',
    ),
    OptionSpec(
        "validation_fraction",
        float,
        None,
        paper=0.0,
        low=0.0,
        high=0.9,
        cli=True,
        studio=True,
        label="the validation fraction",
        default_text="linear 0 (cross-validation instead), conv 0.2",
        help="share of each label's clips held out for the report",
    ),
    OptionSpec(
        "seed",
        int,
        0,
        low=0,
        high=2**31 - 1,
        cli=True,
        studio=True,
        label="the seed",
        help="same seed, same model (bit for bit)",
    ),
    OptionSpec(
        "max_shift",
        float,
        0.1,
        paper=0.0,
        low=0.0,
        high=0.5,
        cli=True,
        studio=True,
        label="the time shift",
        help="time-shift augmentation, seconds (0 = off)",
    ),
    OptionSpec(
        "shift_step",
        float,
        0.05,
        low=0.0,
        high=0.5,
        low_open=True,
        label="the time shift step",
        help="time-shift augmentation: the step between shifts, seconds",
    ),
    OptionSpec(
        "generated_noise",
        bool,
        True,
        paper=False,
        words={"generated": True, "none": False},
        aliases={"off": "none"},
        key="noise",
        cli=True,
        studio=True,
        label="the background noise",
        help=f"background noise mixed into a copy of every training clip at {_SNR}: `generated` (white, "
        "pink and brown noise made by pac; where `_background_noise_` holds recordings of the room, "
        "files named `room-*.wav` as the studio's Record the room stores them, those instead), `none`, "
        "or a folder of noise WAVs (your room, your street)",
    ),
    OptionSpec(
        "noise_copies",
        int,
        1,
        low=0,
        high=10,
        label="the noisy copies",
        help="noisy copies of every shifted variant (when noise is mixed in)",
    ),
    OptionSpec(
        "snr_db",
        tuple,
        (5.0, 20.0),
        low=-30.0,
        high=60.0,
        label="the signal-to-noise ratios",
        help="range of signal-to-noise ratios (dB) of the noisy copies",
    ),
    OptionSpec(
        "canvas_copies",
        int,
        0,
        low=0,
        high=1,
        label="the canvas-filter copies",
        help="pac-compat: also train on a copy of every training image drawn with each other canvas "
        "filter a browser may use (1), or not (0; measured no more robust and less accurate, "
        "bench/compat_filters.py)",
    ),
    OptionSpec(
        "restarts",
        int,
        2,
        paper=0,
        low=0,
        high=10,
        label="the restarts",
        help="conv head: times a dead head (the same answer for every clip) is trained again",
    ),
)

BY_NAME: dict[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}

#: The feature profile of each ``pac train --preset`` (and the studio's presets of the same name).
PRESET_PROFILES = {"product": "default", "paper": "paper"}


def defaults() -> dict:
    """``{name: product default}``."""
    return {spec.name: spec.default for spec in OPTIONS}


def paper() -> dict:
    """``{name: value}`` of the PAC paper's settings."""
    return {spec.name: spec.paper_value for spec in OPTIONS}


def _number(value: float) -> str:
    """``value`` in short: ``0.001``, ``1e-07``, whole numbers in full (``2147483647``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def problem(spec: OptionSpec, value, *, name: str | None = None) -> str | None:
    """What is wrong with ``value`` for ``spec`` in one phrase, ``None`` when nothing is.

    Parameters
    ----------
    name : str, optional
        How to name the option (default ``spec.name``).
    """
    name = name or spec.name
    bad = f"{name} must be {spec.allowed()}, not {_shown(value)}"
    if spec.words:
        return None if isinstance(value, bool) and value in spec.words.values() else bad
    if spec.choices:
        return None if isinstance(value, str) and value in spec.choices else bad
    if value is None and spec.default is None:
        return None  # chosen automatically
    numbers = value if spec.kind is tuple else (value,)
    if spec.kind is tuple and (not isinstance(value, (tuple, list)) or len(value) != 2):
        return bad
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return bad
        if spec.kind is int and not isinstance(number, int):
            return bad
        if not spec.within(number):
            return bad
    if spec.kind is tuple and numbers[0] > numbers[1]:
        return bad
    return None


def check(values: Mapping[str, object], *, naming: Callable[[OptionSpec], str] | None = None) -> None:
    """Refuse values outside their option's bounds or choices, all problems in one line.

    Parameters
    ----------
    values : mapping
        ``{name: value}``; names without a declaration are ignored.
    naming : callable, optional
        ``naming(spec)``: how errors name an option (default its name; ``pac train`` uses its flag).

    Raises
    ------
    PacError
        ``"l2 must be more than 0 and at most 100, not 0; ..."``.
    """
    problems = []
    for spec in OPTIONS:
        if spec.name in values:
            found = problem(spec, values[spec.name], name=naming(spec) if naming else None)
            if found:
                problems.append(found)
    if problems:
        raise PacError("; ".join(problems))


def parse(spec: OptionSpec, value, *, name: str | None = None):
    """A front end's value (text as a form sends it, or a number) as the option's type, checked.

    Text options are compared in lower case and ``words`` options take their aliases;
    ``None`` or empty text is ``None``.

    Raises
    ------
    PacError
        The value is not of the option's type, or outside its bounds or choices.
    """
    name = name or spec.name
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if spec.words or spec.choices:
        word = str(value).strip().lower()
        if spec.words:
            word = spec.aliases.get(word, word)
            if word not in spec.words:
                raise PacError(f"{name} must be {spec.allowed()}, not {_shown(value)}")
            return spec.words[word]
        found = problem(spec, word, name=name)
    else:
        try:
            number = float(value)
            if spec.kind is int:
                if not math.isfinite(number) or number != int(number):
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError, OverflowError):
            whole = "a whole number" if spec.kind is int else "a number"
            raise PacError(f"{name} must be {whole}, not {_shown(value)}") from None
        word = number
        found = problem(spec, number, name=name)
    if found:
        raise PacError(found)
    return word


def shown_default(spec: OptionSpec) -> str:
    """The product default as the README and ``--help`` show it."""
    return spec.default_text or spec.word(spec.default)


def shown_paper(spec: OptionSpec) -> str:
    """The paper preset's value as the README shows it (empty for options of the linear head only)."""
    return "" if spec.head == "linear" else spec.word(spec.paper_value)


def cli_help(spec: OptionSpec) -> str:
    """``pac train --help``'s line: the help text and the defaults in brackets."""
    text = spec.help.replace("`", "")
    default, paper_text = shown_default(spec), shown_paper(spec)
    if paper_text and paper_text != default:
        return f"{text[0].upper()}{text[1:]} [product {default}, paper {paper_text}]."
    return f"{text[0].upper()}{text[1:]} [{default}]."


def allowed_text(spec: OptionSpec) -> str:
    """What the README says a flag takes: its bounds or choices (and a folder, for ``--noise``)."""
    if spec.words:
        return "one of " + ", ".join(spec.words) + ", or a folder"
    return spec.allowed()


def table() -> list[tuple[str, str, str, str, str]]:
    """The README's training options rows: ``(flag, help, allowed, product default, paper preset)``."""
    return [
        (f"`{spec.flag}`", spec.help, allowed_text(spec), shown_default(spec), shown_paper(spec))
        for spec in OPTIONS
        if spec.cli
    ]


def to_json() -> dict:
    """The studio's options as its page reads them: ``{"options": [...], "presets": {...}}``.

    Each option has its ``key`` (the form field), ``kind`` (``"int"``, ``"float"``, ``"text"``),
    ``default`` and ``paper`` values (as the form shows them: words, ``null`` for automatic),
    ``low``/``high`` and whether they are open, ``choices`` (words), ``aliases``, ``head`` and ``label``.
    """
    options = []
    for spec in OPTIONS:
        if not spec.studio:
            continue
        value = spec.word if spec.words else (lambda v: v)
        options.append(
            {
                "key": spec.front_name,
                "kind": "text" if spec.words or spec.choices else spec.kind.__name__,
                "default": value(spec.default),
                "paper": value(spec.paper_value),
                "low": spec.low,
                "high": spec.high,
                "low_open": spec.low_open,
                "high_open": spec.high_open,
                "choices": list(spec.words or spec.choices),
                "aliases": dict(spec.aliases),
                "head": spec.head,
                "label": spec.label,
                "help": spec.help,
            }
        )
    presets = {}
    for preset, profile in PRESET_PROFILES.items():
        presets[preset] = {
            "profile": profile,
            **{o["key"]: o["paper" if preset == "paper" else "default"] for o in options},
        }
    return {"options": options, "presets": presets}


__all__ = [
    "OptionSpec",
    "OPTIONS",
    "BY_NAME",
    "SAME",
    "PRESET_PROFILES",
    "defaults",
    "paper",
    "problem",
    "check",
    "parse",
    "shown_default",
    "shown_paper",
    "cli_help",
    "allowed_text",
    "table",
    "to_json",
]
