"""BIO-constrained decoding of word tags: the most probable tag sequence in which
every `I-X` follows a `B-X` or an `I-X` (IOB2).

Taking each word's most probable tag on its own can give `O I-city` or
`B-city I-state`, sequences that no gold annotation contains; conlleval then
counts a spurious entity. The Viterbi search here maximises the sum of the
words' log-probabilities over valid sequences only: the same per-word scores,
no extra parameters, no retraining. The numpy version serves the Keras model and
the edge runtime; the TensorFlow version runs inside the SavedModel, so the
three runtimes give the same tags.

Labels without the `B-`/`I-` prefixes constrain nothing (every transition stays
allowed), so the search then equals the argmax.
"""

import functools

import numpy as np

_FLOOR = 1e-12  # probabilities are clipped here before the log


def check_decoding(task_type, decoding, name):
    """The decoding a task uses: `decoding`, or its type's default; `None` for a
    type with one way to decode. Raises `ConfigError` for a value the type lacks."""
    from keras_mtl.errors import ConfigError

    if not task_type.decodings:
        if decoding is not None:
            raise ConfigError(
                f"Task '{name}': 'decoding' is for token_classification tasks; a "
                f"{task_type.name} task decodes one way only (got {decoding!r})."
            )
        return None
    if decoding is None:
        return task_type.decodings[0]
    if decoding not in task_type.decodings:
        raise ConfigError(
            f"Task '{name}': decoding must be one of {list(task_type.decodings)}, "
            f"got {decoding!r}."
        )
    return decoding


def bio_transitions(labels):
    """`(allowed, start)`: `allowed[i, j]` says tag j may follow tag i; `start[j]`
    says a sequence may begin with tag j.

    >>> allowed, start = bio_transitions(["O", "B-city", "I-city"])
    >>> bool(allowed[0, 2]), bool(allowed[1, 2]), bool(start[2])
    (False, True, False)
    """
    labels = list(labels)
    count = len(labels)
    allowed = np.ones((count, count), bool)
    start = np.ones(count, bool)
    for j, tag in enumerate(labels):
        if tag.startswith("I-"):
            start[j] = False
            allowed[:, j] = [prev in ("B-" + tag[2:], tag) for prev in labels]
    return allowed, start


@functools.lru_cache(maxsize=64)
def _penalties(labels):
    """`(transition, start)` log-penalties (0 or -inf) for a label tuple, computed
    once per label set rather than once per decoded text."""
    allowed, start = bio_transitions(labels)
    return np.where(allowed, 0.0, -np.inf), np.where(start, 0.0, -np.inf)


@functools.lru_cache(maxsize=64)
def _predecessors(labels):
    """`(pairs, constrained, start)` for a label tuple.

    A tag may follow any tag, or (an `I-X`: `constrained`) only `B-X` and `I-X`;
    `pairs[j]` holds those one or two tags in increasing order (the same tag
    twice when `B-X` is absent). `start` is the start log-penalty. This is what
    makes each Viterbi step O(tags) instead of O(tags²).
    """
    allowed, start = bio_transitions(labels)
    count = len(labels)
    constrained = ~allowed.all(axis=0)
    pairs = np.tile(np.arange(count)[:, None], (1, 2))
    for j in np.flatnonzero(constrained):
        previous = np.flatnonzero(allowed[:, j])
        pairs[j] = previous[0], previous[-1]
    return pairs, constrained, np.where(start, 0.0, -np.inf)


def _log(probs):
    return np.log(np.clip(np.asarray(probs, "float64"), _FLOOR, 1.0))


def bio_viterbi(probs, labels):
    """Tag ids of the best valid sequence for one text's `(words, labels)`
    probabilities.

    >>> p = [[0.6, 0.1, 0.3], [0.1, 0.2, 0.7]]   # argmax: O I-city
    >>> bio_viterbi(p, ["O", "B-city", "I-city"]).tolist()   # O B-city
    [0, 1]
    """
    probs = np.asarray(probs)
    return bio_viterbi_batch(probs[None], [len(probs)], labels)[0]


def bio_viterbi_batch(probs, lengths, labels):
    """`bio_viterbi` of every text of a padded `(texts, words, labels)` batch at
    once; text i has `lengths[i]` words. Returns one tag-id array per text.

    Ties go to the lower tag id, as `np.argmax` would over all transitions.
    """
    log_probs = _log(probs)
    lengths = np.asarray(lengths, "int64")
    count_texts, count_words, count_labels = log_probs.shape
    if count_words == 0:
        return [np.zeros(0, "int64") for _ in range(count_texts)]
    pairs, constrained, start = _predecessors(tuple(labels))
    identity = np.arange(count_labels)
    rows = np.arange(count_texts)
    score = log_probs[:, 0] + start
    back = np.empty((count_texts, count_words, count_labels), "int64")
    for t in range(1, count_words):
        best = np.argmax(score, axis=1)
        first, second = score[:, pairs[:, 0]], score[:, pairs[:, 1]]
        pointers = np.where(constrained, np.where(second > first, pairs[:, 1], pairs[:, 0]),
                            best[:, None])
        inside = (t < lengths)[:, None]
        # Past a text's last word its score and path stay as they are.
        score = np.where(inside, score[rows[:, None], pointers] + log_probs[:, t], score)
        back[:, t] = np.where(inside, pointers, identity)
    path = np.empty((count_texts, count_words), "int64")
    path[:, -1] = np.argmax(score, axis=1)
    for t in range(count_words - 1, 0, -1):
        path[:, t - 1] = back[rows, t, path[:, t]]
    return [path[i, : lengths[i]] for i in range(count_texts)]


def bio_viterbi_tf(per_word, labels):
    """The TensorFlow version for a ragged `(batch, words, labels)` tensor of
    probabilities; returns ragged `(batch, words)` tag ids (for the SavedModel)."""
    import tensorflow as tf

    penalty, start_penalty = (tf.constant(x, tf.float32) for x in _penalties(tuple(labels)))
    lengths = per_word.row_lengths()
    # Two padding words more, so that the scans below always have a step (an empty
    # batch, or texts without words, included); padding never changes a path.
    dense = per_word.to_tensor(1.0)
    dense = tf.pad(dense, [[0, 0], [0, 2], [0, 0]], constant_values=1.0)
    log_probs = tf.math.log(tf.clip_by_value(tf.cast(dense, tf.float32), _FLOOR, 1.0))
    steps = tf.transpose(log_probs, [1, 0, 2])  # (words, batch, labels)
    count = len(labels)
    identity = tf.range(count, dtype=tf.int64)
    positions = tf.range(1, tf.shape(steps, out_type=tf.int64)[0])

    def forward(carry, inputs):
        score, _ = carry
        step, position = inputs
        candidates = score[:, :, None] + penalty[None]
        pointers = tf.argmax(candidates, axis=1)
        new_score = tf.reduce_max(candidates, axis=1) + step
        inside = (position < lengths)[:, None]
        # Past a text's last word the score and the path stay as they are.
        score = tf.where(inside, new_score, score)
        pointers = tf.where(inside, pointers, identity[None])
        return score, pointers

    first = steps[0] + start_penalty[None]
    batch = tf.shape(first, out_type=tf.int64)[0]
    scores, pointers = tf.scan(
        forward, (steps[1:], positions),
        initializer=(first, tf.zeros([batch, count], tf.int64)),
    )
    last = tf.argmax(scores[-1], axis=-1)  # the padding makes `scores` non-empty

    def backward(tag, step_pointers):
        return tf.gather(step_pointers, tag, batch_dims=1)

    earlier = tf.scan(backward, pointers, initializer=last, reverse=True)
    tags = tf.transpose(tf.concat([earlier, last[None]], axis=0))  # (batch, words + 1)
    return tf.RaggedTensor.from_tensor(tags, lengths=lengths)
