"""TaskMixture: exact per-epoch plans, partial labels, epochs that follow Keras, errors."""

import keras
import numpy as np
import pytest

from keras_mtl import LabeledTexts, TaskSpec
from keras_mtl.data import TaskMixture
from keras_mtl.tasks import MISSING_ID
from tests.conftest import tiny_data, tiny_model, tiny_tasks

SENTIMENT_TEXTS = ["the cheapest fare", "new york please", "what is the fare on monday"]


def three_tasks():
    return tiny_tasks() + [
        TaskSpec("sentiment", "classification", labels=["neg", "pos"], pooling="mean")
    ]


def sentiment_data(repeat=4):
    return LabeledTexts(
        SENTIMENT_TEXTS * repeat, {"sentiment": ["neg", "pos", "pos"] * repeat}, name="senti"
    )


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return tiny_model(three_tasks())


def mixture(model, **kwargs):
    datasets = {"atis": tiny_data(repeat=5), "senti": sentiment_data()}
    options = dict(batch_size=4, epochs=3, seed=0)
    options.update(kwargs)
    return TaskMixture(model.preprocessor, datasets, **options)


def test_proportional_plan_shows_every_example_once_per_epoch(model):
    mix = mixture(model)
    assert mix.sizes.tolist() == [20, 12] and mix.steps_per_epoch == 8
    assert mix.plan.shape == (3, 8, 4)
    for epoch in range(3):
        assert mix.counts(epoch).tolist() == [20, 12]
        flat = mix.plan[epoch].ravel()
        assert len(set(flat.tolist())) == 32  # 32 = 8 × 4: no repeats, none dropped
    assert not np.array_equal(mix.plan[0], mix.plan[1])
    np.testing.assert_array_equal(mixture(model).plan, mix.plan)  # seeded
    assert not np.array_equal(mixture(model, seed=1).plan, mix.plan)


def test_annealed_counts_follow_the_sampler(model):
    mix = mixture(model, sampler="annealed", epochs=3)
    # α = 1, 0.6, 0.2 for e = 1, 2, 3; sizes 20 and 12, 32 examples per epoch.
    for epoch, alpha in enumerate([1.0, 0.6, 0.2]):
        p = np.array([20.0, 12.0]) ** alpha
        exact = 32 * p / p.sum()
        assert abs(mix.counts(epoch)[0] - exact[0]) < 1 and mix.counts(epoch).sum() == 32
    # The small dataset repeats once its share exceeds its size.
    uniform = mixture(model, sampler="uniform", examples_per_epoch=48)
    assert uniform.counts(0).tolist() == [24, 24]


def test_batches_carry_every_task_with_zero_weight_where_absent(model):
    mix = mixture(model, bucket_step=8)
    for x, y, weights in mix.dataset:
        assert set(y) == {"intent", "slots", "sentiment"}
        token_ids = x["token_ids"].numpy()
        assert token_ids.shape[1] % 8 == 0
        intent = y["intent"].numpy()
        sentiment = y["sentiment"].numpy()
        # Exactly one of the two sentence tasks is labelled per example.
        assert ((intent == MISSING_ID) != (sentiment == MISSING_ID)).all()
        np.testing.assert_array_equal(weights["sentiment"].numpy(), sentiment != MISSING_ID)
        np.testing.assert_array_equal(weights["intent"].numpy(), intent != MISSING_ID)
        no_slots = intent == MISSING_ID
        assert (weights["slots"].numpy()[no_slots] == 0).all()


def test_stream_follows_the_epoch_keras_reports(model):
    mix = mixture(model)
    for epoch in (2, 0, 1):
        mix.set_epoch(epoch)
        lengths = [int(x["token_ids"].shape[1]) for x, _, _ in mix.dataset]
        assert lengths == mix.padded_lengths[epoch].tolist()
    with pytest.raises(ValueError, match="planned for 3 epochs; Keras asked for epoch 3"):
        mix.set_epoch(3)


def test_fit_with_the_callback_on_every_backend(model):
    mix = mixture(model, sampler={"name": "temperature", "alpha": 0.5})
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(mix.dataset, epochs=3, callbacks=[mix.callback], verbose=0)
    np.testing.assert_allclose(
        history.history["mix_atis"], [np.sqrt(20) / (np.sqrt(20) + np.sqrt(12))] * 3, rtol=1e-6
    )
    assert int(mix._epoch.numpy()) == 2
    # A resumed run (BackupAndRestore sets initial_epoch) reads the right epoch.
    model.fit(mix.dataset, epochs=3, initial_epoch=1, callbacks=[mix.callback], verbose=0)
    assert int(mix._epoch.numpy()) == 2
    assert all(np.isfinite(history.history["sentiment_loss"]))


def test_errors_name_the_problem(model):
    pre = model.preprocessor
    with pytest.raises(ValueError, match=r"Dataset 'x' has labels for unknown task\(s\) \['topic'\]"):
        TaskMixture(pre, {"atis": tiny_data(), "x": LabeledTexts(["hi"], {"topic": ["a"]})})
    bad = LabeledTexts(["the fare"], {"sentiment": ["angry"]})
    with pytest.raises(ValueError, match=r"Dataset 's', task 'sentiment': 1 label\(s\) not in the TaskSpec's label set: \['angry'\]"):
        TaskMixture(pre, {"atis": tiny_data(), "s": bad})
    with pytest.raises(ValueError, match=r"Task\(s\) \['sentiment'\] have no labels in any dataset"):
        TaskMixture(pre, {"atis": tiny_data()})
    with pytest.raises(ValueError, match="Dataset 'empty' is empty"):
        TaskMixture(pre, {"atis": tiny_data(), "empty": LabeledTexts([], {}), "s": sentiment_data()})
    with pytest.raises(ValueError, match="must sum to 1"):
        TaskMixture(pre, {"atis": tiny_data(), "s": sentiment_data()},
                    sampler={"name": "fixed", "weights": [0.7, 0.7]})
    with pytest.raises(ValueError, match="non-empty dict"):
        TaskMixture(pre, [tiny_data()])
    with pytest.raises(ValueError, match=r"examples_per_epoch \(2\) must be >= batch_size"):
        mixture(model, examples_per_epoch=2)
