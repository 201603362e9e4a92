"""`TaskSpec`: one named task, declared once."""

import math
import numbers
import re

import keras

from keras_mtl.checks import check_number
from keras_mtl.errors import ConfigError
from keras_mtl.tasks.bio import check_decoding
from keras_mtl.tasks.registry import get_task_type

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
POOLING_MODES = ("cls", "mean", "pooled")


@keras.saving.register_keras_serializable(package="keras_mtl")
class TaskSpec:
    """Declares one task of a multi-task model.

    Everything the model, the data pipeline, the metrics and the exporters need to
    know about a task lives here: its name (the model output's key), its type, its
    label set, its loss, metrics and weight, and the shape of its head.

    Args:
        name: output name; letters, digits and `_`, starting with a letter.
        type: a registered task type: `"classification"`,
            `"token_classification"` (BIO tags), `"tagging"` (plain word tags),
            `"multi_label"`, `"regression"`, `"dependency_parsing"`, or your own
            (`keras_mtl.tasks.register_task_type`).
        labels: the label names, in id order. Required by the classification types
            before a model is built (`TaskSpec.with_labels` fills them in from data).
        loss: a Keras loss (name, class or instance) applied to the head's scores
            (probabilities for the classification types). Defaults by type.
        metrics: a list of Keras metrics (names, classes or instances). Defaults by
            type. They are computed on labelled targets only: padding, non-first
            sub-words and missing labels are masked out.
        weight: the task's initial loss weight (>= 0).
        pooling: sentence heads only: `"cls"` ([CLS] vector), `"mean"` (mean of
            the non-padding token vectors) or `"pooled"` (the backbone's pooler).
        dropout: dropout rate before the head's output layer.
        hidden_dim: optional width of a hidden tanh layer in the head.
        threshold: multi_label only: score above which a label is predicted.
        text_pair: the task reads two texts, packed `[CLS] a [SEP] b [SEP]` with
            segment ids (sentence-level types only). Its examples must carry a
            second text; on a single text it predicts nothing (`None`).
        decoding: token_classification only: `"bio"` (the default) picks the most
            probable tag sequence in which every `I-X` follows `B-X` or `I-X`
            (IOB2; `keras_mtl.tasks.bio`); `"argmax"` takes each word's most
            probable tag on its own (use it for IOB1 data, where an entity may
            start with `I-`).

    Example:

    >>> intent = TaskSpec("intent", "classification", labels=["flight", "fare"])
    >>> slots = TaskSpec("slots", "token_classification", labels=["O", "B-city"])
    >>> intent.label_id("fare")
    1
    """

    def __init__(
        self,
        name,
        type,
        labels=None,
        loss=None,
        metrics=None,
        weight=1.0,
        pooling="mean",
        dropout=0.1,
        hidden_dim=None,
        threshold=0.5,
        text_pair=False,
        decoding=None,
    ):
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise ConfigError(
                f"Task name must be letters, digits and '_' starting with a letter; "
                f"got {name!r}."
            )
        self.name = name
        self.type = get_task_type(type).name
        if labels is not None:
            if not isinstance(labels, (list, tuple)):
                got = f"the string {labels!r}" if isinstance(labels, str) else repr(labels)
                raise ConfigError(
                    f"Task '{name}': labels must be a list of names (in id order), got {got}."
                )
            for label in labels:
                if isinstance(label, bool) or not isinstance(label, (str, numbers.Integral)) or (
                    isinstance(label, str) and not label.strip()
                ):
                    raise ConfigError(
                        f"Task '{name}': label {label!r} in {labels!r} is not a name; labels "
                        "are non-empty strings (or integers)."
                    )
            labels = [str(label) for label in labels]
            if not self.task_type.needs_labels:
                raise ConfigError(
                    f"Task '{name}' is {self.type}: it takes no label set, got {labels}."
                )
            if len(labels) == 0:
                raise ConfigError(f"Task '{name}': the label set is empty.")
            duplicates = sorted({x for x in labels if labels.count(x) > 1})
            if duplicates:
                raise ConfigError(f"Task '{name}': duplicate labels {duplicates}.")
            if len(labels) < self.task_type.min_labels:
                raise ConfigError(
                    f"Task '{name}': a {self.type} task needs at least "
                    f"{self.task_type.min_labels} labels, got {labels}."
                )
        self.labels = labels
        self.loss = loss
        self.metrics = metrics
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ConfigError(f"Task '{name}': weight must be a number, got {weight!r}.")
        if not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"Task '{name}': weight must be >= 0, got {weight}.")
        self.weight = float(weight)
        if pooling not in POOLING_MODES:
            raise ConfigError(
                f"Task '{name}': pooling must be one of {POOLING_MODES}, got {pooling!r}."
            )
        self.pooling = pooling
        self.dropout = check_number(dropout, f"Task '{name}': dropout", at_least=0, below=1)
        self.hidden_dim = None if hidden_dim is None else check_number(
            hidden_dim, f"Task '{name}': hidden_dim", at_least=1, integer=True
        )
        self.threshold = check_number(threshold, f"Task '{name}': threshold", above=0, below=1)
        if not isinstance(text_pair, bool):
            raise ConfigError(f"Task '{name}': text_pair must be true or false, got {text_pair!r}.")
        if text_pair and not self.task_type.supports_text_pair:
            raise ConfigError(
                f"Task '{name}': a {self.type} task cannot read a text pair "
                "(text_pair=True is for sentence-level types)."
            )
        self.text_pair = text_pair
        self.decoding = check_decoding(self.task_type, decoding, name)
        self.label_ids = {} if labels is None else {x: i for i, x in enumerate(labels)}
        # Integer labels are stored as strings ("1"); data read from JSON keeps
        # them as ints (1): both spellings find the id.
        self.label_ids.update({
            int(x): i for x, i in list(self.label_ids.items())
            if re.fullmatch(r"-?[0-9]+", x) and str(int(x)) == x
        })

    @property
    def task_type(self):
        return get_task_type(self.type)

    @property
    def token_level(self):
        return self.task_type.token_level

    def label_id(self, label):
        """The id of `label`; a `ValueError` naming the task and label otherwise."""
        if self.labels is None:
            raise ValueError(f"Task '{self.name}' has no label set yet.")
        try:
            return self.label_ids[label]
        except (KeyError, TypeError):
            shown = self.labels if len(self.labels) <= 20 else self.labels[:20] + ["..."]
            raise ValueError(
                f"Unknown label {label!r} for task '{self.name}'. Known labels: {shown}."
            ) from None

    def with_labels(self, labels):
        """A copy of this spec with `labels` as its label set."""
        config = self.get_config()
        config["labels"] = list(labels)
        return TaskSpec.from_config(config)

    def check_ready(self):
        """Raises if the spec cannot build a head yet (a label set is missing)."""
        if self.task_type.needs_labels and self.labels is None:
            raise ConfigError(
                f"Task '{self.name}' ({self.type}) has no labels: pass labels=[...] "
                "or build it from data with TaskSpec.with_labels()."
            )

    def resolved_loss(self):
        if self.loss is None:
            return self.task_type.default_loss(self)
        return keras.losses.get(self.loss)

    def resolved_metrics(self):
        if self.metrics is None:
            return self.task_type.default_metrics(self)
        if isinstance(self.metrics, (str, dict)) or not hasattr(self.metrics, "__iter__"):
            raise ConfigError(
                f"Task '{self.name}': metrics must be a list, got {self.metrics!r}."
            )
        return [keras.metrics.get(m) for m in self.metrics]

    def get_config(self):
        def serialize(obj):
            if obj is None or isinstance(obj, str):
                return obj
            return keras.saving.serialize_keras_object(obj)

        return {
            "name": self.name,
            "type": self.type,
            "labels": None if self.labels is None else list(self.labels),
            "loss": serialize(self.loss),
            "metrics": None
            if self.metrics is None
            else [serialize(m) for m in self.metrics],
            "weight": self.weight,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "hidden_dim": self.hidden_dim,
            "threshold": self.threshold,
            "text_pair": self.text_pair,
            "decoding": self.decoding,
        }

    def describe(self):
        """A JSON-ready description (name, type and its module, labels, threshold,
        text_pair, decoding) that artefacts store and `task_from_description` reads back
        without Keras."""
        return {
            "name": self.name,
            "type": self.type,
            "type_module": type(self.task_type).__module__,
            "labels": None if self.labels is None else list(self.labels),
            "threshold": self.threshold,
            "text_pair": self.text_pair,
            "decoding": self.decoding,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        if config.get("metrics") is not None:
            config["metrics"] = [
                keras.saving.deserialize_keras_object(m) if isinstance(m, dict) else m
                for m in config["metrics"]
            ]
        return cls(**config)

    def __repr__(self):
        n = "no" if self.labels is None else len(self.labels)
        return f"TaskSpec(name={self.name!r}, type={self.type!r}, {n} labels, weight={self.weight})"

    def __eq__(self, other):
        return isinstance(other, TaskSpec) and self.get_config() == other.get_config()


def check_task_list(tasks):
    """Validates a list of `TaskSpec`s (or their configs) and returns the specs."""
    if isinstance(tasks, TaskSpec):
        tasks = [tasks]
    if not tasks:
        raise ConfigError("A multi-task model needs at least one TaskSpec.")
    for task in tasks:
        if not isinstance(task, (TaskSpec, dict)):
            raise ConfigError(f"Tasks must be TaskSpecs (or their configs), got {task!r}.")
    specs = [t if isinstance(t, TaskSpec) else TaskSpec.from_config(t) for t in tasks]
    names = [t.name for t in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"Duplicate task names: {duplicates}; every task needs its own name.")
    return specs
