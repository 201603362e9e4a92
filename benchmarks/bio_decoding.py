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
    from keras_mtl.metrics.entity_f1 import entity_scores
    from keras_mtl.training import combined_split, load_data, load_run, predict_split

    model, config = load_run(args.run)
    tasks = [t for t in model.tasks if t.type == "token_classification"]
    if not tasks:
        sys.exit(f"{args.run}: the model has no token_classification task.")
    datasets = load_data(resolve_config(config)["data"], model.task_names)
    results = {"run": args.run, "backend": args.backend, "tasks": {}}
    for split in args.splits:
        data = combined_split(datasets, split)
        if data is None:
            continue
        chosen = {}
        for decoding in ("argmax", "bio"):
            # The preprocessor decodes with its own copy of the task specs.
            for task in list(tasks) + list(model.preprocessor.tasks):
                if task.type == "token_classification":
                    task.decoding = decoding
            chosen[decoding] = predict_split(model, data)
        for task in tasks:
            gold = data.labels[task.name]
            rows = [i for i, tags in enumerate(gold) if tags is not None]
            entry = {"texts": len(rows)}
            for decoding, predictions in chosen.items():
                predicted = [[t or "O" for t in predictions[task.name]["labels"][i]] for i in rows]
                scores = entity_scores([gold[i] for i in rows], predicted)
                entry[f"{decoding}_f1"] = round(100 * scores["f1"], 2)
            entry["texts_changed"] = sum(
                chosen["argmax"][task.name]["labels"][i] != chosen["bio"][task.name]["labels"][i]
                for i in rows)
            results["tasks"].setdefault(task.name, {})[split] = entry
            print(f"{task.name} {split}: argmax {entry['argmax_f1']:.2f}, bio "
                  f"{entry['bio_f1']:.2f} entity F1; {entry['texts_changed']} of "
                  f"{len(rows)} texts changed.")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
