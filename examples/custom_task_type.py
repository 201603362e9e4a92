"""A task type of your own, end to end: define it, register it, train it next to a
built-in task, evaluate it, and read it back from `.keras`, a SavedModel and an edge
bundle.

    KERAS_BACKEND=tensorflow python examples/custom_task_type.py [--examples 2000]

The `polarity` type scores one value in [-1, 1] per text (tanh), is trained towards
+1 / -1 on VADER's human ratings (positive / negative mean rating; neutral texts
are unlabelled) and decodes by its sign. It sits beside the built-in
`regression` task on the same ratings. About 3 minutes on 2 CPU cores.
"""

import argparse
import os
import tempfile

import keras
import numpy as np

from keras_mtl import LabeledTexts, MultiTaskModel, TaskSpec, make_dataset
from keras_mtl.datasets import load_vader
from keras_mtl.edge import EdgeModel
from keras_mtl.export import export_edge_bundle, export_saved_model
from keras_mtl.metrics import evaluate_predictions
from keras_mtl.tasks import RegressionType, register_task_type


class PolarityType(RegressionType):
    """A regression head squashed by tanh; labels "positive" / "negative".

    Subclassing `RegressionType` reuses its target handling (NaN = missing) and
    its SavedModel value output; the rest is this type's own.
    """

    name = "polarity"
    needs_labels = False
    primary_metric = ("accuracy", True)
    signs = {"negative": -1.0, "positive": 1.0}

    def encode(self, spec, label, num_words=None, unknown="error"):
        if label is None or (unknown == "ignore" and label not in self.signs):
            return self.missing(spec)
        if label not in self.signs:
            raise ValueError(f"task '{spec.name}': labels are {sorted(self.signs)}, got {label!r}")
        return np.array([self.signs[label]], "float32")

    def build_head(self, spec, dtype=None):
        from keras_mtl.heads import SentenceHead

        return SentenceHead(1, pooling=spec.pooling, activation="tanh",
                            dropout=spec.dropout, dtype=dtype, name=spec.name)

    def decode(self, spec, scores, word_positions=None):
        value = float(np.asarray(scores).reshape(-1)[0])
        return ("positive" if value >= 0 else "negative"), np.asarray(scores)

    def to_json(self, spec, label, scores):
        return {"label": label, "value": float(np.asarray(scores).reshape(-1)[0])}

    def evaluate(self, spec, gold, predicted):
        right = [g == p for g, p in zip(gold, predicted)]
        return {"accuracy": float(np.mean(right))}, right

    def from_serving(self, spec, outputs, num_words):
        values = [float(v) for v in outputs["value"]]
        return ["positive" if v >= 0 else "negative" for v in values], values


register_task_type(PolarityType())


def with_polarity(data):
    """VADER texts with a `polarity` column from the mean rating (|mean| ≤ 0.5: none)."""
    polarity = [None if abs(score) <= 0.5 else ("positive" if score > 0 else "negative")
                for score in data.labels["sentiment_score"]]
    return LabeledTexts(data.texts, {"polarity": polarity,
                                     "rating": data.labels["sentiment_score"]}, name=data.name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    vader = load_vader(domains=["tweets"])
    train = with_polarity(vader["train"]).subset(range(min(args.examples, len(vader["train"]))))
    test = with_polarity(vader["test"])
    tasks = [TaskSpec("polarity", "polarity", pooling="cls"),
             TaskSpec("rating", "regression", pooling="cls")]
    model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2, sequence_length=64)
    model.compile(keras.optimizers.Adam(5e-5))
    model.fit(make_dataset(model.preprocessor, train, shuffle=True), epochs=args.epochs)

    predictions = model.predict(test.texts)
    report = evaluate_predictions(model.tasks, test, predictions)
    print("test polarity accuracy", round(report["polarity"]["accuracy"], 4),
          "| rating MAE", round(report["rating"]["mae"], 3))

    texts = ["I love this phone", "worst service ever", "the package arrived on tuesday"]
    expected = model.predict(texts)["polarity"]["labels"]
    with tempfile.TemporaryDirectory() as tmp:
        model.save(os.path.join(tmp, "model.keras"))
        again = keras.saving.load_model(os.path.join(tmp, "model.keras"))
        assert again.predict(texts)["polarity"]["labels"] == expected
        export_saved_model(model, os.path.join(tmp, "serving", "1"))
        import tensorflow as tf

        serve = tf.saved_model.load(os.path.join(tmp, "serving", "1")).signatures["serving_default"]
        values = serve(text=tf.constant(texts))["polarity_value"].numpy()
        assert ["positive" if v >= 0 else "negative" for v in values] == expected
        export_edge_bundle(model, os.path.join(tmp, "edge"))
        assert EdgeModel(os.path.join(tmp, "edge")).predict(texts)["polarity"]["labels"] == expected
    for text, label in zip(texts, expected):
        print(f"{label:>8}  {text}")
    print("Same labels from Keras, .keras, the SavedModel and the edge bundle.")


if __name__ == "__main__":
    main()
