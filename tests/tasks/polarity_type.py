"""A task type defined outside keras_mtl, as a user would write one.

`polarity`: one value in [-1, 1] per text (tanh), trained towards +1 / -1 for the
labels "positive" / "negative", decoded by its sign. The tests register it and
run the whole path (fit, evaluate, .keras, SavedModel, edge) without touching the
library.
"""

import numpy as np

from keras_mtl.tasks import RegressionType, register_task_type

SIGNS = {"negative": -1.0, "positive": 1.0}


class PolarityType(RegressionType):
    """Reuses regression's targets (NaN = missing); the labels, head, decoding,
    evaluation and serving outputs are its own."""

    name = "polarity"
    primary_metric = ("accuracy", True)

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None or (unknown == "ignore" and label not in SIGNS):
            return self.missing(spec)
        if label not in SIGNS:
            raise ValueError(f"task '{spec.name}': polarity labels are {sorted(SIGNS)}, got {label!r}.")
        return np.array([SIGNS[label]], "float32")

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import SentenceHead

        return SentenceHead(1, pooling=spec.pooling, activation="tanh", dropout=spec.dropout,
                            dtype=dtype, name=spec.name)

    def decode(self, spec, scores, word_positions=None):
        value = float(np.asarray(scores).reshape(-1)[0])
        return ("positive" if value >= 0 else "negative"), np.asarray(scores)

    def evaluate(self, spec, gold, predicted):
        right = [g == p for g, p in zip(gold, predicted)]
        return {"accuracy": float(np.mean(right))}, right

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        value = scores[:, 0]
        label = tf.where(value >= 0, "positive", "negative")
        return {"value": value, "label": tf.where(words["has_text"], label, "")}

    def from_serving(self, spec, outputs, num_words):
        labels = [x.decode("utf-8") or None for x in outputs["label"]]
        return labels, [np.array([v], "float32") for v in outputs["value"]]


POLARITY = register_task_type(PolarityType())
