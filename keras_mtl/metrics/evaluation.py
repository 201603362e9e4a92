"""Task metrics computed on decoded predictions against the gold labels."""

import numpy as np


def evaluate_predictions(tasks, data, predictions):
    """Per-task metrics for `predictions` (from `model.predict(data)`).

    Each task's type computes its metrics (`TaskType.evaluate`) over the examples
    that carry a gold label for it. Gold labels are compared as they are written
    (strings, heads), so labels the model never saw in training count as errors.

    Returns:
        dict task → metrics (with `count`, the labelled examples), plus
        `"sentence_accuracy"`: over the examples that carry both a sentence-level
        and a word-level label of the types that join it (classification, BIO
        and plain tags), whether all of the example's such labels are right.
    """
    report = {}
    per_example_right = {}
    for spec in tasks:
        if spec.name not in data.labels:
            continue
        gold = data.labels[spec.name]
        predicted = predictions[spec.name]["labels"]
        index = [i for i, g in enumerate(gold) if g is not None]
        if not index:
            continue
        metrics, right = spec.task_type.evaluate(
            spec, [gold[i] for i in index], [predicted[i] for i in index]
        )
        report[spec.name] = {**metrics, "count": len(index)}
        if right is not None and spec.task_type.joins_sentence_accuracy:
            per_example_right[spec.name] = (spec.token_level, dict(zip(index, right)))
    outcomes = []
    for i in range(len(data)):
        labelled = [(level, right[i]) for level, right in per_example_right.values() if i in right]
        if {level for level, _ in labelled} == {True, False}:
            outcomes.append(all(ok for _, ok in labelled))
    if outcomes:
        report["sentence_accuracy"] = float(np.mean(outcomes))
    return report
