"""`keras-mtl affinity`: a real (tiny) run measured, reported and regrouped."""

import json
import re
import os

import pytest
import yaml

from keras_mtl import cli
from tests.compare_test import TASKS, tiny_rows, tiny_run_config
from tests.conftest import runs_once
from tests.resume_test import tiny_preset  # noqa: F401  (fixture)


@runs_once("orchestration only (the callback and the sharing are tested per backend)")
def test_affinity_run_with_attention_sharing(tiny_preset, tmp_path, capsys):  # noqa: F811
    rows = tiny_rows()
    path = tiny_run_config(tmp_path, tiny_preset, "tiny_affinity",
                           {"train": rows[:16], "dev": rows[16:24]}, sharing="attention")
    output = tmp_path / "run"
    assert cli.main(["affinity", str(path), "--every", "3", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    report = json.loads((output / "affinity.json").read_text())
    # 2 epochs × 4 batches of 4: measured at steps 3 and 6.
    assert report["tasks"] == ["intent", "slots"] and report["measurements"] == 2
    assert [m["step"] for m in report["time_course"]] == [3, 6]
    assert report["lookahead"] == "adam"
    for i in range(2):
        for j in range(2):
            values = [m["tag"][i][j] for m in report["time_course"]]
            assert report["tag"][i][j] == pytest.approx(sum(values) / 2, abs=1e-7)
    assert [g["models"] for g in report["groupings"]["tag"]] == [1, 2]
    assert report["cost"]["ratio"] >= 1.0
    for name in ("affinity.md", "affinity.png", "affinity_time.png", "model.keras",
                 "layer_attention.json", "layer_attention.png"):
        assert os.path.getsize(output / name) > 0, name
    mixing = json.loads((output / "layer_attention.json").read_text())
    assert list(mixing) == ["intent", "slots"] and len(mixing["intent"]["weights"]) == 2
    assert "1 model(s): {intent, slots}" in out and "× plain training" in out

    # A finished run: a new budget rewrites the report only; another config is refused.
    assert cli.main(["affinity", str(path), "--every", "3", "--max-groups", "1",
                     "--output", str(output)]) == 0
    assert "rewriting its report" in capsys.readouterr().out
    assert [g["models"] for g in json.loads(
        (output / "affinity.json").read_text())["groupings"]["tag"]] == [1]
    assert cli.main(["affinity", str(path), "--every", "4", "--output", str(output)]) == 2
    assert "training.affinity_every: 3 → 4" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--max-groups", "0"], "--max-groups \\(the grouping budget\\) must be >= 1, got 0"),
    (["--every", "0"], "--every must be >= 1, got 0"),
])
def test_bad_affinity_options(tmp_path, capsys, argv, message):
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"tasks": TASKS[:2]}))
    assert cli.main(["affinity", str(path), "--output", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (tmp_path / "o").exists()


def test_affinity_on_one_task_is_refused(tmp_path, capsys):
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"tasks": TASKS[:1]}))
    assert cli.main(["affinity", str(path), "--output", str(tmp_path / "o")]) == 2
    assert "task affinity needs at least 2 tasks, the config has 1 (['intent'])" in (
        capsys.readouterr().err)
