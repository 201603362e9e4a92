"""Where each task reads the encoder, over the seeds of a `keras-mtl compare` study.

Reads the runs of one attention-sharing variant (`multi_attention` by default) of a
compare output folder, or of its records (`benchmarks/compare_records.py keep`):
each seed's `history.csv` (the `<task>_layer_mix_<k>` columns that
`LayerAttentionLog` writes) and `metrics.json` or `config.json` for the epoch the run
kept. Writes a JSON with, per task, the mix at the kept epoch (mean and std over
the seeds, and each seed's) and a PNG: one panel per task, one line per layer
output, the mean over seeds per epoch with each seed faint behind it.

    python benchmarks/layer_mixes.py saved_models/compare_atis_wnut_vader_minilm2 \\
        --rate 2e-4 --output benchmarks/results/layer_mixes_atis_wnut_vader_minilm2.json \\
        --plot docs/images/layer_mixes_atis_wnut_vader_minilm2.png
"""

import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from keras_mtl.plotting import read_history  # noqa: E402


def _kept_epoch(run, epochs):
    """The 1-based epoch the run kept (its best dev epoch), else its last."""
    path = os.path.join(run, "metrics.json")
    if os.path.exists(path):
        with open(path) as f:
            best = (json.load(f).get("best_epoch") or {}).get("epoch")
        if best:
            return int(best)
    return epochs


def read_runs(folder, variant, rate):
    """`{seed: (history, kept epoch)}` for the variant's runs at `rate`."""
    base = os.path.join(folder, variant, f"lr{rate}")
    if not os.path.isdir(base):
        raise SystemExit(f"No runs at {base}: name the compare folder, --variant and --rate.")
    runs = {}
    for name in sorted(os.listdir(base)):
        match = re.fullmatch(r"seed(\d+)", name)
        path = os.path.join(base, name, "history.csv")
        if match and os.path.exists(path):
            history = read_history(path)
            epochs = len(next(iter(history.values())))
            runs[int(match[1])] = (history, _kept_epoch(os.path.join(base, name), epochs))
    if not runs:
        raise SystemExit(f"No finished run with a history.csv under {base}.")
    return runs


def layer_columns(history):
    """`{task: [column of layer 0, 1, …]}` from `<task>_layer_mix_<k>` columns."""
    columns = {}
    for key in history:
        match = re.fullmatch(r"(.+)_layer_mix_(\d+)", key)
        if match:
            columns.setdefault(match[1], {})[int(match[2])] = key
    if not columns:
        raise SystemExit("The histories have no '<task>_layer_mix_<k>' columns: not an "
                         "attention-sharing variant.")
    return {task: [keys[k] for k in sorted(keys)] for task, keys in columns.items()}


def summarise(runs):
    tasks = layer_columns(next(iter(runs.values()))[0])
    summary = {}
    for task, keys in tasks.items():
        kept = {seed: [float(history[key][epoch - 1]) for key in keys]
                for seed, (history, epoch) in runs.items()}
        values = np.array(list(kept.values()))
        summary[task] = {"mean": values.mean(axis=0).round(4).tolist(),
                         "std": values.std(axis=0, ddof=1).round(4).tolist()
                         if len(values) > 1 else None,
                         "seeds": {str(seed): np.round(v, 4).tolist() for seed, v in kept.items()}}
    return tasks, summary


def plot(runs, tasks, path, title):
    from matplotlib.ticker import MaxNLocator

    from keras_mtl.plotting import new_figure

    figure, axes = new_figure(1, len(tasks), figsize=(4.2 * len(tasks), 3.4),
                              squeeze=False, sharey=True)
    colours = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    for axis, (task, keys) in zip(axes[0], tasks.items()):
        for k, key in enumerate(keys):
            colour = colours[k % len(colours)]
            curves = [np.asarray(history[key], float) for history, _ in runs.values()]
            for curve in curves:
                axis.plot(range(1, len(curve) + 1), curve, color=colour, alpha=0.25)
            length = min(len(c) for c in curves)
            mean = np.mean([c[:length] for c in curves], axis=0)
            axis.plot(range(1, length + 1), mean, color=colour, marker="o", markersize=3,
                      label="embeddings" if k == 0 else f"layer {k}")
        axis.set_title(task)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("attention weight")
    axes[0][-1].legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a compare output folder or its records")
    parser.add_argument("--variant", default="multi_attention")
    parser.add_argument("--rate", required=True, help="the learning rate's folder name, e.g. 2e-4")
    parser.add_argument("--output", required=True, help="the JSON to write")
    parser.add_argument("--plot", help="the PNG to write")
    args = parser.parse_args(argv)
    runs = read_runs(args.folder, args.variant, args.rate)
    tasks, summary = summarise(runs)
    result = {"folder": os.path.basename(os.path.normpath(args.folder)),
              "variant": args.variant, "learning_rate": args.rate,
              "seeds": sorted(runs), "kept_epochs": {str(s): e for s, (_, e) in runs.items()},
              "layers": ["embeddings"] + [f"layer {k}" for k in
                                          range(1, len(next(iter(tasks.values()))))],
              "mix_at_kept_epoch": summary}
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
    for task, values in summary.items():
        spread = values["std"] or [0.0] * len(values["mean"])
        print(f"{task:>12}: " + "  ".join(f"{m:.3f}±{s:.3f}" for m, s in zip(values["mean"], spread)))
    if args.plot:
        plot(runs, tasks, args.plot,
             f"{args.variant} at lr {args.rate}: {len(runs)} seeds (faint) and their mean")


if __name__ == "__main__":
    main()
