"""A run that dies after the callbacks saved their state but before
`EpochBackup` saved the model resumes with the callbacks' state of the epoch
the restored model finished, not the later one."""

import os

import keras
import numpy as np
import pytest

from keras_mtl import AdaptiveTaskWeighting, make_dataset
from keras_mtl.callbacks import EpochBackup, HistoryLog, RestoreBest
from keras_mtl.callbacks.epoch_state import EpochStates
from keras_mtl.errors import ArtifactError
from tests.conftest import tiny_data, tiny_model


class Died(Exception):
    pass


class DieAtEpochEnd(keras.callbacks.Callback):
    """Raises at the end of epoch index `epoch`: after the callbacks listed before it
    saved their state, before the `EpochBackup` listed after it saved the model."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Died()


def test_epoch_states_keep_the_latest_and_drop_later_ones(tmp_path):
    states = EpochStates(str(tmp_path / "s.json"))
    assert states.load(first_epoch=0) is None
    for epoch in range(4):
        states.save(epoch, {"n": epoch})
    assert states.epochs() == [2, 3]
    assert states.load(first_epoch=3) == {"n": 2}
    assert states.epochs() == [2]  # epoch 3's state belonged to a run that died
    with pytest.raises(ArtifactError, match="no state for epoch 1 "):
        states.load(first_epoch=1)


class RecordLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


def test_resume_after_a_kill_between_the_callbacks_and_the_backup(tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1))
    data = make_dataset(model.preprocessor, tiny_data(repeat=4), batch_size=4)
    dev = make_dataset(model.preprocessor, tiny_data(), batch_size=4)
    backup = str(tmp_path / "backup")
    history = str(tmp_path / "history.csv")

    def callbacks(*extra):
        return [
            AdaptiveTaskWeighting("dwa", temperature=2.0,
                                  state_path=os.path.join(backup, "weighting.json")),
            RestoreBest("val_loss", directory=os.path.join(backup, "best")),
            RecordLogs(),
            HistoryLog(history),
            *extra,
            EpochBackup(backup),
        ]

    first = callbacks(DieAtEpochEnd(2))
    with pytest.raises(Died):
        model.fit(data, validation_data=dev, epochs=5, verbose=0, callbacks=first)
    # The callbacks saved epoch index 2 (history.csv has its row); the model's
    # backup is of epoch index 1.
    assert EpochStates(os.path.join(backup, "weighting.json")).epochs() == [1, 2]
    assert [int(line.split(",")[0]) for line in open(history).readlines()[1:]] == [0, 1, 2]

    second = callbacks()
    model.fit(data, validation_data=dev, epochs=5, verbose=0, callbacks=second)
    logs = first[2].logs[:2] + second[2].logs  # the epochs the final model went through
    assert len(logs) == 5

    def dwa_weight(t):
        r = [logs[t - 1][f"{n}_loss"] / logs[t - 2][f"{n}_loss"] for n in ("intent", "slots")]
        e = np.exp(np.array(r) / 2.0)
        return 2 * e[0] / e.sum()

    # Each epoch's weight follows from the two epochs before it as the final model
    # saw them (epoch index 3's from index 1, first process, and index 2, the rerun).
    for t in (2, 3, 4):
        np.testing.assert_allclose(logs[t]["intent_weight"], dwa_weight(t), rtol=1e-5)
    best = second[1]
    assert best.best_epoch == 1 + int(np.argmin([entry["val_loss"] for entry in logs]))
    assert not os.path.exists(backup)  # the best weights went with the backup
    rows = open(history).readlines()
    assert [int(line.split(",")[0]) for line in rows[1:]] == [0, 1, 2, 3, 4]  # once each
    assert rows[0].startswith("epoch,")
