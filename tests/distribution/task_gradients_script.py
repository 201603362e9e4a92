"""Task gradients (GradNorm, diagnostics, affinity) under a distribution strategy.

Usage: python task_gradients_script.py mirrored|data_parallel
Prints one JSON line: the largest difference between the losses and gradients on two
replicas and on one device, the affinity measured while fitting on two replicas, and
the error a gradient method (PCGrad, FAMO) raises there.
"""

import json
import os
import sys

strategy = sys.argv[1]
os.environ["KERAS_BACKEND"] = {"mirrored": "tensorflow", "data_parallel": "jax"}[strategy]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from keras_mtl import distribution  # noqa: E402

distribution.configure_devices(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_mtl import make_dataset  # noqa: E402
from keras_mtl.callbacks import TaskAffinity  # noqa: E402
from keras_mtl.callbacks.task_gradients import task_losses_and_gradients  # noqa: E402
from keras_mtl.errors import ConfigError  # noqa: E402
from tests.conftest import tiny_data, tiny_model  # noqa: E402

keras.utils.set_random_seed(0)
alone = tiny_model()
alone.compile(keras.optimizers.SGD(0.1))
data = make_dataset(alone.preprocessor, tiny_data(repeat=4), batch_size=4, shuffle=True)
batch = next(iter(data.as_numpy_iterator()))
want_losses, want_grads = task_losses_and_gradients(alone, *batch, alone.trainable_variables)
with distribution.distribution_scope(strategy) as dist:
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1))
    model(batch[0])
    model.set_weights(alone.get_weights())
    losses, grads = task_losses_and_gradients(model, *batch, model.trainable_variables)
    affinity = TaskAffinity(data, every=2)
    model.fit(data, epochs=1, verbose=0, callbacks=[affinity])
    refused = {}
    for method in ("pcgrad", "famo"):
        conflicted = tiny_model(gradient_method=method)
        conflicted.compile(keras.optimizers.SGD(0.1))
        try:
            conflicted.fit(data, epochs=1, verbose=0)
            refused[method] = None
        except ConfigError as error:
            refused[method] = str(error)
print(json.dumps({
    "replicas": dist.num_replicas,
    "loss_difference": max(abs(losses[t] - want_losses[t]) for t in want_losses),
    "gradient_difference": max(float(np.abs(grads[t] - want_grads[t]).max()) for t in want_grads),
    "gradient_size": max(float(np.abs(g).max()) for g in want_grads.values()),
    "measurements": len(affinity.measurements),
    "finite": bool(np.isfinite(affinity.mean("tag")).all()),
    "refused": refused,
}))
