"""`RestoreBest`: end training with the weights of the best epoch on the dev split."""

import math
import os
import re

import keras

from keras_mtl.callbacks.epoch_state import EpochStates
from keras_mtl.errors import ConfigError
from keras_mtl.outputs import replace_file

_WEIGHTS_FILE = re.compile(r"best-epoch(\d+)\.weights\.h5$")

_HIGHER_IS_BETTER = ("accuracy", "f1", "auc", "precision", "recall", "pearson", "spearman",
                     "uas", "las", "dev_score")


def monitor_mode(monitor):
    """`"max"` for accuracy-like log names, else `"min"` (losses, errors).

    >>> monitor_mode("val_intent_accuracy"), monitor_mode("val_loss"), monitor_mode("dev_score")
    ('max', 'min', 'max')
    """
    name = monitor.lower()
    return "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"


class RestoreBest(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best `monitor` and restores them when
    training ends; optionally stops after `patience` epochs without improvement.

    Unlike `keras.callbacks.EarlyStopping(restore_best_weights=True)`, it restores
    the best weights whether or not training stopped early, and it survives a
    killed run: the best weights and score live in `directory` (put it inside the
    `BackupAndRestore` folder and list this callback before it, so that both are
    cleaned up together and a resumed run keeps its best epoch).

    Args:
        monitor: a log key, e.g. `"val_loss"` or `"val_intent_accuracy"`.
        mode: `"min"`, `"max"` or `"auto"` (from the name; see `monitor_mode`).
        patience: stop after this many epochs without improvement (`None`: never).
            Epochs only count once the monitored value has moved off its first
            epoch's value: a run still on its starting plateau (a rare-entity F1 of 0
            while the learning rate warms up) has not begun to learn, and is not
            stopped for it. The epoch cap then ends a run that never learns.
        directory: where the best weights and `best.json` are kept.

    After `fit`, `best_epoch` (1-based) and `best_value` say which epoch was kept.

    Example:

    >>> callback = RestoreBest("val_intent_accuracy", patience=2)
    >>> callback.mode
    'max'
    """

    def __init__(self, monitor="val_loss", mode="auto", patience=None, directory=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"RestoreBest mode must be 'auto', 'min' or 'max', got {mode!r}.")
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ConfigError(f"RestoreBest patience must be an int >= 1, got {patience!r}.")
        self.monitor = monitor
        self.mode = monitor_mode(monitor) if mode == "auto" else mode
        self.patience = patience
        self.directory = directory
        self.best_value = None
        self.best_epoch = None
        self.wait = 0
        self.first_value = None  # the first epoch's value (patience waits for a change)
        self._best_weights = None  # in memory when there is no directory
        self._states = EpochStates(os.path.join(directory, "best.json")) if directory else None

    def _weights_path(self, epoch):
        return os.path.join(self.directory, f"best-epoch{epoch}.weights.h5")

    def _set_state(self, state):
        self.best_value, self.best_epoch, self.wait = (
            state["best_value"], state["best_epoch"], state["wait"])
        # Absent from the state of an earlier keras_mtl: patience counted from the start.
        self.first_value = state.get("first_value", self.best_value)

    def _remove_unused_weights(self):
        """Deletes best-weights files that no kept epoch state refers to."""
        states = self._states.read()
        used = {state["best_epoch"] for state in states.values()}
        for name in os.listdir(self.directory):
            match = _WEIGHTS_FILE.match(name)
            if match and int(match.group(1)) not in used:
                os.remove(os.path.join(self.directory, name))

    def on_train_begin(self, logs=None):
        self.best_value, self.best_epoch, self.wait = None, None, 0
        self.first_value = None
        if self._states:
            self._states.start()

    def on_epoch_begin(self, epoch, logs=None):
        if not self._states or self._states.resumed:
            return
        # A resumed run: the best so far is the one recorded at the end of the
        # epoch before the first one this fit() runs.
        state = self._states.resume(epoch)
        if state is not None:
            self._set_state(state)
        if os.path.isdir(self.directory):
            self._remove_unused_weights()

    def _improved(self, value):
        if value is None or math.isnan(value):
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if self.mode == "min" else value > self.best_value

    def _moved(self, value):
        """Whether the monitored value has left its first epoch's value (the best so
        far differs from it, or this epoch's value does)."""
        return self.best_value != self.first_value or value != self.first_value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ConfigError(
                f"'training.monitor' is {self.monitor!r}, which this run does not log; it "
                f"logs {sorted(logs)}. A dev split gives the 'val_' keys."
            )
        value = float(logs[self.monitor])
        if self.first_value is None:
            self.first_value = value
        if self._improved(value):
            self.best_value, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.directory:
                os.makedirs(self.directory, exist_ok=True)
                with replace_file(self._weights_path(self.best_epoch)) as tmp:
                    self.model.save_weights(tmp)
            else:
                self._best_weights = self.model.get_weights()
        elif self.wait or self._moved(value):
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.model.stop_training = True
        if self.directory:
            self._states.save(epoch, {"monitor": self.monitor, "best_value": self.best_value,
                                      "best_epoch": self.best_epoch, "wait": self.wait,
                                      "first_value": self.first_value})
            self._remove_unused_weights()

    def on_train_end(self, logs=None):
        if self._states and not self._states.resumed:
            # No epoch ran: the run was killed after its last epoch was backed up.
            saved = self._states.epochs()
            if saved:
                self._set_state(self._states.load(first_epoch=saved[-1] + 1))
        if self.directory and self.best_epoch is not None:
            self.model.load_weights(self._weights_path(self.best_epoch))
        elif self._best_weights is not None:
            self.model.set_weights(self._best_weights)
