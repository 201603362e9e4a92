import random

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score

from keras_mtl.metrics import entity_scores, get_entities


def test_chunks_follow_conlleval_rules():
    tags = ["B-city", "I-city", "O", "I-day", "I-day", "B-day", "I-city", "B-x"]
    # I- after O starts a chunk; a type change ends one.
    assert get_entities(tags) == [
        ("city", 0, 1), ("day", 3, 4), ("day", 5, 5), ("city", 6, 6), ("x", 7, 7),
    ]


def test_scores_worked_out_by_hand():
    gold = [["B-city", "I-city", "O", "B-day"], ["B-x", "O"]]
    predicted = [["B-city", "O", "O", "B-day"], ["B-x", "B-x"]]
    # gold: city(0-1), day(3), x(0) = 3; predicted: city(0), day(3), x(0), x(1) = 4;
    # correct: day, x = 2 -> P = 2/4, R = 2/3, F1 = 4/7.
    scores = entity_scores(gold, predicted)
    assert (scores["num_gold"], scores["num_predicted"], scores["num_correct"]) == (3, 4, 2)
    assert scores["f1"] == pytest.approx(4 / 7)
    assert scores["per_type"]["city"]["f1"] == 0.0


def test_matches_seqeval_on_random_sequences():
    rng = random.Random(0)
    tags = ["O", "B-a", "I-a", "B-b", "I-b", "B-c.d", "I-c.d"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    predicted = [[t if rng.random() < 0.7 else rng.choice(tags) for t in seq] for seq in gold]
    ours = entity_scores(gold, predicted)
    assert ours["f1"] == pytest.approx(f1_score(gold, predicted), abs=1e-12)
    assert ours["precision"] == pytest.approx(precision_score(gold, predicted), abs=1e-12)
    assert ours["recall"] == pytest.approx(recall_score(gold, predicted), abs=1e-12)


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="Sentence 0: 2 gold tags but 1 predicted"):
        entity_scores([["O", "O"]], [["O"]])


@pytest.mark.parametrize("metric", ["precision", "recall", "f1"])
def test_bootstrap_score_from_counts_equals_rescoring_each_resample(metric):
    """The vectorised entity score a bootstrap uses (per-sentence counts summed over
    the resample) equals `entity_scores` run on every resample's sentences."""
    import numpy as np

    from keras_mtl.metrics.entity_f1 import entity_counts
    from keras_mtl.metrics.significance import corpus_score, entity_score

    rng = random.Random(1)
    tags = ["O", "O", "O", "B-city", "I-city", "B-day", "I-day", "I-x"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 9))] for _ in range(60)]
    predicted = [[t if rng.random() < 0.6 else rng.choice(tags) for t in seq] for seq in gold]
    predicted[0] = ["O"] * len(gold[0])  # sentences without entities, predicted or gold
    gold[1] = ["O"] * len(gold[1])
    fast = entity_score(entity_counts(gold, predicted), metric)
    slow = corpus_score(lambda rows: entity_scores([gold[i] for i in rows],
                                                   [predicted[i] for i in rows])[metric])
    indices = np.random.default_rng(0).integers(0, 60, size=(50, 60))
    indices[0] = 0  # a resample of one sentence without any predicted entity
    np.testing.assert_allclose(fast(indices), slow(indices), rtol=1e-12, atol=1e-15)
    assert fast(np.arange(60)[np.newaxis])[0] == pytest.approx(
        entity_scores(gold, predicted)[metric], rel=1e-12)
    with pytest.raises(ValueError, match="token_accuracy"):
        entity_score(entity_counts(gold, predicted), "token_accuracy")
