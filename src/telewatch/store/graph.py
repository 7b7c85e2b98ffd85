"""The archive's SQL for ``telewatch graph`` (xref.graph builds the network).

Plain rows in, plain rows out: channels with their figures, forwards and
mentions aggregated per (channel, target) with counts and first/last
publication times. Times are archive text (``YYYY-MM-DDTHH:MM:SSZ``);
``since`` is inclusive, ``until`` exclusive, both on the post's date.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GraphChannel:
    """An archived channel as a node."""

    id: int
    username: str | None
    title: str | None
    subscribers: int | None
    lang: str | None
    """The most common language guess (text.guess_language, stored per post)
    of its posts in the period, ``und`` ignored; None without any."""
    posts: int
    """Posts published in the period."""


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """Posts of ``channel_id`` pointing at one target, with first/last dates."""

    channel_id: int
    target_id: int | None
    """The target channel's id when the archive knows it."""
    target_name: str | None
    """The target's username (mentions) or display name (forwards without an id)."""
    posts: int
    first: str
    last: str


# Discussion groups (store/comments.py) are not channels of the network: their
# posts are comments and copies of their channel's posts, never forwards or copies.
_NOT_GROUP = " AND p.channel_id NOT IN (SELECT group_id FROM discussion_links)"


def _window(since: str | None, until: str | None, col: str = "p.date") -> tuple[str, list[str]]:
    where, args = _NOT_GROUP, []
    if since is not None:
        where += f" AND {col} >= ?"
        args.append(since)
    if until is not None:
        where += f" AND {col} < ?"
        args.append(until)
    return where, args


def channels(conn: sqlite3.Connection, since: str | None, until: str | None) -> list[GraphChannel]:
    """Every archived channel, with its language and post count in the period."""
    where, args = _window(since, until)
    langs: dict[int, str] = {}
    for cid, lang, _n in conn.execute(
        "SELECT p.channel_id, p.lang, count(*) AS n FROM posts p"
        f" WHERE p.lang IS NOT NULL AND p.lang != 'und'{where}"
        " GROUP BY p.channel_id, p.lang ORDER BY p.channel_id, n DESC, p.lang",
        args,
    ):
        langs.setdefault(int(cid), str(lang))
    counts = {
        int(r[0]): int(r[1])
        for r in conn.execute(
            f"SELECT p.channel_id, count(*) FROM posts p WHERE 1 = 1{where} GROUP BY p.channel_id",
            args,
        )
    }
    return [
        GraphChannel(
            id=int(r[0]),
            username=r[1],
            title=r[2],
            subscribers=r[3],
            lang=langs.get(int(r[0])),
            posts=counts.get(int(r[0]), 0),
        )
        for r in conn.execute(
            "SELECT id, username, title, subscribers FROM channels"
            " WHERE id NOT IN (SELECT group_id FROM discussion_links) ORDER BY id"
        )
    ]


def usernames(conn: sqlite3.Connection) -> dict[str, int]:
    """Lower-cased username → channel id, current and former (channel_changes);
    a current username wins over a former one of another channel."""
    out: dict[str, int] = {}
    for cid, old, new in conn.execute(
        "SELECT channel_id, old_value, new_value FROM channel_changes"
        " WHERE field = 'username' ORDER BY captured_at, id"  # ties: write order
    ):
        for name in (old, new):
            if name:
                out[str(name).lower()] = int(cid)
    for cid, name in conn.execute("SELECT id, username FROM channels WHERE username IS NOT NULL"):
        out[str(name).lower()] = int(cid)
    return out


def titles(conn: sqlite3.Connection) -> dict[str, int]:
    """Channel title → id (a Desktop export names a forward's origin only by title)."""
    return {
        str(t): int(cid)
        for cid, t in conn.execute(
            "SELECT id, title FROM channels WHERE title IS NOT NULL ORDER BY id DESC"
        )
    }


def forwards(conn: sqlite3.Connection, since: str | None, until: str | None) -> list[EdgeRow]:
    """Forwards per (forwarding channel, origin): by origin id when Telegram
    gave it, else by the origin's display name."""
    where, args = _window(since, until)
    return [
        EdgeRow(int(r[0]), r[1], r[2], int(r[3]), str(r[4]), str(r[5]))
        for r in conn.execute(
            "SELECT p.channel_id, p.fwd_channel_id,"
            " CASE WHEN p.fwd_channel_id IS NULL THEN p.fwd_name END AS name,"
            " count(*), min(p.date), max(p.date) FROM posts p"
            f" WHERE (p.fwd_channel_id IS NOT NULL OR p.fwd_name IS NOT NULL){where}"
            " GROUP BY p.channel_id, p.fwd_channel_id, name ORDER BY 1, 2, 3",
            args,
        )
    ]


def mentions(conn: sqlite3.Connection, since: str | None, until: str | None) -> list[EdgeRow]:
    """Posts per (channel, mentioned username) from ``posts.tme_refs`` (t.me
    links and @handles, as the writer extracted them: store.posts.extract_links)."""
    where, args = _window(since, until)
    return [
        EdgeRow(int(r[0]), None, str(r[1]), int(r[2]), str(r[3]), str(r[4]))
        for r in conn.execute(
            "SELECT p.channel_id, lower(json_extract(j.value, '$.username')) AS u,"
            " count(DISTINCT p.id), min(p.date), max(p.date)"
            " FROM posts p, json_each(p.tme_refs) j"
            # The alias is SQLite's only: PostgreSQL's WHERE sees no output names.
            f" WHERE p.tme_refs IS NOT NULL{where}"
            " AND json_extract(j.value, '$.username') IS NOT NULL"
            " GROUP BY p.channel_id, u ORDER BY 1, 2",
            args,
        )
    ]


def date_range(
    conn: sqlite3.Connection, since: str | None, until: str | None
) -> tuple[str, str] | None:
    """The first and last post dates in the period (None when it has no posts)."""
    where, args = _window(since, until)
    r = conn.execute(
        f"SELECT min(p.date), max(p.date) FROM posts p WHERE 1 = 1{where}", args
    ).fetchone()
    return None if r is None or r[0] is None else (str(r[0]), str(r[1]))
