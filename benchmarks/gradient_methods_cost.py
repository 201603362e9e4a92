"""What PCGrad and FAMO cost per training step, against the plain summed gradient.

On real batches of the four-task mixture (ATIS intent + slots, WNUT-2016 NER, VADER
tweet sentiment) and the MiniLM backbone, it times the median `train_on_batch` of
the same model with each `gradient_method`:

* `none`: one backward pass of Σ wₜ Lₜ;
* `pcgrad`: one backward pass of the total plus one per task (T = 4) on the shared
  encoder, then the projections (a T×T Gram matrix);
* `pcgrad-top1`: the same with the surgery on the top transformer layer only (on
  TensorFlow and torch the per-task passes stop there; JAX's `jacrev` still runs
  them through the whole model);
* `famo`: one backward pass, plus one forward pass after the update (FAMO's loss
  change on the same batch).

Batches of one padded shape only, after two warm-up steps, so no compilation is
timed. Timings mean something only on an otherwise idle machine.

    python benchmarks/gradient_methods_cost.py --num-layers 2 --backend tensorflow \\
        --output benchmarks/results/gradient_methods_cost_tensorflow.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

METHODS = {"none": None, "pcgrad": "pcgrad",
           "pcgrad-top1": {"name": "pcgrad", "top_layers": 1}, "famo": "famo"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--length", type=int, default=24, help="the padded batch length timed")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import keras
    import numpy as np

    from keras_mtl import MultiTaskModel, TaskSpec
    from keras_mtl.data import TaskMixture
    from keras_mtl.datasets import load_atis, load_vader, load_wnut16

    data = {"atis": load_atis()["train"], "wnut16": load_wnut16()["train"],
            "vader": load_vader(domains=["tweets"], scheme="ternary")["train"].select(
                ["sentiment"])}
    labels = {"intent": data["atis"], "slots": data["atis"], "ner": data["wnut16"],
              "sentiment": data["vader"]}
    types = {"intent": "classification", "slots": "token_classification",
             "ner": "token_classification", "sentiment": "classification"}
    tasks = [TaskSpec(name, kind, labels=labels[name].label_set(name),
                      **({"pooling": "cls"} if kind == "classification" else {}))
             for name, kind in types.items()]
    results = {"backend": args.backend, "num_layers": args.num_layers,
               "machine": f"{platform.processor() or platform.machine()}, "
                          f"{os.cpu_count()} cores", "tasks": list(types), "batch": None,
               "step_ms": {}}
    batches = None
    for label, method in METHODS.items():
        keras.utils.set_random_seed(0)
        model = MultiTaskModel.from_preset("minilm", tasks, num_layers=args.num_layers,
                                           sequence_length=64, gradient_method=method)
        model.compile(keras.optimizers.AdamW(1e-5))
        if batches is None:
            mixture = TaskMixture(model.preprocessor, data, batch_size=32, epochs=1, seed=0)
            batches = [tuple({k: np.asarray(v) for k, v in part.items()} for part in batch)
                       for batch in mixture.dataset]
            batches = [b for b in batches if b[0]["token_ids"].shape == (32, args.length)]
            batches = batches[: args.repeats + 2]
            results["batch"] = [32, args.length]
        model.train_on_batch(*batches[0])
        model.train_on_batch(*batches[1])
        times = []
        for batch in batches[2:]:
            start = time.perf_counter()
            model.train_on_batch(*batch)
            times.append((time.perf_counter() - start) * 1000)
        results["step_ms"][label] = round(statistics.median(times), 2)
        keras.backend.clear_session()
        print(f"{label}: {results['step_ms'][label]} ms/step", flush=True)
    base = results["step_ms"]["none"]
    results["ratio"] = {label: round(ms / base, 3) for label, ms in results["step_ms"].items()}
    print(json.dumps(results, indent=2))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
