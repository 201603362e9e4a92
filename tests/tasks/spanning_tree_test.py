import functools
import itertools
import time

import numpy as np
import pytest

from keras_mtl.tasks.spanning_tree import is_tree, max_spanning_tree

X = 0.0  # a self-loop entry: ignored whatever its value


@functools.lru_cache(maxsize=None)
def all_trees(n):
    """Every head assignment of n words that is a tree, by brute force: follow
    heads n times from every word; a tree is when all walks end at the root."""
    assignments = np.array(list(itertools.product(range(n + 1), repeat=n)))
    with_root = np.concatenate([np.zeros((len(assignments), 1), int), assignments], axis=1)
    position = np.tile(np.arange(1, n + 1), (len(assignments), 1))
    for _ in range(n):
        position = np.take_along_axis(with_root, position, axis=1)
    return assignments[(position == 0).all(axis=1)]


def brute_force_best(scores, single_root):
    n = scores.shape[0]
    trees = all_trees(n)
    if single_root:
        trees = trees[(trees == 0).sum(axis=1) == 1]
    totals = scores[np.arange(n), trees].sum(axis=1)
    return totals.max()


def total(scores, heads):
    return scores[np.arange(len(heads)), heads].sum()


def test_brute_force_counts_trees():
    # Cayley: (n + 1)^(n - 1) trees on n words plus a root; n^(n - 1) with one root child.
    for n in range(1, 6):
        trees = all_trees(n)
        assert len(trees) == (n + 1) ** (n - 1)
        assert ((trees == 0).sum(axis=1) == 1).sum() == n ** (n - 1)


@pytest.mark.parametrize("single_root", [False, True])
def test_matches_brute_force_on_random_scores(single_root):
    rng = np.random.default_rng(0)
    for trial in range(150):
        n = int(rng.integers(1, 7))
        if trial % 3 == 0:  # many ties
            scores = rng.integers(-2, 2, size=(n, n + 1)).astype(float)
        else:
            scores = rng.normal(size=(n, n + 1))
        if trial % 5 == 0:
            scores[rng.random(scores.shape) < 0.3] = -np.inf
        scores[np.arange(n), np.arange(1, n + 1)] = 100.0  # self-loops must be ignored
        heads = max_spanning_tree(scores, single_root=single_root)
        assert heads.dtype.kind == "i" and heads.shape == (n,)
        assert is_tree(heads, single_root=single_root), (scores, heads)
        best = brute_force_best(scores, single_root)
        score = total(scores, heads)
        assert score == pytest.approx(best) or score == best == -np.inf
        np.testing.assert_array_equal(heads, max_spanning_tree(scores.copy(), single_root))


def test_greedy_cycle_is_broken_where_it_costs_least():
    # Greedy: word 1 → 2 (-0.2), word 2 → 1 (-0.3): a cycle. Break it at word 1
    # (1 → root: -2.0 - 0.3 = -2.3) or at word 2 (2 → root: -1.2 - 0.2 = -1.4).
    scores = np.array([[-2.0, X, -0.2], [-1.2, -0.3, X]])
    greedy = scores.copy()
    greedy[np.arange(2), np.arange(1, 3)] = -np.inf
    assert greedy.argmax(axis=1).tolist() == [2, 1]
    for single_root in (False, True):
        assert max_spanning_tree(scores, single_root).tolist() == [2, 0]


def test_single_root_when_best_tree_has_two_root_children():
    scores = np.array([
        # root, word 1, word 2, word 3
        [5.0, X, 4.0, 0.0],
        [5.0, 1.0, X, 0.0],
        [0.0, 0.0, 3.0, X],
    ])
    # Unconstrained: 1 → 0, 2 → 0, 3 → 2 = 5 + 5 + 3 = 13 (two root children).
    assert max_spanning_tree(scores, single_root=False).tolist() == [0, 0, 2]
    # One root: root child 1 gives 5 + 1 (2 → 1) + 3 = 9; root child 2 gives
    # 4 (1 → 2) + 5 + 3 = 12; root child 3 gives at best 0 + 4 (1 → 2) + 0 (2 → 3) = 4.
    assert max_spanning_tree(scores, single_root=True).tolist() == [2, 0, 2]


def test_one_word_infinite_scores_and_ties():
    assert max_spanning_tree(np.array([[-3.0, 7.0]])).tolist() == [0]
    assert max_spanning_tree(np.array([[-np.inf, X]])).tolist() == [0]
    # Only word 3 may attach to the root; only word 3 may head word 1.
    scores = np.full((3, 4), -np.inf)
    scores[2, 0] = 0.0
    scores[0, 3] = 0.0
    scores[1, 1] = -1.0
    scores[1, 3] = -2.0
    assert max_spanning_tree(scores).tolist() == [3, 1, 0]
    # No finite tree at all: still a tree.
    assert is_tree(max_spanning_tree(np.full((4, 5), -np.inf)), single_root=True)
    # All scores equal: deterministic, lowest head index first.
    assert max_spanning_tree(np.zeros((3, 4)), single_root=False).tolist() == [0, 0, 0]
    tied = max_spanning_tree(np.zeros((3, 4)))
    assert is_tree(tied, single_root=True)
    assert (tied == max_spanning_tree(np.zeros((3, 4)))).all()


def test_bad_scores():
    with pytest.raises(ValueError, match=r"shape \(n, n \+ 1\)"):
        max_spanning_tree(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        max_spanning_tree(np.array([[np.nan, 0.0]]))


def test_is_tree():
    assert is_tree([0]) and is_tree([2, 0, 2]) and is_tree([0, 0])
    assert not is_tree([0, 0], single_root=True)
    assert not is_tree([2, 1, 0])  # cycle 1 ↔ 2
    assert not is_tree([1])  # self-loop
    assert not is_tree([2, 3])  # head 3 out of range
    assert not is_tree([])


def test_fast_enough_for_long_sentences():
    rng = np.random.default_rng(0)
    n = 100
    gold = np.array([0] + [int(rng.integers(0, i)) + 1 for i in range(1, n)])  # a tree
    scores = rng.normal(size=(n, n + 1))
    scores[np.arange(n), gold] += 3.0
    start = time.perf_counter()
    for _ in range(5):
        heads = max_spanning_tree(scores)
    seconds = (time.perf_counter() - start) / 5
    assert is_tree(heads, single_root=True)
    assert total(scores, heads) >= total(scores, gold)
    assert seconds < 0.5  # typically under 10 ms; generous for loaded machines
