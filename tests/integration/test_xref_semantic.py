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
    assert cached[0] == cached[1] == first.candidates_considered > 0
    assert again == cached[0]
    assert (first.matches[0].post.username, first.matches[0].post.message_id) == expected[0]
    assert [m.post.message_id for m in first.matches] == [m.post.message_id for m in second.matches]
    assert first.matches[0].evidence["similarity"]["semantic"] is not None  # type: ignore[index]
