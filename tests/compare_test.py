"""`keras-mtl compare`: the plan of runs, the report's numbers, and a real tiny run."""

import json
import os

import keras
import pytest
import yaml

from keras_mtl import cli
from keras_mtl.compare import build_report, format_report, plan_runs
from keras_mtl.config import ConfigError, resolve_config
from tests.resume_test import tiny_preset  # noqa: F401  (fixture)

TASKS = [
    {"name": "intent", "type": "classification", "pooling": "cls"},
    {"name": "slots", "type": "token_classification"},
    {"name": "ner", "type": "token_classification"},
]


def three_task_config(**data):
    return {
        "name": "mix",
        "data": {"dataset": ["atis", "wnut16"], **data},
        "tasks": TASKS,
        "training": {"epochs": 1},
    }


def test_plan_has_one_multi_task_run_per_mode_and_one_single_task_run_per_task():
    runs = plan_runs(three_task_config(max_train_examples=10), seeds=2,
                     sharing_modes=["hard", "partial"])
    assert [(variant, seed) for variant, seed, _ in runs[:5]] == [
        ("multi_hard", 0), ("multi_partial", 0),
        ("single_intent", 0), ("single_slots", 0), ("single_ner", 0),
    ]
    assert len(runs) == 10
    configs = {variant: config for variant, seed, config in runs if seed == 1}
    assert configs["multi_partial"]["backbone"]["sharing"] == "partial"
    assert configs["multi_hard"]["training"]["seed"] == 1
    assert list(configs["single_ner"]["data"]["dataset"]) == ["wnut16"]
    assert list(configs["single_slots"]["data"]["dataset"]) == ["atis"]
    assert [t["name"] for t in configs["single_slots"]["tasks"]] == ["slots"]
    with pytest.raises(ConfigError, match="Unknown sharing mode 'soft'"):
        plan_runs(three_task_config(), seeds=1, sharing_modes=["soft"])
    with pytest.raises(ConfigError, match="--seeds must be >= 1"):
        plan_runs(three_task_config(), seeds=0, sharing_modes=["hard"])


def test_report_numbers_by_hand():
    config = resolve_config(three_task_config())
    test = {
        ("single", 0): {"intent": 0.80, "slots": 0.50, "ner": 0.20},
        ("single", 1): {"intent": 0.90, "slots": 0.50, "ner": 0.40},
        ("multi_hard", 0): {"intent": 0.88, "slots": 0.55, "ner": 0.10},
        ("multi_hard", 1): {"intent": 0.90, "slots": 0.45, "ner": 0.40},
    }
    metric = {"intent": "accuracy", "slots": "f1", "ner": "f1"}
    results = {}
    for (variant, seed), values in test.items():
        for task, value in values.items():
            name = f"single_{task}" if variant == "single" else variant
            entry = results.setdefault((name, seed), {"test": {}, "fit_seconds": 1.0})
            entry["test"][task] = {metric[task]: value}
    report = build_report(config, ["hard"], 2, results)
    # Seed 0: (+10 % + 10 % − 50 %) / 3 = −10 %; seed 1: (0 − 10 % + 0) / 3 = −3.33 %.
    assert report["delta_m"]["multi_hard"]["per_seed"] == pytest.approx([-10.0, -10 / 3])
    assert report["delta_m"]["multi_hard"]["mean"] == pytest.approx(-20 / 3)
    assert report["tasks"]["intent"]["single"] == [0.80, 0.90]
    table = format_report(report)
    assert "| intent | accuracy ↑ | 85.00 ± 5.00 | 89.00 ± 1.00 |" in table
    assert "| **Δm %** | | — | -6.67 ± 3.33 |" in table


@pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="orchestration only (training itself is tested per backend); runs once",
)
def test_compare_cli_trains_reports_and_resumes(tiny_preset, tmp_path, capsys):  # noqa: F811
    config = {
        "name": "tiny_compare",
        "backbone": {"preset": tiny_preset, "sequence_length": 32},
        "data": {"dataset": "atis", "max_train_examples": 64},
        "tasks": TASKS[:2],
        "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    output = tmp_path / "cmp"
    argv = ["compare", str(path), "--seeds", "1", "--sharing", "hard", "partial",
            "--output", str(output)]
    assert cli.main(argv) == 0
    report = json.loads((output / "compare.json").read_text())
    assert set(report["delta_m"]) == {"multi_hard", "multi_partial"}
    assert len(report["tasks"]["slots"]["single"]) == 1
    for name in ("compare.md", "compare.png"):
        assert os.path.getsize(output / name) > 0
    for variant in ("multi_hard", "multi_partial", "single_intent", "single_slots"):
        assert (output / variant / "seed0" / "model.keras").exists()
    capsys.readouterr()
    assert cli.main(argv) == 0  # a second call reuses every finished run
    assert capsys.readouterr().out.count("done before, reusing") == 4
    assert json.loads((output / "compare.json").read_text()) == report


def test_a_zero_single_task_score_is_left_out_of_delta_m():
    config = resolve_config(three_task_config())
    values = {
        "single_intent": {"accuracy": 0.8}, "single_slots": {"f1": 0.5},
        "single_ner": {"f1": 0.0},
    }
    results = {(name, 0): {"test": {name[7:]: metric}} for name, metric in values.items()}
    results[("multi_hard", 0)] = {"test": {
        "intent": {"accuracy": 0.88}, "slots": {"f1": 0.45}, "ner": {"f1": 0.1},
    }}
    report = build_report(config, ["hard"], 1, results)
    # (+10 % − 10 %) / 2 over intent and slots; ner's change from 0 is undefined.
    assert report["delta_m"]["multi_hard"]["per_seed"] == [pytest.approx(0.0)]
    assert report["delta_m_excluded"] == {"0": ["ner"]}
    assert "Seed 0: ner left out of Δm" in format_report(report)
