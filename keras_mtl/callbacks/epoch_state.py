"""`EpochStates`: a callback's state, stamped with the epoch it belongs to, that a
run resumed by `keras.callbacks.BackupAndRestore` reads back consistently.

A callback saves its state at the end of an epoch; `BackupAndRestore` saves the
model a moment later. A run killed between the two resumes from the model of the
epoch before, so "the last state written" can be one epoch ahead of the weights.
Keeping the last few epochs' states and reading, when the resumed run starts, the
one of the epoch just before the first epoch it runs (`on_epoch_begin`'s `epoch`,
which `BackupAndRestore` set) keeps the two in step.
"""

import json
import os

from keras_mtl.errors import ArtifactError
from keras_mtl.outputs import write_json


class EpochStates:
    """The last `keep` epochs' states of one callback, in one JSON file.

    Args:
        path: the JSON file (inside the `BackupAndRestore` folder, so that it is
            removed with it when training ends).
        keep: how many of the latest epochs to keep (2 is enough for a kill between
            a callback's save and the model's).

    Example:

    >>> states = EpochStates("/tmp/run/backup/weighting.json")
    >>> states.save(3, {"losses": [[1.0, 2.0]]})       # at the end of epoch index 3
    >>> states.load(first_epoch=4)                      # a run resumed at epoch index 4
    {'losses': [[1.0, 2.0]]}
    """

    def __init__(self, path, keep=2):
        self.path = path
        self.keep = keep
        self.resumed = False

    def start(self):
        """Call in `on_train_begin`: the next `resume` reads the file."""
        self.resumed = False

    def resume(self, epoch):
        """Call in `on_epoch_begin`: on the first epoch of a `fit`, the state to resume
        from (`load(first_epoch=epoch)`, `None` for a fresh run); later, `None`."""
        if self.resumed:
            return None
        self.resumed = True
        return self.load(first_epoch=epoch)

    def read(self):
        """{epoch index: state} of the kept epochs."""
        if not os.path.exists(self.path):
            return {}
        with open(self.path, encoding="utf-8") as f:
            saved = json.load(f)
        if not isinstance(saved, dict) or not isinstance(saved.get("epochs"), dict):
            raise ArtifactError(
                f"{self.path} is not a per-epoch state file (an older keras_mtl wrote it?): "
                "finish that run with the version that started it, or start it afresh."
            )
        return {int(epoch): state for epoch, state in saved["epochs"].items()}

    def _write(self, states):
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        write_json(self.path, {"epochs": {str(e): states[e] for e in sorted(states)}})

    def save(self, epoch, state):
        """Records `state` as the one at the end of epoch index `epoch`."""
        states = {e: s for e, s in self.read().items() if e < epoch}
        states[epoch] = state
        self._write({e: states[e] for e in sorted(states)[-self.keep:]})

    def load(self, first_epoch):
        """The state at the end of epoch index `first_epoch - 1`, or `None` for a run
        that starts from scratch. States of later epochs (a kill came after the
        callback's save but before the model's) are dropped."""
        states = self.read()
        if not states:
            return None
        kept = {e: s for e, s in states.items() if e < first_epoch}
        if len(kept) != len(states):
            self._write(kept)
        if first_epoch == 0:
            return None
        if first_epoch - 1 not in kept:
            raise ArtifactError(
                f"{self.path} has no state for epoch {first_epoch} (it has "
                f"{sorted(e + 1 for e in states)}); the run folder's backup is inconsistent."
            )
        return kept[first_epoch - 1]

    def epochs(self):
        """The epoch indices with a saved state."""
        return sorted(self.read())
