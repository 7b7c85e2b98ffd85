"""Ranking rules on a small real archive: publication cut-off, forwards,
edits, vague citations (xref.rank)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from telewatch.sources.desktop_export import import_paths
from telewatch.store import db
from telewatch.xref.article import Article
from telewatch.xref.rank import cross_reference
from tests.fixtures.xref import KYIV, write_export, xref_text

SIG = "\n\n🛰 Sky Watch UA"


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two Ukrainian channels; one forwards the other; one post edited; one after the article."""
    root = tmp_path_factory.mktemp("rank")
    a = [
        (
            10,
            datetime(2024, 3, 5, 7, 30, tzinfo=KYIV),
            "Вибухи в Одесі: ракетний удар по порту, 3 поранених." + SIG,
        ),
        (11, datetime(2024, 3, 5, 9, 0, tzinfo=KYIV), "Курс долара у банках зріс." + SIG),
        (
            12,
            datetime(2024, 3, 5, 20, 0, tzinfo=KYIV),
            "Одеса: уточнено, внаслідок удару по порту 5 поранених." + SIG,
        ),
    ]
    b = [
        (
            500,
            datetime(2024, 3, 5, 7, 45, tzinfo=KYIV),
            "Вибухи в Одесі: ракетний удар по порту, 3 поранених." + SIG,
        ),
        (501, datetime(2024, 3, 5, 10, 0, tzinfo=KYIV), "Погода в Одесі: дощ і вітер до вечора."),
    ]
    paths = [
        write_export(root, "sky_watch_ua", "Sky Watch UA", 1700000001, a,
                     edited={10: datetime(2024, 3, 5, 8, 10, tzinfo=KYIV)}),
        write_export(root, "odesa_live", "Odesa Live", 1700000002, b, forwarded={500: "Sky Watch UA"}),
    ]  # fmt: skip
    path = root / "rank.db"
    import_paths(path, paths)
    return path


ARTICLE = (
    "Russian missiles struck the port of Odesa on Tuesday morning, wounding three people, "
    "the Ukrainian Telegram channel Sky Watch UA reported."
)


def test_cited_post_is_linked_and_its_edit_is_shown(small_archive: Path) -> None:
    """The cited channel's post is the top link and its evidence says it was edited."""
    res = xref_text(small_archive, ARTICLE, "2024-03-05T12:00:00+00:00")
    top = res.matches[0]
    assert (top.post.username, top.post.message_id, top.confidence) == ("sky_watch_ua", 10, "link")
    assert top.evidence["edited"] is True
    assert top.evidence["language_pair"] == "en→uk"


def test_posts_after_publication_are_never_candidates(small_archive: Path) -> None:
    """The 20:00 update cannot be the source of an article published at noon."""
    res = xref_text(small_archive, ARTICLE, "2024-03-05T12:00:00+00:00")
    assert 12 not in [m.post.message_id for m in res.matches]


def test_forward_is_never_a_link(small_archive: Path) -> None:
    """Another channel's forward of the cited post is at most a suggestion, ranked below it."""
    res = xref_text(small_archive, ARTICLE, "2024-03-05T12:00:00+00:00")
    fwd = [m for m in res.matches if m.post.message_id == 500]
    assert fwd and fwd[0].confidence == "suggest"
    assert fwd[0].evidence["forwarded_from"] == "Sky Watch UA"


def test_vague_citation_gives_suggestions_only(small_archive: Path) -> None:
    """ "Ukrainian Telegram channels" (no name) never yields a link."""
    text = (
        "Missiles hit the port of Odesa on Tuesday morning, wounding three, according to "
        "several Ukrainian Telegram channels."
    )
    res = xref_text(small_archive, text, "2024-03-05T12:00:00+00:00")
    assert res.matches
    assert {m.confidence for m in res.matches} == {"suggest"}
    assert res.matches[0].post.message_id in (10, 500)


def test_unknown_publication_time_is_said(small_archive: Path) -> None:
    """Without a publication time the result carries a note saying so."""
    art = Article(ARTICLE, "", "en", None, "test")
    conn = db.connect(small_archive)
    try:
        res = cross_reference(conn, art)
    finally:
        conn.close()
    assert any("publication time unknown" in n for n in res.notes)
