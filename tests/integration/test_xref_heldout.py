"""Held-out language pairs the dev set does not have: Russian, Ukrainian and
Persian channels cited by English, Ukrainian, Arabic and Russian articles (nothing here
was tuned on)."""

from __future__ import annotations

import pytest

from telewatch.store import db
from telewatch.xref.article import Article, guess_language, parse_time
from telewatch.xref.rank import cross_reference
from tests.fixtures.xref import HeldOut


def _run(
    heldout: HeldOut, key: str
) -> tuple[list[tuple[str | None, int, str]], list[tuple[str, int]]]:
    text, published, expected = heldout.articles[key]
    title, _, body = text.partition("\n\n")
    art = Article(body, title, guess_language(body), parse_time(published), key)
    conn = db.connect(heldout.db)
    try:
        res = cross_reference(conn, art)
    finally:
        conn.close()
    return [(m.post.username, m.post.message_id, m.confidence) for m in res.matches], expected


@pytest.mark.parametrize("key", ["en-engels", "uk-kharkiv", "ar-khoy", "ru-belgorod"])
def test_heldout_article_links_its_post(heldout_archive: HeldOut, key: str) -> None:
    """The cited Russian/Ukrainian post ranks first with confidence 'link'."""
    ranked, expected = _run(heldout_archive, key)
    assert ranked, "no match returned"
    assert (ranked[0][0], ranked[0][1]) == expected[0]
    assert ranked[0][2] == "link"


def test_heldout_negative_gets_no_link(heldout_archive: HeldOut) -> None:
    """An event the cited channel never reported gets no 'link' match."""
    ranked, _ = _run(heldout_archive, "en-negative")
    assert all(conf != "link" for _, _, conf in ranked)
