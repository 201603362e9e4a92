"""Multi-task vs single-task: the job behind `keras-mtl compare`.

For every seed, `compare()` trains the multi-task model of a config (once per
sharing mode asked for) and one single-task model per task, with the same
backbone, optimiser, epochs and batch size, and each task's training examples
seen equally often (a single-task model trains on the datasets that label its
task). It then tabulates every task's primary metric on the test split (mean ±
std over seeds) and Δm (Maninis et al. 2019), and writes `compare.json`,
`compare.md` and `compare.png`. Finished runs are skipped when the command is
run again, so a killed comparison resumes.
"""

import copy
import json
import os

import numpy as np

from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.metrics.delta_m import delta_m, primary_metric
from keras_mtl.models.multi_task_model import SHARING_MODES
from keras_mtl.outputs import replace_file, write_json

COMPARE_CONFIG = "compare_config.json"


def single_task_config(config, task, datasets_by_task):
    """The config of the single-task baseline for `task` (a task-config dict)."""
    single = copy.deepcopy(config)
    single["name"] = f"{config['name']}_single_{task['name']}"
    single["tasks"] = [dict(task)]
    single["data"]["dataset"] = {
        name: options for name, options in config["data"]["dataset"].items()
        if name in datasets_by_task[task["name"]]
    }
    single["backbone"].update(sharing="hard", tie_weight=0.0)
    single["weighting"] = None
    return single


def plan_runs(config, seeds, sharing_modes):
    """`[(variant, seed, config)]`: multi-task per sharing mode, then single-task per task."""
    from keras_mtl.training import load_data

    config = resolve_config(config)
    for mode in sharing_modes:
        if mode not in SHARING_MODES:
            raise ConfigError(f"Unknown sharing mode {mode!r}; known: {list(SHARING_MODES)}.")
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds!r}.")
    datasets = load_data(config["data"], [task["name"] for task in config["tasks"]])
    datasets_by_task = {
        task["name"]: [name for name, splits in datasets.items()
                       if task["name"] in splits["train"].labels]
        for task in config["tasks"]
    }
    runs = []
    for seed in range(seeds):
        for mode in sharing_modes:
            multi = copy.deepcopy(config)
            multi["backbone"]["sharing"] = mode
            if mode == "hard":
                multi["backbone"]["tie_weight"] = 0.0
            multi["training"]["seed"] = seed
            runs.append((f"multi_{mode}", seed, multi))
        for task in config["tasks"]:
            single = single_task_config(config, task, datasets_by_task)
            single["training"]["seed"] = seed
            runs.append((f"single_{task['name']}", seed, single))
    return runs


def compare(config, output, seeds=3, sharing=None, log=print):
    """Trains every run of the comparison (skipping finished ones) and writes the report.

    Args:
        config: a config dict with several tasks.
        output: folder for the runs and the report.
        seeds: training seeds 0 … seeds − 1 (dataset splits stay fixed).
        sharing: sharing modes of the multi-task model (default: the config's).

    Returns:
        the report dict written to `compare.json`.
    """
    from keras_mtl.training import train

    config = resolve_config(config)
    if len(config["tasks"]) < 2:
        raise ConfigError("A comparison needs a config with at least two tasks.")
    sharing = list(sharing or [config["backbone"]["sharing"]])
    runs = plan_runs(config, seeds, sharing)
    claim_comparison(output, config)
    results = {}
    for number, (variant, seed, run_config) in enumerate(runs, 1):
        directory = os.path.join(output, variant, f"seed{seed}")
        metrics_path = os.path.join(directory, "metrics.json")
        if os.path.exists(metrics_path):
            with open(metrics_path) as f:
                metrics = json.load(f)
            log(f"[{number}/{len(runs)}] {variant} seed {seed}: done before, reusing.")
        else:
            log(f"[{number}/{len(runs)}] {variant} seed {seed}")
            metrics = train(run_config, output=directory, verbose=0, log=lambda *_: None)
            _clear_session()
        results[(variant, seed)] = metrics
    report = build_report(config, sharing, seeds, results)
    write_report(report, output)
    log(format_report(report))
    log(f"Wrote {output}/compare.json, compare.md, compare.png.")
    return report


def _clear_session():
    import keras

    keras.backend.clear_session()


def build_report(config, sharing, seeds, results):
    """Per-task metric lists and Δm from `{(variant, seed): metrics}`."""
    tasks = {}
    higher = {}
    for task in config["tasks"]:
        metric, higher_is_better = primary_metric(task["type"])
        higher[task["name"]] = higher_is_better
        entry = {"metric": metric, "higher_is_better": higher_is_better}
        entry["single"] = [
            results[(f"single_{task['name']}", s)]["test"][task["name"]][metric]
            for s in range(seeds)
        ]
        for mode in sharing:
            entry[f"multi_{mode}"] = [
                results[(f"multi_{mode}", s)]["test"][task["name"]][metric]
                for s in range(seeds)
            ]
        tasks[task["name"]] = entry
    # A relative change from a single-task score of 0 is undefined: such a task
    # is left out of that seed's Δm, and the report lists it.
    excluded = {
        s: sorted(name for name, entry in tasks.items() if entry["single"][s] == 0)
        for s in range(seeds)
    }
    delta = {}
    for mode in sharing:
        per_seed = []
        for s in range(seeds):
            kept = [name for name in tasks if name not in excluded[s]]
            per_seed.append(delta_m(
                {name: tasks[name][f"multi_{mode}"][s] for name in kept},
                {name: tasks[name]["single"][s] for name in kept},
                higher,
            ) if kept else None)
        defined = [value for value in per_seed if value is not None]
        delta[f"multi_{mode}"] = {
            "per_seed": per_seed,
            "mean": float(np.mean(defined)) if defined else None,
            "std": float(np.std(defined)) if defined else None,
        }
    fit_seconds = {}
    for (variant, _), metrics in results.items():
        fit_seconds[variant] = fit_seconds.get(variant, 0.0) + metrics.get("fit_seconds", 0.0)
    return {
        "name": config["name"],
        "seeds": seeds,
        "sharing": sharing,
        "backbone": config["backbone"],
        "datasets": config["data"]["dataset"],
        "training": config["training"],
        "tasks": tasks,
        "delta_m": delta,
        "delta_m_excluded": {str(s): names for s, names in excluded.items() if names},
        "fit_seconds": fit_seconds,
    }


def _mean_std(values, scale=100.0):
    values = np.asarray(values, "float64") * scale
    return f"{values.mean():.2f} ± {values.std():.2f}"


def format_report(report):
    """The Markdown table of a report."""
    variants = ["single"] + [f"multi_{mode}" for mode in report["sharing"]]
    titles = ["single-task"] + [f"multi-task ({mode})" for mode in report["sharing"]]
    lines = [
        f"| task | metric | {' | '.join(titles)} |",
        "|---|---|" + "---|" * len(variants),
    ]
    for name, entry in report["tasks"].items():
        scale = 100.0 if entry["higher_is_better"] else 1.0
        arrow = "↑" if entry["higher_is_better"] else "↓"
        cells = [_mean_std(entry[v], scale) for v in variants]
        lines.append(f"| {name} | {entry['metric']} {arrow} | {' | '.join(cells)} |")
    cells = ["—"] + [
        "undefined" if report["delta_m"][v]["mean"] is None
        else f"{report['delta_m'][v]['mean']:+.2f} ± {report['delta_m'][v]['std']:.2f}"
        for v in variants[1:]
    ]
    lines.append(f"| **Δm %** | | {' | '.join(cells)} |")
    lines.append("")
    lines.append(
        f"Mean ± std over {report['seeds']} seed(s); test split of each task's own "
        "dataset; Δm = mean relative per-task change vs single-task (Maninis et al. "
        "2019), positive = multi-task better."
    )
    for seed, names in report.get("delta_m_excluded", {}).items():
        lines.append(
            f"Seed {seed}: {', '.join(names)} left out of Δm (the single-task model "
            "scored 0, so the relative change is undefined)."
        )
    return "\n".join(lines)


def write_report(report, output):
    """Writes compare.json, compare.md and compare.png, each replaced in one step."""
    os.makedirs(output, exist_ok=True)
    write_json(os.path.join(output, "compare.json"), report)
    with replace_file(os.path.join(output, "compare.md")) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"# {report['name']}: multi-task vs single-task\n\n")
            f.write(format_report(report) + "\n")
    try:
        with replace_file(os.path.join(output, "compare.png")) as tmp:
            plot_report(report, tmp)
    except ImportError:
        pass  # matplotlib is optional (the `plot` extra)


def claim_comparison(output, config):
    """Makes `output` this comparison's folder, or refuses (`OutputExistsError`) a
    folder that holds anything but a comparison of the same config (more seeds
    or other sharing modes of the same config extend it)."""
    from keras_mtl.training import claim_output

    claim_output(output, config, config_file=COMPARE_CONFIG, kind="comparison")


def plot_report(report, path):
    """Grouped bars: per task, single-task vs each multi-task variant (± std)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = ["single"] + [f"multi_{mode}" for mode in report["sharing"]]
    names = list(report["tasks"])
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(2.4 + 1.6 * len(names), 4.0))
    for i, variant in enumerate(variants):
        means = [np.mean(report["tasks"][n][variant]) for n in names]
        stds = [np.std(report["tasks"][n][variant]) for n in names]
        label = variant.replace("multi_", "multi-task, ").replace("single", "single-task")
        if variant != "single" and report["delta_m"][variant]["mean"] is not None:
            label += f" (Δm {report['delta_m'][variant]['mean']:+.2f} %)"
        ax.bar(np.arange(len(names)) + (i - (len(variants) - 1) / 2) * width, means, width,
               yerr=stds, capsize=3, label=label)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([f"{n}\n({report['tasks'][n]['metric']})" for n in names])
    ax.set_title(f"{report['name']}: test metric, mean ± std over {report['seeds']} seed(s)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=len(variants), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
