"""From `LabeledTexts` to a length-grouped `tf.data` pipeline of `(x, y, sample_weight)`.

Texts are tokenized once (the preprocessor's TF ops, in batches), then every epoch
reshuffles them and groups texts of similar length into batches, each padded to its
longest text rounded up to a multiple of `bucket_step`. ATIS utterances are ~11
words, so this avoids most of the compute that fixed-length padding wastes, while a
step of 8 keeps the set of shapes small enough that JAX does not recompile every step.
"""

import warnings

import numpy as np
import tensorflow as tf

from keras_mtl.checks import check_known_tasks, check_number
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.errors import ConfigError, DataError
from keras_mtl.preprocessing.words import split_words

UNKNOWN_LABEL_POLICIES = ("error", "ignore")


def encode_labels(tasks, data, unknown_labels="error"):
    """Labels → target values per task, each by its task type (`TaskType.encode`).

    Args:
        tasks: the model's `TaskSpec`s.
        data: a `LabeledTexts`.
        unknown_labels: `"error"` refuses a label outside a task's label set;
            `"ignore"` applies each type's unseen-label rule (the label becomes a
            missing target, so no loss), which is how test labels never seen in
            training are handled (metrics still compare the gold labels, so they
            count as errors).

    Returns:
        dict task → list of encoded targets.
    """
    if unknown_labels not in UNKNOWN_LABEL_POLICIES:
        raise ConfigError(
            f"unknown_labels must be one of {UNKNOWN_LABEL_POLICIES}, got {unknown_labels!r}."
        )
    check_dataset(data)
    specs = {spec.name: spec for spec in tasks}
    check_known_tasks(data.labels, list(specs), f"{data.name}: labels for", error=DataError)
    encoded = {}
    word_counts = None  # counted once, for all word-level tasks
    if any(specs[task].token_level for task in data.labels):
        word_counts = [len(split_words(text)) for text in data.texts]
    for task, values in data.labels.items():
        spec = specs[task]
        task_type = spec.task_type
        targets = []
        for i, label in enumerate(values):
            if spec.text_pair and label is not None and data.pair(i) is None:
                raise DataError(
                    f"{data.name}: example {i}: task '{task}' is a text-pair task but "
                    "the example has only one text (give its second text, e.g. with "
                    "pair_field= in read_csv / read_jsonl)."
                )
            num_words = word_counts[i] if spec.token_level else None
            try:
                targets.append(task_type.encode(spec, label, num_words, unknown_labels))
            except ValueError as error:
                raise DataError(f"{data.name}: example {i}: {error}") from None
        encoded[task] = targets
    return encoded


def encode_examples(preprocessor, data, unknown_labels="error", batch_size=1024):
    """Tokenizes and aligns a whole `LabeledTexts` once.

    Returns a dict of ragged tensors (`token_ids`, `segment_ids`, `word_ids`,
    `num_words`, `has_pair`, `labels`), and warns once with a count if texts were
    cut to the sequence length.
    """
    targets = encode_labels(preprocessor.tasks, data, unknown_labels)
    specs = {spec.name: spec for spec in preprocessor.tasks}
    chunks = []
    for start in range(0, len(data), batch_size):
        stop = min(start + batch_size, len(data))
        y = {
            task: specs[task].task_type.target_tensor(specs[task], values[start:stop])
            for task, values in targets.items()
        }
        pairs = None
        if data.pairs is not None:
            pairs = np.asarray([p or "" for p in data.pairs[start:stop]], dtype=object)
        chunks.append(
            preprocessor.encode(np.asarray(data.texts[start:stop], dtype=object), y, pairs)
        )
    encoded = tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *chunks)
    truncated = preprocessor.count_truncated(encoded)
    if truncated:
        warnings.warn(
            f"{data.name}: {truncated} of {len(data)} texts are longer than "
            f"sequence_length={preprocessor.sequence_length} sub-words and were "
            "truncated: sentence-level tasks see the kept part only, and cut-off words "
            "get no label and no loss.",
            stacklevel=2,
        )
    return encoded


# Batches are formed from chunks of this many batches sorted by length (as Hugging
# Face's LengthGroupedSampler and `TaskMixture` do).
CHUNK_BATCHES = 50


def resolve_bucket_step(bucket_step):
    """`bucket_step`, with `"auto"` made 8 on JAX (which compiles each padded shape:
    few shapes) and 1 elsewhere (TensorFlow generalizes its traced step to any
    shape, PyTorch runs eagerly: padding to each batch's longest is cheapest).
    Measured on ATIS, 6 layers: step 1 pads 14.2 sub-words on average against 17.6
    for step 8, and trains 1.27x as many examples per second on TensorFlow, 1.05x
    on PyTorch."""
    if bucket_step != "auto":
        return bucket_step
    import keras

    return 8 if keras.config.backend() == "jax" else 1


def group_by_length(chunk, chunk_lengths, batch_size, seed):
    """`chunk` reordered into batches of similar length: sorted by length, cut into
    full batches (a partial one stays last), the batches and the rows in each in
    random order. Rows are shuffled within each batch because a strategy gives each
    replica a contiguous slice of it, and sorted rows would give one replica the
    shortest texts every step."""
    chunk = tf.gather(chunk, tf.argsort(chunk_lengths, stable=True))
    full = tf.size(chunk) // batch_size * batch_size
    batches = tf.reshape(chunk[:full], (-1, batch_size))
    # Stateless draws keyed by the chunk's first example, itself drawn anew every
    # epoch by the shuffle before.
    key = tf.stack([tf.cast(seed, tf.int64), chunk[0]])
    batches = tf.random.experimental.stateless_shuffle(batches, seed=key)
    rows = tf.argsort(tf.random.stateless_uniform(tf.shape(batches), seed=key + 1), axis=1)
    batches = tf.gather(batches, rows, batch_dims=1)
    return tf.concat([tf.reshape(batches, (-1,)), chunk[full:]], axis=0)


def bucket_boundaries(sequence_length, step=8):
    """Padded lengths used for batches: multiples of `step` up to `sequence_length`."""
    lengths = list(range(step, sequence_length, step)) + [sequence_length]
    return sorted(set(lengths))


def make_dataset(
    preprocessor,
    data,
    batch_size=32,
    shuffle=False,
    seed=0,
    bucket_step="auto",
    unknown_labels="error",
    encoded=None,
):
    """A `tf.data.Dataset` of `(x, y, sample_weight)` batches, bucketed by length.

    Args:
        preprocessor: a `MultiTaskPreprocessor`.
        data: a `LabeledTexts`.
        batch_size: examples per batch.
        shuffle: reshuffle the examples every epoch (seeded by `seed`): shuffled,
            sorted by length within chunks of 50 batches, cut into full batches
            (the last partial one is dropped: other examples every epoch), the
            batches of each chunk and the rows of each batch in random order
            (`group_by_length`). Without it, every example once, in order.
        bucket_step: each batch is padded to its longest text rounded up to a
            multiple of this (capped at `sequence_length`): 1 pads least, 8 keeps
            the number of shapes that JAX compiles small; `"auto"` (default) is 8
            on JAX and 1 on TensorFlow and PyTorch (`resolve_bucket_step`); `None`
            pads every batch to `sequence_length` (fixed shapes, slower).
        unknown_labels: see `encode_labels`.
        encoded: reuse the output of `encode_examples` (skips tokenization).

    Example:

    ```python
    train_ds = make_dataset(model.preprocessor, atis["train"], shuffle=True)
    model.fit(train_ds, epochs=3)
    ```
    """
    check_preprocessor(preprocessor)
    bucket_step = resolve_bucket_step(bucket_step)
    check_batching(batch_size, bucket_step, seed)
    if encoded is None:
        encoded = encode_examples(preprocessor, data, unknown_labels)
    lengths = encoded["token_ids"].row_lengths()
    count = int(lengths.shape[0])
    ds = tf.data.Dataset.range(count)
    if shuffle:
        # Every epoch: shuffled, then each chunk of CHUNK_BATCHES batches sorted by
        # length, cut into full batches and shuffled again (`group_by_length`).
        ds = ds.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(CHUNK_BATCHES * batch_size).map(
            lambda chunk: group_by_length(chunk, tf.gather(lengths, chunk), batch_size, seed)
        )
        ds = ds.unbatch().batch(batch_size, drop_remainder=count >= batch_size)
    else:
        # Every example once, in order (predictions line up with the data).
        ds = ds.batch(batch_size)
    step, maximum = bucket_step, preprocessor.sequence_length

    def to_model_inputs(indices):
        if step is None:
            length = tf.constant(maximum, tf.int64)
        else:
            longest = tf.reduce_max(tf.gather(lengths, indices))
            length = tf.minimum((longest + step - 1) // step * step, maximum)
        return pack_rows(preprocessor, encoded, indices, length)

    return ds.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def pack_rows(preprocessor, encoded, indices, length):
    """`(x, y, sample_weight)` of the rows `indices` of `encode_examples`'
    output, padded to `length`."""
    batch = {
        "token_ids": tf.gather(encoded["token_ids"], indices),
        "segment_ids": tf.gather(encoded["segment_ids"], indices),
        "labels": {task: tf.gather(values, indices) for task, values in encoded["labels"].items()},
    }
    return preprocessor.pack(batch, length=length)


def check_dataset(data, what=None):
    """Raises `DataError` unless `data` is a non-empty `LabeledTexts`; `what`
    names it in messages (default: its name)."""
    if not isinstance(data, LabeledTexts):
        raise DataError(
            f"{what or 'data'} must be a LabeledTexts (from a loader in keras_mtl.datasets, "
            f"or LabeledTexts(texts, {{task: labels}})), got {type(data).__name__}."
        )
    if not len(data):
        raise DataError(f"{what or repr(data.name)} is empty: it has no examples.")


def check_preprocessor(preprocessor):
    """Raises `ConfigError` unless `preprocessor` is a `MultiTaskPreprocessor`-like
    object (the model's `model.preprocessor`)."""
    if not all(hasattr(preprocessor, name) for name in ("tasks", "encode", "pack")):
        raise ConfigError(
            "pass the model's preprocessor (model.preprocessor, a MultiTaskPreprocessor), "
            f"got {type(preprocessor).__name__}."
        )


def check_batching(batch_size, bucket_step, seed):
    """Raises `ConfigError` for a batch size, bucket step or seed that cannot be used."""
    check_number(batch_size, "batch_size", at_least=1, integer=True)
    if bucket_step is not None:
        check_number(bucket_step, "bucket_step (or None: pad to sequence_length)",
                     at_least=1, integer=True)
    check_number(seed, "seed", at_least=0, integer=True)
