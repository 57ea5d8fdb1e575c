"""The linear head: logistic regression, folded standardisation, cross-validated block weights."""

from __future__ import annotations

import numpy as np
import pytest

from pac import linear_head as L


def blobs(seed=0, n=30, d=6, labels=3, spread=3.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(labels, d)) * spread
    y = np.repeat(np.arange(labels), n)
    x = centres[y] + rng.normal(size=(len(y), d))
    return x, y


def test_logistic_regression_reaches_the_optimum():
    x, y = blobs()
    kernel, bias = L.fit_logistic(x, y, n_labels=3, l2=0.01)
    # At the optimum the gradient vanishes: X^T (P - Y) / n + l2 W = 0 and sum(P - Y) = 0.
    p = L.softmax(x @ kernel + bias)
    g = p - np.eye(3)[y]
    assert np.abs(x.T @ g / len(x) + 0.01 * kernel).max() < 1e-5
    assert np.abs(g.sum(axis=0) / len(x)).max() < 1e-5
    assert (p.argmax(axis=1) == y).mean() > 0.95


def test_every_label_weighs_the_same_whatever_its_number_of_clips():
    """Class-balanced loss (issue 17): at the optimum the weighted gradient vanishes, and a label with
    five times the clips of the others (a _background_noise_ label beside 5-clip words) gets no prior
    of its own: on uninformative inputs every label comes out equally probable."""
    x, y = blobs(n=10)
    x, y = np.concatenate([x, x[y == 0], x[y == 0], x[y == 0], x[y == 0]]), np.concatenate([y] + [y[y == 0]] * 4)
    kernel, bias = L.fit_logistic(x, y, n_labels=3, l2=0.01)
    weight = len(y) / (3 * np.bincount(y)[y])
    g = (L.softmax(x @ kernel + bias) - np.eye(3)[y]) * weight[:, None]
    assert np.abs(x.T @ g / len(x) + 0.01 * kernel).max() < 1e-5
    assert np.abs(g.sum(axis=0)).max() < 1e-5 * len(x)
    noise = np.random.default_rng(1).normal(size=(60, 4))
    labels = np.repeat([0, 1, 2], [40, 10, 10])
    kernel, bias = L.fit_logistic(noise, labels, n_labels=3, l2=1.0)
    assert np.abs(L.softmax(np.zeros((1, 4)) @ kernel + bias) - 1 / 3).max() < 0.02


def plain_mean_fit(x, y, *, n_labels, l2):
    """fit_logistic as it was before the class-balanced loss (issue 17): the plain mean cross-entropy."""
    from scipy.optimize import minimize

    n, d = x.shape
    onehot = np.eye(n_labels)[y]

    def loss(theta):
        w, b = theta[: d * n_labels].reshape(d, n_labels), theta[d * n_labels :]
        logits = x @ w + b
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        g = (np.exp(log_p) - onehot) / n
        value = -(onehot * log_p).sum() / n + 0.5 * l2 * (w * w).sum()
        return value, np.concatenate([(x.T @ g + l2 * w).ravel(), g.sum(axis=0)])

    theta = minimize(
        loss, np.zeros(d * n_labels + n_labels), jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-6}
    ).x
    return theta[: d * n_labels].reshape(d, n_labels), theta[d * n_labels :]


@pytest.mark.parametrize("labels, per_label", [(2, 5), (3, 7), (5, 11), (4, 1)])
def test_balanced_labels_train_bit_for_bit_as_before_the_class_balanced_loss(labels, per_label):
    """With the same number of examples per label every example's weight is exactly 1, so models of
    balanced projects (and the cross-validation folds, dealt round-robin per label) are unchanged."""
    rng = np.random.default_rng(labels)
    y = rng.permutation(np.repeat(np.arange(labels), per_label))
    x = rng.normal(size=(len(y), 12)) + y[:, None]
    kernel, bias = L.fit_logistic(x, y, n_labels=labels, l2=0.1)
    old_kernel, old_bias = plain_mean_fit(x, y, n_labels=labels, l2=0.1)
    assert np.array_equal(kernel, old_kernel) and np.array_equal(bias, old_bias)
    # and an unbalanced project does change (the test would notice a weighting that is always 1)
    y[0] = (y[0] + 1) % labels
    assert not np.array_equal(
        L.fit_logistic(x, y, n_labels=labels, l2=0.1)[0], plain_mean_fit(x, y, n_labels=labels, l2=0.1)[0]
    )


def test_stronger_penalty_gives_smaller_weights():
    x, y = blobs()
    small, _ = L.fit_logistic(x, y, n_labels=3, l2=0.001)
    large, _ = L.fit_logistic(x, y, n_labels=3, l2=1.0)
    assert np.linalg.norm(large) < 0.5 * np.linalg.norm(small)


def test_folding_standardisation_into_the_layer_changes_nothing():
    x, y = blobs(d=8)
    x = x * np.array([1, 10, 100, 0.01, 1, 1, 5, 1e-3]) + 50  # scales the standardiser must undo
    x[:, 5] = 7.0  # a constant feature (scale floored, centred to 0)
    model = L.fit_model(x, y, n_labels=3, blocks=("speech", "mobilenet"), sizes=(4, 4), weights=(1.0, 0.5), l2=0.05)
    standard = L.Standardiser.fit(x, (4, 4), (1.0, 0.5))
    kernel, bias = L.fit_logistic(standard(x), y, n_labels=3, l2=0.05)
    expected = L.softmax(standard(x) @ kernel + bias)
    assert np.abs(model.probabilities(x) - expected).max() < 1e-5


def test_no_value_is_divided_by_less_than_its_blocks_median_spread():
    rng = np.random.default_rng(3)
    speech = rng.normal(size=(40, 5)) * np.array([1.0, 2.0, 3.0, 4.0, 1e-3])  # median spread about 2
    mobilenet = rng.normal(size=(40, 3)) * np.array([10.0, 20.0, 0.01])  # median spread about 10
    x = np.concatenate([speech, mobilenet], axis=1)
    spread = x.std(axis=0)
    standard = L.Standardiser.fit(x, (5, 3), (1.0, 0.5))
    assert standard.scale[4] == pytest.approx(np.median(spread[:5]))  # the quiet speech value
    assert standard.scale[7] == pytest.approx(np.median(spread[5:]))  # floored by its own block
    for i in (2, 3, 5, 6):  # values spread at least the median keep their own scale
        assert standard.scale[i] == pytest.approx(spread[i])
    plain = L.Standardiser.fit(x, (5, 3), (1.0, 0.5), floor=0.0)
    assert np.allclose(plain.scale, spread)
    assert L.SCALE_FLOOR == 1.0  # the product's choice (bench/tune_linear.py --experiment scale-floor)


def test_a_zero_weight_drops_the_block():
    x, y = blobs(d=8)
    model = L.fit_model(x, y, n_labels=3, blocks=("speech", "mobilenet"), sizes=(3, 5), weights=(0.0, 1.0), l2=0.05)
    assert model.blocks == ("mobilenet",) and model.sizes == (5,) and model.kernel.shape == (5, 3)
    only = L.select_columns(x, ("speech", "mobilenet"), (3, 5), model.blocks)
    assert np.array_equal(only, x[:, 3:])
    with pytest.raises(ValueError):
        L.fit_model(x, y, n_labels=3, blocks=("speech", "mobilenet"), sizes=(3, 5), weights=(0.0, 0.0), l2=0.05)


def test_folds_are_stratified_and_seeded():
    labels = np.repeat(np.arange(3), 5)
    fold = L.folds(labels, 5, np.random.default_rng(1))
    for f in range(5):
        assert sorted(labels[fold == f]) == [0, 1, 2]  # one clip of each label per fold
    assert np.array_equal(fold, L.folds(labels, 5, np.random.default_rng(1)))
    assert not np.array_equal(fold, L.folds(labels, 5, np.random.default_rng(2)))


def clips_with_one_informative_block(seed=3, noise_dims=40):
    """18 clips of 3 labels: block "speech" is noise only, block "mobilenet" carries the label."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 6)
    informative = np.eye(3)[labels] * 3 + rng.normal(size=(18, 3))
    noise = rng.normal(size=(18, noise_dims)) * 3
    clips = np.concatenate([noise, informative], axis=1)
    train = [c[None] + rng.normal(size=(4, clips.shape[1])) * 0.1 for c in clips]  # four augmented copies
    return train, [c[None] for c in clips], labels, (noise_dims, 3)


def test_cross_validation_moves_off_the_default_only_for_more_right_answers():
    train, clean, labels, sizes = clips_with_one_informative_block()
    selection = L.choose_weights(
        train,
        clean,
        labels,
        n_labels=3,
        blocks=("speech", "mobilenet"),
        sizes=sizes,
        candidates=L.WEIGHTINGS,
        l2=0.1,
        k=5,
        seed=0,
    )
    by_weights = {c.weights: c for c in selection.candidates}
    assert selection.best.folds == 5 and len(selection.candidates) == len(L.WEIGHTINGS)
    assert by_weights[(0.0, 1.0)].accuracy == 1.0 > by_weights[L.DEFAULT_WEIGHTING].accuracy
    assert by_weights[(1.0, 0.0)].log_loss > by_weights[(0.0, 1.0)].log_loss
    assert selection.best.accuracy == 1.0 and selection.best.weights[0] < selection.best.weights[1]
    # When the default is as accurate as the best, it is kept even if another has a lower log-loss.
    easy = [np.concatenate([c[:, :40] * 0, c[:, 40:]], axis=1) for c in train]
    easy_clean = [np.concatenate([c[:, :40] * 0, c[:, 40:]], axis=1) for c in clean]
    kept = L.choose_weights(
        easy,
        easy_clean,
        labels,
        n_labels=3,
        blocks=("speech", "mobilenet"),
        sizes=sizes,
        candidates=L.WEIGHTINGS,
        l2=0.1,
        k=5,
        seed=0,
    )
    assert kept.best.weights == L.DEFAULT_WEIGHTING and kept.best.accuracy == 1.0
    assert min(c.log_loss for c in kept.candidates) < kept.best.log_loss


def test_folds_are_capped_by_the_smallest_label():
    labels = np.array([0, 0, 1, 1, 1, 1, 1])
    x = [np.eye(2)[[lab]] for lab in labels]
    selection = L.choose_weights(
        x, x, labels, n_labels=2, blocks=("speech",), sizes=(2,), candidates=[(1.0,)], l2=0.01, k=5, seed=0
    )
    assert selection.best.folds == 2


def test_no_cross_validation_with_a_single_clip_of_a_label():
    labels = np.array([0, 1, 1, 1])
    x = [np.eye(2)[[lab]] for lab in labels]
    assert (
        L.choose_weights(
            x, x, labels, n_labels=2, blocks=("speech",), sizes=(2,), candidates=[(1.0,)], l2=0.01, k=5, seed=0
        )
        is None
    )


def test_the_joined_candidates_are_speech_alone_and_every_speech_weighting_of_the_rows():
    """7 weightings over (speech, mobilenet, mobilenet_rows): speech alone, then the 6 pairs of
    :data:`WEIGHTINGS` that use MobileNet, with its frequency rows; the picture average is never a
    candidate; the default is the product's (1, 0.5) with the rows."""
    assert L.JOINED_BLOCKS == ("speech", "mobilenet", "mobilenet_rows")
    assert len(L.JOINED_WEIGHTINGS) == len(set(L.JOINED_WEIGHTINGS)) == 7
    assert all(m == 0 for _, m, _ in L.JOINED_WEIGHTINGS)
    assert [(s, r) for s, _, r in L.JOINED_WEIGHTINGS] == list(L.WEIGHTINGS)
    assert L.JOINED_DEFAULT == (1.0, 0.0, 0.5) and L.JOINED_DEFAULT in L.JOINED_WEIGHTINGS


def test_mobilenet_rows_block_is_each_rows_time_average_of_real_activations(digits_train_dir):
    """The rows block of a real clip, from real MobileNet: value ``r * 256 + c`` is channel c averaged
    over the 7 positions of row r (the page's tf.mean over axis 2); the mobilenet block is the mean of
    the rows; one network run serves both."""
    from conftest import BASE_DIR
    from pac.activations import CLEAN, ActivationCache, compute_activations
    from pac.audio import read_wav
    from pac.base import load_base
    from pac.blocks import SIZES, Networks, block_features
    from pac.features import PROFILES

    clip = read_wav(sorted(digits_train_dir.rglob("*.wav"))[0])
    config, base = PROFILES["default"], load_base(BASE_DIR)
    acts = compute_activations([clip], [[CLEAN]], config=config, base=base, cache=ActivationCache(None))[0][0]
    assert acts.shape == (7, 7, 256) and acts.std(axis=1).max() > 0.1  # positions in a row do differ
    feats = block_features(
        [clip],
        [[CLEAN]],
        config=config,
        blocks=("mobilenet", "mobilenet_rows"),
        networks=Networks(mobilenet=base),
        cache=ActivationCache(None),
    )
    rows = feats["mobilenet_rows"][0][0]
    assert rows.shape == (SIZES["mobilenet_rows"],) == (7 * 256,)
    for r in range(7):
        np.testing.assert_allclose(rows[r * 256 : (r + 1) * 256], acts[r].mean(axis=0), rtol=1e-6, atol=1e-6)
    assert not np.allclose(rows[:256], acts[:, 0].mean(axis=0), atol=1e-3)  # not a column's average
    np.testing.assert_allclose(rows.reshape(7, 256).mean(axis=0), feats["mobilenet"][0][0], rtol=1e-5, atol=1e-6)
