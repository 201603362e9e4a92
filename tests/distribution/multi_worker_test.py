"""Two processes on 127.0.0.1 train the real 2-layer MiniLM together (TF
`multi_worker`, JAX multi-process `data_parallel`), and Keras still needs
keras_mtl's workaround for `multi_worker`."""

import os

import keras
import numpy as np
import pytest

from keras_mtl import distribution
from tests.distribution.workers import free_ports, run_workers, skip_unless_backend


def _launch(strategy, tmp_path, *flags):
    ports = ",".join(map(str, free_ports(2)))
    return run_workers(
        "multi_worker_script.py", lambda i: [strategy, ports, i, tmp_path, *flags],
        timeout=300,
    )


def test_installed_keras_is_within_the_checked_range():
    low, high = distribution.MULTI_WORKER_PATCH_VERSIONS
    assert distribution.multi_worker_patch_applies(), (
        f"Keras {keras.version()} is outside the range on which the "
        f"multi-worker workaround was checked ({low}..{high}), so it is not applied. "
        "Run tests/distribution/multi_worker_test.py, then widen "
        "MULTI_WORKER_PATCH_VERSIONS or delete the workaround if Keras fixed "
        "keras-team/keras#20329."
    )
    assert not distribution.multi_worker_patch_applies((low[0], low[1] - 1, 0))
    assert not distribution.multi_worker_patch_applies((high[0], high[1], high[2] + 1))


@pytest.mark.integration
@pytest.mark.parametrize("strategy", ["multi_worker", "data_parallel"])
def test_two_workers_end_with_identical_weights(tmp_path, strategy):
    skip_unless_backend(pytest, strategy)
    results = _launch(strategy, tmp_path)
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    reports = [report for _, report, _ in results]
    assert [r["worker_index"] for r in reports] == [0, 1]
    assert [r["is_chief"] for r in reports] == [True, False]
    assert all(r["num_workers"] == 2 and r["replicas"] == 2 for r in reports)
    # Logs are reduced over the cluster: both workers report the same numbers.
    assert reports[0]["logs"] == reports[1]["logs"]
    w0, w1 = (np.load(os.path.join(tmp_path, f"worker-{i}.npz")) for i in (0, 1))
    n = len([k for k in w0.files if k.startswith("final_")])
    moved = max(np.abs(w0[f"final_{i}"] - w0[f"initial_{i}"]).max() for i in range(n))
    assert moved > 1e-4  # they trained
    diff = max(np.abs(w0[f"final_{i}"] - w1[f"final_{i}"]).max() for i in range(n))
    assert diff == 0.0


@pytest.mark.integration
def test_keras_fit_fails_without_the_workaround(tmp_path):
    # If this fails, Keras fixed keras-team/keras#20329 / #20585: delete
    # keras_mtl/distribution/multi_worker_patch.py and its use in strategies.py.
    skip_unless_backend(pytest, "multi_worker")
    results = _launch("multi_worker", tmp_path, "--without-patch")
    assert all(code != 0 for code, _, _ in results)
    assert any("unsupported type (<class 'dict'>)" in err for _, _, err in results), (
        results[0][2][-3000:]
    )
