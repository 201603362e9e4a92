from keras_mtl.checks import check_number
from keras_mtl.data.samplers.base import TaskSampler, power_probabilities


class AnnealedSampler(TaskSampler):
    """Annealed sampling (Stickland & Murray 2019, "BERT and PALs", §4):
    p_i ∝ n_i^α with α = 1 − 0.8 · (e − 1) / (E − 1), for epochs e = 1 … E.

    Training starts proportional (α = 1 at e = 1) and ends close to uniform
    (α = 0.2 at e = E), so large tasks lead early and small tasks are not
    forgotten late. Keras epochs count from 0: `epoch` k is the paper's
    e = k + 1 (TF Model Garden's annealing sampler is off by one here). With a
    single epoch, α = 1.

    Args:
        final_alpha: α at the last epoch (the paper's 0.2, i.e. 1 − 0.8).

    Example (sizes 100 and 400, 5 epochs; epoch 2 is e = 3, α = 0.6):

    >>> AnnealedSampler()([100, 400], epoch=2, num_epochs=5)
    array([0.30326..., 0.69673...])
    """

    name = "annealed"

    def __init__(self, final_alpha=0.2):
        self.final_alpha = check_number(
            final_alpha, "sampler 'annealed': final_alpha", at_least=0, at_most=1
        )

    def alpha(self, epoch, num_epochs):
        if num_epochs == 1:
            return 1.0
        e = epoch + 1
        return 1.0 - (1.0 - self.final_alpha) * (e - 1) / (num_epochs - 1)

    def probabilities(self, sizes, epoch=0, num_epochs=1):
        return power_probabilities(sizes, self.alpha(epoch, num_epochs))

    def get_config(self):
        return {"final_alpha": self.final_alpha}
