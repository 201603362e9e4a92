"""`TaskGradientDiagnostics`: how much the tasks pull the shared encoder apart."""

import itertools

import keras
import numpy as np

from keras_mtl.callbacks.task_gradients import (
    first_batch,
    shared_variables,
    task_losses_and_gradients,
)


class TaskGradientDiagnostics(keras.callbacks.Callback):
    """Logs per-task gradient norms and pairwise gradient cosines every epoch.

    At each epoch end, on a held batch, it takes each task's (unweighted) loss
    gradient at the shared encoder and writes into the logs:

    * `grad_norm_<task>`: ‖∇Lₖ‖,
    * `grad_cos_<a>_<b>`: cos(∇L_a, ∇L_b) for every pair of tasks. Negative values
      mean the tasks pull the shared weights in conflicting directions (task
      interference); values near 1 mean they agree (positive transfer).

    Put it before `CSVLogger` so the values land in the history file;
    `keras_mtl.plotting.plot_training` draws them.

    Args:
        gradient_data: a `tf.data` of `(x, y, sample_weight)` or one such batch.
        scope: `"last_layer"` (last transformer layer) or `"backbone"` (all of it).

    Example:

    ```python
    model.fit(train_ds, epochs=3,
              callbacks=[TaskGradientDiagnostics(dev_ds), keras.callbacks.CSVLogger("h.csv")])
    ```
    """

    def __init__(self, gradient_data, scope="last_layer"):
        super().__init__()
        self.batch = first_batch(gradient_data)
        self.scope = scope

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs.update(gradient_report(self.model, self.batch, self.scope))


def gradient_report(model, batch, scope="last_layer"):
    """`{grad_norm_<task>: ..., grad_cos_<a>_<b>: ...}` on one `(x, y, sw)` batch."""
    variables = shared_variables(model, scope)
    _, grads = task_losses_and_gradients(model, *batch, variables)
    report = {f"grad_norm_{name}": float(np.linalg.norm(g)) for name, g in grads.items()}
    for a, b in itertools.combinations(grads, 2):
        na, nb = np.linalg.norm(grads[a]), np.linalg.norm(grads[b])
        cosine = float(grads[a] @ grads[b] / (na * nb)) if na > 0 and nb > 0 else 0.0
        report[f"grad_cos_{a}_{b}"] = cosine
    return report
