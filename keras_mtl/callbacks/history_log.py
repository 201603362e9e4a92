"""`HistoryLog`: `history.csv` with each epoch exactly once across a killed and
resumed run."""

import os

import keras

from keras_mtl.outputs import replace_file


class HistoryLog(keras.callbacks.CSVLogger):
    """`keras.callbacks.CSVLogger` (appending) that, when a run resumes, drops the
    rows of the epochs about to run again.

    List it *before* `BackupAndRestore`: a run killed after the row of an epoch was
    written but before the model backup of that epoch reruns the epoch, and the
    stale row is removed when it starts (`on_epoch_begin`'s `epoch` is the first one
    this `fit` runs). Listed after it, a kill between the two would lose the row.
    """

    def __init__(self, filename, separator=","):
        super().__init__(filename, separator=separator, append=True)
        self._trimmed = False

    def on_train_begin(self, logs=None):
        self._trimmed = False
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        if self._trimmed:
            return
        self._trimmed = True
        if not os.path.exists(self.filename):
            return
        with open(self.filename, encoding="utf-8") as f:
            lines = f.readlines()
        # A row without its newline was cut short by a kill: its epoch reruns.
        kept = lines[:1] + [line for line in lines[1:] if line.endswith("\n")
                            and int(line.split(self.sep, 1)[0]) < epoch]
        if len(kept) == len(lines):
            return
        self.csv_file.close()
        with replace_file(self.filename) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(kept)
        self.csv_file = open(self.filename, "a", encoding="utf-8")
