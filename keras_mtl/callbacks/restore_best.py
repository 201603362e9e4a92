"""`RestoreBest`: end training with the weights of the best epoch on the dev split."""

import json
import math
import os

import keras

from keras_mtl.errors import ConfigError
from keras_mtl.outputs import replace_file, write_json

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
        self._best_weights = None  # in memory when there is no directory

    @property
    def _state_path(self):
        return os.path.join(self.directory, "best.json")

    @property
    def _weights_path(self):
        return os.path.join(self.directory, "best.weights.h5")

    def on_train_begin(self, logs=None):
        if self.directory and os.path.exists(self._state_path):
            with open(self._state_path) as f:
                state = json.load(f)
            self.best_value, self.best_epoch, self.wait = (
                state["best_value"], state["best_epoch"], state["wait"])

    def _improved(self, value):
        if value is None or math.isnan(value):
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if self.mode == "min" else value > self.best_value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ConfigError(
                f"'training.monitor' is {self.monitor!r}, which this run does not log; it "
                f"logs {sorted(logs)}. A dev split gives the 'val_' keys."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best_value, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.directory:
                os.makedirs(self.directory, exist_ok=True)
                with replace_file(self._weights_path) as tmp:
                    self.model.save_weights(tmp)
            else:
                self._best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.model.stop_training = True
        if self.directory:
            write_json(self._state_path, {"monitor": self.monitor, "best_value": self.best_value,
                                          "best_epoch": self.best_epoch, "wait": self.wait})

    def on_train_end(self, logs=None):
        if self.directory and os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        elif self._best_weights is not None:
            self.model.set_weights(self._best_weights)
