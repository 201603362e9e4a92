"""`EdgeModel`: raw text → decoded task predictions with numpy and onnxruntime only."""

import os

import numpy as np

from keras_mtl import artifacts
from keras_mtl.artifacts import BUNDLE_FILE, EXPORT_EDGE
from keras_mtl.decoding import decode_batch, empty_results, finish_results
from keras_mtl.edge.wordpiece import check_implementation, make_tokenizer
from keras_mtl.errors import ArtifactError
from keras_mtl.preprocessing.text_inputs import check_batch_size, check_texts
from keras_mtl.preprocessing.truncation import segment_lengths, warn_truncated
from keras_mtl.preprocessing.words import split_words

BUNDLE_FORMAT = 2


class EdgeModel:
    """Runs an edge bundle (`keras_mtl.export.export_edge_bundle`) on onnxruntime.

    The bundle folder holds `model.onnx`, `vocab.txt` and `bundle.json` (task
    descriptions, tokenizer settings, sequence length). Tokenization reproduces the
    checkpoint's tokenizer exactly as the model's TF graph does,
    and text pairs are packed and trimmed by the same rule; each task's type
    decodes its scores (numpy).

    Args:
        path: the bundle folder.
        providers: onnxruntime execution providers (default: CPU).
        tokenizer: `"auto"` (default: Hugging Face `tokenizers` when installed,
            else pure Python), `"fast"` or `"python"`: the same ids either way
            (`keras_mtl.edge.wordpiece`).

    Raises `keras_mtl.errors.ArtifactError`, naming the file, for a path that is
    not a complete bundle of this format (a bare `.onnx` file, a missing
    `model.onnx` or `vocab.txt`, an unreadable or newer `bundle.json`).

    Example:

    ```python
    edge = EdgeModel("saved_models/atis_edge")
    edge.predict(["show me flights to boston"])["slots"]["labels"]
    # [['O', 'O', 'O', 'O', 'B-toloc.city_name']]
    ```
    """

    def __init__(self, path, providers=None, tokenizer="auto"):
        check_implementation(tokenizer)
        path = os.fspath(path)
        if os.path.isfile(path) and path.lower().endswith(".onnx"):
            raise ArtifactError(artifacts.bare_onnx_message(path))
        if artifacts.artifact_kind(path) != "edge":
            raise ArtifactError(
                f"{path} is not an edge bundle (it has no {BUNDLE_FILE}): predict from "
                f"it with `keras-mtl predict`, or export a bundle with {EXPORT_EDGE}."
            )
        what = f"the edge bundle {path}"
        config_path = os.path.join(path, BUNDLE_FILE)
        self.config = artifacts.read_json(config_path, what, f"Re-export it with {EXPORT_EDGE}.")
        artifacts.check_format(self.config, config_path, BUNDLE_FORMAT, EXPORT_EDGE)
        missing = [key for key in ("model", "tokenizer", "sequence_length", "tasks")
                   if key not in self.config]
        if missing:
            raise ArtifactError(
                f"{config_path} has no {', '.join(missing)}: the bundle is corrupt. "
                f"Re-export it with {EXPORT_EDGE}."
            )
        self.tasks = artifacts.read_tasks(self.config, config_path, EXPORT_EDGE)
        self.tokenizer = _read_tokenizer(path, self.config["tokenizer"], tokenizer)
        self.sequence_length = self.config["sequence_length"]
        if isinstance(self.sequence_length, bool) or not isinstance(self.sequence_length, int) \
                or self.sequence_length < 4:
            raise ArtifactError(
                f"{config_path}: sequence_length {self.sequence_length!r} is not an integer "
                f">= 4: the bundle is corrupt. Re-export it with {EXPORT_EDGE}."
            )
        self.session = _open_session(os.path.join(path, str(self.config["model"])), providers)
        self.output_names = [f"{task.name}_scores" for task in self.tasks]
        outputs = {output.name for output in self.session.get_outputs()}
        absent = [name for name in self.output_names if name not in outputs]
        if absent:
            raise ArtifactError(
                f"{path}: the ONNX model has no output {', '.join(absent)} for the tasks "
                f"of {BUNDLE_FILE}: the files come from different exports. Re-export it "
                f"with {EXPORT_EDGE}."
            )

    def encode(self, text, text_pair=None):
        """`(token_ids, segment_ids, word_ids, num_words)` of one example, packed."""
        return self.encode_batch([text], [text_pair])[0]

    def encode_batch(self, texts, text_pairs=None):
        """`encode` of every example (one tokenizer call for the whole batch)."""
        if text_pairs is None:
            text_pairs = [None] * len(texts)
        words = [split_words(text) for text in texts]
        pair_texts = [pair for pair in text_pairs if pair is not None]
        pieces = self.tokenizer.tokenize_texts(words + [split_words(pair) for pair in pair_texts])
        second_pieces = iter(pieces[len(texts):])
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        encoded = []
        for text_words, first_pieces, pair in zip(words, pieces, text_pairs):
            first = [i for word in first_pieces for i in word]
            word_ids = [w if j == 0 else -1 for w, word in enumerate(first_pieces) for j in range(len(word))]
            second = [] if pair is None else [i for word in next(second_pieces) for i in word]
            keep_a, keep_b = segment_lengths(len(first), len(second), self.sequence_length)
            token_ids = [cls_id] + first[:keep_a] + [sep_id]
            segments = [0] * len(token_ids)
            word_ids = [-1] + word_ids[:keep_a] + [-1]
            if keep_b:
                token_ids += second[:keep_b] + [sep_id]
                segments += [1] * (keep_b + 1)
                word_ids += [-1] * (keep_b + 1)
            encoded.append((token_ids, segments, word_ids, len(text_words)))
        return encoded

    def predict(self, texts, text_pairs=None, batch_size=32):
        """Per-task `{"labels", "scores"}` like `MultiTaskModel.predict` on text.

        `texts` may hold `(text, second_text)` tuples, or `text_pairs` gives one
        second text (or `None`) per text. Word-level tasks give one label per
        word, `None` for words cut off by truncation (with the same
        `TruncationWarning` as the Keras model); an empty list gives empty lists.

        The texts run sorted by length, at most `batch_size` at a time, in
        length groups each padded to its own longest (`length_groups`).
        """
        texts, pairs = check_texts(texts, text_pairs, self.tasks)
        batch_size = check_batch_size(batch_size)
        results = empty_results(self.tasks, len(texts))
        encoded = self.encode_batch(texts, pairs)
        warn_truncated(
            [e[3] for e in encoded], [sum(w >= 0 for w in e[2]) for e in encoded],
            self.sequence_length, stacklevel=2,
        )
        lengths = [len(e[0]) for e in encoded]
        order = np.argsort(lengths, kind="stable")
        for index in length_groups([lengths[i] for i in order], batch_size):
            index = order[index]
            length = lengths[index[-1]]
            token_ids = np.full((len(index), length), self.tokenizer.pad_id, "int32")
            segment_ids = np.zeros((len(index), length), "int32")
            word_ids = np.full((len(index), length), -1, "int32")
            for row, i in enumerate(index):
                ids, segments, words, _ = encoded[i]
                token_ids[row, : len(ids)] = ids
                segment_ids[row, : len(ids)] = segments
                word_ids[row, : len(words)] = words
            # From the lengths, not the pad id: a text may spell out "[PAD]".
            padding_mask = (np.arange(length) < np.asarray([lengths[i] for i in index])[:, None])
            feeds = {
                "token_ids": token_ids,
                "segment_ids": segment_ids,
                "padding_mask": padding_mask.astype("int32"),
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
        return finish_results(self.tasks, results)


def length_groups(sorted_lengths, batch_size, run_cost=64):
    """Splits texts sorted by length into runs of at most `batch_size`, each
    padded to its own longest, with the least padded positions plus
    `run_cost` positions per run. Returns index arrays into `sorted_lengths`.

    `run_cost` stands for what a run costs beyond its positions (the call, and
    smaller matrix products running below the CPU's peak): on ATIS batches of 32
    with MiniLM, 16 to 128 gave the same speed, 10 % faster than one run padded
    to the longest text; 256 and more lost that gain.

    >>> [g.tolist() for g in length_groups([3, 3, 4, 4, 40, 41], batch_size=32)]
    [[0, 1, 2, 3], [4, 5]]
    """
    count = len(sorted_lengths)
    # best[j]: least cost of the first j texts; cut[j]: where its last run starts.
    best = [0.0] + [float("inf")] * count
    cut = [0] * (count + 1)
    for j in range(1, count + 1):
        for i in range(max(0, j - batch_size), j):
            cost = best[i] + (j - i) * sorted_lengths[j - 1] + run_cost
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], count
    while j > 0:
        groups.append(np.arange(cut[j], j))
        j = cut[j]
    return groups[::-1]


def _read_tokenizer(path, settings, implementation):
    """The bundle's `WordPieceTokenizer`; an `ArtifactError` for a missing,
    unreadable or unusable `vocab.txt` or tokenizer settings."""
    vocab_path = os.path.join(path, "vocab.txt")
    fix = f"Re-export the bundle with {EXPORT_EDGE}."
    try:
        with open(vocab_path, encoding="utf-8") as f:
            vocabulary = [line.rstrip("\n") for line in f]
    except FileNotFoundError:
        raise ArtifactError(
            f"{vocab_path} is missing: the edge bundle is incomplete. {fix}"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{vocab_path} is not a readable vocabulary ({error}). {fix}") from None
    if not isinstance(settings, dict) or not {"lowercase", "strip_accents"} <= set(settings):
        raise ArtifactError(
            f"{os.path.join(path, BUNDLE_FILE)}: 'tokenizer' must hold lowercase and "
            f"strip_accents. {fix}"
        )
    try:
        return make_tokenizer(
            vocabulary, implementation,
            lowercase=settings["lowercase"], strip_accents=settings["strip_accents"],
        )
    except ValueError as error:
        raise ArtifactError(f"{vocab_path}: {error} {fix}") from None


def _open_session(model_path, providers):
    import onnxruntime

    fix = f"Re-export the bundle with {EXPORT_EDGE}."
    if not os.path.isfile(model_path):
        raise ArtifactError(f"{model_path} is missing: the edge bundle is incomplete. {fix}")
    try:
        return onnxruntime.InferenceSession(
            model_path, providers=providers or ["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's own exception types (Fail, InvalidProtobuf...)
        raise ArtifactError(
            f"{model_path} is not a valid ONNX model ({artifacts.first_line(error)}). {fix}"
        ) from None
