"""`classification`: one label per text (intent, sentiment, language, entailment)."""

import numpy as np

from keras_mtl.tasks.task_type import MISSING_ID, TaskType


class ClassificationType(TaskType):
    """One label per text (or text pair); softmax scores; accuracy.

    Unseen-label rule: with `unknown="ignore"` (dev/test data) a label outside
    the label set becomes a missing target (no loss), and evaluation still
    compares the gold string, so it counts as an error.
    """

    name = "classification"
    min_labels = 2
    supports_text_pair = True
    joins_sentence_accuracy = True
    primary_metric = ("accuracy", True)

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None:
            return MISSING_ID
        if unknown == "ignore":
            return spec.label_ids.get(label, MISSING_ID)
        return spec.label_id(label)

    def missing(self, spec, num_words=None):
        return MISSING_ID

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import SentenceHead

        return SentenceHead(
            self.output_units(spec), pooling=spec.pooling, activation="softmax",
            dropout=spec.dropout, hidden_dim=spec.hidden_dim, dtype=dtype, name=spec.name,
        )

    def default_loss(self, spec):
        import keras

        return keras.losses.SparseCategoricalCrossentropy(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def decode(self, spec, scores, word_positions=None):
        return self.decode_many(spec, [scores])[0]

    def decode_many(self, spec, scores, word_positions=None):
        scores = np.asarray(scores)
        return [(spec.labels[int(i)], row) for i, row in zip(np.argmax(scores, axis=-1), scores)]

    def to_json(self, spec, label, scores):
        if label is None:
            return {"label": None}
        return {"label": label, "score": float(np.max(scores))}

    def evaluate(self, spec, gold, predicted):
        right = [g == p for g, p in zip(gold, predicted)]
        return {"accuracy": float(np.mean(right))}, right

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        keep = words["has_text"]
        label = tf.gather(tf.constant(spec.labels), tf.argmax(scores, axis=-1))
        return {
            "scores": scores * tf.cast(keep, scores.dtype)[:, tf.newaxis],
            "label": tf.where(keep, label, ""),
        }

    def from_serving(self, spec, outputs, num_words):
        labels = [x.decode("utf-8") or None for x in outputs["label"]]
        return labels, list(outputs["scores"])
