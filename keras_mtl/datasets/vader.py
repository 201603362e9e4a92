"""VADER human-rated sentiment (Hutto & Gilbert, ICWSM 2014), from the
`vaderSentiment==3.3.2` source distribution.

The sdist (not the wheel) carries `additional_resources/hutto_ICWSM_2014.tar.gz`
with four `*_GroundTruth.txt` files, `id<TAB>mean<TAB>text`, where `mean` is the
average of at least 20 human ratings on a −4 (most negative) … +4 (most positive)
scale:

=========  ==========================================  =====
domain     file                                        texts
=========  ==========================================  =====
tweets     tweets_GroundTruth.txt                      4,200
movie      movieReviewSnippets_GroundTruth.txt        10,605
amazon     amazonReviewSnippets_GroundTruth.txt        3,708
nyt        nytEditorialSnippets_GroundTruth.txt        5,190
=========  ==========================================  =====

Labels (two columns, use either or both as tasks):

* `sentiment` (classification), by thresholds on the mean rating with
  `neutral_band = 0.5`: `negative` if mean < −0.5, `positive` if mean > +0.5,
  else `neutral` (`scheme="ternary"`). With `scheme="binary"` the neutral band
  gets *no* label (`None`: a partial label, no loss), like SST-2 drops neutral
  phrases.
* `sentiment_score` (regression): the mean rating itself, in rating points.

Splits: each domain is split deterministically (a permutation from
`numpy.random.default_rng(seed)`): 10 % `dev`, 10 % `test`, 80 % `train`; the
domains are then concatenated in the order above. HTML entities in the tweets
(`&amp;`) are unescaped.

Where the sdist comes from: `vader_sdist_path()` looks at `$KERAS_MTL_VADER_SDIST`,
then the cache folder (`$KERAS_MTL_CACHE`, default `~/.cache/keras_mtl`), and
otherwise runs `pip download --no-binary :all: --no-deps vaderSentiment==3.3.2`
into the cache (`.ci/setup` does this once).
"""

import html
import io
import os
import tarfile

import numpy as np

from keras_mtl.datasets.labeled_texts import LabeledTexts
# `cache_dir` stays importable from here, as before the helper moved out.
from keras_mtl.datasets.package_files import cache_dir, distribution_path  # noqa: F401

SDIST = "vaderSentiment-3.3.2.tar.gz"
REQUIREMENT = "vaderSentiment==3.3.2"
DOMAINS = {
    "tweets": "tweets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
SCHEMES = ("ternary", "binary")
NEUTRAL_BAND = 0.5
DEV_FRACTION = 0.1
TEST_FRACTION = 0.1


def vader_sdist_path(download=True):
    """Path of the `vaderSentiment` sdist, fetched with pip into the cache if absent."""
    return distribution_path(
        SDIST, REQUIREMENT, ("--no-binary", ":all:"), env_var="KERAS_MTL_VADER_SDIST",
        name="VADER", kind="sdist", download=download,
    )


def read_vader_domains(sdist_path=None):
    """`{domain: [(mean, text), ...]}` read from the sdist, in file order."""
    sdist_path = sdist_path or vader_sdist_path()
    with tarfile.open(sdist_path) as outer:
        member = next(
            (m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz")),
            None,
        )
        if member is None:
            raise ValueError(f"{sdist_path} has no additional_resources/hutto_ICWSM_2014.tar.gz.")
        inner_bytes = outer.extractfile(member).read()
    domains = {}
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        files = {os.path.basename(m.name): m for m in inner.getmembers() if m.isfile()}
        for domain, filename in DOMAINS.items():
            raw = inner.extractfile(files[filename]).read().decode("utf-8")
            rows = []
            for number, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                fields = line.split("\t")
                if len(fields) < 3:
                    raise ValueError(f"{filename}:{number}: expected id, mean, text: {line!r}.")
                text = " ".join(html.unescape("\t".join(fields[2:])).split())
                if text:
                    rows.append((float(fields[1]), text))
            domains[domain] = rows
    return domains


def sentiment_label(mean, scheme="ternary", neutral_band=NEUTRAL_BAND):
    """The class of a mean rating (see the module docstring); `None` = no label."""
    if mean > neutral_band:
        return "positive"
    if mean < -neutral_band:
        return "negative"
    return "neutral" if scheme == "ternary" else None


def load_vader(
    seed=0,
    scheme="ternary",
    domains=None,
    neutral_band=NEUTRAL_BAND,
    task="sentiment",
    score_task="sentiment_score",
    sdist_path=None,
):
    """VADER as `{"train", "dev", "test"}` → `LabeledTexts` with `sentiment` (class)
    and `sentiment_score` (mean rating) labels.

    Args:
        seed: seed of the per-domain split permutation.
        scheme: `"ternary"` (negative / neutral / positive) or `"binary"`
            (neutral ratings get no class label).
        domains: subset of `("tweets", "movie", "amazon", "nyt")`; default all.
        neutral_band: ratings with |mean| ≤ this are neutral.
        task, score_task: label column names.
        sdist_path: the `vaderSentiment-3.3.2.tar.gz` to read (default: cache).

    Example:

    >>> vader = load_vader(domains=["tweets"])
    >>> len(vader["train"]), vader["train"].label_set("sentiment")
    (3360, ['negative', 'neutral', 'positive'])
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown VADER scheme {scheme!r}; known: {SCHEMES}.")
    if not neutral_band >= 0:
        raise ValueError(f"neutral_band must be >= 0, got {neutral_band}.")
    domains = list(DOMAINS) if domains is None else list(domains)
    unknown = sorted(set(domains) - set(DOMAINS))
    if unknown or not domains:
        raise ValueError(f"Unknown VADER domain(s) {unknown or domains}; known: {list(DOMAINS)}.")
    rows = read_vader_domains(sdist_path)
    parts = {"train": [], "dev": [], "test": []}
    for domain in domains:
        means = np.array([mean for mean, _ in rows[domain]], "float32")
        data = LabeledTexts(
            [text for _, text in rows[domain]],
            {
                task: [sentiment_label(m, scheme, neutral_band) for m in means],
                score_task: [float(m) for m in means],
            },
            name=f"vader_{domain}",
        )
        for split, part in data.split(
            {"dev": DEV_FRACTION, "test": TEST_FRACTION}, seed=seed
        ).items():
            parts[split].append(part)
    return {
        split: LabeledTexts.combine(pieces, name=f"vader/{split}")
        for split, pieces in parts.items()
    }
