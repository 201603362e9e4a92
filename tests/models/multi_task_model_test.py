import json
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mtl import TaskSpec, make_dataset
from keras_mtl.models.multi_task_model import masked_mean_loss
from tests.conftest import TEXTS, tiny_data, tiny_model, tiny_tasks


def batch_of(model, data, length=16):
    encoded_ds = make_dataset(model.preprocessor, data, batch_size=len(data), bucket_step=None)
    return next(iter(encoded_ds))


def to_numpy(tree):
    return tf.nest.map_structure(lambda t: np.asarray(t), tree)


def test_outputs_are_named_task_scores(model):
    x, _, _ = to_numpy(batch_of(model, tiny_data()))
    out = model.predict_on_batch(x)
    assert set(out) == {"intent", "slots"}
    intent = keras.ops.convert_to_numpy(out["intent"])
    slots = keras.ops.convert_to_numpy(out["slots"])
    assert intent.shape == (4, 2) and slots.shape == (4, 16, 5)
    np.testing.assert_allclose(intent.sum(-1), 1.0, atol=1e-5)


def test_masked_mean_loss_matches_numpy():
    y = np.array([[1, -1, 0]], "int32")
    p = np.array([[[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]], "float32")
    mask = (y >= 0).astype("float32")
    loss = masked_mean_loss(
        keras.losses.SparseCategoricalCrossentropy(), np.maximum(y, 0), p, mask
    )
    expected = -(np.log(0.8) + np.log(0.9)) / 2
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)


def test_compile_alone_fills_losses_metrics_and_weights_from_specs(model):
    model.compile("sgd")
    x, y, sw = to_numpy(batch_of(model, tiny_data()))
    logs = model.test_on_batch(x, y, sw, return_dict=True)
    assert {"loss", "intent_loss", "slots_loss", "intent_accuracy", "slots_accuracy"} <= set(logs)


def test_batch_steps_do_not_rebuild_the_model_symbolically(model):
    """Keras traces the whole model symbolically before each `train_on_batch` /
    `test_on_batch` while any of its layers is unbuilt (`Trainer._symbolic_build`);
    the preprocessor, a sublayer without weights, was such a layer."""
    model.compile("sgd")
    x, y, sw = to_numpy(batch_of(model, tiny_data()))
    model.train_on_batch(x, y, sw)
    assert [layer.name for layer in model._flatten_layers() if not layer.built] == []


def test_logged_loss_is_weighted_sum_of_task_losses(model):
    model.compile("sgd", loss_weights={"intent": 0.3, "slots": 2.0})
    ds = make_dataset(model.preprocessor, tiny_data(repeat=4), batch_size=4)
    history = model.fit(ds, epochs=2, verbose=0)
    for epoch in range(2):
        h = history.history
        expected = 0.3 * h["intent_loss"][epoch] + 2.0 * h["slots_loss"][epoch]
        np.testing.assert_allclose(h["loss"][epoch], expected, rtol=1e-5)


def test_padding_and_unlabelled_examples_contribute_nothing(model):
    model.compile("sgd")
    data = tiny_data()
    x, y, sw = to_numpy(batch_of(model, data))
    base = model.test_on_batch(x, y, sw, return_dict=True)
    # Same batch padded further: identical losses.
    pad = 8
    x2 = {k: np.pad(v, ((0, 0), (0, pad))) for k, v in x.items()}
    y2 = {"intent": y["intent"], "slots": np.pad(y["slots"], ((0, 0), (0, pad)), constant_values=-1)}
    sw2 = {"intent": sw["intent"], "slots": np.pad(sw["slots"], ((0, 0), (0, pad)))}
    padded = model.test_on_batch(x2, y2, sw2, return_dict=True)
    for key in ("intent_loss", "slots_loss"):
        np.testing.assert_allclose(padded[key], base[key], rtol=1e-5)
    # An extra example with no intent label: the intent loss of the labelled
    # examples is unchanged (a masked mean over them).
    x3 = {k: np.concatenate([v, v[:1]]) for k, v in x.items()}
    y3 = {"intent": np.concatenate([y["intent"], [-1]]), "slots": np.concatenate([y["slots"], y["slots"][:1]])}
    sw3 = {"intent": np.concatenate([sw["intent"], [0.0]]), "slots": np.concatenate([sw["slots"], sw["slots"][:1]])}
    extended = model.test_on_batch(x3, y3, sw3, return_dict=True)
    np.testing.assert_allclose(extended["intent_loss"], base["intent_loss"], rtol=1e-5)


def test_zero_weight_task_gets_no_gradient(model):
    model.compile(keras.optimizers.SGD(0.5), loss_weights={"intent": 0.0})
    before = [np.array(v) for v in model.get_layer("intent").weights]
    slot_before = [np.array(v) for v in model.get_layer("slots").weights]
    ds = make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4)
    model.fit(ds, epochs=1, verbose=0)
    after = [np.array(v) for v in model.get_layer("intent").weights]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    slot_after = [np.array(v) for v in model.get_layer("slots").weights]
    assert any(not np.array_equal(a, b) for a, b in zip(slot_before, slot_after))


def test_weights_changed_after_compile_change_training(model):
    # The task-weight variable is read at every step (not frozen at trace time).
    model.compile(keras.optimizers.SGD(0.5))
    ds = make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4)
    model.fit(ds, epochs=1, verbose=0)
    model.task_weights.assign({"intent": 0.0})
    before = [np.array(v) for v in model.get_layer("intent").weights]
    model.fit(ds, epochs=1, verbose=0)
    for a, v in zip(before, model.get_layer("intent").weights):
        np.testing.assert_array_equal(a, np.array(v))


def test_fit_on_make_dataset_warns_nothing(model):
    """Keras warns about the unread pooler, the ignored default `shuffle` and the
    epoch size learnt by reading the data: none of them is the user's to fix."""
    model.compile(keras.optimizers.Adam(1e-3))
    ds = make_dataset(model.preprocessor, tiny_data(repeat=3), batch_size=4, shuffle=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(ds, epochs=2, verbose=0)
    # (Keras' own DeprecationWarnings, hidden by default, are not at issue.)
    assert [str(w.message)[:80] for w in caught if w.category is UserWarning] == []
    # Asking for more steps than the data holds is still warned about.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(ds, epochs=1, steps_per_epoch=100, verbose=0)
    assert any("ran out of data" in str(w.message) for w in caught)


def test_predict_on_text_decodes_per_word(model):
    texts = ["show me flights from boston to denver", "cheapest fares"]
    out = model.predict(texts)
    assert [len(tags) for tags in out["slots"]["labels"]] == [7, 2]
    assert out["intent"]["scores"].shape == (2, 2)
    assert all(label in ("atis_airfare", "atis_flight") for label in out["intent"]["labels"])


def test_predict_refuses_empty_text(model):
    with pytest.raises(ValueError, match="Text 1 is empty"):
        model.predict(["fly to boston", ""])


def test_compile_refuses_unknown_task(model):
    with pytest.raises(ValueError, match=r"`loss` names unknown task\(s\) \['topic'\]"):
        model.compile("sgd", loss={"topic": "mse"})
    with pytest.raises(ValueError, match="unknown task"):
        model.compile("sgd", loss_weights={"topic": 1.0})


def test_save_load_round_trip(model, tmp_path):
    model.compile(keras.optimizers.Adam(1e-3), loss_weights={"slots": 0.5})
    ds = make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4)
    model.fit(ds, epochs=1, verbose=0)
    model.task_weights.assign({"intent": 0.25})
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.task_weights.as_dict() == {"intent": 0.25, "slots": 0.5}
    assert loaded.compiled
    a = model.predict(TEXTS)
    b = loaded.predict(TEXTS)
    np.testing.assert_array_equal(a["intent"]["scores"], b["intent"]["scores"])
    assert a["slots"]["labels"] == b["slots"]["labels"]
    # Training continues from the saved optimizer state.
    loaded.fit(ds, epochs=1, verbose=0)


def test_model_saved_on_this_backend_loads_on_tensorflow(model, tmp_path):
    path = str(tmp_path / "model.keras")
    model.save(path)
    expected = model.predict(TEXTS)
    script = (
        "import json, sys, keras, numpy as np\n"
        "import keras_mtl.models\n"
        f"m = keras.saving.load_model({path!r})\n"
        f"out = m.predict({TEXTS!r})\n"
        "print(json.dumps({'intent': out['intent']['scores'].tolist(), 'slots': out['slots']['labels']}))\n"
    )
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    got = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got["intent"], expected["intent"]["scores"], atol=1e-5)
    assert got["slots"] == expected["slots"]["labels"]


def test_missing_labels_for_every_task_type(tmp_path):
    tasks = tiny_tasks() + [
        TaskSpec("topics", "multi_label", labels=["travel", "money"]),
        TaskSpec("rating", "regression"),
    ]
    keras.utils.set_random_seed(0)
    model = tiny_model(tasks)
    model.compile("sgd")
    from keras_mtl import LabeledTexts

    data = LabeledTexts(
        TEXTS,
        {
            "intent": ["atis_flight", None, "atis_airfare", None],
            "slots": [None, [ "O"] * 8, None, ["O"] * 6],
            "topics": [["travel"], None, ["travel", "money"], []],
            "rating": [1.0, None, -2.5, None],
        },
    )
    ds = make_dataset(model.preprocessor, data, batch_size=4, bucket_step=None)
    x, y, sw = next(iter(ds))
    assert np.asarray(sw["intent"]).tolist() == [1, 0, 1, 0]
    assert np.asarray(sw["topics"]).tolist() == [1, 0, 1, 1]
    assert np.asarray(sw["rating"]).tolist() == [1, 0, 1, 0]
    assert np.asarray(sw["slots"])[0].sum() == 0 and np.asarray(sw["slots"])[1].sum() == 8
    history = model.fit(ds, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    out = model.predict(["fly to boston"])
    assert isinstance(out["rating"]["labels"][0], float)
    assert isinstance(out["topics"]["labels"][0], list)
