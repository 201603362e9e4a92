"""`keras-mtl compare`: the plan of runs under each budget, the learning-rate grid, the
report's numbers and significance by hand, the refusals, and one real tiny comparison."""

import csv
import json
import math
import os

import numpy as np
import pytest
import yaml

from keras_mtl import cli
from keras_mtl.callbacks import DevEvaluation
from keras_mtl.compare import (
    Budget, Progress, check_comparable, check_learning_rates, choose_learning_rates,
    encoder_passes, grid_runs, multi_variants, plan_variants, seed_runs,
)
from keras_mtl.compare_report import build_report, format_report
from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.datasets import LabeledTexts
from keras_mtl.metrics.significance import (
    corpus_score, mean_score, paired_bootstrap, seed_mean, t_interval,
)
from keras_mtl.tasks import TaskSpec
from tests.conftest import runs_once
from tests.resume_test import tiny_preset  # noqa: F401  (fixture)

TASKS = [
    {"name": "intent", "type": "classification", "pooling": "cls"},
    {"name": "slots", "type": "token_classification"},
    {"name": "ner", "type": "token_classification"},
]
T_975_1 = 12.706204736  # Student t quantile 0.975, 1 degree of freedom (tables)


def three_task_config(epochs=2, batch_size=10, **data):
    return resolve_config({
        "name": "mix",
        "data": {"dataset": ["atis", "wnut16"], **data},
        "tasks": TASKS,
        "training": {"epochs": epochs, "batch_size": batch_size},
    })


def split(n, columns):
    """`n` one-word examples labelled for `columns` (a `LabeledTexts`)."""
    labels = {"intent": ["flight"] * n, "slots": [["O"]] * n, "ner": [["O"]] * n}
    return LabeledTexts(["boston"] * n, {c: labels[c] for c in columns})


def fake_datasets(atis_train=100, wnut_train=40, atis=("intent", "slots"), wnut=("ner",)):
    """In-memory stand-ins for load_data's `{dataset: {split: LabeledTexts}}`."""
    return {
        "atis": {"train": split(atis_train, atis), "dev": split(5, atis), "test": split(5, atis)},
        "wnut16": {"train": split(wnut_train, wnut), "dev": split(5, wnut),
                   "test": split(5, wnut)},
    }


def test_epochs_of_every_variant_under_each_budget():
    config = three_task_config()
    datasets = fake_datasets()
    variants = plan_variants(config, datasets, ["hard", "partial"])
    assert list(variants) == ["multi_hard", "multi_partial", "single_intent", "single_slots",
                              "single_ner"]
    assert list(variants["single_ner"]["data"]["dataset"]) == ["wnut16"]
    assert [t["name"] for t in variants["single_slots"]["tasks"]] == ["slots"]
    assert variants["multi_partial"]["backbone"]["sharing"] == "partial"
    for run_config in variants.values():
        training = run_config["training"]
        assert (training["epochs"], training["restore_best"], training["monitor"],
                training["patience"], training["save_test_predictions"]) == (
            2, True, "dev_score", None, True)

    # Steps: the multi-task run takes (100 + 40) // 10 = 14 steps × 2 epochs = 28;
    # ATIS alone gives 10 steps an epoch (28 / 10 → 3 epochs), WNUT 4 (28 / 4 → 7).
    steps = plan_variants(config, datasets, ["hard"], Budget("steps"))
    assert {v: c["training"]["epochs"] for v, c in steps.items()} == {
        "multi_hard": 2, "single_intent": 3, "single_slots": 3, "single_ner": 7}

    converge = plan_variants(config, datasets, ["hard"], Budget("convergence", max_epochs=6))
    assert {(c["training"]["epochs"], c["training"]["patience"])
            for c in converge.values()} == {(6, 3)}
    assert Budget("convergence") == Budget("convergence", max_epochs=20, patience=3)


def test_sharing_modes_crossed_with_gradient_methods():
    assert multi_variants(["hard", "attention"], ["none", "pcgrad"]) == [
        "hard", "hard+pcgrad", "attention", "attention+pcgrad"]
    assert multi_variants(["hard"], None) == ["hard"]
    config = three_task_config()
    config["training"]["gradient_method"] = {"name": "pcgrad", "top_layers": 1}
    variants = plan_variants(config, fake_datasets(), ["hard", "hard+pcgrad", "attention+famo"])
    assert list(variants)[:3] == ["multi_hard", "multi_hard+pcgrad", "multi_attention+famo"]
    methods = {v: c["training"]["gradient_method"] for v, c in variants.items()}
    assert methods == {"multi_hard": None, "multi_hard+pcgrad": {"name": "pcgrad", "top_layers": 1},
                       "multi_attention+famo": {"name": "famo"}, "single_intent": None,
                       "single_slots": None, "single_ner": None}
    assert variants["multi_attention+famo"]["backbone"]["sharing"] == "attention"
    with pytest.raises(ConfigError, match="Unknown gradient method 'mgda' in 'hard\\+mgda'"):
        plan_variants(config, fake_datasets(), ["hard+mgda"])


def test_grid_at_seed_0_then_every_seed_at_the_chosen_rate():
    variants = plan_variants(three_task_config(), fake_datasets(), ["hard"])
    rates = [1e-4, 2e-4]
    grid = grid_runs(variants, rates)
    assert [(r.variant, r.seed, r.learning_rate) for r in grid[:5]] == [
        ("multi_hard", 0, 1e-4), ("single_intent", 0, 1e-4), ("single_slots", 0, 1e-4),
        ("single_ner", 0, 1e-4), ("multi_hard", 0, 2e-4)]
    assert len(grid) == 8
    assert grid[4].folder == os.path.join("multi_hard", "lr2e-4", "seed0")
    assert grid[4].config["training"]["learning_rate"] == 2e-4
    dev = {"multi_hard": (0.70, 0.75), "single_intent": (0.90, 0.80),
           "single_slots": (0.5, 0.5), "single_ner": (float("nan"), 0.1)}
    results = {(variant, rate): {"best_epoch": {"value": dev[variant][i]}}
               for variant in variants for i, rate in enumerate(rates)}
    selection = choose_learning_rates(variants, rates, results)
    # Best dev score wins; a tie goes to the earlier rate; NaN never wins.
    assert selection["chosen"] == {"multi_hard": 2e-4, "single_intent": 1e-4,
                                   "single_slots": 1e-4, "single_ner": 2e-4}
    assert selection["dev_score"]["single_ner"] == {"1e-4": None, "2e-4": 0.1}
    runs = seed_runs(variants, 3, selection["chosen"])
    assert len(runs) == 12
    grid_folders = {run.folder for run in grid}
    assert {run.folder for run in runs if run.seed == 0} <= grid_folders  # reused
    assert not {run.folder for run in runs if run.seed > 0} & grid_folders
    seed2 = [run for run in runs if run.seed == 2 and run.variant == "multi_hard"][0]
    assert seed2.folder == os.path.join("multi_hard", "lr2e-4", "seed2")
    assert (seed2.config["training"]["seed"], seed2.config["training"]["learning_rate"]) == (
        2, 2e-4)


def report_results(test):
    """`{(run variant, seed): metrics}` from `{(variant, seed): {task: value}}`."""
    metric = {"intent": "accuracy", "slots": "f1", "ner": "f1"}
    results = {}
    for (variant, seed), values in test.items():
        for task, value in values.items():
            name = f"single_{task}" if variant == "single" else variant
            entry = results.setdefault((name, seed), {"test": {}, "fit_seconds": 1.0})
            entry["test"][task] = {metric[task]: value}
    return results


def test_report_numbers_by_hand():
    results = report_results({
        ("single", 0): {"intent": 0.80, "slots": 0.50, "ner": 0.20},
        ("single", 1): {"intent": 0.90, "slots": 0.50, "ner": 0.40},
        ("multi_hard", 0): {"intent": 0.88, "slots": 0.55, "ner": 0.10},
        ("multi_hard", 1): {"intent": 0.90, "slots": 0.45, "ner": 0.40},
    })
    report = build_report(three_task_config(), ["hard"], 2, results)
    # Seed 0: (+10 % + 10 % − 50 %) / 3 = −10 %; seed 1: (0 − 10 % + 0) / 3 = −3.33 %.
    delta = report["delta_m"]["multi_hard"]
    assert delta["per_seed"] == pytest.approx([-10.0, -10 / 3])
    assert delta["mean"] == pytest.approx(-20 / 3)
    # Sample std of two values: |a − b| / √2; t-interval: mean ± t(0.975, 1) · s / √2.
    assert delta["std"] == pytest.approx((20 / 3) / math.sqrt(2))
    half = T_975_1 * (20 / 3) / math.sqrt(2) / math.sqrt(2)
    assert delta["interval"] == pytest.approx([-20 / 3 - half, -20 / 3 + half])
    intent = report["tasks"]["intent"]
    assert intent["single"] == [0.80, 0.90]
    assert intent["summary"]["single"]["std"] == pytest.approx(0.1 / math.sqrt(2))
    assert intent["summary"]["single"]["interval"] == pytest.approx(
        [0.85 - T_975_1 * 0.05, 0.85 + T_975_1 * 0.05])
    assert report["failed_baselines"] == []
    table = format_report(report)
    assert "| intent | accuracy ↑ | 85.00 ± 7.07 [21.47, 148.53] | " \
           "89.00 ± 1.41 [76.29, 101.71] |" in table
    assert "| **Δm %** | | — | -6.67 ± 4.71 [-49.02, 35.69] |" in table
    assert "DEFECT" not in table


def test_a_zero_single_task_score_is_a_failed_baseline_and_delta_m_undefined():
    results = report_results({
        ("single", 0): {"intent": 0.8, "slots": 0.5, "ner": 0.0},
        ("single", 1): {"intent": 0.8, "slots": 0.5, "ner": 0.2},
        ("multi_hard", 0): {"intent": 0.88, "slots": 0.45, "ner": 0.1},
        ("multi_hard", 1): {"intent": 0.88, "slots": 0.45, "ner": 0.2},
    })
    report = build_report(three_task_config(), ["hard"], 2, results)
    # Seed 0 is undefined (never Δm over the other two tasks); seed 1 keeps every
    # task: (+10 % − 10 % + 0) / 3 = 0.
    assert report["delta_m"]["multi_hard"]["per_seed"] == [None, pytest.approx(0.0)]
    assert report["delta_m"]["multi_hard"]["mean"] is None
    assert report["delta_m_undefined_seeds"] == [0]
    assert [(f["task"], f["seed"]) for f in report["failed_baselines"]] == [("ner", 0)]
    text = format_report(report)
    assert text.startswith("**DEFECT: baseline failed to learn: fix its learning rate/epochs.**"
                           " single_ner scored f1 = 0")
    assert "| **Δm %** | | — | undefined (failed baseline) |" in text


def test_dev_score_is_the_mean_primary_dev_metric_with_errors_negated():
    dev = LabeledTexts(["boston", "denver", "dallas"], {
        "intent": ["flight", "fare", "flight"], "similarity": [1.0, 2.0, 4.0]})
    tasks = [TaskSpec("intent", "classification", labels=["fare", "flight"]),
             TaskSpec("similarity", "regression")]

    class Model:  # what DevEvaluation reads of a model
        def __init__(self):
            self.tasks = tasks

        def predict_text(self, texts, text_pairs=None, batch_size=64):
            return {"intent": {"labels": ["flight", "flight", "flight"]},
                    "similarity": {"labels": [1.5, 2.0, 3.0]}}

    callback = DevEvaluation(dev, every=2)
    callback.set_model(Model())
    callback.set_params({"epochs": 3})
    callback.on_train_begin()
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)  # not evaluated: NaN, which RestoreBest skips
    assert math.isnan(logs["dev_score"]) and math.isnan(logs["dev_intent_accuracy"])
    logs = {}
    callback.on_epoch_end(1, logs)
    # Accuracy 2/3; MAE (0.5 + 0 + 1) / 3 = 0.5, lower is better: (2/3 − 0.5) / 2.
    assert logs == pytest.approx({"dev_intent_accuracy": 2 / 3, "dev_similarity_mae": 0.5,
                                  "dev_score": (2 / 3 - 0.5) / 2})
    logs = {}
    callback.on_epoch_end(2, logs)  # the last epoch is always evaluated
    assert logs["dev_score"] == pytest.approx((2 / 3 - 0.5) / 2)

    unlabelled = DevEvaluation(dev.select(["intent"]))
    unlabelled.set_model(Model())
    with pytest.raises(ConfigError, match=r"no labels for task\(s\) \['similarity'\]"):
        unlabelled.on_train_begin()
    with pytest.raises(ConfigError, match="every must be an int >= 1"):
        DevEvaluation(dev, every=0)


def test_t_interval_and_paired_bootstrap_by_hand():
    assert t_interval([0.8, 0.9]) == pytest.approx([0.85 - T_975_1 * 0.05,
                                                    0.85 + T_975_1 * 0.05])
    # Three seeds: mean 2, s = 1, t(0.975, 2) = 4.302653: 2 ± 4.302653 / √3.
    assert t_interval([1.0, 2.0, 3.0]) == pytest.approx([2 - 4.302653 / math.sqrt(3),
                                                         2 + 4.302653 / math.sqrt(3)])
    assert t_interval([0.5]) is None

    right = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    same = paired_bootstrap(mean_score(right), mean_score(right.copy()), 10)
    assert (same["difference"], same["p_value"], same["significant"]) == (0.0, 1.0, False)
    better = paired_bootstrap(mean_score(np.ones(10)), mean_score(np.zeros(10)), 10)
    assert (better["difference"], better["p_value"], better["significant"]) == (1.0, 0.0, True)
    worse = paired_bootstrap(mean_score(np.zeros(10)), mean_score(np.ones(10)), 10)
    assert (worse["difference"], worse["p_value"]) == (-1.0, 0.0)
    # One example of 100 differs: the resamples without it (about (99/100)^100 ≈ 37 %)
    # tie, which counts against the observed sign: p ≈ 2 × 0.37, not significant.
    a, b = np.zeros(100), np.zeros(100)
    a[0] = 1
    one = paired_bootstrap(mean_score(a), mean_score(b), 100)
    assert one["difference"] == pytest.approx(0.01)
    assert one["p_value"] == pytest.approx(2 * 0.99 ** 100, abs=0.08)
    assert not one["significant"]
    # The vectorised mean and the per-resample metric see the same resamples, and
    # a system's seeds are averaged on each resample.
    generic = paired_bootstrap(corpus_score(lambda idx: a[idx].mean()),
                               seed_mean([mean_score(b), mean_score(b)]), 100)
    assert generic == one


def test_encoder_passes_per_step():
    config = three_task_config()
    config["backbone"].update(num_layers=6, private_layers=2)
    assert encoder_passes(config) == 1.0  # hard sharing: one encoder pass
    config["backbone"]["sharing"] = "partial"
    # Layers 1-4 once, the private top 2 once per task: (4 + 3 × 2) / 6.
    assert encoder_passes(config) == pytest.approx(10 / 6)


def test_bad_comparisons_are_refused_with_the_reason():
    config = three_task_config()
    intent_and_ner = resolve_config({"data": {"dataset": ["atis", "wnut16"]},
                                     "tasks": [TASKS[0], TASKS[2]]})
    with pytest.raises(ConfigError, match=r"share no dataset \({'intent': \['atis'\], "
                                          r"'ner': \['wnut16'\]}\)"):
        check_comparable(intent_and_ner, fake_datasets(atis=("intent",)))
    no_dev = fake_datasets()
    no_dev["wnut16"].pop("dev")
    with pytest.raises(ConfigError, match=r"Task 'ner' has no dev labels in .*\['wnut16'\]"):
        check_comparable(config, no_dev)
    with pytest.raises(ConfigError, match="at least two tasks"):
        check_comparable(resolve_config({"tasks": TASKS[:1]}), fake_datasets())
    with pytest.raises(ConfigError, match="Unknown sharing mode 'soft'"):
        plan_variants(config, fake_datasets(), ["soft"])
    # Steps: WNUT's 5 examples make no batch of 10; 12 examples give 1 step an
    # epoch, and the multi-task run's (1000 + 12) // 10 × 2 = 202 steps need 202 epochs.
    with pytest.raises(ConfigError, match="single_ner .* fewer examples than one batch"):
        plan_variants(config, fake_datasets(wnut_train=5), ["hard"], Budget("steps"))
    with pytest.raises(ConfigError, match="single_ner .* would need 202 epochs .* more than 50"):
        plan_variants(config, fake_datasets(atis_train=1000, wnut_train=12), ["hard"],
                      Budget("steps"))
    for rates, message in [([0.0], "> 0, got 0.0"), ([-1e-4], "> 0"), ([float("nan")], "nan"),
                           ([1e-4, 1e-4], "twice"), (["1e-4"], "a string")]:
        with pytest.raises(ConfigError, match=message):
            check_learning_rates(rates, config)
    assert check_learning_rates(None, config) == [5e-5]  # the config's rate
    with pytest.raises(ConfigError, match="--max-epochs caps --budget convergence"):
        Budget("steps", max_epochs=10)
    with pytest.raises(ConfigError, match="--patience must be >= 1, got 0"):
        Budget("convergence", patience=0)
    with pytest.raises(ConfigError, match="--budget must be one of"):
        Budget("time")


def test_the_command_refuses_bad_options_before_loading_data(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "tasks": TASKS[:2]}))
    for options, message in [
        (["--max-epochs", "5"], "--max-epochs caps --budget convergence"),
        (["--budget", "convergence", "--patience", "0"], "--patience must be"),
        (["--learning-rates", "1e-4", "nan"], "--learning-rates: each rate must be a number"),
        (["--budget", "convergence", "--epochs", "5"], "--budget convergence trains up to"),
    ]:
        code = cli.main(["compare", str(path), "--output", str(tmp_path / "out"), *options])
        assert code == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# === One real tiny comparison ===

CITIES = ["boston", "denver", "atlanta", "dallas"]


def tiny_rows():
    """24 flight, fare and day requests over the tiny preset's words, with slot tags."""
    rows = []
    for a, b in ((a, b) for a in CITIES for b in CITIES if a != b):
        rows.append({"text": f"show me flights from {a} to {b}", "intent": "flight",
                     "slots": ["O"] * 4 + ["B-from", "O", "B-to"]})
        rows.append({"text": f"what is the fare to {b} on monday", "intent": "fare",
                     "slots": ["O"] * 5 + ["B-to", "O", "B-day"]})
    return rows


def tiny_run_config(tmp_path, preset, name, files, tasks=TASKS[:2], **backbone):
    """A 2-epoch config of the tiny preset (default tasks: intent + slots) on `files`
    (`{split: rows}`, written as JSONL beside it); the config file's path."""
    for split, part in files.items():
        (tmp_path / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in part))
    config = {
        "name": name,
        "backbone": {"preset": preset, "sequence_length": 16, **backbone},
        "data": {"dataset": {"tiny": {
            "format": "jsonl", "tasks": [task["name"] for task in tasks],
            "token_tasks": [task["name"] for task in tasks
                            if task["type"] == "token_classification"],
            **{split: str(tmp_path / f"{split}.jsonl") for split in files}}}},
        "tasks": tasks,
        "training": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3,
                     "tensorboard": False},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def history(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# Jobs that only orchestrate training runs (tested per backend elsewhere).
orchestration_only = runs_once("orchestration only (training itself is tested per backend)")


@orchestration_only
def test_compare_selects_on_dev_grids_rates_tests_significance_and_resumes(
        tiny_preset, tmp_path, capsys):  # noqa: F811
    # Splits of one size: the tokenizer's graph, traced per shape, is traced once.
    rows = tiny_rows()
    path = tiny_run_config(tmp_path, tiny_preset, "tiny_compare",
                           {"train": rows[:8], "dev": rows[8:16], "test": rows[16:24]})
    output = tmp_path / "cmp"
    argv = ["compare", str(path), "--seeds", "2", "--sharing", "hard",
            "--learning-rates", "1e-3", "3e-3", "--output", str(output)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    # 2 rates × 3 variants at seed 0, then seed 1 of each variant at its chosen rate.
    assert "[1/9] multi_hard seed 0 (lr 1e-3) …" in out
    assert "[9/9] single_slots seed 1" in out and "left." in out
    report = json.loads((output / "compare.json").read_text())
    selection = report["learning_rates"]
    assert selection["grid"] == [1e-3, 3e-3]
    for variant in ("multi_hard", "single_intent", "single_slots"):
        runs = {}
        for rate in ("1e-3", "3e-3"):
            folder = output / variant / f"lr{rate}" / "seed0"
            metrics = json.loads((folder / "metrics.json").read_text())
            rows_ = history(folder / "history.csv")
            assert {"dev_score", "dev_intent_accuracy" if variant != "single_slots"
                    else "dev_slots_f1"} <= set(rows_[0])
            # The best epoch is the first one with the highest dev_score.
            scores = [float(r["dev_score"]) for r in rows_]
            assert metrics["best_epoch"]["epoch"] == scores.index(max(scores)) + 1
            assert metrics["steps"] == 4  # 2 epochs × 2 batches of 4
            runs[rate] = max(scores)
            assert selection["dev_score"][variant][rate] == pytest.approx(max(scores))
        chosen = max(runs, key=lambda r: (runs[r], r == "1e-3"))
        assert selection["chosen"][variant] == float(chosen)
        assert (output / variant / f"lr{chosen}" / "seed1" / "model.keras").exists()
        other = "3e-3" if chosen == "1e-3" else "1e-3"
        assert not (output / variant / f"lr{other}" / "seed1").exists()
        predictions = json.loads((output / variant / f"lr{chosen}" / "seed1" /
                                  "test_predictions.json").read_text())
        assert [len(v) for v in predictions["datasets"]["tiny"].values()] == [8] * (
            2 if variant == "multi_hard" else 1)
        cost = report["cost"][variant]
        assert (cost["epochs_trained"], cost["steps"], cost["encoder_steps"]) == (2, 4, 4)
    for name, entry in report["tasks"].items():
        test = entry["significance"]["multi_hard"]
        assert test["difference"] == pytest.approx(
            np.mean(entry["multi_hard"]) - np.mean(entry["single"]))
        assert 0.0 <= test["p_value"] <= 1.0 and test["resamples"] == 1000
    assert len(report["tasks"]["slots"]["single"]) == 2
    text = (output / "compare.md").read_text()
    assert "Budget: **epochs**: every run trains 2 epoch(s)" in text
    assert "chosen on seed 0's dev score" in text
    assert os.path.getsize(output / "compare.png") > 0
    assert cli.main(argv) == 0  # a second call reuses every finished run
    assert capsys.readouterr().out.count("done before, reusing") == 9
    assert json.loads((output / "compare.json").read_text()) == report


def test_time_left_sums_each_variants_own_run_time():
    import types

    lines = []
    progress = Progress({"multi_hard": 3, "single_a": 3, "single_b": 3}, lines.append)
    run = lambda variant, seed: types.SimpleNamespace(  # noqa: E731
        variant=variant, label=f"{variant} seed {seed}")
    assert progress.seconds_left() is None
    progress.reused(run("multi_hard", 0), {"train_seconds": 600.0})  # recorded earlier
    progress.finished(run("single_a", 0), 60.0)
    # multi: 2 left × 600; single_a: 2 × 60; single_b, never run: 3 × the mean (330).
    assert progress.seconds_left() == pytest.approx(2 * 600 + 2 * 60 + 3 * 330)
    assert lines[-1] == "[2/9] single_a seed 0 took 1m00s; about 38m30s left."
    progress.finished(run("single_b", 0), 30.0)
    assert progress.seconds_left() == pytest.approx(2 * 600 + 2 * 60 + 2 * 30)
