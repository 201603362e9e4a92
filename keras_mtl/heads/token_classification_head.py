"""`TokenClassificationHead`: one score vector per sub-word position."""

import keras


@keras.saving.register_keras_serializable(package="keras_mtl")
class TokenClassificationHead(keras.layers.Layer):
    """Scores every position of the encoder's `sequence_output`.

    Word labels live on each word's first sub-word; the preprocessor masks the
    other positions, so the head itself is a plain per-position classifier.

    Args:
        units: number of labels.
        dropout: dropout rate before the output layer.
        hidden_dim: optional width of a hidden tanh layer.

    Example:

    >>> import numpy as np
    >>> head = TokenClassificationHead(units=4)
    >>> head(np.ones((2, 5, 8), "float32")).shape
    (2, 5, 4)
    """

    def __init__(self, units, dropout=0.1, hidden_dim=None, **kwargs):
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
        self.output_layer = keras.layers.Dense(
            units,
            activation="softmax",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype="float32",
            name="scores",
        )
        # === Config ===
        self.units = units
        self.dropout = dropout
        self.hidden_dim = hidden_dim

    def build(self, sequence_output_shape, *args, **kwargs):
        width = sequence_output_shape[-1]
        if self.hidden_layer is not None:
            self.hidden_layer.build((None, None, width))
            width = self.hidden_dim
        self.output_layer.build((None, None, width))

    def call(self, sequence_output, pooled_output=None, padding_mask=None, training=None):
        x = self.dropout_layer(sequence_output, training=training)
        if self.hidden_layer is not None:
            x = self.hidden_layer(x)
        return self.output_layer(x)

    def compute_output_shape(self, sequence_shape, *args, **kwargs):
        return tuple(sequence_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "dropout": self.dropout, "hidden_dim": self.hidden_dim}
        )
        return config
