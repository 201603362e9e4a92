"""One of two processes training the real 2-layer MiniLM together on 127.0.0.1:
TF `multi_worker` (TF_CONFIG) or JAX multi-process `data_parallel`
(`KERAS_DISTRIBUTION_*`, which `jax.distributed.initialize` reads through Keras).

Usage: python multi_worker_script.py STRATEGY PORT0,PORT1 INDEX OUTPUT_DIR [--without-patch]
Writes OUTPUT_DIR/worker-INDEX.npz (initial and final weights) and prints one JSON
line with the first epoch's logs. `--without-patch` fits without keras_mtl's Keras
multi-worker workaround, to show it is still needed.
"""

import json
import os
import sys

strategy, ports, index, output = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
if strategy == "multi_worker":
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    })
else:
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["KERAS_DISTRIBUTION_JOB_ADDRESSES"] = f"127.0.0.1:{ports[0]}"
    os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"] = str(len(ports))
    os.environ["KERAS_DISTRIBUTION_PROCESS_ID"] = str(index)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_mtl import MultiTaskModel, TaskSpec, distribution, make_dataset  # noqa: E402
from keras_mtl.datasets import load_atis  # noqa: E402

if "--without-patch" in sys.argv:
    distribution.multi_worker_patch.MULTI_WORKER_PATCH_VERSIONS = ((0, 0, 0), (0, 0, 0))

train = load_atis()["train"].subset(range(128))
tasks = [
    TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
    TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
]
keras.utils.set_random_seed(0)
with distribution.distribution_scope(strategy) as dist:
    model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2, sequence_length=32)
    model.compile(keras.optimizers.Adam(1e-4))
    initial = [np.asarray(w) for w in model.get_weights()]
    # Global batch 16: each worker's replica gets 8 of every batch.
    ds = make_dataset(model.preprocessor, train, batch_size=16, shuffle=True, seed=0)
    ds = dist.even_batches(ds, 16)  # JAX shards across processes by static batch size
    history = model.fit(ds, epochs=1, verbose=0)
final = [np.asarray(w) for w in model.get_weights()]
np.savez(os.path.join(output, f"worker-{index}.npz"),
         **{f"initial_{i}": w for i, w in enumerate(initial)},
         **{f"final_{i}": w for i, w in enumerate(final)})
print(json.dumps({
    "worker_index": dist.worker_index, "num_workers": dist.num_workers,
    "replicas": dist.num_replicas, "is_chief": dist.is_chief,
    "logs": {k: float(v[0]) for k, v in history.history.items()},
}))
