"""The `dependency_parsing` type: targets on first sub-words, the biaffine loss by
hand, valid trees from Keras, the SavedModel (fresh process) and the edge runtime."""


import keras
import numpy as np
import pytest

from keras_mtl import LabeledTexts, TaskSpec, evaluate_predictions, make_dataset
from keras_mtl.data.pipeline import encode_examples, encode_labels
from keras_mtl.heads.biaffine_parsing_head import BiaffineParsingLoss
from keras_mtl.tasks.spanning_tree import is_tree
from tests.conftest import TEXTS, artefact_labels, tiny_model

# Hand-made trees over the conftest texts (heads 1-based, 0 = root).
PARSES = [
    [(3, "nsubj"), (1, "obj"), (0, "root"), (5, "case"), (3, "obl"), (7, "case"), (3, "obl")],
    [(0, "root"), (3, "det"), (1, "obj"), (6, "case"), (6, "compound"), (1, "obl"),
     (8, "case"), (1, "obl")],
    [(3, "nsubj"), (3, "cop"), (0, "root"), (5, "amod"), (3, "nsubj"), (7, "case"),
     (5, "nmod"), (9, "case"), (5, "nmod")],
    [(0, "root"), (1, "obj"), (1, "obj"), (5, "case"), (3, "nmod"), (1, "discourse")],
]
UPOS = [
    ["VERB", "PRON", "NOUN", "ADP", "PROPN", "ADP", "PROPN"],
    ["VERB", "DET", "NOUN", "ADP", "PROPN", "PROPN", "ADP", "PROPN"],
    ["PRON", "AUX", "DET", "ADJ", "NOUN", "ADP", "PROPN", "ADP", "PROPN"],
    ["VERB", "PRON", "NOUN", "ADP", "PROPN", "INTJ"],
]


def _tasks():
    relations = sorted({rel for parse in PARSES for _, rel in parse})
    tags = sorted({tag for tags in UPOS for tag in tags})
    return [
        TaskSpec("upos", "tagging", labels=tags),
        TaskSpec("parse", "dependency_parsing", labels=relations, hidden_dim=8),
    ]


def _data(repeat=1):
    return LabeledTexts(TEXTS * repeat, {"upos": UPOS * repeat, "parse": PARSES * repeat})


def test_targets_sit_on_first_subwords_and_point_at_head_positions():
    model = tiny_model(_tasks(), sequence_length=16)
    rel = {name: i for i, name in enumerate(model.tasks[1].labels)}
    # "what is the cheapest fare from denver to boston": "cheapest" is
    # cheap ##est, so the words start at packed positions 1 2 3 4 6 7 8 9 10.
    _, y, sw = model.preprocessor.pack(encode_examples(model.preprocessor, _data().subset([2])))
    starts = [1, 2, 3, 4, 6, 7, 8, 9, 10]
    expected = [[-1, -1]]  # [CLS]
    for i, (head, relation) in enumerate(PARSES[2]):
        expected.append([0 if head == 0 else starts[head - 1], rel[relation]])
        if i == 3:
            expected.append([-1, -1])  # ##est
    expected.append([-1, -1])  # [SEP]
    assert np.asarray(y["parse"][0])[: len(expected)].tolist() == expected
    assert np.asarray(sw["parse"][0])[: len(expected)].tolist() == [
        0.0 if h < 0 else 1.0 for h, _ in expected
    ]


def test_a_truncated_head_leaves_its_dependent_unlabelled():
    model = tiny_model(_tasks(), sequence_length=6)  # [CLS] + 4 sub-words + [SEP]
    with pytest.warns(UserWarning, match="truncated"):
        encoded = encode_examples(model.preprocessor, _data().subset([0]))
    target = encoded["labels"]["parse"][0].numpy().tolist()
    # show me flights from | boston to denver: "show"'s head "flights" (3) is
    # kept; "from" (4) points at "boston" (5), cut off → missing.
    assert target[1][0] == 3 and target[4] == [-1, -1]


def test_the_loss_is_the_gold_heads_and_relations_negative_log_probability():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 3, 3, 4)).astype("float32")
    arcs = logits[..., 0] - np.log(np.exp(logits[..., 0]).sum(-1, keepdims=True))
    rels = logits[..., 1:] - np.log(np.exp(logits[..., 1:]).sum(-1, keepdims=True))
    y_pred = np.concatenate([arcs[..., None], rels], -1)
    y_true = np.array([[[0, 2], [2, -1], [1, 0]]], "int32")
    loss = keras.ops.convert_to_numpy(BiaffineParsingLoss().call(y_true, y_pred))
    by_hand = [
        -(arcs[0, 0, 0] + rels[0, 0, 0, 2]),
        -arcs[0, 1, 2],  # relation -1: no relation term
        -(arcs[0, 2, 1] + rels[0, 2, 1, 0]),
    ]
    np.testing.assert_allclose(loss[0], by_hand, rtol=1e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = tiny_model(_tasks(), sequence_length=16)
    model.compile(keras.optimizers.Adam(3e-2))
    data = _data(repeat=4)
    history = model.fit(make_dataset(model.preprocessor, data, batch_size=4, shuffle=True),
                        epochs=8, verbose=0)
    return model, data, history, tmp_path_factory.mktemp("parse")


def test_parsing_trains_and_decodes_into_trees(trained):
    model, data, history, _ = trained
    assert history.history["parse_loss"][-1] < history.history["parse_loss"][0]
    assert "parse_uas" in history.history and "parse_las" in history.history
    out = model.predict(TEXTS)
    for text, parse in zip(TEXTS, out["parse"]["labels"]):
        heads = [head for head, _ in parse]
        assert len(heads) == len(text.split()) and is_tree(heads, single_root=True)
    report = evaluate_predictions(model.tasks, _data(), out)
    assert set(report["parse"]) == {"uas", "las", "las_universal", "count"}
    assert 0 <= report["parse"]["las"] <= report["parse"]["uas"] <= 1
    assert report["parse"]["uas"] > 0.5  # memorised 4 sentences well above chance


def test_savedmodel_and_edge_give_the_keras_trees(trained):
    model, _, _, tmp = trained
    texts = TEXTS + ["show me flights to denver on monday please"]
    expected = model.predict(texts)
    expected = {task: [list(map(list, x)) if task == "parse" else x
                       for x in expected[task]["labels"]] for task in ("upos", "parse")}
    for got in artefact_labels(model, str(tmp), texts):
        assert {task: got[task] for task in ("upos", "parse")} == expected


def test_bad_parse_labels_name_the_example():
    model = tiny_model(_tasks())
    bad = [list(p) for p in PARSES]
    bad[1][2] = (12, "obj")
    data = LabeledTexts(TEXTS, {"parse": bad})
    with pytest.raises(ValueError, match=r"example 1: task 'parse': word 3 has head 12"):
        make_dataset(model.preprocessor, data)


def test_an_unseen_relation_keeps_the_head_target_under_ignore():
    model = tiny_model(_tasks())
    parses = [list(p) for p in PARSES]
    parses[0][0] = (3, "vocative")  # not in the label set
    data = LabeledTexts(TEXTS, {"parse": parses})
    with pytest.raises(ValueError, match="Unknown label 'vocative' for task 'parse'"):
        make_dataset(model.preprocessor, data)
    targets = encode_labels(model.tasks, data, unknown_labels="ignore")["parse"][0]
    assert targets[0] == [3, -1]


def test_las_universal_compares_relations_before_the_colon():
    spec = _tasks()[1]
    gold = [[(2, "nsubj:pass"), (0, "root")]]
    metrics, right = spec.task_type.evaluate(spec, gold, [[(2, "nsubj"), (0, "root")]])
    assert metrics == {"uas": 1.0, "las": 0.5, "las_universal": 1.0} and right == [False]


def test_logged_uas_weights_every_word_equally_across_batches():
    from keras_mtl.heads.biaffine_parsing_head import WordMean, head_accuracy

    metric = WordMean(head_accuracy)
    # Batch 1: padded to 2 positions, 1 labelled word, right. Batch 2: padded to
    # 4 positions, 3 labelled words, 1 right. Per word: 2 of 4 right.
    right = np.zeros((1, 2, 2, 1), "float32")
    right[0, 0, 1, 0] = 1.0  # position 0's best head is position 1
    metric.update_state(np.array([[[1, 0], [-1, -1]]]), right, np.array([[1.0, 0.0]]))
    scores = np.zeros((1, 4, 4, 1), "float32")
    scores[0, :, 0, 0] = 1.0  # every position's best head is position 0
    metric.update_state(np.array([[[0, 0], [2, 0], [3, 0], [-1, -1]]]), scores,
                        np.array([[1.0, 1.0, 1.0, 0.0]]))
    assert float(metric.result()) == pytest.approx(0.5)
    again = WordMean.from_config(metric.get_config())
    assert again.fn is head_accuracy and again.name == metric.name
