"""`dependency_parsing`: a head and a relation per word (Dozat & Manning 2017); UAS / LAS.

Labels are one `(head, deprel)` pair per word: `head` is 0 for the root, else the
1-based index of the head word. The head (`BiaffineParsingHead`) scores, for every
sub-word position, each position as its head (a biaffine arc scorer) and each
relation for every (dependent, head) pair (a biaffine relation classifier); only
first sub-words are read, and the [CLS] position stands for the root. Decoding
takes the maximum spanning tree over the words (Chu-Liu-Edmonds with one root
child, numpy), so every prediction is a tree.
"""

import numpy as np

from keras_mtl.tasks.task_type import MISSING_ID, TaskType, check_word_labels


class DependencyParsingType(TaskType):
    """Word-level dependency parsing: UAS and LAS, punctuation included.

    Unseen-label rule: with `unknown="ignore"` (dev/test data), a word whose
    relation is not in the label set keeps its head target (the arc loss still
    counts) and gets no relation target; evaluation compares the gold relation
    string, so such a word can be right for UAS and is always wrong for LAS.
    A word whose head was cut off by truncation gets no target.
    """

    name = "dependency_parsing"
    token_level = True
    min_labels = 1
    primary_metric = ("las", True)

    def collect_labels(self, values):
        return sorted({rel for sentence in values if sentence is not None for _, rel in sentence})

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None:
            return self.missing(spec, num_words)
        check_word_labels(spec, label, num_words, unit="(head, relation) pairs")
        targets = []
        for i, pair in enumerate(label):
            try:
                head, relation = pair
                head = int(head)
            except (TypeError, ValueError):
                raise ValueError(
                    f"task '{spec.name}': word {i + 1} has {pair!r}; expected a "
                    "(head, relation) pair with an integer head."
                ) from None
            if not 0 <= head <= len(label) or head == i + 1:
                raise ValueError(
                    f"task '{spec.name}': word {i + 1} has head {head}; heads are 0 (root) "
                    f"or another word's index in 1..{len(label)}."
                )
            if unknown == "ignore":
                targets.append([head, spec.label_ids.get(relation, MISSING_ID)])
            else:
                targets.append([head, spec.label_id(relation)])
        return targets

    def missing(self, spec, num_words=None):
        return [[MISSING_ID, MISSING_ID]] * int(num_words or 0)

    def target_tensor(self, spec, targets):
        import tensorflow as tf

        return tf.ragged.constant(targets, dtype="int32", ragged_rank=1, inner_shape=(2,))

    def align_targets(self, spec, word_targets, alignment):
        """Head word indices → packed positions of the heads' first sub-words."""
        import tensorflow as tf

        heads = word_targets[..., 0]
        starts = alignment.word_starts
        row_start = tf.gather(starts.row_starts(), heads.value_rowids())
        flat_heads = tf.cast(heads.flat_values, row_start.dtype)
        index = tf.clip_by_value(row_start + flat_heads - 1, 0,
                                 tf.maximum(tf.size(starts.flat_values, row_start.dtype) - 1, 0))
        head_start = tf.gather(tf.concat([starts.flat_values, [MISSING_ID]], 0), index)
        root = tf.where(flat_heads == 0, tf.zeros_like(head_start), tf.ones_like(head_start) * MISSING_ID)
        position = tf.cast(tf.where(flat_heads > 0, head_start, root), word_targets.dtype)
        relation = word_targets.flat_values[:, 1]
        relation = tf.where(position >= 0, relation, MISSING_ID)
        flat = tf.stack([position, relation], axis=-1)
        return alignment.place(word_targets.with_flat_values(flat))

    def label_present(self, y, xp=None):
        from keras import ops

        xp = xp or ops
        return xp.cast(y[..., 0] >= 0, "float32")

    def sanitize(self, y):
        return y  # the loss and metrics read the missing relation (-1) themselves

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads.biaffine_parsing_head import BiaffineParsingHead

        return BiaffineParsingHead(
            len(spec.labels), arc_dim=spec.hidden_dim or 256, dropout=spec.dropout,
            dtype=dtype, name=spec.name,
        )

    def default_loss(self, spec):
        from keras_mtl.heads.biaffine_parsing_head import BiaffineParsingLoss

        return BiaffineParsingLoss(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        from keras_mtl.heads.biaffine_parsing_head import parsing_metrics

        return parsing_metrics()

    def score_axes(self, spec):
        return ("batch", "sequence", "head", "scores")

    def decode(self, spec, scores, word_positions=None):
        scores = np.asarray(scores)
        positions = np.asarray(word_positions, "int64")
        columns = np.concatenate([[0], positions])
        pairs = scores[positions][:, columns]  # (words, words + 1, 1 + relations)
        relations = np.argmax(pairs[..., 1:], axis=-1)
        return self._tree(spec, pairs[..., 0], lambda i, h: spec.labels[relations[i, h]])

    def _tree(self, spec, head_scores, relation):
        from keras_mtl.tasks.spanning_tree import max_spanning_tree

        if len(head_scores) == 0:
            return [], np.zeros(0, "float32")
        heads = max_spanning_tree(np.asarray(head_scores, "float64"))
        label = [(int(h), relation(i, int(h))) for i, h in enumerate(heads)]
        chosen = np.exp(np.asarray(head_scores)[np.arange(len(heads)), heads])
        return label, chosen.astype("float32")

    def to_json(self, spec, label, scores):
        return {
            "heads": [None if x is None else x[0] for x in label],
            "relations": [None if x is None else x[1] for x in label],
        }

    def evaluate(self, spec, gold, predicted):
        from keras_mtl.metrics.attachment import attachment_scores

        predicted = [[None if p is None else tuple(p) for p in sentence] for sentence in predicted]
        gold = [[tuple(g) for g in sentence] for sentence in gold]
        scores = attachment_scores(gold, predicted)
        universal = attachment_scores(_universal(gold), _universal(predicted))
        right = [g == p for g, p in zip(gold, predicted)]
        # las_universal: relations compared before the colon, as the CoNLL 2018
        # script (and papers that use it) scores LAS.
        return {"uas": scores["uas"], "las": scores["las"],
                "las_universal": universal["las"]}, right

    def serving_outputs(self, spec, scores, words):
        import tensorflow as tf

        positions = words["positions"]
        kept = tf.cast(positions.row_lengths(), tf.int32)
        dense = tf.cast(positions.to_tensor(0), tf.int32)
        columns = tf.concat([tf.zeros_like(dense[:, :1]), dense], axis=1)
        rows = tf.gather(scores, dense, batch_dims=1)
        pairs = tf.gather(rows, columns, axis=2, batch_dims=1)
        relations = tf.gather(tf.constant(spec.labels), tf.argmax(pairs[..., 1:], axis=-1))
        return {"head_scores": pairs[..., 0], "relations": relations, "kept_words": kept}

    def from_serving(self, spec, outputs, num_words):
        labels, scores = [], []
        for head_scores, relations, kept, n in zip(
            outputs["head_scores"], outputs["relations"], outputs["kept_words"], num_words
        ):
            kept = int(kept)
            label, chosen = self._tree(
                spec, head_scores[:kept, : kept + 1],
                lambda i, h, r=relations: r[i, h].decode("utf-8"),
            )
            labels.append(label + [None] * (int(n) - kept))
            scores.append(chosen)
        return labels, scores


def _universal(sentences):
    return [[None if x is None else (x[0], x[1].split(":")[0]) for x in sentence]
            for sentence in sentences]
