"""`multi_label`: any subset of the labels per text (topics, tags); micro F1."""

import numpy as np

from keras_mtl.tasks.task_type import MISSING_ID, TaskType


class MultiLabelType(TaskType):
    """Any subset of the labels per text (or text pair); sigmoid scores.

    A missing label is a target of all `-1`. Unseen-label rule: with
    `unknown="ignore"` a label set with a name outside the label set becomes a
    missing target (the whole example: a partial set would teach a wrong 0).
    """

    name = "multi_label"
    supports_text_pair = True
    primary_metric = ("micro_f1", True)
    target_dtype = "float32"

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None:
            return self.missing(spec)
        if isinstance(label, str):
            raise ValueError(
                f"Task '{spec.name}' is multi_label: its label must be a list of "
                f"label names, got the string {label!r}."
            )
        if unknown == "ignore" and any(name not in spec.label_ids for name in label):
            return self.missing(spec)
        target = np.zeros(len(spec.labels), "float32")
        for name in label:
            target[spec.label_id(name)] = 1.0
        return target

    def missing(self, spec, num_words=None):
        return np.full(len(spec.labels), MISSING_ID, "float32")

    def label_present(self, y, xp=None):
        from keras import ops

        xp = xp or ops
        return xp.cast(y[..., 0] >= 0, "float32")

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import SentenceHead

        return SentenceHead(
            self.output_units(spec), pooling=spec.pooling, activation="sigmoid",
            dropout=spec.dropout, hidden_dim=spec.hidden_dim, dtype=dtype, name=spec.name,
        )

    def default_loss(self, spec):
        import keras

        return keras.losses.BinaryCrossentropy(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        import keras

        return [
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.AUC(name="auc", multi_label=True),
        ]

    def decode(self, spec, scores, word_positions=None):
        scores = np.asarray(scores)
        return [spec.labels[i] for i in np.flatnonzero(scores >= spec.threshold)], scores

    def evaluate(self, spec, gold, predicted):
        right = [set(g) == set(p) for g, p in zip(gold, predicted)]
        tp = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted))
        n_pred = sum(len(set(p)) for p in predicted)
        n_gold = sum(len(set(g)) for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        return {"micro_f1": f1, "exact_match": float(np.mean(right))}, right

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        keep = words["has_text"]
        return {
            "scores": scores * tf.cast(keep, scores.dtype)[:, tf.newaxis],
            "predicted": tf.logical_and(scores >= spec.threshold, keep[:, tf.newaxis]),
        }

    def from_serving(self, spec, outputs, num_words):
        labels = [[spec.labels[i] for i in np.flatnonzero(row)] for row in outputs["predicted"]]
        return labels, list(outputs["scores"])
