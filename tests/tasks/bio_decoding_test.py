"""BIO-constrained decoding: valid IOB2 sequences, the same tags from numpy (Keras
model, edge runtime) and TensorFlow (SavedModel), and the option's checks."""

import numpy as np
import pytest

from keras_mtl import TaskSpec
from keras_mtl.errors import ConfigError
from keras_mtl.tasks.bio import bio_transitions, bio_viterbi, bio_viterbi_batch
from keras_mtl.tasks.description import TaskDescription

LABELS = ["O", "B-city", "I-city", "B-date", "I-date"]


def valid(tags):
    return all(not t.startswith("I-") or p in ("B-" + t[2:], t)
               for p, t in zip(["O"] + tags[:-1], tags))


def brute_force(probs, labels=LABELS):
    """The best valid sequence by enumeration (short texts only)."""
    import itertools

    best, best_score = None, -np.inf
    for ids in itertools.product(range(len(labels)), repeat=len(probs)):
        if valid([labels[i] for i in ids]):
            score = sum(np.log(probs[t][i]) for t, i in enumerate(ids))
            if score > best_score:
                best, best_score = list(ids), score
    return best


def test_viterbi_finds_the_best_valid_sequence():
    rng = np.random.default_rng(0)
    for length in (1, 2, 4):
        for _ in range(10):
            probs = rng.dirichlet(np.full(len(LABELS), 0.3), size=length)
            ids = bio_viterbi(probs, LABELS).tolist()
            assert ids == brute_force(probs)
            assert valid([LABELS[i] for i in ids])
    assert bio_viterbi(np.zeros((0, 5)), LABELS).tolist() == []


def test_a_padded_batch_finds_each_texts_best_valid_sequence():
    rng = np.random.default_rng(3)
    # I-date without B-date: an I- tag may then follow only itself.
    labels = ["O", "B-city", "I-city", "I-date"]
    lengths = [4, 0, 1, 3]
    probs = rng.dirichlet(np.full(len(labels), 0.3), size=(len(lengths), max(lengths)))
    batch = bio_viterbi_batch(probs, lengths, labels)
    for row, length, ids in zip(probs, lengths, batch):
        assert ids.tolist() == brute_force(row[:length], labels)
    assert bio_viterbi_batch(np.zeros((2, 0, 4)), [0, 0], labels)[1].tolist() == []


def test_labels_without_prefixes_decode_by_argmax():
    allowed, start = bio_transitions(["NOUN", "VERB", "ADJ"])
    assert allowed.all() and start.all()
    probs = np.random.default_rng(1).dirichlet(np.ones(3), size=6)
    assert bio_viterbi(probs, ["NOUN", "VERB", "ADJ"]).tolist() == probs.argmax(-1).tolist()


def test_tensorflow_and_numpy_agree():
    import tensorflow as tf

    from keras_mtl.tasks.bio import bio_viterbi_tf

    rng = np.random.default_rng(2)
    rows = [rng.dirichlet(np.full(5, 0.3), size=n).astype("float32") for n in (3, 0, 9, 1)]
    ragged = tf.ragged.constant([r.tolist() for r in rows], ragged_rank=1, inner_shape=(5,))
    decode = tf.function(lambda x: bio_viterbi_tf(x, LABELS), input_signature=[
        tf.RaggedTensorSpec([None, None, 5], tf.float32, 1)])
    assert decode(ragged).to_list() == [bio_viterbi(r, LABELS).tolist() for r in rows]
    empty = tf.RaggedTensor.from_row_lengths(tf.zeros([0, 5]), tf.zeros([0], tf.int64))
    assert decode(empty).to_list() == []


def test_decoding_option():
    spec = TaskSpec("slots", "token_classification", labels=LABELS)
    assert spec.decoding == "bio" and spec.describe()["decoding"] == "bio"
    probs = np.array([[0.6, 0.1, 0.3, 0.0, 0.0], [0.1, 0.2, 0.7, 0.0, 0.0]])
    assert spec.task_type.decode(spec, probs, [0, 1])[0] == ["O", "B-city"]
    plain = TaskSpec("slots", "token_classification", labels=LABELS, decoding="argmax")
    assert plain.task_type.decode(plain, probs, [0, 1])[0] == ["O", "I-city"]
    assert TaskSpec.from_config(spec.get_config()).decoding == "bio"
    # Artefacts written before the option existed decoded by argmax.
    old = {k: v for k, v in spec.describe().items() if k != "decoding"}
    assert TaskDescription.from_dict(old).decoding == "argmax"
    assert TaskDescription.from_dict(spec.describe()).decoding == "bio"
    with pytest.raises(ConfigError, match="Task 'slots': decoding must be one of"):
        TaskSpec("slots", "token_classification", labels=LABELS, decoding="crf")
    with pytest.raises(ConfigError, match="Task 'intent': 'decoding' is for token_classification"):
        TaskSpec("intent", "classification", labels=["a", "b"], decoding="bio")


def test_the_model_decodes_with_its_own_task_specs():
    from tests.conftest import tiny_model

    model = tiny_model()
    slots = model.get_task("slots")
    texts = ["show me flights to boston", "what is the fare"]
    for decoding in ("argmax", "bio"):
        slots.decoding = decoding
        result = model.predict_text(texts)["slots"]
        for tags, scores in zip(result["labels"], result["scores"]):
            ids = ([int(i) for i in np.argmax(scores, -1)] if decoding == "argmax"
                   else bio_viterbi(scores, slots.labels).tolist())
            assert tags == [slots.labels[i] for i in ids]
