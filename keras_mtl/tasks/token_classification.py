"""`token_classification`: one BIO tag per word (slots, NER); entity-level F1."""

import numpy as np

from keras_mtl.tasks.bio import bio_viterbi_batch, bio_viterbi_tf
from keras_mtl.tasks.task_type import MISSING_ID, TaskType, check_word_labels


class TokenClassificationType(TaskType):
    """One label per whitespace word, scored on the word's first sub-word.

    Labels are BIO/IOB tags; evaluation is entity-level precision / recall / F1
    with conlleval semantics, plus per-word `token_accuracy`. For tags without
    spans (part of speech) use the `tagging` type, scored by accuracy.

    Decoding (`TaskSpec(decoding=...)`): `"bio"` (default), the most probable
    valid IOB2 sequence (`keras_mtl.tasks.bio`), or `"argmax"` per word.

    Unseen-label rule: with `unknown="ignore"`, a tag outside the label set
    becomes a missing target at that word; evaluation compares gold strings.
    """

    name = "token_classification"
    token_level = True
    min_labels = 2
    joins_sentence_accuracy = True
    primary_metric = ("f1", True)
    decodings = ("bio", "argmax")

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None:
            return self.missing(spec, num_words)
        check_word_labels(spec, label, num_words)
        if unknown == "ignore":
            return [spec.label_ids.get(tag, MISSING_ID) for tag in label]
        return [spec.label_id(tag) for tag in label]

    def missing(self, spec, num_words=None):
        return [MISSING_ID] * int(num_words or 0)

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import TokenClassificationHead

        return TokenClassificationHead(
            self.output_units(spec), dropout=spec.dropout, hidden_dim=spec.hidden_dim,
            dtype=dtype, name=spec.name,
        )

    def default_loss(self, spec):
        import keras

        return keras.losses.SparseCategoricalCrossentropy(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def decode(self, spec, scores, word_positions=None):
        return self.decode_many(spec, [scores], [word_positions])[0]

    def decode_many(self, spec, scores, word_positions=None):
        scores = np.asarray(scores)
        per_word = [row[np.asarray(positions, "int64")] for row, positions in zip(scores, word_positions)]
        if spec.decoding == "bio" and per_word:
            lengths = [len(words) for words in per_word]
            padded = np.ones((len(per_word), max(lengths), scores.shape[-1]), scores.dtype)
            for i, words in enumerate(per_word):
                padded[i, : len(words)] = words
            ids = bio_viterbi_batch(padded, lengths, spec.labels)
        else:
            ids = [np.argmax(words, axis=-1) for words in per_word]
        return [([spec.labels[int(i)] for i in row], words) for row, words in zip(ids, per_word)]

    def to_json(self, spec, label, scores):
        # The probability of each word's decoded tag (with BIO decoding not always
        # the word's highest one).
        chosen = [float(s[spec.label_ids[tag]]) for tag, s in zip(label, scores)]
        return {"labels": label, "scores": chosen + [None] * (len(label) - len(chosen))}

    def evaluate(self, spec, gold, predicted):
        from keras_mtl.metrics.entity_f1 import entity_scores

        predicted = [[p if p is not None else "O" for p in tags] for tags in predicted]
        scores = entity_scores(gold, predicted)
        right = [list(g) == list(p) for g, p in zip(gold, predicted)]
        flat = [a == b for g, p in zip(gold, predicted) for a, b in zip(g, p)]
        metrics = {
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1"],
            "token_accuracy": float(np.mean(flat)) if flat else 0.0,
        }
        return metrics, right

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        from keras_mtl.preprocessing.packing import gather_words

        per_word = gather_words(scores, words["positions"])
        if spec.decoding == "bio":
            ids = bio_viterbi_tf(per_word, spec.labels)
        else:
            ids = per_word.with_flat_values(tf.argmax(per_word.flat_values, axis=-1))
        tags = ids.with_flat_values(tf.gather(tf.constant(spec.labels), ids.flat_values))
        return {"scores": per_word.to_tensor(0.0), "labels": tags.to_tensor("")}

    def from_serving(self, spec, outputs, num_words):
        labels, scores = [], []
        for tags, values, n in zip(outputs["labels"], outputs["scores"], num_words):
            kept = [t.decode("utf-8") for t in tags[:n] if t]
            labels.append(kept + [None] * (int(n) - len(kept)))
            scores.append(values[: len(kept)])
        return labels, scores
