"""Task gradients and the affinity work on two replicas (TF MirroredStrategy, JAX
DataParallel) and equal one device's; PCGrad and FAMO are refused there, by name."""

import pytest

from tests.distribution.workers import run_script, skip_unless_backend


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_task_gradients_and_affinity_on_two_replicas(strategy):
    skip_unless_backend(pytest, strategy)
    code, report, stderr = run_script("task_gradients_script.py", strategy, timeout=600)
    assert code == 0, stderr[-3000:]
    assert report["replicas"] == 2
    assert report["loss_difference"] < 1e-6
    assert report["gradient_size"] > 1e-3
    assert report["gradient_difference"] < 1e-6 * max(1.0, report["gradient_size"])
    assert report["measurements"] >= 2 and report["finite"]
    for method, error in report["refused"].items():
        assert error and f"gradient method '{method}' is not supported" in error
