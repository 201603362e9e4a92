"""`EdgeModel`: raw text → decoded task predictions with numpy and onnxruntime only."""

import json
import os

import numpy as np

from keras_mtl.decoding import decode_batch
from keras_mtl.edge.wordpiece import WordPieceTokenizer
from keras_mtl.preprocessing.text_inputs import check_texts
from keras_mtl.preprocessing.truncation import segment_lengths
from keras_mtl.preprocessing.words import split_words
from keras_mtl.tasks.description import TaskDescription

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = 2


class EdgeModel:
    """Runs an edge bundle (`keras_mtl.export.export_edge_bundle`) on onnxruntime.

    The bundle folder holds `model.onnx`, `vocab.txt` and `bundle.json` (task
    descriptions, tokenizer settings, sequence length). Tokenization reproduces the
    checkpoint's tokenizer in pure Python, exactly as the model's TF graph does,
    and text pairs are packed and trimmed by the same rule; each task's type
    decodes its scores (numpy).

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

        config_path = os.path.join(path, BUNDLE_FILE)
        if not os.path.isfile(config_path):
            raise ValueError(f"{path} is not an edge bundle: it has no {BUNDLE_FILE}.")
        with open(config_path, encoding="utf-8") as f:
            self.config = json.load(f)
        if self.config.get("format") != BUNDLE_FORMAT:
            raise ValueError(
                f"{config_path}: bundle format {self.config.get('format')!r}; this "
                f"runtime reads format {BUNDLE_FORMAT}. Re-export it with "
                "`keras-mtl export RUN --format edge`."
            )
        with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
            vocabulary = [line.rstrip("\n") for line in f]
        tokenizer = self.config["tokenizer"]
        self.tokenizer = WordPieceTokenizer(
            vocabulary, lowercase=tokenizer["lowercase"], strip_accents=tokenizer["strip_accents"]
        )
        self.tasks = [TaskDescription.from_dict(task) for task in self.config["tasks"]]
        self.sequence_length = int(self.config["sequence_length"])
        self.session = onnxruntime.InferenceSession(
            os.path.join(path, self.config["model"]),
            providers=providers or ["CPUExecutionProvider"],
        )
        self.output_names = [f"{task.name}_scores" for task in self.tasks]

    def _pieces(self, text):
        words = split_words(text)
        return words, [self.tokenizer.tokenize_word(word) for word in words]

    def encode(self, text, text_pair=None):
        """`(token_ids, segment_ids, word_ids, num_words)` of one example, packed."""
        words, pieces = self._pieces(text)
        first = [i for word in pieces for i in word]
        word_ids = [w if j == 0 else -1 for w, word in enumerate(pieces) for j in range(len(word))]
        second = [] if text_pair is None else [i for word in self._pieces(text_pair)[1] for i in word]
        keep_a, keep_b = segment_lengths(len(first), len(second), self.sequence_length)
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        token_ids = [cls_id] + first[:keep_a] + [sep_id]
        segments = [0] * len(token_ids)
        word_ids = [-1] + word_ids[:keep_a] + [-1]
        if keep_b:
            token_ids += second[:keep_b] + [sep_id]
            segments += [1] * (keep_b + 1)
            word_ids += [-1] * (keep_b + 1)
        return token_ids, segments, word_ids, len(words)

    def predict(self, texts, text_pairs=None, batch_size=32):
        """Per-task `{"labels", "scores"}` like `MultiTaskModel.predict` on text.

        `text_pairs`: optional second texts (one per text, `None` for none).
        """
        texts, pairs = check_texts(texts, text_pairs, self.tasks)
        results = {task.name: {"labels": [None] * len(texts), "scores": [None] * len(texts)}
                   for task in self.tasks}
        encoded = [self.encode(text, pair) for text, pair in zip(texts, pairs)]
        order = np.argsort([len(e[0]) for e in encoded], kind="stable")
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            length = max(len(encoded[i][0]) for i in index)
            token_ids = np.full((len(index), length), self.tokenizer.pad_id, "int32")
            segment_ids = np.zeros((len(index), length), "int32")
            padding_mask = np.zeros((len(index), length), "int32")
            word_ids = np.full((len(index), length), -1, "int32")
            for row, i in enumerate(index):
                ids, segments, words, _ = encoded[i]
                token_ids[row, : len(ids)] = ids
                segment_ids[row, : len(ids)] = segments
                # From the length, not the pad id: a text may spell out "[PAD]".
                padding_mask[row, : len(ids)] = 1
                word_ids[row, : len(words)] = words
            feeds = {
                "token_ids": token_ids,
                "segment_ids": segment_ids,
                "padding_mask": padding_mask,
            }
            outputs = self.session.run(self.output_names, feeds)
            scores = {task.name: value for task, value in zip(self.tasks, outputs)}
            decoded = decode_batch(
                self.tasks, scores, word_ids, [encoded[i][3] for i in index],
                has_pair=[pairs[i] is not None for i in index],
            )
            for name, values in decoded.items():
                for row, i in enumerate(index):
                    results[name]["labels"][i] = values["labels"][row]
                    results[name]["scores"][i] = values["scores"][row]
        return results
