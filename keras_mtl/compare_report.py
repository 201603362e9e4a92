"""The report of `keras-mtl compare`: per-task summaries over seeds, Δm, failed
baselines, the Markdown tables and the bar chart (`compare.json`, `compare.md`,
`compare.png`). `keras_mtl.compare` runs the comparison and calls `build_report`
and `write_report`."""

import os

import numpy as np

from keras_mtl.callbacks.dev_evaluation import DEV_SCORE
from keras_mtl.callbacks.epoch_progress import format_duration
from keras_mtl.metrics.delta_m import delta_m, primary_metric
from keras_mtl.metrics.significance import t_interval
from keras_mtl.outputs import replace_file, write_json

RESAMPLES = 1000  # paired bootstrap
BOOTSTRAP_SEED = 0
ALPHA = 0.05


def format_rate(rate):
    """`'1e-4'`, `'2.5e-5'`: a learning rate for folder names and reports.

    >>> format_rate(1e-4), format_rate(2.5e-5), format_rate(0.001)
    ('1e-4', '2.5e-5', '1e-3')
    """
    mantissa, exponent = f"{rate:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


# === The job ===


def summarize(values):
    """`{"mean", "std", "interval"}` of per-seed values: the sample std (n − 1; 0
    for one seed) and the 95 % t-interval (`None` for one seed)."""
    values = np.asarray(values, "float64")
    interval = t_interval(values)
    return {"mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "interval": None if interval is None else list(interval)}


def build_report(config, sharing, seeds, results, significance=None, **sections):
    """The report from `{(variant, seed): metrics}` of the runs at the chosen rates:
    per task the per-seed test metrics and their summaries (and `significance`,
    from `task_significance`), Δm per seed and summarized, the failed baselines;
    `sections` (budget, learning_rates, cost, total_fit_seconds) are added as
    they are."""
    tasks, higher = {}, {}
    variants = ["single"] + [f"multi_{mode}" for mode in sharing]
    for task in config["tasks"]:
        metric, higher_is_better = primary_metric(task["type"])
        higher[task["name"]] = higher_is_better
        entry = {"metric": metric, "higher_is_better": higher_is_better}
        for variant in variants:
            run = f"single_{task['name']}" if variant == "single" else variant
            entry[variant] = [results[(run, s)]["test"][task["name"]][metric]
                              for s in range(seeds)]
        entry["summary"] = {variant: summarize(entry[variant]) for variant in variants}
        if significance is not None:
            entry["significance"] = significance[task["name"]]
        tasks[task["name"]] = entry
    # A relative change from a single-task score of 0 is undefined: that seed's
    # Δm is undefined (never computed over the other tasks alone), and the
    # baseline is reported as failed.
    failed = [{"task": name, "seed": s, "metric": entry["metric"],
               "higher_is_better": entry["higher_is_better"]}
              for name, entry in tasks.items() for s in range(seeds) if entry["single"][s] == 0]
    undefined = sorted({item["seed"] for item in failed})
    delta = {}
    for mode in sharing:
        per_seed = [None if s in undefined else delta_m(
            {name: tasks[name][f"multi_{mode}"][s] for name in tasks},
            {name: tasks[name]["single"][s] for name in tasks}, higher,
        ) for s in range(seeds)]
        delta[f"multi_{mode}"] = {
            "per_seed": per_seed,
            **({"mean": None, "std": None, "interval": None} if undefined
               else summarize(per_seed)),
        }
    return {
        "name": config["name"],
        "seeds": seeds,
        "sharing": sharing,
        "backbone": config["backbone"],
        "datasets": config["data"]["dataset"],
        "training": config["training"],
        "tasks": tasks,
        "delta_m": delta,
        "delta_m_undefined_seeds": undefined,
        "failed_baselines": failed,
        **sections,
    }


def _cell(summary, scale):
    text = f"{summary['mean'] * scale:.2f} ± {summary['std'] * scale:.2f}"
    if summary.get("interval") is not None:
        low, high = summary["interval"]
        text += f" [{low * scale:.2f}, {high * scale:.2f}]"
    return text


def _p_value(p, resamples):
    return f"< {1 / resamples:.3f}" if p == 0 else f"{p:.3f}"


def format_report(report):
    """The Markdown body of a report: defects first, then the budget and learning
    rates, the table, how to read it, the learning-rate grid and the cost."""
    variants = ["single"] + [f"multi_{mode}" for mode in report["sharing"]]
    titles = ["single-task"] + [f"multi-task ({mode})" for mode in report["sharing"]]
    lines = _defect_lines(report)
    lines += _setup_lines(report)
    significance = all("significance" in entry for entry in report["tasks"].values())
    columns = titles + ([f"{mode} − single (p)" for mode in report["sharing"]]
                        if significance else [])
    lines += [f"| task | metric | {' | '.join(columns)} |",
              "|---|---|" + "---|" * len(columns)]
    for name, entry in report["tasks"].items():
        scale = 100.0 if entry["higher_is_better"] else 1.0
        arrow = "↑" if entry["higher_is_better"] else "↓"
        cells = [_cell(entry["summary"][v], scale) for v in variants]
        if significance:
            for v in variants[1:]:
                test = entry["significance"][v]
                verdict = "significant" if test["significant"] else "not significant"
                cells.append(f"{test['difference'] * scale:+.2f} "
                             f"(p {_p_value(test['p_value'], test['resamples'])}, {verdict})")
        lines.append(f"| {name} | {entry['metric']} {arrow} | {' | '.join(cells)} |")
    cells = ["—"]
    for v in variants[1:]:
        delta = report["delta_m"][v]
        cells.append("undefined (failed baseline)" if delta["mean"] is None
                     else _cell(delta, 1.0))
    cells += [""] * (len(columns) - len(cells))
    lines.append(f"| **Δm %** | | {' | '.join(cells)} |")
    lines.append("")
    lines.append(
        f"Test split of each task's own dataset(s), each run at its best dev epoch; mean ± "
        f"std (n − 1) over {report['seeds']} seed(s) [95 % t-interval over seeds]; ×100 for "
        "higher-is-better metrics. Δm = mean relative per-task change vs single-task over "
        "every task (Maninis et al. 2019), positive = multi-task better."
    )
    if significance:
        test = next(iter(report["tasks"].values()))["significance"]
        resamples = next(iter(test.values()))["resamples"] if test else RESAMPLES
        lines.append(
            f"p: paired bootstrap over the test examples ({resamples} resamples with "
            f"replacement, seed {BOOTSTRAP_SEED}), each system's metric averaged over its "
            "seeds on each resample; two-sided (twice the share of resamples where the "
            f"difference changes sign); significant when p < {ALPHA}."
        )
    lines += _learning_rate_lines(report) + _cost_lines(report)
    return "\n".join(lines)


def _defect_lines(report):
    if not report.get("failed_baselines"):
        return []
    lines = []
    by_task = {}
    for item in report["failed_baselines"]:
        by_task.setdefault(item["task"], []).append(item)
    for task, items in by_task.items():
        seeds = ", ".join(str(item["seed"]) for item in items)
        if items[0]["higher_is_better"]:
            lines.append(
                f"**DEFECT: baseline failed to learn: fix its learning rate/epochs.** "
                f"single_{task} scored {items[0]['metric']} = 0 on the test split (seed "
                f"{seeds}); Δm is undefined for that seed."
            )
        else:
            lines.append(
                f"**DEFECT: single_{task} has {items[0]['metric']} = 0 on the test split "
                f"(seed {seeds}): a relative change from 0 is undefined, so Δm is undefined "
                "for that seed.**"
            )
    return lines + [""]


def _setup_lines(report):
    lines = []
    budget = report.get("budget")
    if budget:
        per = budget["variants"]
        if budget["kind"] == "epochs":
            epochs = sorted({v["epochs"] for v in per.values()})
            text = f"every run trains {', '.join(map(str, epochs))} epoch(s)"
        elif budget["kind"] == "steps":
            text = "equal optimizer steps: " + "; ".join(
                f"{name} {v['epochs']} epoch(s) × {v['steps_per_epoch']} = {v['steps']} steps"
                for name, v in per.items())
        else:
            text = f"to convergence: up to {budget['max_epochs']} epochs"
        if budget["patience"]:
            text += (f", stopping after {budget['patience']} epoch(s) without a better "
                     f"{DEV_SCORE}")
        lines.append(
            f"Budget: **{budget['kind']}**: {text}. Every run ends with the weights of its "
            f"best epoch on {DEV_SCORE} (the mean primary metric of decoded dev predictions, "
            "negated for lower-is-better metrics)."
        )
    selection = report.get("learning_rates")
    if selection:
        chosen = ", ".join(f"{v} {format_rate(rate)}" for v, rate in selection["chosen"].items())
        lines.append(
            f"Learning rate: grid {', '.join(format_rate(r) for r in selection['grid'])}; "
            f"chosen on seed 0's dev score, per variant: {chosen}."
        )
    return lines + ([""] if lines else [])


def _learning_rate_lines(report):
    selection = report.get("learning_rates")
    if not selection or len(selection["grid"]) < 2:
        return []
    rates = [format_rate(r) for r in selection["grid"]]
    lines = ["", f"{DEV_SCORE} of seed 0 at its best epoch, per learning rate:", "",
             f"| variant | {' | '.join(rates)} | chosen |", "|---|" + "---|" * (len(rates) + 1)]
    for variant, scores in selection["dev_score"].items():
        cells = ["—" if scores[r] is None else f"{scores[r]:.4f}" for r in rates]
        lines.append(f"| {variant} | {' | '.join(cells)} | "
                     f"{format_rate(selection['chosen'][variant])} |")
    return lines


def _cost_lines(report):
    cost = report.get("cost")
    if not cost:
        return []

    def number(value, digits=0):
        return "—" if value is None else f"{value:,.{digits}f}"

    lines = ["", "Cost per run (mean over seeds at the chosen rate):", "",
             "| variant | lr | epochs (budget) | epochs trained | best epoch | steps | "
             "encoder passes/step | encoder steps | fit time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for variant, c in cost.items():
        fit = "—" if c["fit_seconds"] is None else format_duration(c["fit_seconds"])
        lines.append(
            f"| {variant} | {format_rate(c['learning_rate'])} | {c['epochs']} | "
            f"{number(c['epochs_trained'], 1)} | {number(c['best_epoch'], 1)} | "
            f"{number(c['steps'])} | {c['encoder_passes_per_step']:.2f} | "
            f"{number(c['encoder_steps'])} | {fit} |"
        )
    if report.get("total_fit_seconds") is not None:
        lines.append("")
        lines.append(f"All runs, learning-rate grid included: "
                     f"{format_duration(report['total_fit_seconds'])} of fitting.")
    return lines


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



def plot_report(report, path):
    """Grouped bars: per task, single-task vs each multi-task variant (± std)."""
    from keras_mtl.plotting import new_figure

    variants = ["single"] + [f"multi_{mode}" for mode in report["sharing"]]
    names = list(report["tasks"])
    width = 0.8 / len(variants)
    fig, ax = new_figure(figsize=(2.4 + 1.6 * len(names), 4.0))
    for i, variant in enumerate(variants):
        summaries = [report["tasks"][n]["summary"][variant] for n in names]
        label = variant.replace("multi_", "multi-task, ").replace("single", "single-task")
        if variant != "single" and report["delta_m"][variant]["mean"] is not None:
            label += f" (Δm {report['delta_m'][variant]['mean']:+.2f} %)"
        ax.bar(np.arange(len(names)) + (i - (len(variants) - 1) / 2) * width,
               [s["mean"] for s in summaries], width, yerr=[s["std"] for s in summaries],
               capsize=3, label=label)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([f"{n}\n({report['tasks'][n]['metric']})" for n in names])
    ax.set_title(f"{report['name']}: test metric, mean ± std over {report['seeds']} seed(s)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=len(variants), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
