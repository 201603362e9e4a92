"""Where each task reads the encoder, over the seeds of a `keras-mtl compare` study.

Reads the runs of one attention-sharing variant (`multi_attention` by default) of a
compare output folder, or of its records (`benchmarks/compare_records.py keep`):
each seed's `history.csv` (the `<task>_layer_mix_<k>` columns that
`LayerAttentionLog` writes) and its `metrics.json` for the epoch the run kept (the
last epoch where it has none). Writes a JSON with, per task, the mix at the kept epoch (mean and std over
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

from keras_mtl.plotting import (  # noqa: E402
    layer_mix_columns, plot_layer_attention, read_history,
)


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


def summarise(runs):
    try:
        tasks = layer_mix_columns(next(iter(runs.values()))[0])
    except ValueError as error:
        raise SystemExit(f"{error} Not an attention-sharing variant?") from None
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
        plot_layer_attention([history for history, _ in runs.values()], args.plot,
                             f"{args.variant} at lr {args.rate}: {len(runs)} seeds (faint) "
                             "and their mean")


if __name__ == "__main__":
    main()
