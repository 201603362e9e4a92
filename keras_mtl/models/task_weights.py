"""`TaskWeights`: the loss weights of a multi-task model, held in a model variable."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="keras_mtl")
class TaskWeights(keras.layers.Layer):
    """One non-trainable variable holding every task's loss weight.

    Keras 3 copies `compile(loss_weights=...)` floats into the traced train step,
    so changing them later has no effect. `MultiTaskModel.compute_loss` reads this
    variable instead, so a callback that assigns new weights changes the very next
    training step on every backend, and the weights are saved with the model.

    Args:
        task_names: task names, in variable order.
        initial_weights: starting weight per task (defaults to 1.0 each).

    Example:

    >>> weights = TaskWeights(["intent", "slots"], [1.0, 2.0])
    >>> weights.as_dict()
    {'intent': 1.0, 'slots': 2.0}
    """

    def __init__(self, task_names, initial_weights=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(trainable=False, **kwargs)
        self.task_names = list(task_names)
        if initial_weights is None:
            initial_weights = [1.0] * len(self.task_names)
        initial_weights = [float(w) for w in initial_weights]
        if len(initial_weights) != len(self.task_names):
            raise ValueError(
                f"{len(initial_weights)} initial weights for {len(self.task_names)} tasks."
            )
        self.initial_weights = initial_weights
        self.values = self.add_weight(
            shape=(len(self.task_names),),
            initializer=keras.initializers.Constant(initial_weights),
            trainable=False,
            dtype="float32",
            name="task_weights",
        )
        self.built = True

    def as_dict(self):
        values = keras.ops.convert_to_numpy(self.values)
        return {name: float(v) for name, v in zip(self.task_names, values)}

    def assign(self, weights):
        """Sets the weights of the tasks named in `weights` (a dict); others keep theirs."""
        unknown = sorted(set(weights) - set(self.task_names))
        if unknown:
            raise ValueError(
                f"Weights given for unknown task(s) {unknown}; the tasks are "
                f"{self.task_names}."
            )
        values = np.array(keras.ops.convert_to_numpy(self.values), "float32")
        for name, weight in weights.items():
            weight = float(weight)
            if not np.isfinite(weight) or weight < 0:
                raise ValueError(f"Task '{name}': weight must be >= 0, got {weight}.")
            values[self.task_names.index(name)] = weight
        self.values.assign(values)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"task_names": self.task_names, "initial_weights": self.initial_weights}
        )
        return config
