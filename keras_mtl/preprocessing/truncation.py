"""How many sub-words of each text a packed sequence keeps (pure Python).

The rule of the checkpoint's own tokenizer (Hugging Face `longest_first`): a
single text keeps `sequence_length - 2` sub-words ([CLS] a [SEP]); a pair keeps
`budget = sequence_length - 3` ([CLS] a [SEP] b [SEP]). When the pair is too long,
the longer side is trimmed first: if the shorter side fits in half the budget it
is kept whole and the longer gets the rest; otherwise both get half, the longer
one (the second on a tie) the odd sub-word. `keras_mtl.preprocessing.packing`
applies the same rule with TensorFlow ops.
"""


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
