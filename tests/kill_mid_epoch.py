"""Runs `keras-mtl` and kills its own process with SIGKILL at a chosen batch of a
chosen epoch: a real kill -9 at a known point of training, not at a moment a test
guesses from the clock (a busy machine made that guess miss by several epochs).

    python tests/kill_mid_epoch.py EPOCH:BATCH [keras-mtl arguments...]

EPOCH counts from 0, as `history.csv` does; BATCH is the batch about to start.
"""

import os
import signal
import sys


def _install_kill(epoch, batch):
    import keras

    callbacks = keras.callbacks.CallbackList
    on_epoch_begin, on_train_batch_begin = callbacks.on_epoch_begin, callbacks.on_train_batch_begin
    current = {"epoch": None}

    def epoch_begin(self, index, logs=None):
        current["epoch"] = index
        return on_epoch_begin(self, index, logs)

    def train_batch_begin(self, index, logs=None):
        if current["epoch"] == epoch and index >= batch:
            os.kill(os.getpid(), signal.SIGKILL)
        return on_train_batch_begin(self, index, logs)

    callbacks.on_epoch_begin, callbacks.on_train_batch_begin = epoch_begin, train_batch_begin


def main(argv):
    epoch, batch = (int(part) for part in argv[0].split(":"))
    from keras_mtl import cli  # imports Keras only once `--backend` is set

    run = cli._run

    def run_then_kill(args, console):
        _install_kill(epoch, batch)
        return run(args, console)

    cli._run = run_then_kill
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
