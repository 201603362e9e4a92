"""Is the affinity right? The ground truth of `keras-mtl compare --pairs`.

For every pair of tasks {i, j} one model trains the two together, next to one
single-task model per task and one model of all the tasks; every run follows the
comparison's rules (best dev epoch, a stated budget, a learning-rate grid chosen
on seed 0, several seeds: `keras_mtl.compare`). From them:

* **Pairwise gains.** gain(i → j) = (−1)^l (M_j[i, j] − M_j[j]) / M_j[j] × 100 %: how
  much task j's primary metric moves when it trains with i instead of alone (l = 1
  for a lower-is-better metric), on each seed against the single-task run of the
  same seed, then averaged; on dev (what a predicted affinity is judged against)
  and on test.
* **Does the affinity predict them?** Given `affinity.json` from `keras-mtl
  affinity` on the same tasks, the Spearman rank correlation between the predicted
  Zᵢ→ⱼ (TAG's lookahead) and the measured dev gain(i → j) over the T(T − 1) ordered
  pairs, and the same for the gradient cosine.
* **Does its grouping pay?** Every grouping the affinity file recommends (TAG's and
  the cosine's, for each number of models) is trained too, one model per group of
  two or more tasks; each is scored by its test Δm against all-single-task, next to
  all-in-one (Δm, Maninis et al. 2019, per seed, then mean ± std).
"""

import itertools
import json
import os

import numpy as np

from keras_mtl.compare import (
    Budget, apply_budget, check_learning_rates, claim_comparison, task_datasets,
    task_subset_config, train_runs,
)
from keras_mtl.compare_report import format_rate, summarize
from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.errors import ArtifactError
from keras_mtl.metrics.delta_m import primary_metric
from keras_mtl.outputs import replace_file, write_json
from keras_mtl.transfer.grouping import json_matrix

PAIRS_JSON = "pairs.json"
PAIRS_MD = "pairs.md"


def group_variant(group):
    """The variant name of a model of the tasks in `group`: `single_<t>` for one,
    `group_<a>+<b>+…` for several.

    >>> group_variant(["ner"]), group_variant(["intent", "slots"])
    ('single_ner', 'group_intent+slots')
    """
    return f"single_{group[0]}" if len(group) == 1 else "group_" + "+".join(group)


def spearman(x, y):
    """Spearman's ρ: Pearson's correlation of the ranks (ties get their mean rank);
    `None` when either side is constant or there are fewer than 3 values.

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    >>> round(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 6)
    0.948683
    """
    x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
    if len(x) != len(y):
        raise ValueError(f"spearman needs two equal-length sequences, got {len(x)} and {len(y)}.")
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values):
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # ties: their mean rank
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


# === The affinity under test ===

def read_affinity(path, task_names):
    """`{"tag", "cosine": T×T arrays in task_names' order, "groupings": {"tag",
    "cosine": [[[task, …], …] per number of models]}}` from a `keras-mtl affinity`
    output (`affinity.json` or its folder); an `ArtifactError` naming the file
    when it is not one, or measured other tasks."""
    if os.path.isdir(path):
        path = os.path.join(path, "affinity.json")
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
    except FileNotFoundError:
        raise ArtifactError(f"--affinity {path} does not exist: give the affinity.json that "
                            "`keras-mtl affinity` wrote for these tasks.") from None
    except ValueError as error:
        raise ArtifactError(f"--affinity {path} is not JSON ({error}).") from None
    missing = [key for key in ("tasks", "tag", "cosine") if key not in (saved or {})]
    if not isinstance(saved, dict) or missing:
        raise ArtifactError(f"--affinity {path} is not a `keras-mtl affinity` output "
                            f"(no {missing or 'object'}).")
    if sorted(saved["tasks"]) != sorted(task_names):
        raise ArtifactError(
            f"--affinity {path} measured the tasks {saved['tasks']}; this config has "
            f"{list(task_names)}. Measure the affinity of the same tasks.")
    order = [saved["tasks"].index(name) for name in task_names]
    matrices = {}
    for key in ("tag", "cosine"):
        matrix = np.array([[np.nan if v is None else v for v in row] for row in saved[key]],
                          dtype="float64")
        matrices[key] = matrix[np.ix_(order, order)]
    groupings = {key: [entry["groups"] for entry in saved.get("groupings", {}).get(key, [])]
                 for key in ("tag", "cosine")}
    return {**matrices, "groupings": groupings}


# === The plan ===

def candidate_groupings(task_names, affinity=None):
    """`{label: [[task, …], …]}`: all-single-task, all-in-one and, with an affinity,
    each distinct grouping it recommends (`"tag, 2 models"`, …), tasks in config
    order. A grouping recommended twice keeps its first label."""
    order = {name: i for i, name in enumerate(task_names)}

    def canonical(groups):
        groups = [sorted(group, key=order.get) for group in groups]
        return sorted(groups, key=lambda group: order[group[0]])

    found = {"all single-task": [[name] for name in task_names],
             "all-in-one": [list(task_names)]}
    for key in ("tag", "cosine"):
        for groups in (affinity or {}).get("groupings", {}).get(key, []):
            groups = canonical(groups)
            if groups not in found.values():
                found[f"{key}, {len(groups)} models"] = groups
    return found


def plan_groups(config, datasets, groupings, budget):
    """`{variant: config}`: one model per task, per pair of tasks, and per group of
    three or more tasks in `groupings`, each under `budget`."""
    by_task = task_datasets(config, datasets)
    tasks = {task["name"]: task for task in config["tasks"]}
    names = list(tasks)
    groups = [[name] for name in names] + [list(p) for p in itertools.combinations(names, 2)]
    for grouping in groupings.values():
        groups += [group for group in grouping if len(group) > 2 and group not in groups]
    variants = {}
    for group in groups:
        variant = group_variant(group)
        variants[variant] = task_subset_config(
            config, [tasks[name] for name in group], by_task, variant)
        apply_budget(variants[variant], budget)
    return variants


# === The report ===

def per_seed_metrics(config, results, runs, split):
    """`{variant: {task: [metric per seed]}}` on `split` (the tasks' primary metrics)."""
    table = {}
    for run in sorted(runs, key=lambda run: run.seed):
        for task in run.config["tasks"]:
            metric, _ = primary_metric(task["type"])
            value = results[run.folder][split][task["name"]][metric]
            table.setdefault(run.variant, {}).setdefault(task["name"], []).append(value)
    return table


def relative_change(values, single, higher_is_better):
    """Per-seed (−1)^l (M − M_single) / M_single × 100 (`None` where M_single is 0)."""
    sign = 1.0 if higher_is_better else -1.0
    return [None if s == 0 else sign * 100.0 * (v - s) / s for v, s in zip(values, single)]


def pair_gains(table, task_names, higher):
    """T×T array: gain(i → j) (row i, column j) averaged over seeds; NaN on the
    diagonal and where the single-task metric is 0."""
    gains = np.full((len(task_names), len(task_names)), np.nan)
    for (i, a), (j, b) in itertools.permutations(enumerate(task_names), 2):
        pair = group_variant([n for n in task_names if n in (a, b)])
        changes = relative_change(table[pair][b], table[f"single_{b}"][b], higher[b])
        if None not in changes:
            gains[i, j] = float(np.mean(changes))
    return gains


def seed_spread(table, task_names):
    """`{task: std over seeds of the single-task metric, % of its mean}`: how much
    a task moves from seed to seed alone, the floor a gain must clear to be more
    than noise (`None` with one seed or a zero mean)."""
    spread = {}
    for name in task_names:
        values = np.asarray(table[f"single_{name}"][name], "float64")
        mean = values.mean()
        spread[name] = (None if len(values) < 2 or mean == 0
                        else float(100.0 * values.std(ddof=1) / abs(mean)))
    return spread


def grouping_delta_m(table, groupings, task_names, higher):
    """`{label: {"groups", "models", "per_seed", "summary"}}`: each grouping's Δm
    against all-single-task, each task scored by its group's model, per seed."""
    report = {}
    for label, groups in groupings.items():
        per_task = []
        for group in groups:
            variant = group_variant(group)
            for name in group:
                per_task.append(relative_change(
                    table[variant][name], table[f"single_{name}"][name], higher[name]))
        if any(None in changes for changes in per_task):
            per_seed = None
        else:
            per_seed = [float(np.mean(seed)) for seed in zip(*per_task)]
        report[label] = {"groups": groups, "models": len(groups), "per_seed": per_seed,
                         "summary": None if per_seed is None else summarize(per_seed)}
    return report


def _off_diagonal(matrix):
    matrix = np.asarray(matrix, "float64")
    return matrix[~np.eye(len(matrix), dtype=bool)]


def build_pairs_report(config, results, runs, groupings, affinity=None, **sections):
    """The report dict of `pairwise` (see the module docstring)."""
    names = [task["name"] for task in config["tasks"]]
    metrics = {task["name"]: primary_metric(task["type"]) for task in config["tasks"]}
    higher = {name: metrics[name][1] for name in names}
    report = {"tasks": names, "metrics": {name: metrics[name][0] for name in names},
              "higher_is_better": higher, "gain": {}}
    tables = {split: per_seed_metrics(config, results, runs, split) for split in ("dev", "test")}
    report["seed_spread"] = {}
    for split, table in tables.items():
        report["gain"][split] = json_matrix(pair_gains(table, names, higher))
        report["seed_spread"][split] = seed_spread(table, names)
    report["test_metrics"] = tables["test"]
    if affinity is not None:
        gains = {split: _off_diagonal(pair_gains(tables[split], names, higher))
                 for split in ("dev", "test")}
        keep, test = (~np.isnan(gains[split]) for split in ("dev", "test"))
        report["affinity"] = {key: json_matrix(affinity[key]) for key in ("tag", "cosine")}
        report["spearman"] = {}
        for key in ("tag", "cosine"):
            predicted = _off_diagonal(affinity[key])
            report["spearman"][key] = {
                "rho": spearman(predicted[keep], gains["dev"][keep]), "pairs": int(keep.sum()),
                "rho_test": spearman(predicted[test], gains["test"][test]),
            }
    report["groupings"] = grouping_delta_m(tables["test"], groupings, names, higher)
    report.update(sections)
    return report


def format_pairs_report(report):
    """`pairs.md`: the gain matrices, the rank correlations and the groupings' Δm."""
    names = report["tasks"]
    lines = [f"# {report['name']}: pairwise transfer", ""]
    for split in ("dev", "test"):
        lines += [f"Gain of task j (column) from training with task i (row), {split}, % "
                  "(relative change of j's primary metric against j alone, mean over seeds):",
                  "", "| i \\ j | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for name, row in zip(names, report["gain"][split]):
            cells = ["—" if v is None else f"{v:+.2f}" for v in row]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        spread = report.get("seed_spread", {}).get(split)
        if spread:
            cells = ["—" if spread[n] is None else f"±{spread[n]:.2f}" for n in names]
            lines.append("| *j alone, seed-to-seed std* | " + " | ".join(cells) + " |")
        lines.append("")
    if "spearman" in report:
        lines.append("Does the affinity predict the dev gains? Spearman ρ over the ordered "
                     "pairs (on test gains in brackets):")
        lines.append("")
        for key, label in (("tag", "TAG lookahead Zᵢ→ⱼ"), ("cosine", "gradient cosine")):
            entry = report["spearman"][key]
            rho, test = (("undefined" if value is None else f"{value:+.3f}")
                         for value in (entry["rho"], entry.get("rho_test")))
            lines.append(f"- {label}: ρ = {rho} [{test}] ({entry['pairs']} pairs)")
        lines.append("")
    lines += ["Groupings on test (each task scored by its group's model; Δm against "
              "all single-task, mean ± std over seeds):", "",
              "| grouping | models | groups | Δm % |", "|---|---|---|---|"]
    for label, entry in report["groupings"].items():
        groups = " · ".join("{" + ", ".join(group) + "}" for group in entry["groups"])
        summary = entry["summary"]
        cell = "undefined" if summary is None else (
            f"{summary['mean']:+.2f} ± {summary['std']:.2f}")
        lines.append(f"| {label} | {entry['models']} | {groups} | {cell} |")
    selection = report.get("learning_rates")
    if selection:
        chosen = ", ".join(f"{v} {format_rate(r)}" for v, r in selection["chosen"].items())
        lines += ["", f"Learning rates chosen on seed 0's dev score: {chosen}."]
    if report.get("total_fit_seconds") is not None:
        lines.append(f"All runs: {report['total_fit_seconds'] / 60:.1f} min of fitting.")
    return "\n".join(lines) + "\n"


# === The job ===

def pairwise(config, output, seeds=2, log=print, *, budget="epochs", learning_rates=None,
             max_epochs=None, patience=None, affinity=None):
    """Trains every pair, single-task and grouping model (skipping finished runs)
    and writes `pairs.json` and `pairs.md` into `output`; returns the report.

    Args: as `keras_mtl.compare.compare`, and `affinity`, the `affinity.json` (or
    its folder) of `keras-mtl affinity` on the same tasks: its rank correlation
    with the measured gains and its recommended groupings are reported.
    """
    from keras_mtl.training import load_data

    config = resolve_config(config)
    names = [task["name"] for task in config["tasks"]]
    if len(names) < 3:
        raise ConfigError(f"--pairs needs at least 3 tasks (this config has {names}): with "
                          "two there is one pair, and nothing to rank.")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds!r}.")
    budget = Budget(budget, max_epochs, patience)
    if budget.kind == "steps":
        raise ConfigError("--pairs trains models of one, two and more tasks: there is no one "
                          "multi-task run whose steps to match. Use --budget epochs or "
                          "convergence.")
    predicted = read_affinity(affinity, names) if affinity else None
    rates = check_learning_rates(learning_rates, config)
    datasets = load_data(config["data"], names)
    groupings = candidate_groupings(names, predicted)
    variants = plan_groups(config, datasets, groupings, budget)
    claim_comparison(output, config, budget, pairs=True)
    results, selection, runs = train_runs(variants, rates, seeds, budget, output, log)
    report = build_pairs_report(
        config, results, runs, groupings, predicted, name=config["name"], seeds=seeds,
        budget=budget.kind, learning_rates=selection,
        fit_seconds={run.folder: results[run.folder].get("fit_seconds") for run in runs},
        total_fit_seconds=round(sum(m.get("fit_seconds", 0.0) for m in results.values()), 1),
    )
    write_json(os.path.join(output, PAIRS_JSON), report)
    text = format_pairs_report(report)
    with replace_file(os.path.join(output, PAIRS_MD)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    log(text)
    log(f"Wrote {output}/{PAIRS_JSON}, {PAIRS_MD}.")
    return report
