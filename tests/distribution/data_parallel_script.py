"""Two training steps of the real 2-layer MiniLM, one device vs two replicas.

Usage: python data_parallel_script.py mirrored|data_parallel
Prints one JSON line: `{"replicas", "single": logs, "distributed": logs, "update_ratio",
"update_cosine"}` where logs are the epoch's `loss` and `<task>_loss`, and the update
figures compare the change of all trainable weights. Devices must be configured before
TF / JAX start, hence a separate process per strategy.

Plain SGD and no dropout: Adam's update hardly depends on the gradient's scale (a
gradient scaled wrongly for the replica count would go unseen), and each replica draws
its own dropout masks.
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

from keras_mtl import MultiTaskModel, TaskSpec, make_dataset  # noqa: E402
from keras_mtl.datasets import load_atis  # noqa: E402

train = load_atis()["train"].subset(range(32))
tasks = [
    TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
    TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
]


def two_steps(name):
    keras.utils.set_random_seed(0)
    with distribution.distribution_scope(name) as dist:
        model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2, sequence_length=48)
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
        model.compile(keras.optimizers.SGD(0.01))
        # Global batch 16 (8 per replica), two steps.
        ds = make_dataset(model.preprocessor, train, batch_size=16, shuffle=True, seed=0)
        before = [np.array(v.numpy()) for v in model.trainable_variables]
        history = model.fit(ds, epochs=1, verbose=0)
        update = np.concatenate([
            (np.array(v.numpy()) - b).ravel() for v, b in zip(model.trainable_variables, before)
        ])
    logs = {k: float(v[0]) for k, v in history.history.items() if k.endswith("loss")}
    return dist.num_replicas, logs, update


_, single, single_update = two_steps(None)
replicas, distributed, update = two_steps(strategy)
norm = float(np.linalg.norm(single_update))
print(json.dumps({
    "replicas": replicas, "single": single, "distributed": distributed,
    "update_ratio": float(np.linalg.norm(update)) / norm,
    "update_cosine": float(update @ single_update) / (norm * float(np.linalg.norm(update))),
}))
