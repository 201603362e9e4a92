"""PCGrad and FAMO training steps against gradients worked out by hand."""

import keras
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, TaskSpec
from keras_mtl.callbacks.task_gradients import task_losses_and_gradients
from keras_mtl.errors import ConfigError
from keras_mtl.models.gradient_methods import pcgrad_coefficients
from tests.callbacks.task_affinity_test import dropout_free_model, one_batch_dataset
from tests.conftest import tiny_tasks


def pcgrad_by_hand(grads, step):
    """PCGrad on explicit vectors (the paper's loop), visiting the other tasks in
    the rotating order: for task i at step t, (t + i + 1 + p) mod T, p = 0, 1, …"""
    count = len(grads)
    projected = []
    for i in range(count):
        g = grads[i].copy()
        for p in range(count - 1):
            j = (step + i + 1 + p) % count
            if j != i and g @ grads[j] < 0:
                g = g - (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
        projected.append(g)
    return sum(projected)


def test_pcgrad_coefficients_match_projections_by_hand():
    # g1 = (1, 0) and g2 = (-1, 1) conflict: g1' = (.5, .5), g2' = (0, 1).
    alpha = keras.ops.convert_to_numpy(pcgrad_coefficients(np.array([[1., -1.], [-1., 2.]]), 0))
    np.testing.assert_allclose(alpha, [2.0, 1.5], rtol=1e-6)
    rng = np.random.default_rng(0)
    for step in range(3):
        grads = rng.normal(size=(3, 7))
        grads[2] = -grads[0] + 0.3 * rng.normal(size=7)  # make conflicts likely
        alpha = keras.ops.convert_to_numpy(pcgrad_coefficients(grads @ grads.T, step))
        np.testing.assert_allclose(alpha @ grads, pcgrad_by_hand(grads, step), rtol=1e-4,
                                   atol=1e-6)
    same = np.ones((2, 4))  # no conflict: the plain sum
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(pcgrad_coefficients(same @ same.T, 0)), [1, 1])


def model_and_batch(method):
    """A tiny model without dropout anywhere (so a training step sees the losses and
    gradients of inference mode), and its one batch."""
    model = dropout_free_model()
    tasks = [TaskSpec.from_config({**spec.get_config(), "dropout": 0.0}) for spec in model.tasks]
    model = MultiTaskModel(model.backbone, tasks, preprocessor=model.preprocessor,
                           gradient_method=method)
    x, y, w = next(iter(one_batch_dataset(model).as_numpy_iterator()))
    return model, x, y, w


def flat_weights(model):
    return np.concatenate([np.ravel(keras.ops.convert_to_numpy(v))
                           for v in model.trainable_variables])


@pytest.mark.parametrize("method", ["pcgrad", {"name": "pcgrad", "top_layers": 1}])
def test_pcgrad_step_equals_the_hand_computed_update(method):
    model, x, y, w = model_and_batch(method)
    model.compile(keras.optimizers.SGD(0.5))
    # The whole shared encoder, or its top layer only (the layers below: the plain sum).
    surgery = model.backbone.trainable_variables if method == "pcgrad" else \
        model.backbone.transformer_layers[-1].trainable_variables
    assert {id(v) for v in model.surgery_variables()} == {id(v) for v in surgery}
    variables = model.trainable_variables
    _, grads = task_losses_and_gradients(model, x, y, w, variables)
    ids = {id(v) for v in surgery}
    mask = np.concatenate([np.full(int(np.prod(v.shape)), id(v) in ids) for v in variables])
    g = np.stack([grads["intent"], grads["slots"]])
    assert g[0][mask] @ g[1][mask] < 0  # the tasks conflict on this batch
    expected = g.sum(axis=0)
    expected[mask] = pcgrad_by_hand([g[0][mask], g[1][mask]], 0)
    before = flat_weights(model)
    model.train_on_batch(x, y, w)
    np.testing.assert_allclose(flat_weights(model), before - 0.5 * expected, atol=2e-6)


def test_famo_step_and_logit_update_by_hand():
    model, x, y, w = model_and_batch({"name": "famo", "learning_rate": 0.1})
    model.compile(keras.optimizers.SGD(0.5))
    variables = model.trainable_variables
    losses, grads = task_losses_and_gradients(model, x, y, w, variables)
    L = np.array([losses["intent"], losses["slots"]])
    z = np.array([0.5, 0.5])  # softmax(0)
    weights = (z / L) / np.sum(z / L)
    before = flat_weights(model)
    model.train_on_batch(x, y, w)
    expected = before - 0.5 * (weights[0] * grads["intent"] + weights[1] * grads["slots"])
    np.testing.assert_allclose(flat_weights(model), expected, atol=2e-6)
    after, _ = task_losses_and_gradients(model, x, y, w, variables)
    delta = np.log(L) - np.log([after["intent"], after["slots"]])
    g = z * delta - z * (z @ delta)
    # Adam's first step is lr · g / |g| per coordinate (bias-corrected moments).
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.famo.logits),
                               -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-4)


def test_gradient_methods_survive_saving(tmp_path):
    model, x, y, w = model_and_batch("famo")
    model.compile(keras.optimizers.SGD(0.1))
    model.train_on_batch(x, y, w)
    path = str(tmp_path / "famo.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.gradient_method == {"name": "famo", "learning_rate": 0.025,
                                      "weight_decay": 0.001}
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.famo.logits),
                                  keras.ops.convert_to_numpy(model.famo.logits))


@pytest.mark.parametrize("method, kwargs, message", [
    ("pcgrad", {"tasks": 1}, "combines the gradients of several tasks; the model has 1"),
    ("mgda", {}, "Unknown gradient method 'mgda'; known: \\['pcgrad', 'famo'\\]"),
    ({"name": "pcgrad", "top_layers": 0}, {}, "top_layers must be >= 1, got 0"),
    ({"name": "famo", "lr": 1}, {}, "unknown option\\(s\\) \\['lr'\\]"),
    ("famo", {"uncertainty_weighting": True}, "cannot be combined with uncertainty"),
])
def test_bad_gradient_methods(method, kwargs, message):
    model = dropout_free_model()
    tasks = tiny_tasks()[: kwargs.pop("tasks", 2)]
    with pytest.raises(ConfigError, match=message):
        MultiTaskModel(model.backbone, tasks, gradient_method=method, **kwargs)
