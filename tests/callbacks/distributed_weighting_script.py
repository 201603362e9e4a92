"""Runs the zero-weight / loss-identity check under a distribution strategy.

Usage: python distributed_weighting_script.py mirrored|data_parallel
Prints one JSON line. Devices must be configured before TF / JAX start, hence a
separate process per strategy.
"""

import contextlib
import json
import os
import sys

mode = sys.argv[1]
if mode == "data_parallel":
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
else:
    os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf  # noqa: E402

if mode == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from keras_mtl import AdaptiveTaskWeighting, make_dataset  # noqa: E402
from tests.callbacks.adaptive_task_weighting_test import (  # noqa: E402
    HeadSnapshot,
    ZeroAfterFirstEpoch,
)
from tests.conftest import tiny_data, tiny_model  # noqa: E402

if mode == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    scope, replicas = strategy.scope(), strategy.num_replicas_in_sync
else:
    import jax

    devices = jax.devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    scope, replicas = contextlib.nullcontext(), len(devices)

keras.utils.set_random_seed(0)
with scope:
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1), loss_weights={"slots": 0.7})
# Shuffled pipelines drop partial batches: every batch splits evenly over replicas.
ds = make_dataset(model.preprocessor, tiny_data(repeat=4), batch_size=4, shuffle=True)
snapshot = HeadSnapshot("intent")
history = model.fit(
    ds, epochs=4, verbose=0,
    callbacks=[AdaptiveTaskWeighting(ZeroAfterFirstEpoch("intent")), snapshot],
)
print(json.dumps({
    "replicas": replicas,
    "moved_then_frozen": snapshot.moved_then_frozen(),
    "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
}))
