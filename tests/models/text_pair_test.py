"""Text-pair tasks: packing and trimming, a mixed single-text + pair model on every
backend, and the SavedModel / edge runtime agreeing with Keras on pairs."""


import keras
import numpy as np
import pytest

from keras_mtl import LabeledTexts, TaskSpec, make_dataset
from keras_mtl.data import TaskMixture
from keras_mtl.preprocessing import packing
from keras_mtl.preprocessing.truncation import segment_lengths
from tests.conftest import INTENTS, TEXTS, VOCAB, artefact_labels, tiny_model

PAIRS = [
    ("show me flights from boston", "book a flight from boston"),
    ("what is the cheapest fare", "show me fares please"),
    ("book a flight to denver", "what is the fare to new york on monday"),
    ("flights to boston", "flights to boston"),
]
SIMILARITY = [0.8, 0.7, 0.2, 1.0]


def _tasks():
    return [
        TaskSpec("intent", "classification", labels=INTENTS, pooling="cls"),
        TaskSpec("similar", "regression", pooling="cls", text_pair=True),
    ]


def _mixture_data(model, repeat=2):
    atis = LabeledTexts(
        TEXTS * repeat,
        {"intent": ["atis_flight", "atis_flight", "atis_airfare", "atis_airfare"] * repeat},
    )
    pairs = LabeledTexts(
        [a for a, _ in PAIRS] * repeat, {"similar": SIMILARITY * repeat},
        pairs=[b for _, b in PAIRS] * repeat,
    )
    return {"atis": atis, "pairs": pairs}


def test_trimming_rule_in_tf_equals_the_python_rule():
    grid = [(a, b, length) for a in range(0, 12) for b in range(0, 12) for length in (4, 7, 8, 13)
            if a > 0]
    a, b, length = (np.array(x) for x in zip(*grid))
    for sequence_length in (4, 7, 8, 13):
        pick = length == sequence_length
        keep_a, keep_b = packing.segment_lengths(a[pick], b[pick], sequence_length)
        expected = [segment_lengths(x, y, sequence_length) for x, y in zip(a[pick], b[pick])]
        assert list(zip(np.asarray(keep_a).tolist(), np.asarray(keep_b).tolist())) == expected


def test_the_trimming_rule_by_hand():
    assert segment_lengths(5, 0, 8) == (5, 0)      # fits
    assert segment_lengths(9, 0, 8) == (6, 0)      # [CLS] 6 [SEP]
    assert segment_lengths(2, 9, 10) == (2, 5)     # short side whole, long gets the rest
    assert segment_lengths(9, 2, 10) == (5, 2)
    assert segment_lengths(6, 6, 10) == (3, 4)     # both half; tie: the second gets the odd one
    assert segment_lengths(8, 6, 10) == (4, 3)     # the longer gets the odd one


def test_a_pair_is_packed_with_segment_ids():
    model = tiny_model(_tasks())
    x = model.preprocessor((["show me flights"], ["to boston"]))
    ids = {token: i for i, token in enumerate(VOCAB)}
    expected = ["[CLS]", "show", "me", "flights", "[SEP]", "to", "boston", "[SEP]"]
    assert np.asarray(x["token_ids"])[0, :8].tolist() == [ids[t] for t in expected]
    assert np.asarray(x["segment_ids"])[0, :9].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 0]
    assert np.asarray(x["padding_mask"])[0].sum() == 8


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = tiny_model(_tasks())
    model.compile(keras.optimizers.Adam(2e-2))
    mixture = TaskMixture(model.preprocessor, _mixture_data(model), batch_size=4, epochs=6)
    history = model.fit(mixture.dataset, epochs=6, callbacks=[mixture.callback], verbose=0)
    return model, history, tmp_path_factory.mktemp("pairs")


def test_a_mixed_single_text_and_pair_model_trains(trained):
    model, history, _ = trained
    assert history.history["similar_loss"][-1] < history.history["similar_loss"][0]
    out = model.predict(list(PAIRS) + ["show me flights to boston"])
    assert out["similar"]["labels"][-1] is None  # no second text: no similarity
    assert all(isinstance(v, float) for v in out["similar"]["labels"][:-1])
    assert len(out["intent"]["labels"]) == 5
    # The second text changes the prediction.
    a = model.predict([PAIRS[0]])["similar"]["labels"][0]
    b = model.predict([(PAIRS[0][0], "what is the cheapest fare")])["similar"]["labels"][0]
    assert a != b


def test_a_pair_task_given_one_text_is_refused_by_example():
    model = tiny_model(_tasks())
    data = LabeledTexts([a for a, _ in PAIRS], {"similar": SIMILARITY},
                        pairs=[PAIRS[0][1], None, PAIRS[2][1], PAIRS[3][1]], name="pairs.csv")
    with pytest.raises(ValueError, match=r"pairs.csv: example 1: task 'similar' is a text-pair "
                                         "task but the example has only one text"):
        make_dataset(model.preprocessor, data)
    only_pairs = tiny_model([TaskSpec("similar", "regression", text_pair=True)])
    with pytest.raises(ValueError, match="Text 0 has no second text, but every task"):
        only_pairs.predict(["show me flights"])


def test_savedmodel_and_edge_take_pairs_and_agree_with_keras(trained):
    model, _, tmp = trained
    texts = [a for a, _ in PAIRS] + ["show me flights to boston"]
    pairs = [b for _, b in PAIRS] + [None]
    expected = model.predict_text(texts, text_pairs=pairs)
    for got in artefact_labels(model, str(tmp), texts, pairs):
        assert got["intent"] == expected["intent"]["labels"]
        assert got["similar"][-1] is None  # no second text
        np.testing.assert_allclose(got["similar"][:-1], expected["similar"]["labels"][:-1],
                                   atol=1e-4)
