"""An absent label adds exactly zero to its task's loss and gradient (every backend)."""

import keras
import numpy as np
import pytest

from keras_mtl import LabeledTexts, make_dataset
from keras_mtl.callbacks.task_gradients import task_losses_and_gradients
from tests.conftest import INTENTS, INTENT_LABELS, SLOT_LABELS, TEXTS, tiny_model


def batch(model, texts, intents, slots):
    data = LabeledTexts(texts, {"intent": intents, "slots": slots})
    ds = make_dataset(model.preprocessor, data, batch_size=len(texts), bucket_step=None)
    return next(iter(ds.as_numpy_iterator()))


def test_absent_labels_add_exactly_zero():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1))
    variables = model.trainable_variables
    # Example 0 has no intent, example 1 no slots.
    intents = [None] + INTENT_LABELS[1:3]
    slots = [SLOT_LABELS[0], None, SLOT_LABELS[2]]
    x, y, w = batch(model, TEXTS[:3], intents, slots)
    losses, grads = task_losses_and_gradients(model, x, y, w, variables)

    # Another text where the label is absent: the task's loss and gradient do
    # not move by a single bit.
    texts = [TEXTS[3], TEXTS[1], TEXTS[2]]
    x2, y2, w2 = batch(model, texts, intents, [SLOT_LABELS[3], None, SLOT_LABELS[2]])
    losses2, grads2 = task_losses_and_gradients(model, x2, y2, w2, variables)
    assert float(losses2["intent"]) == float(losses["intent"])
    np.testing.assert_array_equal(grads2["intent"], grads["intent"])
    x3, y3, w3 = batch(model, [TEXTS[0], TEXTS[3], TEXTS[2]], intents, slots[:1] + [None] + slots[2:])
    losses3, grads3 = task_losses_and_gradients(model, x3, y3, w3, variables)
    assert float(losses3["slots"]) == float(losses["slots"])
    np.testing.assert_array_equal(grads3["slots"], grads["slots"])

    # And the intent loss is the plain mean cross-entropy over the labelled
    # examples, computed here with numpy from the model's probabilities.
    probs = keras.ops.convert_to_numpy(model(x, training=False)["intent"])
    gold = [INTENTS.index(label) for label in intents[1:]]
    expected = -np.mean(np.log(probs[[1, 2], gold]))
    np.testing.assert_allclose(float(losses["intent"]), expected, rtol=1e-5)

    # Dropping the unlabelled example from the batch gives the same gradient
    # (up to float summation order).
    x4, y4, w4 = batch(model, TEXTS[1:3], intents[1:], slots[1:])
    _, grads4 = task_losses_and_gradients(model, x4, y4, w4, variables)
    np.testing.assert_allclose(grads4["intent"], grads["intent"], rtol=1e-4, atol=1e-6)


def test_task_gradients_on_labelled_parts_equal_a_training_step():
    """Each task's gradient is taken on the examples holding its labels only (padded
    with masked copies on JAX); it equals the gradient of one step of Keras' own
    training on the whole batch with that task alone weighted."""
    from keras_mtl import MultiTaskModel, TaskSpec
    from tests.callbacks.task_affinity_test import dropout_free_model

    base = dropout_free_model()
    tasks = [TaskSpec.from_config({**spec.get_config(), "dropout": 0.0}) for spec in base.tasks]
    model = MultiTaskModel(base.backbone, tasks, preprocessor=base.preprocessor)
    model.compile(keras.optimizers.SGD(1.0))
    # intent labels examples 1-3, slots examples 0 and 2: two different parts.
    intents = [None] + INTENT_LABELS[1:4]
    slots = [SLOT_LABELS[0], None, SLOT_LABELS[2], None]
    x, y, w = batch(model, TEXTS[:4], intents, slots)
    variables = model.trainable_variables
    losses, grads = task_losses_and_gradients(model, x, y, w, variables)
    start = model.get_weights()
    for task in ("intent", "slots"):
        model.set_weights(start)
        model.compile(keras.optimizers.SGD(1.0),
                      loss_weights={name: float(name == task) for name in ("intent", "slots")})
        before = np.concatenate([np.ravel(keras.ops.convert_to_numpy(v)) for v in variables])
        logs = model.train_on_batch(x, y, w, return_dict=True)
        after = np.concatenate([np.ravel(keras.ops.convert_to_numpy(v)) for v in variables])
        np.testing.assert_allclose(before - after, grads[task], rtol=1e-3, atol=2e-6)
        assert logs[f"{task}_loss"] == pytest.approx(losses[task], rel=1e-5)


def test_labelled_tasks_read_the_weights_or_else_the_targets():
    """Which tasks a batch labels: from the sample weights where given, else from
    the targets (a batch without sample weights whose intents are all absent
    labels slots only)."""
    from keras_mtl.callbacks.task_gradients import labelled_tasks

    model = tiny_model()
    names = model.task_names
    x, y, w = batch(model, TEXTS[:2], [None, None], SLOT_LABELS[:2])
    assert labelled_tasks(model, names, y, w) == ["slots"]
    assert labelled_tasks(model, names, y, None) == ["slots"]
    x, y, w = batch(model, TEXTS[:2], INTENT_LABELS[:2], [None, None])
    assert labelled_tasks(model, names, y, None) == ["intent"]
    assert labelled_tasks(model, ["slots"], y, w) == []
