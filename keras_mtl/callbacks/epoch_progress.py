"""`EpochProgress`: one line per epoch with the time it took and the time left."""

import time

import keras


def format_duration(seconds):
    """`'1h02m'`, `'4m05s'` or `'12s'`.

    >>> format_duration(3725), format_duration(245), format_duration(12.4)
    ('1h02m', '4m05s', '12s')
    """
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class EpochProgress(keras.callbacks.Callback):
    """Logs `Epoch 3/8 took 41s; about 3m25s left.` after every epoch.

    The estimate is the mean epoch time of this process times the epochs left, so
    a resumed run (which starts at a later epoch) estimates from its own epochs.

    Args:
        epochs: the planned number of epochs.
        log: where the line goes (`print` by default).
    """

    def __init__(self, epochs, log=print):
        super().__init__()
        self.epochs = epochs
        self.log = log
        self._durations = []
        self._start = None
        self._pending = None

    # The line is written when the next epoch begins (or training ends), so that it
    # follows Keras' own summary line of the epoch.

    def on_epoch_begin(self, epoch, logs=None):
        self._flush()
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        took = time.perf_counter() - self._start
        self._durations.append(took)
        left = (self.epochs - epoch - 1) * sum(self._durations) / len(self._durations)
        message = f"Epoch {epoch + 1}/{self.epochs} took {format_duration(took)}"
        if epoch + 1 < self.epochs and not getattr(self.model, "stop_training", False):
            message += f"; about {format_duration(left)} left"
        self._pending = message + "."

    def on_train_end(self, logs=None):
        self._flush()

    def _flush(self):
        if self._pending:
            self.log(self._pending)
            self._pending = None
