"""Trains a TaskMixture (partial labels) under a strategy; prints one JSON line.

Usage: python mixture_script.py mirrored|data_parallel
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

from keras_mtl.data import TaskMixture  # noqa: E402
from tests.conftest import tiny_data, tiny_model  # noqa: E402
from tests.data.task_mixture_test import sentiment_data, three_tasks  # noqa: E402

keras.utils.set_random_seed(0)
with distribution.distribution_scope(strategy) as dist:
    model = tiny_model(three_tasks())
    model.compile(keras.optimizers.Adam(1e-3))
    mixture = TaskMixture(
        model.preprocessor, {"atis": tiny_data(repeat=5), "senti": sentiment_data()},
        sampler="annealed", batch_size=4, epochs=3,
    )
    history = model.fit(
        dist.even_batches(mixture.dataset, 4), epochs=3, verbose=0,
        callbacks=[mixture.callback],
    )
print(json.dumps({
    "replicas": dist.num_replicas,
    "epoch": int(mixture._epoch.numpy()),
    "expected_mix_atis": [float(mixture.probabilities(e)[0]) for e in range(3)],
    "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
    "finite": bool(all(np.isfinite(v).all() for v in history.history.values())),
}))
