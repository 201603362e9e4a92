from keras_mtl.checks import check_number
from keras_mtl.data.samplers.base import TaskSampler, power_probabilities


class TemperatureSampler(TaskSampler):
    """p_i ∝ n_i^α (α = 1/T): α = 1 is proportional, α = 0 uniform.

    Temperature-scaled sampling as used for multilingual and multi-task models
    (Arivazhagan et al. 2019, "Massively Multilingual NMT in the Wild"; the
    "square root" sampling of Stickland & Murray 2019 is α = 0.5). It lifts small
    datasets without repeating them as often as uniform sampling does.

    Args:
        alpha: the exponent, in [0, 1].

    Example:

    >>> TemperatureSampler(alpha=0.5)([100, 400])  # √100 : √400 = 10 : 20
    array([0.33333333, 0.66666667])
    """

    name = "temperature"

    def __init__(self, alpha=0.5):
        self.alpha = check_number(alpha, "sampler 'temperature': alpha", at_least=0, at_most=1)

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        return power_probabilities(sizes, self.alpha)

    def get_config(self):
        return {"alpha": self.alpha}
