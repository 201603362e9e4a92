"""Task heads: one Keras layer per kind of output, chosen by task type."""

from keras_mtl.heads.sentence_head import SentenceHead
from keras_mtl.heads.token_classification_head import TokenClassificationHead


def head_for_task(spec, dtype=None):
    """The head layer that `spec` (a ready `TaskSpec`) needs, named after the task."""
    spec.check_ready()
    task_type = spec.task_type
    units = task_type.output_units(spec)
    if task_type.token_level:
        return TokenClassificationHead(
            units, dropout=spec.dropout, hidden_dim=spec.hidden_dim,
            dtype=dtype, name=spec.name,
        )
    return SentenceHead(
        units,
        pooling=spec.pooling,
        activation=task_type.output_activation(),
        dropout=spec.dropout,
        hidden_dim=spec.hidden_dim,
        dtype=dtype,
        name=spec.name,
    )


__all__ = ["SentenceHead", "TokenClassificationHead", "head_for_task"]
