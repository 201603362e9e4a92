import os
import re

import pytest

from keras_mtl.datasets import DATASETS, READERS, load_dataset, load_ud, read_conllu

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EWT = os.path.join(REPO_ROOT, "..", "shared", "data", "ud_english_ewt")


def word(id_, form, upos, xpos, head, deprel):
    return "\t".join([str(id_), form, form.lower(), upos, xpos, "_", str(head), deprel, "_", "_"])


# Line numbers matter: the error tests below point at lines of this file.
SAMPLE = "\n".join([
    "# newdoc id = d1",                                    # 1
    "# sent_id = s1",                                      # 2
    "# text = I don't know.",                              # 3
    word(1, "I", "PRON", "PRP", 4, "nsubj"),               # 4
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",                  # 5  multiword token
    word(2, "do", "AUX", "VBP", 4, "aux"),                 # 6
    word(3, "n't", "PART", "RB", 4, "advmod"),             # 7
    word(4, "know", "VERB", "VB", 0, "root"),              # 8
    word(5, ".", "PUNCT", ".", 4, "punct"),                # 9
    "",                                                    # 10
    "# sent_id = s2",                                      # 11
    word(1, "Their", "PRON", "_", 2, "nmod:poss"),         # 12 XPOS missing
    word(2, "dogs", "NOUN", "NNS", 3, "nsubj"),            # 13
    "2.1\tbark\tbark\tVERB\tVBP\t_\t_\t_\t3:conj\t_",      # 14 empty node
    word(3, "run", "VERB", "VBP", 0, "root"),              # 15
    "",                                                    # 16
    "",                                                    # 17 two blank lines
    word(1, "Hi", "INTJ", "UH", 0, "root"),                # 18 no trailing blank line
]) + "\n"


def write(tmp_path, text, name="sample.conllu"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def replace_line(number, new_line):
    lines = SAMPLE.split("\n")
    lines[number - 1] = new_line
    return "\n".join(lines)


def test_reads_syntactic_words_tags_and_trees(tmp_path):
    data = read_conllu(write(tmp_path, SAMPLE))
    assert data.texts == ["I do n't know .", "Their dogs run", "Hi"]
    assert data.labels["upos"] == [
        ["PRON", "AUX", "PART", "VERB", "PUNCT"], ["PRON", "NOUN", "VERB"], ["INTJ"],
    ]
    assert data.labels["xpos"] == [["PRP", "VBP", "RB", "VB", "."], None, ["UH"]]
    assert data.labels["parse"] == [
        [(4, "nsubj"), (4, "aux"), (4, "advmod"), (0, "root"), (4, "punct")],
        [(2, "nmod:poss"), (3, "nsubj"), (0, "root")],
        [(0, "root")],
    ]
    # The last line may also lack its newline.
    assert len(read_conllu(write(tmp_path, SAMPLE.rstrip("\n")))) == 3
    # An unannotated relation ("_") makes that sentence's parse missing.
    unlabeled = replace_line(13, word(2, "dogs", "NOUN", "NNS", 3, "_"))
    assert read_conllu(write(tmp_path, unlabeled)).labels["parse"][1] is None


def test_task_names_and_registry(tmp_path):
    path = write(tmp_path, SAMPLE)
    data = read_conllu(path, tasks={"pos": "upos", "dep": "parse"}, name="mine")
    assert sorted(data.labels) == ["dep", "pos"] and data.name == "mine"
    assert sorted(read_conllu(path, tasks=["upos"]).labels) == ["upos"]
    with pytest.raises(ValueError, match=r"no CoNLL-U column\(s\) \['lemma'\]"):
        read_conllu(path, tasks={"lemma": "lemma"})
    assert READERS["conllu"] is read_conllu and DATASETS["ud"] is load_ud
    splits = load_dataset("mine", format="conllu", train=path, tasks=["upos"])
    assert splits["train"].name == "mine/train" and len(splits["train"]) == 3


BAD_CASES = [
    # (line to replace, replacement, line named in the error, message pattern)
    (6, "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_", 6, "expected 10 tab-separated fields, got 9"),
    (6, "2  do  do  AUX  VBP  _  4  aux  _  _", 6, "expected 10 tab-separated fields, got 1"),
    (6, word("x", "do", "AUX", "VBP", 4, "aux"), 6, "ID 'x' is not an integer"),
    (6, word("", "do", "AUX", "VBP", 4, "aux"), 6, "empty ID field"),
    (6, word(3, "do", "AUX", "VBP", 4, "aux"), 6, "ID 3 out of order; expected 2"),
    (6, word(2, "do", "AUX", "VBP", "root", "aux"), 6, "HEAD 'root' is not an integer"),
    (6, word(2, "do", "AUX", "VBP", "", "aux"), 6, "empty HEAD field"),
    (6, word(2, "do", "AUX", "VBP", 6, "aux"), 6, r"HEAD 6 out of range 0\.\.5"),
    (6, word(2, "do", "AUX", "VBP", -1, "aux"), 6, r"HEAD -1 out of range 0\.\.5"),
    (8, word(4, "know", "VERB", "VB", 2, "root"), 4, "sentence has no root"),
    (6, word(2, "do", "AUX", "VBP", 0, "aux"), 8, "second root .*line 6"),
    (6, word(2, "do", "AUX", "VBP", 2, "aux"), 6, "HEAD makes a cycle"),  # self-loop
    (6, word(2, "d o", "AUX", "VBP", 4, "aux"), 6, "FORM 'd o' contains whitespace"),
    (6, word(2, "d\u00a0o", "AUX", "VBP", 4, "aux"), 6, "FORM .* contains whitespace"),
]


@pytest.mark.parametrize(
    "number, new_line, error_line, pattern", BAD_CASES, ids=[case[3] for case in BAD_CASES]
)
def test_bad_lines_name_file_and_line(tmp_path, number, new_line, error_line, pattern):
    path = write(tmp_path, replace_line(number, new_line))
    with pytest.raises(ValueError, match=f"^{re.escape(path)}:{error_line}: {pattern}"):
        read_conllu(path)


def test_cycle_names_a_word_on_it(tmp_path):
    # Words 2 → 3 → 2 form a cycle; word 4 is still the root.
    text = replace_line(6, word(2, "do", "AUX", "VBP", 3, "aux"))
    lines = text.split("\n")
    lines[6] = word(3, "n't", "PART", "RB", 2, "advmod")  # line 7
    path = write(tmp_path, "\n".join(lines))
    with pytest.raises(ValueError, match=f"^{re.escape(path)}:(6|7): HEAD makes a cycle"):
        read_conllu(path)


def test_bad_bytes_and_empty_files(tmp_path):
    path = write(tmp_path, SAMPLE.encode("utf-8").replace(b"4\tknow", b"4\tkn\xffw"))
    pattern = f"^{re.escape(path)}:8: not valid UTF-8 \\(byte 0xff at column 5\\)"
    with pytest.raises(ValueError, match=pattern):
        read_conllu(path)
    for text, line, pattern in [
        ("", 1, "no sentences"),
        ("# only a comment\n\n\n", 4, "no sentences"),
        ("1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\n", 1, "sentence has no words"),
    ]:
        path = write(tmp_path, text)
        with pytest.raises(ValueError, match=f"^{re.escape(path)}:{line}: {pattern}"):
            read_conllu(path)


def test_load_ud_finds_split_files(tmp_path):
    write(tmp_path, SAMPLE, "xx_toy-ud-train.conllu")
    write(tmp_path, SAMPLE, "xx_toy-ud-test.conllu")
    splits = load_ud(str(tmp_path), tasks=["upos"])
    assert sorted(splits) == ["test", "train"] and splits["test"].name == "ud/test"
    override = write(tmp_path, "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n", "other.conllu")
    assert load_ud(str(tmp_path), test=override)["test"].texts == ["Hi"]
    with pytest.raises(ValueError, match="does not exist"):
        load_ud(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no file matching '\*-ud-train.conllu' in .*empty"):
        load_ud(str(empty))
    with pytest.raises(ValueError, match="neither `directory` nor `train`"):
        load_ud()


@pytest.mark.skipif(not os.path.isdir(EWT), reason=f"UD English EWT not found at {EWT}")
def test_english_ewt():
    from keras_mtl.tasks.spanning_tree import is_tree

    ewt = load_dataset("ud", directory=EWT)
    # Sentence counts from the treebank's README; word counts from awk over
    # lines whose ID is an integer.
    assert {split: len(data) for split, data in ewt.items()} == {
        "train": 12544, "dev": 2001, "test": 2077,
    }
    words = {
        split: sum(len(text.split(" ")) for text in data.texts) for split, data in ewt.items()
    }
    assert words == {"train": 204577, "dev": 25147, "test": 25094}
    for data in ewt.values():
        for text, parse, upos in zip(data.texts, data.labels["parse"], data.labels["upos"]):
            assert len(parse) == len(upos) == len(text.split(" "))
            assert is_tree([head for head, _ in parse], single_root=True)
    assert len(ewt["train"].label_set("upos")) == 17
    # The sentence with "don't" as a multiword token reads as two words.
    assert any(" do n't " in text for text in ewt["dev"].texts)
