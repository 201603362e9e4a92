"""Which tasks to train together: the best split of the tasks into at most g models,
from an inter-task affinity matrix (TAG's selection, Fifty et al. 2021)."""

import numpy as np

from keras_mtl.errors import ConfigError

MAX_TASKS = 10  # Bell(10) = 115,975 splits: exhaustive search takes seconds


def json_matrix(matrix):
    """A matrix as nested lists for JSON: values rounded to 8 digits, NaN as None."""
    return [[None if v is None or np.isnan(v) else round(float(v), 8) for v in row]
            for row in np.asarray(matrix, dtype=float).tolist()]


def group_score(affinity, group, task):
    """What `task` gains inside `group`: the mean affinity Z[j, task] onto it from
    the other tasks of the group (0 for a task alone: nothing transfers)."""
    others = [j for j in group if j != task]
    return float(np.mean([affinity[j, task] for j in others])) if others else 0.0


def split_score(affinity, groups):
    """Σ over tasks of `group_score` in the group holding the task."""
    return sum(group_score(affinity, group, task) for group in groups for task in group)


def set_partitions(items, max_groups):
    """Every split of `items` into at most `max_groups` non-empty groups (each once)."""
    items = list(items)
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest, max_groups):
        for k in range(len(partition)):
            yield partition[:k] + [[first] + partition[k]] + partition[k + 1:]
        if len(partition) < max_groups:
            yield [[first]] + partition


def best_groupings(affinity, task_names, max_groups=None):
    """The best split for every budget g = 1 … `max_groups` (default: the task count).

    Args:
        affinity: T×T matrix, `affinity[i, j]` = Zᵢ→ⱼ, how training on task i
            helps task j (the diagonal is ignored).
        task_names: the T task names, in the matrix's order.
        max_groups: the largest number of models allowed.

    Returns:
        a list, one entry per g: `{"models": g, "groups": [[task, ...], ...],
        "score": Σ_task gain, "per_task": {task: gain}}`. A split uses at most g
        groups; with ties the split with fewer groups wins.

    Example:

    >>> z = np.array([[0, .2, -.1], [.3, 0, -.2], [-.1, -.3, 0]])
    >>> [g["groups"] for g in best_groupings(z, ["a", "b", "c"])]
    [[['a', 'b', 'c']], [['a', 'b'], ['c']], [['a', 'b'], ['c']]]
    """
    affinity = np.asarray(affinity, dtype=float)
    names = list(task_names)
    count = len(names)
    if count < 2:
        raise ConfigError(f"Grouping needs at least 2 tasks, got {count} ({names}).")
    if count > MAX_TASKS:
        raise ConfigError(
            f"Exhaustive grouping is limited to {MAX_TASKS} tasks, got {count}."
        )
    if affinity.shape != (count, count):
        raise ConfigError(
            f"The affinity matrix is {affinity.shape}; {count} tasks need ({count}, {count})."
        )
    if not np.isfinite(affinity[~np.eye(count, dtype=bool)]).all():
        raise ConfigError("The affinity matrix holds NaN or infinite values off the diagonal.")
    if max_groups is None:
        max_groups = count
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise ConfigError(f"The grouping budget must be an integer >= 1, got {max_groups!r}.")
    # The best split of each size; the best within budget g is the best of sizes ≤ g.
    by_size = {}
    for partition in set_partitions(range(count), min(max_groups, count)):
        value = split_score(affinity, partition)
        if len(partition) not in by_size or value > by_size[len(partition)][1] + 1e-12:
            by_size[len(partition)] = (partition, value)
    results = []
    chosen = None
    for g in range(1, max_groups + 1):
        if g in by_size and (chosen is None or by_size[g][1] > chosen[1] + 1e-12):
            chosen = by_size[g]
        partition, value = chosen
        groups = sorted(([names[i] for i in sorted(group)] for group in partition),
                        key=lambda group: names.index(group[0]))
        per_task = {names[t]: group_score(affinity, group, t)
                    for group in partition for t in group}
        results.append({"models": g, "groups": groups, "score": value,
                        "per_task": {name: per_task[name] for name in names}})
    return results
