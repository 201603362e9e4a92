"""Δm: the mean relative per-task change of a multi-task model over single-task ones.

Maninis, Radosavovic & Kokkinos (2019), "Attentive Single-Tasking of Multiple
Tasks", Eq. 5:

    Δm = (1/T) Σ_t (−1)^{l_t} (M_mt,t − M_st,t) / M_st,t × 100 %

with l_t = 1 when a lower value of task t's metric is better (an error), else 0.
Δm > 0: the multi-task model is better on average.
"""

import numpy as np

def primary_metric(task_type):
    """`(metric name, higher_is_better)` that Δm compares for a task of `task_type`
    (a type name or `TaskType`): the type's own `primary_metric`."""
    from keras_mtl.tasks.registry import get_task_type

    return get_task_type(task_type).primary_metric


def delta_m(multi, single, higher_is_better):
    """Δm in percent.

    Args:
        multi, single: dict task → metric value (same tasks).
        higher_is_better: dict task → bool.

    Example (accuracy 0.90 vs 0.80: +12.5 %; MAE 0.5 vs 0.4: −25 %):

    >>> round(delta_m({"a": 0.9, "b": 0.5}, {"a": 0.8, "b": 0.4}, {"a": True, "b": False}), 6)
    -6.25
    """
    if set(multi) != set(single) or not multi:
        raise ValueError(
            f"Δm needs the same tasks on both sides, got {sorted(multi)} vs {sorted(single)}."
        )
    changes = []
    for task in sorted(multi):
        if single[task] == 0:
            raise ValueError(f"Δm is undefined: the single-task {task} metric is 0.")
        sign = 1.0 if higher_is_better[task] else -1.0
        changes.append(sign * (multi[task] - single[task]) / single[task])
    return float(100.0 * np.mean(changes))
