"""First-epoch loss of the real 2-layer MiniLM, one device vs two replicas.

Usage: python data_parallel_script.py mirrored|data_parallel
Prints one JSON line: `{"replicas", "single": logs, "distributed": logs}` where logs
are the first epoch's `loss` and `<task>_loss`. Devices must be configured before
TF / JAX start, hence a separate process per strategy.
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

from keras_mtl import MultiTaskModel, TaskSpec, make_dataset  # noqa: E402
from keras_mtl.datasets import load_atis  # noqa: E402

train = load_atis()["train"].subset(range(256))
tasks = [
    TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
    TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
]


def first_epoch(name):
    keras.utils.set_random_seed(0)
    with distribution.distribution_scope(name) as dist:
        model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2, sequence_length=48)
        model.compile(keras.optimizers.Adam(1e-4))
        # Global batch 16 (8 per replica); shuffled pipelines drop partial batches.
        ds = make_dataset(model.preprocessor, train, batch_size=16, shuffle=True, seed=0)
        history = model.fit(ds, epochs=1, verbose=0)
    logs = {k: float(v[0]) for k, v in history.history.items() if k.endswith("loss")}
    return dist.num_replicas, logs


_, single = first_epoch(None)
replicas, distributed = first_epoch(strategy)
print(json.dumps({"replicas": replicas, "single": single, "distributed": distributed}))
