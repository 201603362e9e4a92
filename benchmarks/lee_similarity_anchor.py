"""The fair anchor for the Lee pair-regression result: the checkpoint's own use.

all-MiniLM-L6-v2 is a sentence-embedding model: its intended similarity is the
cosine of mean-pooled, L2-normalised token vectors (sentence-transformers, at most
256 word pieces per text). This script scores the Lee test pairs that way, zero-shot,
with the same tokenization and split as `keras-mtl train
examples/lee_similarity_minilm6.yaml`, and prints Pearson and Spearman beside the
fine-tuned run's test metrics when a run folder is given.

    python benchmarks/lee_similarity_anchor.py [--run saved_models/lee_minilm6]
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a fine-tuned run folder (metrics.json)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    import keras_hub
    import numpy as np

    from keras_mtl import MultiTaskPreprocessor, TaskSpec
    from keras_mtl.datasets import load_lee
    from keras_mtl.presets import resolve_preset
    from keras_mtl.preprocessing import BertWordPieceTokenizer
    from keras_mtl.tasks import RegressionType

    path = resolve_preset("minilm")
    backbone = keras_hub.models.BertBackbone.from_preset(path)
    tasks = [TaskSpec("similarity", "regression")]
    preprocessor = MultiTaskPreprocessor(BertWordPieceTokenizer.from_preset(path), tasks, 256)
    data = load_lee()[args.split]
    documents = sorted(set(data.texts) | set(data.pairs))
    x, _, _ = preprocessor.pack(preprocessor.encode(np.asarray(documents, dtype=object)))
    vectors = np.asarray(backbone(x)["sequence_output"])
    mask = np.asarray(x["padding_mask"], "float32")[..., None]
    vectors = (vectors * mask).sum(1) / mask.sum(1)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {doc: i for i, doc in enumerate(documents)}
    cosine = [float(vectors[index[a]] @ vectors[index[b]]) for a, b in zip(data.texts, data.pairs)]
    gold = data.labels["similarity"]
    metrics, _ = RegressionType().evaluate(tasks[0], gold, cosine)
    report = {"zero_shot_cosine": {k: metrics[k] for k in ("pearson", "spearman")},
              "pairs": len(gold)}
    if args.run:
        with open(os.path.join(args.run, "metrics.json")) as f:
            run = json.load(f)[args.split]["similarity"]
        report["fine_tuned"] = {k: run[k] for k in ("pearson", "spearman", "mae")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
