"""Mixed precision: Keras' global dtype policy, and the `"auto"` choice of it."""

import keras

MIXED_PRECISION_POLICIES = ("mixed_bfloat16", "mixed_float16")
AUTO = "auto"
# What `training.mixed_precision` and `set_mixed_precision` take besides `None`.
PRECISION_SETTINGS = (AUTO, *MIXED_PRECISION_POLICIES)
# CPU flags (Linux `/proc/cpuinfo`) of bfloat16 matrix instructions.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# Backends measured faster in bfloat16 than in float32 on such a CPU (oneDNN's
# bfloat16 matrix products); JAX's CPU bfloat16 products are slower than its float32.
BF16_CPU_BACKENDS = ("tensorflow", "torch")


def cpu_has_bfloat16(cpuinfo=None):
    """Whether the CPU has bfloat16 instructions (`avx512_bf16` or AMX).

    `cpuinfo` is the text of `/proc/cpuinfo` (read when `None`); where it cannot be
    read (not Linux) the answer is `False`, so `"auto"` falls back to float32.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return any(flag in flags for flag in BF16_CPU_FLAGS)
    return False


def _accelerator_has_bfloat16(backend):
    """Whether the backend runs on a GPU with bfloat16 arithmetic (compute
    capability 8.0 or newer)."""
    if backend == "tensorflow":
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            capability = tf.config.experimental.get_device_details(gpu).get(
                "compute_capability", (0, 0))
            if tuple(capability) >= (8, 0):
                return True
        return False
    if backend == "jax":
        import jax

        return any(
            float(getattr(device, "compute_capability", "0") or 0) >= 8.0
            for device in jax.devices() if device.platform == "gpu"
        )
    if backend == "torch":
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return False


def resolve_mixed_precision(policy, backend=None, cpuinfo=None):
    """The policy to train with: `policy` itself, or for `"auto"` the one measured
    to be faster here.

    `"auto"` is `"mixed_bfloat16"` on a GPU with bfloat16 arithmetic (any backend),
    and with TensorFlow or PyTorch on a CPU with bfloat16 instructions
    (`avx512_bf16`, AMX: 1.1–1.4× the examples per second of float32 on 2 cores,
    ATIS within the accuracy of float32: docs/distributed.md). Everywhere else it
    is `None` (float32): JAX on CPU is slower in bfloat16 than in float32.

    Example:

    >>> resolve_mixed_precision("auto", "jax", cpuinfo="flags : avx512f avx512_bf16")
    >>> resolve_mixed_precision("auto", "torch", cpuinfo="flags : avx512f avx512_bf16")
    'mixed_bfloat16'
    """
    if policy != AUTO:
        return policy
    backend = backend or keras.config.backend()
    if _accelerator_has_bfloat16(backend):
        return "mixed_bfloat16"
    if backend in BF16_CPU_BACKENDS and cpu_has_bfloat16(cpuinfo):
        return "mixed_bfloat16"
    return None


def set_mixed_precision(policy):
    """Sets Keras' global dtype policy: `"mixed_bfloat16"`, `"mixed_float16"`,
    `"auto"` (see `resolve_mixed_precision`) or `None` (float32). Call it before
    building the model. Returns the policy set (`None` for float32).

    Weights stay float32; activations use the half type. With `mixed_float16`,
    `compile` wraps the optimizer in a `LossScaleOptimizer`. Both fit on all three
    backends. bfloat16 pays off with TensorFlow and PyTorch on CPUs with bfloat16
    instructions (`avx512_bf16`, AMX) and on accelerators; JAX on CPU is slower in it than in
    float32. The exporters write float32 artefacts either way
    (`keras_mtl.export.precision.float32_model`).

    Example:

    >>> set_mixed_precision("mixed_bfloat16")
    'mixed_bfloat16'
    >>> keras.layers.Dense(2).dtype_policy.name   # layers built from now on
    'mixed_bfloat16'
    >>> set_mixed_precision(None)   # back to float32
    """
    if policy is not None and policy not in PRECISION_SETTINGS:
        raise ValueError(
            f"Unknown mixed precision policy {policy!r}; use one of "
            f"{list(MIXED_PRECISION_POLICIES)}, {AUTO!r} or None."
        )
    policy = resolve_mixed_precision(policy)
    keras.config.set_dtype_policy(policy or "float32")
    return policy
