"""How sure a comparison is: t-intervals over seeds and a paired bootstrap over test
examples (numpy only).

* `t_interval(values)`: the 95 % Student-t interval of a mean over a few seeds,
  mean ± t₀.₉₇₅,ₙ₋₁ · s / √n with s the sample standard deviation (n − 1).
* `paired_bootstrap(score_a, score_b, n)`: whether system A and system B differ
  on the same n test examples (Koehn 2004; Berg-Kirkpatrick et al. 2012). Both are
  scored on the same resamples (n examples drawn with replacement); the two-sided
  p-value is twice the share of resamples on which the difference does not have
  the sign it has on the full test set (capped at 1; 1 when the full-set
  difference is 0).

A score is a function from an `(R, n)` array of example indices (one resample a
row) to R metric values: `mean_score` for a metric that is a mean over examples
(accuracy), `entity_score` for entity precision / recall / F1 (from per-sentence counts),
`corpus_score` for any other (the metric recomputed on each resample),
`seed_mean` to average a system's seeds on each resample.
"""

import math

import numpy as np

_CHUNK = 100  # resamples drawn at a time (an (R, n) index array per chunk)


def t_quantile(probability, df):
    """The `probability` quantile (> 0.5) of Student's t with `df` degrees of freedom.

    >>> round(t_quantile(0.975, 1), 3), round(t_quantile(0.975, 2), 3)
    (12.706, 4.303)
    """
    if not 0.5 < probability < 1 or df < 1 or int(df) != df:
        raise ValueError(f"t_quantile needs 0.5 < probability < 1 and an integer df >= 1, "
                         f"got {probability!r}, {df!r}.")
    target = 2 * probability - 1  # P(|T| < t)
    low, high = 0.0, 1.0
    while _central_mass(high, int(df)) < target:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _central_mass(middle, int(df)) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _central_mass(t, df):
    """P(|T| < t) for Student's t with integer `df`, in closed form (Abramowitz &
    Stegun 26.7.3 / 26.7.4: a finite series in cos θ, θ = atan(t / √df))."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd
        term = series = 1.0
        for k in range(1, (df - 1) // 2):
            term *= 2 * k / (2 * k + 1) * cos2
            series += term
        return 2 / math.pi * (theta + (sin * math.cos(theta) * series if df > 1 else 0.0))
    term = series = 1.0
    for k in range(1, df // 2):
        term *= (2 * k - 1) / (2 * k) * cos2
        series += term
    return sin * series


def t_interval(values, confidence=0.95):
    """`(low, high)`: the Student-t interval of the mean of `values`; `None` for
    fewer than two values.

    Example (mean 0.85, s = 0.0707, t₀.₉₇₅,₁ = 12.706: 0.85 ± 0.635):

    >>> [round(x, 3) for x in t_interval([0.8, 0.9])]
    [0.215, 1.485]
    """
    values = np.asarray(values, "float64")
    if len(values) < 2:
        return None
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(
        len(values))
    return float(values.mean() - half), float(values.mean() + half)


def mean_score(per_example):
    """The score of a metric that is the mean of per-example values (accuracy:
    per-example correctness), vectorised over resamples."""
    values = np.asarray(per_example, "float64")
    return lambda indices: values[indices].mean(axis=1)


def corpus_score(metric):
    """The score of any metric of a list of example indices (`metric(indices)` →
    float), computed on each resample in turn (e.g. entity F1 over its spans)."""
    return lambda indices: np.array([metric(row) for row in indices], "float64")


def entity_score(counts, metric):
    """The score of entity `metric` ("precision", "recall" or "f1", micro over the
    resample's sentences, as `entity_scores`) from per-sentence `(gold, predicted,
    correct)` counts (`entity_f1.entity_counts`), vectorised over resamples."""
    if metric not in ("precision", "recall", "f1"):
        raise ValueError(f"entity_score scores precision, recall or f1, not {metric!r}.")
    counts = np.asarray(counts, "float64").reshape(-1, 3)

    def score(indices):
        gold, predicted, correct = (counts[:, k][indices].sum(axis=1) for k in range(3))
        precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
        recall = np.divide(correct, gold, out=np.zeros_like(correct), where=gold > 0)
        if metric != "f1":
            return precision if metric == "precision" else recall
        total = precision + recall
        return np.divide(2 * precision * recall, total, out=np.zeros_like(total),
                         where=total > 0)

    return score


def seed_mean(scores):
    """One score averaging several (one per seed) on each resample."""
    scores = list(scores)
    return lambda indices: np.mean([score(indices) for score in scores], axis=0)


def paired_bootstrap(score_a, score_b, num_examples, resamples=1000, seed=0, alpha=0.05):
    """Paired bootstrap test of score A − score B over `num_examples` test examples.

    Args:
        score_a, score_b: scores (see the module docstring) of the two systems.
        num_examples: the test examples both were scored on.
        resamples: bootstrap resamples.
        seed: seed of the resampling (fixed, so a report is reproducible).
        alpha: significance level.

    Returns:
        `{"difference", "p_value", "significant", "interval", "resamples"}`: the
        full-set difference A − B, the two-sided p-value, whether p < `alpha`, and
        the 2.5 / 97.5 percentiles of the resampled differences.

    Example (A right on every example, B on none: every resample agrees, p = 0):

    >>> result = paired_bootstrap(mean_score([1, 1, 1, 1]), mean_score([0, 0, 0, 0]), 4)
    >>> result["difference"], result["p_value"], result["significant"]
    (1.0, 0.0, True)
    """
    if num_examples < 1:
        raise ValueError("paired_bootstrap needs at least one test example.")
    everything = np.arange(num_examples)[np.newaxis]
    observed = float(score_a(everything)[0] - score_b(everything)[0])
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, resamples, _CHUNK):
        indices = rng.integers(0, num_examples, size=(min(_CHUNK, resamples - start),
                                                      num_examples))
        differences.append(score_a(indices) - score_b(indices))
    differences = np.concatenate(differences)
    if observed == 0:
        p_value = 1.0
    else:
        flipped = np.mean(np.sign(observed) * differences <= 0)
        p_value = float(min(1.0, 2 * flipped))
    low, high = np.percentile(differences, [2.5, 97.5])
    return {
        "difference": observed,
        "p_value": p_value,
        "significant": bool(p_value < alpha),
        "interval": [float(low), float(high)],
        "resamples": int(resamples),
    }
