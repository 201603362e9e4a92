"""Entity-level precision / recall / F1 with conlleval semantics.

Chunks are read from tag sequences exactly as `conlleval.pl` (and seqeval's
default, non-strict mode) reads them: BIO and BIOES prefixes; an `I-X` after `O`
or after another type starts a new chunk; a chunk counts as correct only when its
type and both boundaries match. `None` (a word with no prediction, e.g. cut off by
truncation) reads as `O`.
"""

import collections


def _split(tag):
    if tag is None or tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if not sep:
        # A bare type ("city") is read as an inside tag of that type.
        return "I", tag
    return prefix, kind


def _chunk_ends(prev_tag, tag, prev_type, kind):
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_type != kind


def _chunk_starts(prev_tag, tag, prev_type, kind):
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and prev_type != kind


def get_entities(tags):
    """`(type, start, end)` chunks (end inclusive) of one tag sequence."""
    chunks = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = _split(tag)
        if _chunk_ends(prev_tag, prefix, prev_type, kind):
            chunks.append((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, prefix, prev_type, kind):
            begin = i
        prev_tag, prev_type = prefix, kind
    return chunks


def entity_scores(gold_sequences, predicted_sequences):
    """Micro precision / recall / F1 over entities, plus a per-type breakdown.

    Args:
        gold_sequences: list of tag lists (one per sentence).
        predicted_sequences: list of tag lists, same lengths.

    Returns:
        dict with `precision`, `recall`, `f1`, `num_gold`, `num_predicted`,
        `num_correct` and `per_type` (the same numbers per entity type).

    Example:

    >>> entity_scores([["B-city", "I-city", "O"]], [["B-city", "O", "O"]])["f1"]
    0.0
    """
    if len(gold_sequences) != len(predicted_sequences):
        raise ValueError(
            f"{len(gold_sequences)} gold sequences but {len(predicted_sequences)} "
            "predicted ones."
        )
    counts = collections.defaultdict(lambda: [0, 0, 0])  # gold, predicted, correct
    for i, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise ValueError(
                f"Sentence {i}: {len(gold)} gold tags but {len(predicted)} predicted."
            )
        gold_chunks = set(get_entities(gold))
        predicted_chunks = set(get_entities(predicted))
        for kind, *_ in gold_chunks:
            counts[kind][0] += 1
        for kind, *_ in predicted_chunks:
            counts[kind][1] += 1
        for kind, *_ in gold_chunks & predicted_chunks:
            counts[kind][2] += 1

    def scores(num_gold, num_predicted, num_correct):
        precision = num_correct / num_predicted if num_predicted else 0.0
        recall = num_correct / num_gold if num_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "num_gold": num_gold,
            "num_predicted": num_predicted,
            "num_correct": num_correct,
        }

    totals = [sum(c[k] for c in counts.values()) for k in range(3)]
    result = scores(*totals)
    result["per_type"] = {kind: scores(*counts[kind]) for kind in sorted(counts)}
    return result


def entity_counts(gold_sequences, predicted_sequences):
    """`[(gold, predicted, correct)]` entity counts per sentence: the micro scores
    of any subset of sentences follow from their sums (`entity_scores` of the
    whole list is the sum of every row), which a bootstrap over sentences needs.

    >>> entity_counts([["B-city", "I-city", "O"], ["O"]], [["B-city", "I-city", "B-x"], ["O"]])
    [(1, 2, 1), (0, 0, 0)]
    """
    rows = []
    for gold, predicted in zip(gold_sequences, predicted_sequences):
        gold_chunks, predicted_chunks = set(get_entities(gold)), set(get_entities(predicted))
        rows.append((len(gold_chunks), len(predicted_chunks),
                     len(gold_chunks & predicted_chunks)))
    return rows
