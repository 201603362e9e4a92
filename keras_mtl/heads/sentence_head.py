"""`SentenceHead`: one vector per text (classification, multi-label, regression)."""

import keras
from keras import ops

from keras_mtl.heads.scoring_head import ScoringHead


@keras.saving.register_keras_serializable(package="keras_mtl")
class SentenceHead(ScoringHead):
    """Pools the encoder's token vectors into one vector and scores it.

    Args:
        units: output width (number of labels, or 1 for regression).
        pooling: `"cls"`, `"mean"` (masked mean over non-padding tokens) or
            `"pooled"` (the backbone's pooler output).
        activation: output activation (`"softmax"`, `"sigmoid"` or None).
        dropout: dropout rate before the output layer.
        hidden_dim: optional width of a hidden tanh layer.

    Example:

    >>> import numpy as np
    >>> head = SentenceHead(units=3, pooling="mean", activation="softmax")
    >>> seq = np.ones((2, 5, 8), "float32"); mask = np.ones((2, 5), "int32")
    >>> tuple(head(seq, pooled_output=seq[:, 0], padding_mask=mask).shape)
    (2, 3)
    """

    def __init__(
        self,
        units,
        pooling="mean",
        activation="softmax",
        dropout=0.1,
        hidden_dim=None,
        **kwargs,
    ):
        super().__init__(
            units, activation=activation, dropout=dropout, hidden_dim=hidden_dim, **kwargs
        )
        # === Config ===
        self.pooling = pooling

    def build(self, sequence_output_shape, pooled_output_shape=None, padding_mask_shape=None):
        self.build_scoring((None, sequence_output_shape[-1]))

    def call(self, sequence_output, pooled_output=None, padding_mask=None, training=None):
        if self.pooling == "cls":
            vector = sequence_output[:, 0, :]
        elif self.pooling == "pooled":
            vector = pooled_output
        else:
            mask = ops.cast(ops.expand_dims(padding_mask, -1), sequence_output.dtype)
            total = ops.sum(sequence_output * mask, axis=1)
            count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1, mask.dtype))
            vector = total / count
        return self.score(vector, training=training)

    def compute_output_shape(self, sequence_output_shape, *args, **kwargs):
        return (sequence_output_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config["pooling"] = self.pooling
        return config
