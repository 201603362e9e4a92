"""`WeightingStrategy`: the interface every task-weighting method implements.

A strategy is pure: it turns what it observes (epoch losses, validation metrics,
per-task gradient norms) into task weights, and knows nothing of Keras. The
`AdaptiveTaskWeighting` callback feeds it and writes its weights into the model.
"""

import math

from keras_mtl.checks import check_known_tasks  # noqa: F401  (strategies import it from here)
from keras_mtl.errors import ConfigError


class WeightingStrategy:
    """Base class. Subclasses override the hooks they need.

    Attributes:
        name: registry name (`"dwa"`, ...).
        needs_validation: the strategy reads `val_*` metrics at epoch end.
        needs_gradients: the strategy reads per-task gradient norms every
            `update_every` steps (see `update_from_gradients`).
    """

    name = None
    needs_validation = False
    needs_gradients = False

    def __init__(self):
        self.task_names = None

    def reset(self, task_names, initial_weights):
        """Called once at the start of training; returns the weights to start with."""
        self.task_names = list(task_names)
        return dict(initial_weights)

    def on_epoch_end(self, epoch, logs, weights):
        """Weights for the next epoch from this epoch's `logs`, or None to keep them."""
        return None

    def update_from_gradients(self, task_losses, gradient_norms, weights):
        """Weights from per-task losses and unweighted gradient norms, or None."""
        return None

    def get_state(self):
        """JSON-ready state, so a resumed run continues where it stopped."""
        return {}

    def set_state(self, state):
        pass

    def get_config(self):
        return {}

    def check_tasks(self, task_names):
        """Raises if the strategy was configured for tasks the model lacks."""


def task_losses_from_logs(logs, task_names, prefix=""):
    """`{task: logs['<prefix><task>_loss']}`; a clear error when one is missing."""
    losses = {}
    for name in task_names:
        key = f"{prefix}{name}_loss"
        if key not in logs:
            raise ValueError(
                f"The logs have no '{key}' (keys: {sorted(logs)}); the model must be a "
                "compiled MultiTaskModel."
            )
        losses[name] = float(logs[key])
    return losses


def task_mapping(value, what, check_value):
    """`None`, or a dict task → `check_value(v, "<what>['task']")`; a `ConfigError`
    for anything but a mapping."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping task → value, got {value!r}.")
    return {task: check_value(v, f"{what}[{task!r}]") for task, v in value.items()}


def all_finite(values):
    return all(math.isfinite(v) for v in values)


def softmax_weights(scores, temperature, total):
    """`total · softmax(scores / temperature)` as a list (numerically stable)."""
    scaled = [s / temperature for s in scores]
    top = max(scaled)
    exps = [math.exp(s - top) for s in scaled]
    norm = sum(exps)
    return [total * e / norm for e in exps]
