"""Multi-task, then per-task fine-tuning (MT-DNN's recipe), against a `keras-mtl
compare` study's own single-task and multi-task runs.

What is measured
----------------
For each task and seed of a finished comparison (`keras-mtl compare ... --output
DIR`), one run trains that task alone starting from the multi-task run of the same
seed (its encoder and the task's head, `backbone.initial_weights`), with everything
else taken from the study's single-task run of that seed: data, epochs, patience,
best-epoch selection on dev, and the learning rate the study chose for the
single-task model (no extra tuning for the fine-tuned model). The report puts the
three test scores side by side per task (mean ± std over seeds, per-seed values),
with the fine-tuned model's difference from the single-task model (paired over
seeds, 95 % t-interval) and Δm of the fine-tuned models against the single-task ones.

Runs are written to `--output/finetune_<task>/seed<k>`; a finished run (its
`metrics.json`) is reused and a killed one resumes, so the script can be rerun.

How to run
----------
From the repository root, after the comparison itself::

    keras-mtl compare benchmarks/configs/ewt_vader_compare_minilm2.yaml --seeds 3 \\
        --budget convergence --max-epochs 12 --patience 2 --learning-rates 1e-4 2e-4 4e-4 \\
        --output saved_models/compare_ewt_vader_minilm2_convergence
    python benchmarks/finetune_from_multi.py saved_models/compare_ewt_vader_minilm2_convergence \\
        --json benchmarks/results/finetune_ewt_vader_minilm2.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("comparison", help="a finished `keras-mtl compare` output folder")
    parser.add_argument("--output", help="where the fine-tuning runs go "
                        "(default: COMPARISON/finetune)")
    parser.add_argument("--tasks", nargs="+", help="tasks to fine-tune (default: all, "
                        "in the comparison's order)")
    parser.add_argument("--sharing", help="which multi-task variant to start from "
                        "(default: the comparison's first)")
    parser.add_argument("--json", help="also write the report as JSON here")
    return parser.parse_args(argv)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def run_folder(comparison, variant, rate, seed):
    """Where `keras-mtl compare` put that run."""
    from keras_mtl.compare import Run

    return os.path.join(comparison, Run(variant, seed, rate, None).folder)


def plan(comparison, tasks=None, sharing=None, output=None):
    """`[(task, seed, config)]` of the fine-tuning runs, and the comparison's report."""
    report_path = os.path.join(comparison, "compare.json")
    if not os.path.isfile(report_path):
        raise SystemExit(f"{comparison}: no compare.json; finish `keras-mtl compare` first.")
    report = read_json(report_path)
    chosen = report["learning_rates"]["chosen"]
    known = list(report["tasks"])
    tasks = tasks or known
    unknown = [task for task in tasks if task not in known]
    if unknown:
        raise SystemExit(f"--tasks: {unknown} not in the comparison's tasks {known}.")
    sharing = sharing or report["sharing"][0]
    multi = f"multi_{sharing}"
    if multi not in chosen:
        raise SystemExit(f"--sharing: no {multi} in the comparison ({sorted(chosen)}).")
    output = output or os.path.join(comparison, "finetune")
    runs = []
    for task in tasks:
        single = f"single_{task}"
        for seed in range(report["seeds"]):
            source = run_folder(comparison, multi, chosen[multi], seed)
            baseline = run_folder(comparison, single, chosen[single], seed)
            for folder in (source, baseline):
                if not os.path.isfile(os.path.join(folder, "model.keras")):
                    raise SystemExit(f"{folder}: no model.keras (was the comparison finished "
                                     "here, with its models kept?).")
            config = read_json(os.path.join(baseline, "config.json"))
            config["name"] = f"{config['name']}_finetuned"
            config["backbone"]["initial_weights"] = source
            config["output"] = None
            runs.append((task, seed, config, os.path.join(output, f"finetune_{task}",
                                                          f"seed{seed}")))
    return runs, report, sharing


def train_all(runs, log=print):
    from keras_mtl.training import train

    for index, (task, seed, config, folder) in enumerate(runs, start=1):
        metrics_path = os.path.join(folder, "metrics.json")
        if os.path.isfile(metrics_path):
            log(f"[{index}/{len(runs)}] {task} seed {seed}: done before, reused.")
            continue
        log(f"[{index}/{len(runs)}] {task} seed {seed}: fine-tuning from "
            f"{config['backbone']['initial_weights']} …")
        start = time.perf_counter()
        train(config, output=folder, verbose=0, log=lambda *a: None)
        log(f"  {time.perf_counter() - start:.0f} s")
        import keras

        keras.backend.clear_session()


def build_report(runs, report, sharing):
    """Per task: the metric, and single / multi / fine-tuned test scores per seed."""
    from keras_mtl.compare_report import summarize
    from keras_mtl.metrics.delta_m import delta_m
    from keras_mtl.metrics.significance import t_interval

    tasks = {}
    for task, seed, _, folder in runs:
        entry = report["tasks"][task]
        metric = entry["metric"]
        metrics = read_json(os.path.join(folder, "metrics.json"))
        row = tasks.setdefault(task, {
            "metric": metric, "higher_is_better": entry["higher_is_better"],
            "single": entry["single"], "multi": entry[f"multi_{sharing}"], "finetuned": [],
            "finetuned_epochs": [], "finetuned_fit_seconds": [],
        })
        row["finetuned"].append(float(metrics["test"][task][metric]))
        row["finetuned_epochs"].append(metrics["best_epoch"]["epoch"])
        row["finetuned_fit_seconds"].append(round(metrics["fit_seconds"], 1))
    for row in tasks.values():
        seeds = len(row["finetuned"])
        row["single"], row["multi"] = row["single"][:seeds], row["multi"][:seeds]
        for arm in ("single", "multi", "finetuned"):
            row[f"{arm}_summary"] = summarize(row[arm])
        sign = 1.0 if row["higher_is_better"] else -1.0
        differences = sign * (np.asarray(row["finetuned"]) - np.asarray(row["single"]))
        row["finetuned_minus_single"] = {
            "mean": float(differences.mean()),
            "interval": None if seeds < 2 else list(t_interval(differences)),
        }
    summary = {"sharing": sharing, "seeds": len(next(iter(tasks.values()))["finetuned"]),
               "tasks": tasks}
    seeds = summary["seeds"]
    if all(len(row["finetuned"]) == seeds for row in tasks.values()):
        higher = {task: row["higher_is_better"] for task, row in tasks.items()}
        for arm in ("multi", "finetuned"):
            per_seed = [delta_m({t: r[arm][s] for t, r in tasks.items()},
                                {t: r["single"][s] for t, r in tasks.items()}, higher)
                        for s in range(seeds)]
            summary[f"delta_m_{arm}"] = {"per_seed": per_seed, **summarize(per_seed)}
    return summary


def format_report(summary):
    def cell(values):
        values = 100 * np.asarray(values)
        spread = f" ± {values.std(ddof=1):.2f}" if len(values) > 1 else ""
        return f"{values.mean():.2f}{spread}"

    lines = [
        f"Multi-task ({summary['sharing']} sharing), then per-task fine-tuning, "
        f"{summary['seeds']} seed(s); test scores × 100",
        "",
        "| task | metric | single-task | multi-task | multi-task, then fine-tuned | "
        "fine-tuned − single (95 % t-interval) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for task, row in summary["tasks"].items():
        difference = row["finetuned_minus_single"]
        interval = difference["interval"]
        span = "" if interval is None else f" [{100 * interval[0]:+.2f}, {100 * interval[1]:+.2f}]"
        lines.append(
            f"| {task} | {row['metric']} | {cell(row['single'])} | {cell(row['multi'])} | "
            f"{cell(row['finetuned'])} | {100 * difference['mean']:+.2f}{span} |")
    for arm, label in (("multi", "multi-task"), ("finetuned", "multi-task, then fine-tuned")):
        if f"delta_m_{arm}" in summary:
            d = summary[f"delta_m_{arm}"]
            lines.append(f"\nΔm of {label} vs single-task: {d['mean']:+.2f} % ± {d['std']:.2f} "
                         f"(per seed {', '.join(f'{v:+.2f}' for v in d['per_seed'])})")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    runs, report, sharing = plan(args.comparison, args.tasks, args.sharing, args.output)
    train_all(runs)
    summary = build_report(runs, report, sharing)
    print(format_report(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
