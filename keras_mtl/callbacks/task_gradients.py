"""Per-task gradients of a `MultiTaskModel` on one batch, on every backend.

`keras.ops` has no gradient op, and callbacks never see the training batch, so
GradNorm and the interference diagnostics compute task gradients themselves on a
held batch. This is the one place with a per-backend branch for gradients.
"""

import weakref

import keras
import numpy as np


def shared_variables(model, scope="last_layer"):
    """The shared encoder variables gradients are taken at.

    `"last_layer"`: the last transformer layer that all tasks share (GradNorm's
    "last shared layer"; under partial sharing, the one below the private
    copies); `"backbone"`: every trainable backbone variable.
    """
    backbone = model.backbone
    if scope == "backbone":
        return list(backbone.trainable_variables)
    if scope != "last_layer":
        raise ValueError(f"scope must be 'last_layer' or 'backbone', got {scope!r}.")
    layers = getattr(model, "shared_transformer_layers", None)
    if layers is None:
        layers = getattr(backbone, "transformer_layers", None)
    if not layers:
        raise ValueError(
            "The model has no shared transformer layer; use scope='backbone'."
        )
    return list(layers[-1].trainable_variables)


def task_losses_and_gradients(model, x, y, sample_weight, variables, names=None, rows=None):
    """`({task: loss}, {task: flat numpy gradient})` of each unweighted task loss.

    Runs the model in inference mode (no dropout), so repeated calls on the same
    batch and weights give the same numbers.

    Args:
        names: the tasks to differentiate (default: every task with targets in
            `y`); one backward pass each.
        rows: `{position in variables: row indices}`: the flat gradient keeps only
            those rows of that variable (an embedding table, whose gradient is zero
            outside the rows of the batch's tokens).
    """
    if names is None:
        names = [spec.name for spec in model.tasks if spec.name in y]
    names = list(names)
    rows = rows or {}
    backend = keras.config.backend()
    if backend == "tensorflow":
        function = _tf_task_gradients(model, variables, tuple(names))
        vector, jacobian = function(x, y, sample_weight)
        losses = {n: vector[i] for i, n in enumerate(names)}
        grads = {n: jacobian[i] for i, n in enumerate(names)}
    elif backend == "jax":
        function, others, _ = _jax_task_gradients(model, variables, tuple(names))
        vector, jacobian = function([v.value for v in variables], [v.value for v in others],
                                    x, y, sample_weight)
        vector = np.asarray(vector)
        jacobian = [np.asarray(g) for g in jacobian]  # one transfer, then numpy slices
        losses = {n: vector[i] for i, n in enumerate(names)}
        grads = {n: [g[i] for g in jacobian] for i, n in enumerate(names)}
    elif backend == "torch":
        import torch

        y_pred = model(x, training=False)
        losses = model.task_loss_values(y, y_pred, sample_weight)
        params = [v.value for v in variables]
        grads = {
            n: torch.autograd.grad(losses[n], params, retain_graph=True, allow_unused=True)
            for n in names
        }
    else:
        raise ValueError(f"Task gradients are not implemented for the {backend} backend.")

    def flatten(parts):
        flat = []
        for k, (g, v) in enumerate(zip(parts, variables)):
            shape = (len(rows[k]),) + tuple(v.shape[1:]) if k in rows else v.shape
            if g is None:
                flat.append(np.zeros(int(np.prod(shape)), "float32"))
                continue
            g = np.asarray(keras.ops.convert_to_numpy(g), "float32")
            flat.append((g[rows[k]] if k in rows else g).ravel())
        return np.concatenate(flat)

    loss_values = {n: float(keras.ops.convert_to_numpy(losses[n])) for n in names}
    return loss_values, {n: flatten(grads[n]) for n in names}


_TF_FUNCTIONS = weakref.WeakKeyDictionary()


def _tf_task_gradients(model, variables, names):
    """`(x, y, sample_weight) → (task losses, [per task: gradients of variables])`,
    a `tf.function` (one graph for all batch shapes after the second; eager, each
    backward pass costs more than a training step). Under a distribution strategy
    it stays eager: there the variables are mirrored, and the graph is not tested."""
    import tensorflow as tf

    def function(x, y, sample_weight):
        with tf.GradientTape(persistent=True) as tape:
            losses = model.task_loss_values(y, model(x, training=False), sample_weight)
        jacobian = [tape.gradient(losses[n], variables) for n in names]
        del tape
        return tf.stack([losses[n] for n in names]), jacobian

    if tf.distribute.has_strategy():
        return function
    cache = _TF_FUNCTIONS.setdefault(model, {})
    key = (tuple(id(v) for v in variables), names)
    if key not in cache:
        cache[key] = tf.function(function, reduce_retracing=True)
    return cache[key]


_JAX_FUNCTIONS = weakref.WeakKeyDictionary()


def _jax_task_gradients(model, variables, names):
    """A jitted `(values, other_values, x, y, sample_weight) → (task losses, their
    Jacobian with respect to `variables`)` (one compilation per batch shape; op by op,
    JAX would compile every primitive for every new shape), the model's other
    variables, whose values it takes as arguments so that none is baked in, and the
    jitted task losses alone."""
    import jax

    cache = _JAX_FUNCTIONS.setdefault(model, {})
    key = (tuple(id(v) for v in variables), names)
    if key not in cache:
        ids = {id(v) for v in variables}
        others = [v for v in model.variables if id(v) not in ids]

        def task_losses(values, other_values, x, y, sample_weight):
            mapping = list(zip(variables, values)) + list(zip(others, other_values))
            with keras.StatelessScope(state_mapping=mapping):
                losses = model.task_loss_values(y, model(x, training=False), sample_weight)
            vector = keras.ops.stack([losses[n] for n in names])
            return vector, vector

        def function(values, other_values, x, y, sample_weight):
            jacobian, vector = jax.jacrev(task_losses, has_aux=True)(
                values, other_values, x, y, sample_weight)
            return vector, jacobian

        cache[key] = (jax.jit(function), others, jax.jit(task_losses))
    return cache[key]


def task_loss_values_now(model, x, y, sample_weight, names):
    """`{task: float}`, the unweighted task losses of one batch in inference mode,
    through a compiled forward pass (an op-by-op call costs more than a training
    step; on JAX, `predict_on_batch` inside `fit` would reset the trainer's state)."""
    backend = keras.config.backend()
    if backend == "jax":
        _, others, losses = _jax_task_gradients(model, [], tuple(names))
        vector = np.asarray(losses([], [v.value for v in others], x, y, sample_weight)[0])
        return {n: float(vector[i]) for i, n in enumerate(names)}
    y_pred = model.predict_on_batch(x) if backend == "tensorflow" else model(x, training=False)
    losses = model.task_loss_values(y, y_pred, sample_weight)
    return {n: float(keras.ops.convert_to_numpy(losses[n])) for n in names}


def first_batch(data):
    """`(x, y, sample_weight)` numpy arrays from a batch tuple or a `tf.data` dataset."""
    if hasattr(data, "take") and hasattr(data, "element_spec"):
        data = next(iter(data.take(1)))
    if not isinstance(data, (tuple, list)) or len(data) < 2:
        raise ValueError(
            "gradient_data must be a tf.data.Dataset of (x, y, sample_weight) or one "
            "such batch."
        )
    x, y = data[0], data[1]
    sample_weight = data[2] if len(data) > 2 else None

    def to_numpy(tree):
        if tree is None:
            return None
        return {k: np.asarray(v) for k, v in tree.items()}

    return to_numpy(x), to_numpy(y), to_numpy(sample_weight)
