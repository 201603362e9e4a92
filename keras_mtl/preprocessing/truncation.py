"""How many sub-words of each text a packed sequence keeps (pure Python).

The rule of the checkpoint's own tokenizer (Hugging Face `longest_first`): a
single text keeps `sequence_length - 2` sub-words ([CLS] a [SEP]); a pair keeps
`budget = sequence_length - 3` ([CLS] a [SEP] b [SEP]). When the pair is too long,
the longer side is trimmed first: if the shorter side fits in half the budget it
is kept whole and the longer gets the rest; otherwise both get half, the longer
one (the second on a tie) the odd sub-word. `keras_mtl.preprocessing.packing`
applies the same rule with TensorFlow ops.

A word whose first sub-word is not packed is *cut off*: every runtime returns
`None` as its label and warns through `warn_truncated`, with one text.
"""

import warnings


def segment_lengths(length_a, length_b, sequence_length):
    """`(kept_a, kept_b)` sub-words of a text and its pair (`length_b = 0`: none).

    >>> segment_lengths(10, 0, 8), segment_lengths(3, 10, 10), segment_lengths(9, 9, 10)
    ((6, 0), (3, 4), (3, 4))
    """
    if length_b == 0:
        return min(length_a, sequence_length - 2), 0
    budget = sequence_length - 3
    if length_a + length_b <= budget:
        return length_a, length_b
    short, long_ = sorted((length_a, length_b))
    keep_short = short if short <= budget - short else budget // 2
    keep_long = budget - keep_short
    return (keep_long, keep_short) if length_a > length_b else (keep_short, keep_long)


class TruncationWarning(UserWarning):
    """Some texts were longer than the sequence length and lost words."""


def warn_truncated(num_words, kept_words, sequence_length, stacklevel=2):
    """Warns once (`TruncationWarning`) when texts lost words to the sequence length.

    Every runtime (the Keras model, the SavedModel client, the edge runtime) calls
    this with the words of each first text (`num_words`) and the words whose first
    sub-word was packed (`kept_words`), so all of them warn alike. Returns the
    indices of the truncated texts.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_truncated([3, 40], [3, 14], 16)
    [1]
    >>> print(caught[0].message)
    1 of 2 text(s) (index 1) longer than sequence_length=16 sub-words were truncated; their cut-off words are labelled None (sentence-level tasks see the kept part only).
    """
    cut = [i for i, (n, k) in enumerate(zip(num_words, kept_words)) if int(k) < int(n)]
    if cut:
        shown = ", ".join(str(i) for i in cut[:5]) + (", ..." if len(cut) > 5 else "")
        warnings.warn(
            f"{len(cut)} of {len(num_words)} text(s) (index {shown}) longer than "
            f"sequence_length={sequence_length} sub-words were truncated; their cut-off "
            "words are labelled None (sentence-level tasks see the kept part only).",
            TruncationWarning,
            stacklevel=stacklevel + 1,
        )
    return cut
