"""The dashboard's comments: ctrl+t in the search screen searches comments
instead of posts, a hit opens its post with the thread under it, and c
hides or shows the thread (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from telewatch.dashboard.screens import KEYS, PostScreen, SearchScreen
from telewatch.models import (
    Channel,
    ChannelSeen,
    CommentAuthor,
    Discussion,
    DiscussionLinked,
    Post,
    PostSeen,
)
from telewatch.store.db import connect
from telewatch.store.writer import apply_events
from tests.dashboard.helpers import fixed_app, until
from tests.fixtures.dashboard import AR, NOW

GROUP = 1500000190


def _body(screen: PostScreen) -> str:
    """The post screen's body as plain text."""
    console = Console(record=True, width=110, color_system=None)
    console.print(screen.query_one("#post-body", Static).content)
    return console.export_text()


def _add_comments(db: Path) -> None:
    at = NOW - timedelta(minutes=30)
    author = CommentAuthor(42, "Noor Witness", "noor_w")
    events = [
        ChannelSeen(Channel(GROUP, "rafidain chat", access_hash=5), at),
        DiscussionLinked(AR, GROUP, at),
        PostSeen(
            Post(GROUP, 1, at, "copy of the post", discussion=Discussion(channel_id=AR, post_message_id=103)),
            at,
        ),
        PostSeen(
            Post(GROUP, 2, at, "saw the blast from the quay", reply_to=1,
                 discussion=Discussion(thread=1, author=author)),
            at,
        ),
        PostSeen(
            Post(GROUP, 3, at, "which quay exactly?", reply_to=2,
                 discussion=Discussion(thread=1, author=CommentAuthor(43, "Sami"))),
            at,
        ),
    ]  # fmt: skip
    conn = connect(db, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        stats = apply_events(conn, events, ())
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert stats.errors == 0, stats.reasons


async def test_ctrl_t_searches_comments_and_opens_the_thread(dash_archive: Path) -> None:
    _add_comments(dash_archive)
    assert any(k == "ctrl+t" for k, _ in KEYS)
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("slash")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        await pilot.press(*"quay")
        # Posts only: the comments' words are not found there.
        await until(pilot, lambda: screen.finished_query == "quay")
        assert screen.hits == {} and screen.comment_hits == {}
        await pilot.press("ctrl+t")
        await until(pilot, lambda: len(screen.comment_hits) == 2)
        assert {h.comment.author_name for h in screen.comment_hits.values()} == {
            "Noor Witness",
            "Sami",
        }
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, PostScreen))
        post = app.screen
        assert isinstance(post, PostScreen)
        await until(pilot, lambda: len(post.thread) == 2)
        assert (post.channel_id, post.message_id) == (AR, 103)
        assert [c.depth for c in post.thread] == [0, 1]
        body = _body(post)
        assert "Noor Witness (@noor_w)" in body and "    which quay exactly?" in body
        await pilot.press("c")
        assert "which quay exactly?" not in _body(post)
        await pilot.press("c")
        assert "which quay exactly?" in _body(post)
        await pilot.press("ctrl+t")
        # ctrl+t on the post screen does nothing; back to search and posts again.
        await pilot.press("escape")
        assert isinstance(app.screen, SearchScreen)
