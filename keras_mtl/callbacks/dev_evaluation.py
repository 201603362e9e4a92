"""`DevEvaluation`: every task's primary metric on decoded dev predictions, each epoch."""

import math

import keras
import numpy as np

from keras_mtl.errors import ConfigError
from keras_mtl.metrics.evaluation import evaluate_predictions

DEV_SCORE = "dev_score"
"""The log key of the one number that chooses the best epoch (higher is better)."""

DEV_PREFIX = "dev_"
"""Log keys that `DevEvaluation` writes start with this (`training.monitor: dev_...`)."""


def dev_logs(tasks, metrics):
    """`{"dev_<task>_<metric>": value, ..., "dev_score": value}` from `metrics`
    (`evaluate_predictions` output) for the `TaskSpec`s in `tasks`.

    `dev_score` is the mean over tasks of each task's primary metric
    (`TaskType.primary_metric`), negated where lower is better (an error such as
    MAE), so that a higher `dev_score` is always better. The metrics keep their
    own scales: a regression task's −MAE weighs by its units, not in [0, 1].

    Example (accuracy 0.8 and MAE 0.5: (0.8 − 0.5) / 2):

    >>> from keras_mtl.tasks import TaskSpec
    >>> tasks = [TaskSpec(name="intent", type="classification", labels=["a", "b"]),
    ...          TaskSpec(name="similarity", type="regression")]
    >>> logs = dev_logs(tasks, {"intent": {"accuracy": 0.8}, "similarity": {"mae": 0.5}})
    >>> logs["dev_intent_accuracy"], logs["dev_similarity_mae"], round(logs["dev_score"], 6)
    (0.8, 0.5, 0.15)
    """
    logs, signed = {}, []
    for spec in tasks:
        metric, higher_is_better = spec.task_type.primary_metric
        value = float(metrics[spec.name][metric])
        logs[f"{DEV_PREFIX}{spec.name}_{metric}"] = value
        signed.append(value if higher_is_better else -value)
    logs[DEV_SCORE] = float(np.mean(signed))
    return logs


class DevEvaluation(keras.callbacks.Callback):
    """Writes the tasks' primary dev metrics and `dev_score` into the logs after
    every `every`-th epoch (and the last one).

    Keras' own `val_` metrics score sub-word targets (a token accuracy, a batch
    mean); this callback decodes the model's predictions for the dev texts and
    scores them the way the test split is scored (entity F1 over spans, accuracy,
    Pearson, LAS, ...: `evaluate_predictions`), so that the epoch chosen on the dev
    split is the one that is best by the metric the comparison reports. See
    `dev_logs` for the keys and for how `dev_score` is formed.

    List it before `RestoreBest("dev_score", mode="max")` (which reads the key)
    and before `CSVLogger` (which records it). Epochs that are not evaluated log
    NaN, which `RestoreBest` counts as no improvement (its patience counts them).

    Args:
        data: the dev split, a `LabeledTexts` with labels for every task of the model.
        every: evaluate after every `every`-th epoch (>= 1).

    Example:

    >>> from keras_mtl.callbacks import RestoreBest
    >>> from keras_mtl.datasets import LabeledTexts
    >>> dev = LabeledTexts(["fly to boston"], {"intent": ["flight"]}, name="dev")
    >>> callbacks = [DevEvaluation(dev), RestoreBest(DEV_SCORE, mode="max")]

    (then `model.fit(train_ds, epochs=3, callbacks=callbacks)`).
    """

    def __init__(self, data, every=1):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"DevEvaluation every must be an int >= 1, got {every!r}.")
        self.data = data
        self.every = every
        self._keys = None

    def on_train_begin(self, logs=None):
        tasks = self.model.tasks
        unlabelled = [
            spec.name for spec in tasks
            if all(label is None for label in self.data.labels.get(spec.name, [None]))
        ]
        if unlabelled:
            raise ConfigError(
                f"The dev split ({self.data.name}) has no labels for task(s) {unlabelled}: "
                f"'{DEV_SCORE}' needs every task scored on dev. Give those tasks' datasets "
                "a dev split, or monitor a 'val_' key."
            )
        self._keys = [f"{DEV_PREFIX}{spec.name}_{spec.task_type.primary_metric[0]}"
                      for spec in tasks] + [DEV_SCORE]

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last = epoch + 1 == self.params.get("epochs") if self.params else False
        if (epoch + 1) % self.every and not last:
            logs.update({key: math.nan for key in self._keys})
            return
        model = self.model  # (on JAX this syncs the trained state into the variables)
        predictions = model.predict_text(self.data.texts, text_pairs=self.data.pairs,
                                         batch_size=64)
        logs.update(dev_logs(model.tasks, evaluate_predictions(model.tasks, self.data,
                                                               predictions)))
