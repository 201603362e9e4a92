"""`RestoreBest`'s patience: epochs without improvement count once the monitored value
has left its starting plateau."""

import keras
import pytest

from keras_mtl.callbacks import RestoreBest


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.stop_training = False  # as fit() sets it
    return model


def _stopped_after(values, patience=2, directory=None):
    """Feeds `values` as one dev score per epoch; the epoch index training stopped
    at (None: it never stopped), and the callback."""
    model = _model()
    callback = RestoreBest("dev_score", patience=patience, directory=directory)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"dev_score": value})
        if model.stop_training:
            return epoch, callback
    return None, callback


@pytest.mark.parametrize("values,stopped,best", [
    ([0.5, 0.4, 0.3, 0.9], 2, 1),              # falls from the start: 2 epochs, stop
    ([0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.05], 6, 5),  # F1 0 while warming up: not counted
    ([0.0, 0.0, 0.0], None, 1),                # never learns: the epoch cap ends it
    ([0.2, 0.3, 0.3, 0.25, 0.4], 3, 2),
])
def test_patience_counts_once_the_score_has_moved(values, stopped, best, tmp_path):
    for directory in (None, str(tmp_path / "best")):
        epoch, callback = _stopped_after(values, directory=directory)
        assert (epoch, callback.best_epoch) == (stopped, best)


def test_a_resumed_run_keeps_its_plateau_start(tmp_path):
    directory = str(tmp_path / "best")
    _stopped_after([0.0, 0.0, 0.0], directory=directory)
    # Started again after epoch index 2: two more flat epochs are still the plateau.
    model = _model()
    callback = RestoreBest("dev_score", patience=2, directory=directory)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in ((3, 0.0), (4, 0.0), (5, 0.2), (6, 0.1), (7, 0.1)):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"dev_score": value})
        assert model.stop_training == (epoch == 7)
    assert callback.best_epoch == 6
