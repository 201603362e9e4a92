"""`keras_mtl.optimizers.AdamW`: Keras' AdamW, fused on TensorFlow."""

import keras

from keras_mtl.optimizers.fused_adam_update import FusedAdamUpdate


@keras.saving.register_keras_serializable(package="keras_mtl")
class AdamW(FusedAdamUpdate, keras.optimizers.AdamW):
    """Keras' `AdamW` (same arguments, exclusions and results), whose weight decay
    and update on TensorFlow run as one XLA-compiled program per variable (see
    `keras_mtl.optimizers`). `keras-mtl train` uses it.

    Example:

    >>> import keras_mtl
    >>> optimizer = keras_mtl.optimizers.AdamW(learning_rate=5e-5, weight_decay=0.01)
    >>> optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    >>> optimizer.get_config()["weight_decay"]
    0.01
    """

    keras_class = keras.optimizers.AdamW
