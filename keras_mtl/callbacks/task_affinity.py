"""`TaskAffinity`: how a step on one task's loss moves every other task's loss (TAG),
and the tasks' gradient cosines, measured while training."""

import time

import keras
import numpy as np

from keras_mtl.callbacks.epoch_state import EpochStates
from keras_mtl.callbacks.task_gradients import (
    labelled_tasks, shared_variables, task_loss_values_at, task_losses_and_gradients,
)
from keras_mtl.checks import check_number
from keras_mtl.transfer.grouping import json_matrix


class TaskAffinity(keras.callbacks.Callback):
    """TAG's lookahead inter-task affinity (Fifty et al. 2021) and gradient cosines.

    Every `every` optimizer steps, on fresh batches of `affinity_data`, with θₛ the
    shared encoder's variables and gᵢ = ∇θₛ Lᵢ each task's (unweighted) loss gradient:

        θₛ|ᵢ = θₛ − Δ(gᵢ)                  one optimizer step on task i alone
        Zᵢ→ⱼ = 1 − Lⱼ(θₛ|ᵢ) / Lⱼ(θₛ)      for every task j, then θₛ is restored

    Zᵢ→ⱼ > 0: a step on i lowers j's loss (i helps j); < 0: it raises it. Δ is the
    update of the model's optimizer for that gradient alone: Adam / AdamW with its
    current moments, step count, learning rate and weight decay (what the next real
    step would do if i were the only task), plain SGD with its learning rate
    otherwise (`lookahead` says which). The cosine cos(gᵢ, gⱼ) of the same
    gradients is kept beside it. Losses are computed in inference mode (no dropout).

    Batches of a task mixture may lack a task's labels: batches are drawn until
    every task has labels in one of them (at most `max_batches`), and each task's
    loss and gradient is its mean over the batches holding it.

    Attributes after (or during) training: `measurements`, a list of
    `{"step", "epoch", "tag": T×T list, "cosine": T×T list}`; `mean("tag")` and
    `mean("cosine")`, the averages over training (NaN where never measured);
    `seconds`, the time the measurements took, and `fit_seconds`, the time of the
    epochs they ran in (both summed over a resumed run's parts).

    Args:
        affinity_data: a `tf.data` of `(x, y, sample_weight)` batches (e.g. the
            training dataset; it is read with its own iterator, repeated).
        every: measure every this many optimizer steps (TAG's k).
        scope: shared variables, `"backbone"` (default: the whole shared encoder)
            or `"last_layer"`.
        state_path: a JSON file to keep the measurements across a killed and
            resumed run (put it in the `BackupAndRestore` folder).
        max_batches: the most batches drawn per measurement.
        batch_size: measure on the first this many examples of each batch drawn
            (default: the whole batch). The rows of a batch are shuffled, so it is a
            random subset; fewer examples make a measurement cheaper and noisier.

    Example:

    ```python
    affinity = TaskAffinity(train_ds, every=10)
    model.fit(train_ds, epochs=3, callbacks=[affinity])
    affinity.mean("tag")[0][1]        # how a step on task 0 moves task 1's loss
    ```
    """

    def __init__(self, affinity_data, every=10, scope="backbone", state_path=None,
                 max_batches=8, batch_size=None):
        super().__init__()
        self.every = check_number(every, "TaskAffinity every", at_least=1, integer=True)
        self.batch_size = None if batch_size is None else check_number(
            batch_size, "TaskAffinity batch_size", at_least=1, integer=True)
        self.max_batches = check_number(max_batches, "TaskAffinity max_batches", at_least=1,
                                        integer=True)
        self.data = affinity_data
        self.scope = scope
        self.states = EpochStates(state_path) if state_path else None
        self.measurements = []
        self.seconds = 0.0
        self.fit_seconds = 0.0
        self.lookahead = None
        self._epoch_start = None
        self._iterator = None
        self._epoch = 0
        self._steps = 0

    # === Keras hooks ===
    def on_train_begin(self, logs=None):
        names = self.model.task_names
        if len(names) < 2:
            raise ValueError(
                f"Task affinity needs at least 2 tasks; the model has {len(names)} ({names})."
            )
        if self.states is not None:
            self.states.start()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        if self.states is not None:
            state = self.states.resume(epoch)
            if state is not None:
                self.measurements = state["measurements"]
                self.seconds = state["seconds"]
                self.fit_seconds = state["fit_seconds"]
                self._steps = state["steps"]

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        if self._steps % self.every == 0:
            start = time.perf_counter()
            tag, cosine = self.measure()
            self.measurements.append({"step": self._steps, "epoch": self._epoch,
                                      "tag": json_matrix(tag), "cosine": json_matrix(cosine)})
            self.seconds += time.perf_counter() - start

    def on_epoch_end(self, epoch, logs=None):
        self.fit_seconds += time.perf_counter() - self._epoch_start
        if self.states is not None:
            self.states.save(epoch, {"measurements": self.measurements, "seconds": self.seconds,
                                     "fit_seconds": self.fit_seconds, "steps": self._steps})

    # === Measurement ===
    def measure(self):
        """One measurement now: `(tag, cosine)`, two T×T arrays (NaN where a task
        had no labels in the batches drawn)."""
        model = self.model
        names = model.task_names
        variables = shared_variables(model, self.scope)
        batches = self._batches(names)
        rows = _token_rows(model, variables, batches)
        losses, grads = _mean_over_batches(model, batches, variables, names, rows)
        present = [name for name in names if name in losses]
        count = len(names)
        tag = np.full((count, count), np.nan)
        cosine = np.full((count, count), np.nan)
        # The lookahead moves only the embedding rows the batches read: the others
        # cannot change any loss measured here. The stepped values are mapped onto
        # the variables inside one compiled loss computation; the model's variables
        # are never written.
        read = [_read(variable, rows.get(k)) for k, variable in enumerate(variables)]
        step = self._lookahead_step(variables, read, rows)
        for i, task in enumerate(names):
            if task not in present:
                continue
            after = _batch_losses(model, batches, names, variables, step(grads[task]), rows)
            for j, other in enumerate(names):
                if other in present and losses[other] > 0:
                    tag[i, j] = 1.0 - after[other] / losses[other]
        norms = {task: np.linalg.norm(grads[task]) for task in present}
        for a in present:
            for b in present:
                i, j = names.index(a), names.index(b)
                if j < i:
                    cosine[i, j] = cosine[j, i]
                elif norms[a] > 0 and norms[b] > 0:
                    cosine[i, j] = grads[a] @ grads[b] / (norms[a] * norms[b])
                else:
                    cosine[i, j] = 0.0
        return tag, cosine

    def mean(self, kind="tag"):
        """The T×T average of `kind` ("tag" or "cosine") over all measurements."""
        if kind not in ("tag", "cosine"):
            raise ValueError(f"kind must be 'tag' or 'cosine', got {kind!r}.")
        if not self.measurements:
            count = len(self.model.task_names)
            return np.full((count, count), np.nan)
        values = np.array([m[kind] for m in self.measurements], dtype=float)
        with np.errstate(invalid="ignore"):
            counts = np.sum(~np.isnan(values), axis=0)
            return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1),
                            np.nan)

    def _batches(self, names):
        """Fresh batches until every task has labels in one (at most `max_batches`)."""
        if self._iterator is None:
            self._iterator = iter(self.data.repeat().as_numpy_iterator())
        batches, missing = [], set(names)
        while missing and len(batches) < self.max_batches:
            batch = next(self._iterator)
            if self.batch_size:
                batch = tuple(_first_rows(part, self.batch_size) for part in batch)
            batches.append(batch)
            weights = batch[2] if len(batch) > 2 else None
            missing -= set(labelled_tasks(self.model, names, batch[1], weights))
        return batches

    def _lookahead_step(self, variables, values, rows):
        """`step(flat_gradient)` → the variables' `values` after one update Δ of the
        model's optimizer (for the rows in `rows` only, where a variable has an
        entry)."""
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # loss scaling
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        sizes = [value.size for value in values]
        adam = isinstance(optimizer, keras.optimizers.Adam) and not optimizer.amsgrad
        self.lookahead = "adam" if adam else "sgd"
        if adam:
            t = float(keras.ops.convert_to_numpy(optimizer.iterations)) + 1
            b1, b2 = float(optimizer.beta_1), float(optimizer.beta_2)
            alpha = np.float32(lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t))
            indices = [optimizer._get_variable_index(v) for v in variables]
            decay = float(optimizer.weight_decay or 0.0)
            # The parts of the update that do not depend on the task's gradient.
            moments, velocities, decays = [], [], []
            for position, (variable, value, k) in enumerate(zip(variables, values, indices)):
                m, v = optimizer._momentums[k], optimizer._velocities[k]
                if position in rows:  # read those rows only, not the whole table
                    m = keras.ops.take(m, rows[position], axis=0)
                    v = keras.ops.take(v, rows[position], axis=0)
                m = np.asarray(keras.ops.convert_to_numpy(m))
                v = np.asarray(keras.ops.convert_to_numpy(v))
                moments.append(np.float32(b1) * m)
                velocities.append(np.float32(b2) * v)
                use = decay and optimizer._use_weight_decay(variable)
                decays.append(value * np.float32(decay * lr) if use else None)
            c1, c2 = np.float32(1 - b1), np.float32(1 - b2)
            epsilon = np.float32(optimizer.epsilon)

        def step(flat):
            parts = np.split(flat, np.cumsum(sizes)[:-1])
            if not adam:
                return [value - np.float32(lr) * g.reshape(value.shape)
                        for g, value in zip(parts, values)]
            stepped = []
            for g, value, m, v, d in zip(parts, values, moments, velocities, decays):
                # value − (α (m + c₁g) / (√(v + c₂g²) + ε) + d), in place (a few
                # passes over each array instead of a temporary per operation).
                g = g.reshape(value.shape)
                update = c1 * g
                update += m
                update *= alpha
                scale = c2 * g
                scale *= g
                scale += v
                np.sqrt(scale, out=scale)
                scale += epsilon
                update /= scale
                if d is not None:
                    update += d
                stepped.append(np.subtract(value, update, out=update))
            return stepped

        return step


def _token_rows(model, variables, batches):
    """`{position of the token embedding table in variables: the sorted token ids
    of the batches}`; empty when the table is not among the variables."""
    layer = getattr(model.backbone, "token_embedding", None)
    table = getattr(layer, "embeddings", None)
    ids = [np.asarray(x["token_ids"]).ravel() for x, *_ in batches
           if isinstance(x, dict) and "token_ids" in x]
    positions = [k for k, variable in enumerate(variables) if variable is table]
    if table is None or not ids or not positions:
        return {}
    return {positions[0]: np.unique(np.concatenate(ids))}


def _mean_over_batches(model, batches, variables, names, rows=None):
    """`({task: loss}, {task: flat gradient})`, each the mean over the batches
    holding the task's labels (one backward pass per task labelled in a batch)."""
    sums, grads, counts = {}, {}, {}
    for x, y, *rest in batches:
        weights = rest[0] if rest else None
        labelled = labelled_tasks(model, names, y, weights)
        if not labelled:
            continue
        losses, gradients = task_losses_and_gradients(model, x, y, weights, variables,
                                                      names=labelled, rows=rows)
        for task in labelled:
            sums[task] = sums.get(task, 0.0) + losses[task]
            if task in grads:
                grads[task] += gradients[task]
            else:
                grads[task] = gradients[task]
            counts[task] = counts.get(task, 0) + 1
    for task, count in counts.items():
        if count > 1:
            grads[task] /= count
    return {t: sums[t] / counts[t] for t in sums}, grads


def _read(variable, rows=None):
    """A variable's value in numpy (only `rows` of it, where given)."""
    value = variable if rows is None else keras.ops.take(variable, rows, axis=0)
    return np.array(keras.ops.convert_to_numpy(value))


def _batch_losses(model, batches, names, variables=(), values=(), rows=None):
    """{task: mean loss over the batches holding its labels} (inference mode), with
    `variables` taking `values` (`task_loss_values_at`)."""
    sums, counts = {}, {}
    for x, y, *rest in batches:
        weights = rest[0] if rest else None
        labelled = labelled_tasks(model, names, y, weights)
        if not labelled:
            continue
        losses = task_loss_values_at(model, x, y, weights, names, variables, values, rows)
        for task in labelled:
            sums[task] = sums.get(task, 0.0) + losses[task]
            counts[task] = counts.get(task, 0) + 1
    return {t: sums[t] / counts[t] for t in sums}


def _first_rows(part, count):
    if isinstance(part, dict):
        return {key: value[:count] for key, value in part.items()}
    return None if part is None else part[:count]
