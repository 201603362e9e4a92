"""One model on ATIS + WNUT-2016 + VADER together: real MiniLM (2 layers), real data."""

import csv
import json

import keras
import pytest

from keras_mtl.datasets import load_vader, load_wnut16
from keras_mtl.training import evaluate_model, load_run, train
from tests.conftest import runs_once

pytestmark = [pytest.mark.integration, runs_once(
    "the mixture is backend-independent; tests/data/ fits one on every backend")]

CONFIG = {
    "name": "mixture_minilm2",
    "backbone": {"preset": "minilm", "num_layers": 2, "sequence_length": 48},
    "data": {
        "dataset": {"atis": {}, "wnut16": {}, "vader": {"domains": ["tweets"]}},
        "max_train_examples": 320,
        "sampler": {"name": "temperature", "alpha": 0.5},
    },
    "tasks": [
        {"name": "intent", "type": "classification", "pooling": "cls"},
        {"name": "slots", "type": "token_classification"},
        {"name": "ner", "type": "token_classification"},
        {"name": "sentiment", "type": "classification", "pooling": "cls"},
    ],
    "training": {"epochs": 2, "batch_size": 32, "learning_rate": 5e-4},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output = tmp_path_factory.mktemp("mixture")
    metrics = train(CONFIG, output=str(output), verbose=0, log=lambda *_: None)
    return output, metrics


def test_every_task_is_scored_on_its_own_test_split(run):
    output, metrics = run
    test = metrics["test"]
    assert test["intent"]["count"] == test["slots"]["count"] == 893
    assert test["ner"]["count"] == 479 and test["sentiment"]["count"] == 420
    assert "sentence_accuracy" in test  # ATIS, the one dataset with joint labels
    # 2 epochs of 30 mixed batches: every task's training loss falls (measured
    # on 480 examples per dataset: intent 1.82 → 1.17, slots 2.21 → 1.15,
    # ner 1.05 → 0.28, sentiment 1.11 → 1.07) and slot F1 leaves 0 (0.30).
    with open(output / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[0]["mix_atis"]) == pytest.approx(1 / 3)
    for task in ("intent", "slots", "ner", "sentiment"):
        assert float(rows[1][f"{task}_loss"]) < float(rows[0][f"{task}_loss"]), task
    assert test["slots"]["f1"] > 0.1
    with open(output / "config.json") as f:
        assert json.load(f)["data"]["sampler"] == {"name": "temperature", "alpha": 0.5}


def test_pooled_metrics_equal_each_datasets_own(run):
    output, metrics = run
    model, _ = load_run(str(output))
    ner = evaluate_model(model, load_wnut16()["test"])["ner"]
    sentiment = evaluate_model(model, load_vader(domains=["tweets"])["test"])["sentiment"]
    assert ner == pytest.approx(metrics["test"]["ner"])
    assert sentiment == pytest.approx(metrics["test"]["sentiment"], abs=1e-6)
    keras.backend.clear_session()
