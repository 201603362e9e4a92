"""What a GradNorm update costs, as a fraction of a training epoch.

GradNorm measures per-task gradient norms at the last shared layer on a held
batch: one forward pass and K backward passes, every `update_every` steps. This
script times, on real ATIS batches and the MiniLM backbone, the median training
step (`train_on_batch`) and the median GradNorm measurement
(`task_losses_and_gradients`), then reports the implied per-epoch cost ratio
against equal weighting for several `update_every` values:

    ratio = 1 + t_measure / (update_every · t_step)

DWA, performance, random and static weighting only do numpy work at epoch ends
(cost ratio 1.00); uncertainty weighting adds K trainable scalars to the loss.

    python benchmarks/gradnorm_cost.py --num-layers 6 --backend tensorflow
"""

import argparse
import json
import os
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-layers", type=int, default=6)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import keras
    import numpy as np

    from keras_mtl import MultiTaskModel, TaskSpec, make_dataset
    from keras_mtl.callbacks.task_gradients import shared_variables, task_losses_and_gradients
    from keras_mtl.datasets import load_atis

    atis = load_atis()
    train = atis["train"]
    tasks = [
        TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
    ]
    model = MultiTaskModel.from_preset("minilm", tasks, num_layers=args.num_layers, sequence_length=64)
    model.compile(keras.optimizers.AdamW(1e-5))
    # Batches of one padded length, so that timing sees no compilation.
    batches = [
        tuple({k: np.asarray(v) for k, v in part.items()} for part in batch)
        for batch in make_dataset(model.preprocessor, train, batch_size=32, bucket_step=8)
    ]
    length = 24
    batches = [b for b in batches if b[0]["token_ids"].shape == (32, length)][: args.repeats + 2]
    variables = shared_variables(model)

    def median_ms(fn):
        fn(batches[0])
        fn(batches[1])
        times = []
        for batch in batches[2:]:
            start = time.perf_counter()
            fn(batch)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    step = median_ms(lambda b: model.train_on_batch(*b))
    measure = median_ms(lambda b: task_losses_and_gradients(model, *b, variables))
    result = {
        "backend": args.backend, "num_layers": args.num_layers, "batch": [32, length],
        "train_step_ms": step, "gradnorm_measure_ms": measure,
        "epoch_cost_ratio": {str(n): 1 + measure / (n * step) for n in (1, 10, 20, 50)},
    }
    print(json.dumps(result, indent=2))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
