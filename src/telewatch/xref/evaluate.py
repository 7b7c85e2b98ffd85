"""``telewatch eval xref|trace DATASET_DIR``: measure xref and trace.

A dataset has the layout of ``shared/data/xref-dev`` (``channels/<username>/
result.json`` Telegram Desktop exports, ``articles.jsonl``,
``provenance.jsonl``). It is imported into a temporary archive, then:

xref, per expected reference (an article citing n posts has n references):
  the *rank* of a reference is the number of non-expected posts ranked above
  it (other expected posts do not push it down); Recall@k = share of
  references with rank < k; MRR = mean of 1/(1+rank) (0 when not returned).
  Per article: Recall@k = share of positive articles all of whose
  expected posts have rank < k (every cited post found). Link precision = share of
  ``link`` matches that are expected; negatives with no link = negative
  articles (no expected post) that got no ``link``.

trace, per cluster: the trace of the origin gives predicted (origin, copy)
  pairs; precision/recall/F1 over all clusters' pairs. Origin accuracy: the
  share of members (origin and copies) whose trace reports the cluster's
  origin (for a post in two clusters, either cluster's origin); also how many
  clusters' origins, traced themselves, are reported as the origin.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telewatch.models import UserError
from telewatch.store.db import Connection
from telewatch.text import SCRIPT_LANGUAGES
from telewatch.text import guess_language as text_guess_language
from telewatch.xref.article import Article, guess_language, parse_time


@dataclass
class Dataset:
    """A loaded dataset: its folder, channel exports, articles and clusters."""

    root: Path
    exports: list[Path]
    articles: list[dict[str, Any]]
    clusters: list[dict[str, Any]]


def load_dataset(root: Path) -> Dataset:
    """Read the dataset's files; raises UserError naming what is missing."""
    if not root.is_dir():
        raise UserError(f"dataset folder not found: {root}")
    exports = sorted(root.glob("channels/*/result.json"))
    if not exports:
        raise UserError(f"no channels/<username>/result.json under {root}; see docs/XREF.md")

    def jsonl(name: str) -> list[dict[str, Any]]:
        path = root / name
        if not path.is_file():
            return []
        out = []
        for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as err:
                    raise UserError(f"{path}:{i}: not JSON ({err}); fix the line") from err
        return out

    return Dataset(root, exports, jsonl("articles.jsonl"), jsonl("provenance.jsonl"))


@contextmanager
def _archive(ds: Dataset, semantic: bool) -> Iterator[tuple[Connection, dict[str, int]]]:
    """The dataset imported into a temporary archive: an open connection
    and the channel ids by lower-case username. With ``semantic`` every post
    version is embedded once first (``semantic.index_archive``, as
    ``telewatch embed`` does), so queries read stored vectors. Both
    evaluations run inside this."""
    from telewatch.sources.desktop_export import import_paths
    from telewatch.store import db
    from telewatch.store.entries import public_channels

    with tempfile.TemporaryDirectory(prefix="telewatch-eval-") as tmp:
        path = Path(tmp) / "eval.db"
        import_paths(path, ds.exports)
        conn = db.connect(path, readonly=not semantic)
        try:
            if semantic:
                from telewatch.xref.semantic import index_archive

                index_archive(conn)
            users = {name.lower(): cid for cid, name, _ in public_channels(conn)}
            yield conn, users
        finally:
            conn.close()


def _name(users: dict[str, int], ref: tuple[int, int]) -> str:
    """``@username`` of a reference's channel (its id when unknown)."""
    for u, cid in users.items():
        if cid == ref[0]:
            return f"@{u}"
    return str(ref[0])


def _ref(users: dict[str, int], item: dict[str, Any]) -> tuple[int, int]:
    name = str(item["channel"]).lstrip("@").lower()
    if name not in users:
        raise UserError(f"dataset refers to @{name}, which has no channels/{name}/result.json")
    return users[name], int(item["message_id"])


@dataclass
class XrefScores:
    """xref metrics (see module docstring)."""

    references: int = 0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    mrr: float = 0.0
    article_recall_at_1: float = 0.0
    article_recall_at_5: float = 0.0
    links: int = 0
    link_precision: float = 1.0
    negatives: int = 0
    negatives_without_link: int = 0
    per_article: list[dict[str, Any]] = field(default_factory=list)
    # Per language of the cited post ("post:ru") and of the article ("article:de").
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)


_HEBREW = re.compile(r"[\u0590-\u05ff]")
_GEORGIAN = re.compile(r"[\u10a0-\u10ff]")
_ARMENIAN = re.compile(r"[\u0531-\u058f]")
_SORANI = re.compile(r"[ڕڵێۆە]")
_URDU = re.compile(r"[ٹڈڑںےہ۔]")
_BY_LETTERS = (
    ("he", _HEBREW),
    ("ka", _GEORGIAN),
    ("hy", _ARMENIAN),
    ("ckb", _SORANI),
    ("ur", _URDU),
)


def post_language(text: str) -> str:
    """The language of a post for the per-language figures: Hebrew,
    Georgian, Armenian, Sorani Kurdish (ڕ ڵ ێ ۆ ە) and Urdu (ٹ ڈ ڑ ں ے ہ,
    the full stop ۔) by their own letters; else xref's guess (its script, its
    function words or the language identifier: ``article.guess_language``);
    else, when that is unsure, a language its script names
    (``text.SCRIPT_LANGUAGES``)."""
    for lang, letters in _BY_LETTERS:
        if letters.search(text):
            return lang
    lang = guess_language(text)
    if lang == "und":
        # Thai, Lao, Myanmar, Khmer, Telugu, Han, kana…: the archive's guess.
        by_script = text_guess_language(text)
        if by_script in SCRIPT_LANGUAGES:
            return by_script
    return lang


def _by_language(rows: list[tuple[str, str, int]]) -> dict[str, dict[str, float]]:
    """Recall@1/@5 per language from (article language, post language, rank)."""
    groups: dict[str, list[int]] = {}
    for art_lang, p_lang, rank in rows:
        groups.setdefault(f"post:{p_lang}", []).append(rank)
        groups.setdefault(f"article:{art_lang}", []).append(rank)
    return {
        k: {
            "references": len(v),
            "recall_at_1": sum(r < 1 for r in v) / len(v),
            "recall_at_5": sum(r < 5 for r in v) / len(v),
        }
        for k, v in sorted(groups.items())
    }


def eval_xref(
    root: Path, *, semantic: bool = True, progress: Callable[[str], None] | None = None
) -> XrefScores:
    """Run xref on every article of the dataset against its channels."""
    from telewatch.xref.rank import cross_reference

    ds = load_dataset(root)
    if not ds.articles:
        raise UserError(f"{root}/articles.jsonl is missing or empty")
    with _archive(ds, semantic) as (conn, users):
        return _score_xref(ds, conn, users, semantic, progress, cross_reference)


def _score_xref(
    ds: Dataset,
    conn: Any,
    users: dict[str, int],
    semantic: bool,
    progress: Callable[[str], None] | None,
    cross_reference: Any,
) -> XrefScores:
    sc = XrefScores()
    ranks: list[float] = []
    art_r1 = art_r5 = positives = 0
    links_ok = 0
    lang_rows: list[tuple[str, str, int]] = []
    from telewatch.xref.candidates import get_post

    for a in ds.articles:
        published = parse_time(str(a["published"])) if a.get("published") else None
        text = str(a["text"])
        art = Article(
            text,
            str(a.get("title", "")),
            a.get("lang") or guess_language(text),
            published,
            str(a["id"]),
        )
        res = cross_reference(conn, art, limit=20, semantic=semantic)
        gold = [_ref(users, e) for e in a.get("expected", [])]
        ranked = [(m.post.channel_id, m.post.message_id) for m in res.matches]
        links = [r for m, r in zip(res.matches, ranked, strict=True) if m.confidence == "link"]
        sc.links += len(links)
        links_ok += sum(1 for r in links if r in gold)
        art_ranks = []
        for g in gold:
            if g in ranked:
                i = ranked.index(g)
                rank = sum(1 for x in ranked[:i] if x not in gold)
            else:
                rank = 10**6
            art_ranks.append(rank)
            ranks.append(rank)
            post = get_post(conn, *g)
            lang_rows.append((art.language, post_language(post.text) if post else "und", rank))
        if gold:
            positives += 1
            worst = max(art_ranks)
            art_r1 += worst < 1
            art_r5 += worst < 5
        else:
            sc.negatives += 1
            sc.negatives_without_link += not links
        row = {
            "id": a["id"],
            "language": art.language,
            "expected": len(gold),
            "ranks": art_ranks,
            "links": len(links),
            "bad_links": len([r for r in links if r not in gold]),
            "missed": [
                f"{_name(users, g)}/{g[1]}" for g, r in zip(gold, art_ranks, strict=True) if r
            ],
            "wrong_links": [f"{_name(users, r)}/{r[1]}" for r in links if r not in gold],
        }
        sc.per_article.append(row)
        if progress:
            progress(f"{a['id']}: ranks {art_ranks} links {len(links)}")
    sc.per_language = _by_language(lang_rows)
    sc.references = len(ranks)
    if ranks:
        sc.recall_at_1 = sum(r < 1 for r in ranks) / len(ranks)
        sc.recall_at_5 = sum(r < 5 for r in ranks) / len(ranks)
        sc.mrr = sum(1 / (1 + r) for r in ranks) / len(ranks)
    if positives:
        sc.article_recall_at_1 = art_r1 / positives
        sc.article_recall_at_5 = art_r5 / positives
    sc.link_precision = links_ok / sc.links if sc.links else 1.0
    return sc


@dataclass
class TraceScores:
    """trace metrics (see module docstring)."""

    clusters: int = 0
    pairs_expected: int = 0
    pairs_found: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    origin_accuracy: float = 0.0
    origins_checked: int = 0
    origin_self: int = 0
    per_cluster: list[dict[str, Any]] = field(default_factory=list)


def eval_trace(
    root: Path, *, semantic: bool = False, progress: Callable[[str], None] | None = None
) -> TraceScores:
    """Run trace on every cluster of the dataset."""
    from telewatch.xref.provenance import trace

    ds = load_dataset(root)
    if not ds.clusters:
        raise UserError(f"{root}/provenance.jsonl is missing or empty")
    sc = TraceScores(clusters=len(ds.clusters))
    with _archive(ds, semantic) as (conn, users):
        origins_of: dict[tuple[int, int], set[tuple[int, int]]] = {}
        for c in ds.clusters:
            o = _ref(users, c["origin"])
            for m in [c["origin"], *c.get("copies", [])]:
                origins_of.setdefault(_ref(users, m), set()).add(o)
        tp = fp = fn = 0
        ok = checked = 0
        for c in ds.clusters:
            o = _ref(users, c["origin"])
            gold = {_ref(users, x) for x in c.get("copies", [])}
            res = trace(conn, *o, semantic=semantic)
            pred = {
                (s.post.channel_id, s.post.message_id) for s in res.spread if s.kind != "origin"
            }
            tp += len(pred & gold)
            fp += len(pred - gold)
            fn += len(gold - pred)
            wrong_origin = []
            sc.origin_self += (res.origin.channel_id, res.origin.message_id) in origins_of[o]
            for m in [o, *gold]:
                r = res if m == o else trace(conn, *m, semantic=semantic)
                checked += 1
                if (r.origin.channel_id, r.origin.message_id) in origins_of[m]:
                    ok += 1
                else:
                    wrong_origin.append(m[1])
            row = {
                "cluster": c.get("cluster"),
                "missed": sorted(m for _, m in gold - pred),
                "extra": sorted(m for _, m in pred - gold),
                "wrong_origin_from": wrong_origin,
            }
            sc.per_cluster.append(row)
            if progress:
                progress(f"{row['cluster']}: missed {row['missed']} extra {row['extra']}")
    sc.pairs_expected = tp + fn
    sc.pairs_found = tp + fp
    sc.precision = tp / (tp + fp) if tp + fp else 1.0
    sc.recall = tp / (tp + fn) if tp + fn else 1.0
    sc.f1 = 2 * sc.precision * sc.recall / (sc.precision + sc.recall) if tp else 0.0
    sc.origins_checked = checked
    sc.origin_accuracy = ok / checked if checked else 1.0
    return sc
