import numpy as np

from keras_mtl.data.samplers.base import TaskSampler


class UniformSampler(TaskSampler):
    """p_i = 1 / K for K datasets, whatever their sizes.

    With `TaskMixture`'s exact per-epoch counts this is round-robin in
    expectation: each dataset supplies the same number of examples per epoch
    (small datasets repeat, large ones are subsampled). Equivalent to α = 0 in
    `TemperatureSampler`.

    Example:

    >>> UniformSampler()([100, 300])
    array([0.5, 0.5])
    """

    name = "uniform"

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        return np.full(len(sizes), 1.0 / len(sizes))
