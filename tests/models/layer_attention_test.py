"""Soft sharing by attention over the encoder's layers (`sharing="attention"`)."""

import os

import keras
import numpy as np
import onnxruntime as ort
import pytest

from keras_mtl import load_model
from keras_mtl.callbacks import LayerAttentionLog
from keras_mtl.callbacks.task_gradients import task_losses_and_gradients
from keras_mtl.export import export_onnx
from keras_mtl.layers import LayerAttention
from keras_mtl.plotting import plot_layer_attention, read_history
from tests.conftest import TEXTS, artefact_labels
from tests.models.sharing_test import one_batch, two_layer_model


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def skewed(model):
    """`model` with each task's mix set far from uniform (and from the others')."""
    for i, mix in enumerate(model.layer_attention):
        mix.layer_logits.assign(np.array([0.3, -0.2, 0.1]) * (1 + i) * (-1) ** i)
        mix.layer_scale.assign(1.5 - 0.25 * i)
    return model


def test_the_mix_matches_numpy():
    rng = np.random.default_rng(0)
    h = [rng.normal(size=(2, 3, 4)).astype("float32") for _ in range(3)]
    mix = LayerAttention(logit_speed=4.0)
    mix.build([x.shape for x in h])
    mix.layer_logits.assign([0.5, -1.0, 0.25])
    mix.layer_scale.assign(2.0)
    mix.temperature.assign(1.5)
    a = softmax(4.0 * np.array([0.5, -1.0, 0.25]) / 1.5)
    np.testing.assert_allclose(mix.mixing_weights(), a, rtol=1e-6)
    want = 2.0 * sum(w * x for w, x in zip(a, h))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(mix(h)), want, rtol=1e-5, atol=1e-6)


def test_every_task_reads_every_layer_with_its_own_mix():
    model = two_layer_model(sharing="attention")
    assert [mix.name for mix in model.layer_attention] == [
        "intent_layer_attention", "slots_layer_attention"]
    assert model.shared_transformer_layers == list(model.backbone.transformer_layers)
    mixing = model.layer_mixing()
    assert list(mixing) == ["intent", "slots"]
    for task in mixing.values():  # embeddings + 2 layers; it starts at the top one
        assert task == {"weights": [0.05, 0.05, 0.9], "scale": 1.0, "temperature": 1.0}


def test_a_tasks_mix_gets_gradient_only_from_its_own_loss():
    model = skewed(two_layer_model(sharing="attention"))
    model.compile(keras.optimizers.SGD(0.1))
    x, y, w = one_batch(model)
    intent_mix = model.layer_attention[0].trainable_variables  # logits (3) + scale (1)
    slots_mix = model.layer_attention[1].trainable_variables
    _, grads = task_losses_and_gradients(model, x, y, w, intent_mix + slots_mix)
    assert np.abs(grads["intent"][4:]).max() == 0 and np.abs(grads["slots"][:4]).max() == 0
    assert np.abs(grads["intent"][:4]).min() > 0 and np.abs(grads["slots"][4:]).min() > 0


def test_training_moves_the_mix_logs_it_and_round_trips(tmp_path):
    model = two_layer_model(sharing="attention")
    model.compile(keras.optimizers.Adam(0.01))
    x, y, w = one_batch(model, repeat=4)
    history = tmp_path / "history.csv"
    model.fit(x, y, sample_weight=w, epochs=3, batch_size=8, verbose=0,
              callbacks=[LayerAttentionLog(), keras.callbacks.CSVLogger(str(history))])
    mixing = model.layer_mixing()
    logged = read_history(str(history))
    for task, mix in mixing.items():
        assert abs(sum(mix["weights"]) - 1) < 1e-5 and max(mix["weights"]) > 0.34
        assert [logged[f"{task}_layer_mix_{k}"][-1] for k in range(3)] == pytest.approx(
            mix["weights"], abs=1e-6)
        assert logged[f"{task}_layer_scale"][-1] == pytest.approx(mix["scale"])
    assert plot_layer_attention(str(history), str(tmp_path / "mix.png")) == ["intent", "slots"]
    assert os.path.getsize(tmp_path / "mix.png") > 0

    path = str(tmp_path / "attention.keras")
    model.save(path)
    loaded = load_model(path)
    assert loaded.sharing == "attention" and loaded.layer_mixing() == mixing
    for task, scores in model.predict_on_batch(x).items():
        np.testing.assert_allclose(loaded.predict_on_batch(x)[task], scores, atol=1e-6)


def test_the_log_refuses_a_model_without_layer_attention():
    model = two_layer_model()
    model.compile(keras.optimizers.SGD(0.1))
    x, y, w = one_batch(model)
    with pytest.raises(ValueError, match="sharing='attention'"):
        model.fit(x, y, sample_weight=w, epochs=1, verbose=0, callbacks=[LayerAttentionLog()])


def test_exports_carry_each_tasks_mix(tmp_path):
    model = skewed(two_layer_model(sharing="attention"))
    x, _, _ = one_batch(model)
    session = ort.InferenceSession(export_onnx(model, str(tmp_path / "model.onnx")),
                                   providers=["CPUExecutionProvider"])
    got = session.run(["intent_scores", "slots_scores"], x)
    for name, scores in zip(("intent", "slots"), got):
        want = keras.ops.convert_to_numpy(model.predict_on_batch(x)[name])
        np.testing.assert_allclose(scores, want, atol=1e-5)
    labels = {task: out["labels"] for task, out in model.predict(TEXTS).items()}
    saved_model, edge = artefact_labels(model, str(tmp_path), TEXTS)
    assert saved_model == labels and edge == labels
