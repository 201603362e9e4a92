"""`BiaffineParsingHead`: Dozat & Manning's (2017) biaffine arc and relation scorers.

Output, per text: a `(sequence, sequence, 1 + relations)` float32 tensor of
log-probabilities. `[..., i, j, 0]` is log P(head of position i = position j)
(softmax over j; padding positions are never heads; position 0, [CLS], stands for
the root) and `[..., i, j, 1:]` is log P(relation | i's head is j) (softmax over
the relations). One tensor keeps the model's outputs one per task, and exports
to ONNX and SavedModel like every other head.
"""

import keras
from keras import ops

_NEGATIVE = -1e9


@keras.saving.register_keras_serializable(package="keras_mtl")
class BiaffineParsingHead(keras.layers.Layer):
    """Biaffine arc scorer and relation classifier over the encoder's vectors.

    Each position is projected by four small MLPs (arc-dependent, arc-head,
    relation-dependent, relation-head; leaky ReLU, dropout). Arc scores are
    `dep_i · U · head_j + head_j · u` (a bilinear term and a head prior); relation
    scores are `[dep_i; 1] · U_r · [head_j; 1]` per relation r (bilinear, linear
    and bias terms in one tensor).

    Args:
        num_relations: number of dependency relations.
        arc_dim: width of the arc MLPs (Dozat & Manning: 500; 256 suits small encoders).
        relation_dim: width of the relation MLPs (Dozat & Manning: 100).
        dropout: dropout rate on the encoder output and the MLP outputs.

    Example:

    >>> import numpy as np
    >>> head = BiaffineParsingHead(num_relations=3, arc_dim=4, relation_dim=2)
    >>> tuple(head(np.ones((2, 5, 8), "float32"), padding_mask=np.ones((2, 5), "int32")).shape)
    (2, 5, 5, 4)
    """

    def __init__(self, num_relations, arc_dim=256, relation_dim=100, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

        def mlp(units, name):
            return keras.layers.Dense(
                units, activation="leaky_relu", dtype=self.dtype_policy, name=name
            )

        self.arc_dependent = mlp(arc_dim, "arc_dependent")
        self.arc_head = mlp(arc_dim, "arc_head")
        self.relation_dependent = mlp(relation_dim, "relation_dependent")
        self.relation_head = mlp(relation_dim, "relation_head")
        # === Config ===
        self.num_relations = int(num_relations)
        self.arc_dim = int(arc_dim)
        self.relation_dim = int(relation_dim)
        self.dropout = float(dropout)

    def build(self, sequence_output_shape, *args, **kwargs):
        shape = (None, None, sequence_output_shape[-1])
        for layer in (self.arc_dependent, self.arc_head, self.relation_dependent,
                      self.relation_head):
            layer.build(shape)
        self.arc_weight = self.add_weight(
            name="arc_weight", shape=(self.arc_dim, self.arc_dim), initializer="zeros",
            dtype="float32",
        )
        self.arc_head_bias = self.add_weight(
            name="arc_head_bias", shape=(self.arc_dim,), initializer="zeros", dtype="float32",
        )
        width = self.relation_dim + 1
        self.relation_weight = self.add_weight(
            name="relation_weight", shape=(self.num_relations, width, width),
            initializer="zeros", dtype="float32",
        )

    def call(self, sequence_output, pooled_output=None, padding_mask=None, training=None):
        x = self.dropout_layer(sequence_output, training=training)

        def project(layer):
            return ops.cast(self.dropout_layer(layer(x), training=training), "float32")

        arc_dep, arc_head = project(self.arc_dependent), project(self.arc_head)
        rel_dep, rel_head = project(self.relation_dependent), project(self.relation_head)
        # arcs[b, i, j]: position j as the head of position i.
        arcs = ops.einsum("bid,de,bje->bij", arc_dep, self.arc_weight, arc_head)
        arcs = arcs + ops.expand_dims(ops.einsum("bje,e->bj", arc_head, self.arc_head_bias), 1)
        if padding_mask is not None:
            is_head = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)
            arcs = ops.where(is_head, arcs, ops.full_like(arcs, _NEGATIVE))
        ones = ops.ones_like(rel_dep[..., :1])
        rel_dep = ops.concatenate([rel_dep, ones], axis=-1)
        rel_head = ops.concatenate([rel_head, ones], axis=-1)
        relations = ops.einsum("bid,rde,bje->bijr", rel_dep, self.relation_weight, rel_head)
        return ops.concatenate(
            [
                ops.expand_dims(ops.log_softmax(arcs, axis=-1), -1),
                ops.log_softmax(relations, axis=-1),
            ],
            axis=-1,
        )

    def compute_output_shape(self, sequence_output_shape, *args, **kwargs):
        batch, length = sequence_output_shape[0], sequence_output_shape[1]
        return (batch, length, length, 1 + self.num_relations)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_relations": self.num_relations, "arc_dim": self.arc_dim,
            "relation_dim": self.relation_dim, "dropout": self.dropout,
        })
        return config


def _at_heads(y_pred, heads):
    """`(arc log-prob, relation log-probs)` of each position at the given heads."""
    one_hot = ops.one_hot(ops.maximum(heads, 0), ops.shape(y_pred)[2], dtype="float32")
    arc = ops.sum(y_pred[..., 0] * one_hot, axis=-1)
    relations = ops.einsum("bij,bijr->bir", one_hot, y_pred[..., 1:])
    return arc, relations


@keras.saving.register_keras_serializable(package="keras_mtl")
class BiaffineParsingLoss(keras.losses.Loss):
    """−log P(gold head) − log P(gold relation | gold head), per position.

    `y_true[..., 0]` is the gold head's position, `y_true[..., 1]` the relation id;
    a relation of -1 (unseen in training) adds no relation term.
    """

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        relations = y_true[..., 1]
        arc, at_head = _at_heads(ops.cast(y_pred, "float32"), y_true[..., 0])
        gold = ops.one_hot(ops.maximum(relations, 0), ops.shape(at_head)[-1], dtype="float32")
        relation = ops.sum(at_head * gold, axis=-1) * ops.cast(relations >= 0, "float32")
        return -(arc + relation)


@keras.saving.register_keras_serializable(package="keras_mtl")
def head_accuracy(y_true, y_pred):
    """Greedy (arg-max) head right, per position: UAS before the tree decoding."""
    predicted = ops.argmax(y_pred[..., 0], axis=-1)
    return ops.cast(ops.equal(predicted, ops.cast(y_true[..., 0], predicted.dtype)), "float32")


@keras.saving.register_keras_serializable(package="keras_mtl")
def labeled_accuracy(y_true, y_pred):
    """Greedy head and its arg-max relation both right, per position (LAS before
    the tree decoding)."""
    y_pred = ops.cast(y_pred, "float32")
    predicted = ops.argmax(y_pred[..., 0], axis=-1)
    _, at_head = _at_heads(y_pred, predicted)
    relation = ops.argmax(at_head, axis=-1)
    head_right = ops.equal(predicted, ops.cast(y_true[..., 0], predicted.dtype))
    relation_right = ops.equal(relation, ops.cast(y_true[..., 1], relation.dtype))
    return ops.cast(ops.logical_and(head_right, relation_right), "float32")


@keras.saving.register_keras_serializable(package="keras_mtl")
class WordMean(keras.metrics.Metric):
    """Mean of a per-position function over the labelled words of every batch.

    Keras' `MeanMetricWrapper` averages a 2-D sample weight over each row's
    *padded* length first, so batches padded longer (longer sentences) count
    less; this metric sums values and weights directly: Σ v·w / Σ w.
    """

    def __init__(self, fn, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.fn = keras.saving.get_registered_object(fn) if isinstance(fn, str) else fn
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.cast(self.fn(y_true, y_pred), "float32")
        weights = ops.ones_like(values) if sample_weight is None else ops.reshape(
            ops.cast(sample_weight, "float32"), ops.shape(values)
        )
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return self.total / ops.maximum(self.count, 1e-12)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"fn": keras.saving.get_registered_name(self.fn), "name": self.name,
                "dtype": self.dtype}


def parsing_metrics():
    """Keras metrics logged while training: greedy UAS and LAS over labelled words."""
    return [WordMean(head_accuracy, name="uas"), WordMean(labeled_accuracy, name="las")]
