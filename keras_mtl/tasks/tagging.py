"""`tagging`: one plain tag per word (part of speech, morphology); accuracy."""

import numpy as np

from keras_mtl.tasks.token_classification import TokenClassificationType


class TaggingType(TokenClassificationType):
    """One label per word with no spans (UPOS, XPOS): scored by word accuracy.

    Everything else (alignment, head, decoding, serving) is the
    `token_classification` type's. A word cut off by truncation counts as wrong.
    """

    name = "tagging"
    primary_metric = ("accuracy", True)

    def evaluate(self, spec, gold, predicted):
        flat = [a == b for g, p in zip(gold, predicted) for a, b in zip(g, p)]
        right = [list(g) == list(p) for g, p in zip(gold, predicted)]
        return {"accuracy": float(np.mean(flat)) if flat else 0.0}, right
