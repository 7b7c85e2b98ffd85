"""Tokens and channel-name matching with Thai and CJK support, on text without them.

The Thai round touched two hot paths: ``text._words`` (every chunk of every
post the writer indexes and every query) now looks for Thai letters in a
non-ASCII chunk, and ``citations._match_names`` (every xref call, over
every archived channel) also tries a channel title's Latin spelling when
the title is Thai or Hangul. This bench runs both, shipped and as before
(``_words_before`` and ``_match_names_before`` below are the code of the
round before, verbatim), interleaved, on text with no Thai in it — the
cost the rest of the archive must not pay — and, for scale, on Thai text.

Parts (``python -m bench tokens:index,names``; all by default):

* ``index`` — ``text.analyze`` (what the writer runs per post) over 20,000
  generated posts (Arabic, Persian, Russian, Ukrainian, English words of
  bench_xref, with numbers), caches emptied before every round: posts/s;
  then 5,000 Thai posts (the holdout4 channel's clauses recombined);
* ``names`` — ``extract_citations`` of the xref-dev articles against 2,000
  channels with Latin, Cyrillic and Arabic titles (one Thai, one Chinese,
  one Khmer, and since the romanise round one Myanmar, one Lao, one
  Telugu): ms per article.

The CJK round (bigram tokens for Han, kana, Khmer, Lao and Myanmar in
``text._words``; Han and Khmer titles in ``_match_names``) adds the mode
``thai-round`` to ``index``: ``_words`` as the Thai round shipped it
(verbatim below), and 5,000 posts of the holdout5 Japanese, Chinese and
Khmer channels recombined.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from telewatch import text
from telewatch.text import normalize
from telewatch.xref import citations
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.names import name_key, same_name, words

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "data" / "xref-dev"
THAI_CHANNEL = ROOT / "tests" / "data" / "xref-eval" / "holdout4" / "channels" / "chiangmai_khao"
CJK_CHANNELS = [
    ROOT / "tests" / "data" / "xref-eval" / "holdout5" / "channels" / name
    for name in ("higo_sokuho", "taichung_zaidi", "siemreap_thmey")
]
ROUNDS = 5


def _words_before(folded: str) -> list[str]:
    # Marks inside words are rare once Arabic tashkeel, Hebrew points and
    # Latin accents are folded: the plain pattern is several times faster.
    if folded.isascii() or not text._HAS_MARK.search(folded):
        return text._WORD_PLAIN.findall(folded)
    return text._WORD.findall(folded)


def _words_thai_round(folded: str) -> list[str]:
    # text._words as the Thai round shipped it (before bigrams).
    if folded.isascii():
        return text._WORD_PLAIN.findall(folded)
    found = (text._WORD if text._HAS_MARK.search(folded) else text._WORD_PLAIN).findall(folded)
    if text.thai.HAS_THAI.search(folded):
        return [
            p
            for w in found
            for p in (text.thai.segment(w) if text._all_thai(w) else text._cut_thai(w))
        ]
    return found


def _match_names_before(
    text_: str, channels: list[ChannelInfo]
) -> dict[int, tuple[str, float, int]]:
    toks = words(text_)
    norm_text = " " + " ".join(normalize(t) for t in toks) + " "
    found: dict[int, tuple[str, float, int]] = {}
    for ch in channels:
        variants = [v for v in (ch.title, (ch.username or "").replace("_", " ")) if v]
        for v in list(variants):
            d = citations._distinctive(v)
            if d and d != v and len(name_key(d).skeleton.replace(" ", "")) >= 4:
                variants.append(d)
        best: tuple[str, float, int] | None = None
        for v in variants:
            nv = " ".join(normalize(w) for w in words(v))
            if len(nv) < 4:
                continue
            exact = norm_text.count(f" {nv} ")
            if exact:
                cand = (v, 1.0, exact)
            else:
                n = len(words(v))
                hits = [
                    (
                        " ".join(toks[i : i + n]),
                        same_name(v, " ".join(toks[i : i + n]), strict=True),
                    )
                    for i in range(len(toks) - n + 1)
                    if toks[i][:1].isupper() or not toks[i][:1].isalpha() or not toks[i].isascii()
                ]
                hits = [h for h in hits if h[1] >= 0.8]
                if not hits:
                    continue
                surface, sim = max(hits, key=lambda h: h[1])
                cand = (surface, sim, len(hits))
            if best is None or (cand[1], cand[2]) > (best[1], best[2]):
                best = cand
        if best is not None:
            found[ch.id] = best
    return found


def _posts(n: int, seed: int) -> list[str]:
    from bench.bench_xref import _LANGS, _PLACES, _WORDS

    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        lang = rnd.choice(_LANGS)
        ws = _WORDS[lang].split()
        parts = [rnd.choice(ws) for _ in range(rnd.randint(15, 45))]
        parts.insert(rnd.randrange(len(parts)), rnd.choice(_PLACES[lang]))
        parts.insert(rnd.randrange(len(parts)), str(rnd.randint(3, 5000)))
        out.append(" ".join(parts))
    return out


def _thai_posts(n: int) -> list[str]:
    export = json.loads((THAI_CHANNEL / "result.json").read_text("utf-8"))
    clauses = [str(m["text"]) for m in export["messages"]]
    rnd = random.Random(5)
    return [" ".join(rnd.sample(clauses, 3)) for _ in range(n)]


def _cjk_posts(n: int) -> list[str]:
    clauses = []
    for ch in CJK_CHANNELS:
        export = json.loads((ch / "result.json").read_text("utf-8"))
        clauses.extend(str(m["text"]) for m in export["messages"])
    rnd = random.Random(6)
    return [" ".join(rnd.sample(clauses, 3)) for _ in range(n)]


def _cold() -> None:
    text._CHUNKS.clear()
    text._STEMS.clear()


def _rate(posts: list[str]) -> float:
    _cold()
    t0 = time.perf_counter()
    for p in posts:
        text.analyze(p)
    return len(posts) / (time.perf_counter() - t0)


def _index() -> None:
    posts = _posts(20_000, 3)
    shipped_words = text._words
    rates: dict[str, list[float]] = {"before": [], "thai-round": [], "shipped": []}
    modes = (
        ("before", _words_before),
        ("thai-round", _words_thai_round),
        ("shipped", shipped_words),
    )
    for _ in range(ROUNDS):
        for mode, fn in modes:
            text._words = fn
            try:
                rates[mode].append(_rate(posts))
            finally:
                text._words = shipped_words
    for mode, r in rates.items():
        print(
            f"index, no Thai/CJK, {mode:10s} {statistics.median(r):8.0f} posts/s"
            f" (median of {ROUNDS}; range {min(r):.0f}-{max(r):.0f})"
        )
    thai = _thai_posts(5_000)
    from telewatch import thai as thai_mod

    thai_mod._load()  # the word list is read once per process (reported below)
    r = [_rate(thai) for _ in range(ROUNDS)]
    print(f"index, Thai,    shipped  {statistics.median(r):8.0f} posts/s (median of {ROUNDS})")
    thai_mod._words = None
    t0 = time.perf_counter()
    thai_mod._load()
    print(f"Thai word list read in {1000 * (time.perf_counter() - t0):.0f} ms (once per process)")
    cjk = _cjk_posts(5_000)
    for mode, fn in (("thai-round", _words_thai_round), ("shipped", shipped_words)):
        text._words = fn
        try:
            r = [_rate(cjk) for _ in range(ROUNDS)]
        finally:
            text._words = shipped_words
        print(
            f"index, CJK/Khmer, {mode:10s} {statistics.median(r):8.0f} posts/s (median of {ROUNDS})"
        )


def _channels() -> list[ChannelInfo]:
    rnd = random.Random(9)
    latin = [
        "Jatim Terkini",
        "Debreceni Hirek",
        "Rafidain Watch",
        "Basra Now",
        "Quetta Update",
        "Evros Nea",
    ]
    cyr = ["Алматы жаңалық", "Новости Самары", "Харків Оперативний", "Гомель Навіны"]
    arab = ["صابرين نيوز", "اخبار البصرة", "پیام جنوب", "کوئٹہ اپڈیٹ"]
    out = []
    for i in range(2_000):
        base = rnd.choice(latin + cyr + arab)
        out.append(ChannelInfo(3_000_000 + i, f"bench_{i}", f"{base} {i}"))
    out.append(ChannelInfo(1_600_000_404, "chiangmai_khao", "ข่าวเชียงใหม่ด่วน"))
    out.append(ChannelInfo(1_600_000_502, "taichung_zaidi", "台中在地快報"))
    out.append(ChannelInfo(1_600_000_503, "siemreap_thmey", "ព័ត៌មានសៀមរាបថ្ងៃនេះ"))
    # Myanmar, Lao and Telugu titles (the romanise round's matcher).
    out.append(ChannelInfo(1_600_000_603, "shwemdy_news", "ရွှေမန္တလေး သတင်း"))
    out.append(ChannelInfo(1_600_000_604, "savan_khaoduan", "ຂ່າວດ່ວນສະຫວັນນະເຂດ"))
    out.append(ChannelInfo(1_600_000_605, "vizag_updates", "విశాఖ తాజా వార్తలు"))
    return out


def _names() -> None:
    articles = [
        json.loads(line)
        for line in (DEV / "articles.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    texts = [f"{a.get('title', '')}\n{a['text']}" for a in articles]
    channels = _channels()
    shipped: Callable[..., object] = citations._match_names
    times: dict[str, list[float]] = {"before": [], "shipped": []}
    for _ in range(ROUNDS):
        for mode, fn in (("before", _match_names_before), ("shipped", shipped)):
            t0 = time.perf_counter()
            for article in texts:
                fn(article, channels)
            times[mode].append(1000 * (time.perf_counter() - t0) / len(texts))
    for mode, ms in times.items():
        print(
            f"names, {len(texts)} dev articles x {len(channels)} channels, {mode:8s}"
            f" {statistics.median(ms):6.1f} ms/article (median of {ROUNDS};"
            f" range {min(ms):.1f}-{max(ms):.1f})"
        )


def main(parts: list[str] | None = None) -> None:
    wanted = parts or ["index", "names"]
    if "index" in wanted:
        _index()
    if "names" in wanted:
        _names()
