"""Multi-task vs single-task: the job behind `keras-mtl compare`.

`compare()` trains the multi-task model of a config (once per sharing mode asked
for) and one single-task model per task (same backbone, optimiser, batch size; a
single-task model trains on the datasets that label its task), then tabulates
every task's primary test metric and Δm (Maninis et al. 2019) in `compare.json`,
`compare.md` and `compare.png`. The rules (docs/mixing.md, "Does multi-task help?"):

1. **Dev-selected epochs.** Every run keeps its best epoch on `dev_score`, the mean
   primary metric of decoded dev predictions (`DevEvaluation`), and is tested there.
2. **A stated budget** (`Budget`): the same epochs for every run, the same optimizer
   steps, or training to convergence (early stopping on `dev_score`).
3. **A learning-rate grid**: every variant is trained at seed 0 for every rate; the
   rate with the best dev score is chosen per variant; seeds 1 … N − 1 run at it.
4. **Seeds and significance**: mean ± std and a 95 % t-interval over seeds; per task
   a paired bootstrap over the test examples (`keras_mtl.metrics.significance`).
5. **Δm over every task**; a single-task score of 0 is reported as a failed baseline.
6. **Cost**: fit time, optimizer steps and encoder steps of every variant.

Finished runs are reused when the command is run again, so a killed comparison
resumes; more seeds, sharing modes or learning rates extend a comparison.
"""

import copy
import dataclasses
import json
import math
import os
import time
from typing import NamedTuple

import numpy as np

from keras_mtl.callbacks.dev_evaluation import DEV_SCORE
from keras_mtl.callbacks.epoch_progress import format_duration
from keras_mtl.checks import check_number
from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.errors import ArtifactError
from keras_mtl.metrics.delta_m import primary_metric
from keras_mtl.metrics.significance import (
    corpus_score, entity_score, mean_score, paired_bootstrap, seed_mean,
)
from keras_mtl.models.multi_task_model import SHARING_MODES
from keras_mtl.compare_report import (
    ALPHA, BOOTSTRAP_SEED, RESAMPLES, build_report, format_rate, format_report, write_report,
)

COMPARE_CONFIG = "compare_config.json"
TEST_PREDICTIONS = "test_predictions.json"
BUDGETS = ("epochs", "steps", "convergence")
DEFAULT_MAX_EPOCHS = 20  # --budget convergence
DEFAULT_PATIENCE = 3  # --budget convergence
STEPS_MAX_EPOCHS = 50  # --budget steps: more epochs than this is no fair baseline


# === Options ===

@dataclasses.dataclass(frozen=True)
class Budget:
    """How long each run of a comparison trains.

    * `"epochs"`: every run trains the config's `training.epochs`.
    * `"steps"`: every single-task run takes as many optimizer steps as the
      multi-task run, in whole epochs of its own data (`plan_variants`).
    * `"convergence"`: every run trains up to `max_epochs` (default 20) and stops
      after `patience` (default 3) epochs without a better `dev_score`.

    Every run keeps its best epoch on `dev_score`; `patience` (optional with the
    other budgets) stops early, making their epochs a cap.

    >>> Budget("convergence")
    Budget(kind='convergence', max_epochs=20, patience=3)
    >>> Budget("epochs", max_epochs=5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_mtl.errors.ConfigError: --max-epochs caps --budget convergence; ...
    """

    kind: str = "epochs"
    max_epochs: int = None
    patience: int = None

    def __post_init__(self):
        if self.kind not in BUDGETS:
            raise ConfigError(f"--budget must be one of {list(BUDGETS)}, got {self.kind!r}.")
        if self.max_epochs is not None:
            if self.kind != "convergence":
                raise ConfigError(
                    f"--max-epochs caps --budget convergence; with --budget {self.kind} every "
                    "run trains the config's training.epochs (set it, or --epochs)."
                )
            check_number(self.max_epochs, "--max-epochs", at_least=1, integer=True)
        if self.patience is not None:
            check_number(self.patience, "--patience", at_least=1, integer=True)
        if self.kind == "convergence":
            object.__setattr__(self, "max_epochs", self.max_epochs or DEFAULT_MAX_EPOCHS)
            object.__setattr__(self, "patience", self.patience or DEFAULT_PATIENCE)


def check_learning_rates(learning_rates, config):
    """The grid as a list of floats (default: the config's one rate); a
    `ConfigError` for a rate that is not a number > 0 (NaN included) or a repeat."""
    if learning_rates is None:
        return [float(config["training"]["learning_rate"])]
    if not isinstance(learning_rates, (list, tuple)):
        raise ConfigError(f"--learning-rates must be a list of rates, got {learning_rates!r}.")
    rates = [check_number(rate, "--learning-rates: each rate", above=0)
             for rate in learning_rates]
    if not rates:
        raise ConfigError("--learning-rates needs at least one rate.")
    if len({format_rate(rate) for rate in rates}) != len(rates):  # (their folder names)
        raise ConfigError(f"--learning-rates names a rate twice: {list(learning_rates)}.")
    return rates


def _task_names(config):
    names = [task["name"] for task in config["tasks"]]
    if len(names) < 2:
        raise ConfigError("A comparison needs a config with at least two tasks.")
    return names


def check_comparable(config, datasets):
    """`{task: [datasets that label it]}`, or a `ConfigError` for a config that
    cannot make a meaningful comparison: fewer than two tasks; tasks that share no
    dataset (every dataset labels one task: no example would train two tasks, so
    the "multi-task" model would be single-task models sharing an encoder); or a
    task without dev labels (nothing to choose its epoch and rate on) or without
    test labels (nothing to report)."""
    names = _task_names(config)
    by_task = task_datasets(config, datasets)
    shared = [name for name, splits in datasets.items()
              if len(set(names) & set(splits["train"].labels)) >= 2]
    if not shared:
        raise ConfigError(
            f"The tasks share no dataset ({by_task}): every dataset labels one task, so "
            "no training example would teach two tasks and the multi-task model would "
            "be single-task models that share an encoder. A comparison needs a dataset "
            "that labels two of its tasks (e.g. ATIS: intent and slots)."
        )
    return by_task


def task_datasets(config, datasets):
    """`{task: [datasets that label it]}`; a `ConfigError` for a task without dev
    labels (nothing to choose its epoch and rate on) or test labels (nothing to
    report)."""
    by_task = {task["name"]: [name for name, splits in datasets.items()
                              if task["name"] in splits["train"].labels]
               for task in config["tasks"]}
    for task, owners in by_task.items():
        for split, use in (("dev", "its epoch and learning rate are chosen on dev"),
                           ("test", "the comparison reports the test split")):
            if not any(split in datasets[name] and task in datasets[name][split].labels
                       and any(v is not None for v in datasets[name][split].labels[task])
                       for name in owners):
                raise ConfigError(
                    f"Task '{task}' has no {split} labels in its dataset(s) {owners}: {use}. "
                    f"Give the dataset a {split} split."
                )
    return by_task


# === The plan ===

def task_subset_config(config, tasks, datasets_by_task, suffix):
    """The config of a model of some of `config`'s tasks (task-config dicts): the
    datasets that label them, hard sharing, the summed gradient, no weighting."""
    names = {task["name"] for task in tasks}
    subset = copy.deepcopy(config)
    subset["name"] = f"{config['name']}_{suffix}"
    subset["tasks"] = [dict(task) for task in tasks]
    subset["data"]["dataset"] = {
        name: options for name, options in config["data"]["dataset"].items()
        if any(name in datasets_by_task[task] for task in names)
    }
    subset["backbone"].update(sharing="hard", tie_weight=0.0)
    subset["training"]["gradient_method"] = None
    subset["weighting"] = None
    return subset


def single_task_config(config, task, datasets_by_task):
    """The config of the single-task baseline for `task` (a task-config dict)."""
    return task_subset_config(config, [task], datasets_by_task, f"single_{task['name']}")


def steps_per_epoch(config, datasets):
    """Optimizer steps per epoch of `config`'s run, as `train` counts them for its
    learning-rate schedule: its training examples (a mixture of several datasets:
    `data.examples_per_epoch`, default their total) // batch size: a shuffled
    training set drops its last partial batch (metrics.json records the steps a
    run took)."""
    sizes = [len(datasets[name]["train"]) for name in config["data"]["dataset"]]
    examples = sizes[0]
    if len(sizes) > 1:
        examples = config["data"]["examples_per_epoch"] or sum(sizes)
    return examples // config["training"]["batch_size"]


def plan_variants(config, datasets, sharing_modes, budget=None):
    """`{variant: config}`: `multi_<mode>` per sharing mode, then `single_<task>`
    per task, each with its budget's epochs and patience, keeping its best epoch
    on `dev_score` and saving its decoded test predictions (seed and learning
    rate are set per run: `grid_runs`, `seed_runs`).

    Under `Budget("steps")` a single-task run trains the whole number of epochs
    nearest to the multi-task run's steps (epochs × steps per epoch, see
    `steps_per_epoch`); a `ConfigError` when its data cannot give them in at most
    `STEPS_MAX_EPOCHS` epochs.
    """
    budget = budget or Budget()
    datasets_by_task = check_comparable(config, datasets)
    modes = [multi_mode(entry) for entry in sharing_modes]
    variants = {}
    for entry, (mode, method) in zip(sharing_modes, modes):
        multi = copy.deepcopy(config)
        multi["backbone"]["sharing"] = mode
        if mode != "partial":
            multi["backbone"]["tie_weight"] = 0.0
        given = config["training"].get("gradient_method")
        if not (method and given and given["name"] == method):  # else keep its options
            multi["training"]["gradient_method"] = method and {"name": method}
        variants[f"multi_{entry}"] = multi
    for task in config["tasks"]:
        variants[f"single_{task['name']}"] = single_task_config(config, task, datasets_by_task)
    multi_steps = config["training"]["epochs"] * steps_per_epoch(config, datasets)
    for variant, run_config in variants.items():
        apply_budget(run_config, budget)
        if budget.kind == "steps" and variant.startswith("single_"):
            run_config["training"]["epochs"] = _epochs_for_steps(
                variant, run_config, datasets, multi_steps)
    return variants


def apply_budget(run_config, budget):
    """Sets a run's training to keep its best epoch on `dev_score`, save its decoded
    test predictions and train the epochs (and patience) of `budget`."""
    training = run_config["training"]
    training.update(restore_best=True, monitor=DEV_SCORE, patience=budget.patience,
                    save_test_predictions=True)
    if budget.kind == "convergence":
        training["epochs"] = budget.max_epochs


def multi_mode(entry):
    """`(sharing mode, gradient method or None)` of a multi-task variant named
    `"hard"`, `"attention"`, `"hard+pcgrad"`, …"""
    from keras_mtl.models.gradient_methods import METHODS

    mode, _, method = entry.partition("+")
    if mode not in SHARING_MODES:
        raise ConfigError(f"Unknown sharing mode {mode!r}; known: {list(SHARING_MODES)}.")
    if method and method not in METHODS:
        raise ConfigError(f"Unknown gradient method {method!r} in {entry!r}; known: "
                          f"{list(METHODS)}.")
    return mode, method or None


def multi_variants(sharing, gradient_methods):
    """The multi-task variants' names: each sharing mode, crossed with each gradient
    method (`"none"`: the plain summed gradient) when methods are given."""
    if not gradient_methods:
        return list(sharing)
    return [mode if method == "none" else f"{mode}+{method}"
            for mode in sharing for method in gradient_methods]


def _epochs_for_steps(variant, config, datasets, steps):
    per_epoch = steps_per_epoch(config, datasets)
    examples = sum(len(datasets[name]["train"]) for name in config["data"]["dataset"])
    where = (f"--budget steps: {variant} ({examples} training examples, batch size "
             f"{config['training']['batch_size']})")
    if steps < 1:
        raise ConfigError("--budget steps: the multi-task run's training set is smaller than "
                          "one batch, so it takes no steps to match. Lower training.batch_size.")
    if per_epoch < 1:
        raise ConfigError(f"{where} has fewer examples than one batch: it cannot take the "
                          f"multi-task run's {steps} steps. Lower training.batch_size, or use "
                          "--budget epochs.")
    epochs = max(1, math.floor(steps / per_epoch + 0.5))
    if epochs > STEPS_MAX_EPOCHS:
        raise ConfigError(
            f"{where} would need {epochs} epochs of {per_epoch} steps to take the multi-task "
            f"run's {steps} steps: more than {STEPS_MAX_EPOCHS} epochs of a small dataset is "
            "no fair baseline. Use --budget epochs or convergence, or give that task more "
            "data (data.max_train_examples)."
        )
    return epochs


class Run(NamedTuple):
    """One training run of a comparison, in `OUTPUT/<variant>/lr<rate>/seed<seed>`."""

    variant: str
    seed: int
    learning_rate: float
    config: dict

    @property
    def folder(self):
        return os.path.join(self.variant, f"lr{format_rate(self.learning_rate)}",
                            f"seed{self.seed}")

    @property
    def label(self):
        return f"{self.variant} seed {self.seed} (lr {format_rate(self.learning_rate)})"


def _run(variant, config, seed, learning_rate):
    config = copy.deepcopy(config)
    config["training"].update(seed=seed, learning_rate=learning_rate)
    return Run(variant, seed, learning_rate, config)


def grid_runs(variants, learning_rates):
    """Seed 0 of every variant at every rate (rate by rate)."""
    return [_run(variant, config, 0, rate)
            for rate in learning_rates for variant, config in variants.items()]


def seed_runs(variants, seeds, chosen):
    """Seeds 0 … seeds − 1 of every variant at its chosen rate (`{variant: rate}`);
    seed 0's run is the grid's run at that rate (the same folder: reused)."""
    return [_run(variant, config, seed, chosen[variant])
            for seed in range(seeds) for variant, config in variants.items()]


def choose_learning_rates(variants, learning_rates, results):
    """`{"grid", "dev_score": {variant: {rate: value}}, "chosen": {variant: rate}}`:
    per variant, the rate whose seed-0 run has the best `dev_score` at its best
    epoch (`metrics["best_epoch"]["value"]`); a tie goes to the earlier rate.
    `results` maps `(variant, rate)` to a seed-0 run's metrics."""
    scores, chosen = {}, {}
    for variant in variants:
        values = {}
        for rate in learning_rates:
            best = results[(variant, rate)].get("best_epoch") or {}
            value = best.get("value")
            values[rate] = None if value is None or math.isnan(value) else float(value)
        defined = [rate for rate in learning_rates if values[rate] is not None]
        chosen[variant] = max(defined, key=lambda r: values[r]) if defined else learning_rates[0]
        scores[variant] = {format_rate(rate): value for rate, value in values.items()}
    return {"grid": [float(rate) for rate in learning_rates], "dev_score": scores,
            "chosen": chosen}


def compare(config, output, seeds=3, sharing=None, log=print, *, budget="epochs",
            learning_rates=None, max_epochs=None, patience=None, resamples=RESAMPLES,
            gradient_methods=None):
    """Trains every run of the comparison (skipping finished ones) and writes the report.

    Args:
        config: a config dict with several tasks.
        output: folder for the runs and the report.
        seeds: training seeds 0 … seeds − 1 (dataset splits stay fixed).
        sharing: sharing modes of the multi-task model (default: the config's).
        gradient_methods: crossed with `sharing`: `"none"` (the summed gradient),
            `"pcgrad"`, `"famo"`; variants are then named `multi_hard+pcgrad`, ….
        log: where progress lines and the report go.
        budget: `"epochs"`, `"steps"` or `"convergence"` (see `Budget`).
        learning_rates: the grid (default: the config's `training.learning_rate`).
        max_epochs, patience: of `Budget`.
        resamples: of the paired bootstrap.

    Returns:
        the report dict written to `compare.json`.
    """
    from keras_mtl.training import load_data

    config = resolve_config(config)
    task_names = _task_names(config)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds!r}.")
    given = config["training"]["gradient_method"]
    if gradient_methods is None and given is not None:
        gradient_methods = [given["name"]]  # the config's own method names its variants
    sharing = multi_variants(sharing or [config["backbone"]["sharing"]], gradient_methods)
    budget = Budget(budget, max_epochs, patience)
    rates = check_learning_rates(learning_rates, config)
    datasets = load_data(config["data"], task_names)
    variants = plan_variants(config, datasets, sharing, budget)
    claim_comparison(output, config, budget)

    results, selection, runs = train_runs(variants, rates, seeds, budget, output, log)

    log(f"Significance: paired bootstrap over the test examples ({resamples} resamples).")
    report = build_report(
        config, sharing, seeds, {(run.variant, run.seed): results[run.folder] for run in runs},
        significance=task_significance(config, datasets, runs, output, resamples),
        budget=describe_budget(budget, variants, datasets),
        learning_rates=selection,
        cost=cost_table(variants, runs, results),
        total_fit_seconds=round(sum(m.get("fit_seconds", 0.0) for m in results.values()), 1),
    )
    write_report(report, output)
    log(format_report(report))
    log(f"Wrote {output}/compare.json, compare.md, compare.png.")
    return report


def train_runs(variants, rates, seeds, budget, output, log=print):
    """Trains (or reuses) seed 0 of every variant at every rate, chooses each
    variant's rate on dev, then trains seeds 1 … seeds − 1 at it. Returns
    `(results, selection, runs)`: `{run folder: metrics}` of every run,
    `choose_learning_rates`' selection, and the runs at the chosen rates."""
    grid = grid_runs(variants, rates)
    progress = Progress({variant: len(rates) + seeds - 1 for variant in variants}, log)
    plan = f"{len(variants)} variants × {len(rates)} learning rate(s) at seed 0"
    if seeds > 1:
        later = "seed 1" if seeds == 2 else f"seeds 1-{seeds - 1}"
        plan += f", then {later} at each variant's chosen rate"
    log(f"{progress.total} runs ({plan}); budget: {budget.kind}.")
    results = {run.folder: train_or_reuse(run, output, progress) for run in grid}
    selection = choose_learning_rates(
        variants, rates, {(run.variant, run.learning_rate): results[run.folder] for run in grid})
    runs = seed_runs(variants, seeds, selection["chosen"])
    for run in runs:
        if run.folder not in results:
            results[run.folder] = train_or_reuse(run, output, progress)
    return results, selection, runs


class Progress:
    """One line when a run starts and one when it ends, with the time left.

    Runs of one variant take about as long as each other, and variants differ a
    lot (a single-task run on a small dataset against the multi-task run on all
    of them), so the time left sums, over the runs still to train, the mean
    duration of their own variant's finished runs (a reused run counts with its
    recorded `train_seconds`), else of all finished runs.

    Args:
        planned: `{variant: number of runs}`.
    """

    def __init__(self, planned, log=print):
        self.planned = dict(planned)
        self.total = sum(self.planned.values())
        self.log = log
        self.finished_runs = dict.fromkeys(self.planned, 0)
        self.durations = {variant: [] for variant in self.planned}

    @property
    def done(self):
        """Runs finished so far, trained or reused."""
        return sum(self.finished_runs.values())

    def reused(self, run, metrics=None):
        self.finished_runs[run.variant] += 1
        seconds = (metrics or {}).get("train_seconds")
        if seconds:
            self.durations[run.variant].append(float(seconds))
        self.log(f"[{self.done}/{self.total}] {run.label}: done before, reusing.")

    def seconds_left(self):
        """The estimated seconds of the runs still to train (None before any run)."""
        known = [s for durations in self.durations.values() for s in durations]
        if not known:
            return None
        overall = sum(known) / len(known)
        left = 0.0
        for variant, count in self.planned.items():
            durations = self.durations[variant]
            mean = sum(durations) / len(durations) if durations else overall
            left += max(0, count - self.finished_runs[variant]) * mean
        return left

    def started(self, run):
        self.log(f"[{self.done + 1}/{self.total}] {run.label} …")

    def finished(self, run, seconds):
        self.finished_runs[run.variant] += 1
        self.durations[run.variant].append(seconds)
        line = f"[{self.done}/{self.total}] {run.label} took {format_duration(seconds)}"
        if self.done < self.total:
            line += f"; about {format_duration(self.seconds_left())} left"
        self.log(line + ".")


def train_or_reuse(run, output, progress):
    """The metrics of `run`: read from its finished folder, or trained now."""
    from keras_mtl.training import train

    directory = os.path.join(output, run.folder)
    metrics_path = os.path.join(directory, "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            metrics = json.load(f)
        progress.reused(run, metrics)
        return metrics
    progress.started(run)
    start = time.perf_counter()
    metrics = train(run.config, output=directory, verbose=0, log=lambda *_: None)
    _clear_session()
    progress.finished(run, time.perf_counter() - start)
    return metrics


def _clear_session():
    import keras

    keras.backend.clear_session()


# === Significance ===

def task_significance(config, datasets, runs, output, resamples=RESAMPLES, seed=BOOTSTRAP_SEED):
    """`{task: {multi_<mode>: paired_bootstrap result}}`: each multi-task variant
    against the task's single-task model on the task's test examples (those of
    its datasets with a gold label), each system's metric averaged over its
    seeds on every resample. The metric is the task type's own evaluation of the
    resample (`TaskType.evaluate`: entity F1 stays a corpus-level F1); a metric
    that is a mean of per-example correctness (sentence-level accuracy) is
    vectorised."""
    from keras_mtl.training import build_task_specs, combined_split

    specs = build_task_specs(config["tasks"], combined_split(datasets, "train"))
    runs_by_variant = {}
    for run in runs:
        runs_by_variant.setdefault(run.variant, []).append(run)
    predictions = {run.folder: read_test_predictions(output, run) for run in runs}
    report = {}
    for spec in specs:
        metric, _ = primary_metric(spec.task_type)
        owners = [name for name, splits in datasets.items()
                  if "test" in splits and spec.name in splits["test"].labels]
        gold = [label for name in owners for label in datasets[name]["test"].labels[spec.name]]
        keep = [i for i, label in enumerate(gold) if label is not None]

        def system(variant, spec=spec, metric=metric, owners=owners, gold=gold, keep=keep):
            scores = []
            for run in runs_by_variant[variant]:
                predicted = _task_predictions(predictions[run.folder], owners, spec.name, run,
                                              len(gold))
                scores.append(_task_score(spec, metric, [gold[i] for i in keep],
                                          [predicted[i] for i in keep]))
            return seed_mean(scores)

        single = system(f"single_{spec.name}")
        report[spec.name] = {
            variant: paired_bootstrap(system(variant), single, len(keep), resamples=resamples,
                                      seed=seed, alpha=ALPHA)
            for variant in runs_by_variant if variant.startswith("multi_")
        }
    return report


def read_test_predictions(output, run):
    """`{dataset: {task: labels}}` that `train` saved for `run`'s test split."""
    path = os.path.join(output, run.folder, TEST_PREDICTIONS)
    if not os.path.exists(path):
        raise ArtifactError(
            f"{path} is missing: the run {run.label} finished without its test predictions, "
            "which the significance test needs. Delete its folder and run compare again."
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)["datasets"]


def _task_predictions(predictions, owners, task, run, expected):
    predicted = [label for name in owners for label in predictions.get(name, {}).get(task, [])]
    if len(predicted) != expected:
        raise ArtifactError(
            f"The test predictions of {run.label} hold {len(predicted)} '{task}' labels for "
            f"{expected} test examples of {owners}: the data changed since it ran. Delete "
            f"{run.folder} and run compare again."
        )
    return predicted


def _task_score(spec, metric, gold, predicted):
    """A bootstrap score (`keras_mtl.metrics.significance`) of one run on one task."""
    metrics, right = spec.task_type.evaluate(spec, gold, predicted)
    if (metric == "accuracy" and not spec.token_level and right is not None
            and math.isclose(metrics[metric], float(np.mean(right)))):
        return mean_score(right)
    if metric in ("precision", "recall", "f1") and spec.token_level:
        from keras_mtl.metrics.entity_f1 import entity_counts

        tags = [[tag if tag is not None else "O" for tag in row] for row in predicted]
        score = entity_score(entity_counts(gold, tags), metric)
        if math.isclose(float(score(np.arange(len(gold))[np.newaxis])[0]), metrics[metric],
                        rel_tol=1e-12, abs_tol=1e-12):
            return score  # the same metric from per-sentence counts: no re-evaluation

    def metric_of(indices):
        return spec.task_type.evaluate(
            spec, [gold[i] for i in indices], [predicted[i] for i in indices])[0][metric]

    return corpus_score(metric_of)


# === Budget and cost ===

def describe_budget(budget, variants, datasets):
    """The budget of the report: its kind, and per variant the epochs and the
    steps (nominal: epochs × `steps_per_epoch`) it was given."""
    per_variant = {}
    for variant, config in variants.items():
        per_epoch = steps_per_epoch(config, datasets)
        per_variant[variant] = {"epochs": config["training"]["epochs"],
                                "steps_per_epoch": per_epoch,
                                "steps": config["training"]["epochs"] * per_epoch}
    return {"kind": budget.kind, "max_epochs": budget.max_epochs, "patience": budget.patience,
            "variants": per_variant}


def encoder_passes(config):
    """Full-encoder passes per optimizer step: 1, or under partial sharing
    1 + (T − 1) · p / L (the top p of L layers run once per task of T)."""
    backbone = config["backbone"]
    tasks = len(config["tasks"])
    if backbone["sharing"] != "partial" or tasks < 2:
        return 1.0
    layers = backbone["num_layers"] or _preset_layers(backbone["preset"])
    return 1.0 + (tasks - 1) * backbone["private_layers"] / layers


def _preset_layers(preset):
    import keras_hub

    from keras_mtl.presets import resolve_preset

    backbone = keras_hub.models.BertBackbone.from_preset(resolve_preset(preset),
                                                         load_weights=False)
    layers = backbone.num_layers
    _clear_session()
    return layers


def cost_table(variants, runs, results):
    """Per variant, the mean over its seeds (at the chosen rate) of: epochs
    trained, best epoch, optimizer steps, encoder steps (steps × encoder passes)
    and fit seconds; plus its total fit seconds."""
    cost = {}
    for variant, config in variants.items():
        chosen = [run for run in runs if run.variant == variant]
        metrics = [results[run.folder] for run in chosen]
        passes = encoder_passes(config)
        steps = [m.get("steps") for m in metrics]
        cost[variant] = {
            "learning_rate": chosen[0].learning_rate,
            "epochs": config["training"]["epochs"],
            "epochs_trained": _mean([m.get("epochs_trained") for m in metrics]),
            "best_epoch": _mean([(m.get("best_epoch") or {}).get("epoch") for m in metrics]),
            "steps": _mean(steps),
            "encoder_passes_per_step": passes,
            "encoder_steps": None if _mean(steps) is None else _mean(steps) * passes,
            "fit_seconds": _mean([m.get("fit_seconds") for m in metrics]),
            "fit_seconds_total": round(sum(m.get("fit_seconds", 0.0) for m in metrics), 1),
        }
    return cost


def _mean(values):
    return None if any(v is None for v in values) or not values else float(np.mean(values))


def claim_comparison(output, config, budget=None, **kind):
    """Makes `output` this comparison's folder, or refuses (`OutputExistsError`) a
    folder that holds anything but a comparison of the same config, budget and
    `kind` (e.g. `pairs=True`; more seeds, sharing modes or learning rates of the
    same config extend it)."""
    from keras_mtl.training import claim_output

    claimed = dict(config)
    if budget is not None:
        claimed["compare"] = {"budget": dataclasses.asdict(budget), **kind}
    claim_output(output, claimed, config_file=COMPARE_CONFIG, kind="comparison")
