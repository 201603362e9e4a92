"""Task weights set by the callback act under TF MirroredStrategy and JAX DataParallel."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "distributed_weighting_script.py")


ENGINE_BACKEND = {"mirrored": "tensorflow", "data_parallel": "jax"}


@pytest.mark.parametrize("mode", ["mirrored", "data_parallel"])
def test_zero_weight_and_loss_identity_on_two_replicas(mode):
    # Each case starts its own process on its engine's backend: run it once, in the
    # suite of that backend.
    if os.environ.get("KERAS_BACKEND", "tensorflow") != ENGINE_BACKEND[mode]:
        pytest.skip(f"runs in the {ENGINE_BACKEND[mode]} suite")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    result = subprocess.run(
        [sys.executable, SCRIPT, mode], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
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
