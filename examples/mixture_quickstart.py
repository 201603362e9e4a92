"""One model, three datasets: ATIS (intent + slots), WNUT-2016 (NER) and VADER tweets
(sentiment) mixed in every batch, on the real MiniLM (2 layers).

    KERAS_BACKEND=jax python examples/mixture_quickstart.py [--examples 600] [--epochs 2]
        [--sharing hard|partial] [--sampler temperature]

Prints each task's test metric on its own dataset's test split and one prediction
with all four tasks.
"""

import argparse

import keras

from keras_mtl import LabeledTexts, MultiTaskModel, TaskSpec, make_dataset
from keras_mtl.data import TaskMixture
from keras_mtl.datasets import load_atis, load_vader, load_wnut16
from keras_mtl.training import evaluate_model, format_metrics


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=600, help="Training examples per dataset.")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sharing", choices=["hard", "partial"], default="hard")
    parser.add_argument("--sampler", default="temperature")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    atis, wnut = load_atis(), load_wnut16()
    vader = {s: d.select(["sentiment"]) for s, d in load_vader(domains=["tweets"]).items()}
    datasets = {"atis": atis, "wnut16": wnut, "vader": vader}
    train = {name: splits["train"].subset(range(args.examples)) for name, splits in datasets.items()}
    tasks = [
        TaskSpec("intent", "classification", labels=train["atis"].label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=train["atis"].label_set("slots")),
        TaskSpec("ner", "token_classification", labels=train["wnut16"].label_set("ner")),
        TaskSpec("sentiment", "classification", labels=train["vader"].label_set("sentiment"),
                 pooling="cls"),
    ]
    model = MultiTaskModel.from_preset(
        "minilm", tasks, num_layers=2, sequence_length=64, sharing=args.sharing
    )
    model.compile(keras.optimizers.AdamW(5e-4))
    mixture = TaskMixture(model.preprocessor, train, sampler=args.sampler,
                          batch_size=32, epochs=args.epochs)
    print(mixture)
    dev = LabeledTexts.combine([splits["dev"] for splits in datasets.values()])
    model.fit(
        mixture.dataset,
        validation_data=make_dataset(model.preprocessor, dev, unknown_labels="ignore"),
        epochs=args.epochs,
        callbacks=[mixture.callback],
        verbose=2,
    )
    test = LabeledTexts.combine([splits["test"] for splits in datasets.values()])
    print(format_metrics({"test": evaluate_model(model, test)}))
    text = "show me flights from boston to denver on monday"
    prediction = model.predict([text])
    print(text, {task: prediction[task]["labels"][0] for task in model.task_names})


if __name__ == "__main__":
    main()
