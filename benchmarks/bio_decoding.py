"""Entity F1 of a trained run's BIO tasks with argmax and with BIO-constrained decoding.

Same model, same scores; only the decoding of the words' tag probabilities changes
(`TaskSpec(decoding="argmax" | "bio")`, `keras_mtl.tasks.bio`). For each
`token_classification` task and split of the run's data, it prints entity F1 under
both decodings and how many texts' tags differ.

    python benchmarks/bio_decoding.py saved_models/atis_minilm6 --backend jax \\
        --output benchmarks/results/bio_decoding_atis_minilm6.json
"""

import argparse
import json
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a `keras-mtl train` output folder")
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    from keras_mtl.config import resolve_config
    from keras_mtl.metrics.evaluation import evaluate_predictions
    from keras_mtl.training import combined_split, load_data, load_run, predict_split

    model, config = load_run(args.run)
    tasks = [t for t in model.tasks if t.type == "token_classification"]
    if not tasks:
        sys.exit(f"{args.run}: the model has no token_classification task.")
    datasets = load_data(resolve_config(config)["data"], model.task_names)
    results = {"run": args.run, "backend": args.backend, "splits": {}}
    for split in args.splits:
        data = combined_split(datasets, split)
        if data is None:
            continue
        predictions, metrics = {}, {}
        for decoding in ("argmax", "bio"):
            for task in tasks:
                task.decoding = decoding
            predictions[decoding] = predict_split(model, data)
            metrics[decoding] = evaluate_predictions(model.tasks, data, predictions[decoding])
        entry = {"metrics": metrics, "texts_changed": {}}
        for task in tasks:
            changed = sum(a != b for a, b in zip(predictions["argmax"][task.name]["labels"],
                                                 predictions["bio"][task.name]["labels"]))
            entry["texts_changed"][task.name] = changed
            print(f"{task.name} {split}: entity F1 argmax "
                  f"{100 * metrics['argmax'][task.name]['f1']:.2f}, bio "
                  f"{100 * metrics['bio'][task.name]['f1']:.2f}; {changed} of {len(data)} "
                  "texts changed.")
        if "sentence_accuracy" in metrics["bio"]:
            print(f"sentence accuracy {split}: argmax "
                  f"{100 * metrics['argmax']['sentence_accuracy']:.2f}, bio "
                  f"{100 * metrics['bio']['sentence_accuracy']:.2f}.")
        results["splits"][split] = entry
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
