"""TAG lookahead affinity, gradient cosines and task grouping."""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from keras_mtl import MultiTaskModel, MultiTaskPreprocessor, make_dataset
from keras_mtl.callbacks import TaskAffinity
from keras_mtl.callbacks.task_affinity import _token_rows
from keras_mtl.callbacks.task_gradients import shared_variables, task_losses_and_gradients
from keras_mtl.errors import ConfigError
from keras_mtl.transfer import best_groupings
from keras_mtl.transfer.grouping import set_partitions
from tests.conftest import VOCAB, tiny_data, tiny_tasks, tiny_tokenizer


def dropout_free_model():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32, dropout=0.0,
    )
    tasks = tiny_tasks()
    return MultiTaskModel(backbone, tasks,
                          preprocessor=MultiTaskPreprocessor(tiny_tokenizer(), tasks, 16))


def one_batch_dataset(model):
    return make_dataset(model.preprocessor, tiny_data(), batch_size=4)  # 4 texts: 1 batch


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
    lambda: keras.optimizers.SGD(0.5),
])
def test_lookahead_equals_a_real_optimizer_step_on_one_task(optimizer):
    model = dropout_free_model()
    model.compile(optimizer())
    data = one_batch_dataset(model)
    x, y, w = next(iter(data.as_numpy_iterator()))
    model.train_on_batch(x, y, w)  # non-zero moments, one step counted
    affinity = TaskAffinity(data, every=1)
    affinity.set_model(model)
    tag, cosine = affinity.measure()

    # The reference: the optimizer's own update (Keras' code) on the shared variables.
    variables = shared_variables(model, "backbone")
    weights = model.get_weights()
    state = [np.array(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables]
    before, grads = task_losses_and_gradients(model, x, y, w, variables)
    # The callback moves only the embedding rows the batch reads; the reference
    # below steps the whole table, so equal losses show that the rest cannot matter.
    (read,) = _token_rows(model, variables, [(x, y, w)]).values()
    assert 0 < len(read) < len(VOCAB)
    names = model.task_names
    for i, task in enumerate(names):
        parts = np.split(grads[task], np.cumsum([int(np.prod(v.shape)) for v in variables])[:-1])
        model.optimizer.apply(
            [keras.ops.convert_to_tensor(p.reshape(v.shape)) for p, v in zip(parts, variables)],
            variables)
        after = model.task_loss_values(y, model(x, training=False), w)
        for j, other in enumerate(names):
            want = 1 - float(keras.ops.convert_to_numpy(after[other])) / before[other]
            assert tag[i, j] == pytest.approx(want, rel=1e-3, abs=1e-6)
        model.set_weights(weights)
        for v, value in zip(model.optimizer.variables, state):
            v.assign(value)
    a, b = grads["intent"], grads["slots"]
    assert cosine[0, 1] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-4)
    assert cosine[0, 0] == pytest.approx(1.0)
    sgd = isinstance(model.optimizer, keras.optimizers.SGD)
    if sgd:  # a small gradient step on a task lowers its own loss
        assert tag[0, 0] > 0 and tag[1, 1] > 0
    for mine, theirs in zip(model.get_weights(), weights):  # restored exactly
        np.testing.assert_array_equal(mine, theirs)
    assert affinity.lookahead == ("sgd" if sgd else "adam")


def test_measures_every_k_steps_and_resumes_its_state(tmp_path):
    model = dropout_free_model()
    model.compile(keras.optimizers.Adam(0.01))
    data = make_dataset(model.preprocessor, tiny_data(3), batch_size=4)  # 3 batches
    state = str(tmp_path / "affinity.json")
    affinity = TaskAffinity(data, every=2, state_path=state)
    model.fit(data, epochs=2, verbose=0, callbacks=[affinity])
    assert [m["step"] for m in affinity.measurements] == [2, 4, 6]
    assert [m["epoch"] for m in affinity.measurements] == [0, 1, 1]
    mean = affinity.mean("tag")
    np.testing.assert_allclose(
        mean, np.mean([m["tag"] for m in affinity.measurements], axis=0), rtol=1e-6)
    assert np.isfinite(mean).all() and affinity.seconds > 0

    resumed = TaskAffinity(data, every=2, state_path=state)
    resumed.set_model(model)
    resumed.on_train_begin()
    resumed.on_epoch_begin(2)  # a run resumed after its second epoch
    assert resumed.measurements == affinity.measurements and resumed._steps == 6


def test_a_measurement_batch_size_measures_on_the_first_rows():
    model = dropout_free_model()
    model.compile(keras.optimizers.SGD(0.5))
    data = one_batch_dataset(model)
    x, y, w = next(iter(data.as_numpy_iterator()))
    small = TaskAffinity(data, every=1, batch_size=2)
    small.set_model(model)
    head = [{k: v[:2] for k, v in part.items()} for part in (x, y, w)]
    reference = TaskAffinity(
        tf.data.Dataset.from_tensors(tuple(head)), every=1)  # the same 2 rows, given
    reference.set_model(model)
    for mine, theirs in zip(small.measure(), reference.measure()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5)
    with pytest.raises(ValueError, match="TaskAffinity batch_size must be >= 1"):
        TaskAffinity(data, batch_size=0)


def test_one_task_is_refused():
    model = dropout_free_model()
    single = MultiTaskModel(model.backbone, tiny_tasks()[:1])
    single.compile(keras.optimizers.SGD(0.1))
    data = make_dataset(model.preprocessor, tiny_data(), batch_size=4)
    with pytest.raises(ValueError, match="at least 2 tasks; the model has 1"):
        single.fit(data.map(lambda x, y, w: (x, {"intent": y["intent"]},
                                              {"intent": w["intent"]})),
                   epochs=1, verbose=0, callbacks=[TaskAffinity(data)])


def test_partitions_are_counted_by_bell_and_stirling_numbers():
    assert sum(1 for _ in set_partitions(range(5), 5)) == 52  # Bell(5)
    assert sum(1 for _ in set_partitions(range(5), 2)) == 1 + 15  # S(5,1) + S(5,2)


def test_grouping_by_hand():
    # a and b help each other; c hurts both and is hurt by them.
    z = np.array([[0.0, 0.2, -0.1],
                  [0.3, 0.0, -0.2],
                  [-0.1, -0.3, 0.0]])
    one, two, three = best_groupings(z, ["a", "b", "c"])
    assert one["groups"] == [["a", "b", "c"]]
    # in one group: a gets (0.3 - 0.1) / 2, b (0.2 - 0.3) / 2, c (-0.1 - 0.2) / 2
    assert one["score"] == pytest.approx(0.1 - 0.05 - 0.15)
    assert two["groups"] == [["a", "b"], ["c"]] and two["score"] == pytest.approx(0.5)
    assert two["per_task"] == {"a": pytest.approx(0.3), "b": pytest.approx(0.2), "c": 0.0}
    assert three["groups"] == two["groups"]  # a third model would not help


def test_grouping_refuses_bad_input():
    with pytest.raises(ConfigError, match="at least 2 tasks, got 1"):
        best_groupings([[0.0]], ["a"])
    with pytest.raises(ConfigError, match="budget must be an integer >= 1, got 0"):
        best_groupings(np.zeros((2, 2)), ["a", "b"], max_groups=0)
    with pytest.raises(ConfigError, match=r"\(3, 3\) is|need \(2, 2\)"):
        best_groupings(np.zeros((3, 3)), ["a", "b"])
    with pytest.raises(ConfigError, match="NaN"):
        best_groupings([[0.0, np.nan], [0.1, 0.0]], ["a", "b"])
