"""Scores → labels for a batch, in numpy only (shared by the Keras model and the
edge runtime). Each task's type decodes its own scores (`TaskType.decode`).

No Keras or TensorFlow import here: `keras_mtl.edge` runs on numpy and
onnxruntime alone.
"""

import numpy as np


def decode_batch(tasks, scores, word_ids, num_words, has_pair=None):
    """Per-task labels and scores for a batch; word-level tasks re-joined into words.

    Args:
        tasks: `TaskSpec`s or `TaskDescription`s.
        scores: dict task → array of model outputs for the batch.
        word_ids: (batch, length) array: a word's index at its first sub-word,
            -1 elsewhere.
        num_words: (batch,) words per text before truncation.
        has_pair: (batch,) bools, whether each example has a second text; a
            text-pair task predicts `None` for an example without one.

    Returns:
        dict task → `{"labels": [...], "scores": [...]}`, one entry per text; word-level
        tasks give one label per word, `None` for words cut off by truncation.
    """
    word_ids = np.asarray(word_ids)
    if has_pair is None:
        has_pair = np.zeros(len(word_ids), bool)
    results = {}
    for task in tasks:
        task_type = task.task_type
        task_scores = np.asarray(scores[task.name])
        rows = [i for i in range(len(word_ids)) if has_pair[i] or not task.text_pair]
        labels, values = [None] * len(word_ids), [None] * len(word_ids)
        if task_type.token_level:
            positions = [np.flatnonzero(word_ids[i] >= 0) for i in rows]
            decoded = task_type.decode_many(task, task_scores[rows], positions)
        else:
            decoded = task_type.decode_many(task, task_scores[rows])
        for i, (label, value) in zip(rows, decoded):
            if task_type.token_level:
                label = list(label) + [None] * (int(num_words[i]) - len(label))
            labels[i], values[i] = label, value
        results[task.name] = {"labels": labels, "scores": values}
    return results


def empty_results(tasks, size):
    """`{task: {"labels": [None] * size, "scores": [None] * size}}`, filled by the
    runtimes batch by batch (`size=0`: the result of an empty list of texts)."""
    return {task.name: {"labels": [None] * size, "scores": [None] * size} for task in tasks}


def finish_results(tasks, results):
    """The structure every runtime returns: sentence-level scores stacked into one
    `(texts, ...)` array when every example has them (a text-pair task on a single
    text has `None`); word-level scores stay one array per text (its kept words)."""
    for task in tasks:
        scores = results[task.name]["scores"]
        if scores and not task.token_level and all(value is not None for value in scores):
            results[task.name]["scores"] = np.stack(scores)
    return results
