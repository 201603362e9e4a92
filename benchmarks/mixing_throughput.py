"""Training throughput of a mixed 3-dataset, 4-task stream vs a single-task stream.

Both streams feed batches of the same size to the same MiniLM backbone, in one
process, timed alternately (A, B, A, B, ...) after a warm-up epoch that compiles
every padded length:

* single-task: a one-head model (ATIS slots) on `make_dataset` over the
  *same texts* as the mixture (ATIS + WNUT-2016 + VADER tweets, labels absent
  outside ATIS), so both see the same length distribution;
* four tasks, same texts: the 4-head model on `make_dataset` over those texts
  (separates the cost of the extra heads from the mixing pipeline);
* mixed: the 4-head model (intent, slots, ner, sentiment) on a `TaskMixture`
  (proportional sampler), partial labels masked per task;
* reference: the one-head model on ATIS alone (shorter texts).

Reports examples/s, real (non-padding) tokens/s and the mixed / single-task
ratio of examples/s (the issue's budget: within 10 %).

    python benchmarks/mixing_throughput.py --backend tensorflow --num-layers 2
"""

import argparse
import json
import os
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60, help="Steps per timed epoch.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import warnings

    import keras
    import numpy as np

    from keras_mtl import LabeledTexts, MultiTaskModel, TaskSpec, make_dataset
    from keras_mtl.data import TaskMixture
    from keras_mtl.datasets import load_atis, load_vader, load_wnut16

    warnings.filterwarnings("ignore")
    atis = load_atis()["train"]
    wnut = load_wnut16()["train"]
    vader = load_vader(domains=["tweets"])["train"].select(["sentiment"])
    tasks = [
        TaskSpec("intent", "classification", labels=atis.label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=atis.label_set("slots")),
        TaskSpec("ner", "token_classification", labels=wnut.label_set("ner")),
        TaskSpec("sentiment", "classification", labels=vader.label_set("sentiment"), pooling="cls"),
    ]
    examples = args.steps * args.batch_size

    def build(task_subset):
        keras.utils.set_random_seed(0)
        model = MultiTaskModel.from_preset(
            "minilm", task_subset, num_layers=args.num_layers, sequence_length=64
        )
        model.compile(keras.optimizers.AdamW(1e-4))
        return model

    mixed_model = build(tasks)
    mixture = TaskMixture(
        mixed_model.preprocessor, {"atis": atis, "wnut16": wnut, "vader": vader},
        batch_size=args.batch_size, epochs=1 + args.repeats, examples_per_epoch=examples,
    )
    single_model = build(tasks[1:2])
    # The same texts in the same proportions as the mixture's epoch.
    counts = mixture.counts(0)
    rng = np.random.default_rng(0)
    parts = []
    for data, count in zip((atis, wnut, vader), counts):
        parts.append(data.subset(rng.choice(len(data), size=count, replace=count > len(data))))
    same_texts = LabeledTexts.combine(parts)
    # One task (slots; absent outside ATIS) ...
    single_ds = make_dataset(
        single_model.preprocessor, same_texts.select(["slots"]), args.batch_size, shuffle=True
    )
    # ... and all four tasks through the single-dataset pipeline: separates the cost
    # of the extra heads from the cost of the mixing pipeline.
    four_heads_ds = make_dataset(mixed_model.preprocessor, same_texts, args.batch_size,
                                 shuffle=True)
    atis_ds = make_dataset(
        single_model.preprocessor, atis.select(["slots"]).subset(range(examples)),
        args.batch_size, shuffle=True,
    )

    def real_tokens(ds):
        total = batches = 0
        for x, _, _ in ds:
            total += int(np.asarray(x["padding_mask"]).sum())
            batches += 1
        return total, batches

    streams = {
        "single_task_same_texts": (single_model, single_ds, []),
        "four_tasks_same_texts": (mixed_model, four_heads_ds, []),
        "mixed_4_tasks": (mixed_model, mixture.dataset, [mixture.callback]),
        "single_task_atis_only": (single_model, atis_ds, []),
    }
    stats = {}
    for name, (model, ds, callbacks) in streams.items():
        if name == "mixed_4_tasks":
            mixture.set_epoch(0)
        tokens, batches = real_tokens(ds)
        stats[name] = {"tokens_per_epoch": tokens, "batches_per_epoch": batches, "seconds": []}
        model.fit(ds, epochs=1, verbose=0, callbacks=callbacks)  # warm-up: compiles shapes
    for repeat in range(args.repeats):
        for name, (model, ds, callbacks) in streams.items():
            start = time.perf_counter()
            model.fit(ds, epochs=2 + repeat, initial_epoch=1 + repeat, verbose=0,
                      callbacks=callbacks)
            stats[name]["seconds"].append(time.perf_counter() - start)
    report = {"backend": args.backend, "num_layers": args.num_layers,
              "batch_size": args.batch_size, "repeats": args.repeats, "streams": {}}
    for name, s in stats.items():
        seconds = statistics.median(s["seconds"])
        report["streams"][name] = {
            "examples_per_s": round(s["batches_per_epoch"] * args.batch_size / seconds, 1),
            "real_tokens_per_s": round(s["tokens_per_epoch"] / seconds, 1),
            "median_epoch_s": round(seconds, 2),
            "batches": s["batches_per_epoch"],
        }
    rate = {name: r["examples_per_s"] for name, r in report["streams"].items()}
    for key, a, b in (
        ("mixed_vs_single_task_same_texts", "mixed_4_tasks", "single_task_same_texts"),
        ("four_tasks_vs_single_task_same_texts", "four_tasks_same_texts", "single_task_same_texts"),
        ("mixed_vs_four_tasks_same_texts", "mixed_4_tasks", "four_tasks_same_texts"),
    ):
        report[key] = round(rate[a] / rate[b], 3)
    print(json.dumps(report, indent=2))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
