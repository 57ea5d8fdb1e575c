"""The issue-11 candidate tooling in bench/: the exact span-of-examples fit of bench/tune_linear.py's
frequency-row experiment, its blocks, and bench/accuracy.py's conv-switch rule."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import accuracy  # noqa: E402 - bench/ is in this checkout: a module that cannot be imported fails, never skips
import tune_linear  # noqa: E402
from pac import linear_head as L  # noqa: E402


def test_kernel_fit_equals_the_linear_head_when_blocks_are_wider_than_the_examples():
    rng = np.random.default_rng(0)
    n, labels = 24, 3
    y = np.repeat(np.arange(labels), n // labels)
    train = {"sp": rng.normal(size=(n, 10)) + y[:, None], "rows": rng.normal(size=(n, 60)) * 3 + 5}
    test = {
        "sp": rng.normal(size=(9, 10)) + np.repeat(np.arange(labels), 3)[:, None],
        "rows": rng.normal(size=(9, 60)) * 3 + 5,
    }
    weights = {"sp": 1.0, "rows": 0.5}
    got = tune_linear.kernel_fit(tune_linear.standardised_grams(train, test), weights, y, labels, 0.1)
    x = np.concatenate([train["sp"], train["rows"]], axis=1)
    model = L.fit_model(x, y, n_labels=labels, blocks=("sp", "rows"), sizes=(10, 60), weights=(1.0, 0.5), l2=0.1)
    want = model.probabilities(np.concatenate([test["sp"], test["rows"]], axis=1))
    assert np.abs(got - want).max() < 1e-4


def test_row_blocks_average_over_time_and_keep_each_frequency_row():
    acts = np.zeros((2, 7, 7, 256), np.float32)
    acts[0, 3, :, 5] = np.arange(7)  # row 3, channel 5, rising over time
    acts[1, 6, 2, 0] = 7.0  # row 6 (lowest frequencies), one position
    blocks = tune_linear.row_blocks(np.zeros((2, 192)), acts)
    assert blocks["rows"].shape == (2, 7 * 256) and blocks["mean"].shape == (2, 256)
    assert blocks["rows"][0, 3 * 256 + 5] == pytest.approx(3.0)
    assert blocks["rows"][1, 6 * 256 + 0] == pytest.approx(1.0)
    assert blocks["mean"][1, 0] == pytest.approx(7.0 / 49)
    assert np.count_nonzero(blocks["rows"]) == 2


def result(weights: dict, losses: dict | None = None):
    """A linear-head training result as pac.train.fit makes it (the fields the rule reads)."""
    blocks = [{"name": name, "weight": w} for name, w in weights.items() if w > 0]
    candidates = [
        {"weights": {"speech": s, "mobilenet": m}, "cv_log_loss": loss} for (s, m), loss in (losses or {}).items()
    ]
    return SimpleNamespace(linear={"blocks": blocks}, report={"head": {"candidates": candidates}})


@pytest.mark.parametrize(
    "weights, loss_check, switches",
    [
        ({"speech": 1.0, "mobilenet": 0.5}, False, False),
        ({"speech": 1.0, "mobilenet": 1.0}, False, False),
        ({"speech": 0.5, "mobilenet": 1.0}, False, True),
        ({"speech": 0.0, "mobilenet": 1.0}, False, True),
        ({"speech": 1.0, "mobilenet": 0.0}, False, False),
        ({"speech": 0.5, "mobilenet": 1.0}, True, True),
    ],
)
def test_conv_switch_follows_the_chosen_weights(weights, loss_check, switches):
    losses = {(1.0, 0.0): 0.9, (0.0, 1.0): 0.3}
    assert accuracy.speech_outweighed(result(weights, losses), loss_check=loss_check) is switches


def test_conv_switch_needs_mobilenet_alone_to_beat_speech_alone_held_out():
    chosen = {"speech": 0.25, "mobilenet": 1.0}
    assert not accuracy.speech_outweighed(result(chosen, {(1.0, 0.0): 0.35, (0.0, 1.0): 0.45}))
    assert accuracy.speech_outweighed(result(chosen, {(1.0, 0.0): 0.45, (0.0, 1.0): 0.35}))


def test_conv_switch_reads_speech_alone_not_a_frequency_rows_weighting():
    """Candidates carry the mobilenet_rows weight too: (speech 1, rows 1) has mobilenet 0 like speech
    alone, and must not stand in for it."""
    rows = SimpleNamespace(
        linear={"blocks": [{"name": "speech", "weight": 0.25}, {"name": "mobilenet", "weight": 1.0}]},
        report={
            "head": {
                "candidates": [
                    {"weights": {"speech": 1.0, "mobilenet": 0.0, "mobilenet_rows": 0.0}, "cv_log_loss": 0.45},
                    {"weights": {"speech": 0.0, "mobilenet": 1.0, "mobilenet_rows": 0.0}, "cv_log_loss": 0.35},
                    {"weights": {"speech": 1.0, "mobilenet": 0.0, "mobilenet_rows": 1.0}, "cv_log_loss": 0.10},
                ]
            }
        },
    )
    assert accuracy.speech_outweighed(rows)
