# One module on purpose (issue 15): the whole `pac` command surface, each command a thin call into the library.
"""The ``pac`` command.

Every command turns a :class:`~pac.errors.PacError` into ``error: <one line>`` on stderr and exit
code 2; heavy modules (TensorFlow) are imported only by the commands that need them.  Every output
path is checked when the command line is read, before any work (:func:`pac.fsutil.check_output`:
only a new path or a regular file, a folder for model folders; never a symbolic link, FIFO or
device), and again when it is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_USER_ERROR, PacError
from .train_options import OPTIONS as TRAIN_OPTIONS
from .train_options import PRESET_PROFILES
from .train_options import cli_help as train_option_help


def output_file(ctx, param, value):
    """Click callback of a file output option: refuse a path pac must not write, before any work."""
    if value is not None:
        from .fsutil import check_output

        check_output(value, probe=True)
    return value


def output_folder(ctx, param, value):
    """Click callback of a model folder output option (see :func:`output_file`)."""
    if value is not None:
        from .fsutil import check_output

        check_output(value, folder=True, probe=True)
    return value


def base_option(help_text: str = "Folder with MobileNet's model.json and shards."):
    """``--base DIR``: MobileNet's folder, the same option on every command that runs a model."""
    return click.option("--base", "base_dir", type=click.Path(file_okay=False), default=None, help=help_text)


def speech_base_option(help_text: str = "Folder with the speech embedding's two .onnx files."):
    """``--speech-base DIR``: the speech embedding's folder, the same option on every command that runs one."""
    return click.option("--speech-base", "speech_dir", type=click.Path(file_okay=False), default=None, help=help_text)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="pac")
def cli() -> None:
    """Build personal audio classifiers and use them offline in MIT App Inventor apps.

    \b
    Typical session:
      pac spectrogram clip.wav -o clip.png        see what the model sees
      pac train my_clips/ -o my_model             one sub-folder of WAV clips per label
      pac predict my_model test.wav               [[label, confidence], ...]
      pac evaluate my_model test_clips/ --json r.json
    """


@cli.command()
@click.argument("clips", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    metavar="FILE",
    default=None,
    callback=output_file,
    help="PNG to write [default: CLIP.png for one clip, spectrograms.png for several].",
)
@click.option(
    "--config",
    "config_spec",
    default=None,
    metavar="PROFILE|FILE.json",
    help="Feature profile name (default, paper) or a JSON feature configuration.",
)
def spectrogram(clips, output, config_spec) -> None:
    """Write the exact 224x224 image the model sees for CLIP(s).

    With several clips or a folder, writes a contact sheet labelled by file name.
    """
    from .dataset import find_wavs
    from .features import load_config
    from .features.pipeline import clip_image, load_clip
    from .fsutil import check_output, shown_path
    from .images import contact_sheet, write_png
    from .limits import LIMITS

    config = load_config(config_spec)
    paths = find_wavs(clips)
    single = len(clips) == 1 and not Path(clips[0]).is_dir()
    if len(paths) > LIMITS.sheet_max_clips:  # before any clip is read: the sheet grows with their number
        raise PacError(
            f"{len(paths):,d} clips are more than one contact sheet shows ({LIMITS.sheet_max_clips:,d}); "
            "give fewer clips or a smaller folder",
            path=clips[0] if len(clips) == 1 else None,
        )
    default = Path(paths[0].with_suffix(".png").name) if single else Path("spectrograms.png")
    target = Path(output) if output else check_output(default, probe=True)
    images = [clip_image(load_clip(p, config), config) for p in paths]
    if single:
        write_png(target, images[0])
    else:
        common = Path(os.path.commonpath([p.resolve().parent for p in paths]))
        labels = [shown_path(p.resolve().relative_to(common)) for p in paths]
        write_png(target, contact_sheet(images, labels))
    click.echo(f"wrote {target} ({len(images)} clip{'s' if len(images) != 1 else ''})")


def _echo_warning(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


class EpochBar:
    """A per-epoch progress line on stderr: bar, loss, accuracy (and validation accuracy)."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.tty = sys.stderr.isatty()

    def __call__(self, epoch: int, history) -> None:
        done = epoch + 1
        width = 24
        bar = "#" * (width * done // self.epochs) + "." * (width - width * done // self.epochs)
        line = f"epoch {done:>3}/{self.epochs} [{bar}] loss {history.loss[-1]:.4f} acc {history.accuracy[-1]:.3f}"
        if history.val_accuracy:
            line += f" val_acc {history.val_accuracy[-1]:.3f}"
        if self.tty:
            click.echo("\r" + line, err=True, nl=done == self.epochs)
        elif done == self.epochs or done == 1 or done % 10 == 0:
            click.echo(line, err=True)


def _say_restart(attempt: int) -> None:
    click.echo(
        f"the head gave the same answer for every training clip (its filters died); training it "
        f"again from a new initialisation (attempt {attempt + 1})",
        err=True,
    )


OPTIONS_BY_FLAG = {spec.flag: spec for spec in TRAIN_OPTIONS if spec.cli}


def declared_train_options(command):
    """Decorator: ``pac train``'s flags of the training options, made from their declaration
    (:data:`pac.train_options.OPTIONS`: flag, help with the defaults, choices; the bounds are checked
    by :meth:`pac.train.TrainOptions.check`).  Each reaches the command as ``None`` when not given."""
    for spec in reversed(OPTIONS_BY_FLAG.values()):
        if spec.words:  # --noise: a word or a folder
            option = click.option(
                spec.flag,
                spec.front_name,
                metavar="|".join(spec.words) + "|DIR",
                default=None,
                help=train_option_help(spec),
            )
        elif spec.choices:
            option = click.option(
                spec.flag, spec.name, type=click.Choice(spec.choices), default=None, help=train_option_help(spec)
            )
        else:
            option = click.option(spec.flag, spec.name, type=spec.kind, default=None, help=train_option_help(spec))
        command = option(command)
    return command


@cli.command()
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), callback=output_folder, help="Model folder to write.")
@click.option(
    "--preset",
    type=click.Choice(list(PRESET_PROFILES)),
    default="product",
    show_default=True,
    help="Default hyperparameters: the product's tuned ones, or the PAC paper's "
    "(Adam 1e-4, 20 epochs, no augmentation, feature profile 'paper').",
)
@declared_train_options
@click.option(
    "--config",
    "config_spec",
    default=None,
    metavar="PROFILE|FILE.json",
    help="Feature profile name or JSON file [product: default, paper: paper].",
)
@base_option("Folder with MobileNet's model.json and shards [$PAC_BASE_DIR, cache, download].")
@speech_base_option("Folder with the speech embedding's two .onnx files [$PAC_SPEECH_DIR, cache, download].")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable clips with a warning instead of stopping.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the feature cache.")
def train(data_dir, output, preset, config_spec, base_dir, speech_dir, skip_bad, no_cache, **chosen) -> None:
    """Train a classifier on DATA_DIR (one sub-folder of WAV clips per label).

    Unreadable or unusable clips stop training with an error naming the file (or are skipped with
    a warning under --skip-bad); every label needs at least 2 usable clips. A sub-folder named
    _background_noise_ is a label like any other: give it recordings of "nothing" to cut false alarms.
    Its WAVs named room-*.wav (recordings of the room where the app will listen) are mixed into the
    other clips instead of generated noise.
    """
    from .activations import ActivationCache, default_cache_dir
    from .base import load_base, print_progress
    from .features import load_config
    from .train import (
        PAPER,
        TrainOptions,
        fit,
        load_dataset,
        load_noise,
        needed_networks,
        options_with,
        save,
        training_notes,
    )

    defaults = PAPER if preset == "paper" else TrainOptions()
    noise_option = OPTIONS_BY_FLAG["--noise"]  # a word (generated, none; off for none) or a folder
    noise_spec = chosen.pop(noise_option.front_name)
    word = noise_option.aliases.get(noise_spec, noise_spec)
    noise_dir = None if noise_spec is None or word in noise_option.words else noise_spec
    options = options_with(defaults, **chosen, **{noise_option.name: noise_option.words.get(word)})
    options.check(naming=lambda spec: spec.flag or spec.name)
    config = load_config(config_spec or PRESET_PROFILES[preset])
    dataset = load_dataset(data_dir, config, skip_bad=skip_bad, warn=_echo_warning)
    noise = load_noise(noise_dir)
    networks = needed_networks(options, config)
    base = load_base(base_dir, progress=print_progress) if "mobilenet" in networks else None
    speech = None
    if "speech" in networks:
        from .speech_base import load_speech_embedding

        speech = load_speech_embedding(speech_dir, progress=print_progress)
    cache = ActivationCache(None if no_cache else default_cache_dir())
    counts = ", ".join(f"{label} {dataset.count(i)}" for i, label in enumerate(dataset.labels))
    click.echo(f"training on {len(dataset.clips)} clips ({counts})", err=True)
    result = fit(
        dataset,
        config=config,
        options=options,
        base=base,
        speech=speech,
        noise=noise,
        cache=cache,
        on_epoch=EpochBar(options.epochs),
        on_restart=_say_restart,
        on_features=FeatureBar(),
    )
    for note in training_notes(config, result):
        click.echo(note, err=True)
    save(result, output)
    click.echo(f"wrote {output} ({_summary(result.report)})")


def _summary(report: dict) -> str:
    """One phrase on how well the model did on clips it did not train on."""
    parts = []
    head = report.get("head")
    if head:
        parts.append("uses " + " + ".join(f"{b['name']} (weight {b['weight']:g})" for b in head["blocks"]))
    cv = report.get("cross_validation")
    if cv:
        parts.append(f"cross-validated accuracy {cv['accuracy']:.3f} over {cv['folds']} folds")
    validation = report["validation"]
    if validation:
        parts.append(f"validation accuracy {validation['accuracy']:.3f}")
    elif not cv:
        parts.append("no validation clips")
    return "; ".join(parts)


class FeatureBar:
    """``features: clip N of M`` on stderr while the clips' features are computed."""

    def __init__(self):
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            click.echo(f"\rfeatures: clip {done} of {total}", err=True, nl=done == total)
        elif done == total:
            click.echo(f"features: {total} clips", err=True)


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("clips", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {clip: result}.")
@base_option()
@speech_base_option()
def predict(model_dir, clips, as_json, base_dir, speech_dir) -> None:
    """Classify CLIPS: prints [[label, confidence], ...] per clip, most confident first."""
    import json

    from .base import print_progress
    from .classifier import Classifier
    from .dataset import find_wavs
    from .fsutil import shown_path

    paths = find_wavs(clips)
    classifier = Classifier(model_dir, base=base_dir, speech_base=speech_dir, progress=print_progress)
    results = classifier.classify_files(paths)
    if as_json:
        click.echo(json.dumps({shown_path(p): r for p, r in zip(paths, results)}, ensure_ascii=False))
    else:
        for path, result in zip(paths, results):
            click.echo(f"{shown_path(path)}\t{json.dumps(result, ensure_ascii=False)}")


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option(
    "--json",
    "json_path",
    type=click.Path(),
    metavar="FILE",
    callback=output_file,
    help="Write the full results as JSON.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(),
    metavar="FILE",
    callback=output_file,
    help="Write the confusion matrix PNG.",
)
@base_option()
@speech_base_option()
@click.option("--skip-bad", is_flag=True, help="Skip unreadable clips with a warning.")
def evaluate(model_dir, data_dir, json_path, plot_path, base_dir, speech_dir, skip_bad) -> None:
    """Score MODEL_DIR on DATA_DIR (one sub-folder per label): accuracy, precision/recall, confusion."""
    import json

    from .base import print_progress
    from .classifier import Classifier
    from .evaluate import evaluate as run
    from .fsutil import write_bytes_atomic
    from .plots import plot_confusion

    classifier = Classifier(model_dir, base=base_dir, speech_base=speech_dir, progress=print_progress)
    result = run(classifier, data_dir, skip_bad=skip_bad, warn=_echo_warning)
    labels = result["labels"]
    width = max(len(label) for label in labels)
    accuracy = result["accuracy"]
    click.echo(f"accuracy {accuracy:.3f} on {len(result['clips'])} clips" if accuracy is not None else "no clips")
    click.echo(f"{'label':<{width}}  precision  recall  clips")
    for label in labels:
        row = result["per_label"][label]
        fmt = lambda v: "   -   " if v is None else f"{v:7.3f}"  # noqa: E731
        click.echo(f"{label:<{width}}  {fmt(row['precision'])}   {fmt(row['recall'])}  {row['clips']:5d}")
    click.echo("confusion (rows true, columns predicted):")
    for label, row in zip(labels, result["confusion"]):
        click.echo(f"{label:<{width}}  " + " ".join(f"{v:4d}" for v in row))
    if json_path:
        write_bytes_atomic(json_path, (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    if plot_path:
        plot_confusion(result["confusion"], labels, plot_path, title=f"{Path(data_dir).name}")


@cli.command("import-mdl")
@click.argument("mdl_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), callback=output_folder, help="Model folder to write.")
def import_mdl(mdl_file, output) -> None:
    """Turn MIT's Personal Audio Classifier model (MODEL.mdl) into a pac model folder.

    The folder uses the feature profile pac-compat (MIT's spectrogram), so pac predict, pac evaluate
    and pac build work with it. The .mdl is checked completely before anything is written. A .mdl
    does not say whether it classifies sounds or images (MIT's Personal Image Classifier writes the
    same format): pac warns so, and names any sign of an image model it finds.
    """
    from .mdl import import_mdl as run

    run(mdl_file, output, warn=_echo_warning)
    click.echo(f"wrote {output}")


@cli.command("export-mdl")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    metavar="FILE",
    callback=output_file,
    help="The .mdl file to write.",
)
def export_mdl(model_dir, output) -> None:
    """Write MODEL_DIR as a .mdl for MIT's Personal Audio Classifier extension.

    Only models trained with --config pac-compat can be exported: MIT's extension computes its own
    spectrogram and the model must have been trained on the same images.
    """
    from .mdl import export_mdl as run

    run(model_dir, output, warn=_echo_warning)
    click.echo(f"wrote {output}")


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    metavar="FILE",
    callback=output_file,
    help="The .aix file to write.",
)
@base_option("Folder with MobileNet's model.json and shards (shipped inside the .aix when the model uses MobileNet).")
@click.option(
    "--speech-base",
    "speech_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder with the speech embedding's two .onnx files (shipped inside the .aix, 8-bit, when "
    "the model uses the speech block) [$PAC_SPEECH_DIR, cache, download].",
)
@click.option("--sizes", is_flag=True, help="Print the size of every part of the .aix.")
def build(model_dir, output, base_dir, speech_dir, sizes) -> None:
    """Package MODEL_DIR as an App Inventor extension (.aix) that classifies offline.

    The component comes prebuilt with pac; in a checkout of pac's repository it is built with Maven
    first if it is not built or out of date.
    """
    from .aix import build_aix, size_report

    result = build_aix(
        model_dir, output, base_dir=base_dir, speech_dir=speech_dir, echo=lambda m: click.echo(m, err=True)
    )
    if sizes:
        click.echo(size_report(result.entries, result.size))
    click.echo(f"wrote {result.summary()}")


@cli.command()
@click.argument("aix_file", type=click.Path(dir_okay=False))
@click.option(
    "--clips",
    "clips_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder with one sub-folder of WAV clips per label: classify them with the .aix's page and "
    "report accuracy and the difference from pac's Python classifier.",
)
@click.option(
    "--json", "json_path", type=click.Path(), metavar="FILE", callback=output_file, help="Write the report as JSON."
)
@click.option(
    "--no-browser", is_flag=True, help="Only the file checks; do not run the page (needs no Chrome, Chromium or Edge)."
)
def verify(aix_file, clips_dir, json_path, no_browser) -> None:
    """Check AIX_FILE as App Inventor will on import, and run its classifier page in a headless browser.

    The browser is Chrome, Chromium or Edge with its driver (ChromeDriver, msedgedriver), found on
    PATH and in the usual install places, or named by $PAC_CHROME and $PAC_CHROMEDRIVER.  Exits with
    code 1 and lists the failures when the extension is broken, with code 2 when no browser is found.
    """
    import json

    from .fsutil import write_bytes_atomic
    from .verify import verify as run

    report = run(aix_file, clips_dir=clips_dir, browser=not no_browser)
    for name in report.passed:
        click.echo(f"ok    {name}")
    for message in report.warnings:
        click.echo(f"warn  {message}")
    if report.accuracy is not None:
        click.echo(
            f"clips {report.clips}: accuracy {report.accuracy:.3f}, largest probability difference "
            f"page vs. Python {report.max_prob_diff:.2e}"
        )
    if json_path:
        write_bytes_atomic(json_path, (json.dumps(report.to_json(), indent=2) + "\n").encode("utf-8"))
    if report.failures:
        click.echo(
            f"FAILED: {aix_file} ({len(report.failures)} problem{'s' if len(report.failures) > 1 else ''})", err=True
        )
        for message in report.failures:
            click.echo(f"  - {message}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"passed: {aix_file} ({report.size:,d} bytes)")


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--port", type=int, default=None, help="Port to listen on [8765, or the next free one; 0 = any].")
@click.option(
    "--host",
    default=None,
    help="Address to listen on [127.0.0.1; with --classroom 0.0.0.0]; anything but localhost lets other "
    "computers in (without --classroom a warning is printed).",
)
@click.option(
    "--classroom",
    is_flag=True,
    help="Serve a class on this network over HTTPS: students join with the class code and their name and "
    "each gets a project in DIRECTORY/students/ [./pac-classroom]; the teacher's page shows everyone.",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@base_option("Folder with MobileNet's model.json and shards [$PAC_BASE_DIR, cache, download].")
@speech_base_option("Folder with the speech embedding's two .onnx files [$PAC_SPEECH_DIR, cache, download].")
def studio(directory, port, host, classroom, no_browser, base_dir, speech_dir) -> None:
    """Open the trainer web page for the project in DIRECTORY [./pac-studio-project].

    Students add labels, record or upload clips, train, test and download the model (.zip, .aix)
    in the browser; everything is kept in DIRECTORY (labels/<label>/*.wav, models/, tests/).
    With --classroom, a whole class does this at once from their own computers.
    """
    from .studio.server import run

    run(
        directory,
        host=host,
        port=port,
        open_browser=not no_browser,
        base_dir=base_dir,
        speech_dir=speech_dir,
        classroom=classroom,
        echo=lambda m: click.echo(m, err=m.startswith("warning")),
    )


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("recording", type=click.Path(dir_okay=False))
@click.option("--threshold", type=float, default=None, help="Smallest confidence that counts [0.8, bridge.json].")
@click.option(
    "--minimum-interval",
    "minimum_interval_ms",
    type=float,
    default=None,
    metavar="MS",
    help="No detection for this long after one [1000 ms, bridge.json].",
)
@click.option("--hop", "hop_ms", type=float, default=None, metavar="MS", help="Time between windows [250 ms].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (detections, window counts).")
@base_option()
@speech_base_option()
def listen(model_dir, recording, threshold, minimum_interval_ms, hop_ms, as_json, base_dir, speech_dir) -> None:
    """Listen to a long RECORDING as the extension's continuous listening does: one line per detection."""
    from .listen import run_cli

    run_cli(
        model_dir,
        recording,
        threshold=threshold,
        minimum_interval_ms=minimum_interval_ms,
        hop_ms=hop_ms,
        as_json=as_json,
        base=base_dir,
        speech_base=speech_dir,
        echo=click.echo,
    )


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code (user errors: one line, code 2)."""
    try:
        code = cli.main(args=argv, prog_name="pac", standalone_mode=False)
    except PacError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USER_ERROR
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    # click returns the code of an Exit raised by a command (e.g. pac verify's 1) instead of raising it
    return code if isinstance(code, int) else 0


def entry() -> None:
    """The ``pac`` console script: :func:`main`, then exit.

    Once TensorFlow is loaded, Python's normal shutdown spends ~1.5 s tearing it down after the
    command has finished (measured on ``pac train``); every file is already written and closed by
    then, so the process flushes its output and ends at once with the command's exit code (only
    when no other thread is still running, e.g. a studio job finishing a save).
    """
    import threading

    code = main()
    if "tensorflow" in sys.modules and threading.active_count() == 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
