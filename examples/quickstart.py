"""Train ATIS intent + slots on the real MiniLM (2 layers), then predict and save.

    KERAS_BACKEND=jax python examples/quickstart.py [--epochs 3]

Prints dev metrics and the predictions for two utterances; about 2 minutes on
2 CPU cores with JAX.
"""

import argparse

import keras

from keras_mtl import MultiTaskModel, TaskSpec, make_dataset
from keras_mtl.callbacks import EpochProgress, RestoreBest
from keras_mtl.optimizers import AdamW
from keras_mtl.datasets import load_atis
from keras_mtl.training import evaluate_model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--output", default="saved_models/quickstart.keras")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    atis = load_atis()
    train = atis["train"]
    tasks = [
        TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
    ]
    model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2, sequence_length=64)
    # Keras' AdamW; on TensorFlow its update is one fused XLA program per variable.
    model.compile(AdamW(2e-4, weight_decay=0.01))

    train_ds = make_dataset(model.preprocessor, train, batch_size=32, shuffle=True)
    dev_ds = make_dataset(model.preprocessor, atis["dev"], unknown_labels="ignore")
    # Keep the epoch with the best dev intent accuracy; print the time left per epoch.
    best = RestoreBest("val_intent_accuracy")
    model.fit(train_ds, validation_data=dev_ds, epochs=args.epochs, verbose=2,
              callbacks=[best, EpochProgress(args.epochs)])
    print(f"kept epoch {best.best_epoch} (dev intent accuracy {best.best_value:.4f})")

    print("dev:", evaluate_model(model, atis["dev"]))
    texts = [
        "show me flights from boston to denver on monday",
        "what is the cheapest fare from dallas to baltimore",
    ]
    predictions = model.predict(texts)
    for i, text in enumerate(texts):
        print(text)
        print("  intent:", predictions["intent"]["labels"][i])
        print("  slots: ", list(zip(text.split(), predictions["slots"]["labels"][i])))
    model.save(args.output)
    print("saved", args.output)


if __name__ == "__main__":
    main()
