"""Export a trained run as fp32 and int8 edge bundles, then predict from raw text
with numpy + onnxruntime only, with the compiled and the pure-Python tokenizer.

    keras-mtl --backend tensorflow train        # writes saved_models/atis_minilm2
    python examples/edge_predict.py saved_models/atis_minilm2 --output saved_models/atis_edge

Prints the slots of a few utterances from each bundle, checks that both tokenizers
give the same token ids, and times a batch of 32 requests (see docs/deployment.md).
"""

import argparse
import os
import time

from keras_mtl.datasets import load_atis
from keras_mtl.edge import EdgeModel

TEXTS = ["show me flights from boston to denver tomorrow morning", "what is fare code qx"]


def export(run, output):
    """Both bundles, written once (an existing bundle is reused)."""
    import keras_mtl
    from keras_mtl.export import export_edge_bundle

    model = None
    bundles = {}
    for quantize in (None, "int8"):
        path = os.path.join(output, quantize or "fp32")
        if not os.path.isdir(path):
            model = model or keras_mtl.load_model(os.path.join(run, "model.keras"))
            export_edge_bundle(model, path, quantize=quantize)
        bundles[quantize or "fp32"] = path
    return bundles


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?", default="saved_models/atis_minilm2")
    parser.add_argument("--output", default="saved_models/atis_edge")
    args = parser.parse_args()

    bundles = export(args.run, args.output)
    requests = load_atis()["test"].texts[:32]
    for name, path in bundles.items():
        fast, python = EdgeModel(path), EdgeModel(path, tokenizer="python")
        assert fast.encode_batch(requests) == python.encode_batch(requests)
        for text, tags in zip(TEXTS, fast.predict(TEXTS)["slots"]["labels"]):
            print(f"{name}: {text!r} -> {tags}")
        for label, edge in (("compiled", fast), ("pure-Python", python)):
            edge.predict(requests)  # warm-up
            start = time.perf_counter()
            for _ in range(10):
                edge.predict(requests)
            print(f"{name}, {label} tokenizer: {(time.perf_counter() - start) * 100:.1f} ms "
                  "per batch of 32")


if __name__ == "__main__":
    main()
