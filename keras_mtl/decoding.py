"""Scores → labels, in numpy only (shared by the Keras model and the edge runtime).

No Keras or TensorFlow import here: `keras_mtl.edge` runs on numpy and
onnxruntime alone.
"""

import numpy as np


def decode_scores(task_type, labels, scores, threshold=0.5):
    """One example's label(s) from its scores.

    `classification` / `token_classification` (one position): the top label;
    `multi_label`: the labels scoring ≥ `threshold`; `regression`: the value.
    """
    scores = np.asarray(scores)
    if task_type in ("classification", "token_classification"):
        return labels[int(np.argmax(scores))]
    if task_type == "multi_label":
        return [labels[i] for i in np.flatnonzero(scores >= threshold)]
    if task_type == "regression":
        return float(scores.reshape(-1)[0])
    raise ValueError(f"Unknown task type {task_type!r}.")


def decode_batch(tasks, scores, word_ids, num_words):
    """Per-task labels and scores for a batch; token tasks re-joined into words.

    Args:
        tasks: list of dicts (or objects) with `name`, `type`, `labels`,
            `threshold`.
        scores: dict task → array of model outputs for the batch.
        word_ids: (batch, length) array: a word's index at its first sub-word,
            -1 elsewhere.
        num_words: (batch,) words per text before truncation.

    Returns:
        dict task → `{"labels": [...], "scores": [...]}`, one entry per text; token
        tasks give one label per word, `None` for words cut off by truncation.
    """
    word_ids = np.asarray(word_ids)
    results = {}
    for task in tasks:
        get = task.get if isinstance(task, dict) else lambda k, t=task: getattr(t, k)
        name, kind, labels = get("name"), get("type"), get("labels")
        threshold = get("threshold")
        task_scores = np.asarray(scores[name])
        all_labels, all_scores = [], []
        for i in range(len(word_ids)):
            if kind == "token_classification":
                per_word = task_scores[i, np.flatnonzero(word_ids[i] >= 0)]
                tags = [decode_scores(kind, labels, s) for s in per_word]
                tags += [None] * (int(num_words[i]) - len(tags))
                all_labels.append(tags)
                all_scores.append(per_word)
            else:
                all_labels.append(decode_scores(kind, labels, task_scores[i], threshold))
                all_scores.append(task_scores[i])
        results[name] = {"labels": all_labels, "scores": all_scores}
    return results
