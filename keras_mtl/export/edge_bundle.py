"""`export_edge_bundle`: ONNX model + vocabulary + label maps for `keras_mtl.edge`."""

import json
import os

from keras_mtl.edge.runtime import BUNDLE_FILE, BUNDLE_FORMAT
from keras_mtl.export.onnx import export_onnx
from keras_mtl.outputs import check_new_directory, new_directory


def export_edge_bundle(model, directory, quantize=None):
    """Writes `model.onnx`, `vocab.txt` and `bundle.json` into `directory`.

    `directory` must not exist or be empty (`OutputExistsError` otherwise); the
    bundle is written to a temporary folder and moved there when complete.

    `keras_mtl.edge.EdgeModel(directory)` then predicts from raw text with numpy
    and onnxruntime alone. `quantize="int8"` stores a dynamically quantized model.
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError("An edge bundle needs a model with a preprocessor (its tokenizer).")
    tokenizer = preprocessor.tokenizer
    from keras_mtl.preprocessing.bert_tokenizer import BertWordPieceTokenizer

    if not isinstance(tokenizer, BertWordPieceTokenizer):
        raise ValueError(
            "The edge runtime reproduces keras_mtl's BertWordPieceTokenizer (the "
            f"checkpoint's own tokenization); this model uses {type(tokenizer).__name__}. "
            "Rebuild the model with MultiTaskModel.from_preset and retrain it."
        )
    check_new_directory(directory, "edge bundle folder")
    with new_directory(directory, "edge bundle folder") as tmp:
        _write_bundle(model, tokenizer, preprocessor, tmp, quantize)
    return directory


def _write_bundle(model, tokenizer, preprocessor, directory, quantize):
    export_onnx(model, os.path.join(directory, "model.onnx"), quantize=quantize)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokenizer.get_vocabulary()) + "\n")
    config = {
        "format": BUNDLE_FORMAT,
        "model": "model.onnx",
        "quantize": quantize,
        "tokenizer": {
            "lowercase": bool(tokenizer.lowercase),
            "strip_accents": bool(tokenizer.strip_accents),
        },
        "sequence_length": preprocessor.sequence_length,
        "tasks": [spec.describe() for spec in model.tasks],
    }
    with open(os.path.join(directory, BUNDLE_FILE), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
