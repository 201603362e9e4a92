"""Runs the zero-weight / loss-identity check under a distribution strategy.

Usage: python weighting_script.py mirrored|data_parallel
Prints one JSON line. Devices must be configured before TF / JAX start, hence a
separate process per strategy.
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

from keras_mtl import AdaptiveTaskWeighting, make_dataset  # noqa: E402
from tests.callbacks.adaptive_task_weighting_test import (  # noqa: E402
    HeadSnapshot,
    ZeroAfterFirstEpoch,
)
from tests.conftest import tiny_data, tiny_model  # noqa: E402

keras.utils.set_random_seed(0)
with distribution.distribution_scope(strategy) as dist:
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
    "replicas": dist.num_replicas,
    "moved_then_frozen": snapshot.moved_then_frozen(),
    "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
}))
