import keras
import pytest

from keras_mtl import TaskSpec
from keras_mtl.tasks import check_task_list


def test_defaults_come_from_the_type():
    spec = TaskSpec("intent", "classification", labels=["a", "b"])
    assert isinstance(spec.resolved_loss(), keras.losses.SparseCategoricalCrossentropy)
    assert [m.name for m in spec.resolved_metrics()] == ["accuracy"]
    reg = TaskSpec("rating", "regression")
    assert isinstance(reg.resolved_loss(), keras.losses.MeanSquaredError)


def test_user_losses_and_metrics_by_name_class_or_instance():
    spec = TaskSpec(
        "tags", "multi_label", labels=["x", "y"], loss="binary_focal_crossentropy",
        metrics=["binary_accuracy", keras.metrics.Precision(name="p")],
    )
    assert callable(spec.resolved_loss())
    assert [m.name for m in spec.resolved_metrics()][1] == "p"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="intent", type="sentiment"), "Unknown task type 'sentiment'"),
        (dict(name="intent", type="classification", labels=[]), "label set is empty"),
        (dict(name="intent", type="classification", labels=["a", "a"]), "duplicate labels"),
        (dict(name="intent", type="classification", labels=["a"]), "at least 2 labels"),
        (dict(name="intent", type="classification", labels="ab"), "list of names"),
        (dict(name="intent", type="classification", labels=["a", "b"], weight=-1), "weight must be >= 0"),
        (dict(name="intent", type="classification", labels=["a", "b"], pooling="max"), "pooling must be one of"),
        (dict(name="my intent", type="classification"), "Task name must be"),
        (dict(name="rating", type="regression", labels=["a"]), "takes no label set"),
    ],
)
def test_bad_specs_are_refused_with_the_offending_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaskSpec(**kwargs)


def test_duplicate_task_names_are_refused():
    a = TaskSpec("intent", "classification", labels=["a", "b"])
    with pytest.raises(ValueError, match=r"Duplicate task names: \['intent'\]"):
        check_task_list([a, a])


def test_unknown_label_names_the_task_and_label():
    spec = TaskSpec("intent", "classification", labels=["a", "b"])
    assert spec.label_id("b") == 1
    with pytest.raises(ValueError, match="Unknown label 'c' for task 'intent'"):
        spec.label_id("c")


def test_config_round_trip_is_identical():
    spec = TaskSpec(
        "slots", "token_classification", labels=["O", "B-x"], weight=0.5,
        loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"],
        hidden_dim=4,
    )
    config = spec.get_config()
    again = TaskSpec.from_config(config)
    assert again.get_config() == config
    assert again == spec


def test_with_labels_builds_a_ready_copy():
    spec = TaskSpec("intent", "classification")
    with pytest.raises(ValueError, match="has no labels"):
        spec.check_ready()
    ready = spec.with_labels(["x", "y"])
    ready.check_ready()
    assert ready.labels == ["x", "y"] and spec.labels is None
