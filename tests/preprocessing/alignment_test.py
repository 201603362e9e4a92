import numpy as np
import pytest
import tensorflow as tf

from keras_mtl import MultiTaskPreprocessor
from keras_mtl.data import encode_examples, make_dataset
from tests.conftest import VOCAB, tiny_data, tiny_tasks, tiny_tokenizer

ID = {token: i for i, token in enumerate(VOCAB)}


def preprocessor(sequence_length=16):
    return MultiTaskPreprocessor(tiny_tokenizer(), tiny_tasks(), sequence_length)


def test_labels_sit_on_first_subwords_only():
    pre = preprocessor()
    # "cheapest" -> cheap ##est, "fares" -> fare ##s, "bos"+"ton" is one word "boston".
    x, y, sw = pre(["cheapest fares boston"], y={"intent": np.array([1]), "slots": tf.ragged.constant([[0, 1, 2]])})
    ids = np.asarray(x["token_ids"])[0]
    expected = [ID["[CLS]"], ID["cheap"], ID["##est"], ID["fare"], ID["##s"], ID["boston"], ID["[SEP]"]]
    assert ids[:7].tolist() == expected and (ids[7:] == 0).all()
    assert np.asarray(x["padding_mask"])[0].tolist() == [1] * 7 + [0] * 9
    assert np.asarray(y["slots"])[0][:8].tolist() == [-1, 0, -1, 1, -1, 2, -1, -1]
    assert np.asarray(sw["slots"])[0][:8].tolist() == [0, 1, 0, 1, 0, 1, 0, 0]
    assert np.asarray(sw["intent"]).tolist() == [1.0]


def test_word_with_no_subword_becomes_unk_and_keeps_its_label():
    pre = preprocessor()
    x, y, _ = pre(["boston \u0301 denver"], y={"slots": tf.ragged.constant([[1, 0, 2]])})
    ids = np.asarray(x["token_ids"])[0][:5].tolist()
    assert ids == [ID["[CLS]"], ID["boston"], ID["[UNK]"], ID["denver"], ID["[SEP]"]]
    assert np.asarray(y["slots"])[0][:5].tolist() == [-1, 1, 0, 2, -1]


def test_truncation_keeps_labels_aligned_and_warns(data):
    pre = preprocessor(sequence_length=6)
    with pytest.warns(UserWarning, match="longer than sequence_length=6"):
        encoded = encode_examples(pre, data)
    labels = encoded["labels"]["slots"][0].numpy().tolist()
    # 4 word positions fit: "show me flights from" -> tags O O O O.
    assert labels == [-1, 0, 0, 0, 0, -1]
    assert encoded["word_ids"][0].numpy().tolist() == [-1, 0, 1, 2, 3, -1]


def test_missing_labels_get_zero_sample_weight():
    pre = preprocessor()
    _, y, sw = pre(["show me flights", "book a flight"], y={"intent": np.array([1, -1])})
    assert np.asarray(sw["intent"]).tolist() == [1.0, 0.0]


def test_runs_inside_tf_data_map():
    pre = preprocessor()
    ds = tf.data.Dataset.from_tensor_slices(["show me flights", "fares to boston"]).batch(2)
    x = next(iter(ds.map(lambda t: pre(t))))
    assert x["token_ids"].shape == (2, 16)


def test_bucketed_dataset_pads_to_few_lengths(data):
    pre = preprocessor(sequence_length=32)
    ds = make_dataset(pre, tiny_data(repeat=8), batch_size=4, bucket_step=8)
    shapes = {tuple(x["token_ids"].shape) for x, _, _ in ds}
    assert shapes <= {(4, 8), (4, 16), (4, 24), (4, 32)} and len(shapes) >= 1
    for x, y, sw in ds:
        assert set(y) == set(sw) == {"intent", "slots"}
        # Every labelled word has exactly one weighted position.
        assert float(tf.reduce_sum(sw["slots"])) == float(tf.reduce_sum(tf.cast(y["slots"] >= 0, tf.float32)))


def test_length_grouped_batches_pad_to_their_longest_and_cover_every_example():
    import keras

    from keras_mtl.data.pipeline import resolve_bucket_step

    pre = preprocessor(sequence_length=32)
    data = tiny_data(repeat=8)  # 32 texts of 4 lengths
    lengths = np.asarray(pre.encode(np.asarray(data.texts, object))["token_ids"].row_lengths())
    assert resolve_bucket_step("auto") == (8 if keras.config.backend() == "jax" else 1)
    for shuffle in (False, True):
        ds = make_dataset(pre, data, batch_size=5, bucket_step=1, shuffle=shuffle)
        epochs = []
        for _ in range(2):
            batches = []
            for x, _, _ in ds:
                real = x["padding_mask"].numpy().sum(axis=1)
                # Padded to the batch's longest, exactly.
                assert x["token_ids"].shape[1] == real.max()
                batches.append(sorted(real.tolist()))
            epochs.append(batches)
        if shuffle:
            # Full batches only: 6 of 5, other examples left out each epoch.
            assert [len(batches) for batches in epochs] == [6, 6]
            assert all(len(batch) == 5 for batches in epochs for batch in batches)
        else:
            # Every example once per epoch, in order.
            expected = [sorted(lengths[i:i + 5].tolist()) for i in range(0, 32, 5)]
            assert epochs == [expected, expected]


@pytest.mark.parametrize(
    "labels, message",
    [
        ({"topic": ["a"] * 4}, r"unknown task\(s\) \['topic'\]"),
        ({"intent": ["atis_flight", "atis_meal", "atis_flight", "atis_flight"]}, "Unknown label 'atis_meal' for task 'intent'"),
        ({"slots": [["O"], ["O"] * 8, ["O"] * 9, ["O"] * 6]}, "example 0: task 'slots': 7 words but 1 labels"),
    ],
)
def test_bad_labels_are_refused(labels, message):
    from keras_mtl import LabeledTexts
    from tests.conftest import TEXTS

    with pytest.raises(ValueError, match=message):
        encode_examples(preprocessor(), LabeledTexts(TEXTS, labels, name="tiny"))


def test_empty_text_is_refused():
    from keras_mtl import LabeledTexts

    with pytest.raises(ValueError, match="text 1 is empty"):
        LabeledTexts(["fly to boston", "   "], {"intent": ["a", "b"]})


def test_plain_python_labels_are_accepted():
    pre = preprocessor()
    x, y, sw = pre(["show me flights", "fares"], y={"intent": [1, 0], "slots": [[0, 0, 0], [0]]})
    assert np.asarray(y["intent"]).tolist() == [1, 0]
    assert np.asarray(sw["slots"]).sum() == 4


@pytest.mark.parametrize("text", ["a\u00a0b c", "a\u3000b", "x\vy\tz", " lead  trail ", "a\x1cb\u2028c"])
def test_python_word_split_agrees_with_the_graph(text):
    from keras_mtl.preprocessing.words import split_words

    encoded = preprocessor().encode([text])
    assert int(encoded["num_words"][0]) == len(split_words(text))
