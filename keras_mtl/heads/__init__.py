"""Task heads: Keras layers that score the encoder's output. Each task type
builds its own (`TaskType.build_head`)."""

from keras_mtl.heads.biaffine_parsing_head import BiaffineParsingHead
from keras_mtl.heads.sentence_head import SentenceHead
from keras_mtl.heads.token_classification_head import TokenClassificationHead

__all__ = ["BiaffineParsingHead", "SentenceHead", "TokenClassificationHead"]
