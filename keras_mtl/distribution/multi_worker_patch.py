"""The Keras multi-worker workaround (keras-team/keras #20329, #20585), applied only
on the Keras versions it was checked on."""

import warnings

import keras

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
