"""`EpochBackup`: every state a kill can leave the backup folder in is one a run
resumes from, with the weights and optimizer state of the epoch it names."""

import json
import os

import keras
import numpy as np
import pytest

from keras_mtl import make_dataset
from keras_mtl.callbacks import EpochBackup
from keras_mtl.errors import ArtifactError
from tests.conftest import tiny_data, tiny_model


def _trained(epochs=2):
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-2))
    data = make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4)
    model.fit(data, epochs=epochs, verbose=0)
    return model, data


def _fresh(data):
    keras.utils.set_random_seed(1)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(data, epochs=1, verbose=0)  # builds the optimizer, moves the weights
    return model


def _assert_same_state(model, other):
    for a, b in zip(model.weights + model.optimizer.variables,
                    other.weights + other.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b))


def test_a_kill_mid_write_resumes_from_the_epoch_before(tmp_path):
    model, data = _trained()
    backup = str(tmp_path / "backup")
    saver = EpochBackup(backup)
    saver.set_model(model)
    saver.on_epoch_end(1)  # epoch index 1 done: epoch2.weights.h5, backup.json
    assert json.load(open(os.path.join(backup, "backup.json"))) == {
        "epoch": 2, "weights": "epoch2.weights.h5"}
    # Killed while writing epoch 3: a truncated temporary file, the index untouched.
    with open(os.path.join(backup, ".partial-x1y2-epoch3.weights.h5"), "wb") as f:
        f.write(open(os.path.join(backup, "epoch2.weights.h5"), "rb").read()[:100])

    resumed = _fresh(data)
    restorer = EpochBackup(backup)
    restorer.set_model(resumed)
    restorer.on_train_begin()
    assert restorer.restored_epoch == 2 and resumed._initial_epoch == 2
    _assert_same_state(model, resumed)

    restorer.on_epoch_end(2)  # the next save clears the older epoch and the leftover
    assert sorted(os.listdir(backup)) == ["backup.json", "epoch3.weights.h5"]
    restorer.on_train_end()
    assert not os.path.exists(backup)


def test_a_fit_resumes_and_deletes_its_backup(tmp_path):
    model, data = _trained(epochs=0)
    backup = str(tmp_path / "backup")
    model.fit(data, epochs=2, verbose=0, callbacks=[EpochBackup(backup)])
    assert not os.path.exists(backup)

    class Stop(Exception):
        pass

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise Stop()

    with pytest.raises(Stop):
        model.fit(data, epochs=3, verbose=0, callbacks=[EpochBackup(backup), StopAfter()])
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))
    model.fit(data, epochs=3, verbose=0, callbacks=[EpochBackup(backup), record])
    assert seen == [1, 2]  # epoch index 0 was backed up; it is not run again


def test_a_backup_naming_a_missing_file_is_an_error(tmp_path):
    model, data = _trained(epochs=0)
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "backup.json").write_text(json.dumps({"epoch": 3, "weights": "epoch3.weights.h5"}))
    restorer = EpochBackup(str(backup))
    restorer.set_model(model)
    with pytest.raises(ArtifactError, match=r"names .*epoch3\.weights\.h5, which is missing"):
        restorer.on_train_begin()


def test_resumes_a_folder_keras_backup_and_restore_wrote(tmp_path):
    model, data = _trained()
    backup = str(tmp_path / "backup")
    keras_backup = keras.callbacks.BackupAndRestore(backup)
    keras_backup.set_model(model)
    keras_backup.on_epoch_end(3)
    resumed = _fresh(data)
    restorer = EpochBackup(backup)
    restorer.set_model(resumed)
    restorer.on_train_begin()
    assert restorer.restored_epoch == 4
    _assert_same_state(model, resumed)
