"""`keras-mtl compare --pairs`: the plan of pair, single-task and grouping models, the
gains, rank correlations and groupings' Δm by hand, the refusals, and one real tiny run."""

import json

import numpy as np
import pytest
import yaml

from keras_mtl import cli
from keras_mtl.compare import Budget
from keras_mtl.config import ConfigError
from keras_mtl.errors import ArtifactError
from keras_mtl.transfer.pairwise import (
    candidate_groupings, grouping_delta_m, pair_gains, plan_groups, read_affinity,
    seed_spread, spearman,
)
from tests.compare_test import (
    TASKS, fake_datasets, orchestration_only, three_task_config, tiny_rows, tiny_run_config,
)
from tests.resume_test import tiny_preset  # noqa: F401  (fixture)

NAMES = ["intent", "slots", "ner"]


def test_spearman_by_hand():
    # x ranks 1 2 3 4, y ranks 2 1 4 3: d² = 1+1+1+1 = 4, ρ = 1 − 6·4 / (4·15) = 0.6.
    assert spearman([0.1, 0.2, 0.3, 0.4], [5, 1, 9, 7]) == pytest.approx(0.6)
    assert spearman([1, 1, 1], [1, 2, 3]) is None  # a constant side has no ranking
    assert spearman([1, 2], [2, 1]) is None


def test_one_model_per_task_per_pair_and_per_recommended_group():
    config = three_task_config()
    affinity = {"groupings": {"tag": [[["intent", "slots", "ner"]], [["ner", "intent"], ["slots"]]],
                              "cosine": [[["slots", "intent", "ner"]]]}}
    groupings = candidate_groupings(NAMES, affinity)
    assert groupings == {
        "all single-task": [["intent"], ["slots"], ["ner"]],
        "all-in-one": [["intent", "slots", "ner"]],
        "tag, 2 models": [["intent", "ner"], ["slots"]],  # tasks in config order
    }
    variants = plan_groups(config, fake_datasets(), groupings, Budget("convergence", 7, 2))
    assert list(variants) == ["single_intent", "single_slots", "single_ner",
                              "group_intent+slots", "group_intent+ner", "group_slots+ner",
                              "group_intent+slots+ner"]
    assert list(variants["group_intent+slots"]["data"]["dataset"]) == ["atis"]
    assert list(variants["group_slots+ner"]["data"]["dataset"]) == ["atis", "wnut16"]
    for run_config in variants.values():
        training = run_config["training"]
        assert (training["epochs"], training["patience"], training["monitor"]) == (7, 2, "dev_score")
        assert run_config["backbone"]["sharing"] == "hard"


def _table():
    """Per-seed test metrics (2 seeds) of every model of three tasks; ner's F1 is 0
    alone in seed 1 of `broken`."""
    return {
        "single_intent": {"intent": [0.80, 0.90]},
        "single_slots": {"slots": [0.50, 0.50]},
        "single_ner": {"ner": [0.20, 0.40]},
        "group_intent+slots": {"intent": [0.88, 0.90], "slots": [0.45, 0.55]},
        "group_intent+ner": {"intent": [0.80, 0.81], "ner": [0.30, 0.40]},
        "group_slots+ner": {"slots": [0.50, 0.60], "ner": [0.10, 0.20]},
        "group_intent+slots+ner": {"intent": [0.84, 0.90], "slots": [0.50, 0.40],
                                   "ner": [0.20, 0.50]},
    }


def test_gains_and_grouping_delta_m_by_hand():
    higher = dict.fromkeys(NAMES, True)
    gains = pair_gains(_table(), NAMES, higher)
    # intent → slots: seeds (0.45−0.5)/0.5 = −10 %, (0.55−0.5)/0.5 = +10 %: mean 0.
    # slots → intent: +10 %, 0 %: 5. intent → ner: +50 %, 0: 25. ner → intent: 0, −10: −5.
    # slots → ner: −50 %, −50 %: −50. ner → slots: 0, +20 %: 10.
    np.testing.assert_allclose(gains, [[np.nan, 0, 25], [5, np.nan, -50], [-5, 10, np.nan]],
                               atol=1e-9)
    groupings = {"all-in-one": [NAMES], "pairs": [["intent", "ner"], ["slots"]]}
    report = grouping_delta_m(_table(), groupings, NAMES, higher)
    # all-in-one, seed 0: intent +5, slots 0, ner 0 → 5/3; seed 1: 0, −20, +25 → 5/3.
    np.testing.assert_allclose(report["all-in-one"]["per_seed"], [5 / 3, 5 / 3])
    # {intent, ner} · {slots}: seed 0: 0, +50, 0 → 50/3; seed 1: −10, 0, 0 → −10/3.
    np.testing.assert_allclose(report["pairs"]["per_seed"], [50 / 3, -10 / 3])
    assert report["pairs"]["summary"]["mean"] == pytest.approx(20 / 3)
    spread = seed_spread(_table(), NAMES)
    # intent alone: 0.80, 0.90 → std (ddof 1) 0.0707 / mean 0.85 = 8.32 %.
    assert spread["intent"] == pytest.approx(100 * np.std([0.8, 0.9], ddof=1) / 0.85)
    broken = _table()
    broken["single_ner"]["ner"] = [0.2, 0.0]
    assert np.isnan(pair_gains(broken, NAMES, higher)[0, 2])
    assert grouping_delta_m(broken, groupings, NAMES, higher)["pairs"]["summary"] is None


def test_read_affinity_reorders_and_refuses_other_tasks(tmp_path):
    path = tmp_path / "affinity.json"
    path.write_text(json.dumps({
        "tasks": ["ner", "intent", "slots"],
        "tag": [[0, 1, 2], [3, 0, 4], [5, 6, 0]],
        "cosine": [[1, 0.1, 0.2], [0.1, 1, 0.3], [0.2, 0.3, 1]],
        "groupings": {"tag": [{"models": 1, "groups": [["ner", "intent", "slots"]]}]},
    }))
    affinity = read_affinity(str(tmp_path), NAMES)  # the folder holding it works too
    # Rows and columns in the config's order: intent, slots, ner.
    np.testing.assert_array_equal(affinity["tag"], [[0, 4, 3], [6, 0, 5], [1, 2, 0]])
    assert affinity["groupings"]["tag"] == [[["ner", "intent", "slots"]]]
    with pytest.raises(ArtifactError, match=r"measured the tasks \['ner', 'intent', 'slots'\]"):
        read_affinity(str(path), ["intent", "slots", "upos"])
    (tmp_path / "other.json").write_text(json.dumps({"tasks": NAMES}))
    with pytest.raises(ArtifactError, match="not a `keras-mtl affinity` output"):
        read_affinity(str(tmp_path / "other.json"), NAMES)


@pytest.mark.parametrize("argv,message", [
    (["--pairs", "--budget", "steps"], "no one multi-task run whose steps to match"),
    (["--pairs", "--sharing", "partial"], "--sharing and --gradient-methods belong"),
    (["--affinity", "a.json"], "--affinity is read by --pairs"),
])
def test_the_command_refuses_bad_pair_options(tmp_path, capsys, argv, message):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "data": {"dataset": "atis"}, "tasks": [
        {"name": "intent", "type": "classification"},
        {"name": "slots", "type": "token_classification"},
        {"name": "intent2", "type": "classification"}]}))
    assert cli.main(["compare", str(path), "--output", str(tmp_path / "out"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_pairs_need_three_tasks(tmp_path):
    from keras_mtl.transfer.pairwise import pairwise

    config = {"name": "c", "data": {"dataset": "atis"}, "tasks": [
        {"name": "intent", "type": "classification"},
        {"name": "slots", "type": "token_classification"}]}
    with pytest.raises(ConfigError, match="--pairs needs at least 3 tasks"):
        pairwise(config, str(tmp_path / "out"))


@orchestration_only
def test_pairs_train_every_pair_and_report_gains_rho_and_groupings(
        tiny_preset, tmp_path, capsys):  # noqa: F811
    rows = tiny_rows()
    for row in rows:
        row["day"] = "yes" if "monday" in row["text"] else "no"
    path = tiny_run_config(
        tmp_path, tiny_preset, "tiny_pairs",
        {"train": rows[:8], "dev": rows[8:16], "test": rows[16:24]},
        tasks=[*TASKS[:2], {"name": "day", "type": "classification", "pooling": "cls"}])
    affinity = tmp_path / "affinity.json"
    affinity.write_text(json.dumps({
        "tasks": ["intent", "slots", "day"],
        "tag": [[0, 0.3, -0.1], [0.2, 0, 0.1], [-0.2, 0.1, 0]],
        "cosine": [[1, 0.5, 0.1], [0.5, 1, -0.2], [0.1, -0.2, 1]],
        "groupings": {"tag": [{"groups": [["intent", "slots", "day"]]},
                              {"groups": [["intent", "slots"], ["day"]]}]},
    }))
    output = tmp_path / "out"
    argv = ["compare", str(path), "--pairs", "--affinity", str(affinity), "--seeds", "1",
            "--output", str(output)]
    assert cli.main(argv) == 0
    assert "[7/7] group_intent+slots+day seed 0" in capsys.readouterr().out
    report = json.loads((output / "pairs.json").read_text())
    single = {name: report["test_metrics"][f"single_{name}"][name][0]
              for name in ("intent", "slots", "day")}
    pair = report["test_metrics"]["group_slots+day"]
    # gain(slots → day) from the runs' own metrics.json, by hand.
    assert report["gain"]["test"][1][2] == pytest.approx(
        100 * (pair["day"][0] - single["day"]) / single["day"], rel=1e-5)
    assert report["gain"]["test"][2][2] is None
    assert set(report["spearman"]) == {"tag", "cosine"} and report["spearman"]["tag"]["pairs"] == 6
    assert "rho_test" in report["spearman"]["tag"]
    assert report["seed_spread"]["test"] == {"intent": None, "slots": None, "day": None}  # 1 seed
    assert set(report["groupings"]) == {"all single-task", "all-in-one", "tag, 2 models"}
    assert report["groupings"]["all single-task"]["per_seed"] == [0.0]
    text = (output / "pairs.md").read_text()
    assert "TAG lookahead" in text and "| tag, 2 models | 2 | {intent, slots} · {day} |" in text
    assert cli.main(argv) == 0  # a second call reuses every finished run
    assert capsys.readouterr().out.count("done before, reusing") == 7
