"""Data-parallel training on the engines Keras already has: the only place that
picks `tf.distribute` or `keras.distribution`.

| strategy        | backend    | engine                                              |
|-----------------|------------|-----------------------------------------------------|
| `mirrored`      | tensorflow | `tf.distribute.MirroredStrategy` (local devices)    |
| `multi_worker`  | tensorflow | `tf.distribute.MultiWorkerMirroredStrategy` (TF_CONFIG) |
| `data_parallel` | jax        | `keras.distribution.DataParallel` (local devices, or |
|                 |            | every process's devices after `keras.distribution.initialize`) |

Build, compile and fit the model inside `distribution_scope(...)`:

    with distribution_scope("mirrored") as dist:
        model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2)
        model.compile(keras.optimizers.Adam(1e-4))
        batch_size = dist.global_batch_size(32)  # 32 per replica
        model.fit(make_dataset(model.preprocessor, train, batch_size, shuffle=True))

Batch sizes are **global**, as in Keras: a batch of 64 on 2 replicas gives each 32.
Devices are fixed when TensorFlow or JAX start: `configure_devices` (called first)
splits the CPU into logical devices, which is how the tests run 2 replicas on CPU.

Keras 3.15 cannot `fit` under `MultiWorkerMirroredStrategy` (keras-team/keras
#20329, #20585). `multi_worker` contains the workaround (`multi_worker_patch`): it is
applied only inside the scope, only on the Keras versions it was checked on.

One concern per module: `devices` (logical CPU devices, what the backend runs
on), `strategies` (the engines and `distribution_scope`), `mixed_precision` (the
dtype policy) and `multi_worker_patch` (the version-pinned Keras workaround).
"""

from keras_mtl.distribution.devices import configure_devices, describe_devices
from keras_mtl.distribution.mixed_precision import (
    AUTO,
    MIXED_PRECISION_POLICIES,
    PRECISION_SETTINGS,
    cpu_has_bfloat16,
    resolve_mixed_precision,
    set_mixed_precision,
)
from keras_mtl.distribution.multi_worker_patch import (
    MULTI_WORKER_PATCH_VERSIONS,
    multi_worker_patch_applies,
)
from keras_mtl.distribution.strategies import (
    STRATEGIES,
    DataParallel,
    Distribution,
    MirroredStrategy,
    MultiWorkerMirroredStrategy,
    distribution_scope,
    get_strategy,
)

__all__ = [
    "AUTO",
    "MIXED_PRECISION_POLICIES",
    "MULTI_WORKER_PATCH_VERSIONS",
    "PRECISION_SETTINGS",
    "STRATEGIES",
    "DataParallel",
    "Distribution",
    "MirroredStrategy",
    "MultiWorkerMirroredStrategy",
    "configure_devices",
    "cpu_has_bfloat16",
    "describe_devices",
    "distribution_scope",
    "get_strategy",
    "multi_worker_patch_applies",
    "resolve_mixed_precision",
    "set_mixed_precision",
]
