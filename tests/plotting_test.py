import pytest

from keras_mtl.plotting import plot_training, read_history


def test_plot_training_draws_the_panels_it_has(tmp_path):
    history = {
        "loss": [3.0, 2.0], "intent_loss": [1.0, 0.5], "slots_loss": [2.0, 1.5],
        "intent_weight": [1.0, 0.8], "slots_weight": [1.0, 1.2],
        "grad_cos_intent_slots": [0.1, -0.2], "grad_norm_intent": [0.3, 0.2],
    }
    path = tmp_path / "curves.png"
    assert plot_training(history, str(path)) == ["losses", "weights", "gradients"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_csv_round_trip(tmp_path):
    csv_path = tmp_path / "history.csv"
    csv_path.write_text("epoch,intent_loss,loss\n0,1.5,2.0\n1,1.0,1.2\n")
    assert read_history(str(csv_path))["intent_loss"] == [1.5, 1.0]
    assert plot_training(str(csv_path), str(tmp_path / "h.png")) == ["losses"]
    with pytest.raises(ValueError, match="no task losses"):
        plot_training({"loss": [1.0]}, str(tmp_path / "x.png"))
