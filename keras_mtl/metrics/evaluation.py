"""Task metrics computed on decoded predictions against the gold label strings."""

import numpy as np

from keras_mtl.metrics.entity_f1 import entity_scores


def evaluate_predictions(tasks, data, predictions):
    """Per-task metrics for `predictions` (from `model.predict(data.texts)`).

    Gold labels are compared as strings, so labels the model never saw in
    training count as errors. Examples with no gold label for a task are skipped
    for that task.

    Returns:
        dict task → metrics, plus `"sentence_accuracy"` (every sentence-level
        classification and every token tag of the example right) over the
        examples that have both kinds of labels.

    Metrics by task type: classification `accuracy`; token classification
    entity `precision` / `recall` / `f1` (conlleval) and `token_accuracy`;
    multi_label `micro_f1` and `exact_match`; regression `mae`, `rmse`, `pearson`.
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
        gold = [gold[i] for i in index]
        predicted = [predicted[i] for i in index]
        if spec.type == "classification":
            right = [g == p for g, p in zip(gold, predicted)]
            report[spec.name] = {"accuracy": float(np.mean(right)), "count": len(index)}
        elif spec.type == "token_classification":
            predicted = [[p if p is not None else "O" for p in tags] for tags in predicted]
            scores = entity_scores(gold, predicted)
            right = [list(g) == list(p) for g, p in zip(gold, predicted)]
            flat_right = [a == b for g, p in zip(gold, predicted) for a, b in zip(g, p)]
            report[spec.name] = {
                "precision": scores["precision"],
                "recall": scores["recall"],
                "f1": scores["f1"],
                "token_accuracy": float(np.mean(flat_right)),
                "count": len(index),
            }
        elif spec.type == "multi_label":
            right = [set(g) == set(p) for g, p in zip(gold, predicted)]
            tp = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted))
            n_pred = sum(len(set(p)) for p in predicted)
            n_gold = sum(len(set(g)) for g in gold)
            precision = tp / n_pred if n_pred else 0.0
            recall = tp / n_gold if n_gold else 0.0
            f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
            report[spec.name] = {
                "micro_f1": f1,
                "exact_match": float(np.mean(right)),
                "count": len(index),
            }
        elif spec.type == "regression":
            g = np.asarray(gold, "float64")
            p = np.asarray(predicted, "float64")
            right = None
            pearson = float(np.corrcoef(g, p)[0, 1]) if len(g) > 1 and np.std(p) > 0 else 0.0
            report[spec.name] = {
                "mae": float(np.mean(np.abs(g - p))),
                "rmse": float(np.sqrt(np.mean((g - p) ** 2))),
                "pearson": pearson,
                "count": len(index),
            }
        if right is not None:
            per_example_right[spec.name] = dict(zip(index, right))
    # Sentence accuracy: over the examples that carry both a sentence-level class
    # and token tags (in a task mixture, the datasets with joint labels), all of
    # the example's labelled classification and token tasks right.
    joint = [
        spec for spec in tasks
        if spec.name in per_example_right
        and spec.type in ("classification", "token_classification")
    ]
    outcomes = []
    for i in range(len(data)):
        labelled = [spec for spec in joint if i in per_example_right[spec.name]]
        if {spec.type for spec in labelled} == {"classification", "token_classification"}:
            outcomes.append(all(per_example_right[spec.name][i] for spec in labelled))
    if outcomes:
        report["sentence_accuracy"] = float(np.mean(outcomes))
    return report
