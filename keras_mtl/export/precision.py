"""Artefacts compute in float32, whatever dtype policy the model was trained under.

A model trained under `mixed_bfloat16` or `mixed_float16` keeps float32 weights,
but its layers compute in the half type. tf2onnx cannot write that graph
(bfloat16 constants have no ONNX mapping, and the file it leaves mixes float16
and bfloat16 inputs in one node, which onnxruntime refuses), and a serving CPU
without bfloat16 instructions would emulate it. So every exporter first takes
`float32_model(model)`: the same architecture, rebuilt with float32 layers, holding
the same weights. Its scores differ from the mixed-precision model's by the half
type's rounding, not by anything learned.
"""

import keras

MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")


def float32_model(model):
    """`model` (a `MultiTaskModel`) itself when no layer of it computes in a half
    type; otherwise a copy rebuilt from its config with float32 layers, given the
    same weights, sharing its preprocessor.

    Example:

    >>> from keras_mtl import MultiTaskModel, TaskSpec
    >>> keras.config.set_dtype_policy("mixed_bfloat16")
    >>> model = MultiTaskModel.from_preset(
    ...     "minilm", [TaskSpec("intent", "classification", labels=["a", "b"])], num_layers=1)
    >>> keras.config.set_dtype_policy("float32")
    >>> model.backbone.compute_dtype, float32_model(model).backbone.compute_dtype
    ('bfloat16', 'float32')
    """
    if not _computes_in_half(model):
        return model
    config = keras.saving.serialize_keras_object(model)
    float32_config = _float32_policies(config)
    # The preprocessor computes nothing in floating point: the copy shares it
    # (`MultiTaskModel.from_config` takes the object as it is).
    float32_config["config"]["preprocessor"] = model.preprocessor
    # Layers a constructor builds without a dtype argument take the global policy.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = keras.saving.deserialize_keras_object(float32_config)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    if _computes_in_half(copy):
        raise ValueError(
            "Could not rebuild the model with float32 layers for export: some layers "
            "still compute in a half type after rebuilding it from its config."
        )
    return copy


def _computes_in_half(model):
    """Whether a layer of `model`, outside its preprocessor, has a mixed policy."""
    preprocessor = getattr(model, "preprocessor", None)
    skipped = {id(layer) for layer in preprocessor._flatten_layers()} if preprocessor else set()
    return any(
        layer.dtype_policy.name in MIXED_POLICIES
        for layer in model._flatten_layers()
        if id(layer) not in skipped
    )


def _float32_policies(config):
    """A copy of `config` with every mixed dtype policy made float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and (
            config.get("config", {}).get("name") in MIXED_POLICIES
        ):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {
            key: "float32" if key == "dtype" and value in MIXED_POLICIES
            else _float32_policies(value)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config
