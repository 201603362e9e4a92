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


JAX_ROWS = 8
"""On JAX, the examples of a task's part of a batch are padded to a multiple of
this, so that a study compiles a few shapes, not one per label count."""


def task_losses_and_gradients(model, x, y, sample_weight, variables, names=None, rows=None):
    """`({task: loss}, {task: flat numpy gradient})` of each unweighted task loss.

    Runs the model in inference mode (no dropout), so repeated calls on the same
    batch and weights give the same numbers. Each task's loss and gradient are
    taken on the examples that hold its labels (`labelled_parts`): a masked mean
    has the same value and gradient there as on the whole batch, and in a batch
    mixed from several datasets each backward pass then covers its own dataset's
    examples instead of the whole batch. Tasks labelling the same examples share
    one forward pass. A task without a label in the batch gets loss 0 and a zero
    gradient.

    Args:
        names: the tasks to differentiate (default: every task with targets in
            `y`); one backward pass each.
        rows: `{position in variables: row indices}`: the flat gradient keeps only
            those rows of that variable (an embedding table, whose gradient is zero
            outside the rows of the batch's tokens).
    """
    if names is None:
        names = [spec.name for spec in model.tasks if spec.name in y]
    rows = rows or {}
    losses, grads = {}, {}
    for tasks, part in labelled_parts(model, names, x, y, sample_weight):
        part_losses, part_grads = _part_gradients(model, part, variables, tasks)
        losses.update(part_losses)
        grads.update({task: _flatten(g, variables, rows) for task, g in part_grads.items()})
    for name in names:
        if name not in grads:
            losses[name] = 0.0
            grads[name] = _flatten([None] * len(variables), variables, rows)
    return {name: losses[name] for name in names}, {name: grads[name] for name in names}


def label_masks(model, y, sample_weight):
    """`{task: float32 mask}` for the model's tasks in `y`: the task's sample
    weights where given, else where its targets hold a label."""
    weights = sample_weight if isinstance(sample_weight, dict) else {}
    masks = {}
    for name, target in y.items():
        if name not in model.task_names:
            continue
        mask = weights.get(name)
        if mask is None:
            task_type = model.get_task(name).task_type
            mask = task_type.label_present(keras.ops.convert_to_tensor(target))
        masks[name] = np.asarray(keras.ops.convert_to_numpy(mask), "float32")
    return masks


def labelled_tasks(model, names, y, sample_weight):
    """The tasks of `names` with at least one label in the batch."""
    masks = label_masks(model, y, sample_weight)
    return [name for name in names if name in masks and masks[name].any()]


def labelled_parts(model, names, x, y, sample_weight):
    """`[(tasks, (x, y, sample_weight))]`: for each set of `names` that label the
    same examples, the batch cut to those examples (in batch order), with every
    task's mask explicit in `sample_weight` and zero for the tasks outside the set.
    On JAX a part is padded to a multiple of `JAX_ROWS` examples with masked
    copies of its first example."""
    size = int(np.shape(keras.tree.flatten(x)[0])[0])
    masks = label_masks(model, y, sample_weight)
    y = {name: y[name] for name in masks}
    groups = {}
    for name, mask in masks.items():
        labelled = np.flatnonzero(mask.reshape(size, -1).max(axis=1) > 0)
        if name in names and labelled.size:
            groups.setdefault(labelled.tobytes(), (labelled, []))[1].append(name)
    multiple = JAX_ROWS if keras.config.backend() == "jax" else 1
    parts = []
    for labelled, tasks in groups.values():
        count = min(size, -(-labelled.size // multiple) * multiple)
        index = np.concatenate([labelled, np.full(count - labelled.size, labelled[0])])
        keep = (np.arange(count) < labelled.size).astype("float32")

        def cut(value, index=index):
            return np.asarray(value)[index]

        part_weights = {}
        for name, mask in masks.items():
            on = keep if name in tasks else np.zeros_like(keep)
            part_weights[name] = mask[index] * on.reshape((-1,) + (1,) * (mask.ndim - 1))
        part_y = {name: cut(target) for name, target in y.items()}
        parts.append((tasks, (keras.tree.map_structure(cut, x), part_y, part_weights)))
    return parts


def _part_gradients(model, part, variables, tasks):
    """`({task: loss}, {task: [gradient per variable]})` on one part of a batch."""
    x, y, sample_weight = part
    ids = np.array([model.task_names.index(task) for task in tasks], "int32")
    backend = keras.config.backend()
    if backend == "tensorflow":
        function = _tf_task_gradients(model, variables, len(tasks))
        vector, jacobian = function(x, y, sample_weight, ids)
        vector = vector.numpy()
    elif backend == "jax":
        function, others = _jax_task_gradients(model, variables, len(tasks))
        vector, jacobian = function([v.value for v in variables], [v.value for v in others],
                                    x, y, sample_weight, ids)
        vector = np.asarray(vector)
        jacobian = [np.asarray(g) for g in jacobian]  # one transfer, then numpy slices
        jacobian = [[g[i] for g in jacobian] for i in range(len(tasks))]
    elif backend == "torch":
        import torch

        values = model.task_loss_values(y, model(x, training=False), sample_weight)
        params = [v.value for v in variables]
        vector = np.array([float(keras.ops.convert_to_numpy(values[t])) for t in tasks])
        jacobian = [torch.autograd.grad(values[t], params, retain_graph=True, allow_unused=True)
                    for t in tasks]
    else:
        raise ValueError(f"Task gradients are not implemented for the {backend} backend.")
    return ({task: float(vector[i]) for i, task in enumerate(tasks)},
            {task: jacobian[i] for i, task in enumerate(tasks)})


def _flatten(parts, variables, rows):
    """One flat float32 vector of per-variable gradients (`None`: zero), keeping
    only `rows[k]` of variable k where given. A sparse gradient (an embedding's
    `IndexedSlices`) is summed into those rows without building the whole table."""
    flat = []
    for k, (g, v) in enumerate(zip(parts, variables)):
        keep = rows.get(k)
        shape = (len(keep),) + tuple(v.shape[1:]) if keep is not None else tuple(v.shape)
        if g is None:
            flat.append(np.zeros(int(np.prod(shape)), "float32"))
        elif type(g).__name__ == "IndexedSlices":  # TensorFlow's sparse gradient
            indices = np.asarray(g.indices)
            positions = np.searchsorted(keep, indices) if keep is not None else indices
            dense = np.zeros(shape, "float32")
            np.add.at(dense, positions, np.asarray(g.values, "float32"))
            flat.append(dense.ravel())
        else:
            g = np.asarray(keras.ops.convert_to_numpy(g), "float32")
            flat.append((g[keep] if keep is not None else g).ravel())
    return np.concatenate(flat) if flat else np.zeros(0, "float32")


_TF_FUNCTIONS = weakref.WeakKeyDictionary()


def _tf_task_gradients(model, variables, count):
    """`(x, y, sample_weight, ids) → (losses of tasks ids, [per task: gradients of
    variables])` for `count` task ids, a `tf.function` (one graph for all batch
    shapes after the second; eager, each backward pass costs more than a
    training step). Under a distribution strategy it runs in a replica context
    (`_in_one_replica`)."""
    import tensorflow as tf

    names = model.task_names

    def function(x, y, sample_weight, ids):
        with tf.GradientTape(persistent=True) as tape:
            losses = model.task_loss_values(y, model(x, training=False), sample_weight)
            chosen = tf.gather(tf.stack([losses[n] for n in names]), ids)
            parts = [chosen[i] for i in range(count)]
        jacobian = [tape.gradient(part, variables) for part in parts]
        del tape
        return chosen, jacobian

    return _cached_tf_function(model, ("gradients", tuple(id(v) for v in variables), count),
                               function, signature=_open_signature)


def _in_tf_strategy():
    import tensorflow as tf

    return tf.distribute.has_strategy()


def _in_one_replica(function):
    """`function` run in a replica context (a distributed variable's gradient
    cannot be taken outside one), compiled with the strategy's `run` inside. Every
    replica computes the same values on the same batch; the first's are returned."""
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    compiled = tf.function(lambda *args: strategy.run(function, args), reduce_retracing=True)

    def run(*args):
        if not tf.distribute.in_cross_replica_context():
            return function(*args)
        return strategy.experimental_local_results(compiled(*args))[0]

    return run


def _cached_tf_function(model, key, function, signature=None):
    """`function` compiled once per model and `key`. `signature(*args)`: the
    input signature to trace it with, the dimensions that vary between calls left
    open, so that it is traced once per structure of its arguments (a
    `reduce_retracing` function traces for the first shape, then again for a
    relaxed one: about a second each on a small model)."""
    import tensorflow as tf

    distributed = _in_tf_strategy()
    cache = _TF_FUNCTIONS.setdefault(model, {})
    key = (key, distributed and id(tf.distribute.get_strategy()))
    if key not in cache:
        if distributed:
            cache[key] = _in_one_replica(function)
        elif signature is not None:
            cache[key] = _traced_once(function, signature)
        else:
            cache[key] = tf.function(function, reduce_retracing=True)
    return cache[key]


def _traced_once(function, signature):
    import tensorflow as tf

    traced = {}
    fallback = tf.function(function, reduce_retracing=True)

    def run(*args):
        specs = signature(*args)
        if any(spec is None for spec in tf.nest.flatten(specs)):
            return fallback(*args)
        key = repr(specs)
        if key not in traced:
            traced[key] = tf.function(function, input_signature=specs)
        return traced[key](*args)

    return run


def _open_spec(value, open_dims=None):
    """A `tf.TensorSpec` of `value` with its first `open_dims` dimensions (default:
    all) left open and the others kept; None for None."""
    import tensorflow as tf

    if value is None:
        return None
    shape = tuple(value.shape)
    count = len(shape) if open_dims is None else open_dims
    return tf.TensorSpec((None,) * count + shape[count:], tf.as_dtype(value.dtype))


def _open_signature(*args):
    """Every dimension of every argument open."""
    import tensorflow as tf

    return tf.nest.map_structure(_open_spec, args)


_JAX_FUNCTIONS = weakref.WeakKeyDictionary()


def _jax_task_losses_function(model, variables):
    """`(values, other_values, x, y, sample_weight) → every task's loss` (in
    `model.task_names` order), with `variables` taking `values` and the model's
    other variables `other_values` (none is baked into a compiled function), and
    the list of those other variables."""
    ids = {id(v) for v in variables}
    others = [v for v in model.variables if id(v) not in ids]
    names = model.task_names

    def task_losses(values, other_values, x, y, sample_weight):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping):
            losses = model.task_loss_values(y, model(x, training=False), sample_weight)
        return keras.ops.stack([losses[n] for n in names])

    return task_losses, others


def _jax_task_gradients(model, variables, count):
    """A jitted `(values, other_values, x, y, sample_weight, ids) → (losses of tasks
    ids, their Jacobian with respect to variables)` (one compilation per batch
    shape; op by op, JAX would compile every primitive for every new shape) and
    the model's other variables."""
    import jax

    cache = _JAX_FUNCTIONS.setdefault(model, {})
    key = ("gradients", tuple(id(v) for v in variables), count)
    if key not in cache:
        task_losses, others = _jax_task_losses_function(model, variables)

        def chosen(values, other_values, x, y, sample_weight, ids):
            vector = task_losses(values, other_values, x, y, sample_weight)[ids]
            return vector, vector

        def function(values, other_values, x, y, sample_weight, ids):
            jacobian, vector = jax.jacrev(chosen, has_aux=True)(
                values, other_values, x, y, sample_weight, ids)
            return vector, jacobian

        cache[key] = (jax.jit(function), others)
    return cache[key]


def task_loss_values_at(model, x, y, sample_weight, names, variables=(), values=(), rows=None):
    """`{task: float}`, the unweighted task losses of one batch in inference mode,
    with `variables` taking `values` for this computation only: the model's
    variables are neither read into the host nor written (a look-ahead costs one
    compiled forward pass, not an assignment and a restore of every variable).

    Compiled: op by op, the forward pass and loss cost more than a training step;
    on JAX, `predict_on_batch` inside `fit` would reset the trainer's state; under
    a TF distribution strategy it runs in one replica.

    Args:
        rows: `{position in variables: sorted row indices}`: `values[position]` holds
            only those rows of that variable (an embedding table); its other rows
            keep their current value.
    """
    rows = rows or {}
    positions = tuple(sorted(rows))
    indices = [np.asarray(rows[k], "int32")[:, None] for k in positions]
    values = list(values)
    backend = keras.config.backend()
    if backend == "jax":
        indices = _padded_rows(indices, values, positions)
        function, others = _jax_task_losses_at(model, variables, positions)
        bases = [variables[k].value for k in positions]
        vector = np.asarray(function(values, bases, indices, [v.value for v in others],
                                     x, y, sample_weight))
    elif backend == "tensorflow":
        function = _tf_task_losses_at(model, variables, positions)
        vector = function(values, indices, x, y, sample_weight).numpy()
    else:
        vector = keras.ops.convert_to_numpy(
            _losses_at(model, variables, positions)(values, indices, x, y, sample_weight))
    every = dict(zip(model.task_names, vector))
    return {n: float(every[n]) for n in names}


JAX_TABLE_ROWS = 512
"""On JAX, the rows of a table given to `task_loss_values_at` are padded to a
multiple of this (a jitted function compiles once per shape, and the number of
rows a batch reads changes every time)."""


def _padded_rows(indices, values, positions):
    """`indices` padded to a multiple of `JAX_TABLE_ROWS` rows by repeating the
    first row, with `values` (changed in place) padded to match: the same row is
    written twice with the same value, which changes nothing."""
    padded = []
    for k, index in zip(positions, indices):
        extra = -len(index) % JAX_TABLE_ROWS
        padded.append(np.concatenate([index, np.repeat(index[:1], extra, axis=0)]))
        values[k] = np.concatenate([values[k], np.repeat(values[k][:1], extra, axis=0)])
    return padded


def _with_rows(values, bases, indices, positions):
    """`values` with each `values[k]`, k in `positions`, put into its rows of `bases`."""
    values = list(values)
    for k, base, index in zip(positions, bases, indices):
        values[k] = keras.ops.scatter_update(base, index, values[k])
    return values


def _losses_at(model, variables, positions):
    """`(values, indices, x, y, sample_weight) → every task's loss` (in
    `model.task_names` order) with `variables` mapped to `values` (TensorFlow and
    torch: the other variables, and the rows kept, are read where they are)."""
    names = model.task_names

    def losses_at(values, indices, x, y, sample_weight):
        bases = [variables[k].value for k in positions]
        values = _with_rows(values, bases, indices, positions)
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            losses = model.task_loss_values(y, model(x, training=False), sample_weight)
        return keras.ops.stack([losses[n] for n in names])

    return losses_at


def _tf_task_losses_at(model, variables, positions):
    """`_losses_at` as a `tf.function` like `_tf_task_gradients`, traced once: the
    batch's dimensions and the number of rows given are left open."""
    def signature(values, indices, x, y, sample_weight):
        # A variable's value keeps its shape; the rows given of a table vary in number.
        values = [_open_spec(value, open_dims=1 if k in positions else 0)
                  for k, value in enumerate(values)]
        return (values,) + _open_signature(indices, x, y, sample_weight)

    return _cached_tf_function(
        model, ("losses", tuple(id(v) for v in variables), positions),
        _losses_at(model, variables, positions), signature=signature)


def _jax_task_losses_at(model, variables, positions):
    """A jitted `(values, bases, indices, other_values, x, y, sample_weight) →
    every task's loss`, where `bases` are the current values of the variables
    at `positions` (nothing is baked into the compiled function), and the list
    of the model's other variables."""
    import jax

    cache = _JAX_FUNCTIONS.setdefault(model, {})
    key = ("losses", tuple(id(v) for v in variables), positions)
    if key not in cache:
        task_losses, others = _jax_task_losses_function(model, variables)

        def function(values, bases, indices, other_values, x, y, sample_weight):
            values = _with_rows(values, bases, indices, positions)
            return task_losses(values, other_values, x, y, sample_weight)

        cache[key] = (jax.jit(function), others)
    return cache[key]


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
