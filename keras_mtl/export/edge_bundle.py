"""`export_edge_bundle`: ONNX model + vocabulary + label maps for `keras_mtl.edge`."""

import json
import os

from keras_mtl.edge.runtime import BUNDLE_FILE
from keras_mtl.export.onnx import export_onnx


def export_edge_bundle(model, directory, quantize=None):
    """Writes `model.onnx`, `vocab.txt` and `bundle.json` into `directory`.

    `keras_mtl.edge.EdgeModel(directory)` then predicts from raw text with numpy
    and onnxruntime alone. `quantize="int8"` stores a dynamically quantized model.
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError("An edge bundle needs a model with a preprocessor (its tokenizer).")
    tokenizer = preprocessor.tokenizer
    if getattr(tokenizer, "strip_accents", False) or not getattr(tokenizer, "split", True):
        raise ValueError(
            "The edge tokenizer reproduces BERT tokenizers with split=True and "
            "strip_accents=False only."
        )
    os.makedirs(directory, exist_ok=True)
    export_onnx(model, os.path.join(directory, "model.onnx"), quantize=quantize)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokenizer.get_vocabulary()) + "\n")
    config = {
        "format": 1,
        "model": "model.onnx",
        "quantize": quantize,
        "lowercase": bool(tokenizer.lowercase),
        "sequence_length": preprocessor.sequence_length,
        "tasks": [
            {"name": s.name, "type": s.type, "labels": s.labels, "threshold": s.threshold}
            for s in model.tasks
        ],
    }
    with open(os.path.join(directory, BUNDLE_FILE), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    return directory
