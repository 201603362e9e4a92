"""Real data on the real MiniLM (1 layer, a few hundred examples): ATIS intent + Lee
similarity pairs in one model, and EWT UPOS + dependency parsing; the SavedModel
(fresh process) and the edge runtime agree with Keras on every test pair and every
parse is a tree. The artefacts compute in float32 whatever the training precision
(`training.mixed_precision: auto` trains in bfloat16 on some CPUs), so they are
compared with the float32 copy of the model. Run once, on the TensorFlow backend
(the tiny-model tests cover the other backends)."""

import os

import numpy as np
import pytest

from keras_mtl.export.precision import float32_model
from keras_mtl.tasks.spanning_tree import is_tree
from keras_mtl.training import load_run, train
from tests.conftest import artefact_labels, runs_once

pytestmark = [pytest.mark.integration,
              runs_once("the tiny-model tests cover the other backends")]
EWT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "ud_english_ewt")


def test_atis_intent_and_lee_pairs_in_one_model(tmp_path):
    config = {
        "name": "atis_lee",
        "backbone": {"preset": "minilm", "num_layers": 1, "sequence_length": 128},
        "data": {"dataset": ["atis", "lee"], "max_train_examples": 256},
        "tasks": [
            {"name": "intent", "type": "classification", "pooling": "cls"},
            {"name": "similarity", "type": "regression", "pooling": "mean", "text_pair": True},
        ],
        "training": {"epochs": 1, "batch_size": 32, "learning_rate": 1e-4},
    }
    metrics = train(config, output=str(tmp_path / "run"), verbose=0, log=lambda *_: None)
    test = metrics["test"]
    assert test["similarity"]["count"] == 122 and test["intent"]["count"] == 893
    assert set(test["similarity"]) >= {"pearson", "spearman", "mae"}
    model = float32_model(load_run(str(tmp_path / "run"))[0])
    from keras_mtl.datasets import load_lee

    lee = load_lee()["test"]
    texts, pairs = lee.texts, lee.pairs
    expected = model.predict_text(texts, text_pairs=pairs)["similarity"]["labels"]
    for got in artefact_labels(model, str(tmp_path), texts, pairs):
        np.testing.assert_allclose(got["similarity"], expected, atol=1e-4)


def test_ewt_upos_and_parsing_decode_into_trees(tmp_path):
    if not os.path.isdir(EWT):
        pytest.skip(f"UD English EWT is not at {os.path.abspath(EWT)}")
    config = {
        "name": "ewt",
        "backbone": {"preset": "minilm", "num_layers": 1, "sequence_length": 64},
        "data": {"dataset": {"ud": {"directory": EWT}}, "max_train_examples": 320},
        "tasks": [{"name": "upos", "type": "tagging"},
                  {"name": "parse", "type": "dependency_parsing"}],
        "training": {"epochs": 1, "batch_size": 32, "learning_rate": 3e-4},
    }
    with pytest.warns(UserWarning, match="truncated"):  # a few long test sentences
        metrics = train(config, output=str(tmp_path / "run"), verbose=0, log=lambda *_: None)
    assert metrics["test"]["parse"]["count"] == 2077
    assert 0 < metrics["test"]["parse"]["las"] <= metrics["test"]["parse"]["uas"] < 1
    model = float32_model(load_run(str(tmp_path / "run"))[0])
    from keras_mtl.datasets import load_ud

    texts = load_ud(EWT)["test"].texts[:40]
    expected = model.predict(texts)
    for parse, text in zip(expected["parse"]["labels"], texts):
        # Words cut off by the sequence length are None; the kept ones form a tree.
        assert is_tree([x[0] for x in parse if x is not None], single_root=True), text
    expected = {"upos": expected["upos"]["labels"],
                "parse": [[None if x is None else list(x) for x in p]
                          for p in expected["parse"]["labels"]]}
    for got in artefact_labels(model, str(tmp_path), texts):
        assert got["upos"] == expected["upos"]
        assert got["parse"] == expected["parse"]
