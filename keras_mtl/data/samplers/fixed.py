import numpy as np

from keras_mtl.checks import check_number
from keras_mtl.data.samplers.base import TaskSampler
from keras_mtl.errors import ConfigError


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
        if isinstance(weights, dict):
            keys = [f"weights[{name!r}]" for name in weights]
            values = list(weights.values())
        elif isinstance(weights, (list, tuple, np.ndarray)):
            values = list(weights)
            keys = [f"weights[{i}]" for i in range(len(values))]
        else:
            raise ConfigError(
                "sampler 'fixed': weights must be a list of probabilities (one per dataset, "
                f"in mixture order) or a dict dataset → probability, got {weights!r}."
            )
        if not values:
            raise ConfigError(
                "sampler 'fixed': weights is empty; give one probability per dataset."
            )
        values = [check_number(w, f"sampler 'fixed': {key}", at_least=0)
                  for key, w in zip(keys, values)]
        if abs(sum(values) - 1.0) > 1e-6:
            raise ConfigError(
                f"Sampler weights must sum to 1, got {weights!r} (sum {sum(values):.6g})."
            )
        self.weights = dict(zip(weights, values)) if isinstance(weights, dict) else values

    def for_datasets(self, names):
        """A copy with the weights in `names` order (dict weights only)."""
        if not isinstance(self.weights, dict):
            if len(self.weights) != len(names):
                raise ConfigError(
                    f"{len(self.weights)} sampler weights for {len(names)} datasets {names}; "
                    "give one per dataset, in this order (or a dict dataset → weight)."
                )
            return self
        if set(self.weights) != set(names):
            raise ConfigError(
                f"Sampler weights name datasets {sorted(self.weights, key=str)}, the mixture "
                f"has {sorted(names)}."
            )
        return FixedSampler([self.weights[name] for name in names])

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        if len(self.weights) != len(sizes):
            raise ConfigError(f"{len(self.weights)} sampler weights for {len(sizes)} datasets.")
        return np.asarray(list(self.weights.values()) if isinstance(self.weights, dict)
                          else self.weights, "float64")

    def get_config(self):
        return {"weights": self.weights}
