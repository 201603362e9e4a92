"""`TaskType`: everything that is specific to one kind of task, in one class.

A task type owns, for its tasks:

* **labels** (Python, Keras-free): which label names a dataset uses
  (`collect_labels`), how a label becomes a target and which in-band value
  marks a *missing* one (`encode`, `missing`), and the unseen-label rule
  (`encode(..., unknown="ignore")`);
* **targets in `tf.data`** (TensorFlow): the target tensor of a batch
  (`target_tensor`), for word-level types the move of word labels onto first
  sub-words (`align_targets`), which targets count (`label_present`) and how
  masked targets are made harmless for a loss (`sanitize`, `keras.ops`);
* **the model** (Keras): its head layer (`build_head`), default loss and metrics,
  and the names of its output axes (`score_axes`, used by the ONNX export);
* **decoding** (numpy only, shared with the edge runtime): one example's scores →
  its label(s) (`decode`), and a JSON view of a prediction (`to_json`);
* **evaluation** (numpy only): metrics of decoded predictions against gold
  labels (`evaluate`), its primary metric and direction (`primary_metric`, for Δm);
* **serving**: the SavedModel signature's outputs (`serving_outputs`, TF graph)
  and their decoding on the client side (`from_serving`, numpy).

Register a type with `keras_mtl.tasks.register_task_type`; nothing outside
`keras_mtl/tasks/` (and the type's own head file) knows a type by name. This module
imports neither Keras nor TensorFlow at import time: the methods that need them
import them, so the edge runtime can use the numpy half alone.
"""

import numpy as np

MISSING_ID = -1
"""Target id of an absent label (and of sub-word positions that carry no label)."""


class TaskType:
    """Base class of task types. Subclass it, then `register_task_type(MyType())`.

    Class attributes a subclass sets:
        name: the type's name in `TaskSpec(type=...)` and configs.
        token_level: one label per word (word → first sub-word alignment).
        needs_labels: the type has a label set (`TaskSpec(labels=...)`).
        min_labels: the smallest label set it accepts.
        supports_text_pair: a task of this type may read two texts
            (`TaskSpec(text_pair=True)`).
        joins_sentence_accuracy: counted in `sentence_accuracy` (every sentence
            label and every word label of an example right).
        primary_metric: `(metric name, higher is better)` compared in Δm.
        target_dtype: dtype of the target tensor (`"int32"` or `"float32"`).
        decodings: the `TaskSpec(decoding=...)` values the type offers, the
            default first (empty: the type has one way to decode).

    Example (a type that scores one value per text, outside the package):

    >>> from keras_mtl.tasks import RegressionType, register_task_type
    >>> class Score(RegressionType):
    ...     name = "score"
    >>> _ = register_task_type(Score())
    """

    name = None
    token_level = False
    needs_labels = True
    min_labels = 1
    supports_text_pair = False
    joins_sentence_accuracy = False
    primary_metric = None
    target_dtype = "int32"
    decodings = ()

    # === Labels (Python) ===
    def collect_labels(self, values):
        """Sorted distinct label names in `values` (one label per example)."""
        seen = set()
        for value in values:
            if value is None:
                continue
            if isinstance(value, (list, tuple, np.ndarray)):
                seen.update(value)
            else:
                seen.add(value)
        return sorted(seen)

    def encode(self, spec, label, num_words=None, unknown="error"):
        """The target of one example's `label` (`None`: missing).

        `num_words` is the number of words of the text (word-level types check
        it). `unknown="ignore"` turns labels outside the label set into missing
        targets instead of raising (the unseen-label rule).
        """
        raise NotImplementedError(f"Task type {self.name!r} must implement encode().")

    def missing(self, spec, num_words=None):
        """The target of an example without a label."""
        raise NotImplementedError(f"Task type {self.name!r} must implement missing().")

    # === Targets (TensorFlow, inside tf.data) ===
    def target_tensor(self, spec, targets):
        """A batch tensor from a list of `encode` outputs (ragged for word-level types)."""
        import tensorflow as tf

        if self.token_level:
            return tf.ragged.constant(targets, dtype=self.target_dtype, ragged_rank=1)
        return tf.convert_to_tensor(np.asarray(targets, self.target_dtype))

    def batch_target(self, spec, target):
        """A sentence-level target tensor as the model's loss expects it (TF)."""
        import tensorflow as tf

        return tf.cast(target, self.target_dtype)

    def align_targets(self, spec, word_targets, alignment):
        """Word-level types: per-word targets → per-sub-word targets (ragged).

        `alignment` is a `keras_mtl.preprocessing.alignment.WordAlignment`; the
        default puts each word's target on its first sub-word.
        """
        return alignment.place(word_targets)

    def label_present(self, y, xp=None):
        """A 0/1 float mask of labelled targets (`xp`: `keras.ops` or `tensorflow`)."""
        xp = xp or _keras_ops()
        return xp.cast(y >= 0, "float32")

    def sanitize(self, y):
        """Targets safe to feed a loss; masked positions hold a harmless value."""
        ops = _keras_ops()
        return ops.maximum(y, ops.zeros_like(y))

    # === Model (Keras) ===
    def output_units(self, spec):
        return len(spec.labels)

    def build_head(self, spec, dtype=None):
        """The Keras layer that scores this task, named after the task."""
        raise NotImplementedError(f"Task type {self.name!r} must implement build_head().")

    def default_loss(self, spec):
        raise NotImplementedError(f"Task type {self.name!r} must implement default_loss().")

    def default_metrics(self, spec):
        raise NotImplementedError(f"Task type {self.name!r} must implement default_metrics().")

    def score_axes(self, spec):
        """Names of the head output's axes (dynamic axes of the ONNX graph)."""
        return ("batch", "sequence", "labels") if self.token_level else ("batch", "labels")

    # === Decoding (numpy) ===
    def decode(self, spec, scores, word_positions=None):
        """`(label, scores)` of one example from its head output (numpy).

        Word-level types get `word_positions`, the packed positions of the
        words' first sub-words (words cut off by truncation are absent), and
        return one label per such word.
        """
        raise NotImplementedError(f"Task type {self.name!r} must implement decode().")

    def decode_many(self, spec, scores, word_positions=None):
        """`decode` of several examples: `scores` stacks their head outputs and
        `word_positions` (word-level types) gives each example's positions.
        Returns a list of `(label, scores)`. Types override it to decode a batch
        at once."""
        if word_positions is None:
            return [self.decode(spec, row) for row in scores]
        return [self.decode(spec, row, positions) for row, positions in zip(scores, word_positions)]

    def to_json(self, spec, label, scores):
        """A JSON-ready view of one prediction."""
        if label is None:
            return {"label": None}
        return {"label": label}

    # === Evaluation (numpy) ===
    def evaluate(self, spec, gold, predicted):
        """`(metrics, right)` over labelled examples: a dict of metrics and, per
        example, whether it was entirely right (`None` if not meaningful)."""
        raise NotImplementedError(f"Task type {self.name!r} must implement evaluate().")

    # === Serving (SavedModel) ===
    def serving_outputs(self, spec, scores, words):
        """`{suffix: tensor}` outputs of the raw-text signature (TF graph).

        `words` has `positions` (ragged batch × words: first sub-word positions),
        `num_words`, `has_text` and `has_pair` (bool per example). Output names
        become `<task>_<suffix>`.
        """
        raise NotImplementedError(f"Task type {self.name!r} must implement serving_outputs().")

    def from_serving(self, spec, outputs, num_words):
        """`(labels, scores)` per example from the signature's numpy outputs
        (`outputs` keyed by suffix)."""
        raise NotImplementedError(f"Task type {self.name!r} must implement from_serving().")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def check_word_labels(spec, label, num_words, unit="labels"):
    """Raises unless `label` is a list with one entry per word (word-level types)."""
    if not isinstance(label, (list, tuple, np.ndarray)):
        raise ValueError(
            f"task '{spec.name}': word-level labels must be a list ({unit}, one per word), "
            f"got {label!r}."
        )
    if num_words is not None and len(label) != num_words:
        got = f"{len(label)} {unit}"
        raise ValueError(
            f"task '{spec.name}': {num_words} words but {got} (one per word; words "
            "are separated by whitespace)."
        )


REQUIRED_METHODS = (
    "encode", "missing", "build_head", "default_loss", "default_metrics", "decode",
    "evaluate", "serving_outputs", "from_serving",
)


def _keras_ops():
    from keras import ops

    return ops
