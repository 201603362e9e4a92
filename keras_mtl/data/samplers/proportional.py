from keras_mtl.data.samplers.base import TaskSampler, power_probabilities


class ProportionalSampler(TaskSampler):
    """p_i = n_i / Σ_j n_j: every example equally likely (plain concatenation).

    Large datasets dominate; a small task may be undertrained. This is the
    "proportional" baseline of Stickland & Murray (2019), "BERT and PALs".

    Example:

    >>> ProportionalSampler()([100, 300])
    array([0.25, 0.75])
    """

    name = "proportional"

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        return power_probabilities(sizes, 1.0)
