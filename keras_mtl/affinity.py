"""The job behind `keras-mtl affinity`: train a config's multi-task model while
measuring how the tasks help each other (`TaskAffinity`), then recommend which tasks
to train together.

`affinity(config, output)` trains the config's model with `training.affinity_every`
set (a normal run: model.keras, metrics.json, history.csv; a killed run resumes),
and writes affinity.json, affinity.md, affinity.png (TAG and gradient-cosine heat
maps) and affinity_time.png into the run folder. Run again on a finished folder
with another `max_groups`, it only rewrites the report.
"""

import json
import os

from keras_mtl.checks import check_number
from keras_mtl.config import resolve_config
from keras_mtl.errors import ConfigError, OutputExistsError
from keras_mtl.transfer.grouping import best_groupings
from keras_mtl.transfer.report import write_affinity


def affinity(config, output, every=10, epochs=None, max_groups=None, batch_size=None,
             log=print, verbose="auto"):
    """Trains with task affinity measured every `every` steps; returns the report.

    Args:
        config: a config dict (its `tasks` need at least two tasks).
        output: the run folder.
        every: TAG's k, steps between measurements.
        epochs: overrides `training.epochs`.
        max_groups: the largest number of models the groupings may use (default:
            one per task).
        batch_size: examples of each drawn batch a measurement uses (default: the
            whole batch).
    """
    from keras_mtl.training import _first_difference, train

    if max_groups is not None:
        check_number(max_groups, "--max-groups (the grouping budget)", at_least=1, integer=True)
    check_number(every, "--every", at_least=1, integer=True)
    config = dict(config)
    config["training"] = {**(config.get("training") or {}), "affinity_every": every}
    if batch_size is not None:
        check_number(batch_size, "--batch-size (examples per measurement batch)", at_least=1,
                     integer=True)
        config["training"]["affinity_batch_size"] = batch_size
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {epochs}.")
        config["training"]["epochs"] = epochs
    resolved = resolve_config(config)
    report_path = os.path.join(output, "affinity.json")
    if os.path.exists(os.path.join(output, "model.keras")) and os.path.exists(report_path):
        with open(os.path.join(output, "config.json"), encoding="utf-8") as f:
            previous = json.load(f)
        same = json.loads(json.dumps(resolved))
        difference = _first_difference({**previous, "output": None}, {**same, "output": None})
        if difference:
            raise OutputExistsError(
                f"--output {output} holds a finished affinity run of another config "
                f"({difference}); nothing was overwritten. Choose a new folder.")
        what = "rewriting its report" if max_groups is not None else "its report"
        log(f"{output} holds a finished affinity run of this config: {what}.")
    else:
        train(config, output=output, verbose=verbose, log=log)
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    if max_groups is not None and report["groupings"]:  # training grouped for every g
        for kind in ("tag", "cosine"):
            report["groupings"][kind] = best_groupings(report[kind], report["tasks"], max_groups)
        write_affinity(output, report, title=resolved["name"])
    for grouping in report["groupings"].get("tag", []):
        groups = " · ".join("{" + ", ".join(g) + "}" for g in grouping["groups"])
        log(f"{grouping['models']} model(s): {groups} (score {grouping['score']:+.4f})")
    log(f"Affinity cost: {report['cost']['ratio']}× plain training "
        f"({report['cost']['affinity_seconds']} s of {report['cost']['fit_seconds']} s).")
    return report
