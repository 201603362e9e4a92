"""Word → sub-word tokenization and label alignment, in TensorFlow ops.

Everything here runs eagerly, inside `tf.function` and inside `tf.data.map` (and
so inside a TF Serving signature). Texts are split into words on whitespace; every
word is split into WordPiece sub-words; a word's label sits on its *first*
sub-word and every other position carries `MISSING_ID`. Splitting on whitespace
first gives exactly the sub-words that tokenizing the whole string gives, because
BERT's basic tokenizer splits on whitespace before anything else.
"""

import tensorflow as tf

from keras_mtl.tasks.task_types import MISSING_ID


def split_words(text):
    """Whitespace words of a batch of strings: a ragged (batch, words) tensor.

    Splits on ASCII whitespace only, like `keras_mtl.preprocessing.words.split_words`.
    """
    return tf.strings.split(text)


def tokenize_words(tokenizer, words, unk_id):
    """Sub-words of each word: a ragged (batch, words, sub-words) tensor.

    A word the tokenizer maps to nothing (a lone zero-width or control character)
    becomes `[UNK]`, so that every word keeps a position and a label.
    """
    subwords = tokenizer(words)
    if not isinstance(subwords, tf.RaggedTensor) or subwords.shape.rank != 3:
        raise ValueError(
            "The tokenizer must map a (batch, words) ragged tensor to a "
            "(batch, words, sub-words) ragged tensor."
        )
    per_word = subwords.values
    empty = tf.cast(tf.equal(per_word.row_lengths(), 0), tf.int64)
    filler = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.cast(unk_id, per_word.dtype)), empty
    )
    return subwords.with_values(tf.concat([per_word, filler], axis=1))


def align(subwords, word_labels=None):
    """Flattens words into sub-words and aligns word-level tensors with them.

    Args:
        subwords: ragged (batch, words, sub-words) ids from `tokenize_words`.
        word_labels: optional dict of ragged (batch, words) int label ids.

    Returns:
        `(token_ids, word_ids, labels)`: ragged (batch, sub-words) tensors; `word_ids`
        holds the word's index at a word's first sub-word and `MISSING_ID`
        elsewhere, `labels` maps each key of `word_labels` to ids placed the same way.
    """
    per_word = subwords.values
    flat_word = per_word.value_rowids()
    position_in_text = tf.ragged.range(subwords.row_lengths()).flat_values
    position_in_word = tf.ragged.range(per_word.row_lengths()).flat_values
    is_first = tf.equal(position_in_word, 0)
    token_ids = subwords.merge_dims(1, 2)
    missing = tf.constant(MISSING_ID, tf.int64)
    word_ids = token_ids.with_flat_values(
        tf.where(is_first, tf.gather(position_in_text, flat_word), missing)
    )
    labels = {}
    for name, tags in (word_labels or {}).items():
        tags = tf.cast(tags, tf.int64)
        tf.debugging.assert_equal(
            tags.row_lengths(),
            subwords.row_lengths(),
            message=f"Task '{name}': the number of word labels differs from the "
            "number of words in a text.",
        )
        labels[name] = token_ids.with_flat_values(
            tf.where(is_first, tf.gather(tags.flat_values, flat_word), missing)
        )
    return token_ids, word_ids, labels


def add_special_tokens(ragged, start, end, max_length):
    """Truncates rows to `max_length - 2` and wraps them in `start` / `end`."""
    ragged = ragged[:, : max_length - 2]
    batch = ragged.nrows()
    dtype = ragged.dtype
    start = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.cast(start, dtype)))
    end = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.cast(end, dtype)))
    return tf.concat([start, ragged, end], axis=1)
