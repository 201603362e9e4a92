"""The training job behind `keras-mtl train` and `keras-mtl evaluate`.

`train(config)` loads the dataset(s), builds the tasks' label sets from the
training split(s), builds the model from its preset, fits it with length-bucketed
batches (several datasets: a `TaskMixture` with partial labels), and writes
`model.keras`, `metrics.json` (per split, per task), `history.csv` and the
resolved `config.json` to the output directory. A killed run restarts from
its last finished epoch (`EpochBackup` in `DIR/backup`).
"""

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import time

import keras

from keras_mtl.callbacks import (
    AdaptiveTaskWeighting, DevEvaluation, EpochBackup, EpochProgress, EpochTimer,
    HistoryLog, LayerAttentionLog, RestoreBest, TaskAffinity, TaskGradientDiagnostics,
)
from keras_mtl.callbacks.dev_evaluation import DEV_PREFIX
from keras_mtl.callbacks.epoch_timer import epoch_seconds_total
from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.data import TaskMixture, make_dataset
from keras_mtl.datasets import LabeledTexts, load_dataset
from keras_mtl.distribution import describe_devices, distribution_scope
from keras_mtl.errors import OutputExistsError
from keras_mtl.metrics.evaluation import evaluate_predictions
from keras_mtl.models import MultiTaskModel, load_model
from keras_mtl.optimizers import AdamW
from keras_mtl.outputs import describe_contents, replace_file, write_json
from keras_mtl.tasks import TaskSpec


def load_data(data_config, task_names):
    """`{dataset: {split: LabeledTexts}}` with only the label columns of `task_names`.

    Raises `ConfigError` for an unknown dataset, a dataset that labels none of
    the tasks, or a task that no dataset labels.
    """
    datasets = {}
    for name, options in data_config["dataset"].items():
        try:
            splits = load_dataset(name, seed=data_config["seed"], **options)
        except (ValueError, FileNotFoundError) as error:
            raise ConfigError(f"'data.dataset.{name}': {error}") from None
        if "train" not in splits:
            raise ConfigError(f"Dataset {name!r} has no train split.")
        columns = [task for task in task_names if task in splits["train"].labels]
        if not columns:
            raise ConfigError(
                f"Dataset {name!r} labels none of the tasks {task_names}; its label "
                f"columns are {sorted(splits['train'].labels)}."
            )
        limit = data_config["max_train_examples"]
        if limit is not None and limit < len(splits["train"]):
            # A quick run on the first examples (label sets still come from them).
            splits["train"] = splits["train"].subset(range(limit))
        datasets[name] = {split: data.select(columns) for split, data in splits.items()}
    return datasets


def combined_split(datasets, split):
    """One `LabeledTexts` of `split` over all datasets that have it (partial labels)."""
    parts = [splits[split] for splits in datasets.values() if split in splits]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else LabeledTexts.combine(parts, name=split)


def build_task_specs(task_configs, train_data):
    """`TaskSpec`s from config entries; label sets come from the training split."""
    specs = []
    for task in task_configs:
        task = dict(task)
        task.pop("type_module", None)  # imported (and so registered) by resolve_config
        if task["name"] not in train_data.labels:
            raise ConfigError(
                f"Task '{task['name']}' has no labels in the training data; its label "
                f"columns are {sorted(train_data.labels)}."
            )
        try:
            spec = TaskSpec(**task)
            if spec.task_type.needs_labels and spec.labels is None:
                labels = spec.task_type.collect_labels(train_data.labels[spec.name])
                spec = spec.with_labels(labels)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        specs.append(spec)
    return specs


def make_optimizer(training, steps_per_epoch):
    """AdamW with linear warm-up then cosine decay; no decay on biases, norms, the
    learned task log-variances of uncertainty weighting and the layer attention's
    logits and scale (decay would pull every task's mix towards uniform)."""
    total = max(1, steps_per_epoch * training["epochs"])
    warmup = int(total * training["warmup_ratio"])
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else training["learning_rate"],
        decay_steps=max(1, total - warmup),
        warmup_target=training["learning_rate"] if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = AdamW(learning_rate=schedule, weight_decay=training["weight_decay"])
    optimizer.exclude_from_weight_decay(
        var_names=["bias", "gamma", "beta", "log_variances", "layer_logits", "layer_scale"])
    return optimizer


def train(config, output=None, epochs=None, verbose="auto", log=print):
    """Runs a training job; returns `{split: {task: metrics}}` for dev and test.

    Args:
        config: a config dict (see `keras_mtl.config.DEFAULTS`).
        output: output directory (overrides `config["output"]`).
        epochs: overrides `config["training"]["epochs"]`.
        verbose: Keras `fit` verbosity.
        log: where progress messages go.

    With `training.strategy`, the model is built, compiled and fitted under that
    strategy (`keras_mtl.distribution`); `training.batch_size` is the global batch.
    On multi-worker runs only the chief (worker 0) writes the run's files and
    returns metrics; the other workers return `None`.
    """
    with contextlib.ExitStack() as scopes:
        return _train(config, output, epochs, verbose, log, scopes)


def claim_output(output, config, config_file="config.json", kind="run"):
    """Makes `output` this run's folder: `"new"` (absent or empty: the resolved
    config is written there first) or `"resume"` (an unfinished run of the same
    config). Anything else there is refused with `OutputExistsError`: a different
    config, a finished run, or files that are not a keras_mtl run."""
    if os.path.lexists(output) and not os.path.isdir(output):
        raise OutputExistsError(f"--output {output} is a file; give a folder.")
    config_path = os.path.join(output, config_file)
    config = json.loads(json.dumps(config))  # as it reads back from the file
    own = {"output": None}
    if os.path.isdir(output) and _run_entries(output):
        if not os.path.exists(config_path):
            raise OutputExistsError(
                f"--output {output} holds files that are not a keras_mtl {kind} "
                f"({describe_contents(output)}); nothing was written. Choose a new folder."
            )
        with open(config_path, encoding="utf-8") as f:
            previous = json.load(f)
        difference = _first_difference({**previous, **own}, {**config, **own})
        if difference:
            raise OutputExistsError(
                f"--output {output} holds a {kind} of another config ({difference}); it "
                "resumes only the same config. Choose a new folder."
            )
        if kind == "run" and os.path.exists(os.path.join(output, "model.keras")):
            raise OutputExistsError(
                f"--output {output} holds a finished run of this config (model.keras); "
                f"nothing was overwritten. Evaluate it with `keras-mtl evaluate {output}`, "
                "or choose a new folder to train again."
            )
        return "resume"
    os.makedirs(output, exist_ok=True)
    write_json(config_path, config)
    return "new"


def _run_entries(folder):
    """A folder's entries, less the writers' temporary files and worker scratch."""
    return [name for name in os.listdir(folder)
            if ".partial-" not in name and not name.startswith("workertemp_")]


def _first_difference(old, new, path=""):
    """`'training.epochs: 3 → 5'` for the first key that differs, else `None`."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            found = _first_difference(old.get(key), new.get(key), f"{path}{key}.")
            if found:
                return found
        return None
    if old != new:
        return f"{path.rstrip('.')}: {old!r} → {new!r}"
    return None


def _train(config, output, epochs, verbose, log, scopes):
    config = resolve_config(config)
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {epochs}.")
        config["training"]["epochs"] = epochs
    output = output or config["output"] or os.path.join("saved_models", config["name"])
    state = claim_output(output, config)
    if state == "resume":
        log(f"Resuming the unfinished run in {output}.")
    try:
        return _train_in(config, output, verbose, log, scopes)
    except BaseException:
        if state == "new" and not _epochs_logged(output):
            shutil.rmtree(output, ignore_errors=True)  # failed before an epoch ended
        raise


def _history_rows(output):
    """The finished epochs' rows of `history.csv` (CSVLogger creates it empty)."""
    try:
        with open(os.path.join(output, "history.csv"), encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _epochs_logged(output):
    return len(_history_rows(output))


def _train_in(config, output, verbose, log, scopes):
    """The job, step by step: data, strategy, model, inputs, callbacks, fit, then
    (on the chief) save, evaluate and report."""
    training = config["training"]
    keras.utils.set_random_seed(training["seed"])
    start = time.time()
    datasets, splits, tasks = _load_splits(config)
    dist = _enter_strategy(training, scopes, log)
    output = dist.worker_directory(output)
    os.makedirs(output, exist_ok=True)
    model = _build_model(config, tasks, log)
    precision = model.backbone.dtype_policy.name
    if training["mixed_precision"] is not None:
        log(f"Precision {precision} (training.mixed_precision: {training['mixed_precision']}).")
    inputs = _make_inputs(config, model.preprocessor, datasets, splits, log)
    model.compile(make_optimizer(training, inputs.steps_per_epoch))
    callbacks = _make_callbacks(config, model, inputs, splits, output, verbose, log)
    fit_seconds, epochs_trained, steps = _fit(model, training, dist, inputs, callbacks,
                                              len(splits["train"]), output, verbose, log)
    train_seconds = time.time() - start
    scopes.close()  # leave the strategy: saving and evaluating use one device
    if not dist.is_chief:
        shutil.rmtree(output)
        return None
    model = _save_model(model, output, reload=bool(dist.name))
    metrics = _evaluate(model, datasets, splits, training, output)
    metrics.update(train_seconds=round(train_seconds, 1), fit_seconds=round(fit_seconds, 1),
                   epochs_trained=epochs_trained, steps=steps,
                   backend=keras.config.backend(), precision=precision)
    if callbacks.best is not None:
        best = callbacks.best
        metrics["best_epoch"] = {"epoch": best.best_epoch, "monitor": best.monitor,
                                 "value": best.best_value}
    write_json(os.path.join(output, "metrics.json"), metrics)
    written = _write_reports(config, model, callbacks.affinity, splits, output)
    log(format_metrics(metrics))
    log(f"Wrote {output}/: {written}.")
    return metrics


@dataclasses.dataclass
class _Inputs:
    """The fit's data: batches, and the mixture's callback if several datasets."""

    train: object
    dev: object
    steps_per_epoch: int
    batches_per_epoch: object  # an int, or None: counted after fit (length buckets)
    mixture_callback: object = None


@dataclasses.dataclass
class _Callbacks:
    """The fit's callbacks in order, and the two whose results the job reads."""

    all: list
    best: object = None
    affinity: object = None


def _load_splits(config):
    """`(datasets, {split: combined data}, task specs)`."""
    datasets = load_data(config["data"], [task["name"] for task in config["tasks"]])
    splits = {split: combined_split(datasets, split) for split in ("train", "dev", "test")}
    splits = {split: data for split, data in splits.items() if data is not None}
    return datasets, splits, build_task_specs(config["tasks"], splits["train"])


def _enter_strategy(training, scopes, log):
    """Enters the strategy's scope (kept open in `scopes`); returns the `Distribution`."""
    dist = scopes.enter_context(distribution_scope(
        training["strategy"], mixed_precision=training["mixed_precision"]
    ))
    if training["batch_size"] % dist.num_replicas:
        raise ConfigError(
            f"'training.batch_size' ({training['batch_size']}) is the global batch: it "
            f"must split evenly over {dist.num_replicas} replicas."
        )
    if dist.name:
        log(f"Strategy {dist.name}: {dist.num_replicas} replicas on {dist.num_workers} "
            f"worker(s); this is worker {dist.worker_index}.")
    return dist


def _build_model(config, tasks, log):
    backbone, training, weighting = config["backbone"], config["training"], config["weighting"]
    model = MultiTaskModel.from_preset(
        backbone["preset"],
        tasks=tasks,
        num_layers=backbone["num_layers"],
        sequence_length=backbone["sequence_length"],
        load_weights=backbone["load_weights"],
        uncertainty_weighting=bool(weighting and weighting["strategy"] == "uncertainty"),
        sharing=backbone["sharing"],
        private_layers=backbone["private_layers"],
        tie_weight=backbone["tie_weight"],
        gradient_method=training["gradient_method"],
    )
    log(f"Devices: {describe_devices()}.")
    log(
        f"Model: {backbone['preset']} ({model.backbone.num_layers} layers, "
        f"{model.count_params():,} parameters), tasks {model.task_names}."
    )
    if backbone["initial_weights"] is not None:
        copied = _start_from(model, backbone["initial_weights"])
        heads = f"the heads of {copied}" if copied else "no task head (none in common)"
        log(f"Starting from {backbone['initial_weights']}: its encoder and {heads}.")
    return model


def _start_from(model, path):
    """Loads the earlier run at `path` and copies its weights into `model`
    (`MultiTaskModel.initialize_from`); returns the tasks whose heads were copied."""
    where = f"'backbone.initial_weights' ({path})"
    if not (os.path.isfile(path) or os.path.isfile(os.path.join(path, "model.keras"))):
        raise ConfigError(f"{where}: no such file, and no folder holding a model.keras.")
    try:
        source, _ = load_run(path)
    except (ValueError, OSError) as error:
        raise ConfigError(f"{where}: cannot load a model: {error}") from None
    try:
        return model.initialize_from(source)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _make_inputs(config, preprocessor, datasets, splits, log):
    """Training batches (a `TaskMixture` of several datasets, else length-bucketed
    batches of one) and dev batches."""
    training = config["training"]
    if len(datasets) > 1:
        mixture = TaskMixture(
            preprocessor,
            {name: splits_["train"] for name, splits_ in datasets.items()},
            sampler=config["data"]["sampler"],
            batch_size=training["batch_size"],
            epochs=training["epochs"],
            examples_per_epoch=config["data"]["examples_per_epoch"],
            seed=training["seed"],
            bucket_step=training["bucket_step"],
        )
        log(f"Mixing {mixture}.")
        inputs = _Inputs(mixture.dataset, None, mixture.steps_per_epoch,
                         mixture.steps_per_epoch, mixture.callback)
    else:
        train_ds = make_dataset(
            preprocessor, splits["train"], batch_size=training["batch_size"],
            shuffle=True, seed=training["seed"], bucket_step=training["bucket_step"],
        )
        inputs = _Inputs(train_ds, None, len(splits["train"]) // training["batch_size"], None)
    if "dev" in splits:
        inputs.dev = make_dataset(
            preprocessor, splits["dev"], batch_size=training["batch_size"],
            bucket_step=training["bucket_step"], unknown_labels="ignore",
        )
    return inputs


def _make_callbacks(config, model, inputs, splits, output, verbose, log):
    """The fit's callbacks. Order matters: the mixture, weighting and diagnostics
    write into the logs that HistoryLog then records."""
    training, weighting = config["training"], config["weighting"]
    callbacks = _Callbacks([inputs.mixture_callback] if inputs.mixture_callback else [])
    backup_dir = os.path.join(output, "backup")
    if weighting:
        options = {k: v for k, v in weighting.items() if k != "strategy"}
        os.makedirs(backup_dir, exist_ok=True)
        callbacks.all.append(
            AdaptiveTaskWeighting(
                weighting["strategy"],
                gradient_data=inputs.train,
                state_path=os.path.join(backup_dir, "weighting.json"),
                **options,
            )
        )
    if training["gradient_diagnostics"]:
        callbacks.all.append(TaskGradientDiagnostics(
            inputs.dev if inputs.dev is not None else inputs.train))
    if model.layer_attention:
        callbacks.all.append(LayerAttentionLog())
    if training["affinity_every"]:
        os.makedirs(backup_dir, exist_ok=True)
        callbacks.affinity = TaskAffinity(
            inputs.train, every=training["affinity_every"],
            batch_size=training["affinity_batch_size"],
            state_path=os.path.join(backup_dir, "affinity.json"))
        callbacks.all.append(callbacks.affinity)
    if training["restore_best"]:
        if inputs.dev is None:
            raise ConfigError("'training.restore_best' chooses the epoch on the dev split; "
                              "this run's data has no dev split.")
        if training["monitor"].startswith(DEV_PREFIX):
            # Decoded dev predictions' primary metrics and dev_score, logged before
            # RestoreBest reads them and HistoryLog records them.
            callbacks.all.append(DevEvaluation(splits["dev"]))
        callbacks.best = RestoreBest(training["monitor"], patience=training["patience"],
                                     directory=os.path.join(backup_dir, "best"))
        callbacks.all.append(callbacks.best)  # before EpochBackup, which deletes backup_dir
    callbacks.all += [
        EpochTimer(),  # after the epoch-end work above, before HistoryLog records it
        # Before the backup: a kill between the two reruns the epoch, and HistoryLog
        # drops its stale row when the resumed run starts.
        HistoryLog(os.path.join(output, "history.csv")),
        # Written so that a kill at any moment leaves a backup a run resumes from.
        EpochBackup(backup_dir),
    ]
    if training["tensorboard"]:
        callbacks.all.append(keras.callbacks.TensorBoard(
            os.path.join(output, "tensorboard"), write_graph=False, profile_batch=0))
    if verbose:
        callbacks.all.append(EpochProgress(training["epochs"], log=log))
    return callbacks


def _fit(model, training, dist, inputs, callbacks, examples, output, verbose, log):
    """Fits; returns `(fit seconds, epochs trained, optimizer steps)`, resumed
    epochs included: the seconds are the sum of `history.csv`'s `epoch_seconds`,
    which holds the epochs a killed process finished too."""
    train_ds = dist.even_batches(inputs.train, training["batch_size"])
    dev_ds = None if inputs.dev is None else dist.even_batches(inputs.dev,
                                                              training["batch_size"])
    log(f"Training {training['epochs']} epochs on {examples} examples.")
    fit_start = time.time()
    model.fit(
        train_ds,
        validation_data=dev_ds,
        epochs=training["epochs"],
        callbacks=callbacks.all,
        verbose=verbose,
        shuffle=False,
    )
    fit_seconds = time.time() - fit_start
    rows = _history_rows(output)
    # The run's cost as if never killed; a history without the column (a run
    # begun before it existed) falls back to this process's time.
    fit_seconds = epoch_seconds_total(rows) or fit_seconds
    # Not `optimizer.iterations`: TF counts one more at the end of each epoch of
    # unknown length, and RestoreBest's weights bring back the best epoch's count.
    # Shuffled length buckets drop partial batches: count them.
    batches = inputs.batches_per_epoch
    if batches is None:
        batches = int(train_ds.reduce(0, lambda count, _: count + 1))
    return fit_seconds, len(rows), batches * len(rows)


def _save_model(model, output, reload):
    """Saves model.keras; returns the model to evaluate (the saved one reloaded
    after a strategy: a model built under one predicts through it)."""
    with replace_file(os.path.join(output, "model.keras")) as tmp:
        model.save(tmp)
    return load_model(os.path.join(output, "model.keras")) if reload else model


def _evaluate(model, datasets, splits, training, output):
    """`{split: {task: metrics}}` on dev and test; writes test_predictions.json
    when asked."""
    metrics = {}
    for split in ("dev", "test"):
        if split in splits:
            predictions = predict_split(model, splits[split])
            metrics[split] = evaluate_predictions(model.tasks, splits[split], predictions)
            if split == "test" and training["save_test_predictions"]:
                write_json(os.path.join(output, "test_predictions.json"),
                           predictions_by_dataset(datasets, "test", predictions))
    return metrics


def _write_reports(config, model, affinity, splits, output):
    """Layer attention, affinity and plots next to the run; returns what the run
    folder holds, for the log."""
    training = config["training"]
    written = "model.keras, metrics.json, history.csv, config.json"
    if model.layer_attention:
        write_json(os.path.join(output, "layer_attention.json"), model.layer_mixing())
        written += ", layer_attention.json"
    if affinity is not None:
        from keras_mtl.transfer.report import affinity_report, write_affinity

        report = affinity_report(
            model.task_names, affinity.measurements, affinity.mean("tag"),
            affinity.mean("cosine"), every=affinity.every, lookahead=affinity.lookahead,
            batch_size=affinity.batch_size,
            affinity_seconds=affinity.seconds, fit_seconds=affinity.fit_seconds)
        written += ", " + ", ".join(write_affinity(output, report, title=config["name"]))
    if training["save_test_predictions"] and "test" in splits:
        written += ", test_predictions.json"
    if training["tensorboard"]:
        written += ", tensorboard/"
    try:
        from keras_mtl.plotting import plot_layer_attention, plot_training

        history = os.path.join(output, "history.csv")
        plot_training(history, os.path.join(output, "training.png"), title=config["name"])
        written += ", training.png"
        if model.layer_attention:
            plot_layer_attention(history, os.path.join(output, "layer_attention.png"),
                                 title=f"{config['name']}: layer attention per task")
            written += ", layer_attention.png"
    except ImportError:
        pass  # matplotlib is optional (the `plot` extra)
    return written


def predict_split(model, data):
    """Decoded predictions of `model` for a `LabeledTexts` (`predict_text` warns
    about texts cut to the sequence length)."""
    return model.predict_text(data.texts, text_pairs=data.pairs, batch_size=64)


def evaluate_model(model, data):
    """Metrics of `model` on a `LabeledTexts` (decoded predictions vs gold strings)."""
    return evaluate_predictions(model.tasks, data, predict_split(model, data))


def predictions_by_dataset(datasets, split, predictions):
    """`{"split": split, "datasets": {dataset: {task: labels}}}`: decoded labels of
    `combined_split(datasets, split)` cut back into its datasets (in that order),
    each with the tasks it labels; what `training.save_test_predictions` writes."""
    result, start = {}, 0
    for name, splits in datasets.items():
        if split not in splits:
            continue
        end = start + len(splits[split])
        result[name] = {task: list(predictions[task]["labels"][start:end])
                        for task in splits[split].labels}
        start = end
    return {"split": split, "datasets": result}


def load_run(path):
    """`(model, config)` from a run directory (or its `model.keras`)."""
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    model_path = os.path.join(path, "model.keras")
    if not os.path.isfile(model_path):
        model_path = path  # `load_model` says what the path holds instead
    model = load_model(model_path)
    config = None
    config_path = os.path.join(directory, "config.json")
    if os.path.exists(config_path):
        with open(config_path) as f:
            config = json.load(f)
    return model, config


def evaluate_run(path, split="test"):
    """Metrics of a saved run on `split` of the dataset it was trained on."""
    model, config = load_run(path)
    if config is None:
        raise ConfigError(f"No config.json beside {path}: cannot tell which dataset to use.")
    config = resolve_config(config)
    data = combined_split(load_data(config["data"], model.task_names), split)
    if data is None:
        raise ConfigError(f"Unknown split {split!r}; the run's datasets have no such split.")
    return {split: evaluate_model(model, data)}


def format_metrics(metrics):
    """A short human-readable summary of `{split: {task: metrics}}`."""
    lines = []
    best = metrics.get("best_epoch")
    if best:
        lines.append(f"best epoch {best['epoch']} ({best['monitor']} {best['value']:.4f})")
    for split, tasks in metrics.items():
        if not isinstance(tasks, dict) or split == "best_epoch":
            continue
        parts = []
        for task, values in tasks.items():
            if task == "sentence_accuracy":
                parts.append(f"sentence accuracy {values:.4f}")
            elif "accuracy" in values:
                parts.append(f"{task} accuracy {values['accuracy']:.4f}")
            elif "f1" in values:
                parts.append(f"{task} entity F1 {values['f1']:.4f}")
            else:
                parts.append(f"{task} " + ", ".join(
                    f"{k} {v:.4f}" for k, v in values.items() if k != "count"))
        lines.append(f"{split}: " + " | ".join(parts))
    return "\n".join(lines)
