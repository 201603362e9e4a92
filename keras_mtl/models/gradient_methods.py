"""Gradient methods of a `MultiTaskModel`'s training step: PCGrad and FAMO.

`MultiTaskModel.compute_loss` leaves the step's loss *terms* on the model (each
task's weighted loss, then any extra penalty). With `gradient_method` set, the
model's `train_step` (below, one per backend: the only place the three trainers
differ) takes one gradient per term instead of one of their sum, and combines them:

* **PCGrad** (Yu et al. 2020, "Gradient surgery for multi-task learning"): where two
  tasks' gradients on the shared variables conflict (negative dot product), each is
  projected onto the other's normal plane before they are summed. The projections
  only ever subtract multiples of task gradients, so the result is Σⱼ αⱼ gⱼ, with
  α worked out from the T×T Gram matrix of the gradients (`pcgrad_coefficients`).
  Other variables (the heads) get the plain sum. One backward pass per task; with
  `top_layers` the surgery covers only the top transformer layers and the layers
  below get the plain sum (on TensorFlow and torch the per-task passes then stop at
  those layers; JAX's per-row VJPs still run through the whole model).
* **FAMO** (Liu et al. 2023, "FAMO: Fast adaptive multitask optimization"): the
  step minimises Σᵢ zᵢ log Lᵢ with z = softmax(ξ), i.e. weights
  wᵢ = zᵢ / (Lᵢ Σⱼ zⱼ/Lⱼ) on the raw losses (no per-task gradients), and after
  the step ξ moves so that tasks whose log-loss fell least gain weight:
  ξ ← Adam step on (J_zᵀ δ + γ ξ), δᵢ = log Lᵢ(θₜ) − log Lᵢ(θₜ₊₁) on the same batch.
  One extra forward pass per step.
"""

import keras
from keras import ops

from keras_mtl.checks import check_number
from keras_mtl.errors import ConfigError

METHODS = ("pcgrad", "famo")
_EPSILON = 1e-8


def resolve_gradient_method(method, num_tasks):
    """`None`, or `{"name": ..., options}` from a name or a dict; clear errors."""
    if method is None:
        return None
    if isinstance(method, str):
        method = {"name": method}
    if not isinstance(method, dict) or "name" not in method:
        raise ConfigError(
            f"gradient_method must be one of {list(METHODS)} or a dict with a 'name', got "
            f"{method!r}.")
    method = dict(method)
    name = method["name"]
    if name not in METHODS:
        raise ConfigError(f"Unknown gradient method {name!r}; known: {list(METHODS)}.")
    if num_tasks < 2:
        raise ConfigError(
            f"gradient method {name!r} combines the gradients of several tasks; the model "
            f"has {num_tasks} task.")
    options = {"pcgrad": {"top_layers": None},
               "famo": {"learning_rate": 0.025, "weight_decay": 0.001}}[name]
    unknown = sorted(set(method) - set(options) - {"name"})
    if unknown:
        raise ConfigError(
            f"gradient method {name!r}: unknown option(s) {unknown}; known: {sorted(options)}.")
    resolved = {"name": name, **options, **method}
    if name == "pcgrad" and resolved["top_layers"] is not None:
        check_number(resolved["top_layers"], "gradient method 'pcgrad': top_layers",
                     at_least=1, integer=True)
    if name == "famo":
        check_number(resolved["learning_rate"], "gradient method 'famo': learning_rate",
                     above=0)
        check_number(resolved["weight_decay"], "gradient method 'famo': weight_decay",
                     at_least=0)
    return resolved


def pcgrad_coefficients(gram, step):
    """α such that PCGrad's combined gradient is Σⱼ αⱼ gⱼ, from the Gram matrix
    G = [gᵢ·gⱼ] of the task gradients.

    Each task's gradient, written as coefficients over the task gradients (row i,
    starting at eᵢ), is projected off every other task's gradient it conflicts with,
    visiting them in an order that rotates with `step` (the paper draws a random
    order; a rotating one needs no random state in a compiled step, and with two
    tasks the order does not matter). α is the sum of the rows.
    """
    count = gram.shape[0]
    gram = ops.cast(gram, "float32")
    rows = []
    for i in range(count):
        row = ops.one_hot(ops.convert_to_tensor(i), count, dtype="float32")
        for p in range(count - 1):
            j = ops.mod(ops.cast(step, "int32") + i + 1 + p, count)
            target = ops.one_hot(j, count, dtype="float32")
            dot = ops.sum(row * ops.matmul(gram, target))  # (projected gᵢ)·gⱼ
            norm = ops.sum(target * ops.matmul(gram, target))  # ‖gⱼ‖²
            is_self = ops.cast(ops.equal(j, i), "float32")
            conflict = ops.logical_and(dot < 0, norm > 0)
            factor = ops.where(conflict, dot / ops.maximum(norm, _EPSILON), 0.0)
            row = row - (1.0 - is_self) * factor * target
        rows.append(row)
    return ops.sum(ops.stack(rows), axis=0)


@keras.saving.register_keras_serializable(package="keras_mtl")
class FamoState(keras.layers.Layer):
    """FAMO's task logits ξ and their Adam moments (non-trainable, saved)."""

    def __init__(self, num_tasks, learning_rate=0.025, weight_decay=0.001, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(trainable=False, **kwargs)
        self.num_tasks = int(num_tasks)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        shape = (self.num_tasks,)
        self.logits = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                      name="famo_logits")
        self.moment = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                      name="famo_moment")
        self.velocity = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                        name="famo_velocity")
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="famo_steps")
        self.built = True

    def weights_for(self, losses, present):
        """wᵢ = zᵢ / (Lᵢ Σⱼ zⱼ/Lⱼ) over the tasks `present` in the batch (0 for the
        others), as constants: the step's gradient is Σ wᵢ ∇Lᵢ = ∇ Σ zᵢ log Lᵢ / c."""
        z = ops.softmax(ops.cast(self.logits, "float32"))
        inverse = present * z / (ops.stop_gradient(losses) + _EPSILON)
        return ops.stop_gradient(inverse / ops.maximum(ops.sum(inverse), _EPSILON))

    def updated(self, before, after, present):
        """New `(logits, moment, velocity, steps)` after a step that took the
        `present` tasks' losses from `before` to `after` (one Adam step on ξ)."""
        z = ops.softmax(ops.cast(self.logits, "float32"))
        delta = present * (ops.log(before + _EPSILON) - ops.log(after + _EPSILON))
        gradient = z * delta - z * ops.sum(z * delta) + self.weight_decay * self.logits
        steps = self.steps + 1.0
        moment = 0.9 * self.moment + 0.1 * gradient
        velocity = 0.999 * self.velocity + 0.001 * gradient * gradient
        corrected = (moment / (1.0 - ops.power(0.9, steps))) / (
            ops.sqrt(velocity / (1.0 - ops.power(0.999, steps))) + _EPSILON)
        return self.logits - self.learning_rate * corrected, moment, velocity, steps

    def variables_in_order(self):
        return [self.logits, self.moment, self.velocity, self.steps]

    def get_config(self):
        return {**super().get_config(), "num_tasks": self.num_tasks,
                "learning_rate": self.learning_rate, "weight_decay": self.weight_decay}


def pcgrad_combine(task_gradients, total_gradients, variables, step):
    """PCGrad's gradient on `variables`: Σₜ αₜ gₜ from the T tasks' gradients
    (`task_gradients[t][k]`), plus what the step's other loss terms add (the total
    gradient less the tasks' sum: penalties such as the soft tie)."""
    count = len(task_gradients)
    dense = [[_dense(g, v) for g, v in zip(grads, variables)] for grads in task_gradients]
    flat = ops.stack([ops.concatenate([ops.reshape(g, (-1,)) for g in grads])
                      for grads in dense])
    alpha = pcgrad_coefficients(ops.matmul(flat, ops.transpose(flat)), step)
    combined = []
    for k, variable in enumerate(variables):
        tasks_sum = sum(dense[t][k] for t in range(count))
        weighted = sum(alpha[t] * dense[t][k] for t in range(count))
        combined.append(weighted + _dense(total_gradients[k], variable) - tasks_sum)
    return combined


def _with_pcgrad(gradients, variables, surgery, per_task, step):
    """`gradients` (one per variable of `variables`) with PCGrad's combination of
    `per_task` in place of the surgery variables' entries."""
    position = {id(v): k for k, v in enumerate(variables)}
    total = [gradients[position[id(v)]] for v in surgery]
    gradients = list(gradients)
    for variable, gradient in zip(surgery, pcgrad_combine(per_task, total, surgery, step)):
        gradients[position[id(variable)]] = gradient
    return gradients


def _dense(gradient, variable):
    if gradient is None:
        return ops.zeros(variable.shape, "float32")
    if type(gradient).__name__ == "IndexedSlices":  # TensorFlow's gradient of a gather
        import tensorflow as tf

        gradient = tf.convert_to_tensor(gradient)
    return ops.cast(gradient, "float32")


def check_context(model):
    """Gradient methods combine per-task gradients on one device: refused under a
    distribution strategy (each replica would combine its own share) and with loss
    scaling."""
    method = model.gradient_method["name"]
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            raise ConfigError(
                f"gradient method {method!r} is not supported under a tf.distribute strategy "
                "(each replica would combine only its share of the batch); train without "
                "'training.strategy'.")
    if keras.config.backend() == "jax" and keras.distribution.distribution() is not None:
        raise ConfigError(
            f"gradient method {method!r} is not supported with a keras.distribution "
            "(JAX data parallel); train without 'training.strategy'.")
    if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
        raise ConfigError(
            f"gradient method {method!r} does not support loss scaling (mixed_float16); "
            "use mixed_bfloat16 or float32.")


# === The training step, per backend ===
def train_step(model, *args):
    backend = keras.config.backend()
    if backend == "tensorflow":
        return _tensorflow_step(model, *args)
    if backend == "torch":
        return _torch_step(model, *args)
    if backend == "jax":
        return _jax_step(model, *args)
    raise ValueError(f"Gradient methods are not implemented for the {backend} backend.")


def _unpack(data):
    from keras.src.trainers.data_adapters import data_adapter_utils

    return data_adapter_utils.unpack_x_y_sample_weight(data)


def _batch_size(x):
    return ops.shape(next(i for i in keras.tree.flatten(x) if i is not None))[0]


def _tensorflow_step(model, data):
    import tensorflow as tf

    x, y, sample_weight = _unpack(data)
    variables = model.trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        y_pred = model(x, training=True)
        loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                   training=True)
        model._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
    gradients = tape.gradient(loss, variables)
    if model.gradient_method["name"] == "pcgrad":
        surgery = model.surgery_variables()
        per_task = [tape.gradient(term, surgery) for term in model._step_terms]
        gradients = _with_pcgrad(gradients, variables, surgery, per_task,
                                 model.optimizer.iterations)
    del tape
    model.optimizer.apply_gradients(zip(gradients, variables))
    if model.gradient_method["name"] == "famo":
        _famo_update(model, x, y, sample_weight)
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _torch_step(model, data):
    import torch

    x, y, sample_weight = _unpack(data)
    y_pred = model(x, training=True)
    loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                               training=True)
    model._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
    variables = model.trainable_weights[:]
    pcgrad = model.gradient_method["name"] == "pcgrad"
    gradients = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True,
                                    retain_graph=pcgrad)
    gradients = [_dense(g, v) for g, v in zip(gradients, variables)]
    if pcgrad:
        surgery = model.surgery_variables()
        params = [v.value for v in surgery]
        per_task = [torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
                    for term in model._step_terms]
        gradients = _with_pcgrad(gradients, variables, surgery, per_task,
                                 model.optimizer.iterations.value)
    with torch.no_grad():
        model.optimizer.apply(gradients, variables)
        if not pcgrad:
            _famo_update(model, x, y, sample_weight)
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _famo_update(model, x, y, sample_weight):
    """FAMO's ξ step from the loss change of this step, on the same batch."""
    after = model.task_loss_vector(y, model(x, training=True), sample_weight)[0]
    before, present = model._step_task_losses
    for variable, value in zip(model.famo.variables_in_order(),
                               model.famo.updated(ops.stop_gradient(before), after,
                                                  ops.stop_gradient(present))):
        variable.assign(value)


def _jax_step(model, state, data):
    import jax

    trainable, non_trainable, optimizer_variables, metrics_variables = state
    x, y, sample_weight = _unpack(data)
    pcgrad = model.gradient_method["name"] == "pcgrad"

    def terms(values):
        loss, aux = model.compute_loss_and_updates(
            values, non_trainable, metrics_variables, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_variables)
        before, present = model._step_task_losses
        if pcgrad:  # each task's term, then the rest of the loss (penalties)
            tasks = ops.stack(model._step_terms)
            vector = ops.concatenate([tasks, ops.reshape(loss - ops.sum(tasks), (1,))])
        else:
            vector = ops.reshape(loss, (1,))
        return vector, (aux, before, present)

    # One forward pass, then one backward pass per row (a loop of VJPs: on CPU,
    # jacrev's vmap over the rows was twice as slow).
    vector, backward, (aux, before, present) = jax.vjp(terms, trainable, has_aux=True)
    rows = [backward(ops.one_hot(r, vector.shape[0], dtype=vector.dtype))[0]
            for r in range(vector.shape[0])]
    unscaled_loss, y_pred, non_trainable, metrics_variables = aux
    gradients = [sum(row[k] for row in rows) for k in range(len(trainable))]
    if pcgrad:
        variables = model.trainable_variables
        position = {id(v): k for k, v in enumerate(variables)}
        surgery = model.surgery_variables()
        count = len(model.tasks)
        per_task = [[rows[t][position[id(v)]] for v in surgery] for t in range(count)]
        step = optimizer_variables[[id(v) for v in model.optimizer.variables].index(
            id(model.optimizer.iterations))]
        gradients = _with_pcgrad(gradients, variables, surgery, per_task, step)
    trainable, optimizer_variables = model.optimizer.stateless_apply(
        optimizer_variables, gradients, trainable)
    if not pcgrad:
        y_after, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        after = model.task_loss_vector(y, y_after, sample_weight)[0]
        famo = model.famo.variables_in_order()
        ids = [id(v) for v in model.non_trainable_variables]
        mapping = list(zip(model.non_trainable_variables, non_trainable))
        with keras.StatelessScope(state_mapping=mapping):
            values = model.famo.updated(before, after, present)
        non_trainable = list(non_trainable)
        for variable, value in zip(famo, values):
            non_trainable[ids.index(id(variable))] = value
    logs, metrics_variables = model._update_metrics_variables(
        metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
    return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)
