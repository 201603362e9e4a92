"""Replica loss scaling for the loss terms a model adds itself."""

import keras


def scale_loss(loss):
    """Divides a replica's loss by the replica count under `tf.distribute`.

    `tf.distribute` sums the replicas' gradients, so every loss term a model adds
    itself (as `MultiTaskModel.compute_loss` does) must be divided by
    `num_replicas_in_sync`, as Keras' own compiled losses are. JAX `DataParallel`
    computes one global loss: nothing to scale.
    """
    if keras.config.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss
    return loss * keras.ops.cast(1.0 / replicas, loss.dtype)
