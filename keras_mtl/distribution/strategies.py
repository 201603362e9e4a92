"""The strategies (`tf.distribute`, `keras.distribution`) and `distribution_scope`."""

import contextlib
import json
import os

import keras

from keras_mtl.distribution.devices import _local_tf_devices
from keras_mtl.distribution.mixed_precision import set_mixed_precision
from keras_mtl.distribution.multi_worker_patch import _MultiWorkerPatch


class Distribution:
    """What `distribution_scope` yields: the engine and the replica layout.

    Attributes:
        name: the strategy name (`None` for a single device).
        engine: the `tf.distribute.Strategy` or `keras.distribution.Distribution`
            (`None` for a single device).
        num_replicas: model replicas across all workers; gradients are averaged
            over them.
        num_workers: processes training together (1 unless multi-worker).
        worker_index: this process's index among them.

    Example:

    >>> with distribution_scope(None) as dist:
    ...     dist.num_replicas, dist.is_chief, dist.global_batch_size(32)
    (1, True, 32)
    """

    def __init__(self, name=None, engine=None, num_replicas=1, num_workers=1, worker_index=0):
        self.name = name
        self.engine = engine
        self.num_replicas = num_replicas
        self.num_workers = num_workers
        self.worker_index = worker_index

    @property
    def is_chief(self):
        """Whether this process writes the run's artefacts (worker 0)."""
        return self.worker_index == 0

    def worker_directory(self, output):
        """Where this worker writes: `output` on the chief, else its own
        `output/workertemp_<index>` (backups, logs), which a finished run deletes."""
        if self.is_chief:
            return output
        return os.path.join(output, f"workertemp_{self.worker_index}")

    def even_batches(self, dataset, batch_size):
        """`dataset` with every batch padded to `batch_size` rows, a static size.

        Replicas need batches that split evenly (JAX `DataParallel` refuses the
        last, partial batch of an evaluation set), and `keras.distribution` needs
        the batch size in the dataset's static shape to shard it across processes.
        The added rows are zeros, sample weights included, so they add nothing to
        losses or metrics. Batches must be `(x, y, sample_weight)` with a weight for
        every target, as `make_dataset` gives. One replica: `dataset` unchanged.
        """
        if self.num_replicas == 1:
            return dataset
        if batch_size % self.num_replicas:
            raise ValueError(
                f"The global batch size {batch_size} does not split evenly over "
                f"{self.num_replicas} replicas."
            )
        import tensorflow as tf

        def pad(x, y, sample_weight):
            extra = batch_size - tf.shape(tf.nest.flatten(x)[0])[0]

            def pad_one(t):
                t = tf.pad(t, [[0, extra]] + [[0, 0]] * (t.shape.rank - 1))
                return tf.ensure_shape(t, [batch_size] + t.shape[1:].as_list())

            return tf.nest.map_structure(pad_one, (x, y, sample_weight))

        return dataset.map(pad)

    def global_batch_size(self, per_replica_batch_size):
        """The batch size to give the dataset for `per_replica_batch_size` per replica."""
        return per_replica_batch_size * self.num_replicas

    def __repr__(self):
        return (f"Distribution({self.name!r}, num_replicas={self.num_replicas}, "
                f"num_workers={self.num_workers}, worker_index={self.worker_index})")


class MirroredStrategy:
    """`tf.distribute.MirroredStrategy` over local GPUs (else logical CPUs)."""

    backend = "tensorflow"

    @contextlib.contextmanager
    def scope(self, devices=None):
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(devices or _local_tf_devices())
        with strategy.scope():
            yield Distribution("mirrored", strategy, strategy.num_replicas_in_sync)


class MultiWorkerMirroredStrategy:
    """`tf.distribute.MultiWorkerMirroredStrategy`; the cluster comes from TF_CONFIG."""

    backend = "tensorflow"

    @contextlib.contextmanager
    def scope(self, devices=None):
        if devices is not None:
            raise ValueError(
                "'multi_worker' uses each worker's local devices; got devices="
                f"{devices!r}."
            )
        cluster = _tf_config_cluster()
        import tensorflow as tf

        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        # With a "chief" task, it is worker 0 and the "worker" tasks follow it.
        offset = 1 if resolver.task_type == "worker" and "chief" in cluster else 0
        dist = Distribution(
            "multi_worker", strategy, strategy.num_replicas_in_sync,
            num_workers=sum(len(v) for k, v in cluster.items() if k in ("chief", "worker")),
            worker_index=resolver.task_id + offset,
        )
        with _MultiWorkerPatch(), strategy.scope():
            yield dist


class DataParallel:
    """`keras.distribution.DataParallel` over every JAX device.

    Across processes when `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's
    `host:port` first), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID` are set: then `keras.distribution.initialize()`
    (`jax.distributed.initialize`) joins the processes first.
    """

    backend = "jax"

    @contextlib.contextmanager
    def scope(self, devices=None):
        import jax

        if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") and not _jax_distributed_ready():
            keras.distribution.initialize()
        devices = devices or keras.distribution.list_devices()
        engine = keras.distribution.DataParallel(devices=devices)
        dist = Distribution(
            "data_parallel", engine, len(devices),
            num_workers=jax.process_count(), worker_index=jax.process_index(),
        )
        with engine.scope():
            yield dist


STRATEGIES = {
    "mirrored": MirroredStrategy,
    "multi_worker": MultiWorkerMirroredStrategy,
    "data_parallel": DataParallel,
}


@contextlib.contextmanager
def distribution_scope(strategy=None, devices=None, mixed_precision=None):
    """Builds `strategy` and enters its scope; yields a `Distribution`.

    Create, compile and fit the model inside it. `None` is one device (a no-op
    scope), so the same code runs with and without a strategy.

    Args:
        strategy: a name in `STRATEGIES` (`"mirrored"`, `"multi_worker"`,
            `"data_parallel"`) or `None`.
        devices: device names for `mirrored` / `data_parallel` (default: all local
            accelerators, else all CPU devices made by `configure_devices`).
        mixed_precision: `"mixed_bfloat16"`, `"mixed_float16"` or `"auto"` sets
            Keras' dtype policy inside the scope (see `set_mixed_precision`); `None`
            leaves it.

    Example:

    ```python
    with distribution_scope("data_parallel") as dist:   # KERAS_BACKEND=jax
        model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2)
        model.compile(keras.optimizers.Adam(1e-4))
        model.fit(train_ds, epochs=1)
    dist.num_replicas  # 2 on a machine with two accelerators
    ```
    """
    builder = None if strategy is None else get_strategy(strategy)
    policy = keras.config.dtype_policy()
    if mixed_precision is not None:
        set_mixed_precision(mixed_precision)
    try:
        if builder is None:
            yield Distribution()
        else:
            with builder.scope(devices) as dist:
                yield dist
    finally:
        keras.config.set_dtype_policy(policy)


def get_strategy(name):
    """The strategy builder called `name`, checked against the Keras backend."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; known: {sorted(STRATEGIES)}.")
    builder = STRATEGIES[name]
    backend = keras.config.backend()
    if builder.backend != backend:
        usable = sorted(k for k, v in STRATEGIES.items() if v.backend == backend)
        raise ValueError(
            f"Strategy {name!r} runs on the {builder.backend} backend, but Keras uses "
            f"{backend}; strategies for {backend}: {usable or 'none'}."
        )
    return builder()


def _tf_config_cluster():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "Strategy 'multi_worker' needs TF_CONFIG (the cluster and this worker's "
            'task), e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
            '"task": {"type": "worker", "index": 0}}; it is not set.'
        )
    try:
        config = json.loads(raw)
        return dict(config["cluster"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {raw!r}.") from None


def _jax_distributed_ready():
    import jax

    return jax.distributed.is_initialized()
