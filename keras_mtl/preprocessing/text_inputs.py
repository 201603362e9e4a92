"""Checks of raw-text inputs, shared by `MultiTaskModel.predict`, the edge runtime,
the SavedModel client and the CLI (pure Python).

Every runtime takes the same inputs and refuses the same ones with an
`InputError` that names the example:

>>> check_texts(["a b", ("c", "d")], None, [])
(['a b', 'c'], [None, 'd'])
>>> check_texts(["a b", None], None, [])
Traceback (most recent call last):
...
keras_mtl.errors.InputError: Text 1 is None, not a string: give one non-empty string per example.
"""

import operator

from keras_mtl.errors import InputError
from keras_mtl.preprocessing.words import split_words


def _as_list(values, what):
    """`values` as a list of examples; an `InputError` for one string, a mapping, a
    set, an array of another rank or anything that is not a sequence."""
    if isinstance(values, (str, bytes)):
        raise InputError(
            f"Predictions take a list of strings, not one string: pass `{what}` as "
            "[text]."
        )
    unordered = isinstance(values, (dict, set, frozenset))
    if values is None or unordered or not hasattr(values, "__iter__"):
        raise InputError(
            f"`{what}` must be a list of strings (one per example, in order), got "
            f"{_describe(values)}."
        )
    ndim = getattr(values, "ndim", 1)
    if ndim != 1:
        raise InputError(
            f"`{what}` must be one-dimensional (one string per example), got an array "
            f"of shape {tuple(getattr(values, 'shape', ()))}."
        )
    return list(values)


def _describe(value):
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    name = type(value).__name__
    article = "an" if name[0].lower() in "aeiou" else "a"
    return "None" if value is None else f"{article} {name} ({shown})"


def _as_text(value, what, i):
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"{what} {i} is not valid UTF-8 (byte 0x{value[error.start]:02x} at "
                f"position {error.start}): decode it first, or pass str."
            ) from None
    if not isinstance(value, str):
        raise InputError(
            f"{what} {i} is {_describe(value)}, not a string: give one non-empty "
            "string per example."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate (e.g. from undecodable bytes)
        raise InputError(
            f"{what} {i} has a character that is not valid Unicode "
            f"({value[error.start]!r} at position {error.start}, a lone surrogate): "
            "decode the input as UTF-8 first."
        ) from None
    return str(value)  # numpy.str_ → str


def check_texts(texts, text_pairs, tasks):
    """Validated `(texts, pairs)` lists (`pairs` holds `None` where there is no
    second text); an `InputError` naming the example otherwise.

    Args:
        texts: a list (tuple, 1-D array) of strings (bytes: UTF-8); when
            `text_pairs` is `None`, items may also be `(text, second_text)` tuples.
        text_pairs: `None`, or one second text (or `None`) per text.
        tasks: the model's tasks (`TaskSpec`s or `TaskDescription`s); `[]` skips
            the checks that need them (pairs given to a model without a text-pair
            task, single texts given to a model whose tasks all read pairs).

    >>> check_texts(["a b"], None, [])
    (['a b'], [None])
    """
    texts = _as_list(texts, "texts")
    if text_pairs is None:
        pairs = [item[1] if _is_pair(item) else None for item in texts]
        texts = [item[0] if _is_pair(item) else item for item in texts]
    else:
        pairs = _as_list(text_pairs, "text_pairs")
        if len(pairs) != len(texts):
            raise InputError(
                f"{len(pairs)} second texts for {len(texts)} texts: give one per text "
                "(None where there is none)."
            )
        for i, item in enumerate(texts):
            if _is_pair(item):
                raise InputError(
                    f"Text {i} is a (text, second_text) tuple and text_pairs is given "
                    "too: use one form or the other."
                )
    texts = [_as_text(t, "Text", i) for i, t in enumerate(texts)]
    for i, text in enumerate(texts):
        # No word: only whitespace, or only characters the tokenizer drops
        # (controls, zero-width), which every runtime would read differently.
        if not split_words(text):
            what = ("is empty" if not text.strip()
                    else "has no words (only control or format characters)")
            raise InputError(f"Text {i} {what}: drop it or give at least one word.")
    pairs = [None if p is None else _as_text(p, "Second text", i) for i, p in enumerate(pairs)]
    # A second text without words is no second text (as in the SavedModel graph).
    pairs = [p if p is not None and split_words(p) else None for p in pairs]
    if tasks and not any(task.text_pair for task in tasks):
        given = [i for i, p in enumerate(pairs) if p is not None]
        if given:
            raise InputError(
                f"Text {given[0]} has a second text, but no task of this model "
                f"({[task.name for task in tasks]}) reads text pairs: give single texts."
            )
    if tasks and all(task.text_pair for task in tasks):
        single = [i for i, p in enumerate(pairs) if p is None]
        if single:
            names = [task.name for task in tasks]
            raise InputError(
                f"Text {single[0]} has no second text, but every task of this model "
                f"({names}) reads a text pair: give (text, second_text) pairs."
            )
    return texts, pairs


def _is_pair(item):
    return isinstance(item, tuple) and len(item) == 2


def check_batch_size(batch_size):
    """`batch_size` as an int >= 1 (numpy integers too); an `InputError` otherwise."""
    try:
        value = None if isinstance(batch_size, bool) else operator.index(batch_size)
    except TypeError:
        value = None
    if value is None or value < 1:
        raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
    return value
