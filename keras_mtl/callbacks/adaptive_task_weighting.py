"""`AdaptiveTaskWeighting`: a Keras callback applying a weighting strategy."""

import logging
import math

import keras
import numpy as np

from keras_mtl.callbacks.epoch_state import EpochStates
from keras_mtl.callbacks.task_gradients import (
    first_batch,
    shared_variables,
    task_losses_and_gradients,
)
from keras_mtl.errors import ConfigError
from keras_mtl.weighting import get_strategy

logger = logging.getLogger(__name__)


class AdaptiveTaskWeighting(keras.callbacks.Callback):
    """Updates a `MultiTaskModel`'s task weights while it trains.

    The weights live in the model (`model.task_weights`, read by `compute_loss` at
    every step), so what this callback assigns changes the very next training
    step, on every backend and under distribution strategies. At each epoch end it
    writes the weights applied during the epoch into the logs as `<task>_weight`
    (put it before `CSVLogger` / `TensorBoard` in the callback list so they record
    them).

    Args:
        strategy: a name from `keras_mtl.weighting.STRATEGIES` (`"static"`,
            `"dwa"`, `"uncertainty"`, `"gradnorm"`, `"performance"`, `"random"`)
            or a `WeightingStrategy` instance.
        gradient_data: for gradient-based strategies (GradNorm): a `tf.data` of
            `(x, y, sample_weight)` or one such batch; its first batch is held and
            used for every update.
        gradient_scope: `"last_layer"` (default) or `"backbone"`: where task
            gradients are taken.
        state_path: optional JSON file holding the strategy's state (e.g. DWA's
            loss history), saved every epoch, so a run resumed with
            `BackupAndRestore` continues the same schedule: the state read back is
            the one of the epoch the restored model finished (`EpochStates`).
        **options: passed to the strategy's constructor (e.g. `temperature=2.0`).

    Example:

    ```python
    history = model.fit(train_ds, validation_data=dev_ds, epochs=5,
                        callbacks=[AdaptiveTaskWeighting("dwa", temperature=2.0)])
    history.history["slots_weight"]  # the weight DWA gave the slots task, per epoch
    ```
    """

    def __init__(
        self,
        strategy="dwa",
        gradient_data=None,
        gradient_scope="last_layer",
        state_path=None,
        **options,
    ):
        super().__init__()
        self.strategy = get_strategy(strategy, **options)
        self.gradient_data = gradient_data
        self.gradient_scope = gradient_scope
        self.state_path = state_path
        self._states = EpochStates(state_path) if state_path else None
        self._held_batch = None
        self._step = 0
        self.history = []

    # --- helpers ---
    def _weights(self):
        return self.model.task_weights.as_dict()

    def _assign(self, weights, source):
        bad = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
        if bad:
            logger.warning("%s: skipped an update with invalid weights %s.", source, bad)
            return
        self.model.task_weights.assign(weights)

    def _save_state(self, epoch):
        if self._states:
            self._states.save(epoch, {"step": self._step, "strategy": self.strategy.get_state()})

    # --- Keras hooks ---
    def on_train_begin(self, logs=None):
        model = self.model
        if not hasattr(model, "task_weights") or not hasattr(model, "task_names"):
            raise ConfigError("AdaptiveTaskWeighting needs a keras_mtl MultiTaskModel.")
        names = model.task_names
        self.strategy.check_tasks(names)
        if getattr(self.strategy, "requires_model_variables", False) and (
            model.task_weights.log_variances is None
        ):
            raise ConfigError(
                f"The '{self.strategy.name}' strategy needs learned log-variances in the "
                "model: build it with MultiTaskModel(..., uncertainty_weighting=True) "
                "(config: `weighting: {strategy: uncertainty}`)."
            )
        if self.strategy.needs_gradients:
            if self.gradient_data is None:
                raise ConfigError(
                    f"The '{self.strategy.name}' strategy needs gradient_data: a batch "
                    "(or tf.data) of (x, y, sample_weight) to measure task gradients on."
                )
            self._held_batch = first_batch(self.gradient_data)
            self._variables = shared_variables(model, self.gradient_scope)
        if self._states:
            self._states.start()
        self._assign(self.strategy.reset(names, self._weights()), "train begin")

    def on_epoch_begin(self, epoch, logs=None):
        # A resumed run: BackupAndRestore has restored the model (and with it the
        # task weights) of the epoch before the first one this fit() runs.
        state = self._states.resume(epoch) if self._states else None
        if state is not None:
            self.strategy.reset(self.model.task_names, self._weights())
            self.strategy.set_state(state["strategy"])
            self._step = int(state.get("step", 0))

    def on_train_batch_end(self, batch, logs=None):
        if not self.strategy.needs_gradients:
            return
        self._step += 1
        if self._step % self.strategy.update_every:
            return
        x, y, sample_weight = self._held_batch
        losses, grads = task_losses_and_gradients(
            self.model, x, y, sample_weight, self._variables
        )
        norms = {name: float(np.linalg.norm(g)) for name, g in grads.items()}
        try:
            weights = self.strategy.update_from_gradients(losses, norms, self._weights())
        except FloatingPointError as error:
            logger.warning("Step %d: skipped the weight update: %s", self._step, error)
            return
        if weights:
            self._assign(weights, f"step {self._step}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        applied = self.model.task_weights.effective()
        for name, weight in applied.items():
            logs[f"{name}_weight"] = weight
        self.history.append(applied)
        if self.strategy.needs_validation and not any(k.startswith("val_") for k in logs):
            raise ConfigError(
                f"The '{self.strategy.name}' strategy reads validation metrics: pass "
                "validation_data to fit()."
            )
        try:
            weights = self.strategy.on_epoch_end(epoch, logs, self._weights())
        except FloatingPointError as error:
            logger.warning("Epoch %d: skipped the weight update: %s", epoch, error)
            weights = None
        if weights:
            self._assign(weights, f"epoch {epoch}")
        self._save_state(epoch)
