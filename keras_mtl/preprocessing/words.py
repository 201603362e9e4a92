"""The checkpoint's text rules in pure Python: words, normalization, word pieces.

The model's tokenizer is Hugging Face's `BertTokenizerFast` (Rust `tokenizers`):
`BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)`, then
`BertPreTokenizer`, then `WordPiece(max_input_chars_per_word=100)`. This module
states those rules once, with the standard library only, so that every place
that counts or tokenizes words in Python (label validation, decoded outputs, the
numpy-only edge runtime) agrees with the TF graph
(`keras_mtl.preprocessing.BertWordPieceTokenizer`, `alignment.split_words`),
which builds its regular expressions from the same character tables.

Rules, in order:

1. *clean text*: drop U+0000, U+FFFD and every control (Cc), format (Cf) and
   private-use (Co) character except tab, line feed and carriage return; then
   map every whitespace character (`WHITESPACE`) to a space. U+000B, U+000C,
   U+0085 and U+001C-U+001F are Cc, so they are dropped, not spaces.
2. *words*: split on whitespace (`split_words`). A word made only of dropped
   characters disappears.
3. *Chinese characters*: a space on both sides of every CJK ideograph.
4. *strip accents* (uncased checkpoints): NFD, then drop non-spacing marks (Mn).
5. *lowercase*: character by character (`char::to_lowercase`): no final-sigma
   context, so "Σ" is always "σ"; "İ" is "i" + U+0307 (its dot is already gone
   when accents are stripped).
6. *pieces*: split on whitespace and keep every punctuation character (ASCII
   punctuation and Unicode P*) as a piece of its own.
7. *WordPiece*: greedy longest match first with "##" continuations; a piece of
   more than 100 characters, or one that cannot be matched, is "[UNK]".

Special tokens ("[CLS]", "[SEP]", "[MASK]"...) written in a text are matched
first, case-sensitively, before any normalization, as Hugging Face does.

The character tables are not Python's `unicodedata` categories: `tokenizers`
0.23 tests categories with Unicode 8-era tables (`unicode_categories` crate),
decomposes with Unicode 12-era NFD tables and lowercases with Rust's Unicode 17
tables. They were read off `tokenizers` one code point at a time, and
`tests/preprocessing/bert_tokenizer_test.py` checks every code point again
whenever `tokenizers` is installed.
"""

import re
import unicodedata


def _code_points(spec):
    """`((first, last), ...)` from "0041-005A 00B5 ..." (hexadecimal)."""
    ranges = []
    for item in spec.split():
        first, _, last = item.partition("-")
        ranges.append((int(first, 16), int(last or first, 16)))
    return tuple(ranges)


# === Character tables ===

# Dropped by clean_text: Cc (but \t \n \r), Cf of Unicode 8, Co, U+FFFD.
CONTROL = _code_points("""
0000-0008 000B-000C 000E-001F 007F-009F 00AD 0600-0605 061C 06DD 070F 180E 200B-200F
202A-202E 2060-2064 2066-206F E000-F8FF FEFF FFF9-FFFB FFFD 110BD 1BCA0-1BCA3
1D173-1D17A E0001 E0020-E007F F0000-FFFFD 100000-10FFFD
""")
# Rust's `char::is_whitespace` once CONTROL is gone (U+0085 is Cc).
WHITESPACE = _code_points("""
0009-000A 000D 0020 00A0 1680 2000-200A 2028-2029 202F 205F 3000
""")
# BertNormalizer's "Chinese characters" (note the gap at U+2B820-U+2B91F).
CJK = _code_points("""
3400-4DBF 4E00-9FFF F900-FAFF 20000-2A6DF 2A700-2B81F 2B920-2CEAF 2F800-2FA1F
""")
# BertPreTokenizer: ASCII punctuation and P* of Unicode 8 (with U+166D, U+111C9).
PUNCTUATION = _code_points("""
0021-002F 003A-0040 005B-0060 007B-007E 00A1 00A7 00AB 00B6-00B7 00BB 00BF 037E 0387
055A-055F 0589-058A 05BE 05C0 05C3 05C6 05F3-05F4 0609-060A 060C-060D 061B 061E-061F
066A-066D 06D4 0700-070D 07F7-07F9 0830-083E 085E 0964-0965 0970 0AF0 0DF4 0E4F
0E5A-0E5B 0F04-0F12 0F14 0F3A-0F3D 0F85 0FD0-0FD4 0FD9-0FDA 104A-104F 10FB 1360-1368
1400 166D-166E 169B-169C 16EB-16ED 1735-1736 17D4-17D6 17D8-17DA 1800-180A 1944-1945
1A1E-1A1F 1AA0-1AA6 1AA8-1AAD 1B5A-1B60 1BFC-1BFF 1C3B-1C3F 1C7E-1C7F 1CC0-1CC7 1CD3
2010-2027 2030-2043 2045-2051 2053-205E 207D-207E 208D-208E 2308-230B 2329-232A
2768-2775 27C5-27C6 27E6-27EF 2983-2998 29D8-29DB 29FC-29FD 2CF9-2CFC 2CFE-2CFF 2D70
2E00-2E2E 2E30-2E42 3001-3003 3008-3011 3014-301F 3030 303D 30A0 30FB A4FE-A4FF
A60D-A60F A673 A67E A6F2-A6F7 A874-A877 A8CE-A8CF A8F8-A8FA A8FC A92E-A92F A95F
A9C1-A9CD A9DE-A9DF AA5C-AA5F AADE-AADF AAF0-AAF1 ABEB FD3E-FD3F FE10-FE19 FE30-FE52
FE54-FE61 FE63 FE68 FE6A-FE6B FF01-FF03 FF05-FF0A FF0C-FF0F FF1A-FF1B FF1F-FF20
FF3B-FF3D FF3F FF5B FF5D FF5F-FF65 10100-10102 1039F 103D0 1056F 10857 1091F 1093F
10A50-10A58 10A7F 10AF0-10AF6 10B39-10B3F 10B99-10B9C 11047-1104D 110BB-110BC
110BE-110C1 11140-11143 11174-11175 111C5-111C9 111CD 111DB 111DD-111DF 11238-1123D
112A9 114C6 115C1-115D7 11641-11643 1173C-1173E 12470-12474 16A6E-16A6F 16AF5
16B37-16B3B 16B44 1BC9F 1DA87-1DA8B
""")
# Removed after NFD when accents are stripped: Mn of Unicode 8 (with U+1734).
NONSPACING_MARKS = _code_points("""
0300-033F 0342 0345-036F 0483-0487 0591-05BD 05BF 05C1-05C2 05C4-05C5 05C7 0610-061A
064B-065F 0670 06D6-06DC 06DF-06E4 06E7-06E8 06EA-06ED 0711 0730-074A 07A6-07B0
07EB-07F3 0816-0819 081B-0823 0825-0827 0829-082D 0859-085B 08E3-0902 093A 093C
0941-0948 094D 0951-0957 0962-0963 0981 09BC 09C1-09C4 09CD 09E2-09E3 0A01-0A02 0A3C
0A41-0A42 0A47-0A48 0A4B-0A4D 0A51 0A70-0A71 0A75 0A81-0A82 0ABC 0AC1-0AC5 0AC7-0AC8
0ACD 0AE2-0AE3 0B01 0B3C 0B3F 0B41-0B44 0B4D 0B56 0B62-0B63 0B82 0BC0 0BCD 0C00
0C3E-0C40 0C46-0C47 0C4A-0C4D 0C55-0C56 0C62-0C63 0C81 0CBC 0CBF 0CC6 0CCC-0CCD
0CE2-0CE3 0D01 0D41-0D44 0D4D 0D62-0D63 0DCA 0DD2-0DD4 0DD6 0E31 0E34-0E3A 0E47-0E4E
0EB1 0EB4-0EB9 0EBB-0EBC 0EC8-0ECD 0F18-0F19 0F35 0F37 0F39 0F71-0F72 0F74 0F77
0F79-0F7E 0F80 0F82-0F84 0F86-0F87 0F8D-0F92 0F94-0F97 0F99-0F9C 0F9E-0FA1 0FA3-0FA6
0FA8-0FAB 0FAD-0FB8 0FBA-0FBC 0FC6 102D-1030 1032-1037 1039-103A 103D-103E 1058-1059
105E-1060 1071-1074 1082 1085-1086 108D 109D 135D-135F 1712-1714 1732-1734 1752-1753
1772-1773 17B4-17B5 17B7-17BD 17C6 17C9-17D3 17DD 180B-180D 18A9 1920-1922 1927-1928
1932 1939-193B 1A17-1A18 1A1B 1A56 1A58-1A5E 1A60 1A62 1A65-1A6C 1A73-1A7C 1A7F
1AB0-1ABD 1B00-1B03 1B34 1B36-1B3A 1B3C 1B42 1B6B-1B73 1B80-1B81 1BA2-1BA5 1BA8-1BA9
1BAB-1BAD 1BE6 1BE8-1BE9 1BED 1BEF-1BF1 1C2C-1C33 1C36-1C37 1CD0-1CD2 1CD4-1CE0
1CE2-1CE8 1CED 1CF4 1CF8-1CF9 1DC0-1DF5 1DFC-1DFF 20D0-20DC 20E1 20E5-20F0 2CEF-2CF1
2D7F 2DE0-2DFF 302A-302D 3099-309A A66F A674-A67D A69E-A69F A6F0-A6F1 A802 A806 A80B
A825-A826 A8C4 A8E0-A8F1 A926-A92D A947-A951 A980-A982 A9B3 A9B6-A9B9 A9BC A9E5
AA29-AA2E AA31-AA32 AA35-AA36 AA43 AA4C AA7C AAB0 AAB2-AAB4 AAB7-AAB8 AABE-AABF AAC1
AAEC-AAED AAF6 ABE5 ABE8 ABED FB1E FE00-FE0F FE20-FE2F 101FD 102E0 10376-1037A
10A01-10A03 10A05-10A06 10A0C-10A0F 10A38-10A3A 10A3F 10AE5-10AE6 11001 11038-11046
1107F-11081 110B3-110B6 110B9-110BA 11100-11102 11127-1112B 1112D 11130-11134 11173
11180-11181 111B6-111BE 111CA-111CC 1122F-11231 11234 11236-11237 112DF 112E3-112EA
11300-11301 1133C 11340 11366-1136C 11370-11374 114B3-114B8 114BA 114BF-114C0
114C2-114C3 115B2-115B5 115BC-115BD 115BF-115C0 115DC-115DD 11633-1163A 1163D
1163F-11640 116AB 116AD 116B0-116B5 116B7 1171D-1171F 11722-11725 11727-1172B
16AF0-16AF4 16B30-16B36 16F8F-16F92 1BC9D-1BC9E 1D167-1D169 1D17B-1D182 1D185-1D18B
1D1AA-1D1AD 1D242-1D244 1DA00-1DA36 1DA3B-1DA6C 1DA75 1DA84 1DA9B-1DA9F 1DAA1-1DAAF
1E8D0-1E8D6 E0100-E01EF
""")
# Characters that `tokenizers`' NFD neither decomposes nor reorders (a combining
# class it does not know) while a newer NFD (Python's, ICU's) would.
NFD_PROTECTED = _code_points("""
07FD 0897-089F 08CA-08D3 09FE 0C3C 0D3B-0D3C 0EBA 1715 1ABF-1ACE 1DF6-1DFA A82C
105C9 105E4 10D24-10D27 10D69-10D6D 10EAB-10EAC 10EFD-10EFF 10F46-10F50 10F82-10F85
11070 1133B 11383 11385 1138E 11391 113C5 113C7-113C8 113CE-113D0 1145E 11839-1183A
11938 1193D-1193E 11943 119E0 11A34 11A47 11A99 11D42 11D44-11D45 11D97 11F41-11F42
16121-16128 1612F 16D68-16D6A 16FF0-16FF1 1E08F 1E130-1E136 1E2AE 1E2EC-1E2EF
1E4EC-1E4EF 1E5EE-1E5EF
""")
# Lowercase mappings of Unicode 15-17 (Rust's tables) that Python 3.11's lacks:
# `(first, last, lowercase of first)`, consecutive in both columns.
LOWERCASE_ADDITIONS = (
    (0x1C89, 0x1C89, 0x1C8A), (0xA7CB, 0xA7CB, 0x0264), (0xA7CC, 0xA7CC, 0xA7CD),
    (0xA7CE, 0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2, 0xA7D3), (0xA7D4, 0xA7D4, 0xA7D5),
    (0xA7DA, 0xA7DA, 0xA7DB), (0xA7DC, 0xA7DC, 0x019B), (0x10D50, 0x10D65, 0x10D70),
    (0x16EA0, 0x16EB8, 0x16EBB),
)
# Placeholders for NFD_PROTECTED while NFD runs: private use, so dropped by
# clean_text before, and never in a cleaned text.
PROTECTED_PLACEHOLDER = 0xF0000
MAX_CHARS_PER_WORD = 100
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def character_class(ranges, flavor="python"):
    """A regex character class matching `ranges`, for Python `re` or RE2 (TF).

    >>> character_class(((0x41, 0x5A), (0x1F600, 0x1F600)), "re2")
    '[\\\\x{41}-\\\\x{5A}\\\\x{1F600}]'
    """
    if flavor == "re2":
        def escape(code):
            return f"\\x{{{code:X}}}"
    elif flavor == "python":
        def escape(code):
            return f"\\U{code:08X}"
    else:
        raise ValueError(f"flavor must be 'python' or 're2', not {flavor!r}.")
    parts = (escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


def _expand(ranges):
    return [code for first, last in ranges for code in range(first, last + 1)]


_CONTROL_RE = re.compile(character_class(CONTROL))
_WHITESPACE_RE = re.compile(character_class(WHITESPACE))
_CJK_RE = re.compile(character_class(CJK))
_MARKS_RE = re.compile(character_class(NONSPACING_MARKS))
_PUNCTUATION_SPLIT_RE = re.compile(f"({character_class(PUNCTUATION)})")
_PROTECT = {code: PROTECTED_PLACEHOLDER + i for i, code in enumerate(_expand(NFD_PROTECTED))}
_UNPROTECT = {placeholder: code for code, placeholder in _PROTECT.items()}
_LOWERCASE_ADDITIONS = {
    first + i: target + i
    for first, last, target in LOWERCASE_ADDITIONS
    for i in range(last - first + 1)
}


# === Rules ===

def clean_text(text):
    """Rule 1: control and format characters dropped, whitespace made " "."""
    return _WHITESPACE_RE.sub(" ", _CONTROL_RE.sub("", text))


def split_words(text):
    """The words of `text`, as the model's graph splits it (rules 1-2).

    Words keep their surface form, less the characters clean_text drops.

    >>> split_words(" fly\\u00a0to\\u3000bos\\u200bton \\x0c ")
    ['fly', 'to', 'boston']
    """
    return [word for word in _WHITESPACE_RE.split(_CONTROL_RE.sub("", text)) if word]


def to_lowercase(text):
    """Rule 5: per-character lowercase (no final sigma; Rust's tables).

    >>> to_lowercase("ΟΔΟΣ İ")
    'οδοσ i̇'
    """
    # Σ is the only character whose `str.lower` depends on its context.
    return text.translate(_LOWERCASE_ADDITIONS).replace("Σ", "σ").lower()


def remove_accents(text):
    """Rule 4: NFD (`tokenizers`' version of it), then Mn removed.

    >>> remove_accents("Ærøskøbing Łódź São")
    'Ærøskøbing Łodz Sao'
    """
    text = unicodedata.normalize("NFD", text.translate(_PROTECT))
    return _MARKS_RE.sub("", text).translate(_UNPROTECT)


def normalize(text, lowercase=True, strip_accents=None, split_on_cjk=True):
    """BertNormalizer (rules 1, 3, 4, 5); `strip_accents=None` follows `lowercase`."""
    if strip_accents is None:
        strip_accents = lowercase
    text = clean_text(text)
    if split_on_cjk:
        text = _CJK_RE.sub(r" \g<0> ", text)
    if strip_accents:
        text = remove_accents(text)
    if lowercase:
        text = to_lowercase(text)
    return text


def split_pieces(text):
    """Rule 6 (BertPreTokenizer) on normalized text."""
    pieces = []
    for chunk in _WHITESPACE_RE.split(text):
        pieces.extend(piece for piece in _PUNCTUATION_SPLIT_RE.split(chunk) if piece)
    return pieces


def special_tokens_pattern(special_tokens, flavor="python"):
    """Alternation matching any of `special_tokens`, longest first (or None).

    `flavor` is "python" (`re`) or "re2" (TF), like `character_class`.
    """
    tokens = sorted(set(special_tokens or ()), key=lambda t: (-len(t), t))
    if flavor == "re2":
        bad = [token for token in tokens if "\\E" in token]
        if bad:
            raise ValueError(f"Special tokens cannot contain '\\E': {bad}.")
        return "|".join(f"\\Q{token}\\E" for token in tokens) or None
    return "|".join(re.escape(token) for token in tokens) or None


def pretokenize(text, lowercase=True, strip_accents=None, split_on_cjk=True,
                special_tokens=SPECIAL_TOKENS):
    """Pieces that WordPiece sees (rules 1 and 3-6), special tokens kept whole.

    >>> pretokenize("Zürich's [MASK] 東京!")
    ['zurich', "'", 's', '[MASK]', '東', '京', '!']
    """
    pattern = special_tokens_pattern(special_tokens)
    segments = re.split(f"({pattern})", text) if pattern else [text]
    pieces = []
    for i, segment in enumerate(segments):
        if i % 2:  # a captured special token
            pieces.append(segment)
        elif segment:
            pieces.extend(split_pieces(normalize(segment, lowercase, strip_accents, split_on_cjk)))
    return pieces


def wordpiece(piece, token_ids, unknown_id, suffix_indicator="##",
              max_chars_per_word=MAX_CHARS_PER_WORD):
    """Rule 7: greedy longest-match-first WordPiece ids of one piece.

    >>> wordpiece("flying", {"fly": 0, "##ing": 1}, unknown_id=9)
    [0, 1]
    """
    if len(piece) > max_chars_per_word:
        return [unknown_id]
    ids, start = [], 0
    while start < len(piece):
        end, found = len(piece), None
        while start < end:
            candidate = piece[start:end]
            if start > 0:
                candidate = suffix_indicator + candidate
            found = token_ids.get(candidate)
            if found is not None:
                break
            end -= 1
        if found is None:
            return [unknown_id]
        ids.append(found)
        start = end
    return ids
