"""Strategies against numbers worked out by hand from the papers' update rules."""

import math

import pytest

from keras_mtl.weighting import (
    DynamicWeightAverage,
    GradNorm,
    PerformanceWeighting,
    RandomLossWeighting,
    StaticWeighting,
    get_strategy,
)
from keras_mtl.weighting.uncertainty import effective_weights

NAMES = ["a", "b", "c"]


def test_dwa_follows_liu_et_al():
    dwa = DynamicWeightAverage(temperature=2.0)
    assert dwa.reset(NAMES, {}) == {"a": 1.0, "b": 1.0, "c": 1.0}
    logs = lambda a, b, c: {"a_loss": a, "b_loss": b, "c_loss": c}  # noqa: E731
    assert dwa.on_epoch_end(0, logs(4.0, 2.0, 1.0), None) == {"a": 1.0, "b": 1.0, "c": 1.0}
    w = dwa.on_epoch_end(1, logs(2.0, 2.0, 0.5), None)
    # r = (0.5, 1.0, 0.5); λ = 3·e^(r/2)/Σ e^(r/2)
    e = [math.exp(0.25), math.exp(0.5), math.exp(0.25)]
    for name, value in zip(NAMES, e):
        assert w[name] == pytest.approx(3 * value / sum(e), rel=1e-12)
    # Only the last two epochs count.
    w = dwa.on_epoch_end(2, logs(2.0, 1.0, 0.5), None)
    e = [math.exp(0.5), math.exp(0.25), math.exp(0.5)]
    assert w["b"] == pytest.approx(3 * e[1] / sum(e), rel=1e-12)


def test_dwa_state_round_trip_resumes_the_schedule():
    a = DynamicWeightAverage()
    a.reset(NAMES, {})
    a.on_epoch_end(0, {"a_loss": 1.0, "b_loss": 2.0, "c_loss": 3.0}, None)
    b = DynamicWeightAverage()
    b.reset(NAMES, {})
    b.set_state(a.get_state())
    logs = {"a_loss": 0.5, "b_loss": 2.0, "c_loss": 1.0}
    assert b.on_epoch_end(1, logs, None) == a.on_epoch_end(1, logs, None)


def test_performance_weights_the_lagging_task():
    p = PerformanceWeighting(temperature=0.1)
    p.reset(["a", "b"], {"a": 1.0, "b": 1.0})
    assert p.on_epoch_end(0, {"val_a_accuracy": 0.8, "val_b_accuracy": 0.6}, None) == {"a": 1.0, "b": 1.0}
    # b regresses from its best 0.6 to 0.54: lag 0.1 -> 2·e^1/(1+e^1) for b.
    w = p.on_epoch_end(1, {"val_a_accuracy": 0.85, "val_b_accuracy": 0.54}, None)
    assert w["b"] == pytest.approx(2 * math.e / (1 + math.e), rel=1e-9)
    # Lower-is-better metrics are flipped: a loss that rises is a lag.
    q = PerformanceWeighting(metrics={"a": "val_a_loss", "b": "val_b_loss"}, temperature=0.1)
    q.reset(["a", "b"], {})
    q.on_epoch_end(0, {"val_a_loss": 1.0, "val_b_loss": 1.0}, None)
    w = q.on_epoch_end(1, {"val_a_loss": 1.1, "val_b_loss": 0.9}, None)
    assert w["a"] == pytest.approx(2 * math.e / (1 + math.e), rel=1e-9)


def test_performance_without_validation_metrics_is_refused():
    p = PerformanceWeighting()
    p.reset(["a"], {})
    with pytest.raises(ValueError, match="pass validation_data to fit"):
        p.on_epoch_end(0, {"a_loss": 1.0}, None)


def test_random_weights_sum_to_k_and_are_reproducible():
    draws = []
    for _ in range(2):
        r = RandomLossWeighting(seed=3)
        draws.append([r.reset(NAMES, {})] + [r.on_epoch_end(e, {}, None) for e in range(3)])
    assert draws[0] == draws[1]
    for w in draws[0]:
        assert sum(w.values()) == pytest.approx(3.0)
    assert draws[0][0] != draws[0][1]


def test_gradnorm_first_step_by_hand():
    gn = GradNorm(alpha=1.5, learning_rate=0.1)
    w = gn.reset(["a", "b"], {})
    w = gn.update_from_gradients({"a": 2.0, "b": 1.0}, {"a": 3.0, "b": 1.0}, w)
    # G = (3, 1), Ḡ = 2, r = (1, 1): targets 2, sign(G - 2) = (+, -); Adam's first
    # step moves log w by exactly ∓lr, then Σw = 2.
    a, b = math.exp(-0.1), math.exp(0.1)
    assert w["a"] == pytest.approx(2 * a / (a + b), rel=1e-9)
    assert w["b"] == pytest.approx(2 * b / (a + b), rel=1e-9)


def test_gradnorm_balances_a_hundredfold_gradient_gap():
    gn = GradNorm(learning_rate=0.1)
    w = gn.reset(["a", "b"], {})
    for _ in range(40):
        w = gn.update_from_gradients({"a": 1.0, "b": 1.0}, {"a": 100.0, "b": 1.0}, w)
    assert 0.5 <= (w["a"] * 100) / w["b"] <= 2.0
    assert sum(w.values()) == pytest.approx(2.0)


def test_gradnorm_refuses_nan():
    gn = GradNorm()
    w = gn.reset(["a", "b"], {})
    with pytest.raises(FloatingPointError, match="Non-finite"):
        gn.update_from_gradients({"a": float("nan"), "b": 1.0}, {"a": 1.0, "b": 1.0}, w)


def test_uncertainty_effective_weights():
    assert effective_weights({"a": 0.0, "b": math.log(2.0)}) == {"a": 0.5, "b": 0.25}


def test_registry_and_bad_options():
    assert isinstance(get_strategy("dwa", temperature=1.0), DynamicWeightAverage)
    with pytest.raises(ValueError, match="Unknown weighting strategy 'dwb'"):
        get_strategy("dwb")
    with pytest.raises(ValueError, match="Bad options for weighting strategy 'dwa'"):
        get_strategy("dwa", temprature=1.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DynamicWeightAverage(temperature=0)
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['topic'\]"):
        StaticWeighting({"topic": 1.0}).check_tasks(["intent", "slots"])
