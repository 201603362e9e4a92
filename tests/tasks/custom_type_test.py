"""A task type written outside the package runs the whole path: fit → evaluate →
`.keras` → SavedModel (fresh process) → edge bundle (fresh process), with
identical labels, and without any change to the library."""


import keras
import numpy as np
import pytest
from polarity_type import POLARITY

from keras_mtl import LabeledTexts, TaskSpec, evaluate_predictions, load_model, make_dataset
from keras_mtl.tasks import TaskType, get_task_type, register_task_type
from tests.conftest import INTENTS, TEXTS, artefact_labels, tiny_model

POLARITIES = ["positive", "positive", "negative", "negative"]


def _data(repeat=4):
    return LabeledTexts(
        TEXTS * repeat,
        {"intent": ["atis_flight", "atis_flight", "atis_airfare", "atis_airfare"] * repeat,
         "mood": POLARITIES * repeat},
        name="tiny",
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(0)
    tasks = [
        TaskSpec("intent", "classification", labels=INTENTS, pooling="cls"),
        TaskSpec("mood", "polarity", pooling="cls"),
    ]
    model = tiny_model(tasks)
    model.compile(keras.optimizers.Adam(3e-2))
    data = _data()
    # Unshuffled, every batch holds the four distinct texts; shuffled batches are grouped
    # by length, which here means four copies of one text per batch.
    model.fit(make_dataset(model.preprocessor, data, batch_size=4, shuffle=False), epochs=6,
              verbose=0)
    return model, data, tmp_path_factory.mktemp("custom")


def test_the_custom_type_trains_and_evaluates(trained):
    model, data, _ = trained
    assert get_task_type("polarity") is POLARITY
    predictions = model.predict(data.texts)
    assert set(predictions["mood"]["labels"]) <= {"positive", "negative"}
    report = evaluate_predictions(model.tasks, data, predictions)
    # The type's own evaluation (accuracy of the decoded sign) and it learned.
    assert report["mood"]["count"] == len(data)
    assert report["mood"]["accuracy"] == 1.0


def test_the_custom_type_survives_keras_savedmodel_and_edge(trained):
    model, data, tmp = trained
    texts = TEXTS
    expected = model.predict(texts)["mood"]["labels"]
    path = str(tmp / "model.keras")
    model.save(path)
    assert load_model(path).predict(texts)["mood"]["labels"] == expected

    for got in artefact_labels(model, str(tmp), texts):
        assert got["mood"] == expected
    scores = np.stack(model.predict(texts)["mood"]["scores"])
    assert scores.shape == (len(texts), 1)


def test_a_type_missing_a_method_is_refused_by_name():
    class Half(TaskType):
        name = "half"
        primary_metric = ("accuracy", True)

        def encode(self, spec, label, num_words=None, unknown="error"):
            return 0

    with pytest.raises(ValueError, match=r"'half' \(Half\) does not implement \['missing', "
                                          r"'build_head'"):
        register_task_type(Half)
    with pytest.raises(ValueError, match="Unknown task type 'half'.*register_task_type"):
        TaskSpec("x", "half")


def test_a_type_without_a_primary_metric_is_refused():
    class NoMetric(type(POLARITY)):
        name = "no_metric"
        primary_metric = None

    with pytest.raises(ValueError, match="primary_metric must be"):
        register_task_type(NoMetric)
