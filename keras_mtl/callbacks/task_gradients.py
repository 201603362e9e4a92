"""Per-task gradients of a `MultiTaskModel` on one batch, on every backend.

`keras.ops` has no gradient op, and callbacks never see the training batch, so
GradNorm and the interference diagnostics compute task gradients themselves on a
held batch. This is the one place with a per-backend branch for gradients.
"""

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


def task_losses_and_gradients(model, x, y, sample_weight, variables):
    """`({task: loss}, {task: flat numpy gradient})` of each unweighted task loss.

    Runs the model in inference mode (no dropout), so repeated calls on the same
    batch and weights give the same numbers.
    """
    names = [spec.name for spec in model.tasks if spec.name in y]
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            y_pred = model(x, training=False)
            losses = model.task_loss_values(y, y_pred, sample_weight)
        grads = {n: tape.gradient(losses[n], variables) for n in names}
        del tape
    elif backend == "jax":
        import jax

        values = [v.value for v in variables]

        def task_loss(values, name):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                y_pred = model(x, training=False)
                return model.task_loss_values(y, y_pred, sample_weight)[name]

        losses, grads = {}, {}
        for n in names:
            losses[n], grads[n] = jax.value_and_grad(task_loss)(values, n)
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
        return np.concatenate(
            [
                np.zeros(int(np.prod(v.shape)), "float32")
                if g is None
                else np.asarray(keras.ops.convert_to_numpy(g), "float32").ravel()
                for g, v in zip(parts, variables)
            ]
        )

    loss_values = {n: float(keras.ops.convert_to_numpy(losses[n])) for n in names}
    return loss_values, {n: flatten(grads[n]) for n in names}


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
