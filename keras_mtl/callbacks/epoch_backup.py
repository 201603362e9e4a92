"""`EpochBackup`: a per-epoch backup of the model that a kill cannot leave half-written."""

import json
import os
import re
import shutil

import keras

from keras_mtl.errors import ArtifactError
from keras_mtl.outputs import replace_file, write_json

_WEIGHTS_FILE = re.compile(r"epoch(\d+)\.weights\.h5$")
_INDEX = "backup.json"
# Temporary files of a write that a kill interrupted, and keras.callbacks.BackupAndRestore's.
_STALE = (".partial-", "latest.weights.h5", "training_metadata.json")


class EpochBackup(keras.callbacks.Callback):
    """Saves the model (weights and optimizer state) at the end of every epoch and,
    when a killed run is started again, restores it and resumes at the next epoch;
    deletes the backup folder when training ends.

    It does what `keras.callbacks.BackupAndRestore` does (and hands the epoch to
    `fit` the same way), but every state of the folder on disk is one a run can
    resume from: the weights of epoch N go to a new file, `epochN.weights.h5`
    (written under a temporary name, then renamed), and only then is `backup.json`
    replaced, atomically, to name it; older weights are deleted after that. Keras's
    own callback overwrites its weights and `training_metadata.json` in place and
    falls back to its previous copy only on `OSError`, so a kill while it writes
    can leave a folder that no run resumes from.

    Args:
        directory: the backup folder (`RestoreBest` and the weighting state live in it
            too, and go with it when training ends).

    Example:

    >>> callback = EpochBackup("/tmp/run/backup")
    >>> # model.fit(..., callbacks=[..., callback]); kill it; run the same fit again.
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = directory
        self.restored_epoch = None  # epochs already done when this fit started

    def _index_path(self):
        return os.path.join(self.directory, _INDEX)

    def _read_index(self):
        path = self._index_path()
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                index = json.load(f)
            return int(index["epoch"]), os.path.join(self.directory, index["weights"])
        # A folder written by keras.callbacks.BackupAndRestore (earlier keras_mtl).
        legacy = os.path.join(self.directory, "training_metadata.json")
        if os.path.exists(legacy):
            with open(legacy, encoding="utf-8") as f:
                epoch = int(json.load(f)["epoch"])
            return epoch, os.path.join(self.directory, "latest.weights.h5")
        return None

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        index = self._read_index()
        if index is None:
            return
        epoch, weights = index
        if not os.path.exists(weights):
            raise ArtifactError(
                f"{self._index_path()} names {weights}, which is missing: the backup folder "
                "was changed by hand. Delete it to start the run afresh.")
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        self.model._initial_epoch = epoch  # read by fit(), as for BackupAndRestore
        self.restored_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        name = f"epoch{epoch + 1}.weights.h5"
        with replace_file(os.path.join(self.directory, name)) as tmp:
            self.model.save_weights(tmp)
        write_json(self._index_path(), {"epoch": epoch + 1, "weights": name})
        for old in os.listdir(self.directory):  # earlier epochs, a killed write's leftovers
            if (_WEIGHTS_FILE.match(old) and old != name) or old.startswith(_STALE):
                os.remove(os.path.join(self.directory, old))

    def on_train_end(self, logs=None):
        shutil.rmtree(self.directory, ignore_errors=True)
