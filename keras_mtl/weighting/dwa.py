"""Dynamic Weight Average (Liu, Johns & Davison, "End-to-End Multi-Task Learning
with Attention", CVPR 2019)."""

from keras_mtl.checks import check_number
from keras_mtl.weighting.base import (
    WeightingStrategy,
    all_finite,
    softmax_weights,
    task_losses_from_logs,
)


class DynamicWeightAverage(WeightingStrategy):
    """Weights tasks by how slowly their training loss is falling.

    Update rule, at the start of epoch t (0-based), with Lₖ(t) the epoch-average
    training loss of task k and K tasks:

        rₖ(t−1) = Lₖ(t−1) / Lₖ(t−2)
        λₖ(t)   = K · exp(rₖ(t−1) / T) / Σᵢ exp(rᵢ(t−1) / T)

    and λₖ = 1 for the first two epochs (t = 0, 1), when no ratio exists yet.
    A task whose loss stalls (r near 1) gets more weight than one still falling.

    Args:
        temperature: T (2.0 in the paper); larger T flattens the weights.

    Example:

    >>> dwa = DynamicWeightAverage()
    >>> dwa.reset(["a", "b"], {"a": 1.0, "b": 1.0})
    {'a': 1.0, 'b': 1.0}
    >>> dwa.on_epoch_end(0, {"a_loss": 2.0, "b_loss": 2.0}, None)   # epoch 1: still 1
    {'a': 1.0, 'b': 1.0}
    >>> w = dwa.on_epoch_end(1, {"a_loss": 1.0, "b_loss": 2.0}, None)
    >>> round(w["a"], 4), round(w["b"], 4)    # 2·e^0.25/(e^0.25+e^0.5), 2·e^0.5/(...)
    (0.8756, 1.1244)
    """

    name = "dwa"

    def __init__(self, temperature=2.0):
        super().__init__()
        self.temperature = check_number(temperature, "weighting 'dwa': temperature", above=0)
        self.history = []

    def reset(self, task_names, initial_weights):
        super().reset(task_names, initial_weights)
        return {name: 1.0 for name in self.task_names}

    def on_epoch_end(self, epoch, logs, weights):
        losses = task_losses_from_logs(logs, self.task_names)
        if not all_finite(losses.values()):
            raise FloatingPointError(f"Non-finite task loss in epoch {epoch}: {losses}.")
        self.history.append([losses[n] for n in self.task_names])
        self.history = self.history[-2:]
        if len(self.history) < 2:
            return {name: 1.0 for name in self.task_names}
        previous, last = self.history
        ratios = [l / p if p > 0 else 1.0 for l, p in zip(last, previous)]
        values = softmax_weights(ratios, self.temperature, len(self.task_names))
        return dict(zip(self.task_names, values))

    def get_state(self):
        return {"history": self.history}

    def set_state(self, state):
        self.history = [list(map(float, row)) for row in state.get("history", [])]

    def get_config(self):
        return {"temperature": self.temperature}
