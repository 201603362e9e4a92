import pytest

from keras_mtl.metrics import delta_m, primary_metric


def test_delta_m_by_hand():
    # +12.5 % on accuracy, −25 % on an error (MAE rises 0.4 → 0.5): mean −6.25 %.
    assert delta_m({"a": 0.9, "b": 0.5}, {"a": 0.8, "b": 0.4}, {"a": True, "b": False}) == pytest.approx(-6.25)
    # Equal models: 0.
    assert delta_m({"a": 0.7}, {"a": 0.7}, {"a": True}) == 0.0
    # Lower error is better: MAE 0.3 vs 0.4 is +25 %.
    assert delta_m({"b": 0.3}, {"b": 0.4}, {"b": False}) == pytest.approx(25.0)


def test_delta_m_errors_and_primary_metrics():
    with pytest.raises(ValueError, match="same tasks"):
        delta_m({"a": 1.0}, {"b": 1.0}, {"a": True, "b": True})
    with pytest.raises(ValueError, match="single-task a metric is 0"):
        delta_m({"a": 1.0}, {"a": 0.0}, {"a": True})
    assert primary_metric("token_classification") == ("f1", True)
    assert primary_metric("regression") == ("mae", False)
