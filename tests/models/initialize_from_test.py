"""`MultiTaskModel.initialize_from` and `backbone.initial_weights`: a model that
starts from another one's encoder and same-task heads (multi-task, then per-task
fine-tuning)."""

import os

import keras
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, TaskSpec, make_dataset
from keras_mtl.errors import ConfigError
from keras_mtl.training import train
from tests.conftest import (
    INTENTS, SLOT_TAGS, TEXTS, runs_once, tiny_data, tiny_model, tiny_tasks,
)


@pytest.fixture(scope="module")
def multi():
    """A tiny intent + slots model after a few steps, so that its weights are no
    longer anyone's initialization (only read by the tests)."""
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(make_dataset(model.preprocessor, tiny_data(repeat=4), batch_size=4), epochs=2,
              verbose=0)
    return model


def intent_only(**kwargs):
    keras.utils.set_random_seed(1)
    return tiny_model(tasks=[tiny_tasks()[0]], **kwargs)


def test_encoder_and_shared_head_are_copied_and_predict_alike(multi):
    single = intent_only()
    assert not np.allclose(single.backbone.get_weights()[0], multi.backbone.get_weights()[0])

    assert single.initialize_from(multi) == ["intent"]

    for ours, theirs in zip(single.backbone.get_weights(), multi.backbone.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    # Same encoder, same head: the same intent scores, text by text.
    expected = multi.predict(TEXTS, verbose=0)["intent"]["scores"]
    got = single.predict(TEXTS, verbose=0)["intent"]["scores"]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_tasks_the_source_lacks_keep_a_fresh_head():
    keras.utils.set_random_seed(0)
    source = tiny_model(tasks=[tiny_tasks()[0]])
    keras.utils.set_random_seed(2)
    target = tiny_model()
    slots_before = [w.copy() for w in target.heads[1].get_weights()]

    assert target.initialize_from(source) == ["intent"]

    for before, after in zip(slots_before, target.heads[1].get_weights()):
        np.testing.assert_array_equal(before, after)


def test_partial_sharing_target_starts_its_private_layers_from_the_copied_encoder(multi):
    keras.utils.set_random_seed(3)
    target = tiny_model(sharing="partial", private_layers=1)

    target.initialize_from(multi)

    top = multi.backbone.transformer_layers[-1].get_weights()
    for copies in target.private_layers:
        for ours, theirs in zip(copies[0].get_weights(), top):
            np.testing.assert_array_equal(ours, theirs)


def test_mismatches_are_refused_naming_what_differs(multi):
    relabelled = tiny_model(tasks=[
        TaskSpec("intent", "classification", labels=INTENTS[::-1], pooling="cls"),
    ])
    with pytest.raises(ConfigError, match=r"task 'intent'.*labels \['atis_flight'"):
        relabelled.initialize_from(multi)

    retyped = tiny_model(tasks=[TaskSpec("slots", "tagging", labels=SLOT_TAGS)])
    with pytest.raises(ConfigError, match=r"task 'slots'.*token_classification"):
        retyped.initialize_from(multi)

    import keras_hub

    deeper = keras_hub.models.BertBackbone(
        vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16,
        max_sequence_length=32)
    with pytest.raises(ConfigError, match="num_layers=1, this one num_layers=2"):
        MultiTaskModel(deeper, tiny_tasks()).initialize_from(multi)

    partial = tiny_model(sharing="partial")
    with pytest.raises(ConfigError, match="sharing 'partial'"):
        intent_only().initialize_from(partial)

    with pytest.raises(ConfigError, match="MultiTaskModel, got Functional"):
        intent_only().initialize_from(keras.Model(multi.input, multi.output))


@runs_once("the model method is tested on every backend above")
def test_a_run_starts_from_an_earlier_run(tmp_path):
    """Real checkpoint (1 layer), real ATIS: a single-task intent run started from an
    intent + slots run holds that run's encoder and intent head (a learning rate of
    1e-12 keeps them where they started), not the checkpoint's."""
    from keras_mtl.models import load_model

    def config(name, tasks, learning_rate, **backbone):
        return {
            "name": name,
            "backbone": {"preset": "minilm", "num_layers": 1, "sequence_length": 32,
                         **backbone},
            "data": {"dataset": "atis", "max_train_examples": 64},
            "tasks": tasks,
            "training": {"epochs": 1, "batch_size": 16, "learning_rate": learning_rate,
                         "tensorboard": False},
        }

    intent = {"name": "intent", "type": "classification"}
    slots = {"name": "slots", "type": "token_classification"}
    multi_dir = str(tmp_path / "multi")
    train(config("multi", [intent, slots], 1e-3), output=multi_dir, verbose=0,
          log=lambda *a: None)

    lines = []
    single_dir = str(tmp_path / "single")
    train(config("single", [intent], 1e-12, initial_weights=multi_dir), output=single_dir,
          verbose=0, log=lines.append)
    assert any(f"Starting from {multi_dir}: its encoder and the heads of ['intent']" in line
               for line in lines), lines
    multi = load_model(os.path.join(multi_dir, "model.keras"))
    single = load_model(os.path.join(single_dir, "model.keras"))
    preset = MultiTaskModel.from_preset("minilm", single.tasks, num_layers=1)
    ours, theirs = single.backbone.get_weights(), multi.backbone.get_weights()
    for a, b in zip(ours + single.heads[0].get_weights(),
                    theirs + multi.heads[0].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    moved = max(float(np.abs(a - c).max())
                for a, c in zip(ours, preset.backbone.get_weights()))
    assert moved > 1e-4, moved  # the multi-task run moved its encoder off the checkpoint

    missing = config("single", [intent], 1e-4, initial_weights=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"'backbone.initial_weights' \(.*nowhere\): no such"):
        train(missing, output=str(tmp_path / "other"), verbose=0, log=lambda *a: None)
    assert not os.path.exists(tmp_path / "other" / "model.keras")
