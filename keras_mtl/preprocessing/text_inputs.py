"""Checks of raw-text inputs, shared by `MultiTaskModel.predict`, the edge runtime
and the CLI (pure Python)."""


def split_pairs(items):
    """`(texts, pairs)` from a list of strings and/or `(text, second_text)` tuples;
    `pairs` is `None` when no item is a pair."""
    if isinstance(items, (str, bytes)):
        return items, None
    texts, pairs = [], []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            texts.append(item[0])
            pairs.append(item[1])
        else:
            texts.append(item)
            pairs.append(None)
    return texts, (pairs if any(p is not None for p in pairs) else None)


def _as_text(value, what, i):
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{what} {i} is not valid UTF-8.") from None
    if not isinstance(value, str):
        raise ValueError(f"{what} {i} is not a string: {value!r}.")
    return value


def check_texts(texts, text_pairs, tasks):
    """Validated `(texts, pairs)` lists (`pairs` holds `None` where there is no
    second text); a `ValueError` naming the example otherwise.

    >>> check_texts(["a b"], None, [])
    (['a b'], [None])
    """
    if isinstance(texts, (str, bytes)):
        raise ValueError("Predictions take a list of strings, not one string.")
    texts = [_as_text(t, "Text", i) for i, t in enumerate(texts)]
    for i, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"Text {i} is empty.")
    if text_pairs is None:
        pairs = [None] * len(texts)
    else:
        if isinstance(text_pairs, (str, bytes)):
            raise ValueError("text_pairs must be a list with one second text per text.")
        pairs = list(text_pairs)
        if len(pairs) != len(texts):
            raise ValueError(f"{len(pairs)} second texts for {len(texts)} texts.")
        pairs = [None if p is None else _as_text(p, "Second text", i) for i, p in enumerate(pairs)]
        pairs = [p if p and p.strip() else None for p in pairs]
    if tasks and all(task.text_pair for task in tasks):
        single = [i for i, p in enumerate(pairs) if p is None]
        if single:
            names = [task.name for task in tasks]
            raise ValueError(
                f"Text {single[0]} has no second text, but every task of this model "
                f"({names}) reads a text pair: give (text, second_text) pairs."
            )
    return texts, pairs
