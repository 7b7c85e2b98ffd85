"""The anchor prefilter's faster forms find exactly what the plain ones did:
the stems as a prefix tree against the longest-first alternation, the
punctuation regex against str.translate (rank.py; docs/PERFORMANCE.md)."""

from __future__ import annotations

import random
import re

from telewatch.text import normalize
from telewatch.xref import rank
from telewatch.xref.terms import load_lexicon

_LEAD = r"(?<!\w)(?:وبال|فبال|وال|فال|بال|كال|لل|ال|[وبلفك])?"
_OLD_PUNCT = str.maketrans({c: " " for c in ".,;:!?()«»\"'#|/\\[]{}<>“”‘’…–—-_*"})


def _texts(stems: list[str], rnd: random.Random) -> list[str]:
    """Texts made of the stems themselves, cut, prefixed with proclitics,
    suffixed and glued to each other, with punctuation between."""
    bits = ["", "و", "ال", "وال", "بال", "لل", "ف", "x", "_", "-"]
    out = []
    for _ in range(300):
        words = []
        for _ in range(rnd.randint(1, 25)):
            s = rnd.choice(stems)
            s = s[: rnd.randint(1, len(s))] if rnd.random() < 0.3 else s
            words.append(rnd.choice(bits) + s + rnd.choice(["", "ات", "s", "ing", "ه", "ی"]))
        out.append("".join(w + rnd.choice([" ", ", ", "«", "", "\n", "_"]) for w in words))
    return out


def test_stem_tree_finds_what_the_alternation_found() -> None:
    """On the whole lexicon and random subsets of it, the tree regex's
    findall equals the sorted alternation's, text by text."""
    rnd = random.Random(5)
    every = sorted(s for s in load_lexicon().stem_concepts if len(s) >= 3)
    assert len(every) > 100
    for stems in [every, *(rnd.sample(every, rnd.randint(2, 60)) for _ in range(20))]:
        alternation = "|".join(re.escape(x) for x in sorted(stems, key=len, reverse=True))
        plain = re.compile(rf"{_LEAD}({alternation})")
        tree = re.compile(rf"{_LEAD}({rank._trie_pattern(stems)})")
        for text in _texts(stems, rnd):
            norm = normalize(text)
            assert tree.findall(norm) == plain.findall(norm), (stems, text)


def test_the_tree_of_nested_words_prefers_the_longest() -> None:
    """Words that are prefixes of one another: the longest that fits wins."""
    rx = re.compile(rank._trie_pattern(["rock", "rocket", "rockets", "ro", "rob"]))
    assert rx.findall("rocketsx rocketx rockx rox robx rx") == [
        "rockets",
        "rocket",
        "rock",
        "ro",
        "rob",
    ]


def test_punctuation_regex_equals_the_translation() -> None:
    """Each punctuation character becomes one space, as str.translate did."""
    text = "Удар: «ракета» — по базе… (Ain al-Asad)! #عاجل_الان [x]/{y}\\z “q” ‘r’ *s* 12.5"
    assert rank._PUNCT.sub(" ", text) == text.translate(_OLD_PUNCT)
