import pytest

from keras_mtl.datasets import load_vader
from keras_mtl.datasets.vader import read_vader_domains, sentiment_label


@pytest.fixture(scope="module")
def domains():
    return read_vader_domains()


def test_domain_sizes_and_first_tweet(domains):
    assert {d: len(rows) for d, rows in domains.items()} == {
        "tweets": 4200, "movie": 10605, "amazon": 3708, "nyt": 5190,
    }
    mean, text = domains["tweets"][0]
    assert mean == pytest.approx(2.726315789)
    assert text.startswith("Somehow I was blessed with some really amazing friends")
    # HTML entities are unescaped.
    assert any("&" in t for _, t in domains["tweets"]) and not any(
        "&amp;" in t for _, t in domains["tweets"]
    )


def test_thresholds():
    assert sentiment_label(0.51) == "positive" and sentiment_label(-0.51) == "negative"
    assert sentiment_label(0.5) == "neutral" and sentiment_label(-0.5) == "neutral"
    assert sentiment_label(0.2, scheme="binary") is None
    assert sentiment_label(0.2, neutral_band=0.1) == "positive"


def test_splits_labels_and_schemes(domains):
    vader = load_vader(domains=["tweets"])
    assert [len(vader[s]) for s in ("train", "dev", "test")] == [3360, 420, 420]
    train = vader["train"]
    means = dict((t, m) for m, t in domains["tweets"])
    for text, label, score in zip(
        train.texts[:200], train.labels["sentiment"], train.labels["sentiment_score"]
    ):
        assert score == pytest.approx(means[text], abs=1e-6)
        assert label == sentiment_label(score)
    binary = load_vader(domains=["tweets"], scheme="binary")["train"]
    assert binary.texts == train.texts
    neutral = sum(label == "neutral" for label in train.labels["sentiment"])
    assert sum(label is None for label in binary.labels["sentiment"]) == neutral > 0
    everything = load_vader()
    assert sum(len(s) for s in everything.values()) == 4200 + 10605 + 3708 + 5190


def test_bad_options():
    with pytest.raises(ValueError, match="Unknown VADER scheme 'five'"):
        load_vader(scheme="five")
    with pytest.raises(ValueError, match="Unknown VADER domain"):
        load_vader(domains=["reddit"])
