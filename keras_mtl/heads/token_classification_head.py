"""`TokenClassificationHead`: one score vector per sub-word position."""

import keras

from keras_mtl.heads.scoring_head import ScoringHead


@keras.saving.register_keras_serializable(package="keras_mtl")
class TokenClassificationHead(ScoringHead):
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
    >>> tuple(head(np.ones((2, 5, 8), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(self, units, dropout=0.1, hidden_dim=None, **kwargs):
        kwargs.pop("activation", None)
        super().__init__(
            units, activation="softmax", dropout=dropout, hidden_dim=hidden_dim, **kwargs
        )

    def build(self, sequence_output_shape, *args, **kwargs):
        self.build_scoring((None, None, sequence_output_shape[-1]))

    def call(self, sequence_output, pooled_output=None, padding_mask=None, training=None):
        return self.score(sequence_output, training=training)

    def compute_output_shape(self, sequence_output_shape, *args, **kwargs):
        return tuple(sequence_output_shape[:-1]) + (self.units,)
