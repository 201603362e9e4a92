"""A `keras-mtl train --strategy ...` run killed with SIGKILL resumes from its last
finished epoch: on 2 CPU replicas (ending like a run that was never killed), and on
two `multi_worker` processes."""

import json
import signal
import subprocess
import sys

import pytest

from tests import resume_test
from tests.distribution.workers import ENGINE_BACKEND, clean_env, free_ports, skip_unless_backend
from tests.resume_test import (
    EPOCHS,
    KILL_MID_EPOCH,
    assert_dwa_schedule,
    history_epochs,
    history_rows,
    run_killed_mid_epoch,
    run_to_end,
    write_resume_config,
)

tiny_preset = resume_test.tiny_preset  # the fixture

def _cli_args(config_path, output, strategy):
    return ["--backend", ENGINE_BACKEND[strategy], "train", str(config_path),
            "--output", str(output), "--strategy", strategy, "--cpu-devices", "2"]


def _command(config_path, output, strategy):
    return [sys.executable, "-m", "keras_mtl.cli", *_cli_args(config_path, output, strategy)]


def _run(command, env):
    """Runs a `keras-mtl` command to its end; a failure shows its output (and,
    past 600 s, every thread's stack)."""
    run_to_end(command, timeout=600, env=env)


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_killed_distributed_run_resumes(tiny_preset, tmp_path, strategy):
    skip_unless_backend(pytest, strategy)
    config_path = write_resume_config(tmp_path, tiny_preset)
    env = clean_env()
    output = tmp_path / "run"
    history = str(output / "history.csv")

    run_killed_mid_epoch(_cli_args(config_path, output, strategy), env=env)
    assert history_epochs(history) == [0, 1] and not (output / "model.keras").exists()

    _run(_command(config_path, output, strategy), env)
    assert history_epochs(history) == list(range(EPOCHS))  # each epoch ran once
    assert (output / "model.keras").exists() and (output / "metrics.json").exists()
    assert not (output / "backup").exists()
    assert_dwa_schedule(history_rows(history))

    # The same run, never killed. Measured: last-epoch loss within 1 % (the resumed
    # epochs draw other shuffles and dropout masks).
    reference = tmp_path / "reference"
    _run(_command(config_path, reference, strategy), env)
    resumed, uninterrupted = history_rows(history)[-1], history_rows(str(reference / "history.csv"))[-1]
    for key in ("loss", "val_loss", "intent_weight"):
        print(f"{strategy} last epoch {key}: resumed {resumed[key]}, never killed {uninterrupted[key]}")
        assert float(resumed[key]) == pytest.approx(float(uninterrupted[key]), rel=0.05), key


def test_killed_multi_worker_run_resumes(tiny_preset, tmp_path):
    """Worker 1 is killed mid-epoch (its peer then waits in a collective and is killed
    too, as a scheduler would); both start again and finish the run together."""
    skip_unless_backend(pytest, "multi_worker")
    config_path = write_resume_config(tmp_path, tiny_preset)
    output = tmp_path / "run"
    history = str(output / "history.csv")
    cli_args = ["--backend", "tensorflow", "train", str(config_path), "--output", str(output),
                "--strategy", "multi_worker"]
    command = [sys.executable, "-m", "keras_mtl.cli", *cli_args]
    killed = [sys.executable, KILL_MID_EPOCH, "2:3", *cli_args]  # SIGKILL before batch 3 of epoch 2

    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]

    def start_workers(commands):
        hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
        return [
            subprocess.Popen(commands[i], stdout=subprocess.DEVNULL, stderr=open(logs[i], "wb"),
                             env=clean_env(TF_CONFIG=json.dumps({
                                 "cluster": {"worker": hosts},
                                 "task": {"type": "worker", "index": i}})))
            for i in range(2)
        ]

    workers = start_workers([command, killed])
    try:
        # Worker 1 reaches batch 3 of epoch 2 only after both workers finished epoch 1
        # (its batches 0-2 all-reduce with worker 0), so both backups are on disk.
        assert workers[1].wait(timeout=300) == -signal.SIGKILL, logs[1].read_text()[-3000:]
        workers[0].kill()  # waiting on its dead peer, or failed on it: either way, gone
        workers[0].wait()
        assert history_epochs(history) == [0, 1] and not (output / "model.keras").exists()
        assert (output / "workertemp_1" / "backup").exists()

        workers = start_workers([command, command])
        for worker, log in zip(workers, logs):
            worker.wait(timeout=300)
            assert worker.returncode == 0, log.read_text()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert history_epochs(history) == list(range(EPOCHS))  # each epoch ran once
    assert (output / "model.keras").exists() and (output / "metrics.json").exists()
    assert not (output / "backup").exists() and not (output / "workertemp_1").exists()
    assert_dwa_schedule(history_rows(history))
