"""A task mixture with partial labels trains under TF MirroredStrategy and JAX
DataParallel, and its sampler follows the epochs."""

import pytest

from tests.distribution.workers import run_script, skip_unless_backend


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_mixture_under_a_strategy(strategy):
    skip_unless_backend(pytest, strategy)
    code, result, stderr = run_script("mixture_script.py", strategy, timeout=300)
    assert code == 0, stderr[-3000:]
    assert result["replicas"] == 2 and result["finite"]
    assert result["epoch"] == 2
    assert result["history"]["mix_atis"] == pytest.approx(result["expected_mix_atis"])
    # Annealing moves towards uniform: the larger dataset's share falls.
    assert result["expected_mix_atis"][0] > result["expected_mix_atis"][2] > 0.5
    assert set(result["history"]) >= {"intent_loss", "slots_loss", "sentiment_loss"}
