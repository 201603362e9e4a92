"""A training run killed with SIGKILL resumes from its last finished epoch, with its
adaptive task-weighting schedule intact."""

import csv
import json
import math
import os
import signal
import subprocess
import sys

import keras_hub
import pytest
import yaml


ATIS_WORDS = [
    "show", "me", "flights", "from", "to", "boston", "denver", "what", "is", "the",
    "fare", "on", "monday", "atlanta", "dallas", "please", "i", "want", "a", "flight",
]


@pytest.fixture
def tiny_preset(tmp_path):
    """A keras_hub preset directory with a random 1-layer BERT and a small vocabulary."""
    path = str(tmp_path / "tiny_preset")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ATIS_WORDS
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=64,
    )
    backbone.save_to_preset(path)
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(path)
    return path


def history_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def history_epochs(path):
    return [int(row["epoch"]) for row in history_rows(path)]


EPOCHS = 6


def write_resume_config(tmp_path, preset):
    """A 6-epoch DWA run on 600 ATIS examples with the tiny preset; its path."""
    config = {
        "name": "resume",
        "backbone": {"preset": preset, "sequence_length": 48},
        "data": {"dataset": "atis", "max_train_examples": 600},
        "tasks": [
            {"name": "intent", "type": "classification", "pooling": "cls"},
            {"name": "slots", "type": "token_classification"},
        ],
        "training": {"epochs": EPOCHS, "batch_size": 16, "learning_rate": 1e-3,
                     "restore_best": True, "monitor": "val_intent_loss"},
        "weighting": {"strategy": "dwa", "temperature": 2.0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def assert_dwa_schedule(rows):
    """DWA (temperature 2) continued across the kill: every epoch's weight follows
    from the two previous epochs' logged task losses."""
    for t in range(2, EPOCHS):
        r = [float(rows[t - 1][f"{n}_loss"]) / float(rows[t - 2][f"{n}_loss"])
             for n in ("intent", "slots")]
        e = [math.exp(x / 2.0) for x in r]
        assert float(rows[t]["intent_weight"]) == pytest.approx(2 * e[0] / sum(e), rel=1e-5)


KILL_MID_EPOCH = os.path.join(os.path.dirname(__file__), "kill_mid_epoch.py")


def run_killed_mid_epoch(cli_args, **kwargs):
    """Runs `keras-mtl *cli_args` until it kills itself with SIGKILL before batch 3 of
    the third epoch: two epochs finished and backed up, the third half-trained."""
    done = subprocess.run([sys.executable, KILL_MID_EPOCH, "2:3", *cli_args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, **kwargs)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode(errors="replace")[-3000:]


def run_to_end(command, timeout=300, env=None):
    """Runs `command` to a zero exit; its stdout and stderr together. A run still
    going after `timeout` seconds is aborted with SIGABRT, on which Python's
    faulthandler prints every thread's stack, and the test fails with them."""
    env = dict(os.environ if env is None else env, PYTHONFAULTHANDLER="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        output, _ = process.communicate()
        pytest.fail(f"still running after {timeout} s; its output and stacks:\n{output[-12000:]}")
    assert process.returncode == 0, output[-3000:]
    return subprocess.CompletedProcess(command, 0, stdout=output)


def test_killed_run_resumes_from_last_epoch(tiny_preset, tmp_path):
    output = tmp_path / "run"
    config_path = write_resume_config(tmp_path, tiny_preset)
    cli_args = ["train", str(config_path), "--output", str(output)]
    command = [sys.executable, "-m", "keras_mtl.cli", *cli_args]
    history = str(output / "history.csv")

    run_killed_mid_epoch(cli_args)
    assert history_epochs(history) == [0, 1] and not (output / "model.keras").exists()
    assert (output / "backup").exists()

    resumed = run_to_end(command)
    # Start-up is quiet: the first line is the command's own, no TF/XLA/CUDA log line.
    from keras_mtl.console import is_native_log_line

    lines = resumed.stdout.splitlines()
    assert lines[0] == f"Resuming the unfinished run in {output}.", lines[:3]
    assert not [line for line in lines if is_native_log_line(line)]
    assert [line for line in lines if line.startswith("Devices: ")]
    # Every epoch ran exactly once across the two processes.
    assert history_epochs(history) == list(range(EPOCHS))
    assert (output / "model.keras").exists() and (output / "metrics.json").exists()
    assert not (output / "backup").exists()

    # DWA's schedule continued across the kill: its loss history was restored.
    assert_dwa_schedule(history_rows(history))
    # The best dev epoch was tracked across the kill too, and its weights were kept.
    rows = history_rows(history)
    losses = [float(row["val_intent_loss"]) for row in rows]
    with open(output / "metrics.json") as f:
        metrics = json.load(f)
    best = metrics["best_epoch"]
    assert best["epoch"] == 1 + losses.index(min(losses))
    assert best["value"] == pytest.approx(min(losses), rel=1e-5)
    assert (output / "tensorboard" / "train").is_dir()
    # The run's fit time counts the epochs the killed process finished too.
    epoch_seconds = [float(row["epoch_seconds"]) for row in rows]
    assert all(seconds > 0 for seconds in epoch_seconds)
    assert metrics["fit_seconds"] == pytest.approx(sum(epoch_seconds), abs=0.1)

    from keras_mtl import cli

    assert cli.main(["evaluate", str(output), "--split", "dev"]) == 0
