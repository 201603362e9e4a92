"""`LayerAttention`: one task's learned attention over the encoder's layers."""

import keras
import numpy as np
from keras import ops

from keras_mtl.checks import check_number


@keras.saving.register_keras_serializable(package="keras_mtl")
class LayerAttention(keras.layers.Layer):
    """A task's softmax-weighted mix of every encoder layer's output.

    Soft parameter sharing by attention over the shared layers: given the
    outputs h₀ (embeddings), h₁ … h_L (transformer layers), the layer returns

        γ · Σₖ aₖ hₖ,    a = softmax(c · s / τ)

    with trainable logits `s` and scale γ (one at the start), as ELMo's scalar mix
    (Peters et al. 2018) and sluice networks' β (Ruder et al. 2019), one per task.
    `a` is where the task reads the encoder; `mixing_weights()` returns it.

    `top_weight` sets where the mix starts: the last input (the top layer) gets that
    weight and the others share the rest equally, so that the task starts where hard
    sharing reads and moves away only as far as its loss asks. `None` starts uniform
    (1/(L+1) each): on UD EWT + VADER tweets (2-layer MiniLM) a uniform start left the
    sentiment head at the majority class for four epochs, its mix drifting towards the
    embeddings, whose [CLS] vector is the same for every text.

    `c` (`logit_speed`) multiplies the raw logits: Adam moves a raw parameter by
    about the learning rate per step whatever its gradient's size, so at a
    fine-tuning rate of 1e-4 a thousand steps shift a logit by 0.1 at most and
    the mix would hardly leave uniform; with c = 10 it moves ten times faster
    than the encoder's weights.

    τ (`temperature`, a non-trainable variable, 1 by default) sharpens (< 1) or
    flattens (> 1) the mix; set it with `mix.temperature.assign(τ)`.

    Example:

    >>> mix = LayerAttention(top_weight=None)
    >>> h = [np.ones((1, 2, 4)), 3 * np.ones((1, 2, 4))]
    >>> float(mix(h)[0, 0, 0])             # uniform start: (1 + 3) / 2
    2.0
    >>> mix.mixing_weights().tolist()
    [0.5, 0.5]
    >>> top = LayerAttention()             # starts at the top layer
    >>> _ = top(h)
    >>> [round(float(a), 6) for a in top.mixing_weights()]
    [0.1, 0.9]
    """

    def __init__(self, logit_speed=10.0, top_weight=0.9, **kwargs):
        super().__init__(**kwargs)
        self.logit_speed = check_number(logit_speed, "logit_speed", above=0)
        self.top_weight = None if top_weight is None else check_number(
            top_weight, "top_weight", above=0, below=1)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2:
            raise ValueError(
                "LayerAttention mixes a list of at least two layer outputs, got "
                f"{input_shape!r}."
            )
        count = len(input_shape)
        logits = np.zeros(count)
        if self.top_weight is not None:  # softmax(c·s) puts top_weight on the last input
            logits[-1] = np.log(self.top_weight * (count - 1) / (1 - self.top_weight))
            logits[-1] /= self.logit_speed
        self.layer_logits = self.add_weight(
            shape=(count,), initializer=keras.initializers.Constant(logits),
            name="layer_logits"
        )
        self.layer_scale = self.add_weight(shape=(), initializer="ones", name="layer_scale")
        self.temperature = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="temperature"
        )

    def _weights(self):
        logits = ops.cast(self.layer_logits, "float32") * self.logit_speed
        return ops.softmax(logits / ops.cast(self.temperature, "float32"))

    def call(self, inputs):
        weights = ops.cast(self._weights() * ops.cast(self.layer_scale, "float32"),
                           self.compute_dtype)
        mixed = weights[0] * inputs[0]
        for k in range(1, len(inputs)):
            mixed = mixed + weights[k] * inputs[k]
        return mixed

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def mixing_weights(self):
        """`a` as a numpy array: the weight of h₀ (embeddings), h₁, … h_L."""
        return np.asarray(ops.convert_to_numpy(self._weights()), dtype=np.float64)

    def get_config(self):
        return {**super().get_config(), "logit_speed": self.logit_speed,
                "top_weight": self.top_weight}
