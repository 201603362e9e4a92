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
#20329, #20585). `multi_worker` contains the workaround (`_MultiWorkerPatch`): it is
applied only inside the scope, only on the Keras versions it was checked on.
"""

import contextlib
import json
import os
import sys
import warnings

import keras

# === Devices ===


def configure_devices(num_cpu_devices):
    """Splits the host CPU into `num_cpu_devices` devices for TF and JAX.

    Must run before TensorFlow and JAX initialise their devices (before the first
    TF op and the first JAX computation; importing them is fine). Useful to try
    strategies on a machine without accelerators; GPUs are found without it.

    Example:

    >>> import keras_mtl.distribution as distribution
    >>> distribution.configure_devices(2)   # first thing in the process
    >>> with distribution.distribution_scope("mirrored") as dist:
    ...     dist.num_replicas
    2
    """
    if not isinstance(num_cpu_devices, int) or isinstance(num_cpu_devices, bool) \
            or num_cpu_devices < 1:
        raise ValueError(f"num_cpu_devices must be an int >= 1, got {num_cpu_devices!r}.")
    if _jax_devices_initialized():
        raise RuntimeError(
            "configure_devices must run before JAX initialises its devices (their "
            "count is read once, from XLA_FLAGS, at the first JAX computation)."
        )
    flag = f"--xla_force_host_platform_device_count={num_cpu_devices}"
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    os.environ["XLA_FLAGS"] = " ".join(flags + [flag])
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices
        )
    except RuntimeError as error:
        raise RuntimeError(
            "configure_devices must run before TensorFlow initialises its devices "
            f"(before the first op): {error}"
        ) from None


def _jax_devices_initialized():
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def _local_tf_devices():
    """Local GPUs, else every logical CPU (more than one after `configure_devices`)."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def describe_devices():
    """One line on what the backend computes on, e.g. `"tensorflow 2.21.0 on 1 CPU
    (2 cores); no GPU"`."""
    backend = keras.config.backend()
    cores = os.cpu_count() or 1
    if backend == "tensorflow":
        import tensorflow as tf

        version = tf.__version__
        gpus = len(tf.config.list_logical_devices("GPU"))
        cpus = len(tf.config.list_logical_devices("CPU"))
    elif backend == "jax":
        import jax

        version = jax.__version__
        devices = jax.devices()
        gpus = sum(d.platform == "gpu" for d in devices)
        cpus = len(devices) - gpus
    else:
        import torch

        version = torch.__version__
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cpus = 1
    parts = []
    if gpus:
        parts.append(f"{gpus} GPU{'s' if gpus > 1 else ''}")
    if cpus:
        parts.append(f"{cpus} CPU device{'s' if cpus > 1 else ''} ({cores} cores)")
    text = f"{backend} {version} on " + " and ".join(parts)
    return text if gpus else text + "; no GPU"


# === Strategies ===


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
        mixed_precision: `"mixed_bfloat16"` or `"mixed_float16"` sets Keras' dtype
            policy inside the scope (see `set_mixed_precision`); `None` leaves it.

    Example:

    >>> with distribution_scope("data_parallel") as dist:   # KERAS_BACKEND=jax
    ...     model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2)
    ...     model.compile(keras.optimizers.Adam(1e-4))
    ...     model.fit(train_ds, epochs=1)
    >>> dist.num_replicas
    2
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


def scale_loss(loss):
    """Divides a replica's loss by the replica count under `tf.distribute`.

    `tf.distribute` sums the replicas' gradients, so every loss term a model adds
    itself (as `MultiTaskModel.compute_loss` does) must be divided by
    `num_replicas_in_sync`, as Keras' own compiled losses are. JAX `DataParallel`
    computes one global loss: nothing to scale.
    """
    if keras.config.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss
    return loss * keras.ops.cast(1.0 / replicas, loss.dtype)


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


# === Mixed precision ===

MIXED_PRECISION_POLICIES = ("mixed_bfloat16", "mixed_float16")


def set_mixed_precision(policy):
    """Sets Keras' global dtype policy: `"mixed_bfloat16"`, `"mixed_float16"` or
    `None` (float32). Call it before building the model.

    Weights stay float32; activations use the half type. With `mixed_float16`,
    `compile` wraps the optimizer in a `LossScaleOptimizer`. Both fit on all three
    backends on CPU, where they are no faster than float32: they pay off on
    accelerators (bfloat16 on TPUs and Ampere-or-newer GPUs).

    Example:

    >>> set_mixed_precision("mixed_bfloat16")
    >>> model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2)
    >>> model.backbone.dtype_policy.name
    'mixed_bfloat16'
    """
    if policy is None:
        keras.config.set_dtype_policy("float32")
        return
    if policy not in MIXED_PRECISION_POLICIES:
        raise ValueError(
            f"Unknown mixed precision policy {policy!r}; use one of "
            f"{list(MIXED_PRECISION_POLICIES)} or None."
        )
    keras.config.set_dtype_policy(policy)


# === Keras multi-worker workaround ===

# First and last Keras versions on which the workaround was checked to be needed
# and to work (tests/distribution/multi_worker_test.py). On a newer Keras it is *not* applied:
# re-run that test, then widen this range or delete the workaround.
MULTI_WORKER_PATCH_VERSIONS = ((3, 15, 1), (3, 15, 1))


def _keras_version():
    return tuple(int(p) for p in keras.version().split(".")[:3] if p.isdigit())


def multi_worker_patch_applies(version=None):
    """Whether the Keras multi-worker workaround is applied on `version` (default:
    the installed Keras)."""
    version = version or _keras_version()
    low, high = MULTI_WORKER_PATCH_VERSIONS
    return low <= version <= high


class _MultiWorkerPatch:
    """Lets `Model.fit` run under `MultiWorkerMirroredStrategy` on Keras 3.15.1.

    Two places in the TF trainer assume one worker (keras-team/keras #20329, #20585):

    1. `TensorFlowTrainer._maybe_symbolic_build` averages the first distributed batch
       across replicas to build the metrics; the multi-worker `strategy.reduce` takes
       single tensors only and fails on our dict batch ("Attempt to convert a value
       ({'token_ids': PerReplica...}) with an unsupported type (<class 'dict'>)").
       Building needs shapes and dtypes only: we take this worker's first replica.
    2. `reduce_per_replica` reduces multi-worker logs with `axis=0`, which scalar
       logs (loss, metrics) do not have. We reduce scalars without an axis.

    The patch is set on entering and removed on leaving (not re-entrant).
    """

    def __enter__(self):
        from keras.src.backend.tensorflow import trainer as tf_trainer

        self._applied = multi_worker_patch_applies()
        if not self._applied:
            low, high = MULTI_WORKER_PATCH_VERSIONS
            warnings.warn(
                f"keras_mtl's multi-worker workaround was checked on Keras "
                f"{'.'.join(map(str, low))} to {'.'.join(map(str, high))}; Keras "
                f"{keras.version()} is outside that range, so it is not applied. If "
                "fit fails under 'multi_worker', see keras-team/keras#20329.",
                stacklevel=3,
            )
            return self
        for name in ("reduce_per_replica", "_collective_all_reduce_multi_worker"):
            if not hasattr(tf_trainer, name):
                raise RuntimeError(f"keras.src.backend.tensorflow.trainer has no {name}: "
                                   "the multi-worker workaround must be re-checked.")
        self._module = tf_trainer
        self._original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
        self._original_reduce = tf_trainer.reduce_per_replica
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _symbolic_build_from_local_batch
        tf_trainer.reduce_per_replica = _reducer(self._original_reduce, tf_trainer)
        return self

    def __exit__(self, *exc):
        if self._applied:
            self._module.TensorFlowTrainer._maybe_symbolic_build = self._original_build
            self._module.reduce_per_replica = self._original_reduce
        return False


def _symbolic_build_from_local_batch(self, iterator=None, data_batch=None):
    # Keras' method, with this worker's first replica instead of a cross-worker mean.
    import tensorflow as tf

    if self._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            data_batch = keras.tree.map_structure(
                lambda v: self.distribute_strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v,
                batch,
            )
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _reducer(original, tf_trainer):
    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def reduce_one(value):
            local = strategy.experimental_local_results(value)[0]
            if local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return keras.tree.map_structure(reduce_one, values)

    return reduce_per_replica
