"""Whitespace word splitting, identical in Python and in the TF graph.

`tf.strings.split` (what the preprocessor's graph uses) splits on ASCII whitespace
only, while Python's `str.split()` also splits on Unicode spaces such as U+00A0
or U+3000. Everything that counts words in Python (label validation, decoded
outputs, the edge runtime) uses this function, so word counts always agree with
the model's.
"""

import re

WORD_SEPARATORS = " \t\n\v\f\r"
_SEPARATORS = re.compile(f"[{re.escape(WORD_SEPARATORS)}]+")


def split_words(text):
    """The words of `text`, split on ASCII whitespace like `tf.strings.split`.

    >>> split_words(" fly\\u00a0to  boston ")
    ['fly\\xa0to', 'boston']
    """
    return [word for word in _SEPARATORS.split(text) if word]
