import numpy as np

from keras_mtl.data.samplers.base import TaskSampler


class FixedSampler(TaskSampler):
    """User-given probabilities, one per dataset in mixture order; they must sum to 1.

    Args:
        weights: a list of probabilities, or a dict keyed by dataset name (then
            `TaskMixture` orders it).

    Example:

    >>> FixedSampler([0.5, 0.3, 0.2])([10, 10, 10])
    array([0.5, 0.3, 0.2])
    """

    name = "fixed"

    def __init__(self, weights):
        values = list(weights.values()) if isinstance(weights, dict) else list(weights)
        if not values or any(not isinstance(w, (int, float)) or w < 0 for w in values):
            raise ValueError(f"Sampler weights must be non-negative numbers, got {weights!r}.")
        if abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(
                f"Sampler weights must sum to 1, got {weights!r} (sum {sum(values):.6g})."
            )
        self.weights = dict(weights) if isinstance(weights, dict) else values

    def for_datasets(self, names):
        """A copy with the weights in `names` order (dict weights only)."""
        if not isinstance(self.weights, dict):
            if len(self.weights) != len(names):
                raise ValueError(
                    f"{len(self.weights)} sampler weights for {len(names)} datasets {names}."
                )
            return self
        if set(self.weights) != set(names):
            raise ValueError(
                f"Sampler weights name datasets {sorted(self.weights)}, the mixture has "
                f"{sorted(names)}."
            )
        return FixedSampler([self.weights[name] for name in names])

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        if len(self.weights) != len(sizes):
            raise ValueError(f"{len(self.weights)} sampler weights for {len(sizes)} datasets.")
        return np.asarray(list(self.weights.values()) if isinstance(self.weights, dict)
                          else self.weights, "float64")

    def get_config(self):
        return {"weights": self.weights}
