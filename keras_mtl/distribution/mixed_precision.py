"""Mixed precision: Keras' global dtype policy."""

import keras

MIXED_PRECISION_POLICIES = ("mixed_bfloat16", "mixed_float16")


def set_mixed_precision(policy):
    """Sets Keras' global dtype policy: `"mixed_bfloat16"`, `"mixed_float16"` or
    `None` (float32). Call it before building the model.

    Weights stay float32; activations use the half type. With `mixed_float16`,
    `compile` wraps the optimizer in a `LossScaleOptimizer`. Both fit on all three
    backends. bfloat16 pays off with TensorFlow on CPUs with bfloat16 instructions
    (`avx512_bf16`, AMX) and on accelerators; JAX on CPU is slower in it than in
    float32. The exporters write float32 artefacts either way
    (`keras_mtl.export.precision.float32_model`).

    Example:

    >>> set_mixed_precision("mixed_bfloat16")
    >>> model = MultiTaskModel.from_preset("minilm", tasks, num_layers=2)
    >>> model.backbone.dtype_policy.name
    'mixed_bfloat16'
    """
    if policy is None:
        keras.config.set_dtype_policy("float32")
        return
    if policy not in MIXED_PRECISION_POLICIES:
        raise ValueError(
            f"Unknown mixed precision policy {policy!r}; use one of "
            f"{list(MIXED_PRECISION_POLICIES)} or None."
        )
    keras.config.set_dtype_policy(policy)
