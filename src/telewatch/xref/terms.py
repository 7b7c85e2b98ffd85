"""Event terms across languages (``telewatch/data/events.json``).

A concept (``convoy``, ``rocket``, ``drone`` …) lists word stems in French,
English, Arabic, Persian, Russian and Ukrainian. ``concepts(text)`` returns the
concepts a text mentions with the words that matched, in any of these
languages, so an English article and an Arabic post meet on ``convoy`` ↔
``رتل``. Numbers are extracted too (``numbers``): they survive translation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from telewatch.text import normalize
from telewatch.xref.names import script_of, strip_arabic_clitics, words


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Single-word stems (prefix match) and multi-word phrases per concept."""

    prefix: dict[str, tuple[str, ...]]  # first 3 letters → stems
    stem_concepts: dict[str, frozenset[str]]
    whole: dict[str, frozenset[str]]  # short stems that must equal the token
    phrases: dict[str, frozenset[str]]  # normalized multi-word phrase → concepts


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The event-term lexicon (built once)."""
    raw = json.loads(resources.files("telewatch.data").joinpath("events.json").read_text("utf-8"))
    stems: dict[str, set[str]] = {}
    whole: dict[str, set[str]] = {}
    phrases: dict[str, set[str]] = {}
    for concept, langs in raw.items():
        if concept.startswith("_"):
            continue
        for forms in langs.values():
            for form in forms:
                n = " ".join(words(normalize(form)))
                if not n:
                    continue
                if " " in n:
                    phrases.setdefault(n, set()).add(concept)
                elif len(n) <= 2 or (len(n) <= 3 and script_of(n) == "latin"):
                    whole.setdefault(n, set()).add(concept)
                else:
                    stems.setdefault(n, set()).add(concept)
    prefix: dict[str, list[str]] = {}
    for s in stems:
        prefix.setdefault(s[:3], []).append(s)
    return Lexicon(
        prefix={k: tuple(v) for k, v in prefix.items()},
        stem_concepts={k: frozenset(v) for k, v in stems.items()},
        whole={k: frozenset(v) for k, v in whole.items()},
        phrases={k: frozenset(v) for k, v in phrases.items()},
    )


def concepts(text: str) -> dict[str, str]:
    """``{concept: first matching word}`` for the event terms in ``text``."""
    lex = load_lexicon()
    toks = [normalize(t) for t in words(text)]
    found: dict[str, str] = {}
    for i, tok in enumerate(toks):
        forms = strip_arabic_clitics(tok) if script_of(tok) == "arabic" else [tok]
        for form in forms:
            for c in lex.whole.get(form, ()):
                found.setdefault(c, tok)
            for stem in lex.prefix.get(form[:3], ()):
                if form.startswith(stem):
                    for c in lex.stem_concepts[stem]:
                        found.setdefault(c, tok)
        for n in (2, 3):
            if i + n <= len(toks):
                for form in forms:
                    phrase = " ".join([form, *toks[i + 1 : i + n]])
                    for c in lex.phrases.get(phrase, ()):
                        found.setdefault(c, phrase)
    return found


_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ,.\u202f\u00a0]\d{3})+|\d+)(?:[.,]\d+)?(?![\w])")
_YEARLIKE = re.compile(r"^(19|20)\d\d$")


_NUMBER_WORDS: dict[str, str] = {
    normalize(w): str(n)
    for n, forms in {
        3: "three trois три три ثلاثة ثلاث ثلاثه سه",
        4: "four quatre четыре чотири أربعة اربعة اربعه أربع چهار",
        5: "five cinq пять пʼять п'ять خمسة خمسه خمس پنج",
        6: "six шесть шість ستة سته ست شش",
        7: "seven sept семь сім سبعة سبعه سبع هفت",
        8: "eight huit восемь вісім ثمانية ثمانيه ثماني هشت",
        9: "nine neuf девять девʼять дев'ять تسعة تسعه تسع نه",
        10: "ten dix десять عشرة عشره عشر ده",
        12: "twelve douze двенадцать дванадцять",
        14: "fourteen quatorze четырнадцать чотирнадцять",
        15: "fifteen quinze пятнадцать пʼятнадцять",
        20: "twenty vingt двадцать двадцять عشرين عشرون بیست",
    }.items()
    for w in forms.split()
}


def numbers(text: str) -> set[str]:
    """Distinctive numbers in ``text``, written in any digits or as words
    from three to twenty in the six languages (thousand separators removed;
    years, times and 0-2 dropped since they appear everywhere)."""
    out: set[str] = set()
    s = normalize(text)
    for w in words(s):
        n = _NUMBER_WORDS.get(w)
        if n is not None:
            out.add(n)
    s = re.sub(r"\d{1,2}:\d{2}", " ", s)
    for m in _NUMBER.finditer(s):
        digits = re.sub(r"[ ,.\u202f\u00a0]", "", m.group(1))
        if _YEARLIKE.match(digits) or digits in {"0", "1", "2"}:
            continue
        out.add(digits.lstrip("0") or "0")
    return out
