"""`keras_mtl.optimizers.Adam`: Keras' Adam, fused on TensorFlow."""

import keras

from keras_mtl.optimizers.fused_adam_update import FusedAdamUpdate


@keras.saving.register_keras_serializable(package="keras_mtl")
class Adam(FusedAdamUpdate, keras.optimizers.Adam):
    """Keras' `Adam` (same arguments and results), whose update on TensorFlow runs
    as one XLA-compiled program per variable (see `keras_mtl.optimizers`).

    Example:

    >>> import keras_mtl
    >>> optimizer = keras_mtl.optimizers.Adam(learning_rate=5e-5)
    >>> round(optimizer.get_config()["learning_rate"], 10)
    5e-05
    """

    keras_class = keras.optimizers.Adam
