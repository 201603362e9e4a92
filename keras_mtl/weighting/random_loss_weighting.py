"""Random Loss Weighting (Lin et al., "Reasonable Effectiveness of Random Weighting:
A Litmus Test for Multi-Task Learning", TMLR 2022)."""

import numpy as np

from keras_mtl.checks import check_number
from keras_mtl.weighting.base import WeightingStrategy, softmax_weights


class RandomLossWeighting(WeightingStrategy):
    """Draws fresh random weights every epoch: the "is adaptivity worth it" baseline.

    Update rule, each epoch: zₖ ~ N(0, 1) independently, λ = K · softmax(z). The
    paper draws per step; per epoch keeps the training step free of host
    round-trips, and the weights applied are logged either way.

    Args:
        seed: seed of the weight draws (reproducible runs).

    Example:

    >>> rlw = RandomLossWeighting(seed=0)
    >>> w = rlw.reset(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> round(sum(w.values()), 6)
    2.0
    """

    name = "random"

    def __init__(self, seed=0):
        super().__init__()
        self.seed = check_number(seed, "weighting 'random': seed", at_least=0, integer=True)
        self.draws = 0

    def _draw(self):
        rng = np.random.default_rng([self.seed, self.draws])
        self.draws += 1
        z = rng.standard_normal(len(self.task_names))
        return dict(zip(self.task_names, softmax_weights(list(z), 1.0, len(z))))

    def reset(self, task_names, initial_weights):
        super().reset(task_names, initial_weights)
        return self._draw()

    def on_epoch_end(self, epoch, logs, weights):
        return self._draw()

    def get_state(self):
        return {"draws": self.draws}

    def set_state(self, state):
        self.draws = int(state.get("draws", 0))

    def get_config(self):
        return {"seed": self.seed}
