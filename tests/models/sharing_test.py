"""Hard vs partial parameter sharing, and the soft tie between private copies."""

import keras
import keras_hub
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, MultiTaskPreprocessor, load_model, make_dataset
from keras_mtl.callbacks.task_gradients import shared_variables, task_losses_and_gradients
from tests.conftest import VOCAB, tiny_data, tiny_tasks, tiny_tokenizer


def two_layer_model(**kwargs):
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32,
    )
    tasks = tiny_tasks()
    preprocessor = MultiTaskPreprocessor(tiny_tokenizer(), tasks, 16)
    return MultiTaskModel(backbone, tasks, preprocessor=preprocessor, **kwargs)


def one_batch(model, repeat=1):
    ds = make_dataset(model.preprocessor, tiny_data(repeat), batch_size=4 * repeat)
    return next(iter(ds.as_numpy_iterator()))


def test_private_copies_start_from_the_pretrained_top_layer():
    model = two_layer_model(sharing="partial", private_layers=1)
    top = model.backbone.transformer_layers[1]
    assert not top.trainable and model.backbone.transformer_layers[0].trainable
    assert [[layer.name for layer in copies] for copies in model.private_layers] == [
        ["intent_transformer_layer_1"], ["slots_transformer_layer_1"]
    ]
    for copies in model.private_layers:
        for mine, original in zip(copies[0].get_weights(), top.get_weights()):
            np.testing.assert_array_equal(mine, original)
    trainable = {id(v) for v in model.trainable_variables}
    assert not any(id(v) in trainable for v in top.weights)
    assert shared_variables(model) == list(model.backbone.transformer_layers[0].trainable_variables)


def test_a_task_never_moves_another_tasks_private_layers():
    model = two_layer_model(sharing="partial", private_layers=1)
    model.compile(keras.optimizers.SGD(0.1))
    x, y, w = one_batch(model)
    intent_private = model.private_layers[0][0].trainable_variables
    slots_private = model.private_layers[1][0].trainable_variables
    shared = model.backbone.transformer_layers[0].trainable_variables
    variables = intent_private + slots_private + shared
    _, grads = task_losses_and_gradients(model, x, y, w, variables)
    sizes = [int(np.prod(v.shape)) for v in variables]
    a, b = sum(sizes[: len(intent_private)]), sum(sizes[: len(intent_private) + len(slots_private)])
    assert np.abs(grads["intent"][a:b]).max() == 0  # slots' copy
    assert np.abs(grads["slots"][:a]).max() == 0  # intent's copy
    assert np.abs(grads["intent"][:a]).max() > 0 and np.abs(grads["slots"][a:b]).max() > 0
    assert np.abs(grads["intent"][b:]).max() > 0 and np.abs(grads["slots"][b:]).max() > 0


def test_tie_penalty_matches_numpy_and_enters_the_loss(tmp_path):
    model = two_layer_model(sharing="partial", private_layers=1, tie_weight=0.5)
    assert float(model.tie_penalty()) == 0.0  # identical copies at the start
    rng = np.random.default_rng(0)
    copy = model.private_layers[1][0]
    copy.set_weights([w + rng.normal(0, 0.1, w.shape) for w in copy.get_weights()])
    expected = 0.0
    for a, b in zip(model.private_layers[0][0].get_weights(), copy.get_weights()):
        mean = (a + b) / 2
        expected += np.sum((a - mean) ** 2) + np.sum((b - mean) ** 2)
    np.testing.assert_allclose(float(model.tie_penalty()), expected, rtol=1e-5)

    model.compile(keras.optimizers.SGD(0.0))  # lr 0: the logs describe the same weights
    x, y, w = one_batch(model)
    logs = model.train_on_batch(x, y, w, return_dict=True)
    np.testing.assert_allclose(logs["tie_loss"], 0.5 * expected, rtol=1e-5)
    np.testing.assert_allclose(
        logs["loss"], logs["intent_loss"] + logs["slots_loss"] + logs["tie_loss"], rtol=1e-5
    )

    path = str(tmp_path / "partial.keras")
    model.save(path)
    loaded = load_model(path)
    assert (loaded.sharing, loaded.private_layers_per_task, loaded.tie_weight) == ("partial", 1, 0.5)
    before = model.predict_on_batch(x)
    after = loaded.predict_on_batch(x)
    for task in before:
        np.testing.assert_allclose(after[task], before[task], atol=1e-6)


def test_bad_sharing_options():
    with pytest.raises(ValueError, match="Unknown sharing mode 'soft'"):
        two_layer_model(sharing="soft")
    with pytest.raises(ValueError, match=r"private_layers must be an integer in \[1, 2\]"):
        two_layer_model(sharing="partial", private_layers=3)
    with pytest.raises(ValueError, match="tie_weight needs sharing='partial'"):
        two_layer_model(tie_weight=0.1)
