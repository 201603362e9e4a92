"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient
Normalization for Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018)."""

import numpy as np

from keras_mtl.checks import check_number
from keras_mtl.weighting.base import WeightingStrategy


class GradNorm(WeightingStrategy):
    """Balances the tasks' gradient norms at the last shared layer.

    Every `update_every` steps, on a held batch, with W the last shared layer's
    weights, gₖ = ‖∇_W Lₖ‖ (unweighted), Gₖ = wₖ gₖ, Ḡ = meanₖ Gₖ,
    L̃ₖ = Lₖ(t) / Lₖ(0) and rₖ = L̃ₖ / meanᵢ L̃ᵢ:

        L_grad = Σₖ | Gₖ − Ḡ · rₖ^α |          (target Ḡ rₖ^α held constant)
        ∂L_grad/∂wₖ = sign(Gₖ − Ḡ rₖ^α) · gₖ
        θ = log w;  θ ← Adam step with ∂L_grad/∂θₖ = wₖ ∂L_grad/∂wₖ
        w ← K · e^θ / Σ e^θ,  w ≥ `min_weight`  (renormalise: Σw = K)

    The paper takes Adam steps on w itself; we take them on log w, so each update
    scales a weight by about e^(±learning_rate). Weights then stay positive and
    can close gaps of several orders of magnitude (a task whose loss is 100×
    larger) in a bounded number of steps without overshooting.

    A task whose loss falls more slowly (larger rₖ) is pushed towards a larger
    gradient share; α sets how strongly (1.5 in the paper).

    Args:
        alpha: asymmetry α.
        learning_rate: Adam learning rate for the weights (0.025 in the paper).
        update_every: steps between updates (each costs one forward and K
            backward passes on the held batch).
        min_weight: floor applied before renormalising.

    Example:

    >>> gn = GradNorm(learning_rate=0.1)
    >>> w = gn.reset(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> w = gn.update_from_gradients({"a": 1.0, "b": 1.0}, {"a": 100.0, "b": 1.0}, w)
    >>> w["a"] < 1.0 < w["b"]
    True
    """

    name = "gradnorm"
    needs_gradients = True

    def __init__(self, alpha=1.5, learning_rate=0.025, update_every=10, min_weight=1e-3):
        super().__init__()
        what = "weighting 'gradnorm': "
        self.alpha = check_number(alpha, what + "alpha", at_least=0)
        self.learning_rate = check_number(learning_rate, what + "learning_rate", above=0)
        self.update_every = check_number(update_every, what + "update_every", at_least=1,
                                         integer=True)
        # Weights are renormalised to sum to K after the floor: a floor of 1 or
        # more would pin every weight at 1.
        self.min_weight = check_number(min_weight, what + "min_weight", at_least=0, below=1)
        self._reset_state()

    def _reset_state(self):
        self.initial_losses = None
        self.m = None
        self.v = None
        self.t = 0

    def reset(self, task_names, initial_weights):
        super().reset(task_names, initial_weights)
        self._reset_state()
        return {name: 1.0 for name in self.task_names}

    def update_from_gradients(self, task_losses, gradient_norms, weights):
        names = self.task_names
        losses = np.array([task_losses[n] for n in names], "float64")
        g = np.array([gradient_norms[n] for n in names], "float64")
        w = np.array([weights[n] for n in names], "float64")
        if not (np.all(np.isfinite(losses)) and np.all(np.isfinite(g))):
            raise FloatingPointError(
                f"Non-finite task loss or gradient norm: losses {task_losses}, "
                f"gradient norms {gradient_norms}."
            )
        if self.initial_losses is None:
            self.initial_losses = np.maximum(losses, 1e-12).tolist()
        inverse_rate = losses / np.array(self.initial_losses)
        r = inverse_rate / max(np.mean(inverse_rate), 1e-12)
        G = w * g
        target = np.mean(G) * r**self.alpha
        grad = np.sign(G - target) * g * w  # chain rule through w = e^θ
        # Adam: the step size does not depend on the gradients' scale, which
        # varies by orders of magnitude between tasks.
        if self.m is None:
            self.m, self.v = np.zeros_like(w).tolist(), np.zeros_like(w).tolist()
        m, v = np.array(self.m), np.array(self.v)
        self.t += 1
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        m_hat = m / (1 - 0.9**self.t)
        v_hat = v / (1 - 0.999**self.t)
        theta = np.log(w) - self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        w = np.exp(theta - np.max(theta))
        w = np.maximum(len(w) * w / np.sum(w), self.min_weight)
        w = len(w) * w / np.sum(w)
        self.m, self.v = m.tolist(), v.tolist()
        return dict(zip(names, w.tolist()))

    def get_state(self):
        return {"initial_losses": self.initial_losses, "m": self.m, "v": self.v, "t": self.t}

    def set_state(self, state):
        self.initial_losses = state.get("initial_losses")
        self.m, self.v = state.get("m"), state.get("v")
        self.t = int(state.get("t", 0))

    def get_config(self):
        return {
            "alpha": self.alpha,
            "learning_rate": self.learning_rate,
            "update_every": self.update_every,
            "min_weight": self.min_weight,
        }
