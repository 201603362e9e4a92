"""Maximum spanning trees for dependency parsing (Chu-Liu-Edmonds), numpy only.

A parser scores every (dependent, head) pair; decoding picks the tree with the
highest total score. Greedy argmax per word can make cycles; Chu-Liu-Edmonds
(Chu & Liu 1965, Edmonds 1967, as in McDonald et al. 2005) repairs them by
contracting each cycle into one node, solving the smaller problem and expanding.

**One root.** UD trees (and the CoNLL 2018 shared task) attach exactly one word
to the root. The unconstrained best tree may attach several. We add the
constraint exactly, with the reduction of Gabow & Tarjan (1984) discussed by
Zmigrod, Vieira & Cotterell (2020, "Please Mind the Root"): each root edge pays
a penalty larger than any score difference, so the best tree has one root
edge, and among those the highest score. The penalty is not a big float added
to the scores (which would round them): edge weights are compared
lexicographically as (−root edges, −impossible edges, score), and
Chu-Liu-Edmonds only adds, subtracts and compares weights, so it is exact in
that ordered group. The middle key makes `-inf` scores safe: a tree with only
finite scores is returned whenever one exists.

Ties go to the lowest head index (numpy's first argmax), so results are
deterministic.
"""

import numpy as np

_ROOT_KEY, _POSSIBLE_KEY, _SCORE_KEY = 0, 1, 2


def is_tree(heads, single_root=False):
    """Whether `heads` (word i+1 → head, 0 = root) is a tree rooted at 0.

    Every head must be an integer in 0..n other than the word itself, and
    following heads from any word must reach 0. With `single_root`, exactly one
    word has head 0.

    Example:

    >>> is_tree([2, 0, 2]), is_tree([2, 1, 0]), is_tree([0, 0], single_root=True)
    (True, False, False)
    """
    heads = [int(head) for head in heads]
    n = len(heads)
    if n == 0 or any(not 0 <= head <= n for head in heads):
        return False
    if single_root and heads.count(0) != 1:
        return False
    return _find_cycle([0] + heads) is None


def max_spanning_tree(scores, single_root=True):
    """The highest-scoring dependency tree: one head per word.

    Args:
        scores: `(n, n + 1)` array; `scores[i, h]` is the log-score that word
            `i + 1` has head `h` (`h = 0` is the root). Self-loops
            `scores[i, i + 1]` are ignored; `-inf` forbids an edge (if every
            tree needs a forbidden edge, a tree with as few as possible is
            returned).
        single_root: exactly one word attached to the root (UD, CoNLL 2018).

    Returns:
        int array of `n` heads in 0..n forming a tree rooted at 0 that
        maximizes `sum(scores[i, heads[i]])`.

    Example: word 1 and word 2 prefer each other (a cycle for greedy argmax);
    the best tree breaks the cycle where it costs least.

    >>> scores = np.array([[-2.0, 0.0, -0.2],   # word 1: head root, (self), word 2
    ...                    [-1.2, -0.3, 0.0]])  # word 2: head root, word 1, (self)
    >>> max_spanning_tree(scores).tolist()  # -1.2 - 0.2 beats -2.0 - 0.3
    [2, 0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] < 1 or scores.shape[1] != scores.shape[0] + 1:
        raise ValueError(f"`scores` must have shape (n, n + 1) with n >= 1, got {scores.shape}.")
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise ValueError("`scores` must not contain NaN or +inf.")
    n = scores.shape[0]
    # weights[key, head, dependent] over nodes 0..n; -inf in the root key = no edge.
    weights = np.zeros((3, n + 1, n + 1))
    possible = np.isfinite(scores.T)
    weights[_SCORE_KEY, :, 1:] = np.where(possible, scores.T, 0.0)
    weights[_POSSIBLE_KEY, :, 1:] = np.where(possible, 0.0, -1.0)
    if single_root:
        weights[_ROOT_KEY, 0, 1:] = -1.0
    weights[_ROOT_KEY, :, 0] = -np.inf  # nothing heads the root
    weights[_ROOT_KEY, np.arange(n + 1), np.arange(n + 1)] = -np.inf  # no self-loops
    return _chu_liu_edmonds(weights)[1:]


def _lex_argmax(weights, axis):
    """Index of the lexicographically largest weight vector along `axis`
    (an axis of `weights[0]`); the first on ties."""
    keep = np.ones(weights.shape[1:], dtype=bool)
    for key in weights:
        values = np.where(keep, key, -np.inf)
        keep &= values == values.max(axis=axis, keepdims=True)
    return keep.argmax(axis=axis)


def _find_cycle(heads):
    """The nodes of one cycle of `heads` (node → head, node 0 the root), or None."""
    state = np.zeros(len(heads), dtype=np.int8)  # 0 unseen, 1 on this walk, 2 done
    state[0] = 2
    for start in range(1, len(heads)):
        walk, node = [], start
        while state[node] == 0:
            state[node] = 1
            walk.append(node)
            node = heads[node]
        if state[node] == 1:
            return walk[walk.index(node):]
        state[walk] = 2
    return None


def _chu_liu_edmonds(weights):
    """Heads (index 0 unused) of the best arborescence of `weights[:, head, dep]`.

    Contract cycles until the greedy choice is a tree, then expand the
    contractions in reverse order. Iterative, so long sentences need no deep
    recursion.
    """
    contractions = []
    while True:
        size = weights.shape[1]
        heads = _lex_argmax(weights, axis=0)
        heads[0] = 0
        cycle = _find_cycle(heads)
        if cycle is None:
            break
        cycle = np.sort(np.asarray(cycle))
        rest = np.setdiff1d(np.arange(size), cycle)  # sorted; keeps the root first
        # An edge u → cycle enters at the node v it frees: weight w(u, v) − w(head(v), v).
        entering = weights[:, rest][:, :, cycle] - weights[:, heads[cycle], cycle][:, None, :]
        enter_at = _lex_argmax(entering, axis=1)  # per outside head u
        leaving = weights[:, cycle][:, :, rest]
        leave_from = _lex_argmax(leaving, axis=0)  # per outside dependent v
        contracted = np.full((3, len(rest) + 1, len(rest) + 1), 0.0)
        contracted[:, :-1, :-1] = weights[:, rest][:, :, rest]
        contracted[:, :-1, -1] = entering[:, np.arange(len(rest)), enter_at]
        contracted[:, -1, :-1] = leaving[:, leave_from, np.arange(len(rest))]
        contracted[_ROOT_KEY, -1, -1] = -np.inf
        contractions.append((heads, cycle, rest, enter_at, leave_from))
        weights = contracted
    for outer_heads, cycle, rest, enter_at, leave_from in reversed(contractions):
        new_node = len(rest)
        expanded = outer_heads.copy()  # cycle nodes keep their cycle heads by default
        for position, node in enumerate(rest[1:], 1):
            head = heads[position]
            expanded[node] = cycle[leave_from[position]] if head == new_node else rest[head]
        head_of_cycle = heads[new_node]
        expanded[cycle[enter_at[head_of_cycle]]] = rest[head_of_cycle]
        heads = expanded
    return heads.astype(np.int64)
