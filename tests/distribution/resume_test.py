"""A `keras-mtl train --strategy ...` run on 2 CPU replicas, killed with SIGKILL,
resumes from its last finished epoch and ends like a run that was never killed."""

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests import resume_test
from tests.distribution.workers import ENGINE_BACKEND, clean_env, skip_unless_backend
from tests.resume_test import history_epochs, history_rows

tiny_preset = resume_test.tiny_preset  # the fixture

EPOCHS = 6


def _command(config_path, output, strategy):
    return [sys.executable, "-m", "keras_mtl.cli", "--backend", ENGINE_BACKEND[strategy],
            "train", str(config_path), "--output", str(output), "--strategy", strategy,
            "--cpu-devices", "2"]


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_killed_distributed_run_resumes(tiny_preset, tmp_path, strategy):
    skip_unless_backend(pytest, strategy)
    config = {
        "name": "resume",
        "backbone": {"preset": tiny_preset, "sequence_length": 48},
        "data": {"dataset": "atis", "max_train_examples": 600},
        "tasks": [
            {"name": "intent", "type": "classification", "pooling": "cls"},
            {"name": "slots", "type": "token_classification"},
        ],
        "training": {"epochs": EPOCHS, "batch_size": 16, "learning_rate": 1e-3},
        "weighting": {"strategy": "dwa", "temperature": 2.0},
    }
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = clean_env()
    output = tmp_path / "run"
    history = str(output / "history.csv")

    process = subprocess.Popen(_command(config_path, output, strategy), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(history_epochs(history)) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = history_epochs(history)
    assert 2 <= len(done) < EPOCHS and not (output / "model.keras").exists()

    subprocess.run(_command(config_path, output, strategy), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    assert history_epochs(history) == list(range(EPOCHS))  # each epoch ran once
    assert (output / "model.keras").exists() and (output / "metrics.json").exists()
    assert not (output / "backup").exists()

    # The same run, never killed.
    reference = tmp_path / "reference"
    subprocess.run(_command(config_path, reference, strategy), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    resumed, uninterrupted = history_rows(history)[-1], history_rows(str(reference / "history.csv"))[-1]
    for key in ("loss", "val_loss", "intent_weight"):
        print(f"{strategy} last epoch {key}: resumed {resumed[key]}, never killed {uninterrupted[key]}")
        assert float(resumed[key]) == pytest.approx(float(uninterrupted[key]), rel=0.05), key
