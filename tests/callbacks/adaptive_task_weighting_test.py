"""The callback really changes optimisation, on whichever backend runs the suite."""

import json
import logging

import keras
import numpy as np
import pytest

from keras_mtl import AdaptiveTaskWeighting, LabeledTexts, make_dataset
from keras_mtl.callbacks.task_gradients import shared_variables, task_losses_and_gradients
from keras_mtl.weighting import WeightingStrategy
from tests.conftest import TEXTS, tiny_data, tiny_model


class ZeroAfterFirstEpoch(WeightingStrategy):
    """Sets one task's weight to 0 after epoch 0 (a test strategy)."""

    name = "zero_after_first_epoch"

    def __init__(self, task):
        super().__init__()
        self.task = task

    def on_epoch_end(self, epoch, logs, weights):
        if epoch == 0:
            return {**weights, self.task: 0.0}
        return None


class HeadSnapshot(keras.callbacks.Callback):
    """Copies a layer's weights at train start (index 0) and after every epoch."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.snapshots = []

    def _take(self):
        layer = self.model.get_layer(self.layer)
        self.snapshots.append([np.array(keras.ops.convert_to_numpy(v)) for v in layer.weights])

    def on_train_begin(self, logs=None):
        self._take()

    def on_epoch_end(self, epoch, logs=None):
        self._take()

    def moved_then_frozen(self):
        """True when the layer changed in epoch 0 and never after."""
        start, after_first, *later = self.snapshots
        moved = any(not np.array_equal(a, b) for a, b in zip(start, after_first))
        frozen = all(np.array_equal(a, b) for s in later for a, b in zip(after_first, s))
        return moved and frozen


def train_ds(repeat=4):
    model_for_data = tiny_model()
    return make_dataset(model_for_data.preprocessor, tiny_data(repeat=repeat), batch_size=4)


def test_zeroed_weight_freezes_the_head_and_loss_identity_holds():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1), loss_weights={"slots": 0.7})
    snapshot = HeadSnapshot("intent")
    weighting = AdaptiveTaskWeighting(ZeroAfterFirstEpoch("intent"))
    history = model.fit(train_ds(), epochs=4, verbose=0, callbacks=[weighting, snapshot])
    h = history.history
    assert h["intent_weight"] == [1.0, 0.0, 0.0, 0.0]
    assert h["slots_weight"] == pytest.approx([0.7] * 4)
    # The intent head moved in epoch 0 and is bit-identical after it.
    assert len(snapshot.snapshots) == 5 and snapshot.moved_then_frozen()
    for epoch in range(4):
        expected = h["intent_weight"][epoch] * h["intent_loss"][epoch] + h["slots_weight"][epoch] * h["slots_loss"][epoch]
        np.testing.assert_allclose(h["loss"][epoch], expected, rtol=1e-5, atol=1e-7)


def test_dwa_weights_follow_logged_losses(tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1))
    state = str(tmp_path / "dwa.json")
    history = model.fit(
        train_ds(), epochs=4, verbose=0,
        callbacks=[AdaptiveTaskWeighting("dwa", temperature=2.0, state_path=state)],
    )
    h = history.history
    assert h["intent_weight"][:2] == [1.0, 1.0]
    for t in (2, 3):
        r = [h[f"{n}_loss"][t - 1] / h[f"{n}_loss"][t - 2] for n in ("intent", "slots")]
        e = np.exp(np.array(r) / 2.0)
        np.testing.assert_allclose(
            [h["intent_weight"][t], h["slots_weight"][t]], 2 * e / e.sum(), rtol=1e-5
        )
        np.testing.assert_allclose(
            h["loss"][t],
            h["intent_weight"][t] * h["intent_loss"][t] + h["slots_weight"][t] * h["slots_loss"][t],
            rtol=1e-5,
        )
    with open(state) as f:
        assert len(json.load(f)["epochs"]["3"]["strategy"]["history"]) == 2


def test_uncertainty_weighting_learns_log_variances(tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model(uncertainty_weighting=True)
    model.compile(keras.optimizers.Adam(0.05))
    log_vars = model.task_weights.log_variances
    assert any(v is log_vars for v in model.trainable_variables)
    history = model.fit(train_ds(), epochs=2, verbose=0, callbacks=[AdaptiveTaskWeighting("uncertainty")])
    s = keras.ops.convert_to_numpy(log_vars)
    assert np.all(s != 0.0)
    np.testing.assert_allclose(history.history["intent_weight"][-1], 0.5 * np.exp(-s[0]), rtol=1e-6)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.task_weights.log_variances), s)


def test_uncertainty_strategy_needs_the_model_variables():
    model = tiny_model()
    model.compile("sgd")
    with pytest.raises(ValueError, match="uncertainty_weighting=True"):
        model.fit(train_ds(1), epochs=1, verbose=0, callbacks=[AdaptiveTaskWeighting("uncertainty")])


def test_performance_strategy_without_validation_data_is_refused():
    model = tiny_model()
    model.compile("sgd")
    with pytest.raises(ValueError, match="pass validation_data"):
        model.fit(train_ds(1), epochs=1, verbose=0, callbacks=[AdaptiveTaskWeighting("performance")])


def test_performance_strategy_with_validation_data_runs():
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1))
    ds = train_ds(2)
    history = model.fit(ds, validation_data=ds, epochs=2, verbose=0,
                        callbacks=[AdaptiveTaskWeighting("performance")])
    assert sum(history.history[f"{n}_weight"][1] for n in ("intent", "slots")) == pytest.approx(2.0)


def test_strategy_over_unknown_task_is_refused():
    model = tiny_model()
    model.compile("sgd")
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['topic'\]"):
        model.fit(train_ds(1), epochs=1, verbose=0,
                  callbacks=[AdaptiveTaskWeighting("static", weights={"topic": 2.0})])


def test_nan_task_loss_is_a_logged_skip(caplog):
    model = tiny_model()
    model.compile("sgd")
    callback = AdaptiveTaskWeighting("dwa")
    callback.set_model(model)
    callback.on_train_begin()
    with caplog.at_level(logging.WARNING):
        callback.on_epoch_end(0, {"intent_loss": float("nan"), "slots_loss": 1.0, "loss": 1.0})
    assert "skipped the weight update" in caplog.text
    assert model.task_weights.as_dict() == {"intent": 1.0, "slots": 1.0}


class ScaledLoss(keras.losses.Loss):
    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


def two_tag_tasks_setup():
    """Two token tasks on the same tags: their natural gradient norms are close, so
    scaling one loss by 100 makes a ~100x gradient gap."""
    from keras_mtl import TaskSpec
    from tests.conftest import SLOT_LABELS, SLOT_TAGS

    tasks = [
        TaskSpec("tags_a", "token_classification", labels=SLOT_TAGS),
        TaskSpec("tags_b", "token_classification", labels=SLOT_TAGS),
    ]
    data = LabeledTexts(TEXTS * 25, {"tags_a": SLOT_LABELS * 25, "tags_b": SLOT_LABELS * 25})
    return tasks, data


def weighted_norms(model, batch, variables):
    _, grads = task_losses_and_gradients(model, *batch, variables)
    w = model.task_weights.as_dict()
    return {n: w[n] * float(np.linalg.norm(g)) for n, g in grads.items()}


@pytest.mark.parametrize("weighting", [None, "gradnorm"])
def test_gradnorm_balances_a_task_scaled_by_100(weighting):
    tasks, data = two_tag_tasks_setup()
    keras.utils.set_random_seed(0)
    model = tiny_model(tasks)
    # A small step size: the scaled task must not simply learn its gradient away.
    model.compile(keras.optimizers.SGD(1e-4), loss={"tags_a": ScaledLoss(100.0)})
    ds = make_dataset(model.preprocessor, data, batch_size=4)  # 25 steps per epoch
    batch = tuple({k: np.asarray(v) for k, v in part.items()} for part in next(iter(ds)))
    variables = shared_variables(model)
    start = weighted_norms(model, batch, variables)
    assert start["tags_a"] / start["tags_b"] >= 50.0
    callbacks = []
    if weighting:
        callbacks = [
            AdaptiveTaskWeighting("gradnorm", gradient_data=batch, update_every=1, learning_rate=0.1)
        ]
    model.fit(ds, epochs=4, verbose=0, callbacks=callbacks)  # 100 steps
    end = weighted_norms(model, batch, variables)
    ratio = end["tags_a"] / end["tags_b"]
    if weighting:
        assert 0.5 <= ratio <= 2.0
    else:
        assert ratio >= 50.0
