"""pac-compat models and the canvas filters a browser may draw MIT's figure with.

MIT's page lets the browser's canvas shrink the server's 1000x1000 figure to 200x200 (see
:mod:`pac.features.canvas`): Chromium's software canvas draws it as ``mipmap-bilinear`` (measured
exactly), its GPU canvas and other browsers differently.  For the tasks of ``mit_interop.py`` (5
clips per label train, the other clips test) and several seeds, this trains pac-compat models with
the product's settings

* *before*: as pac did before issue 13 (canvas filter ``centre``, no canvas copies);
* *no copies* (what ``pac train --config pac-compat`` does now): the measured filter;
* *copies*: the measured filter, plus a copy of every training image drawn with each other filter
  (``centre``, ``area``; training option ``canvas_copies = 1``);

and reports, per setting, the accuracy on the test clips with the images drawn by each filter, and
the top-1 agreement between ``pac predict`` (the model's own filter) and the same model fed the
images of each other filter: how much a phone whose canvas draws differently would change the answers.

    .venv/bin/python bench/compat_filters.py [--seeds 0,1,2,3,4] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mit_interop import TASKS, split  # noqa: E402  (bench/ is not a package)

SETTINGS = {"before": ("centre", 0), "no copies": ("mipmap-bilinear", 0), "copies": ("mipmap-bilinear", 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--base", default=None, help="MobileNet folder (as pac train --base)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from pac.activations import ActivationCache, default_cache_dir
    from pac.base import load_base
    from pac.classifier import Classifier
    from pac.features import PROFILES, canvas
    from pac.train import TrainOptions, fit, load_dataset, save

    base = load_base(args.base)
    cache = ActivationCache(default_cache_dir())
    rows = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="pac-compat-filters-") as tmp:
        for seed in map(int, args.seeds.split(",")):
            for name in args.tasks.split(","):
                train, test = split(TASKS[name], seed=seed)
                data = Path(tmp) / f"{name}-{seed}" / "data"
                for label, clips in train.items():
                    (data / label).mkdir(parents=True)
                    for path in clips:
                        (data / label / path.name).symlink_to(path)
                clips = [path for _, path in test]
                truth = [label for label, _ in test]
                for setting, (downscale, copies) in SETTINGS.items():
                    config = dataclasses.replace(PROFILES["pac-compat"], downscale=downscale)
                    options = TrainOptions(head="conv", canvas_copies=copies, seed=seed)
                    dataset = load_dataset(data, config)
                    model = data.parent / setting.replace(" ", "-")
                    save(fit(dataset, config=config, options=options, base=base, cache=cache), model)
                    answers = {}
                    for drawn in canvas.DOWNSCALES:
                        manifest = json.loads((model / "pac.json").read_text())
                        manifest["features"]["downscale"] = drawn
                        (model / "pac.json").write_text(json.dumps(manifest))
                        answers[drawn] = [a[0][0] for a in Classifier(model, base=args.base).classify_files(clips)]
                    own = answers[downscale]
                    row = {
                        "seed": seed,
                        "task": name,
                        "setting": setting,
                        "clips": len(clips),
                        "accuracy": {d: float(np.mean([a == t for a, t in zip(answers[d], truth)])) for d in answers},
                        "agree_with_own": {d: int(sum(a == b for a, b in zip(answers[d], own))) for d in answers},
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for setting in SETTINGS:
        mine = [r for r in rows if r["setting"] == setting]
        n = sum(r["clips"] for r in mine)
        summary[setting] = {  # over all test clips of all tasks and seeds
            "clips": n,
            "accuracy": {d: sum(r["accuracy"][d] * r["clips"] for r in mine) / n for d in canvas.DOWNSCALES},
            "agreement": {d: sum(r["agree_with_own"][d] for r in mine) / n for d in canvas.DOWNSCALES},
        }
        print(
            f"{setting}: "
            + "; ".join(
                f"{d}: accuracy {summary[setting]['accuracy'][d]:.3f}, agreement {summary[setting]['agreement'][d]:.3f}"
                for d in canvas.DOWNSCALES
            )
        )
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "seconds": round(time.time() - started),
        "rows": rows,
        "summary": summary,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
