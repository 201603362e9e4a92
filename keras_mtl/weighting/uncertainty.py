"""Uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using
Uncertainty to Weigh Losses for Scene Geometry and Semantics", CVPR 2018)."""

import math

from keras_mtl.weighting.base import WeightingStrategy


class UncertaintyWeighting(WeightingStrategy):
    """Learns one log-variance sₖ per task, jointly with the network.

    Loss, with Lₖ the task losses (and wₖ any static weights, 1 by default):

        L = Σₖ wₖ · ½ (e^(−sₖ) Lₖ + sₖ)

    The sₖ are trainable variables inside the model (created by
    `MultiTaskModel(..., uncertainty_weighting=True)`, or `weighting: uncertainty`
    in a config), so the optimizer updates them at every step and they are saved
    with the model. This strategy changes nothing itself; the callback logs the
    effective weights wₖ · ½ e^(−sₖ) every epoch.

    Example:

    >>> effective_weights({"a": 0.0, "b": math.log(4.0)})
    {'a': 0.5, 'b': 0.125}
    """

    name = "uncertainty"
    requires_model_variables = True


def effective_weights(log_variances, static_weights=None):
    """`{task: w · ½ e^(−s)}` from log-variances (and optional static weights)."""
    static_weights = static_weights or {}
    return {
        name: static_weights.get(name, 1.0) * 0.5 * math.exp(-s)
        for name, s in log_variances.items()
    }
