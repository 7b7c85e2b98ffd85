"""Thai without spaces: word segmentation and RTGS romanisation (stdlib only).

Thai is written without spaces between words, so a clause is one "word" to a
regex. ``segment`` splits a run of Thai letters into dictionary words by
maximal matching (the fewest unknown letters, then the fewest words; the
approach of PyThaiNLP's ``newmm``), cutting only between Thai character
clusters (never before a following vowel, a tone mark or after a leading
vowel). Letters no dictionary word covers stay together as one token.

The word list is PyThaiNLP's ``words_th.txt`` (5.4.0, CC0-1.0: public
domain), the entries written in Thai letters only (60,963 words), shipped
gzipped as ``telewatch/data/thai_words.txt.gz`` and read on the first Thai
text (≈ 25 ms); nothing is downloaded.

``romanize`` writes a Thai word in the Royal Thai General System (RTGS), the
spelling wire services use ("ข่าวเชียงใหม่ด่วน" → "khao chiangmai duan"):
syllables are parsed from the script (leading vowels, clusters, silent
``ห``/``อ``, implicit vowels, final-consonant classes), tones are not
written. It is rule-based and approximate for loanwords and irregular
spellings; it serves name matching (``xref.names``), where names are
compared by consonant skeletons anyway.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

THAI_LETTERS = "\u0e01-\u0e4e"
THAI_RUN = re.compile(f"[{THAI_LETTERS}]+")
HAS_THAI = re.compile(f"[{THAI_LETTERS}]")

# Characters that never start a character cluster: following vowels, tone
# marks and other marks written after (or above/below) their consonant.
_NO_START = frozenset("ะัาำิีึืฺุู็่้๊๋์ํ๎ๅ")
_LEADING = frozenset("เแโใไ")

_words: frozenset[str] | None = None
_lengths: dict[str, tuple[int, ...]] = {}
_MAX_WORD = 30  # longer dictionary entries are compounds: not needed to cut


def _load() -> frozenset[str]:
    global _words
    if _words is None:
        import gzip
        from importlib import resources

        raw = resources.files("telewatch.data").joinpath("thai_words.txt.gz").read_bytes()
        # Text reaches segment() in NFKC (text.normalize), which writes
        # sara am (ำ) as nikhahit + sara aa (ํา): so do the entries.
        words = frozenset(
            unicodedata.normalize("NFKC", w) if "ำ" in w else w
            for w in gzip.decompress(raw).decode("utf-8").split("\n")
            if w
        )
        by_start: dict[str, set[int]] = {}
        for w in words:
            if len(w) <= _MAX_WORD:
                by_start.setdefault(w[:2], set()).add(len(w))
        _lengths.update({k: tuple(sorted(v)) for k, v in by_start.items()})
        _words = words
    return _words


def _boundaries(run: str) -> list[bool]:
    """``b[i]``: a word may start at ``run[i]`` (``b[len(run)]`` is True)."""
    n = len(run)
    b = [True] * (n + 1)
    for i in range(1, n):
        c = run[i]
        if c in _NO_START or run[i - 1] in _LEADING or (i + 1 < n and run[i + 1] == "์"):
            b[i] = False
    return b


@lru_cache(maxsize=20_000)
def segment(run: str) -> tuple[str, ...]:
    """The words of ``run`` (Thai letters and marks only), in order; their
    concatenation is ``run``. Dictionary words where they cover the run
    (fewest letters left unknown, then fewest words), unknown letters
    between them kept as one token."""
    words = _load()
    n = len(run)
    if n <= 1:
        return (run,) if run else ()
    ok = _boundaries(run)
    inf = (n + 1, n + 1)
    # best[j]: (unknown letters, words) of the best cut of run[:j]; back[j]:
    # where its last piece starts and whether that piece is a known word.
    best: list[tuple[int, int]] = [inf] * (n + 1)
    back: list[tuple[int, bool]] = [(0, False)] * (n + 1)
    best[0] = (0, 0)
    for i in range(n):
        if not ok[i] or best[i] == inf:
            continue
        unk, cnt = best[i]
        for length in _lengths.get(run[i : i + 2], ()):
            j = i + length
            if j > n:
                break
            if ok[j] and run[i:j] in words and (unk, cnt + 1) < best[j]:
                best[j] = (unk, cnt + 1)
                back[j] = (i, True)
        # One unknown character cluster: up to the next possible start.
        j = i + 1
        while j < n and not ok[j]:
            j += 1
        cand = (unk + j - i, cnt + 1)
        if cand < best[j]:
            best[j] = cand
            back[j] = (i, False)
    pieces: list[tuple[str, bool]] = []
    j = n
    while j > 0:
        i, known = back[j]
        pieces.append((run[i:j], known))
        j = i
    pieces.reverse()
    out: list[str] = []
    prev_known = True
    for piece, known in pieces:
        if not known and not prev_known:
            out[-1] += piece  # adjacent unknown clusters are one unknown word
        else:
            out.append(piece)
        prev_known = known
    return tuple(out)


def split_words(text: str) -> list[str]:
    """``text`` with every run of Thai letters cut into words (other
    characters kept as they are, each Thai word a separate item)."""
    out: list[str] = []
    pos = 0
    for m in THAI_RUN.finditer(text):
        if m.start() > pos:
            out.append(text[pos : m.start()])
        out.extend(segment(m.group()))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


# --------------------------------------------------------------------------
# RTGS romanisation.
# --------------------------------------------------------------------------

_CONSONANTS = "กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"
_INITIAL = {
    "ก": "k",
    **dict.fromkeys("ขฃคฅฆ", "kh"),
    "ง": "ng",
    **dict.fromkeys("จฉชฌ", "ch"),
    **dict.fromkeys("ซศษส", "s"),
    **dict.fromkeys("ญย", "y"),
    **dict.fromkeys("ฎด", "d"),
    **dict.fromkeys("ฏต", "t"),
    **dict.fromkeys("ฐฑฒถทธ", "th"),
    **dict.fromkeys("ณน", "n"),
    "บ": "b",
    "ป": "p",
    **dict.fromkeys("ผพภ", "ph"),
    **dict.fromkeys("ฝฟ", "f"),
    "ม": "m",
    "ร": "r",
    **dict.fromkeys("ลฬ", "l"),
    "ว": "w",
    **dict.fromkeys("หฮ", "h"),
    "อ": "",
}
_FINAL = {
    **dict.fromkeys("กขฃคฅฆ", "k"),
    "ง": "ng",
    **dict.fromkeys("จฉชซฌฎฏฐฑฒดตถทธศษส", "t"),
    **dict.fromkeys("ญณนรลฬ", "n"),
    **dict.fromkeys("บปผฝพฟภ", "p"),
    "ม": "m",
    "ย": "i",
    "ว": "o",
}
_FINAL.update({"ห": "", "อ": "", "ฮ": ""})
# True clusters (the second consonant is pronounced with the first).
_CLUSTERS = frozenset(re.findall("..", "กรกลกวขรขลขวครคลควตรปรปลพรพลผลบรบลดรฟรฟล"))
_SILENT_H = frozenset("งญนมยรลว")
_FOLLOW = frozenset("ะัาำิีึืุู็")
_TONES = re.compile("[่้๊๋๎ๆฯ]")
_SILENCED = re.compile(f"[{_CONSONANTS}][ิุ]?์")


def _onset(w: str, i: int) -> tuple[str, int]:
    c = w[i]
    i += 1
    n = len(w)
    if i < n and w[i] in _CONSONANTS:
        pair = c + w[i]
        if c == "ห" and w[i] in _SILENT_H:
            return _INITIAL[w[i]], i + 1
        if pair == "อย":
            return "y", i + 1
        if pair in ("ทร", "ศร", "สร"):
            return "s", i + 1
        if pair in _CLUSTERS and i + 1 < n and (w[i + 1] in _FOLLOW or w[i + 1] in "อว"):
            return _INITIAL[c] + _INITIAL[w[i]], i + 1
    return _INITIAL.get(c, ""), i


def _is_final(w: str, i: int) -> bool:
    """``w[i]`` (a consonant) closes the syllable before it rather than
    starting one."""
    n = len(w)
    if i >= n or w[i] not in _CONSONANTS:
        return False
    # A consonant with a following vowel starts the next syllable.
    return not (i + 1 < n and w[i + 1] in _FOLLOW)


def _final(w: str, i: int, vowel: str) -> tuple[str, int]:
    if not _is_final(w, i):
        return vowel, i
    c = w[i]
    f = _FINAL.get(c, "")
    i += 1
    if c == "ย":
        glide = {"a": "ai", "o": "oi", "u": "ui", "oe": "oei", "ua": "uai", "uea": "ueai"}
        return glide.get(vowel, vowel + "i"), i
    if c == "ว":
        glide = {"a": "ao", "i": "io", "e": "eo", "ae": "aeo", "ia": "iao"}
        return glide.get(vowel, vowel + "o"), i
    return vowel + f, i


def _syllables(w: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(w)
    while i < n:
        c = w[i]
        if c in _LEADING:
            i += 1
            if i >= n or w[i] not in _CONSONANTS:
                out.append({"เ": "e", "แ": "ae", "โ": "o"}.get(c, "ai"))
                continue
            on, i = _onset(w, i)
            nxt = w[i : i + 2]
            closed = True
            if c == "เ":
                if nxt == "ีย":
                    v, i = "ia", i + 2
                elif nxt == "ือ":
                    v, i = "uea", i + 2
                elif nxt == "าะ":
                    v, i, closed = "o", i + 2, False
                elif nxt[:1] == "า":
                    v, i, closed = "ao", i + 1, False
                elif nxt[:1] == "ิ" or nxt[:1] == "อ":
                    v, i = "oe", i + 1
                elif nxt[:1] == "็":
                    v, i = "e", i + 1
                elif nxt[:1] == "ย":
                    v, i, closed = "oei", i + 1, False
                else:
                    v = "e"
            elif c == "แ":
                v = "ae"
            elif c == "โ":
                v = "o"
            else:
                v, closed = "ai", False
                if i < n and w[i] == "ย" and (i + 1 >= n or w[i + 1] not in _FOLLOW):
                    i += 1  # ไทย: a silent final ย
            if i < n and w[i] in "ะ็":
                i += 1
                closed = False
            syl, i = _final(w, i, v) if closed else (v, i)
            out.append(on + syl)
            continue
        if c == "ฤ":
            out.append("rue")
            i += 1
            continue
        if c not in _CONSONANTS:
            out.append(c if c.isascii() else "")
            i += 1
            continue
        on, i = _onset(w, i)
        nxt = w[i] if i < n else ""
        after = w[i + 1] if i + 1 < n else ""
        closed = True
        if nxt == "ั":
            i += 1
            if i < n and w[i] == "ว":
                v, i = "ua", i + 1
                if i < n and w[i] == "ะ":
                    i, closed = i + 1, False
            else:
                v = "a"
        elif nxt == "ะ":
            v, i, closed = "a", i + 1, False
        elif nxt == "า":
            v, i = "a", i + 1
        elif nxt == "ำ":
            v, i, closed = "am", i + 1, False
        elif nxt in ("ิ", "ี"):
            v, i = "i", i + 1
        elif nxt in ("ึ", "ื"):
            v, i = "ue", i + 1
            if i < n and w[i] == "อ":
                i += 1
        elif nxt in ("ุ", "ู"):
            v, i = "u", i + 1
        elif nxt == "็" or (nxt == "อ" and after not in _FOLLOW):
            v, i = "o", i + 1
        elif nxt == "ว" and after in _CONSONANTS and _is_final(w, i + 1) and after != "ว":
            v, i = "ua", i + 1
        elif nxt == "ร" and after == "ร":
            i += 2
            v = "a" if _is_final(w, i) else "an"
            closed = v == "a"
        elif _is_final(w, i):
            v = "o"
        else:
            v, closed = "a", False
        syl, i = _final(w, i, v) if closed else (v, i)
        out.append(on + syl)
    return out


@lru_cache(maxsize=20_000)
def romanize_word(word: str) -> str:
    """RTGS spelling of one Thai word (its syllables joined): ``เชียงใหม่`` →
    ``chiangmai``, ``ข่าว`` → ``khao``, ``ลำพูน`` → ``lamphun``."""
    w = _SILENCED.sub("", _TONES.sub("", word.replace("\u0e4d\u0e32", "ำ")))
    return "".join(_syllables(w))


def romanize(text: str) -> str:
    """``text`` with every Thai word romanised (RTGS) and written apart:
    ``ข่าวเชียงใหม่ด่วน`` → ``khao chiangmai duan``. Non-Thai characters
    are kept."""
    text = unicodedata.normalize("NFKC", text)
    parts: list[str] = []
    pos = 0
    for m in THAI_RUN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(" ".join(r for r in map(romanize_word, segment(m.group())) if r))
        pos = m.end()
    parts.append(text[pos:])
    return " ".join("".join(parts).split())
