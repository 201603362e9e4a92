"""`TaskSampler`: how often each dataset of a task mixture is drawn."""

import abc

import numpy as np


class TaskSampler(abc.ABC):
    """Maps dataset sizes (and the epoch) to sampling probabilities.

    One method to implement: `probabilities(sizes, epoch, num_epochs)` returns one
    probability per dataset, summing to 1. `epoch` counts from 0, as Keras does;
    samplers that follow a paper's 1-based epoch `e` use `e = epoch + 1`.
    `TaskMixture` turns the probabilities of an epoch into exact example counts.
    """

    name = None

    @abc.abstractmethod
    def probabilities(self, sizes, epoch=0, num_epochs=1):
        """Probabilities (a float64 array summing to 1), one per dataset."""

    def get_config(self):
        return {}

    def for_datasets(self, names):
        """The sampler for a mixture of the datasets `names`, in that order: itself,
        unless its options are keyed by dataset (then checked and ordered), and a
        `ConfigError` when they do not fit the datasets."""
        return self

    def __call__(self, sizes, epoch=0, num_epochs=1):
        sizes = np.asarray(sizes, "float64")
        if sizes.ndim != 1 or not len(sizes) or (sizes < 1).any():
            raise ValueError(f"Dataset sizes must be >= 1, got {sizes.tolist()}.")
        if not 0 <= epoch < num_epochs:
            raise ValueError(f"epoch must be in [0, {num_epochs}), got {epoch}.")
        p = np.asarray(self.probabilities(sizes, epoch, num_epochs), "float64")
        return p / p.sum()


def power_probabilities(sizes, alpha):
    """p_i = n_i^α / Σ_j n_j^α."""
    weights = np.asarray(sizes, "float64") ** alpha
    return weights / weights.sum()
