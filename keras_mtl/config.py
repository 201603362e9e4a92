"""Training configs: defaults, validation and clear errors (no file I/O here)."""

import copy
import importlib

from keras_mtl.checks import check_number
from keras_mtl.errors import ConfigError
from keras_mtl.tasks import TASK_TYPES


DEFAULTS = {
    "name": "keras_mtl_run",
    "backbone": {
        "preset": "minilm",
        "num_layers": None,
        "sequence_length": 128,
        "load_weights": True,
        "sharing": "hard",
        "private_layers": 1,
        "tie_weight": 0.0,
        "initial_weights": None,
    },
    "data": {
        "dataset": "atis",
        "seed": 0,
        "max_train_examples": None,
        "sampler": "proportional",
        "examples_per_epoch": None,
    },
    "tasks": None,
    "training": {
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 5e-5,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "seed": 0,
        "bucket_step": "auto",
        "gradient_diagnostics": False,
        "strategy": None,
        "mixed_precision": "auto",
        "restore_best": False,
        "monitor": "val_loss",
        "patience": None,
        "tensorboard": True,
        "save_test_predictions": False,
        "affinity_every": None,
        "affinity_batch_size": None,
        "gradient_method": None,
    },
    "weighting": None,
    "output": None,
}

_TASK_KEYS = {
    "name", "type", "labels", "loss", "metrics", "weight", "pooling", "dropout",
    "hidden_dim", "threshold", "text_pair", "type_module", "decoding",
}

_TYPES = {
    "backbone": {
        "preset": str, "num_layers": (int, type(None)), "sequence_length": int,
        "load_weights": bool, "sharing": str, "private_layers": int,
        "tie_weight": (int, float), "initial_weights": (str, type(None)),
    },
    "data": {
        "dataset": (str, list, dict), "seed": int, "max_train_examples": (int, type(None)),
        "sampler": (str, dict), "examples_per_epoch": (int, type(None)),
    },
    "training": {
        "epochs": int, "batch_size": int, "learning_rate": (int, float),
        "warmup_ratio": (int, float), "weight_decay": (int, float), "seed": int,
        "bucket_step": (int, str, type(None)), "gradient_diagnostics": bool,
        "strategy": (str, type(None)), "mixed_precision": (str, type(None)),
        "restore_best": bool, "monitor": str, "patience": (int, type(None)),
        "tensorboard": bool, "save_test_predictions": bool,
        "affinity_every": (int, type(None)), "affinity_batch_size": (int, type(None)),
        "gradient_method": (str, dict, type(None)),
    },
}


def resolve_config(config):
    """A complete, validated config: `config` laid over `DEFAULTS`.

    Raises `ConfigError` naming the offending field for unknown keys, wrong types
    and out-of-range values.
    """
    if not isinstance(config, dict):
        raise ConfigError(
            f"A config must be a mapping of sections, got {type(config).__name__}."
        )
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"Unknown config section(s) {unknown}; known: {sorted(DEFAULTS)}."
        )
    resolved = copy.deepcopy(DEFAULTS)
    for section, fields in _TYPES.items():
        given = config.get(section) or {}
        if not isinstance(given, dict):
            raise ConfigError(f"'{section}' must be a mapping, got {given!r}.")
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in '{section}'; known: {sorted(fields)}."
            )
        for key, value in given.items():
            expected = fields[key]
            if isinstance(value, bool) and expected is not bool:
                raise ConfigError(f"'{section}.{key}' must not be a boolean: {value!r}.")
            if not isinstance(value, expected):
                raise ConfigError(
                    f"'{section}.{key}' has the wrong type: {value!r} "
                    f"({type(value).__name__})."
                )
            resolved[section][key] = value
    for key in ("name", "output"):
        if key in config:
            if config[key] is not None and not isinstance(config[key], str):
                raise ConfigError(f"'{key}' must be a string, got {config[key]!r}.")
            resolved[key] = config[key]
    training = resolved["training"]
    for key in ("epochs", "batch_size"):
        if training[key] < 1:
            raise ConfigError(f"'training.{key}' must be >= 1, got {training[key]}.")
    check_number(training["learning_rate"], "'training.learning_rate'", above=0)
    check_number(training["warmup_ratio"], "'training.warmup_ratio'", at_least=0, below=1)
    check_number(training["weight_decay"], "'training.weight_decay'", at_least=0)
    check_number(training["seed"], "'training.seed'", at_least=0, integer=True)
    step = training["bucket_step"]
    if isinstance(step, str) and step != "auto" or isinstance(step, int) and step < 1:
        raise ConfigError(f"'training.bucket_step' must be 'auto', >= 1 or null, got {step!r}.")
    _check_distribution(training)
    if training["patience"] is not None and training["patience"] < 1:
        raise ConfigError(f"'training.patience' must be >= 1 or null, got {training['patience']}.")
    if training["patience"] is not None and not training["restore_best"]:
        raise ConfigError(
            "'training.patience' stops on the dev split's 'training.monitor': it needs "
            "'training.restore_best: true'."
        )
    limit = resolved["data"]["max_train_examples"]
    if limit is not None and limit < 1:
        raise ConfigError(f"'data.max_train_examples' must be >= 1 or null, got {limit}.")
    check_number(resolved["data"]["seed"], "'data.seed'", at_least=0, integer=True)
    backbone = resolved["backbone"]
    # [CLS] [SEP] and at least one sub-word of each of two texts.
    check_number(backbone["sequence_length"], "'backbone.sequence_length'", at_least=4)
    if backbone["num_layers"] is not None and backbone["num_layers"] < 1:
        raise ConfigError("'backbone.num_layers' must be >= 1 or null.")
    if backbone["initial_weights"] is not None and not backbone["initial_weights"].strip():
        raise ConfigError("'backbone.initial_weights' must be a run folder or a .keras file, "
                          "or null; got an empty string.")
    _resolve_sharing(backbone)
    _resolve_data(resolved["data"])
    resolved["tasks"] = _resolve_tasks(config.get("tasks"))
    resolved["weighting"] = _resolve_weighting(
        config.get("weighting"), [task["name"] for task in resolved["tasks"]]
    )
    _resolve_gradient_method(resolved)
    if training["affinity_every"] is not None:
        check_number(training["affinity_every"], "'training.affinity_every'", at_least=1,
                     integer=True)
        if len(resolved["tasks"]) < 2:
            names = [task["name"] for task in resolved["tasks"]]
            raise ConfigError(
                f"'training.affinity_every': task affinity needs at least 2 tasks, the "
                f"config has {len(names)} ({names})."
            )
    if training["affinity_batch_size"] is not None:
        check_number(training["affinity_batch_size"], "'training.affinity_batch_size'",
                     at_least=1, integer=True)
    return resolved


def _resolve_sharing(backbone):
    from keras_mtl.models.multi_task_model import SHARING_MODES

    if backbone["sharing"] not in SHARING_MODES:
        raise ConfigError(
            f"'backbone.sharing' is {backbone['sharing']!r}; known: {list(SHARING_MODES)}."
        )
    if backbone["private_layers"] < 1:
        raise ConfigError(
            f"'backbone.private_layers' must be >= 1, got {backbone['private_layers']}."
        )
    check_number(backbone["tie_weight"], "'backbone.tie_weight'", at_least=0)
    if backbone["tie_weight"] and backbone["sharing"] != "partial":
        raise ConfigError(
            "'backbone.tie_weight' must be >= 0 and needs 'backbone.sharing: partial', got "
            f"{backbone['tie_weight']} with sharing {backbone['sharing']!r}."
        )


def _resolve_data(data):
    """Normalises `data.dataset` to `{name: options}` and checks the sampler."""
    datasets = data["dataset"]
    if isinstance(datasets, str):
        datasets = {datasets: {}}
    elif isinstance(datasets, list):
        if not all(isinstance(name, str) for name in datasets):
            raise ConfigError(f"'data.dataset' list must hold dataset names, got {datasets!r}.")
        if len(set(datasets)) != len(datasets):
            raise ConfigError(f"'data.dataset' names a dataset twice: {datasets!r}.")
        datasets = {name: {} for name in datasets}
    if not datasets:
        raise ConfigError("'data.dataset' names no dataset.")
    for name, options in datasets.items():
        if options is None:
            datasets[name] = {}
        elif not isinstance(options, dict):
            raise ConfigError(
                f"'data.dataset.{name}' must be a mapping of loader options, got {options!r}."
            )
    data["dataset"] = {name: dict(options) for name, options in datasets.items()}
    from keras_mtl.datasets import check_dataset_options

    for name, options in data["dataset"].items():
        try:
            check_dataset_options(name, options)
        except ConfigError as error:
            raise ConfigError(f"'data.dataset.{name}': {error}") from None
    from keras_mtl.data.samplers import get_sampler

    try:
        get_sampler(data["sampler"]).for_datasets(list(data["dataset"]))
    except ValueError as error:
        raise ConfigError(f"'data.sampler': {error}") from None
    if data["examples_per_epoch"] is not None and data["examples_per_epoch"] < 1:
        raise ConfigError("'data.examples_per_epoch' must be >= 1 or null.")


def _resolve_weighting(weighting, task_names):
    """`None`, or `{"strategy": name, **options}` checked by building the strategy
    (and its task-keyed options against `task_names`)."""
    if weighting is None:
        return None
    if isinstance(weighting, str):
        weighting = {"strategy": weighting}
    if not isinstance(weighting, dict) or "strategy" not in weighting:
        raise ConfigError(
            "'weighting' must be a strategy name or a mapping with 'strategy', e.g. "
            f"{{strategy: dwa, temperature: 2.0}}; got {weighting!r}."
        )
    from keras_mtl.weighting import get_strategy

    options = {k: v for k, v in weighting.items() if k != "strategy"}
    try:
        get_strategy(weighting["strategy"], **options).check_tasks(task_names)
    except ValueError as error:
        message = str(error)
        if not message.startswith("weighting '"):  # strategy messages name themselves
            message = f"'weighting': {message}"
        raise ConfigError(message) from None
    return dict(weighting)


def _resolve_tasks(tasks):
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(
            "'tasks' must be a non-empty list, e.g. "
            "[{name: intent, type: classification}]."
        )
    resolved = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise ConfigError(f"'tasks[{i}]' must be a mapping, got {task!r}.")
        unknown = sorted(set(task) - _TASK_KEYS)
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in 'tasks[{i}]'; known: {sorted(_TASK_KEYS)}."
            )
        for key in ("name", "type"):
            if key not in task:
                raise ConfigError(f"'tasks[{i}]' has no '{key}'.")
        if task.get("type_module"):
            try:
                importlib.import_module(task["type_module"])
            except (ImportError, ValueError) as error:  # ValueError: a refused type
                raise ConfigError(
                    f"'tasks[{i}].type_module': cannot import {task['type_module']!r}: {error}"
                ) from None
        if not isinstance(task["type"], str) or task["type"] not in TASK_TYPES:
            raise ConfigError(
                f"'tasks[{i}].type' is {task['type']!r}; known types: {sorted(TASK_TYPES)}."
            )
        _check_task_spec(task, i)
        resolved.append(dict(task))
    names = [task["name"] for task in resolved]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"'tasks' names task(s) {twice} twice; every task needs its own name.")
    return resolved


def _check_task_spec(task, i):
    """Builds the task's `TaskSpec` (label set, weight, head options; its loss and
    metrics by name) so that a bad value is refused before any data is loaded."""
    from keras_mtl.tasks.task_spec import TaskSpec

    try:
        spec = TaskSpec(**{key: value for key, value in task.items() if key != "type_module"})
        if task.get("loss") is not None:
            spec.resolved_loss()
        if task.get("metrics") is not None:  # (the defaults need no check)
            spec.resolved_metrics()
    except (ValueError, TypeError) as error:  # TypeError: a loss or metric Keras cannot use
        raise ConfigError(f"'tasks[{i}]': {error}") from None


def _resolve_gradient_method(config):
    """`training.gradient_method` as `{"name", options}` (or None), checked against
    the tasks, the strategy, mixed precision and the weighting."""
    from keras_mtl.models.gradient_methods import resolve_gradient_method

    training = config["training"]
    try:
        method = resolve_gradient_method(training["gradient_method"], len(config["tasks"]))
    except ConfigError as error:
        raise ConfigError(f"'training.gradient_method': {error}") from None
    training["gradient_method"] = method
    if method is None:
        return
    name = method["name"]
    if training["strategy"] is not None:
        raise ConfigError(
            f"'training.gradient_method' {name!r} combines per-task gradients on one device; "
            f"it is not supported with 'training.strategy' {training['strategy']!r}.")
    if training["mixed_precision"] == "mixed_float16":
        raise ConfigError(
            f"'training.gradient_method' {name!r} does not support loss scaling "
            "('training.mixed_precision: mixed_float16'); use mixed_bfloat16 or null.")
    if name == "famo" and config["weighting"] is not None:
        raise ConfigError(
            "'training.gradient_method' 'famo' sets the task weights itself; remove "
            f"'weighting' (strategy {config['weighting']['strategy']!r}).")


def _check_distribution(training):
    """`training.strategy` and `training.mixed_precision` name known values (whether
    the strategy suits the Keras backend is checked when it is built)."""
    from keras_mtl.distribution import (
        AUTO, MIXED_PRECISION_POLICIES, PRECISION_SETTINGS, STRATEGIES)

    if training["strategy"] is not None and training["strategy"] not in STRATEGIES:
        raise ConfigError(
            f"'training.strategy' is {training['strategy']!r}; known: "
            f"{sorted(STRATEGIES)} or null (one device)."
        )
    policy = training["mixed_precision"]
    if policy is not None and policy not in PRECISION_SETTINGS:
        raise ConfigError(
            f"'training.mixed_precision' is {policy!r}; known: {AUTO!r}, "
            f"{list(MIXED_PRECISION_POLICIES)} or null (float32)."
        )
