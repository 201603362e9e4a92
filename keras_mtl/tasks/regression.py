"""`regression`: one real value per text (a rating, a similarity); MAE, Pearson, Spearman."""

import math

import numpy as np

from keras_mtl.tasks.task_type import TaskType


class RegressionType(TaskType):
    """One real value per text (or text pair); NaN marks a missing value."""

    name = "regression"
    needs_labels = False
    supports_text_pair = True
    primary_metric = ("mae", False)
    target_dtype = "float32"

    def collect_labels(self, values):
        return None

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None:
            return self.missing(spec)
        try:
            value = float(label)
        except (TypeError, ValueError):
            value = float("nan")
        if not math.isfinite(value) or isinstance(label, bool):
            raise ValueError(
                f"Task '{spec.name}': regression targets must be finite numbers, "
                f"got {label!r} (use None for a missing value)."
            )
        return np.array([value], "float32")

    def missing(self, spec, num_words=None):
        return np.array([np.nan], "float32")

    def batch_target(self, spec, target):
        import tensorflow as tf

        target = tf.cast(target, tf.float32)
        return target[:, tf.newaxis] if target.shape.rank == 1 else target

    def label_present(self, y, xp=None):
        from keras import ops

        xp = xp or ops
        # NaN is the only value not equal to itself.
        return xp.cast(xp.equal(y[..., 0], y[..., 0]), "float32")

    def sanitize(self, y):
        from keras import ops

        return ops.where(ops.isnan(y), ops.zeros_like(y), y)

    def output_units(self, spec):
        return 1

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import SentenceHead

        return SentenceHead(
            1, pooling=spec.pooling, activation=None, dropout=spec.dropout,
            hidden_dim=spec.hidden_dim, dtype=dtype, name=spec.name,
        )

    def default_loss(self, spec):
        import keras

        return keras.losses.MeanSquaredError(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        import keras

        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def score_axes(self, spec):
        return ("batch", "value")

    def decode(self, spec, scores, word_positions=None):
        scores = np.asarray(scores)
        return float(scores.reshape(-1)[0]), scores

    def to_json(self, spec, label, scores):
        return {"value": label}

    def evaluate(self, spec, gold, predicted):
        g = np.asarray(gold, "float64")
        p = np.asarray(predicted, "float64")
        return {
            "mae": float(np.mean(np.abs(g - p))),
            "rmse": float(np.sqrt(np.mean((g - p) ** 2))),
            "pearson": _correlation(g, p),
            "spearman": _correlation(_ranks(g), _ranks(p)),
        }, None

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        return {"value": scores[:, 0] * tf.cast(words["has_text"], scores.dtype)}

    def from_serving(self, spec, outputs, num_words):
        values = [float(v) for v in outputs["value"]]
        return values, [np.array([v], "float32") for v in values]


def _correlation(a, b):
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _ranks(values):
    """Average ranks (ties share the mean rank), as Spearman's rho needs."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), "float64")
    ranks[order] = np.arange(len(values), dtype="float64")
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
