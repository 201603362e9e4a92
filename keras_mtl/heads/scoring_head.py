"""`ScoringHead`: the dropout → optional hidden tanh → output layers every head ends with."""

import keras


class ScoringHead(keras.layers.Layer):
    """Base of the task heads: scores a vector (or a sequence of vectors).

    Subclasses choose what to score in `call` and pass it to `score`. The output
    layer runs in float32 so that scores stay exact under mixed precision.
    """

    def __init__(self, units, activation="softmax", dropout=0.1, hidden_dim=None, **kwargs):
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
            activation=activation,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype="float32",
            name="scores",
        )
        # === Config ===
        self.units = units
        self.activation = activation
        self.dropout = dropout
        self.hidden_dim = hidden_dim

    def build_scoring(self, feature_shape):
        """Builds the scoring layers for inputs of `feature_shape` (last axis: width)."""
        width = feature_shape[-1]
        leading = tuple(feature_shape[:-1])
        if self.hidden_layer is not None:
            self.hidden_layer.build(leading + (width,))
            width = self.hidden_dim
        self.output_layer.build(leading + (width,))

    def score(self, features, training=None):
        features = self.dropout_layer(features, training=training)
        if self.hidden_layer is not None:
            features = self.hidden_layer(features)
        return self.output_layer(features)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": self.activation,
                "dropout": self.dropout,
                "hidden_dim": self.hidden_dim,
            }
        )
        return config
