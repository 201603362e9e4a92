"""Equal weighting vs adaptive task weighting on ATIS, several seeds, one invocation.

Runs `keras-mtl train` once per (method, seed), one after the other in fresh
processes, on the same config (default: the embedded ATIS MiniLM job), and reports
per method the mean ± sample std over seeds of the ATIS test metrics, and the fit time per
epoch as a ratio to equal weighting (same machine, same run of this script).

    python benchmarks/weighting_comparison.py --num-layers 2 --epochs 6 --seeds 0 1 2

Writes `--output`/summary.json and prints a Markdown table. Fit times are only
comparable on an otherwise idle machine.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import yaml

METHODS = {
    "equal": None,
    "dwa": {"strategy": "dwa", "temperature": 2.0},
    "uncertainty": {"strategy": "uncertainty"},
    "gradnorm": {"strategy": "gradnorm", "alpha": 1.5, "update_every": 20},
    "performance": {"strategy": "performance", "temperature": 0.1},
    # Lag measured against fixed targets instead of each task's best so far.
    "performance_target": {
        "strategy": "performance", "temperature": 0.1,
        "targets": {"intent": 0.99, "slots": 0.99},
    },
    "random": {"strategy": "random"},
    # Fixed weights favouring the slot task (GradNorm's own weights settle near
    # 0.8 : 1.2 for intent : slots).
    "static_slots2": {"strategy": "static", "weights": {"slots": 2.0}},
    # The point between equal weights and 2 : 1, for a weight chosen on dev.
    "static_slots1_5": {"strategy": "static", "weights": {"slots": 1.5}},
}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scores(split):
    """A split's ATIS scores from `metrics.json`, as fractions."""
    return {
        "intent_accuracy": split["intent"]["accuracy"],
        "slot_f1": split["slots"]["f1"],
        "sentence_accuracy": split["sentence_accuracy"],
    }


def run(method, seed, args):
    with open(args.config) as f:
        config = yaml.safe_load(f)
    config["backbone"]["num_layers"] = args.num_layers
    config["training"]["epochs"] = args.epochs
    config["training"]["seed"] = seed
    if args.mixed_precision:
        precision = None if args.mixed_precision == "null" else args.mixed_precision
        config["training"]["mixed_precision"] = precision
    if METHODS[method] is None:
        config.pop("weighting", None)
    else:
        config["weighting"] = dict(METHODS[method])
        if method == "random":
            config["weighting"]["seed"] = seed
    output = os.path.join(args.output, f"{method}_seed{seed}")
    metrics_path = os.path.join(output, "metrics.json")
    if not os.path.exists(metrics_path):  # finished runs are reused: the script resumes
        # Beside the run's folder: `train` refuses a folder holding other files.
        os.makedirs(args.output, exist_ok=True)
        config_path = output + ".yaml"
        with open(config_path, "w") as f:
            yaml.safe_dump(config, f)
        env = dict(os.environ, KERAS_BACKEND=args.backend)
        subprocess.run(
            [sys.executable, "-m", "keras_mtl.cli", "train", config_path, "--output", output],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )
    with open(metrics_path) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "keras_mtl", "configs", "atis_minilm2.yaml"))
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--mixed-precision", default=None,
                        help="Set training.mixed_precision, e.g. mixed_bfloat16, or null for float32 "
                             "(default: the config's).")
    parser.add_argument("--output", default=os.path.join(REPO, "saved_models", "weighting_comparison"))
    args = parser.parse_args()

    results = {}
    for method in args.methods:
        for seed in args.seeds:
            print(f"{method} seed {seed} ...", flush=True)
            results.setdefault(method, []).append(run(method, seed, args))

    def stats(values):
        # Sample standard deviation (n - 1), as the docs quote it; 0 for one seed.
        return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    summary = {}
    for method, runs in results.items():
        test = [scores(r["test"]) for r in runs]
        summary[method] = {key: stats([t[key] * 100 for t in test]) for key in test[0]}
        summary[method]["fit_seconds_per_epoch"] = stats(
            [r["fit_seconds"] / args.epochs for r in runs])
    base = summary.get("equal", {}).get("fit_seconds_per_epoch", (None,))[0]
    lines = [
        f"ATIS test, MiniLM {args.num_layers} layers, {args.epochs} epochs, seeds {args.seeds}, "
        f"backend {args.backend}; mean ± sample std over seeds",
        "",
        "| method | intent acc | slot F1 | sentence acc | s/epoch | cost vs equal |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method, s in summary.items():
        cost = s["fit_seconds_per_epoch"][0]
        ratio = f"{cost / base:.2f}×" if base else "—"
        s["cost_ratio_vs_equal"] = cost / base if base else None
        lines.append(
            f"| {method} | {s['intent_accuracy'][0]:.2f} ± {s['intent_accuracy'][1]:.2f} "
            f"| {s['slot_f1'][0]:.2f} ± {s['slot_f1'][1]:.2f} "
            f"| {s['sentence_accuracy'][0]:.2f} ± {s['sentence_accuracy'][1]:.2f} "
            f"| {cost:.1f} | {ratio} |"
        )
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.output, "summary.json"), "w") as f:
        recorded = {k: os.path.relpath(v, REPO) if k in ("config", "output") else v
                    for k, v in vars(args).items()}
        runs = {
            method: [
                {
                    "seed": seed,
                    **scores(r["test"]),
                    "dev": scores(r["dev"]),
                    # Set when the config keeps its best dev epoch (restore_best).
                    "best_epoch": r.get("best_epoch", {}).get("epoch"),
                    "fit_seconds": r["fit_seconds"],
                }
                for seed, r in zip(args.seeds, method_runs)
            ]
            for method, method_runs in results.items()
        }
        json.dump({"args": recorded, "summary": summary, "runs": runs, "table": table}, f, indent=2)


if __name__ == "__main__":
    main()
