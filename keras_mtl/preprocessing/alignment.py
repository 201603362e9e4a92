"""Words and their sub-words, in TensorFlow ops.

Everything here runs eagerly, inside `tf.function` and inside `tf.data.map` (and
so inside a TF Serving signature). Texts are split into words on the checkpoint
tokenizer's whitespace (after dropping the control and format characters it
drops); every word is split into WordPiece sub-words. Splitting into words first
gives exactly the sub-words that tokenizing the whole string gives, because BERT's
normalizer works character by character and its pre-tokenizer splits on
whitespace before anything else. Placing word labels on first sub-words and
packing are in `keras_mtl.preprocessing.packing`.
"""

import tensorflow as tf

from keras_mtl.preprocessing.words import CONTROL, WHITESPACE, character_class

_CONTROL = character_class(CONTROL, "re2")
_WHITESPACE = character_class(WHITESPACE, "re2")


def split_words(text):
    """Words of a batch of strings: a ragged (batch, words) tensor.

    The same words as `keras_mtl.preprocessing.words.split_words`: control and
    format characters dropped (a word made only of them disappears), then a
    split on Unicode whitespace (no-break space, ideographic space...). Words
    keep their surface form otherwise. Core TF ops only.
    """
    text = tf.strings.regex_replace(text, _CONTROL, "")
    return tf.strings.split(tf.strings.regex_replace(text, _WHITESPACE, " "))


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
