"""`LayerAttentionLog`: where each task reads the encoder, epoch by epoch."""

import keras


def layer_mix_key(task, k):
    """The log key of task `task`'s weight on layer output k (0: the embeddings)."""
    return f"{task}_layer_mix_{k}"


class LayerAttentionLog(keras.callbacks.Callback):
    """Writes each task's layer-attention weights into the epoch's logs.

    For a model built with `sharing="attention"`: `<task>_layer_mix_<k>` (aₖ,
    k = 0 for the embeddings, 1 … L for the transformer layers),
    `<task>_layer_scale` (γ) and `<task>_layer_temperature` (τ), so that
    `history.csv`, TensorBoard and `keras_mtl.plotting.plot_layer_attention` see
    them. List it before the loggers.
    """

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "layer_attention", None):
            raise ValueError(
                "LayerAttentionLog needs a MultiTaskModel built with sharing='attention'."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for task, mix in self.model.layer_mixing().items():
            for k, weight in enumerate(mix["weights"]):
                logs[layer_mix_key(task, k)] = weight
            logs[f"{task}_layer_scale"] = mix["scale"]
            logs[f"{task}_layer_temperature"] = mix["temperature"]
