"""Trains the same small model with keras_mtl's fused AdamW under `MirroredStrategy`
on 2 logical CPU devices, and with Keras' AdamW on one device; prints the largest
weight difference as one JSON line. Devices must be configured before TF starts,
hence a separate process.

Epsilon is large so that the comparison is well conditioned: Adam's first steps
divide by the gradients' own size, and the replicas' reduction sums in another
order."""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from keras_mtl import distribution  # noqa: E402

distribution.configure_devices(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_mtl.optimizers  # noqa: E402
from tests.optimizers.fused_adam_test import train_weights  # noqa: E402


def optimizer(cls):
    optimizer = cls(learning_rate=0.05, weight_decay=0.1, epsilon=0.1)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


weights = {}
with distribution.distribution_scope("mirrored") as dist:
    weights["fused"] = train_weights(optimizer(keras_mtl.optimizers.AdamW))
    replicas = dist.num_replicas
weights["keras"] = train_weights(optimizer(keras.optimizers.AdamW))
untrained = train_weights(optimizer(keras.optimizers.AdamW), steps=0)
print(json.dumps({
    "replicas": replicas,
    "max_difference": max(float(np.abs(a - b).max())
                          for a, b in zip(weights["fused"], weights["keras"])),
    "max_step": max(float(np.abs(a - b).max()) for a, b in zip(weights["fused"], untrained)),
}))
