"""The training options, declared once (pac.train_options): TrainOptions and PAPER take them, the
``pac train`` flags, the studio's form and the README's table are made from them or checked here."""

from __future__ import annotations

import re
from dataclasses import asdict, fields
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pac import train_options
from pac.cli import cli, main
from pac.errors import PacError
from pac.train import BASES, PAPER, TrainOptions
from pac.train_options import BY_NAME, OPTIONS

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "compiler" / "pac" / "studio" / "static"


def test_readme_training_table_is_the_declared_one():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Training\n", 1)[1].split("\n#", 1)[0]
    rows = [
        tuple(cell.strip() for cell in line.strip("|").split(" | "))
        for line in re.findall(r"^\|.*\|$", section, flags=re.M)
    ]
    table = [r for r in rows if r[0].startswith("`--")]
    assert rows[0] == ("option", "meaning", "allowed", "product default", "`--preset paper`")
    declared = train_options.table()
    assert table[: len(declared)] == declared
    # the other rows are pac train's other flags
    others = {p.opts[-1] for p in cli.commands["train"].params} - {s.flag for s in OPTIONS if s.cli}
    for row in table[len(declared) :]:
        assert row[0].strip("`").split()[0] in others, row


def test_train_options_take_the_declared_defaults_and_paper_values():
    assert [f.name for f in fields(TrainOptions)] == [s.name for s in OPTIONS]
    assert asdict(TrainOptions()) == train_options.defaults()
    assert asdict(PAPER) == train_options.paper()
    # the values they have had since the paper preset existed (same defaults, same models)
    assert TrainOptions() == TrainOptions(
        head="linear",
        bases="speech+mobilenet",
        l2=0.1,
        cv_folds=5,
        epochs=50,
        learning_rate=1e-3,
        optimizer="adam",
        batch_fraction=0.4,
        validation_fraction=None,
        seed=0,
        max_shift=0.1,
        shift_step=0.05,
        generated_noise=True,
        noise_copies=1,
        snr_db=(5.0, 20.0),
        canvas_copies=0,
        restarts=2,
    )
    assert PAPER == TrainOptions(
        head="conv",
        epochs=20,
        learning_rate=1e-4,
        validation_fraction=0.0,
        max_shift=0.0,
        generated_noise=False,
        canvas_copies=0,
        restarts=0,
    )
    TrainOptions().check()
    PAPER.check()


def test_choices_are_those_the_library_knows():
    from pac.head import OPTIMIZERS
    from pac.modeldir import HEAD_KINDS

    assert set(BY_NAME["head"].choices) == set(HEAD_KINDS)
    assert BY_NAME["optimizer"].choices == OPTIMIZERS
    assert BY_NAME["bases"].choices == tuple(BASES)
    for spec in OPTIONS:
        assert spec.help and "\n" not in spec.help and spec.label, spec.name
        assert train_options.problem(spec, spec.default) is None, spec.name
        assert train_options.problem(spec, spec.paper_value) is None, spec.name


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"l2": 0.0}, "l2 must be more than 0 and at most 100, not 0"),
        ({"epochs": 0}, "epochs must be a whole number from 1 to 1000, not 0"),
        ({"epochs": 2.5}, "epochs must be a whole number from 1 to 1000, not 2.5"),
        ({"learning_rate": float("nan")}, "learning_rate must be more than 0 and at most 1, not nan"),
        ({"validation_fraction": 1.0}, "validation_fraction must be from 0 to 0.9, not 1"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of adam, sgd, adagrad, adadelta, not 'lbfgs'"),
        ({"seed": -1}, "seed must be a whole number from 0 to 2147483647, not -1"),
        ({"snr_db": (20.0, 5.0)}, "snr_db must be two numbers from -30 to 60, the lower first, not (20.0, 5.0)"),
        ({"generated_noise": "yes"}, "generated_noise must be one of generated, none, not 'yes'"),
    ],
)
def test_check_names_the_option_its_value_and_the_range(changes, says):
    with pytest.raises(PacError) as caught:
        TrainOptions(**changes).check()
    assert str(caught.value) == says
    with pytest.raises(PacError) as flagged:
        TrainOptions(**changes).check(naming=lambda spec: spec.flag or spec.name)
    spec = BY_NAME[next(iter(changes))]
    assert str(flagged.value) == says.replace(spec.name, spec.flag or spec.name, 1)


def test_parse_reads_form_text():
    assert train_options.parse(BY_NAME["epochs"], "12.0") == 12
    assert train_options.parse(BY_NAME["optimizer"], " SGD ") == "sgd"
    assert train_options.parse(BY_NAME["generated_noise"], "off") is False
    assert train_options.parse(BY_NAME["seed"], "") is None
    for spec, value, says in [
        ("epochs", "many", "epochs must be a whole number, not 'many'"),
        ("epochs", "inf", "epochs must be a whole number, not 'inf'"),
        ("l2", "1e400", "l2 must be more than 0 and at most 100, not inf"),
    ]:
        with pytest.raises(PacError) as caught:
            train_options.parse(BY_NAME[spec], value)
        assert str(caught.value) == says


def test_pac_train_flags_are_made_from_the_declaration():
    params = {p.opts[-1]: p for p in cli.commands["train"].params}
    for spec in OPTIONS:
        if not spec.cli:
            assert "--" + spec.name.replace("_", "-") not in params, spec.name
            continue
        param = params[spec.flag]
        assert param.help == train_options.cli_help(spec) and param.default is None, spec.flag
        if spec.choices:
            assert tuple(param.type.choices) == spec.choices, spec.flag
    assert "[product 50, paper 20]" in params["--epochs"].help


@pytest.mark.parametrize(
    "args, says",
    [
        (["--epochs", "0", "--head", "conv"], "error: --epochs must be a whole number from 1 to 1000, not 0\n"),
        (
            ["--l2", "-1", "--seed", "-2"],
            "error: --l2 must be more than 0 and at most 100, not -1; "
            "--seed must be a whole number from 0 to 2147483647, not -2\n",
        ),
    ],
)
def test_pac_train_refuses_values_out_of_bounds_in_one_line(tmp_path, capsys, args, says):
    assert main(["train", str(tmp_path / "clips"), "-o", str(tmp_path / "m"), *args]) == 2
    assert capsys.readouterr().err == says


@pytest.mark.parametrize(
    "word, generated, folder",
    [
        ("none", False, None),
        ("off", False, None),
        ("generated", True, None),
        (None, True, None),
        ("my-noise", None, "my-noise"),
    ],
)
def test_pac_train_noise_words_and_folder(tmp_path, monkeypatch, capsys, word, generated, folder):
    """``--noise none`` (``off`` is taken for it), ``generated`` or a folder reach training as they should."""
    import pac.train as train

    seen = {}
    monkeypatch.setattr(train, "load_dataset", lambda *a, **k: object())
    monkeypatch.setattr(train, "load_noise", lambda path: seen.setdefault("folder", path))

    def stop(options, config):
        seen["options"] = options
        raise PacError("stop here")

    monkeypatch.setattr(train, "needed_networks", stop)
    args = ["train", str(tmp_path / "clips"), "-o", str(tmp_path / "m")] + (["--noise", word] if word else [])
    assert main(args) == 2
    assert capsys.readouterr().err == "error: stop here\n"
    assert seen["folder"] == folder
    assert seen["options"].generated_noise is (True if generated is None else generated)


class _Form(HTMLParser):
    """The training form's fields: ``{name: {"tag", "attrs", "values"}}`` (radio and option values)."""

    def __init__(self):
        super().__init__()
        self.fields, self.select, self.inside = {}, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "train-form":
            self.inside = True
        if not self.inside:
            return
        if tag in ("input", "select") and "name" in attrs:
            field = self.fields.setdefault(attrs["name"], {"tag": tag, "attrs": attrs, "values": []})
            if attrs.get("type") == "radio":
                field["values"].append(attrs["value"])
            self.select = field if tag == "select" else None
        elif tag == "option" and self.select is not None:
            self.select["values"].append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select":
            self.select = None


def test_studio_form_has_a_field_of_every_studio_option_and_no_bounds_of_its_own():
    form = _Form()
    form.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    for spec in OPTIONS:
        if not spec.studio:
            assert spec.front_name not in form.fields, spec.name
            continue
        field = form.fields[spec.front_name]
        if spec.words:
            # the declared words, and the two that take a place (the project's noise label, a folder)
            assert sorted(field["values"]) == sorted([*spec.words, "label", "folder"]), spec.name
        elif spec.choices:
            assert sorted(field["values"]) == sorted(spec.choices), spec.name
        else:  # the page sets min and max from GET /api/train/options
            assert field["attrs"]["type"] == "number" and not {"min", "max", "value"} & set(field["attrs"]), spec.name
    script = "\n".join(p.read_text(encoding="utf-8") for p in sorted(STATIC.glob("*.js")))
    assert "'api/train/options'" in script
    assert not re.search(r"learning_rate: *0\.|epochs: *\d|noise: *'", script), "presets are the server's"


def test_studio_options_json():
    declared = train_options.to_json()
    keys = [o["key"] for o in declared["options"]]
    assert keys == [s.front_name for s in OPTIONS if s.studio]
    product, paper = declared["presets"]["product"], declared["presets"]["paper"]
    assert product["profile"] == "default" and paper["profile"] == "paper"
    assert product["noise"] == "generated" and paper["noise"] == "none"
    assert product["validation_fraction"] is None and paper["validation_fraction"] == 0.0
    assert (product["epochs"], paper["epochs"], paper["head"]) == (50, 20, "conv")
