"""Training throughput of keras_mtl on ATIS, side by side with hand-written baselines.

What is measured
----------------
Examples per second of optimizer steps (forward, backward, update) on real ATIS
training batches, for intent classification + slot filling with the
all-MiniLM-L6-v2 checkpoint truncated to `--num-layers` layers. Every configuration
trains on `--warmup` batches first (excluded from timing), plus one batch of every
padded shape it will meet while measured, so that JAX and TensorFlow compile each
shape before the clock starts. The clock then runs around `--steps` steps only; data
preparation (tokenization, padding, conversion to arrays) happens beforehand, and
examples are counted by the actual size of each measured batch.

Configurations (each in its own subprocess, one after the other, because the Keras
backend is fixed per process):

* ``mtl-bucketed-<backend>``: `MultiTaskModel` on jax, tensorflow and torch, fed by
  `make_dataset(..., bucket_step=--bucket-step)`: length-grouped batches, each padded
  to its longest text rounded up to a multiple of the step (default `auto`, the
  library's: 8 on JAX, 1 on TensorFlow and torch).
* ``mtl-fixed-<backend>``: the same, with every batch padded to
  `--fixed-length` (48) sub-words (`bucket_step=None`), to show the bucketing gain.
* ``plain-<backend>``: the same graph written as a plain Keras functional model
  (keras_hub `BertBackbone` from the same checkpoint, dropout + Dense softmax on
  [CLS] for intents, dropout + Dense softmax on `sequence_output` for slots),
  compiled with plain `sparse_categorical_crossentropy` losses and the same
  accuracy metrics, and trained on exactly the batches keras_mtl gets (the
  `make_dataset` output, with its sample weights masking padding). The ratio
  gives keras_mtl's overhead. ``plain-best`` runs it on the backend where keras_mtl
  (bucketed) was fastest in this invocation.
* ``mtl-bf16-<backend>``: keras_mtl bucketed under Keras' `mixed_bfloat16` policy
  (bf16 compute, fp32 weights); ``mtl-xla-tensorflow``: keras_mtl bucketed with
  `jit_compile=True` on TensorFlow.
* ``hf-torch``: a Hugging Face transformers PyTorch loop written the way that
  library recommends: `BertModel` + two `nn.Linear` heads on logits,
  `CrossEntropyLoss(ignore_index=-100)`, `AdamW`, batches of shuffled ATIS texts
  tokenized by `BertTokenizerFast` (words given with `is_split_into_words=True`,
  labels on first sub-words via `word_ids()`) and padded to their longest sequence.
* ``hf-grouped``: the same loop fed the way the Trainer's documented
  `group_by_length=True` feeds it (transformers' `LengthGroupedSampler`: shuffled
  mega-batches sorted by length), still padded to each batch's longest: the
  strongest Hugging Face configuration on a CPU, and the one every ratio is taken
  against. ``hf-grouped-bf16`` adds `torch.autocast(bfloat16)` (the Trainer's
  `bf16=True`).
* ``floor-tensorflow``: not a training run but a bound on one: for each measured
  keras_mtl batch (TensorFlow, bf16, the default's shapes), the step's matrix products
  alone (forward and both gradients of Q, K, V, attention output and feed-forward
  products, and the two attention products, per layer, chained as in the model, in
  bf16), then keras_mtl's fused AdamW update alone on the model's variables. No
  implementation that keeps these products at these shapes and this optimizer, and
  updates after the gradients as Keras and the HF loop do, can train faster on this
  machine than this figure; its ratio to the best HF loop says what speed-up is
  reachable at all. The same record also gives the bound with the
  products at the bf16 peak rate (``peak_rate_examples_per_s``).
* ``peak-<backend>``: the machine's matrix-product peak (2048 x 2048 products, fp32
  and bf16). Each training run's useful work is 6 FLOPs per layer weight per real
  (non-padding) token, reported in GFLOP/s and as a fraction of the best fp32 peak.

All models use batch size `--batch-size`, learning rate 5e-5, dropout 0.1 and AdamW
with weight decay 0.01: keras_mtl the optimizer `keras-mtl train` builds
(`keras_mtl.optimizers.AdamW`, fused into one XLA program per variable on
TensorFlow, where `MultiTaskModel` also fuses GELU, layer norm and dropout while training;
``mtl-bf16-unfused-tensorflow`` turns both off, with Keras' own AdamW, to show what
they are worth; on PyTorch the same class runs PyTorch's fused AdamW kernel, and
``mtl-unfused-torch`` trains with Keras' own AdamW instead), plain Keras Keras' `AdamW`, and the transformers loop
`torch.optim.AdamW(fused=True)`, the Trainer's default optimizer
(`adamw_torch_fused`) with torch >= 2.8. PyTorch
(keras on torch and the transformers loop) runs with `torch.set_num_threads(--threads)`;
TensorFlow and JAX use their default thread pools. On a CPU-only machine Keras does
not use XLA on TensorFlow (its `jit_compile="auto"` rule); JAX always compiles.

How to run
----------
From the repository root, with the dev environment active::

    python benchmarks/train_throughput.py --num-layers 6

The transformers baseline needs `pip install transformers` (configurations whose
libraries are missing are reported as failed, the others still run). Choose a subset
with `--configs`, a comma-separated list of configuration names or prefixes, e.g.
``--configs mtl-bucketed,plain-jax,hf`` (`all` runs every configuration, with
keras_mtl and plain Keras on all three backends; the default runs keras_mtl
bucketed, bf16 and XLA, plain Keras on the fastest backend, every HF loop and the
peaks). Results are printed as a Markdown
table and written as JSON to `--output`. Timings are only meaningful on an otherwise
idle machine; `--repeats N` times the measured batches N times and keeps the best.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("jax", "tensorflow", "torch")
PRESET = "minilm"
LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01
DROPOUT = 0.1
# Sub-word positions without a label (padding, [CLS]/[SEP], non-first sub-words)
# in the keras_mtl pipeline, and in PyTorch's CrossEntropyLoss convention.
KERAS_MTL_MISSING_ID = -1
TORCH_IGNORE_INDEX = -100
DEFAULT_CONFIGS = "mtl-bucketed,mtl-bf16,mtl-xla,plain-best,hf,peak"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "train_throughput.json"


# === Configurations ===
def all_configurations():
    """Every configuration, by name, in the order they run."""
    configs = {}
    for backend in BACKENDS:
        configs[f"mtl-bucketed-{backend}"] = {
            "model": "keras_mtl", "backend": backend, "padding": "bucketed"
        }
    for backend in BACKENDS:
        configs[f"mtl-fixed-{backend}"] = {
            "model": "keras_mtl", "backend": backend, "padding": "fixed"
        }
    for backend in BACKENDS:
        configs[f"plain-{backend}"] = {
            "model": "plain_keras", "backend": backend, "padding": "bucketed"
        }
    for backend in BACKENDS:
        configs[f"mtl-bf16-{backend}"] = {
            "model": "keras_mtl", "backend": backend, "padding": "bucketed", "precision": "bf16"
        }
    configs["mtl-xla-tensorflow"] = {
        "model": "keras_mtl", "backend": "tensorflow", "padding": "bucketed", "jit_compile": True
    }
    configs["mtl-bf16-unfused-tensorflow"] = {
        "model": "keras_mtl", "backend": "tensorflow", "padding": "bucketed", "precision": "bf16",
        "fused": False,
    }
    configs["mtl-unfused-torch"] = {
        "model": "keras_mtl", "backend": "torch", "padding": "bucketed", "fused": False,
    }
    configs["hf-torch"] = {"model": "hf_transformers", "backend": "torch", "padding": "dynamic"}
    configs["hf-grouped"] = {"model": "hf_transformers", "backend": "torch", "padding": "grouped"}
    configs["hf-grouped-bf16"] = {
        "model": "hf_transformers", "backend": "torch", "padding": "grouped", "precision": "bf16"
    }
    configs["floor-tensorflow"] = {
        "model": "step_floor", "backend": "tensorflow", "padding": "bucketed", "precision": "bf16"
    }
    for backend in BACKENDS:
        configs[f"peak-{backend}"] = {"model": "matmul_peak", "backend": backend, "padding": "-"}
    return configs


def select_configurations(spec):
    """Names chosen by `--configs`, in run order; `plain-best` is kept as is.

    Each comma-separated token is `all`, `plain-best`, or a prefix of configuration
    names (`mtl-fixed` selects the three `mtl-fixed-*`).
    """
    names = list(all_configurations())
    chosen = set()
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token == "all":
            chosen.update(names)
        elif token == "plain-best":
            chosen.add(token)
        else:
            matches = [name for name in names if name.startswith(token)]
            if not matches:
                raise SystemExit(
                    f"--configs: {token!r} matches no configuration; choose among "
                    f"{names + ['plain-best', 'all']}."
                )
            chosen.update(matches)
    if "plain-best" in chosen and any(n.startswith("plain-") and n in chosen for n in names):
        # Plain Keras already runs on explicitly chosen backends.
        chosen.discard("plain-best")
    ordered = [name for name in names if name in chosen]
    if "plain-best" in chosen:
        # After every keras_mtl run, whose timings pick the backend.
        position = max(
            [i + 1 for i, name in enumerate(ordered) if name.startswith("mtl-")], default=0
        )
        ordered.insert(position, "plain-best")
    return ordered


def describe(config, args):
    """Human-readable name of a configuration for the table."""
    extra = ""
    if config.get("precision") == "bf16":
        extra += ", mixed bf16"
    if config.get("jit_compile"):
        extra += ", XLA"
    if config.get("fused", True) is False:
        # PyTorch fuses only the optimizer; its layers are Keras' either way.
        fused_layers = ", GELU, layer norm, dropout" if config["backend"] == "tensorflow" else ""
        extra += f", unfused (Keras' AdamW{fused_layers})"
    if config["model"] == "keras_mtl":
        if config["padding"] == "bucketed":
            step = args.bucket_step
            if step == "auto":
                step = 8 if config["backend"] == "jax" else 1
            return f"keras_mtl, length-grouped (step {step}, max {args.sequence_length}){extra}"
        return f"keras_mtl, fixed padding ({args.fixed_length}){extra}"
    if config["model"] == "plain_keras":
        return "plain Keras functional, same batches"
    if config["model"] == "matmul_peak":
        return "matmul peak (2048², fp32 and bf16)"
    if config["model"] == "step_floor":
        return "bound: the default's matrix products and optimizer alone, bf16"
    if config["padding"] == "grouped":
        return f"HF transformers loop, group_by_length sampler{extra}"
    return "HF transformers loop, shuffled, padded to longest"


# === Shared by the child processes ===
def split_warmup(batches, warmup, shape_of):
    """Warm-up batches and measured batches.

    The first `warmup` batches warm up; then the first measured batch of every shape
    not seen yet is added to the warm-up (it is trained on twice), so that no
    compilation or retracing falls inside the timed steps.
    """
    warm, measured = list(batches[:warmup]), list(batches[warmup:])
    seen = {shape_of(batch) for batch in warm}
    for batch in measured:
        shape = shape_of(batch)
        if shape not in seen:
            warm.append(batch)
            seen.add(shape)
    return warm, measured


def keras_batch_shape(batch):
    """Padded shape of a `make_dataset` batch `(x, y, sample_weight)`."""
    return batch[0]["token_ids"].shape


def keras_batch_size(batch):
    return len(batch[0]["token_ids"])


def padding_summary(warm, measured_ids, real_token_counts):
    """Step counts and how much of the measured batches was padding."""
    import numpy as np

    return {
        "warmup_steps": len(warm),
        "measured_steps": len(measured_ids),
        "padded_shapes": sorted({int(t.shape[1]) for t in measured_ids}),
        "mean_padded_length": float(np.mean([t.shape[1] for t in measured_ids])),
        "real_tokens": int(sum(real_token_counts)),
        "real_tokens_fraction": float(
            sum(real_token_counts) / sum(t.size for t in measured_ids)
        ),
    }


def time_steps(train_step, measured, batch_size_of, repeats, synchronize=None):
    """Wall-clock seconds of the measured steps (best of `repeats` passes)."""
    passes = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in measured:
            train_step(batch)
        if synchronize is not None:
            synchronize()
        passes.append(time.perf_counter() - start)
    examples = sum(batch_size_of(batch) for batch in measured)
    return {
        "examples": examples,
        "seconds": min(passes),
        "seconds_per_pass": passes,
        "examples_per_s": examples / min(passes),
    }


def fingerprint(arrays):
    """Short hash of the measured token ids: equal hashes mean identical batches."""
    digest = hashlib.sha1()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(array.astype("int32").tobytes())
    return digest.hexdigest()[:12]


def make_tasks(train):
    from keras_mtl import TaskSpec

    return [
        TaskSpec("intent", "classification", labels=train.label_set("intent"), pooling="cls"),
        TaskSpec("slots", "token_classification", labels=train.label_set("slots")),
    ]


# === Child: Keras (keras_mtl or plain functional model) ===
def build_plain_keras_model(path, tasks, num_layers):
    """The keras_mtl graph written by hand: BERT backbone + two softmax heads."""
    import keras
    import keras_hub

    intent, slots = tasks
    backbone = keras_hub.models.BertBackbone.from_preset(path, num_layers=num_layers)
    inputs = backbone.input
    features = backbone(inputs)
    sequence_output = features["sequence_output"]
    cls_vector = sequence_output[:, 0, :]
    # Dropout before each output layer, as in keras_mtl's default heads, so that the
    # two models do the same work.
    outputs = {
        "intent": keras.layers.Dense(len(intent.labels), activation="softmax", name="intent")(
            keras.layers.Dropout(DROPOUT)(cls_vector)
        ),
        "slots": keras.layers.Dense(len(slots.labels), activation="softmax", name="slots")(
            keras.layers.Dropout(DROPOUT)(sequence_output)
        ),
    }
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY),
        loss={
            "intent": "sparse_categorical_crossentropy",
            "slots": "sparse_categorical_crossentropy",
        },
        # keras_mtl compiles a masked accuracy per task by default: same here.
        weighted_metrics={
            "intent": ["sparse_categorical_accuracy"],
            "slots": ["sparse_categorical_accuracy"],
        },
    )
    return model


def build_keras_run(config, args):
    """The compiled keras_mtl or plain Keras model of `config`, and the
    `make_dataset` batches (warm-up first) it trains on, as numpy arrays."""
    import keras
    import numpy as np

    from keras_mtl import MultiTaskModel, MultiTaskPreprocessor, make_dataset
    from keras_mtl.config import DEFAULTS
    from keras_mtl.datasets import load_atis
    from keras_mtl.presets import resolve_preset
    from keras_mtl.training import make_optimizer

    if config["backend"] == "torch":
        import torch

        torch.set_num_threads(args.threads)
    if config.get("precision") == "bf16":
        keras.config.set_dtype_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    train = load_atis()["train"]
    tasks = make_tasks(train)
    fixed = config["padding"] == "fixed"
    sequence_length = args.fixed_length if fixed else args.sequence_length
    path = resolve_preset(PRESET)

    if config["model"] == "keras_mtl":
        model = MultiTaskModel.from_preset(
            PRESET, tasks, num_layers=args.num_layers, sequence_length=sequence_length
        )
        if config.get("fused", True) is False:
            # keras_mtl as it was before its fused optimizer and layers.
            import contextlib

            from keras_mtl.models import multi_task_model

            multi_task_model.fused_training_ops = lambda model: contextlib.nullcontext()
            optimizer = keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        else:
            # `keras-mtl train`'s own optimizer (keras_mtl's fused AdamW), without
            # the warm-up so that the learning rate is HF's from the first step.
            optimizer = make_optimizer(
                {**DEFAULTS["training"], "learning_rate": LEARNING_RATE,
                 "weight_decay": WEIGHT_DECAY, "warmup_ratio": 0.0},
                steps_per_epoch=args.warmup + args.steps,
            )
        model.compile(optimizer, jit_compile=config.get("jit_compile", "auto"))
        preprocessor = model.preprocessor
    else:
        import keras_hub

        model = build_plain_keras_model(path, tasks, args.num_layers)
        # Only used to build the very batches keras_mtl trains on.
        preprocessor = MultiTaskPreprocessor(
            keras_hub.models.BertTokenizer.from_preset(path), tasks, sequence_length
        )

    dataset = make_dataset(
        preprocessor,
        train,
        batch_size=args.batch_size,
        shuffle=True,
        seed=0,
        bucket_step=None if fixed else args.bucket_step,
    )
    batches = []
    for x, y, sample_weight in dataset.repeat().take(args.warmup + args.steps).as_numpy_iterator():
        if config["model"] == "plain_keras":
            # Plain Keras losses reject the -1 "no label" ids; those positions
            # already weigh 0, so any valid id will do.
            y = {task: np.maximum(target, 0) for task, target in y.items()}
        batches.append((x, y, sample_weight))
    return model, batches


def run_keras(config, args):
    """Trains keras_mtl or the plain model on pre-materialized `make_dataset` batches."""
    import keras

    model, batches = build_keras_run(config, args)

    def train_step(batch):
        x, y, sample_weight = batch
        model.train_on_batch(x, y, sample_weight=sample_weight)

    warm, measured = split_warmup(batches, args.warmup, keras_batch_shape)
    for batch in warm:
        train_step(batch)
    # train_on_batch converts the logs to numpy, so each step has finished (JAX
    # dispatches asynchronously) when it returns.
    result = time_steps(train_step, measured, keras_batch_size, args.repeats)
    token_ids = [batch[0]["token_ids"] for batch in measured]
    result.update(
        **padding_summary(
            warm, token_ids, [int(batch[0]["padding_mask"].sum()) for batch in measured]
        ),
        dtype_policy=keras.config.dtype_policy().name,
        optimizer_class=f"{type(model.optimizer).__module__}.{type(model.optimizer).__name__}",
        batch_fingerprint=fingerprint(token_ids),
        jit_compile=bool(getattr(model, "jit_compile", False)),
        versions=library_versions(),
    )
    return result


# === Child: what this machine allows at most (TensorFlow) ===
def run_floor(config, args):
    """Seconds of the default's matrix products and optimizer update alone.

    For each measured batch (the shapes keras_mtl trains on by default), one
    compiled TensorFlow function runs every product of a training step's backbone
    in bf16: per layer the Q, K, V, attention-output and two feed-forward products
    with both of their gradients (the input's and the weight's), and the two
    attention products (scores, context) with their four gradients, each layer's
    output feeding the next as in the model. The heads, softmax, layer norms,
    GELU, dropout, casts and the embedding are left out, so the figure bounds any
    implementation that updates after its gradients. The optimizer is timed apart: keras_mtl's AdamW on
    the model's trainable variables with dense gradients, as in a training step.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    model, batches = build_keras_run({**config, "model": "keras_mtl"}, args)
    backbone = model.backbone
    hidden, heads = backbone.hidden_dim, backbone.num_heads
    intermediate, layers = backbone.intermediate_dim, backbone.num_layers
    head_dim = hidden // heads
    rng = np.random.default_rng(0)

    def tensor(*shape):
        return tf.constant(rng.standard_normal(shape, dtype=np.float32) * 0.05, tf.bfloat16)

    weights = [
        {"q": tensor(hidden, hidden), "k": tensor(hidden, hidden), "v": tensor(hidden, hidden),
         "o": tensor(hidden, hidden), "in": tensor(hidden, intermediate),
         "out": tensor(intermediate, hidden)}
        for _ in range(layers)
    ]

    def dense(x, w, saved):
        saved.append((x, w))
        return tf.matmul(x, w)

    def dense_grad(dy, x, w):
        # The input's and the weight's gradients of x @ w.
        return tf.matmul(dy, w, transpose_b=True), tf.matmul(x, dy, transpose_a=True)

    @tf.function
    def products(x, batch):
        length = tf.shape(x)[0] // batch
        def split_heads(t):
            return tf.transpose(tf.reshape(t, [batch, length, heads, head_dim]), [0, 2, 1, 3])
        def merge_heads(t):
            return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [-1, hidden])
        saved, attention = [], []
        for w in weights:
            q = split_heads(dense(x, w["q"], saved))
            k = split_heads(dense(x, w["k"], saved))
            v = split_heads(dense(x, w["v"], saved))
            scores = tf.matmul(q, k, transpose_b=True)
            context = tf.matmul(scores, v)
            attention.append((q, k, v, scores))
            hidden_states = dense(merge_heads(context), w["o"], saved)
            x = dense(dense(hidden_states, w["in"], saved), w["out"], saved)
        weight_grads = []
        dy = x
        for layer in reversed(range(layers)):
            q, k, v, scores = attention[layer]
            layer_saved = saved[6 * layer:6 * layer + 6]
            for x_in, w in reversed(layer_saved[3:]):  # out, in, o
                dy, dw = dense_grad(dy, x_in, w)
                weight_grads.append(dw)
            d_context = split_heads(dy)
            d_scores = tf.matmul(d_context, v, transpose_b=True)
            d_v = tf.matmul(scores, d_context, transpose_a=True)
            d_q = tf.matmul(d_scores, k)
            d_k = tf.matmul(d_scores, q, transpose_a=True)
            dx = 0
            for d_out, (x_in, w) in zip((d_q, d_k, d_v), layer_saved[:3]):
                d_in, dw = dense_grad(merge_heads(d_out), x_in, w)
                weight_grads.append(dw)
                dx = dx + d_in
            dy = dx
        return dy, weight_grads

    variables = model.trainable_variables
    gradients = [
        tf.constant(rng.standard_normal(v.shape, dtype=np.float32) * 1e-3) for v in variables
    ]

    model.optimizer.build(variables)

    @tf.function
    def update():
        model.optimizer.apply(gradients, variables)

    inputs = {}
    for batch in batches:
        shape = keras_batch_shape(batch)
        if shape not in inputs:
            inputs[shape] = (tensor(shape[0] * shape[1], hidden), tf.constant(shape[0]))

    def run_products(batch):
        dx, _ = products(*inputs[keras_batch_shape(batch)])
        dx[:1, :1].numpy()

    warm, measured = split_warmup(batches, args.warmup, keras_batch_shape)
    for batch in warm:
        run_products(batch)
    for _ in range(3):
        update()

    matmuls = time_steps(run_products, measured, keras_batch_size, args.repeats)
    optimizer_seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in measured:
            update()
        model.optimizer.iterations.numpy()
        optimizer_seconds.append(time.perf_counter() - start)
    token_ids = [batch[0]["token_ids"] for batch in measured]
    real_tokens = [int(batch[0]["padding_mask"].sum()) for batch in measured]
    seconds = matmuls["seconds"] + min(optimizer_seconds)
    # The same bound with every product at the bf16 matmul peak measured here.
    peak = run_peak({"backend": "tensorflow"}, args)["bf16_gflops"]
    product_flops = 6 * MATMUL_PARAMS_PER_LAYER * layers * sum(t.size for t in token_ids)
    product_flops += sum(
        6 * 2 * t.shape[0] * heads * t.shape[1] ** 2 * head_dim * layers for t in token_ids
    )
    peak_rate_seconds = product_flops / (peak * 1e9) + min(optimizer_seconds)
    return {
        "examples": matmuls["examples"],
        "seconds": seconds,
        "examples_per_s": matmuls["examples"] / seconds,
        "matmul_seconds": matmuls["seconds"],
        "matmul_seconds_per_pass": matmuls["seconds_per_pass"],
        "optimizer_seconds": min(optimizer_seconds),
        "optimizer_seconds_per_pass": optimizer_seconds,
        "matmul_gflops": product_flops / matmuls["seconds"] / 1e9,
        "bf16_peak_gflops": peak,
        "peak_rate_examples_per_s": matmuls["examples"] / peak_rate_seconds,
        **padding_summary(warm, token_ids, real_tokens),
        "dtype_policy": keras.config.dtype_policy().name,
        "optimizer_class":
            f"{type(model.optimizer).__module__}.{type(model.optimizer).__name__}",
        "batch_fingerprint": fingerprint(token_ids),
        "versions": library_versions(),
    }


# === Child: Hugging Face transformers PyTorch loop ===
def run_hf(config, args):
    """A plain transformers training loop with two heads, on the same data."""
    import numpy as np
    import torch
    from torch import nn
    from transformers import BertModel, BertTokenizerFast
    from transformers.utils import logging as hf_logging

    from keras_mtl.datasets import load_atis
    from keras_mtl.presets import resolve_preset

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    train = load_atis()["train"]
    intent_ids = {label: i for i, label in enumerate(train.label_set("intent"))}
    tag_ids = {tag: i for i, tag in enumerate(train.label_set("slots"))}
    path = resolve_preset(PRESET)
    tokenizer = BertTokenizerFast.from_pretrained(path)

    class JointBert(nn.Module):
        """BERT encoder, intent head on [CLS], slot head on every position (logits)."""

        def __init__(self):
            super().__init__()
            # The pooler is unused ([CLS] vector is taken directly): leave it out.
            self.encoder = BertModel.from_pretrained(
                path, num_hidden_layers=args.num_layers, add_pooling_layer=False
            )
            hidden = self.encoder.config.hidden_size
            self.dropout = nn.Dropout(DROPOUT)
            self.intent_head = nn.Linear(hidden, len(intent_ids))
            self.slot_head = nn.Linear(hidden, len(tag_ids))

        def forward(self, input_ids, attention_mask, token_type_ids):
            sequence = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            sequence = self.dropout(sequence)
            return self.intent_head(sequence[:, 0]), self.slot_head(sequence)

    model = JointBert().to(device).train()
    # The Trainer's default optimizer with torch >= 2.8 (`adamw_torch_fused`).
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, fused=True
    )
    loss_fn = nn.CrossEntropyLoss(ignore_index=TORCH_IGNORE_INDEX)

    def make_batch(indices):
        """Tokenizes one batch of words, padded to its longest sequence."""
        words = [train.texts[i].split() for i in indices]
        encoding = tokenizer(
            words,
            is_split_into_words=True,
            truncation=True,
            max_length=args.sequence_length,
            padding="longest",
            return_tensors="pt",
        )
        slot_labels = torch.full_like(encoding["input_ids"], TORCH_IGNORE_INDEX)
        for row, i in enumerate(indices):
            tags = train.labels["slots"][i]
            previous = None
            for position, word in enumerate(encoding.word_ids(row)):
                # Label each word on its first sub-word only.
                if word is not None and word != previous:
                    slot_labels[row, position] = tag_ids[tags[word]]
                previous = word
        batch = dict(encoding)
        batch["intent_labels"] = torch.tensor([intent_ids[train.labels["intent"][i]] for i in indices])
        batch["slot_labels"] = slot_labels
        return {name: tensor.to(device) for name, tensor in batch.items()}

    # Batches as the Trainer's DataLoader would draw them, built before timing
    # like the Keras batches: shuffled (shuffle=True), or with `group_by_length=True`
    # (transformers' LengthGroupedSampler: shuffled mega-batches of 50 batches,
    # each sorted by length, the longest batch first).
    epochs = 1 + (args.warmup + args.steps) * args.batch_size // len(train)
    if config["padding"] == "grouped":
        from transformers.trainer_pt_utils import LengthGroupedSampler

        lengths = [
            len(ids) for ids in tokenizer(
                [text.split() for text in train.texts], is_split_into_words=True,
                truncation=True, max_length=args.sequence_length,
            )["input_ids"]
        ]
        generator = torch.Generator().manual_seed(0)
        sampler = LengthGroupedSampler(args.batch_size, lengths=lengths, generator=generator)
        order = np.concatenate([np.fromiter(iter(sampler), int) for _ in range(epochs)])
    else:
        rng = np.random.default_rng(0)
        order = np.concatenate([rng.permutation(len(train)) for _ in range(epochs)])
    batches = [
        make_batch(order[step * args.batch_size : (step + 1) * args.batch_size])
        for step in range(args.warmup + args.steps)
    ]

    bf16 = config.get("precision") == "bf16"

    def train_step(batch):
        # Mixed precision as the Trainer's `bf16=True` does it: autocast the forward
        # pass, fp32 weights and optimizer.
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            intent_logits, slot_logits = model(
                batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
            )
            loss = loss_fn(intent_logits.float(), batch["intent_labels"]) + loss_fn(
                slot_logits.float().reshape(-1, slot_logits.shape[-1]),
                batch["slot_labels"].reshape(-1),
            )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    warm, measured = split_warmup(batches, args.warmup, lambda b: tuple(b["input_ids"].shape))
    for batch in warm:
        train_step(batch)
    synchronize()
    result = time_steps(
        train_step, measured, lambda b: len(b["input_ids"]), args.repeats, synchronize
    )
    input_ids = [batch["input_ids"].cpu().numpy() for batch in measured]
    result.update(
        **padding_summary(
            warm, input_ids, [int(batch["attention_mask"].sum()) for batch in measured]
        ),
        batch_fingerprint=fingerprint(input_ids),
        attention_implementation=model.encoder.config._attn_implementation,
        optimizer_class="torch.optim.AdamW(fused=True)",
        device=str(device),
        versions=library_versions(),
    )
    return result


# === Child: the machine's matrix-product peak ===
def run_peak(config, args):
    """GFLOP/s of a loop of 2048 x 2048 matrix products, fp32 and bf16, best of 3."""
    import numpy as np

    size, iterations = 2048, 20
    backend = config["backend"]
    if backend == "tensorflow":
        import tensorflow as tf

        def loop(dtype):
            a = tf.random.normal((size, size), dtype=tf.float32)
            a = tf.cast(a, getattr(tf, dtype))
            out = a
            for _ in range(iterations):
                out = tf.matmul(a, a)
            return float(tf.reduce_sum(tf.cast(out[:1, :1], tf.float32)))
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        matmul = jax.jit(jnp.matmul)

        def loop(dtype):
            a = jnp.asarray(np.random.default_rng(0).standard_normal((size, size)), dtype=dtype)
            out = matmul(a, a).block_until_ready()
            for _ in range(iterations):
                out = matmul(a, a)
            return float(out.block_until_ready()[0, 0])
    else:
        import torch

        torch.set_num_threads(args.threads)

        def loop(dtype):
            a = torch.randn(size, size).to(getattr(torch, dtype))
            with torch.no_grad():
                for _ in range(iterations):
                    out = torch.mm(a, a)
            return float(out[0, 0])

    result = {"versions": library_versions()}
    for name, dtype in (("fp32", "float32"), ("bf16", "bfloat16")):
        loop(dtype)  # warm-up, compilation
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            loop(dtype)
            seconds.append(time.perf_counter() - start)
        result[f"{name}_gflops"] = 2 * size**3 * iterations / min(seconds) / 1e9
    return result


def library_versions():
    """Versions of the libraries this process imported."""
    versions = {}
    for name in ("keras", "keras_hub", "tensorflow", "jax", "torch", "transformers", "numpy"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    return versions


def run_child(args):
    config = all_configurations()[args.child]
    if config["model"] == "hf_transformers":
        result = run_hf(config, args)
    elif config["model"] == "step_floor":
        result = run_floor(config, args)
    elif config["model"] == "matmul_peak":
        result = run_peak(config, args)
    else:
        import keras

        if keras.config.backend() != config["backend"]:
            raise RuntimeError(
                f"Keras runs on {keras.config.backend()}, expected {config['backend']}."
            )
        result = run_keras(config, args)
    Path(args.child_result).write_text(json.dumps(result))


# === Parent: run every configuration, then report ===
def child_command(args, name, result_path):
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child", name,
        "--child-result", str(result_path),
        "--num-layers", str(args.num_layers),
        "--steps", str(args.steps),
        "--warmup", str(args.warmup),
        "--batch-size", str(args.batch_size),
        "--sequence-length", str(args.sequence_length),
        "--fixed-length", str(args.fixed_length),
        "--bucket-step", str(args.bucket_step),
        "--threads", str(args.threads),
        "--repeats", str(args.repeats),
    ]


def run_configuration(args, name, config):
    """Runs one configuration in a fresh subprocess; returns its result record."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = config["backend"]
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    record = {"name": name, **config, "description": describe(config, args)}
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        start = time.perf_counter()
        try:
            process = subprocess.run(
                child_command(args, name, result_path),
                env=env,
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            failed = process.returncode != 0 or not result_path.exists()
            log = (process.stdout or "") + (process.stderr or "")
        except subprocess.TimeoutExpired as error:
            failed, log = True, f"timed out after {args.timeout} s\n{error.stderr or ''}"
        record["process_seconds"] = time.perf_counter() - start
        if failed:
            tail = "\n".join(str(log).strip().splitlines()[-25:])
            record["error"] = tail
            print(f"  FAILED ({record['process_seconds']:.0f} s):\n{tail}", flush=True)
        else:
            record.update(json.loads(result_path.read_text()))
            if "examples_per_s" in record:
                print(
                    f"  {record['examples_per_s']:.1f} examples/s "
                    f"({record['measured_steps']} steps after {record['warmup_steps']} "
                    f"warm-up; process {record['process_seconds']:.0f} s)",
                    flush=True,
                )
            else:
                print(f"  fp32 {record['fp32_gflops']:.0f} GFLOP/s, "
                      f"bf16 {record['bf16_gflops']:.0f} GFLOP/s", flush=True)
    return record


def best_runs(runs):
    """One record per configuration: its fastest round (highest examples/s, or
    matmul GFLOP/s), with every round's figure kept under `rounds`."""
    results = []
    for records in runs.values():
        def score(r):
            return r.get("examples_per_s", r.get("fp32_gflops", -1.0))

        best = dict(max(records, key=score))
        best["rounds"] = [round(score(r), 2) for r in records]
        results.append(best)
    return results


def is_default(record):
    """A keras_mtl or plain Keras run in fp32 without XLA, with its usual optimizer."""
    return (record.get("precision", "fp32") == "fp32" and not record.get("jit_compile")
            and record.get("fused", True))


def best_mtl_backend(results):
    """Backend of the fastest default keras_mtl bucketed run (jax if there is none)."""
    runs = [
        r for r in results
        if r["model"] == "keras_mtl" and r["padding"] == "bucketed" and is_default(r)
        and "examples_per_s" in r
    ]
    if not runs:
        return "jax"
    return max(runs, key=lambda r: r["examples_per_s"])["backend"]


# Weights of one MiniLM transformer layer that multiply every token: Q, K, V and the
# attention output (4 h²), the two feed-forward layers (2 h i).
HIDDEN, INTERMEDIATE = 384, 1536
MATMUL_PARAMS_PER_LAYER = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * INTERMEDIATE


def add_useful_work(results, num_layers):
    """Useful GFLOP/s of each training run: 6 FLOPs (forward 2, backward 4) per
    layer weight per real token (padding, attention scores and heads not counted),
    and its fraction of the best matmul peak measured in this run (bf16 runs also
    against the bf16 peak)."""
    peaks = [r for r in results if r["model"] == "matmul_peak" and "fp32_gflops" in r]
    peak = {
        precision: max((r[f"{precision}_gflops"] for r in peaks), default=None)
        for precision in ("fp32", "bf16")
    }
    flops_per_token = 6 * MATMUL_PARAMS_PER_LAYER * num_layers
    for r in results:
        if "real_tokens" not in r:
            continue
        r["useful_gflops"] = flops_per_token * r["real_tokens"] / r["seconds"] / 1e9
        if peak["fp32"]:
            r["fraction_of_fp32_peak"] = r["useful_gflops"] / peak["fp32"]
        if peak["bf16"] and r.get("precision") == "bf16":
            r["fraction_of_bf16_peak"] = r["useful_gflops"] / peak["bf16"]
    return peak


def compute_ratios(results):
    """Bucketing gain, keras_mtl overhead vs plain Keras, and keras_mtl vs the
    fastest Hugging Face configuration (fp32 and any precision)."""
    speed = {
        (r["model"], r["backend"], r["padding"]): r["examples_per_s"]
        for r in results
        if "examples_per_s" in r and is_default(r)
    }
    ratios = {"bucketing_gain": {}, "keras_mtl_overhead_vs_plain_keras": {}}
    for backend in BACKENDS:
        bucketed = speed.get(("keras_mtl", backend, "bucketed"))
        fixed = speed.get(("keras_mtl", backend, "fixed"))
        plain = speed.get(("plain_keras", backend, "bucketed"))
        if bucketed and fixed:
            ratios["bucketing_gain"][backend] = bucketed / fixed
        if bucketed and plain:
            # Extra time per example that keras_mtl takes over the plain model.
            ratios["keras_mtl_overhead_vs_plain_keras"][backend] = plain / bucketed - 1
    timed = [r for r in results if "examples_per_s" in r]
    hf = [r for r in timed if r["model"] == "hf_transformers"]
    mtl = [r for r in timed if r["model"] == "keras_mtl" and r["padding"] == "bucketed"]
    for label, keep in (("fp32", is_default),
                        ("any_precision", lambda r: r.get("fused", True))):
        best_hf = max((r for r in hf if keep(r)), key=lambda r: r["examples_per_s"], default=None)
        best_mtl = max((r for r in mtl if keep(r)), key=lambda r: r["examples_per_s"], default=None)
        if best_hf and best_mtl:
            ratios[f"best_keras_mtl_vs_best_hf_{label}"] = {
                "keras_mtl": best_mtl["name"], "hf": best_hf["name"],
                "ratio": best_mtl["examples_per_s"] / best_hf["examples_per_s"],
            }
    floor = next((r for r in timed if r["model"] == "step_floor"), None)
    best_hf = max(hf, key=lambda r: r["examples_per_s"], default=None)
    if floor and best_hf:
        ratios["step_floor_vs_best_hf"] = {
            "hf": best_hf["name"],
            "ratio": floor["examples_per_s"] / best_hf["examples_per_s"],
            "ratio_at_bf16_peak": floor["peak_rate_examples_per_s"] / best_hf["examples_per_s"],
        }
    return ratios


def markdown_report(results, ratios, peak, args):
    hf = max(
        (r["examples_per_s"] for r in results if r["model"] == "hf_transformers" and "examples_per_s" in r),
        default=None,
    )
    lines = [
        f"Training throughput, ATIS, MiniLM {args.num_layers} layer(s), batch "
        f"{args.batch_size}, {args.steps} measured steps",
        "",
        "| Configuration | Backend | Mean padded length | Examples/s | vs best HF | "
        "Useful GFLOP/s | of fp32 peak |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["model"] == "matmul_peak":
            continue
        if "examples_per_s" not in r:
            lines.append(f"| {r['description']} | {r['backend']} | | failed | | | |")
            continue
        versus = f"{r['examples_per_s'] / hf:.2f}x" if hf else ""
        fraction = f"{r['fraction_of_fp32_peak']:.2f}" if "fraction_of_fp32_peak" in r else ""
        lines.append(
            f"| {r['description']} | {r['backend']} | {r['mean_padded_length']:.1f} | "
            f"{r['examples_per_s']:.1f} | {versus} | {r['useful_gflops']:.0f} | {fraction} |"
        )
    peaks = [r for r in results if r["model"] == "matmul_peak"]
    if peaks:
        lines += ["", "| Matmul peak (2048², best of 3) | fp32 GFLOP/s | bf16 GFLOP/s |",
                  "|---|---:|---:|"]
        for r in peaks:
            if "fp32_gflops" in r:
                lines.append(f"| {r['backend']} | {r['fp32_gflops']:.0f} | {r['bf16_gflops']:.0f} |")
            else:
                lines.append(f"| {r['backend']} | failed | |")
    lines += ["", "| Ratio | Backend | Value |", "|---|---|---:|"]
    for backend, gain in ratios["bucketing_gain"].items():
        lines.append(f"| Bucketing gain (bucketed / fixed, keras_mtl) | {backend} | {gain:.2f}x |")
    for backend, overhead in ratios["keras_mtl_overhead_vs_plain_keras"].items():
        verdict = "within" if overhead <= 0.05 else "over"
        lines.append(
            f"| keras_mtl overhead vs plain Keras ({verdict} the 5% target) | {backend} | "
            f"{overhead * 100:+.1f}% |"
        )
    for label in ("fp32", "any_precision"):
        best = ratios.get(f"best_keras_mtl_vs_best_hf_{label}")
        if best:
            lines.append(
                f"| Fastest keras_mtl / fastest HF ({label.replace('_', ' ')}): "
                f"{best['keras_mtl']} / {best['hf']} | | {best['ratio']:.2f}x |"
            )
    floor = ratios.get("step_floor_vs_best_hf")
    if floor:
        lines.append(
            f"| Bound (products and optimizer alone) / fastest HF ({floor['hf']}) | | "
            f"{floor['ratio']:.2f}x |"
        )
        lines.append(
            f"| Same, every product at the bf16 peak / fastest HF | | "
            f"{floor['ratio_at_bf16_peak']:.2f}x |"
        )
    return "\n".join(lines)


def run_parent(args):
    configs = all_configurations()
    names = select_configurations(args.configs)
    runs = {}  # name -> every round's record, in run order
    for round_ in range(1, args.rounds + 1):
        for index, name in enumerate(names, start=1):
            if name == "plain-best":
                name = f"plain-{best_mtl_backend(best_runs(runs))}"
                if name in runs and len(runs[name]) == round_:
                    continue
            print(f"[round {round_}/{args.rounds}, {index}/{len(names)}] {name}", flush=True)
            runs.setdefault(name, []).append(run_configuration(args, name, configs[name]))
    results = best_runs(runs)

    peak = add_useful_work(results, args.num_layers)
    ratios = compute_ratios(results)
    report = markdown_report(results, ratios, peak, args)
    print()
    print(report)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "train_throughput",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": {
            key: value for key, value in vars(args).items()
            if key not in ("child", "child_result", "output")
        },
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "results": results,
        "matmul_peak_gflops": peak,
        "ratios": ratios,
        "markdown": report,
    }
    output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nWrote {output}")
    return 1 if any("error" in r for r in results) else 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--num-layers", type=int, default=6, help="transformer layers kept")
    parser.add_argument("--steps", type=int, default=30, help="measured training steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before measuring")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--sequence-length", type=int, default=64,
        help="maximum sub-words per text (bucketed and dynamic padding)",
    )
    parser.add_argument(
        "--bucket-step", type=lambda v: v if v == "auto" else int(v), default="auto",
        help="make_dataset's bucket_step: batches padded to a multiple of this; 'auto' "
        "(the default of keras_mtl): 8 on JAX, 1 on TensorFlow and torch",
    )
    parser.add_argument(
        "--fixed-length", type=int, default=48,
        help="padded length of every batch in the mtl-fixed configurations",
    )
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(),
        help="PyTorch intra-op threads (keras on torch and the transformers loop)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1,
        help="time the measured steps this many times and keep the fastest pass",
    )
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run the whole list this many times, one configuration after another, and "
        "keep each configuration's fastest round (the machine's drift then weighs on all)",
    )
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS,
        help=f"comma-separated configuration names or prefixes, or 'all' "
        f"(default: {DEFAULT_CONFIGS})",
    )
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="JSON results path")
    parser.add_argument(
        "--timeout", type=int, default=3600, help="seconds allowed per configuration"
    )
    # Internal: how the parent starts one configuration in a subprocess.
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.batch_size < 1 or args.repeats < 1 \
            or args.rounds < 1:
        parser.error("--steps, --batch-size, --repeats and --rounds must be >= 1, --warmup >= 0.")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
