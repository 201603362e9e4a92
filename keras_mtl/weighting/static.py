"""Static weighting: fixed task weights (equal weighting is the usual baseline)."""

from keras_mtl.checks import check_number
from keras_mtl.weighting.base import WeightingStrategy, check_known_tasks, task_mapping


class StaticWeighting(WeightingStrategy):
    """Keeps fixed weights for the whole run.

    Update rule: λₖ(t) = λₖ for every step (the weights given, else each task's
    `TaskSpec.weight`). `StaticWeighting()` with all specs at 1.0 is equal weighting
    (EW), the baseline every adaptive method should be compared against.

    Args:
        weights: optional dict task → weight.

    Example:

    >>> s = StaticWeighting({"intent": 1.0, "slots": 2.0})
    >>> s.reset(["intent", "slots"], {"intent": 1.0, "slots": 1.0})
    {'intent': 1.0, 'slots': 2.0}
    """

    name = "static"

    def __init__(self, weights=None):
        super().__init__()
        self.weights = task_mapping(
            weights, "weighting 'static': weights",
            lambda value, what: check_number(value, what, at_least=0),
        )

    def check_tasks(self, task_names):
        check_known_tasks(self.weights, task_names, "Static weights name")

    def reset(self, task_names, initial_weights):
        super().reset(task_names, initial_weights)
        weights = dict(initial_weights)
        weights.update(self.weights or {})
        return weights

    def get_config(self):
        return {"weights": self.weights}
