"""Sampler probabilities against numbers worked out by hand from the papers' formulas."""

import numpy as np
import pytest

from keras_mtl.data import allot, get_sampler
from keras_mtl.data.samplers import (
    AnnealedSampler,
    FixedSampler,
    ProportionalSampler,
    TemperatureSampler,
    UniformSampler,
)


def test_proportional_and_uniform():
    np.testing.assert_allclose(ProportionalSampler()([100, 300]), [0.25, 0.75])
    np.testing.assert_allclose(UniformSampler()([100, 300, 5]), [1 / 3] * 3)


def test_temperature():
    # √100 : √400 = 10 : 20.
    np.testing.assert_allclose(TemperatureSampler(0.5)([100, 400]), [1 / 3, 2 / 3])
    np.testing.assert_allclose(TemperatureSampler(0.0)([100, 400]), [0.5, 0.5])
    np.testing.assert_allclose(TemperatureSampler(1.0)([100, 400]), [0.2, 0.8])
    with pytest.raises(ValueError, match="alpha must be in"):
        TemperatureSampler(2.0)


def test_annealed_follows_stickland_and_murray_with_one_based_epochs():
    sampler = AnnealedSampler()
    # e = 1: α = 1 (proportional).
    np.testing.assert_allclose(sampler([100, 400], epoch=0, num_epochs=5), [0.2, 0.8])
    # e = 3: α = 1 − 0.8·2/4 = 0.6; 4^0.6 = 2.297397 → p = 1/3.297397.
    np.testing.assert_allclose(
        sampler([100, 400], epoch=2, num_epochs=5), [0.303269, 0.696731], atol=1e-6
    )
    # e = 5 (the last epoch): α = 0.2; 4^0.2 = 1.319508 → p = 1/2.319508.
    np.testing.assert_allclose(
        sampler([100, 400], epoch=4, num_epochs=5), [0.431126, 0.568874], atol=1e-6
    )
    assert sampler.alpha(0, 1) == 1.0
    with pytest.raises(ValueError, match=r"epoch must be in \[0, 5\), got 5"):
        sampler([100, 400], epoch=5, num_epochs=5)


def test_fixed_weights_must_sum_to_one():
    np.testing.assert_allclose(FixedSampler([0.5, 0.3, 0.2])([1, 1, 1]), [0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match=r"must sum to 1.*sum 0\.8"):
        FixedSampler([0.5, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        FixedSampler([1.5, -0.5])
    ordered = FixedSampler({"b": 0.25, "a": 0.75}).for_datasets(["a", "b"])
    np.testing.assert_allclose(ordered([1, 1]), [0.75, 0.25])
    with pytest.raises(ValueError, match="name datasets"):
        FixedSampler({"b": 0.25, "c": 0.75}).for_datasets(["a", "b"])


def test_allot_rounds_exactly():
    assert allot([0.25, 0.75], 10).tolist() == [3, 7]  # tie: the earlier dataset
    assert allot([1 / 3] * 3, 10).tolist() == [4, 3, 3]
    assert allot([0.0, 1.0], 7).tolist() == [0, 7]


def test_get_sampler():
    assert isinstance(get_sampler({"name": "temperature", "alpha": 0.3}), TemperatureSampler)
    with pytest.raises(ValueError, match="Unknown sampler 'zipf'"):
        get_sampler("zipf")
    with pytest.raises(ValueError, match="Bad options"):
        get_sampler({"name": "uniform", "alpha": 1})
