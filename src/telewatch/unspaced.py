"""Search tokens for scripts written without spaces, without a dictionary.

Chinese, Japanese, Khmer, Lao and Myanmar put no space between words, so a
clause is one regex "word" and a post could only be found by the whole
clause. Without a word list per language, a run of such letters is cut
into *overlapping bigrams* of its units, as Lucene's CJK analyzer and CJK
search engines do: ``熊本市内`` → ``熊本 本市 市内``; a run of one unit stays
a unigram. A query is cut the same way and its bigrams are searched as a
phrase (adjacent, in order), so ``熊本`` finds a post with ``熊本市`` and
``熊本市`` is not found by a post that has ``熊本`` and ``本市`` apart.
Thai has its dictionary segmenter (``telewatch.thai``) and is not cut here.

The unit is the script's:

* Han, Hiragana and Katakana (one run, as Lucene's ``CJKBigramFilter``
  joins them): one character.
* Khmer, Lao and Myanmar: one orthographic syllable (a base consonant or
  independent vowel with its subscript consonants, dependent vowels and
  signs; Lao with its leading vowel; Myanmar with a following
  consonant + asat final). A character bigram there would split a
  subscript consonant from its coeng or a vowel from its consonant, so a
  query syllable would match where its letters belong to another syllable
  (``រី`` inside ``ស្រី``) and every syllable would give two or three
  tokens instead of one (tests/unit/test_unspaced.py).

Stdlib only; every function is local to a whitespace-free chunk of text
(``text._chunks_of`` relies on that).
"""

from __future__ import annotations

import itertools
import re

# Han (URO, extension A, compatibility, extensions B-H), the iteration and
# zero marks, Hiragana, Katakana (with the prolonged sound mark) and their
# phonetic extensions. Half-width katakana are full-width after NFKC.
_CJK = (
    "\u3005\u3006\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f"
    "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
_KHMER = "\u1780-\u17d3\u17dd"
_LAO = "\u0e81-\u0ece\u0edc-\u0edf"
_MYANMAR = "\u1000-\u103f\u1050-\u109d"
# Combining marks of these scripts that Python's \w leaves out (text._MARKS
# adds them so that a word does not break at a vowel sign).
MARKS = "\u17b4-\u17d3\u17dd\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ece\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d"

LETTERS = _CJK + _KHMER + _LAO + _MYANMAR
HAS_UNSPACED = re.compile(f"[{LETTERS}]")

# One unit per match, the script's run told apart by which group matched.
_UNIT = re.compile(
    f"(?P<cjk>[{_CJK}])"
    # Khmer: base + (coeng + consonant | dependent vowel | sign)*.
    "|(?P<khmer>[\u1780-\u17b3](?:\u17d2[\u1780-\u17b3]|[\u17b4-\u17d1\u17d3\u17dd])*)"
    # Lao: leading vowel? + consonant + (vowel | tone | sign)*.
    "|(?P<lao>[\u0ec0-\u0ec4]?[\u0e81-\u0eae\u0edc-\u0edf](?:[\u0eb0-\u0ebd\u0ec8-\u0ece])*)"
    # Myanmar: base + (virama + consonant | medial, vowel, sign | final + asat)*.
    "|(?P<myanmar>[\u1000-\u102a\u103f\u104c-\u104f\u1050-\u1055\u105a-\u105d\u1061\u1065"
    "\u1066\u106e-\u1070\u1075-\u1081\u108e]"
    "(?:\u1039[\u1000-\u1021]|[\u1000-\u1021]\u103a[\u1037\u1038]*|[\u102b-\u1038\u103a-\u103e"
    "\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f"
    "\u109a-\u109d])*)"
)


def units(word: str) -> list[tuple[str, str]]:
    """``word`` cut into (piece, kind) in order: kind is 'cjk', 'khmer',
    'lao' or 'myanmar' for one unit of those scripts, '' for a stretch of
    other characters (digits, Latin letters, a stray mark)."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _UNIT.finditer(word):
        if m.start() > pos:
            out.append((word[pos : m.start()], ""))
        out.append((m.group(), m.lastgroup or ""))
        pos = m.end()
    if pos < len(word):
        out.append((word[pos:], ""))
    return out


def runs(word: str) -> list[list[str]]:
    """``word`` as runs of tokens: a run of units of one script becomes its
    overlapping bigrams (one unit: the unigram), any other stretch one
    token of its own. Concatenated, the runs are the word's tokens."""
    out: list[list[str]] = []
    run: list[str] = []
    kind = ""

    def flush() -> None:
        if run:
            out.append([run[0]] if len(run) == 1 else [a + b for a, b in itertools.pairwise(run)])
            run.clear()

    for piece, k in units(word):
        if not k:
            flush()
            out.append([piece])
        else:
            if k != kind:
                flush()
            run.append(piece)
        kind = k
    flush()
    return out


def bigrams(word: str) -> list[str]:
    """The tokens of one regex word holding letters of these scripts:
    ``熊本市`` → ``["熊本", "本市"]``, ``2から3`` → ``["2", "から", "3"]``."""
    return [t for r in runs(word) for t in r]
