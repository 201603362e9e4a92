"""Dependency parsing scores: unlabeled and labeled attachment (UAS, LAS)."""


def attachment_scores(gold, predicted):
    """UAS and LAS over all words of a corpus.

    UAS is the fraction of words whose predicted head is the gold head; LAS the
    fraction whose head *and* relation are both right. Every word counts,
    punctuation included, as in the CoNLL 2018 shared task. Relations are
    compared as full DEPREL strings, subtypes included (`"nmod:poss"` ≠
    `"nmod"`); the CoNLL 2018 script compares only the universal part before
    the colon, so its LAS can be higher than ours, never lower. A word whose
    prediction is `None` (or a sentence predicted as `None`) counts as wrong.

    Args:
        gold: list of sentences, each a list of `(head, deprel)` per word.
        predicted: the same shape; entries may be `None`.

    Returns:
        `{"uas": float, "las": float, "count": number of words}` (scores 0.0
        when there are no words).

    Raises:
        ValueError: the corpora have different numbers of sentences, or a
            sentence has different numbers of words.

    Example:

    >>> gold = [[(2, "nsubj"), (0, "root"), (2, "obj")]]
    >>> predicted = [[(2, "nsubj"), (0, "root"), (2, "iobj")]]
    >>> attachment_scores(gold, predicted)
    {'uas': 1.0, 'las': 0.6666666666666666, 'count': 3}
    """
    gold, predicted = list(gold), list(predicted)
    if len(gold) != len(predicted):
        raise ValueError(
            f"attachment_scores: {len(gold)} gold sentences but {len(predicted)} predicted."
        )
    count = heads_right = both_right = 0
    for index, (gold_sentence, predicted_sentence) in enumerate(zip(gold, predicted)):
        if predicted_sentence is None:
            predicted_sentence = [None] * len(gold_sentence)
        if len(gold_sentence) != len(predicted_sentence):
            raise ValueError(
                f"attachment_scores: sentence {index} has {len(gold_sentence)} gold words "
                f"but {len(predicted_sentence)} predicted."
            )
        for (gold_head, gold_relation), guess in zip(gold_sentence, predicted_sentence):
            count += 1
            if guess is None:
                continue
            head, relation = guess
            if int(head) == int(gold_head):
                heads_right += 1
                both_right += relation == gold_relation
    return {
        "uas": heads_right / count if count else 0.0,
        "las": both_right / count if count else 0.0,
        "count": count,
    }
