"""CoNLL-style token files: one `token<TAB>tag` per line, a blank line between
sentences. WNUT-2016 ships this way, and it is the easiest format for bringing
your own token-classification data."""

from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.text_lines import text_lines
from keras_mtl.errors import DataError
from keras_mtl.preprocessing.words import split_words


def read_conll(path, task="ner", name=None, token_column=0, tag_column=-1):
    """A `LabeledTexts` with one token-level label column from a CoNLL-style file.

    Columns are separated by tabs (or, if a line has no tab, by whitespace);
    `token_column` and `tag_column` pick the word and its tag. Lines that are
    empty or hold only whitespace end a sentence; `-DOCSTART-` lines are skipped.
    The text of a sentence is its tokens joined by single spaces, so the model
    sees exactly one word per tag.

    Example:

    ```python
    data = read_conll("train.conll", task="ner")
    data.labels["ner"][0][:3]
    # ['O', 'B-person', 'I-person']
    ```
    """
    name = name or f"{path}"
    texts, tags = [], []
    words, sentence_tags = [], []

    def end_sentence(line_number):
        if not words:
            return
        text = " ".join(words)
        if len(split_words(text)) != len(words):
            raise DataError(
                "a token of this sentence contains whitespace or is empty; tokens "
                f"must be single words: {words!r}.", path, line_number,
            )
        texts.append(text)
        tags.append(list(sentence_tags))
        words.clear()
        sentence_tags.clear()

    number = 0
    for number, line in text_lines(path):
        line = line.rstrip("\r\n")
        if not line.strip():
            end_sentence(number)
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if fields[0] == "-DOCSTART-":
            continue
        try:
            if len(fields) < 2:
                raise IndexError
            word, tag = fields[token_column], fields[tag_column]
        except IndexError:
            raise DataError(
                f"expected a token and a tag (columns {token_column} and {tag_column}), "
                f"got {line!r}.", path, number,
            ) from None
        if not word.strip() or not tag.strip():
            raise DataError(f"empty token or tag in {line!r}.", path, number)
        words.append(word.strip())
        sentence_tags.append(tag.strip())
    end_sentence(number)
    if not texts:
        raise DataError("no sentences found (the file is empty or holds only blank and "
                        "-DOCSTART- lines).", path)
    return LabeledTexts(texts, {task: tags}, name=name)
