"""Task-weighting strategies, one per file, and their registry.

Each strategy is pure (no Keras): it maps what it observes to task weights.
`keras_mtl.callbacks.AdaptiveTaskWeighting` applies them to a model.
"""

from keras_mtl.errors import ConfigError
from keras_mtl.weighting.base import WeightingStrategy
from keras_mtl.weighting.dwa import DynamicWeightAverage
from keras_mtl.weighting.gradnorm import GradNorm
from keras_mtl.weighting.performance import PerformanceWeighting
from keras_mtl.weighting.random_loss_weighting import RandomLossWeighting
from keras_mtl.weighting.static import StaticWeighting
from keras_mtl.weighting.uncertainty import UncertaintyWeighting

STRATEGIES = {
    cls.name: cls
    for cls in (
        StaticWeighting,
        DynamicWeightAverage,
        UncertaintyWeighting,
        GradNorm,
        PerformanceWeighting,
        RandomLossWeighting,
    )
}


def get_strategy(strategy, **options):
    """A strategy instance from a registered name (with options) or an instance."""
    if isinstance(strategy, WeightingStrategy):
        if options:
            raise ConfigError("Options are only accepted with a strategy name.")
        return strategy
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown weighting strategy {strategy!r}; known: {sorted(STRATEGIES)}."
        )
    try:
        return STRATEGIES[strategy](**options)
    except TypeError as error:  # an option the strategy does not take
        raise ConfigError(f"Bad options for weighting strategy {strategy!r}: {error}") from None


__all__ = [
    "STRATEGIES",
    "DynamicWeightAverage",
    "GradNorm",
    "PerformanceWeighting",
    "RandomLossWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
    "WeightingStrategy",
    "get_strategy",
]
