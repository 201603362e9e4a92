"""`LabeledTexts`: texts with per-task labels, the format every loader returns."""

import numpy as np

from keras_mtl.checks import check_number
from keras_mtl.errors import DataError


class LabeledTexts:
    """A list of texts (or text pairs) and, per task, one label per text (`None` = no label).

    Word-level labels are lists with one entry per whitespace-separated word of
    the (first) text. Text-pair tasks read `pairs`: one second text per example
    (`None` where an example has only one text). Every dataset loader in `keras_mtl.datasets` returns this, and
    `keras_mtl.data.make_dataset` turns it into a `tf.data` pipeline.

    Args:
        texts: list of non-empty strings.
        labels: dict task name → list of labels, as long as `texts`.
        name: a short name for messages (e.g. `"atis/test"`).
        pairs: optional list of second texts (hypothesis, sentence 2, passage),
            as long as `texts`; `None` (or an empty string) where there is none.

    Example:

    >>> data = LabeledTexts(
    ...     ["fly to boston"],
    ...     {"intent": ["atis_flight"], "slots": [["O", "O", "B-toloc.city_name"]]},
    ... )
    >>> len(data)
    1
    """

    def __init__(self, texts, labels=None, name="data", pairs=None):
        texts = _as_list(texts, "texts", name)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"text {i} is not a string: {text!r}.", name)
            if not text.strip():
                raise DataError(f"text {i} is empty.", name)
        if pairs is not None:
            pairs = _as_list(pairs, "pairs", name)
            if len(pairs) != len(texts):
                raise DataError(f"{len(pairs)} second texts for {len(texts)} texts.", name)
            for i, pair in enumerate(pairs):
                if pair is not None and not isinstance(pair, str):
                    raise DataError(f"second text {i} is not a string: {pair!r}.", name)
            pairs = [pair if pair and pair.strip() else None for pair in pairs]
            if all(pair is None for pair in pairs):
                pairs = None
        if labels is not None and not isinstance(labels, dict):
            raise DataError(
                f"labels must be a dict task name → list of labels (one per text), got "
                f"{type(labels).__name__}.", name,
            )
        for task in labels or {}:
            if not isinstance(task, str):
                raise DataError(f"task names must be strings, got {task!r}.", name)
        labels = {
            task: _as_list(values, f"labels of task '{task}'", name)
            for task, values in (labels or {}).items()
        }
        for task, values in labels.items():
            if len(values) != len(texts):
                raise DataError(
                    f"task '{task}' has {len(values)} labels for {len(texts)} texts.", name
                )
        self.texts = texts
        self.labels = labels
        self.name = name
        self.pairs = pairs

    def pair(self, i):
        """The second text of example `i`, or `None`."""
        return None if self.pairs is None else self.pairs[i]

    def __len__(self):
        return len(self.texts)

    def __repr__(self):
        pairs = "" if self.pairs is None else f", {sum(p is not None for p in self.pairs)} pairs"
        return f"LabeledTexts({self.name!r}, {len(self)} texts{pairs}, tasks={sorted(self.labels)})"

    def subset(self, indices, name=None):
        """The examples at `indices`, in that order."""
        indices = [int(i) for i in indices]
        return LabeledTexts(
            [self.texts[i] for i in indices],
            {task: [values[i] for i in indices] for task, values in self.labels.items()},
            name=name or self.name,
            pairs=None if self.pairs is None else [self.pairs[i] for i in indices],
        )

    def select(self, tasks, name=None):
        """The same texts with only the label columns in `tasks` (an iterable)."""
        tasks = list(tasks)
        missing = sorted(set(tasks) - set(self.labels))
        if missing:
            raise DataError(
                f"no label column(s) {missing}; it has {sorted(self.labels)}.", self.name
            )
        return LabeledTexts(
            self.texts, {task: self.labels[task] for task in tasks}, name=name or self.name,
            pairs=self.pairs,
        )

    def split(self, fractions, seed=0):
        """Deterministic random splits: `{"train": rest, name: fraction × len, ...}`.

        A permutation from `numpy.random.default_rng(seed)` assigns the examples;
        every split keeps the original order. Used for corpora that ship without
        a dev or test split.

        Example:

        >>> data = LabeledTexts([f"text {i}" for i in range(10)], {"topic": ["a", "b"] * 5})
        >>> parts = data.split({"dev": 0.1, "test": 0.2}, seed=0)
        >>> {split: len(part) for split, part in sorted(parts.items())}
        {'dev': 1, 'test': 2, 'train': 7}
        """
        for split, fraction in fractions.items():
            check_number(fraction, f"split fraction {split!r}", above=0, below=1)
        total = sum(fractions.values())
        if "train" in fractions or not 0 < total < 1:
            raise DataError(
                f"Split fractions must name held-out splits and sum to less than 1, "
                f"got {fractions}."
            )
        order = np.random.default_rng(seed).permutation(len(self))
        splits, start = {}, 0
        for split, fraction in fractions.items():
            size = int(round(fraction * len(self)))
            splits[split] = np.sort(order[start:start + size])
            start += size
        splits = {"train": np.sort(order[start:]), **splits}
        base = self.name.split("/")[0]
        return {
            split: self.subset(index, name=f"{base}/{split}")
            for split, index in splits.items()
        }

    @classmethod
    def combine(cls, parts, name="combined"):
        """One `LabeledTexts` from several, labels missing (`None`) where a part
        has no column for a task: the partial-label form of a task mixture."""
        parts = list(parts)
        tasks = []
        for part in parts:
            tasks += [task for task in part.labels if task not in tasks]
        texts, labels, pairs = [], {task: [] for task in tasks}, []
        for part in parts:
            texts += part.texts
            pairs += part.pairs or [None] * len(part)
            for task in tasks:
                labels[task] += part.labels.get(task, [None] * len(part))
        return cls(texts, labels, name=name, pairs=pairs)

    def label_set(self, task):
        """Sorted distinct label names of `task` (tags flattened for list labels)."""
        from keras_mtl.tasks.task_type import TaskType

        if task not in self.labels:
            raise DataError(f"no label column {task!r}; it has {sorted(self.labels)}.", self.name)
        return TaskType().collect_labels(self.labels[task])


def _as_list(values, what, name):
    """`values` as a list. A string is refused (`list("ab")` would make one item per
    character), and so are mappings and sets (no order) and non-iterables."""
    if isinstance(values, (str, bytes, dict, set, frozenset)) or not hasattr(values, "__iter__"):
        raise DataError(
            f"{what} must be a list (one entry per example), got {type(values).__name__}"
            f"{' ' + repr(values[:40]) if isinstance(values, str) else ''}.", name,
        )
    return list(values)
