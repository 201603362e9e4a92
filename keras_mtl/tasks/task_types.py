"""Task types: what a task's labels look like, how they are encoded, lost and scored.

Each type is one small class registered under its name. A type knows:

* how a label (a Python value) becomes a model target, and which in-band value
  marks a *missing* label (so mixed datasets can leave a task unlabelled),
* which targets count (`label_present`, TensorFlow ops: it runs in `tf.data`),
* how to make targets safe for a loss once the missing ones are masked
  (`sanitize`, `keras.ops`: it runs inside the model on every backend),
* its default loss and metrics, the width of its head, and how to turn the head's
  scores back into labels.

Heads output *scores* (probabilities for the classification types, values for
regression), so any standard Keras loss or metric that expects probabilities can be
used in `TaskSpec(loss=..., metrics=...)`.
"""

import math

import keras
import numpy as np

from keras_mtl.decoding import decode_scores

MISSING_ID = -1
"""Target id of an absent label (and of sub-word positions that carry no label)."""


class TaskType:
    """Base class of a task type; subclasses are registered in `TASK_TYPES`."""

    name = None
    token_level = False
    needs_labels = True

    # --- Label encoding (Python side, runs once on the data) ---
    def encode(self, spec, label):
        raise NotImplementedError

    def missing(self, spec):
        raise NotImplementedError

    # --- Target handling (tensor side) ---
    def label_present(self, y, xp=keras.ops):
        """A 0/1 float mask of labelled targets.

        `xp` is `keras.ops` inside the model, or `tensorflow` inside `tf.data`
        (where backend ops must not run on JAX or PyTorch).
        """
        return xp.cast(y >= 0, "float32")

    def sanitize(self, y):
        """Targets safe to feed a loss; masked positions hold a harmless value."""
        return keras.ops.maximum(y, keras.ops.zeros_like(y))

    # --- Model side ---
    def output_units(self, spec):
        return len(spec.labels)

    def output_activation(self):
        return "softmax"

    def default_loss(self, spec):
        raise NotImplementedError

    def default_metrics(self, spec):
        raise NotImplementedError

    # --- Decoding (numpy) ---
    def decode(self, spec, scores):
        """Labels from one example's scores (numpy)."""
        return decode_scores(self.name, spec.labels, scores, spec.threshold)


class ClassificationType(TaskType):
    """One label per text (intent, sentiment, language)."""

    name = "classification"

    def encode(self, spec, label):
        if label is None:
            return MISSING_ID
        return spec.label_id(label)

    def missing(self, spec):
        return MISSING_ID

    def default_loss(self, spec):
        return keras.losses.SparseCategoricalCrossentropy(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


class TokenClassificationType(ClassificationType):
    """One label per word (slots, NER, POS); scored on the word's first sub-word."""

    name = "token_classification"
    token_level = True

    def encode(self, spec, label):
        # A missing label becomes an empty list; the preprocessor spreads
        # MISSING_ID over the words of the text.
        if label is None:
            return []
        return [spec.label_id(tag) for tag in label]

    def missing(self, spec):
        return []


class MultiLabelType(TaskType):
    """Any subset of the labels per text (topics, tags); sigmoid scores."""

    name = "multi_label"

    def encode(self, spec, label):
        if label is None:
            return self.missing(spec)
        if isinstance(label, str):
            raise ValueError(
                f"Task '{spec.name}' is multi_label: its label must be a list of "
                f"label names, got the string {label!r}."
            )
        target = np.zeros(len(spec.labels), "float32")
        for name in label:
            target[spec.label_id(name)] = 1.0
        return target

    def missing(self, spec):
        return np.full(len(spec.labels), MISSING_ID, "float32")

    def label_present(self, y, xp=keras.ops):
        return xp.cast(y[..., 0] >= 0, "float32")

    def output_activation(self):
        return "sigmoid"

    def default_loss(self, spec):
        return keras.losses.BinaryCrossentropy(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        return [
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.AUC(name="auc", multi_label=True),
        ]


class RegressionType(TaskType):
    """One real value per text (a rating, a score); NaN marks a missing value."""

    name = "regression"
    needs_labels = False

    def encode(self, spec, label):
        if label is None:
            return np.array([np.nan], "float32")
        value = float(label)
        if not math.isfinite(value):
            raise ValueError(
                f"Task '{spec.name}': regression targets must be finite numbers, "
                f"got {label!r} (use None for a missing value)."
            )
        return np.array([value], "float32")

    def missing(self, spec):
        return np.array([np.nan], "float32")

    def label_present(self, y, xp=keras.ops):
        # NaN is the only value not equal to itself.
        return xp.cast(xp.equal(y[..., 0], y[..., 0]), "float32")

    def sanitize(self, y):
        return keras.ops.where(keras.ops.isnan(y), keras.ops.zeros_like(y), y)

    def output_units(self, spec):
        return 1

    def output_activation(self):
        return None

    def default_loss(self, spec):
        return keras.losses.MeanSquaredError(name=f"{spec.name}_loss")

    def default_metrics(self, spec):
        return [keras.metrics.MeanAbsoluteError(name="mae")]


TASK_TYPES = {
    cls.name: cls()
    for cls in (
        ClassificationType,
        TokenClassificationType,
        MultiLabelType,
        RegressionType,
    )
}


def get_task_type(name):
    """The registered `TaskType` called `name`; a clear error otherwise."""
    if isinstance(name, TaskType):
        return name
    try:
        return TASK_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown task type {name!r}. Known types: {sorted(TASK_TYPES)}."
        ) from None
