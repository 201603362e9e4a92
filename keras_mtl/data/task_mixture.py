"""`TaskMixture`: several task datasets in one `tf.data` stream for one `fit`."""

import keras
import numpy as np
import tensorflow as tf

from keras_mtl.checks import check_known_tasks, check_number
from keras_mtl.data.pipeline import (
    CHUNK_BATCHES,
    check_batching,
    check_dataset,
    check_preprocessor,
    encode_examples,
    pack_rows,
    resolve_bucket_step,
)
from keras_mtl.data.samplers import get_sampler
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.errors import ConfigError, DataError


class TaskMixture:
    """Mixes per-task datasets into one stream of batches that carry every task.

    Each dataset labels some of the model's tasks (ATIS: intent and slots;
    WNUT-2016: ner; VADER: sentiment). Every batch mixes examples of all datasets
    and carries a target for *every* task output; where an example has no label
    for a task, the target is the task's "missing" value and its sample weight is
    0, so it adds exactly nothing to that task's loss, gradient or metrics.

    How much each dataset supplies per epoch is the sampler's job
    (`keras_mtl.data.samplers`: proportional, temperature, annealed, uniform,
    fixed). Epoch e's example counts are p(e) × `examples_per_epoch`, rounded
    exactly (largest remainders); the examples come from a per-dataset stream of
    seeded permutations (a dataset that runs out is reshuffled and continues, so
    small datasets repeat only when their share asks for it). Within an epoch,
    examples are shuffled, sorted by length within chunks of 50 batches and cut
    into batches padded to a multiple of `bucket_step`, and the batch order and the
    rows within each batch are shuffled: little padding and few distinct shapes, as
    in `make_dataset`.

    The whole plan is drawn up front from `seed`, so epoch e is the same batches
    whether or not the run was killed and resumed before it. Pass `callback` to
    `fit`: it tells the stream which epoch Keras is in (also after
    `BackupAndRestore` skips finished epochs) and logs the sampling
    probabilities as `mix_<dataset>`.

    Args:
        preprocessor: the model's `MultiTaskPreprocessor`.
        datasets: dict dataset name → `LabeledTexts` (training split).
        sampler: a `TaskSampler`, a sampler name, or `{"name": ..., **options}`.
        batch_size: examples per batch (every batch is full).
        epochs: the number of epochs planned (the annealed sampler needs it).
        examples_per_epoch: default: the total size of all datasets.
        seed: seeds the plan.
        bucket_step: batches are padded to multiples of this; `"auto"` (default)
            is 8 on JAX and 1 elsewhere (`resolve_bucket_step`); `None` pads to
            `sequence_length`.
        unknown_labels: `"error"` (default) refuses labels outside a task's label set.

    Example:

    ```python
    mixture = TaskMixture(
        model.preprocessor,
        {"atis": atis["train"], "wnut16": wnut["train"], "vader": vader["train"]},
        sampler={"name": "temperature", "alpha": 0.5},
        batch_size=32, epochs=3,
    )
    model.fit(mixture.dataset, epochs=3, callbacks=[mixture.callback])
    ```
    """

    def __init__(
        self,
        preprocessor,
        datasets,
        sampler="proportional",
        batch_size=32,
        epochs=1,
        examples_per_epoch=None,
        seed=0,
        bucket_step="auto",
        unknown_labels="error",
    ):
        if not isinstance(datasets, dict) or not datasets:
            raise DataError(
                "`datasets` must be a non-empty dict of dataset name → LabeledTexts, "
                f"got {type(datasets).__name__}."
            )
        check_preprocessor(preprocessor)
        bucket_step = resolve_bucket_step(bucket_step)
        check_batching(batch_size, bucket_step, seed)
        epochs = check_number(epochs, "epochs", at_least=1, integer=True)
        if examples_per_epoch is not None:
            examples_per_epoch = check_number(
                examples_per_epoch, "examples_per_epoch (or None: the datasets' total size)",
                at_least=1, integer=True,
            )
        self.names = list(datasets)
        self.tasks = list(preprocessor.tasks)
        _check_datasets(datasets, self.tasks)
        self.sizes = np.array([len(datasets[name]) for name in self.names])
        self.sampler = get_sampler(sampler).for_datasets(self.names)
        self.batch_size = batch_size
        self.epochs = epochs
        self.examples_per_epoch = int(
            self.sizes.sum() if examples_per_epoch is None else examples_per_epoch
        )
        if self.examples_per_epoch < batch_size:
            raise ConfigError(
                f"examples_per_epoch ({self.examples_per_epoch}) must be >= batch_size "
                f"({batch_size})."
            )
        self.steps_per_epoch = self.examples_per_epoch // batch_size
        self.seed = seed
        self.bucket_step = bucket_step
        self.sequence_length = preprocessor.sequence_length
        self._preprocessor = preprocessor

        task_names = [spec.name for spec in self.tasks]
        parts = []
        for name in self.names:
            data = datasets[name]
            filled = LabeledTexts(
                data.texts,
                {task: data.labels.get(task, [None] * len(data)) for task in task_names},
                name=data.name,
                pairs=data.pairs,
            )
            parts.append(encode_examples(preprocessor, filled, unknown_labels))
        encoded = tf.nest.map_structure(lambda *p: tf.concat(p, axis=0), *parts)
        self._encoded = encoded
        self.lengths = np.asarray(encoded["token_ids"].row_lengths())
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.plan, self.padded_lengths = self._draw_plan()
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="mixture_epoch")
        self.dataset = self._make_dataset()
        self.callback = MixtureEpoch(self)

    # === Plan ===
    def probabilities(self, epoch):
        """The sampler's probability per dataset (in `names` order) at `epoch`."""
        return self.sampler(self.sizes, epoch, self.epochs)

    def counts(self, epoch):
        """Examples drawn from each dataset in `epoch` (sums to the epoch size)."""
        return allot(self.probabilities(epoch), self.examples_per_epoch)

    def _draw_plan(self):
        rng = np.random.default_rng(self.seed)
        streams = [_ExampleStream(size, rng) for size in self.sizes]
        steps, batch = self.steps_per_epoch, self.batch_size
        plan = np.zeros((self.epochs, steps, batch), "int64")
        padded = np.zeros((self.epochs, steps), "int64")
        for epoch in range(self.epochs):
            picks = np.concatenate([
                offset + stream.take(count)
                for offset, stream, count in zip(self.offsets, streams, self.counts(epoch))
            ])
            picks = rng.permutation(picks)[: steps * batch]
            chunk = CHUNK_BATCHES * batch
            for start in range(0, len(picks), chunk):
                part = picks[start:start + chunk]
                picks[start:start + chunk] = part[np.argsort(self.lengths[part], kind="stable")]
            batches = picks.reshape(steps, batch)[rng.permutation(steps)]
            # Rows in random order within each batch: a strategy splits batches into
            # contiguous slices, and sorted rows would give one replica the shortest.
            batches = rng.permuted(batches, axis=1)
            plan[epoch] = batches
            longest = self.lengths[batches].max(axis=1)
            if self.bucket_step is None:
                padded[epoch] = self.sequence_length
            else:
                step = self.bucket_step
                padded[epoch] = np.minimum(-(-longest // step) * step, self.sequence_length)
        return plan, padded

    # === Stream ===
    def set_epoch(self, epoch):
        if not 0 <= epoch < self.epochs:
            raise ConfigError(
                f"This TaskMixture was planned for {self.epochs} epochs; Keras asked for "
                f"epoch {epoch}. Build it with epochs= the number passed to fit."
            )
        self._epoch.assign(epoch)

    def _make_dataset(self):
        plan = tf.constant(self.plan)
        padded = tf.constant(self.padded_lengths)
        encoded, preprocessor = self._encoded, self._preprocessor

        def epoch_batches(_):
            # Read when Keras opens the epoch's iterator, after on_epoch_begin.
            epoch = self._epoch.read_value()
            return tf.data.Dataset.from_tensor_slices(
                (tf.gather(plan, epoch), tf.gather(padded, epoch))
            )

        def gather(indices, length):
            return pack_rows(preprocessor, encoded, indices, length)

        # No `assert_cardinality`: with a known size Keras opens the next epoch's
        # iterator at the end of each epoch (before the callback moves the epoch),
        # which measured a ~5 s stall per epoch; an unknown size avoids it.
        ds = tf.data.Dataset.range(1).flat_map(epoch_batches)
        return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def __repr__(self):
        shares = ", ".join(
            f"{name} {size}" for name, size in zip(self.names, self.sizes)
        )
        return (
            f"TaskMixture({shares}; sampler={self.sampler.name}, "
            f"{self.steps_per_epoch} steps × {self.batch_size} per epoch)"
        )


class _ExampleStream:
    """Endless seeded permutations of `range(size)`; `take(n)` continues where it left."""

    def __init__(self, size, rng):
        self.size, self.rng = int(size), rng
        self.order, self.position = rng.permutation(self.size), 0

    def take(self, count):
        taken = []
        while count > 0:
            if self.position == self.size:
                self.order, self.position = self.rng.permutation(self.size), 0
            part = self.order[self.position:self.position + count]
            taken.append(part)
            self.position += len(part)
            count -= len(part)
        return np.concatenate(taken) if taken else np.zeros(0, "int64")


def allot(probabilities, total):
    """Integer counts summing to `total`, proportional to `probabilities`
    (largest remainders; ties go to the earlier dataset)."""
    exact = np.asarray(probabilities, "float64") * total
    counts = np.floor(exact).astype("int64")
    remainder = exact - counts
    order = sorted(range(len(counts)), key=lambda i: (-remainder[i], i))
    for i in order[: total - counts.sum()]:
        counts[i] += 1
    return counts


def _check_datasets(datasets, tasks):
    """Clear errors for datasets the model's tasks cannot use."""
    specs = {spec.name: spec for spec in tasks}
    labelled = set()
    for name, data in datasets.items():
        check_dataset(data, f"Dataset {name!r}")
        check_known_tasks(data.labels, list(specs), f"Dataset {name!r} has labels for",
                          error=DataError)
        for task, values in data.labels.items():
            spec = specs[task]
            if all(value is None for value in values):
                continue
            labelled.add(task)
            if spec.labels is None:
                continue
            extra = sorted(set(spec.task_type.collect_labels(values)) - set(spec.label_ids),
                           key=str)
            if extra:
                shown = extra[:10] + (["..."] if len(extra) > 10 else [])
                raise DataError(
                    f"Dataset {name!r}, task '{task}': {len(extra)} label(s) not in the "
                    f"TaskSpec's label set: {shown}. Build the TaskSpec's labels from "
                    "this data, or map these labels first."
                )
    without = [spec.name for spec in tasks if spec.name not in labelled]
    if without:
        raise DataError(
            f"Task(s) {without} have no labels in any dataset of the mixture "
            f"({sorted(datasets)}); every task needs training data."
        )


class MixtureEpoch(keras.callbacks.Callback):
    """Points a `TaskMixture` at Keras's epoch; logs `mix_<dataset>` probabilities."""

    def __init__(self, mixture):
        super().__init__()
        self.mixture = mixture

    def on_epoch_begin(self, epoch, logs=None):
        self.mixture.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, p in zip(self.mixture.names, self.mixture.probabilities(epoch)):
                logs[f"mix_{name}"] = float(p)
