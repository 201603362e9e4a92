"""`TaskWeights`: the loss weights of a multi-task model, held in a model variable."""

import keras
import numpy as np

from keras_mtl.checks import check_known_tasks, check_number
from keras_mtl.errors import InputError


@keras.saving.register_keras_serializable(package="keras_mtl")
class TaskWeights(keras.layers.Layer):
    """One non-trainable variable holding every task's loss weight.

    Keras 3 copies `compile(loss_weights=...)` floats into the traced train step,
    so changing them later has no effect. `MultiTaskModel.compute_loss` reads this
    variable instead, so a callback that assigns new weights changes the very next
    training step on every backend, and the weights are saved with the model.

    With `learn_log_variances=True` it also holds one trainable log-variance sₖ
    per task (uncertainty weighting, Kendall et al. 2018) and `combine` returns
    Σ wₖ · ½ (e^(−sₖ) Lₖ + sₖ) instead of Σ wₖ Lₖ.

    Args:
        task_names: task names, in variable order.
        initial_weights: starting weight per task (defaults to 1.0 each).
        learn_log_variances: add trainable log-variances (initialised at 0).

    Example:

    >>> weights = TaskWeights(["intent", "slots"], [1.0, 2.0])
    >>> weights.as_dict()
    {'intent': 1.0, 'slots': 2.0}
    """

    def __init__(self, task_names, initial_weights=None, learn_log_variances=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        kwargs.pop("trainable", None)
        super().__init__(trainable=bool(learn_log_variances), **kwargs)
        self.task_names = list(task_names)
        if initial_weights is None:
            initial_weights = [1.0] * len(self.task_names)
        given = self._by_task(initial_weights, "initial_weights")
        initial_weights = [given.get(name, 1.0) for name in self.task_names]
        self.initial_weights = initial_weights
        self.values = self.add_weight(
            shape=(len(self.task_names),),
            initializer=keras.initializers.Constant(initial_weights),
            trainable=False,
            dtype="float32",
            name="task_weights",
        )
        self.learn_log_variances = bool(learn_log_variances)
        self.log_variances = None
        if self.learn_log_variances:
            self.log_variances = self.add_weight(
                shape=(len(self.task_names),),
                initializer="zeros",
                trainable=True,
                dtype="float32",
                name="log_variances",
            )
        self.built = True

    def combine(self, task_losses):
        """The total loss from a list of per-task scalar losses (in task order)."""
        return keras.ops.sum(self.terms(task_losses))

    def terms(self, task_losses):
        """Each task's term of the total loss, as a vector in task order: wₖ Lₖ, or
        wₖ · ½ (e^(−sₖ) Lₖ + sₖ) with learned log-variances."""
        losses = keras.ops.stack([keras.ops.cast(x, "float32") for x in task_losses])
        weights = keras.ops.cast(self.values, "float32")
        if self.log_variances is None:
            return weights * losses
        s = keras.ops.cast(self.log_variances, "float32")
        return weights * 0.5 * (keras.ops.exp(-s) * losses + s)

    def effective(self):
        """`{task: weight}` as applied to each task loss (w · ½e^(−s) when learned)."""
        weights = self.as_dict()
        if self.log_variances is None:
            return weights
        s = keras.ops.convert_to_numpy(self.log_variances)
        return {
            name: weights[name] * 0.5 * float(np.exp(-v))
            for name, v in zip(self.task_names, s)
        }

    def as_dict(self):
        values = keras.ops.convert_to_numpy(self.values)
        return {name: float(v) for name, v in zip(self.task_names, values)}

    def assign(self, weights):
        """Sets task weights from a dict `{task: weight}` (tasks left out keep theirs)
        or a list with one weight per task, in `task_names` order.

        Raises `InputError` naming the task for a weight that is not a finite
        number >= 0, and for an unknown task or a list of the wrong length.
        """
        values = np.array(keras.ops.convert_to_numpy(self.values), "float32")
        for name, weight in self._by_task(weights, "weights").items():
            values[self.task_names.index(name)] = weight
        self.values.assign(values)

    def _by_task(self, weights, what):
        """`{task: float}` from a dict or a sequence in task order, each checked."""
        if isinstance(weights, dict):
            check_known_tasks(weights, self.task_names, f"`{what}` names", error=InputError)
        elif isinstance(weights, (list, tuple, np.ndarray)) and np.ndim(weights) == 1:
            if len(weights) != len(self.task_names):
                raise InputError(
                    f"{len(weights)} {what} for {len(self.task_names)} tasks "
                    f"{self.task_names}; give one per task in this order, or a dict "
                    "{task: weight}."
                )
            weights = dict(zip(self.task_names, weights))
        else:
            raise InputError(
                f"`{what}` must be a dict {{task: weight}} or a list with one weight per "
                f"task {self.task_names}, got {weights!r}."
            )
        return {
            name: check_number(weight, f"Task '{name}': weight", at_least=0, error=InputError)
            for name, weight in weights.items()
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "task_names": self.task_names,
                "initial_weights": self.initial_weights,
                "learn_log_variances": self.learn_log_variances,
            }
        )
        return config
