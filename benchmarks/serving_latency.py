"""Serving latency of one keras_mtl model through every runtime, side by side.

What is measured (one process, TensorFlow backend, one configuration at a time):

* end-to-end latency from raw strings to per-task scores, median and p90 over
  `--requests` calls, at batch 1 and batch 32, of real ATIS test utterances:
  - Keras: the preprocessor's TF graph, then `predict_on_batch` (not `predict`,
    which rebuilds its pipeline on every call),
  - the SavedModel's `serving_default` signature (strings in),
  - onnxruntime fp32 and int8 through `keras_mtl.edge.EdgeModel` (Hugging Face
    `tokenizers` + onnxruntime), which is what an edge device runs, and fp32
    with the pure-Python reference tokenizer (`tokenizer="python"`);
* that the edge runtime packs exactly the token ids of the model's TF graph on
  every ATIS test utterance (both tokenizers);
* size on disk of each artefact;
* with `--run` (a trained ATIS run folder): ATIS test metrics of the fp32 and int8
  ONNX models, to show what quantization costs;
* one 3-task model (intent, slots, and a third sentence head) against three
  single-task models answering the same requests (onnxruntime fp32): latency and
  memory (resident memory added by loading the sessions, and file sizes).

    python benchmarks/serving_latency.py --run saved_models/atis_minilm2 --num-layers 2

Without `--run`, an untrained model of `--num-layers` layers is used (latency and
size only). Timings are only meaningful on an otherwise idle machine.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def timed(fns, batches, repeats, rounds=3):
    """Median and p90 milliseconds of each `fns[name](batch)` over `repeats`
    requests (cycling through `batches`).

    The runtimes take turns in blocks: `rounds` rounds, each giving every
    runtime two untimed requests, then its share of the timed ones. The machine's
    drift during the run so weighs on all of them alike, while no request follows
    another runtime's directly (on two cores the thread pools of TensorFlow and
    onnxruntime keep spinning for a while after a call, and slow each other).
    """
    names = list(fns)
    times = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names:
            fns[name](batches[0])  # traces, session initialisation, threads settled
            fns[name](batches[-1])
            for i in range(round_, repeats, rounds):
                batch = batches[i % len(batches)]
                start = time.perf_counter()
                fns[name](batch)
                times[name].append((time.perf_counter() - start) * 1000)
    summary = {}
    for name, values in times.items():
        values.sort()
        summary[name] = {"median_ms": statistics.median(values),
                         "p90_ms": values[int(0.9 * (len(values) - 1))]}
    return summary


def size_mb(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 2**20
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2**20


def rss_mb():
    """Current resident memory of this process (not the peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_model(args, atis):
    import keras_mtl
    from keras_mtl import MultiTaskModel, TaskSpec

    if args.run:
        path = os.path.join(args.run, "model.keras") if os.path.isdir(args.run) else args.run
        return keras_mtl.load_model(path)
    tasks = [
        TaskSpec("intent", "classification", labels=atis["train"].label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=atis["train"].label_set("slots")),
    ]
    return MultiTaskModel.from_preset("minilm", tasks, num_layers=args.num_layers, sequence_length=64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="trained run folder (or model.keras)")
    parser.add_argument("--num-layers", type=int, default=6)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "serving_latency.json"))
    args = parser.parse_args()

    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from keras_mtl import MultiTaskModel, TaskSpec
    from keras_mtl.datasets import load_atis
    from keras_mtl.edge import EdgeModel
    from keras_mtl.export import export_edge_bundle, export_saved_model
    from keras_mtl.metrics import evaluate_predictions

    atis = load_atis()
    test = atis["test"]
    model = build_model(args, atis)
    recorded = {k: os.path.relpath(v) if k in ("run", "output") and v else v for k, v in vars(args).items()}
    results = {"args": recorded, "layers": model.backbone.num_layers, "latency": {}, "size_mb": {}}
    work = tempfile.mkdtemp(prefix="serving_latency_")
    keras_path = os.path.join(work, "model.keras")
    model.save(keras_path)
    saved = export_saved_model(model, os.path.join(work, "serving", "1"))
    fp32 = export_edge_bundle(model, os.path.join(work, "edge_fp32"))
    int8 = export_edge_bundle(model, os.path.join(work, "edge_int8"), quantize="int8")
    results["size_mb"] = {
        "keras": size_mb(keras_path), "saved_model": size_mb(saved),
        "onnx_fp32": size_mb(os.path.join(fp32, "model.onnx")),
        "onnx_int8": size_mb(os.path.join(int8, "model.onnx")),
    }

    serve = tf.saved_model.load(saved).signatures["serving_default"]
    edges = {"onnx_fp32": EdgeModel(fp32), "onnx_int8": EdgeModel(int8)}
    python_tokenizer = EdgeModel(fp32, tokenizer="python")
    results["edge_tokenizer"] = type(edges["onnx_fp32"].tokenizer).__name__
    preprocessor = model.preprocessor
    graph = preprocessor.encode(test.texts)
    graph_ids = [list(map(int, row)) for row in graph["token_ids"].to_list()]
    results["token_ids_identical_to_graph"] = {
        name: sum(e[0] == g for e, g in zip(edge.encode_batch(test.texts), graph_ids))
        / len(graph_ids)
        for name, edge in (("fast", edges["onnx_fp32"]), ("python", python_tokenizer))
    }

    def keras_call(texts):
        x, _, _ = preprocessor.pack(preprocessor.encode(texts))
        return model.predict_on_batch(x)

    runtimes = {
        "keras_predict_on_batch": keras_call,
        "saved_model_signature": lambda texts: serve(text=tf.constant(texts)),
        "onnx_fp32": lambda texts: edges["onnx_fp32"].predict(texts, batch_size=64),
        "onnx_int8": lambda texts: edges["onnx_int8"].predict(texts, batch_size=64),
        "onnx_fp32_python_tokenizer": lambda texts: python_tokenizer.predict(texts, batch_size=64),
    }
    for batch_size in (1, 32):
        count = min(32, len(test.texts) // batch_size)  # full batches only
        batches = [test.texts[i * batch_size : (i + 1) * batch_size] for i in range(count)]
        print(f"batch {batch_size}: {', '.join(runtimes)} ...", flush=True)
        for name, summary in timed(runtimes, batches, args.requests).items():
            results["latency"][f"{name}@{batch_size}"] = summary

    if args.run:
        results["accuracy"] = {
            name: evaluate_predictions(model.tasks, test, edge.predict(test.texts, batch_size=64))
            for name, edge in edges.items()
        }

    # One 3-task model vs three single-task models (untrained heads: latency/memory only).
    labels = {spec.name: spec for spec in model.tasks}
    third = TaskSpec("domain", "classification", labels=["air", "ground", "other"], pooling="cls")
    specs = [labels["intent"], labels["slots"], third]
    layers = model.backbone.num_layers
    edge_dirs = {}
    multi = MultiTaskModel.from_preset("minilm", specs, num_layers=layers, sequence_length=64)
    edge_dirs["three_task"] = export_edge_bundle(multi, os.path.join(work, "three_task"))
    for spec in specs:
        single = MultiTaskModel.from_preset("minilm", [spec], num_layers=layers, sequence_length=64)
        edge_dirs[spec.name] = export_edge_bundle(single, os.path.join(work, f"single_{spec.name}"))
    requests = [test.texts[i : i + 1] for i in range(32)]
    before = rss_mb()
    multi_edge = EdgeModel(edge_dirs["three_task"])
    multi_rss = rss_mb() - before
    before = rss_mb()
    singles = [EdgeModel(edge_dirs[s.name]) for s in specs]
    singles_rss = rss_mb() - before
    both = timed({"three_task": multi_edge.predict,
                  "three_single": lambda t: [e.predict(t) for e in singles]}, requests, args.requests)
    multi_latency, singles_latency = both["three_task"], both["three_single"]
    multi_size = size_mb(os.path.join(edge_dirs["three_task"], "model.onnx"))
    singles_size = sum(size_mb(os.path.join(edge_dirs[s.name], "model.onnx")) for s in specs)
    results["three_task_vs_three_single"] = {
        "latency_ms": {"three_task": multi_latency, "three_single": singles_latency},
        "latency_ratio": multi_latency["median_ms"] / singles_latency["median_ms"],
        "onnx_mb": {"three_task": multi_size, "three_single": singles_size},
        "size_ratio": multi_size / singles_size,
        "rss_added_mb": {"three_task": multi_rss, "three_single": singles_rss},
    }

    lines = [f"Serving latency, MiniLM {layers} layers, ATIS test utterances, "
             f"{args.requests} requests per cell (median / p90 ms)", "",
             "| runtime | batch 1 | batch 32 | vs SavedModel (1) | vs SavedModel (32) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    latency = results["latency"]
    base = {n: latency[f"saved_model_signature@{n}"]["median_ms"] for n in (1, 32)}
    for name in runtimes:
        one, many = latency[f"{name}@1"], latency[f"{name}@32"]
        lines.append(f"| {name} | {one['median_ms']:.1f} / {one['p90_ms']:.1f} | "
                     f"{many['median_ms']:.1f} / {many['p90_ms']:.1f} | "
                     f"{one['median_ms'] / base[1]:.2f}× | {many['median_ms'] / base[32]:.2f}× |")
    results["int8_speedup"] = {
        n: latency[f"onnx_fp32@{n}"]["median_ms"] / latency[f"onnx_int8@{n}"]["median_ms"] for n in (1, 32)
    }
    lines += ["", f"int8 vs fp32 (onnxruntime): {results['int8_speedup'][1]:.2f}× faster at batch 1, "
              f"{results['int8_speedup'][32]:.2f}× at batch 32. Edge tokenizer: "
              f"{results['edge_tokenizer']}; ATIS test texts whose ids equal the graph's: "
              + ", ".join(f"{k} {v * 100:.1f} %" for k, v in results["token_ids_identical_to_graph"].items())]
    lines += ["", "| artefact | MB |", "| --- | ---: |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in results["size_mb"].items()]
    t = results["three_task_vs_three_single"]
    lines += ["", f"3-task model vs 3 single-task models (batch 1, onnxruntime fp32): latency "
              f"{t['latency_ratio']:.2f}×, ONNX size {t['size_ratio']:.2f}×, resident memory "
              f"{t['rss_added_mb']['three_task']:.0f} vs {t['rss_added_mb']['three_single']:.0f} MB"]
    if "accuracy" in results:
        for name, report in results["accuracy"].items():
            lines.append(f"{name}: intent {report['intent']['accuracy'] * 100:.2f}, slot F1 "
                         f"{report['slots']['f1'] * 100:.2f}, sentence {report['sentence_accuracy'] * 100:.2f}")
    results["table"] = "\n".join(lines)
    print(results["table"])
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2, default=float)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
