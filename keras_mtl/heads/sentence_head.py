"""`SentenceHead`: one vector per text (classification, multi-label, regression)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mtl")
class SentenceHead(keras.layers.Layer):
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
    >>> head(seq, pooled_output=seq[:, 0], padding_mask=mask).shape
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
        super().__init__(**kwargs)
        # === Layers ===
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.hidden_layer = (
            None
            if hidden_dim is None
            else keras.layers.Dense(
                hidden_dim, activation="tanh", dtype=self.dtype_policy, name="hidden"
            )
        )
        # The output layer runs in float32 so softmax scores stay exact under
        # mixed precision.
        self.output_layer = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype="float32",
            name="scores",
        )
        # === Config ===
        self.units = units
        self.pooling = pooling
        self.activation = activation
        self.dropout = dropout
        self.hidden_dim = hidden_dim

    def build(self, sequence_output_shape, pooled_output_shape=None, padding_mask_shape=None):
        width = sequence_output_shape[-1]
        if self.hidden_layer is not None:
            self.hidden_layer.build((None, width))
            width = self.hidden_dim
        self.output_layer.build((None, width))

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
        vector = self.dropout_layer(vector, training=training)
        if self.hidden_layer is not None:
            vector = self.hidden_layer(vector)
        return self.output_layer(vector)

    def compute_output_shape(self, sequence_shape, *args, **kwargs):
        return (sequence_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "pooling": self.pooling,
                "activation": self.activation,
                "dropout": self.dropout,
                "hidden_dim": self.hidden_dim,
            }
        )
        return config
