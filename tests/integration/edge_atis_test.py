"""Edge runtime vs SavedModel on the real MiniLM vocabulary and the ATIS test set."""

import json
import os
import subprocess
import sys

import keras
import pytest

from keras_mtl import MultiTaskModel, TaskSpec
from keras_mtl.datasets import load_atis
from keras_mtl.edge import EdgeModel
from keras_mtl.export import export_edge_bundle, export_saved_model
from tests.conftest import runs_once
from tests.edge.edge_runtime_test import HARD_TEXTS, graph_ids

pytestmark = [pytest.mark.integration, runs_once(
    "the edge runtime is backend-independent; tests/export/ exports from every backend")]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    keras.utils.set_random_seed(0)
    atis = load_atis()
    tasks = [
        TaskSpec("intent", "classification", labels=atis["train"].label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=atis["train"].label_set("slots")),
    ]
    model = MultiTaskModel.from_preset("minilm", tasks, num_layers=1, sequence_length=64)
    root = tmp_path_factory.mktemp("deploy")
    bundle = export_edge_bundle(model, str(root / "edge"))
    saved = export_saved_model(model, str(root / "serving" / "1"))
    return model, atis["test"].texts, bundle, saved


def test_edge_tokenizer_equals_the_graph_on_atis_test_and_hard_unicode(setup):
    model, texts, bundle, _ = setup
    edge = EdgeModel(bundle)
    everything = texts + HARD_TEXTS
    want_ids, want_words = graph_ids(model, everything)
    for text, ids, words in zip(everything, want_ids, want_words):
        token_ids, _, word_ids, _ = edge.encode(text)
        assert token_ids == ids, text
        assert word_ids == words, text


def test_edge_labels_equal_saved_model_labels_on_atis_test(setup):
    _, texts, bundle, saved = setup
    edge = EdgeModel(bundle).predict(texts, batch_size=64)
    code = (
        "import json, sys\nimport tensorflow as tf, tensorflow_text\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "texts = json.load(open(sys.argv[2]))\nout = serve(text=tf.constant(texts))\n"
        "n = out['num_words'].numpy().tolist()\n"
        "print(json.dumps({'intent': [x.decode() for x in out['intent_label'].numpy()],\n"
        "  'slots': [[t.decode() for t in row[:k]] for row, k in zip(out['slots_labels'].numpy(), n)]}))\n"
    )
    texts_path = os.path.join(os.path.dirname(saved), "texts.json")
    with open(texts_path, "w") as f:
        json.dump(texts, f)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run([sys.executable, "-c", code, saved, texts_path], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert edge["intent"]["labels"] == served["intent"]
    assert edge["slots"]["labels"] == served["slots"]
