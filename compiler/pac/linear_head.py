"""The default head: one softmax layer (a logistic regression) on the joined feature blocks.

1. Each block (:mod:`pac.blocks`) is standardised with the mean and standard deviation of its
   values over the training examples (no value is divided by less than its block's median standard
   deviation: :data:`SCALE_FLOOR`), and multiplied by the block's weight.
2. A multinomial logistic regression with an L2 penalty on its weights is fitted to the
   standardised values by L-BFGS (deterministic: it starts from zeros); every label weighs the
   same in the loss, whatever its number of clips (:func:`fit_logistic`).
3. The block weights are chosen by the model's own training clips: k-fold cross-validation over
   clips (all augmented copies of a clip stay on the same side) scores each candidate weighting on
   the held-out clips (:func:`choose_weights`): :data:`DEFAULT_WEIGHTING` is kept unless another
   weighting classifies more held-out clips correctly (among those, the lowest log-loss wins).  A
   block whose chosen weight is 0 is left out of the model.
4. Standardisation and weights are folded into the softmax layer's kernel and bias, so the model is
   one ``Dense(labels, softmax)`` layer on the raw block values, written as a TF.js layers model
   like any head (:func:`to_keras`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .blocks import BLOCKS

#: Candidate (speech, mobilenet) weightings tried by cross-validation when both blocks are allowed.
WEIGHTINGS = ((1.0, 0.0), (1.0, 0.25), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0), (0.25, 1.0), (0.0, 1.0))
#: The weighting kept unless cross-validation finds one that classifies more held-out clips right,
#: and the one used when cross-validation is impossible (a label with a single training clip).
#: Chosen on tuning seeds (bench/tune_linear.py): speech-heavy suits words, and the rule still lets
#: an instrument model lean on MobileNet (by its frequency rows in a joined model).
DEFAULT_WEIGHTING = (1.0, 0.5)
#: The blocks of a model allowed both networks (``--bases speech+mobilenet``), in input order.
JOINED_BLOCKS = BLOCKS
#: Its candidate weightings, in :data:`JOINED_BLOCKS` order: speech alone, then every
#: :data:`WEIGHTINGS` pair that uses MobileNet, with MobileNet averaged per frequency row (the rows
#: keep where in pitch a sound sits: instrument notes, issue 11).  The picture average
#: (``mobilenet``) is not a candidate since 2026-12-03: with :data:`SCALE_FLOOR`, speech and rows
#: alone (rule R3 of bench/tune_linear.py) had the highest mean over the 21 tasks among the
#: cross-validated rules on tuning seeds 100-104 and 200-204 (0.963, multi-speaker words 0.952,
#: instrument notes 0.864, against 0.958 / 0.952 / 0.818 for the 13 weightings with the average
#: and no floor).  Models trained before still load: the block stays in :data:`pac.blocks.BLOCKS`.
JOINED_WEIGHTINGS = ((1.0, 0.0, 0.0),) + tuple((s, 0.0, m) for s, m in WEIGHTINGS if m > 0)
#: :data:`DEFAULT_WEIGHTING` in :data:`JOINED_BLOCKS` order (speech 1, MobileNet rows 0.5).
JOINED_DEFAULT = (DEFAULT_WEIGHTING[0], 0.0, DEFAULT_WEIGHTING[1])
#: Smallest standard deviation a feature is divided by (constant features stay 0 after centring).
MIN_SCALE = 1e-6
#: No value is divided by less than this fraction of its block's median standard deviation.  Over a
#: few clips, a value that barely varies (a MobileNet channel that rarely fires) would otherwise be
#: blown up to the spread of the informative ones.  Chosen with the candidates of
#: :data:`JOINED_WEIGHTINGS` on tuning seeds among 0 (plain standardising, until 2026-12-03), 0.03,
#: 0.1, 0.3 and 1 (bench/tune_linear.py --experiment scale-floor).
SCALE_FLOOR = 1.0


def block_scale(values: np.ndarray, *, floor: float = SCALE_FLOOR) -> np.ndarray:
    """What each value of one block is divided by when standardised: its standard deviation over the
    rows of ``values`` (``[n, size]``), 1 for a constant value, and at least ``floor`` times the
    block's median of those."""
    scale = np.asarray(values, np.float64).std(axis=0)
    scale[scale < MIN_SCALE] = 1.0
    if floor > 0:
        scale = np.maximum(scale, floor * np.median(scale))
    return scale


@dataclass(frozen=True)
class Standardiser:
    """Per-feature ``(x - mean) / scale * weight`` of the joined blocks."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, sizes, weights, *, floor: float = SCALE_FLOOR) -> Standardiser:
        """Statistics of ``x`` (``[n, sum(sizes)]``, the blocks side by side).

        Each feature's scale is its standard deviation (1 for a constant one), raised to at least
        ``floor`` times the median scale of its block.
        """
        x = np.asarray(x, np.float64)
        blocks = np.split(x, np.cumsum(sizes)[:-1], axis=1)
        scale = np.concatenate([block_scale(b, floor=floor) for b in blocks])
        weight = np.concatenate([np.full(size, w, np.float64) for size, w in zip(sizes, weights)])
        return cls(mean=x.mean(axis=0), scale=scale, weight=weight)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) / self.scale * self.weight


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, n_labels: int, l2: float, max_iterations: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: minimise the class-balanced mean cross-entropy +
    ``l2 / 2 * |W|^2``.

    Each example's cross-entropy is weighted by ``n / (labels present * examples of its label)``, so
    every label weighs the same whatever its number of clips: a ``_background_noise_`` label with 25
    clips next to words of 5 would otherwise win on its prior alone (continuous listening, issue 17).
    With the same number of examples per label every weight is exactly 1 (the plain mean).

    Parameters
    ----------
    x : ndarray
        ``[n, d]`` inputs (standardised).
    y : ndarray
        ``[n]`` label indices.
    n_labels : int
        Number of labels (outputs).
    l2 : float
        Penalty on the weights (not the bias).

    Returns
    -------
    kernel, bias : ndarray
        ``[d, n_labels]`` and ``[n_labels]`` (float64).
    """
    from scipy.optimize import minimize

    x = np.asarray(x, np.float64)
    n, d = x.shape
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_labels)
    weight = n / (np.count_nonzero(counts) * counts[y])  # [n]; exactly 1.0 when the labels are balanced
    onehot = np.eye(n_labels)[y] * weight[:, None]

    def loss(theta):
        w, b = theta[: d * n_labels].reshape(d, n_labels), theta[d * n_labels :]
        logits = x @ w + b
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -(onehot * log_p).sum() / n + 0.5 * l2 * (w * w).sum()
        g = (weight[:, None] * np.exp(log_p) - onehot) / n
        grad = np.concatenate([(x.T @ g + l2 * w).ravel(), g.sum(axis=0)])
        return value, grad

    theta = np.zeros(d * n_labels + n_labels)
    result = minimize(loss, theta, jac=True, method="L-BFGS-B", options={"maxiter": max_iterations, "gtol": 1e-6})
    theta = result.x
    return theta[: d * n_labels].reshape(d, n_labels), theta[d * n_labels :]


@dataclass
class LinearModel:
    """A fitted head on the raw joined block values (standardisation folded in)."""

    kernel: np.ndarray  # [d, labels] float64
    bias: np.ndarray  # [labels]
    blocks: tuple  # block names in the input order
    sizes: tuple  # values per block
    weights: tuple  # the block weights used

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(x, np.float64) @ self.kernel + self.bias).astype(np.float32)


def fit_model(x: np.ndarray, y: np.ndarray, *, n_labels: int, blocks, sizes, weights, l2: float) -> LinearModel:
    """Standardise, fit, fold: a :class:`LinearModel` on the blocks whose weight is not 0.

    ``x`` holds every block in ``blocks`` order (``sizes`` values each); blocks of weight 0 are cut out.
    """
    keep = [i for i, w in enumerate(weights) if w > 0]
    if not keep:
        raise ValueError("every block has weight 0")
    x = np.asarray(select_columns(x, blocks, sizes, [blocks[i] for i in keep]), np.float64)
    kept_sizes = [sizes[i] for i in keep]
    kept_weights = [weights[i] for i in keep]
    standard = Standardiser.fit(x, kept_sizes, kept_weights)
    kernel, bias = fit_logistic(standard(x), y, n_labels=n_labels, l2=l2)
    factor = standard.weight / standard.scale
    folded_kernel = kernel * factor[:, None]
    folded_bias = bias - (standard.mean * factor) @ kernel
    return LinearModel(
        kernel=folded_kernel,
        bias=folded_bias,
        blocks=tuple(blocks[i] for i in keep),
        sizes=tuple(kept_sizes),
        weights=tuple(kept_weights),
    )


def select_columns(x: np.ndarray, blocks, sizes, wanted) -> np.ndarray:
    """The columns of ``wanted`` blocks out of joined values laid out as ``blocks``/``sizes``."""
    starts = np.cumsum([0, *sizes])
    cols = [np.arange(starts[i], starts[i + 1]) for i, b in enumerate(blocks) if b in wanted]
    return np.asarray(x)[:, np.concatenate(cols)]


def folds(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number of each clip: per label, shuffled clips dealt round-robin into ``k`` folds."""
    fold = np.zeros(len(labels), np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        order = members[rng.permutation(len(members))]
        fold[order] = np.arange(len(order)) % k
    return fold


@dataclass
class CrossValidation:
    """Held-out scores of one weighting: per clip, the probabilities it got when it was held out."""

    weights: tuple
    probabilities: np.ndarray  # [clips, labels]
    log_loss: float
    accuracy: float
    folds: int


def cross_validate(
    train: list[np.ndarray],
    clean: list[np.ndarray],
    labels: np.ndarray,
    *,
    n_labels: int,
    blocks,
    sizes,
    weights,
    l2: float,
    fold_of: np.ndarray,
) -> CrossValidation:
    """k-fold over clips: fit on the other folds' training examples, score the held-out clean clips.

    ``train[i]`` holds clip ``i``'s training examples (augmented copies), ``clean[i]`` its clean
    example ``[1, d]``.
    """
    k = int(fold_of.max()) + 1
    probs = np.zeros((len(labels), n_labels), np.float64)
    for f in range(k):
        inside = np.flatnonzero(fold_of != f)
        x = np.concatenate([train[i] for i in inside])
        y = np.concatenate([[labels[i]] * len(train[i]) for i in inside])
        model = fit_model(x, y, n_labels=n_labels, blocks=blocks, sizes=sizes, weights=weights, l2=l2)
        held = np.flatnonzero(fold_of == f)
        x_held = np.concatenate([clean[i] for i in held])
        probs[held] = model.probabilities(select_columns(x_held, blocks, sizes, model.blocks))
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)
    return CrossValidation(
        weights=tuple(weights),
        probabilities=probs,
        log_loss=float(-np.log(picked).mean()),
        accuracy=float((probs.argmax(axis=1) == labels).mean()),
        folds=k,
    )


@dataclass
class Selection:
    """The chosen weighting and every candidate's cross-validation."""

    best: CrossValidation
    candidates: list = field(default_factory=list)


def choose_weights(
    train,
    clean,
    labels,
    *,
    n_labels: int,
    blocks,
    sizes,
    candidates,
    l2: float,
    k: int,
    seed: int,
    default=DEFAULT_WEIGHTING,
) -> Selection | None:
    """Cross-validate every candidate weighting on the same folds and pick one.

    The ``default`` weighting (the first candidate if it is not among them) is kept unless another
    classifies more held-out clips correctly; among the most accurate, the lowest held-out log-loss
    wins (then the earlier candidate).  ``k`` is capped by the smallest label's clip count; ``None``
    when a label has fewer than 2 training clips (nothing can be held out).
    """
    labels = np.asarray(labels)
    smallest = int(np.bincount(labels, minlength=n_labels).min())
    if smallest < 2:
        return None
    k = min(k, smallest)
    fold_of = folds(labels, k, np.random.default_rng(seed))
    results = [
        cross_validate(
            train, clean, labels, n_labels=n_labels, blocks=blocks, sizes=sizes, weights=w, l2=l2, fold_of=fold_of
        )
        for w in candidates
    ]
    best = min(results, key=lambda r: (-r.accuracy, r.log_loss))
    preferred = next((r for r in results if r.weights == tuple(default)), results[0])
    if preferred.accuracy >= best.accuracy:
        best = preferred
    return Selection(best=best, candidates=results)


def to_keras(model: LinearModel, n_labels: int):
    """The head as a tf_keras ``Sequential([Input([d]), Dense(labels, softmax)])``."""
    from .tfjs_head import Layer, keras_head

    layer = Layer(
        "dense",
        activation="softmax",
        use_bias=True,
        units=n_labels,
        weights=[model.kernel.astype(np.float32), model.bias.astype(np.float32)],
    )
    return keras_head([layer], names=["head_softmax"], input_shape=(int(sum(model.sizes)),))
