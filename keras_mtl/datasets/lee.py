"""Lee document-pair similarity (Lee, Pincombe & Welsh, CogSci 2005), from the
test data of the `gensim==4.4.0` wheel.

Lee, M. D., Pincombe, B., & Welsh, M. (2005). An empirical evaluation of models
of text document similarity. Proceedings of the 27th Annual Conference of the
Cognitive Science Society.

The wheel carries, under `gensim/test/test_data/`:

* `lee.cor`: 50 short news documents, one per line, Latin-1 encoded (one `£`);
  45 … 126 whitespace words, 79.7 on average. Runs of spaces are collapsed here.
* `similarities0-1.txt`: a 50 × 50 tab-separated matrix of mean human similarity
  ratings in 0 … 1. Only the upper triangle is filled: the diagonal is 1 and
  every cell below it is 0. The observed ratings lie in 0.2 … 1.0 and are mostly
  multiples of 0.02, consistent with the mean of about ten ratings on a 1 … 5
  scale, divided by 5.

Examples: the 1,225 distinct pairs (i < j, in row-major order): `texts` =
document i, `pairs` = document j, one regression label column `similarity` =
matrix[i, j], the mean rating. It is skewed towards the 0.2 floor: mean 0.33,
std 0.14, quartiles 0.24 / 0.28 / 0.36, 136 pairs at 0.2, 143 at ≥ 0.5, 3 at
1.0 (articles on the same news story). The matrix is not symmetric because
its lower triangle is blank, so the rating of a pair is its upper cell; a lower
cell that is neither 0 nor equal to the upper one is an error (no averaging:
averaging with the blank cells would halve every rating).

Splits: a permutation of the pairs from `numpy.random.default_rng(seed)`
(`LabeledTexts.split`): 10 % `dev` (122 pairs), 10 % `test` (122), the rest
`train` (981). Pairs never recur across splits, but documents do: each of the
50 documents is in 49 pairs, so nearly every document appears in every split
(all 50 in each split for seed 0). Test scores measure generalisation to new
*pairs* of seen documents, not to new documents.

Licence: gensim is LGPL-2.1-only; the documents and ratings are Lee et al.'s,
shipped in gensim's tests with their permission (see `gensim/test/test_lee.py`);
cite the paper above when you use them.

Where the files come from, see `lee_source()`: `$KERAS_MTL_GENSIM_WHEEL` (any
gensim 4.4.0 wheel) if set, else the test data of an installed `gensim`, else
the cached wheel (`$KERAS_MTL_CACHE`, default `~/.cache/keras_mtl`), which
the loader fetches with `pip download` if absent (`.ci/setup` does this once).
The two files are read straight from the wheel (a zip); nothing is extracted.
"""

import importlib.util
import os
import zipfile

import numpy as np

from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.package_files import distribution_path

REQUIREMENT = "gensim==4.4.0"
ENV_VAR = "KERAS_MTL_GENSIM_WHEEL"
# Every gensim 4.4.0 wheel carries the same test data; pinning one platform makes
# pip save the same file on any host (and never fall back to the sdist).
WHEEL = "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_OPTIONS = (
    "--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64",
    "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
)
DATA_FOLDER = "gensim/test/test_data"
DOCUMENTS = "lee.cor"
RATINGS = "similarities0-1.txt"
DOCUMENT_COUNT = 50
DEV_FRACTION = 0.1
TEST_FRACTION = 0.1


def lee_wheel_path(download=True):
    """Path of the gensim wheel: `$KERAS_MTL_GENSIM_WHEEL`, else the cache, fetched
    with pip if absent."""
    return distribution_path(
        WHEEL, REQUIREMENT, WHEEL_OPTIONS, env_var=ENV_VAR, name="gensim", kind="wheel",
        download=download,
    )


def lee_source(download=True):
    """Where to read the Lee files: `$KERAS_MTL_GENSIM_WHEEL` if set (an explicit
    choice wins), else the `test_data` folder of an installed gensim that has
    both files, else the cached wheel (see `lee_wheel_path`)."""
    if not os.environ.get(ENV_VAR):
        # find_spec locates gensim without importing it (and scipy with it).
        spec = importlib.util.find_spec("gensim")
        for package in (spec and spec.submodule_search_locations) or []:
            folder = os.path.join(package, "test", "test_data")
            if all(os.path.isfile(os.path.join(folder, f)) for f in (DOCUMENTS, RATINGS)):
                return folder
    return lee_wheel_path(download=download)


def _read_files(source):
    """`{file name: bytes}` of the two Lee files in a wheel or a test_data folder."""
    if os.path.isdir(source):
        contents = {}
        for filename in (DOCUMENTS, RATINGS):
            path = os.path.join(source, filename)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"No {filename} in the gensim test data folder {source}.")
            with open(path, "rb") as file:
                contents[filename] = file.read()
        return contents
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a gensim wheel (a zip) nor a test_data folder.")
    with zipfile.ZipFile(source) as wheel:
        names = set(wheel.namelist())
        missing = [f for f in (DOCUMENTS, RATINGS) if f"{DATA_FOLDER}/{f}" not in names]
        if missing:
            raise ValueError(
                f"{source} has no {', '.join(f'{DATA_FOLDER}/{f}' for f in missing)}; "
                f"expected a {REQUIREMENT} wheel."
            )
        return {f: wheel.read(f"{DATA_FOLDER}/{f}") for f in (DOCUMENTS, RATINGS)}


def read_lee_files(source=None):
    """`(documents, ratings)`: the 50 documents (whitespace collapsed) and the
    50 × 50 rating matrix as stored (float64), from `source` (a gensim wheel or
    its `test_data` folder; default `lee_source()`)."""
    source = source or lee_source()
    contents = _read_files(source)
    # Latin-1, as gensim's own test reads it: the one non-ASCII byte is 0xA3 (£).
    lines = contents[DOCUMENTS].decode("latin-1").splitlines()
    documents = [" ".join(line.split()) for line in lines if line.strip()]
    if len(documents) != DOCUMENT_COUNT:
        raise ValueError(
            f"{source}: {DOCUMENTS} has {len(documents)} documents, expected {DOCUMENT_COUNT}."
        )
    rows = []
    for number, line in enumerate(contents[RATINGS].decode("ascii").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append([float(value) for value in line.split()])
        except ValueError:
            raise ValueError(f"{RATINGS}:{number}: not a row of numbers: {line[:80]!r}.") from None
    if [len(row) for row in rows] != [DOCUMENT_COUNT] * DOCUMENT_COUNT:
        raise ValueError(
            f"{source}: {RATINGS} is not a {DOCUMENT_COUNT} × {DOCUMENT_COUNT} matrix "
            f"(row lengths {sorted({len(row) for row in rows})}, {len(rows)} rows)."
        )
    return documents, np.array(rows)


def pair_ratings(ratings):
    """The rating of every pair i < j, in row-major order (`numpy.triu_indices`).

    The rating is the upper cell [i, j]; the lower cell [j, i] must be blank (0)
    or the same rating (see the module docstring).
    """
    rows, columns = np.triu_indices(len(ratings), 1)
    upper, lower = ratings[rows, columns], ratings[columns, rows]
    conflicts = np.flatnonzero((lower != 0) & ~np.isclose(lower, upper))
    if conflicts.size:
        k = conflicts[0]
        i, j = rows[k], columns[k]
        raise ValueError(
            f"{RATINGS}: cell [{j}, {i}] = {lower[k]} disagrees with [{i}, {j}] = "
            f"{upper[k]}; expected 0 (blank) or the same rating."
        )
    outside = np.flatnonzero((upper < 0) | (upper > 1))
    if outside.size:
        k = outside[0]
        raise ValueError(
            f"{RATINGS}: cell [{rows[k]}, {columns[k]}] = {upper[k]} is outside 0 … 1."
        )
    return upper


def load_lee(
    seed=0,
    dev_fraction=DEV_FRACTION,
    test_fraction=TEST_FRACTION,
    task="similarity",
    source=None,
):
    """Lee as `{"train", "dev", "test"}` → `LabeledTexts` of document pairs with a
    `similarity` label (the mean human rating, 0 … 1).

    Args:
        seed: seed of the split permutation of the 1,225 pairs.
        dev_fraction, test_fraction: held-out shares of the pairs.
        task: the label column name.
        source: a gensim wheel or its `test_data` folder (default: `lee_source()`).

    Example:

    >>> lee = load_lee()
    >>> [len(lee[split]) for split in ("train", "dev", "test")]
    [981, 122, 122]
    >>> lee["train"]
    LabeledTexts('lee/train', 981 texts, 981 pairs, tasks=['similarity'])
    >>> lee["train"].labels["similarity"][0]  # documents 0 and 1
    0.3
    """
    documents, ratings = read_lee_files(source)
    first, second = np.triu_indices(DOCUMENT_COUNT, 1)
    data = LabeledTexts(
        [documents[i] for i in first],
        {task: [float(rating) for rating in pair_ratings(ratings)]},
        name="lee",
        pairs=[documents[j] for j in second],
    )
    return data.split({"dev": dev_fraction, "test": test_fraction}, seed=seed)
