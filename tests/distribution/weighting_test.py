"""Task weights set by the callback act under TF MirroredStrategy and JAX DataParallel."""

import numpy as np
import pytest

from tests.distribution.workers import run_script, skip_unless_backend


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_zero_weight_and_loss_identity_on_two_replicas(strategy):
    skip_unless_backend(pytest, strategy)
    code, report, stderr = run_script("weighting_script.py", strategy, timeout=600)
    assert code == 0, stderr[-3000:]
    assert report["replicas"] == 2
    assert report["moved_then_frozen"]
    h = report["history"]
    assert h["intent_weight"] == [1.0, 0.0, 0.0, 0.0]
    for epoch in range(4):
        expected = (
            h["intent_weight"][epoch] * h["intent_loss"][epoch]
            + h["slots_weight"][epoch] * h["slots_loss"][epoch]
        )
        np.testing.assert_allclose(h["loss"][epoch], expected, rtol=1e-5, atol=1e-7)
