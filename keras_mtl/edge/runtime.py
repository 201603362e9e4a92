"""`EdgeModel`: raw text → decoded task predictions with numpy and onnxruntime only."""

import json
import os

import numpy as np

from keras_mtl.decoding import decode_batch
from keras_mtl.edge.wordpiece import WordPieceTokenizer
from keras_mtl.preprocessing.words import split_words

BUNDLE_FILE = "bundle.json"


class EdgeModel:
    """Runs an edge bundle (`keras_mtl.export.export_edge_bundle`) on onnxruntime.

    The bundle folder holds `model.onnx`, `vocab.txt` and `bundle.json` (task
    names, types, label sets, sequence length). Tokenization reproduces the
    model's TF Text graph in pure Python, so token ids are identical.

    Args:
        path: the bundle folder.
        providers: onnxruntime execution providers (default: CPU).

    Example:

    >>> edge = EdgeModel("saved_models/atis_edge")
    >>> edge.predict(["show me flights to boston"])["slots"]["labels"]
    [['O', 'O', 'O', 'O', 'B-toloc.city_name']]
    """

    def __init__(self, path, providers=None):
        import onnxruntime

        with open(os.path.join(path, BUNDLE_FILE), encoding="utf-8") as f:
            self.config = json.load(f)
        with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
            vocabulary = [line.rstrip("\n") for line in f]
        self.tokenizer = WordPieceTokenizer(vocabulary, lowercase=self.config["lowercase"])
        self.tasks = self.config["tasks"]
        self.sequence_length = int(self.config["sequence_length"])
        self.session = onnxruntime.InferenceSession(
            os.path.join(path, self.config["model"]),
            providers=providers or ["CPUExecutionProvider"],
        )
        self.output_names = [f"{task['name']}_scores" for task in self.tasks]

    def encode(self, text):
        """`(token_ids, word_ids, num_words)` for one text, packed and truncated."""
        words = split_words(text)
        token_ids, word_ids = [self.tokenizer.cls_id], [-1]
        for index, word in enumerate(words):
            pieces = self.tokenizer.tokenize_word(word)
            token_ids.extend(pieces)
            word_ids.extend([index] + [-1] * (len(pieces) - 1))
        limit = self.sequence_length - 1
        token_ids = token_ids[:limit] + [self.tokenizer.sep_id]
        word_ids = word_ids[:limit] + [-1]
        return token_ids, word_ids, len(words)

    def predict(self, texts, batch_size=32):
        """Per-task `{"labels", "scores"}` like `MultiTaskModel.predict` on text."""
        if isinstance(texts, str):
            raise ValueError("predict takes a list of strings, not one string.")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"Text {i} is not a string: {text!r}.")
            if not text.strip():
                raise ValueError(f"Text {i} is empty.")
        results = {t["name"]: {"labels": [None] * len(texts), "scores": [None] * len(texts)}
                   for t in self.tasks}
        encoded = [self.encode(text) for text in texts]
        order = np.argsort([len(e[0]) for e in encoded], kind="stable")
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            length = max(len(encoded[i][0]) for i in index)
            token_ids = np.full((len(index), length), self.tokenizer.pad_id, "int32")
            word_ids = np.full((len(index), length), -1, "int32")
            for row, i in enumerate(index):
                ids, words, _ = encoded[i]
                token_ids[row, : len(ids)] = ids
                word_ids[row, : len(words)] = words
            feeds = {
                "token_ids": token_ids,
                "segment_ids": np.zeros_like(token_ids),
                "padding_mask": (token_ids != self.tokenizer.pad_id).astype("int32"),
            }
            outputs = self.session.run(self.output_names, feeds)
            scores = {task["name"]: value for task, value in zip(self.tasks, outputs)}
            decoded = decode_batch(self.tasks, scores, word_ids, [encoded[i][2] for i in index])
            for name, values in decoded.items():
                for row, i in enumerate(index):
                    results[name]["labels"][i] = values["labels"][row]
                    results[name]["scores"][i] = values["scores"][row]
        return results
