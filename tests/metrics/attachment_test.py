import pytest

from keras_mtl.metrics.attachment import attachment_scores

GOLD = [
    [(2, "nsubj"), (0, "root"), (2, "obj"), (2, "punct")],
    [(0, "root"), (1, "nmod:poss")],
]


def test_hand_worked_scores():
    predicted = [
        # right; right; head right, label wrong; head wrong (punctuation counts)
        [(2, "nsubj"), (0, "root"), (2, "iobj"), (3, "punct")],
        # right; head right but subtype missing: wrong for LAS (full DEPREL)
        [(0, "root"), (1, "nmod")],
    ]
    # 6 words; heads right: 2 + 1 + 1 + 0 + 1 + 1 = 5; head and label: 2 + 1 = 3.
    assert attachment_scores(GOLD, predicted) == {"uas": 5 / 6, "las": 3 / 6, "count": 6}
    assert attachment_scores(GOLD, GOLD) == {"uas": 1.0, "las": 1.0, "count": 6}


def test_missing_predictions_count_as_wrong():
    predicted = [[(2, "nsubj"), None, (2, "obj"), (2, "punct")], None]
    # Heads and labels right: 3 of 6 (the None word and the None sentence are wrong).
    assert attachment_scores(GOLD, predicted) == {"uas": 0.5, "las": 0.5, "count": 6}
    assert attachment_scores([], []) == {"uas": 0.0, "las": 0.0, "count": 0}


def test_length_mismatch():
    with pytest.raises(ValueError, match="sentence 1 has 2 gold words but 1 predicted"):
        attachment_scores(GOLD, [GOLD[0], [(0, "root")]])
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        attachment_scores(GOLD, GOLD[:1])
