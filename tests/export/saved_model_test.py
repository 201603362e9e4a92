"""SavedModel export: reloaded in a fresh process with only TensorFlow + TF Text."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_mtl.export import export_saved_model
from keras_mtl.export.saved_model import TF_TEXT_OPS
from tests.conftest import TEXTS, tiny_model

BAD_INPUTS = ["", "   \t ", "x " * 6000, "東京 から ✈️ café"]

LOADER = """
import json, sys
import tensorflow as tf
import tensorflow_text  # registers the tokenizer's ops
assert "keras_mtl" not in sys.modules  # our package is not needed to serve
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
texts = json.loads(sys.argv[2])
out = serve(text=tf.constant(texts, tf.string))
empty = serve(text=tf.constant([], tf.string))
ids = model.signatures["serve_token_ids"](**{k: tf.constant(v, tf.int32) for k, v in json.loads(sys.argv[3]).items()})
def py(t):
    a = t.numpy()
    return [[x.decode() for x in row] for row in a] if a.dtype == object and a.ndim == 2 else (
        [x.decode() for x in a] if a.dtype == object else a.tolist())
print(json.dumps({
    "out": {k: py(v) for k, v in out.items()},
    "empty": {k: list(v.shape) for k, v in empty.items()},
    "ids": {k: py(v) for k, v in ids.items()},
}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_model()
    path = str(tmp_path_factory.mktemp("serving") / "tiny" / "1")
    export_saved_model(model, path)
    return model, path


def load_in_fresh_process(path, texts, ids):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", LOADER, path, json.dumps(texts), json.dumps(ids)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fresh_process_matches_keras(exported):
    model, path = exported
    x, _, _ = model.preprocessor.pack(model.preprocessor.encode(TEXTS[:2]))
    ids = {k: np.asarray(v).tolist() for k, v in x.items()}
    served = load_in_fresh_process(path, TEXTS + BAD_INPUTS[1:], ids)
    out = served["out"]
    expected = model.predict(TEXTS)
    n = len(TEXTS)
    np.testing.assert_allclose(np.array(out["intent_scores"][:n]), expected["intent"]["scores"], atol=1e-5)
    assert out["intent_label"][:n] == expected["intent"]["labels"]
    for i in range(n):
        words = len(TEXTS[i].split())
        assert out["num_words"][i] == words
        assert out["slots_labels"][i][:words] == expected["slots"]["labels"][i]
        np.testing.assert_allclose(
            np.array(out["slots_scores"][i])[:words], expected["slots"]["scores"][i], atol=1e-5
        )
    # Whitespace-only: no words, empty label, zero scores.
    assert out["num_words"][n] == 0 and out["intent_label"][n] == ""
    assert out["intent_scores"][n] == [0.0, 0.0]
    # 6,000 words: truncated to the sequence length, every word counted.
    assert out["num_words"][n + 1] == 6000 and out["intent_label"][n + 1] != ""
    # Non-Latin text decodes to one tag per word.
    assert out["num_words"][n + 2] == 4
    # Batch of 0.
    assert served["empty"]["intent_scores"] == [0, 2] and served["empty"]["slots_labels"][0] == 0
    # Token-ids signature = the Keras model on the same ids.
    raw = model.predict_on_batch({k: np.asarray(v) for k, v in ids.items()})
    import keras

    np.testing.assert_allclose(
        np.array(served["ids"]["slots_scores"]), keras.ops.convert_to_numpy(raw["slots"]), atol=1e-5
    )


def test_empty_string_alone(exported):
    _, path = exported
    served = load_in_fresh_process(path, [""], {"token_ids": [[2, 3]], "segment_ids": [[0, 0]], "padding_mask": [[1, 1]]})
    assert served["out"]["intent_label"] == [""] and served["out"]["num_words"] == [0]


def test_saved_model_cli_shows_and_runs_it(exported):
    _, path = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--all"], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "serving_default" in shown.stdout and "intent_label" in shown.stdout
    assert "serve_token_ids" in shown.stdout
    # `run` loads the whole graph: TF Text's ops must be registered first.
    run = subprocess.run(
        [sys.executable, "-m", "keras_mtl.export.saved_model_cli", "run", "--dir", path,
         "--tag_set", "serve", "--signature_def", "serving_default",
         "--input_exprs", 'text=["show me flights to boston", ""]'],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "intent_label" in run.stdout and "slots_labels" in run.stdout


def test_refuses_what_it_cannot_export(tmp_path, exported):
    _, path = exported
    model = tiny_model()
    before = sorted(os.listdir(path))
    with pytest.raises(FileExistsError, match="is a folder that is not empty"):
        export_saved_model(model, path)
    assert sorted(os.listdir(path)) == before
    model.preprocessor = None
    with pytest.raises(ValueError, match="needs a model with a preprocessor"):
        export_saved_model(model, str(tmp_path / "x" / "1"))


def test_graph_uses_only_the_pinned_tf_text_ops(exported):
    _, path = exported
    # Checked in a process without tensorflow_text, where its ops are unregistered.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    code = "import sys, json; from keras_mtl.export.saved_model import custom_ops; print(json.dumps(custom_ops(sys.argv[1])))"
    result = subprocess.run([sys.executable, "-c", code, path], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == sorted(TF_TEXT_OPS)


def test_documented_rest_request_fits_the_signature(exported):
    """The REST body in examples/serving/ is what the signature takes."""
    _, path = exported
    body_path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "serving", "rest_request.json")
    with open(body_path) as f:
        body = json.load(f)
    assert body["signature_name"] == "serving_default" and set(body["inputs"]) == {"text"}
    served = load_in_fresh_process(
        path, body["inputs"]["text"],
        {"token_ids": [[2, 3]], "segment_ids": [[0, 0]], "padding_mask": [[1, 1]]},
    )
    out = served["out"]
    assert out["num_words"] == [len(t.split()) for t in body["inputs"]["text"]]
    assert len(out["intent_label"]) == 2 and all(out["intent_label"])


def test_each_weight_is_stored_once(exported):
    model, path = exported
    import tensorflow as tf

    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    stored = sum(
        int(np.prod(shape)) for name, shape in reader.get_variable_to_shape_map().items()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    )
    # Every serving weight once (the task-weight variable is not used at serving time).
    serving_weights = sum(int(np.prod(v.shape)) for v in model.weights if "task_weights" not in v.path)
    assert stored == serving_weights
