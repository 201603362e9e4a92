"""`EpochTimer`: each epoch's wall time in the logs, so that `history.csv` keeps the
time of every epoch of a killed and resumed run."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Writes `logs["epoch_seconds"]`: the wall time from the epoch's start to this
    callback's `on_epoch_end` (training, validation and every callback listed
    before it).

    List it after the callbacks whose epoch-end work belongs to the epoch (dev
    evaluation, best-epoch restore) and before `HistoryLog`, which records it.
    `history.csv` then holds the time of every epoch that ran, in whichever
    process; `epoch_seconds_total` sums them (the cost of the run as if it had
    never been killed; an epoch cut short by a kill is not counted).
    """

    def __init__(self):
        super().__init__()
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._start is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def epoch_seconds_total(rows):
    """Sum of the `epoch_seconds` column of `history.csv` rows (dicts); None when
    a row lacks it (a run started before the column existed)."""
    try:
        return sum(float(row["epoch_seconds"]) for row in rows)
    except (KeyError, TypeError, ValueError):
        return None
