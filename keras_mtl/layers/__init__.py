"""Layers of the shared encoder's sharing modes."""

from keras_mtl.layers.layer_attention import LayerAttention

__all__ = ["LayerAttention"]
