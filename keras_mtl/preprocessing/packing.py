"""Packing sub-words into BERT inputs, and word alignment, in TensorFlow ops.

Everything here runs eagerly, inside `tf.function`, inside `tf.data.map` and so
inside a TF Serving signature (core TF ops only). A single text is packed
`[CLS] a [SEP]` (segment 0); a pair `[CLS] a [SEP] b [SEP]` (segment 1 for
`b [SEP]`), trimmed by the rule of `keras_mtl.preprocessing.truncation`. Word-level
labels belong to the first text: a word's label sits on its first sub-word, every
other position carries `MISSING_ID`.
"""

import tensorflow as tf

from keras_mtl.tasks.task_type import MISSING_ID


def segment_lengths(length_a, length_b, sequence_length):
    """`segment_lengths` of `truncation`, on int tensors of per-example lengths."""
    length_a = tf.cast(length_a, tf.int64)
    length_b = tf.cast(length_b, tf.int64)
    budget = tf.cast(sequence_length - 3, tf.int64)
    short = tf.minimum(length_a, length_b)
    keep_short = tf.where(short <= budget - short, short, budget // 2)
    keep_long = budget - keep_short
    fits = length_a + length_b <= budget
    a_longer = length_a > length_b
    pair_a = tf.where(fits, length_a, tf.where(a_longer, keep_long, keep_short))
    pair_b = tf.where(fits, length_b, tf.where(a_longer, keep_short, keep_long))
    single = tf.equal(length_b, 0)
    keep_a = tf.where(single, tf.minimum(length_a, sequence_length - 2), pair_a)
    keep_b = tf.where(single, tf.zeros_like(length_b), pair_b)
    return keep_a, keep_b


def truncate_rows(ragged, keep):
    """Each row of `ragged` cut to its `keep` first elements."""
    index = tf.ragged.range(ragged.row_lengths())
    return tf.ragged.boolean_mask(ragged, index < tf.cast(keep, tf.int64)[:, tf.newaxis])


def _fill_rows(lengths, value, like):
    """A ragged tensor of rows of `lengths`, every element `value` (inner shape of `like`)."""
    lengths = tf.cast(lengths, tf.int64)
    inner = tf.shape(like.flat_values, out_type=tf.int64)[1:]
    shape = tf.concat([[tf.reduce_sum(lengths)], inner], axis=0)
    values = tf.fill(shape, tf.cast(value, like.dtype))
    return tf.RaggedTensor.from_row_lengths(values, lengths)


def pack_rows(first, keep_a, start, end, second=None, keep_b=None):
    """`[start] a[:keep_a] [end]` (+ `b[:keep_b] [end]` where `keep_b > 0`), per row.

    `second=None` fills b's positions with `end` (labels: `MISSING_ID` throughout).
    """
    ones = tf.ones_like(tf.cast(keep_a, tf.int64))
    parts = [_fill_rows(ones, start, first), truncate_rows(first, keep_a),
             _fill_rows(ones, end, first)]
    if keep_b is not None:
        keep_b = tf.cast(keep_b, tf.int64)
        has_pair = tf.cast(keep_b > 0, tf.int64)
        tail = _fill_rows(keep_b, end, first) if second is None else truncate_rows(second, keep_b)
        parts += [tail, _fill_rows(has_pair, end, first)]
    return tf.concat(parts, axis=1)


def segment_ids(keep_a, keep_b):
    """0 for `[CLS] a [SEP]`, 1 for `b [SEP]` (ragged int32)."""
    keep_a = tf.cast(keep_a, tf.int64)
    keep_b = tf.cast(keep_b, tf.int64)
    second = keep_b + tf.cast(keep_b > 0, tf.int64)
    lengths = tf.stack([keep_a + 2, second], axis=1)
    flat = tf.repeat(tf.tile([0, 1], [tf.size(keep_a)]), tf.reshape(lengths, [-1]))
    return tf.RaggedTensor.from_row_lengths(tf.cast(flat, tf.int32), tf.reduce_sum(lengths, 1))


class WordAlignment:
    """Where each word of the first text lands among the packed sub-words.

    Args:
        subwords: ragged (batch, words, sub-words) ids of the first text.
        keep: sub-words kept per text (after truncation).

    Attributes:
        token_ids: ragged (batch, sub-words) ids, untruncated.
        word_ids: ragged (batch, sub-words): the word's index at its first
            sub-word, `MISSING_ID` elsewhere (untruncated).
        word_starts: ragged (batch, words): the packed position (after [CLS]) of
            each word's first sub-word, `MISSING_ID` if truncation cut it off.
    """

    def __init__(self, subwords, keep):
        per_word = subwords.values
        self._flat_word = per_word.value_rowids()
        self._is_first = tf.equal(tf.ragged.range(per_word.row_lengths()).flat_values, 0)
        self.token_ids = subwords.merge_dims(1, 2)
        word_index = tf.ragged.range(subwords.row_lengths()).flat_values
        self.word_ids = self.token_ids.with_flat_values(
            tf.where(self._is_first, tf.gather(word_index, self._flat_word),
                     tf.constant(MISSING_ID, tf.int64))
        )
        # Offset of each word's first sub-word within its text.
        text_start = tf.gather(self.token_ids.row_starts(), subwords.value_rowids())
        offset = per_word.row_starts() - text_start
        kept = offset < tf.gather(tf.cast(keep, tf.int64), subwords.value_rowids())
        self.word_starts = subwords.with_values(
            tf.where(kept, offset + 1, tf.constant(MISSING_ID, tf.int64))
        )

    def place(self, word_values):
        """Per-word values (ragged batch × words [× k]) → per-sub-word, `MISSING_ID`
        on the sub-words after a word's first."""
        gathered = tf.gather(word_values.flat_values, self._flat_word)
        first = self._is_first
        for _ in range(gathered.shape.rank - 1):
            first = first[..., tf.newaxis]
        missing = tf.cast(MISSING_ID, gathered.dtype)
        return self.token_ids.with_flat_values(tf.where(first, gathered, missing))


def gather_words(scores, positions):
    """Scores at the words' first sub-words: ragged (batch, words, ...) from dense
    (batch, sequence, ...) `scores` and ragged (batch, words) `positions`."""
    dense = tf.cast(positions.to_tensor(0), tf.int32)
    per_word = tf.gather(scores, dense, batch_dims=1)
    return tf.RaggedTensor.from_tensor(per_word, lengths=positions.row_lengths())
