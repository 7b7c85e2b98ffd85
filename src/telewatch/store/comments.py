"""Comments from linked discussion groups (docs/SCHEMA.md, "Comments").

A discussion group's messages are archived as posts of the group (its own
``channels`` row; versions, tombstones, FTS and chain records as for any
post). This module writes and reads what makes them comments:

* ``discussion_links``: which group a channel links (``DiscussionLinked``),
  a new row only when the link changed; chained ``discussion_link``.
* ``comments``: one row per group message that is a discussion copy (the
  thread's top, naming the channel post) or a comment (thread, the message it
  answers, the author at first capture), written once by the same
  transaction as the message's first version; chained ``comment``.

Every row is checked against its record by ``store.chain.verify``
(``check_rows``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from telewatch.models import DiscussionLinked, Post
from telewatch.store import chain
from telewatch.store.db import iso, parse_iso
from telewatch.store.queries import SearchHit, post_url, search

KINDS = ("comment", "discussion_link")

EXPORT_FIELDS = (
    "channel_id",
    "username",
    "post_message_id",
    "group_id",
    "message_id",
    "date",
    "text",
    "edit_date",
    "versions",
    "deleted",
    "deleted_at",
    "reply_to_comment",
    "thread",
    "author_id",
    "author_name",
    "author_username",
    "first_seen",
    "url",
)
"""Fields of ``export --comments`` (docs/SCHEMA.md): ``thread`` is the path
of comment ids from the top-level comment down to this one's parent
("41/45"; empty for a comment on the post itself)."""


# --------------------------------------------------------------------------
# writing (inside the writer's transaction)
# --------------------------------------------------------------------------


def record(conn: sqlite3.Connection, post: Post, captured_at: str) -> bool:
    """Write the ``comments`` row of a group message the first time it is
    captured (chained); returns whether a row was written."""
    d = post.discussion
    if d is None:
        return False
    gid, mid = int(post.channel_id), int(post.message_id)
    if gid <= 0 or mid <= 0:
        raise ValueError(f"bad discussion message id {gid}/{mid}")
    if d.is_copy:
        kind = "copy"
        fields: list[Any] = [gid, mid, kind, d.channel_id, d.post_message_id, None, None]
        fields += [None, None, None]
    else:
        if d.thread is None:
            return False
        kind = "comment"
        a = d.author
        fields = [gid, mid, kind, None, None, int(d.thread), post.reply_to]
        fields += [a.user_id, a.name, a.username] if a is not None else [None, None, None]
    fields.append(captured_at)
    cur = conn.execute(
        "INSERT OR IGNORE INTO comments(group_id, message_id, kind, channel_id,"
        " post_message_id, thread, reply_to, author_id, author_name, author_username,"
        " captured_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        fields,
    )
    if cur.rowcount != 1:
        return False
    chain.append(conn, "comment", None, fields)
    return True


def link(conn: sqlite3.Connection, ev: DiscussionLinked) -> bool:
    """Record the channel's discussion group when it is new or changed
    (chained); returns whether a row was written."""
    cid, gid = int(ev.channel_id), int(ev.group_id)
    if cid <= 0 or gid <= 0:
        raise ValueError(f"bad discussion link {cid} → {gid}")
    row = conn.execute(
        "SELECT group_id FROM discussion_links WHERE channel_id=? ORDER BY id DESC LIMIT 1",
        (cid,),
    ).fetchone()
    if row is not None and row[0] == gid:
        return False
    at = iso(ev.seen_at)
    cur = conn.execute(
        "INSERT INTO discussion_links(channel_id, group_id, seen_at) VALUES (?,?,?)",
        (cid, gid, at),
    )
    assert cur.lastrowid is not None
    chain.append(conn, "discussion_link", cur.lastrowid, [cid, gid, at])
    return True


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


def check_rows(
    conn: sqlite3.Connection,
    comments: dict[tuple[int, int], list[Any]],
    links: dict[int, list[Any]],
) -> str | None:
    """Compare the tables with the chained records (``comments`` by (group,
    message), ``links`` by row id); returns the first problem, or None."""
    n = 0
    for r in conn.execute(
        "SELECT group_id, message_id, kind, channel_id, post_message_id, thread, reply_to,"
        " author_id, author_name, author_username, captured_at FROM comments"
    ):
        rec = comments.get((r[0], r[1]))
        if rec is None or list(r) != rec[2:13]:
            return (
                f"comments row {r[0]}/{r[1]} is not as chained (added or changed outside telewatch)"
            )
        n += 1
    if n != len(comments):
        return f"{len(comments) - n} chained comment row(s) were removed"
    n = 0
    for r in conn.execute("SELECT id, channel_id, group_id, seen_at FROM discussion_links"):
        rec = links.get(r[0])
        if rec is None or list(r[1:]) != rec[2:5]:
            return f"discussion_links row {r[0]} is not as chained (added or changed outside telewatch)"
        n += 1
    if n != len(links):
        return f"{len(links) - n} chained discussion link(s) were removed"
    return None


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comment:
    """One archived comment with its current text (or the last one seen)."""

    group_id: int
    message_id: int
    channel_id: int | None
    post_message_id: int | None
    reply_to: int | None
    parent: int | None  # the comment it answers (None: answers the post)
    date: datetime
    text: str
    edit_date: str | None
    versions: int
    deleted_at: str | None
    author_id: int | None
    author_name: str | None
    author_username: str | None
    first_seen: str
    depth: int = 0

    @property
    def author(self) -> str:
        """``Name (@username)`` or the user id, for humans."""
        name = self.author_name or (f"user {self.author_id}" if self.author_id else "unknown")
        return f"{name} (@{self.author_username})" if self.author_username else name


_SELECT = (
    "SELECT m.group_id, m.message_id, cp.channel_id, cp.post_message_id, m.reply_to,"
    " p.date, p.text, p.edit_date, p.version_count, p.deleted_at, m.author_id,"
    " m.author_name, m.author_username, p.first_seen, m.thread"
    " FROM comments m"
    " JOIN posts p ON p.channel_id = m.group_id AND p.message_id = m.message_id"
    " LEFT JOIN comments cp ON cp.group_id = m.group_id AND cp.message_id = m.thread"
    " AND cp.kind = 'copy'"
)


def _comment(r: Sequence[Any]) -> Comment:
    reply_to, thread = r[4], r[14]
    return Comment(
        group_id=r[0],
        message_id=r[1],
        channel_id=r[2],
        post_message_id=r[3],
        reply_to=reply_to,
        parent=reply_to if reply_to is not None and reply_to != thread else None,
        date=parse_iso(r[5]),
        text=r[6] or "",
        edit_date=r[7],
        versions=int(r[8] or 0),
        deleted_at=r[9],
        author_id=r[10],
        author_name=r[11],
        author_username=r[12],
        first_seen=r[13],
    )


def thread(conn: sqlite3.Connection, channel_id: int, post_message_id: int) -> list[Comment]:
    """The comments under a channel post, in thread order (each reply right
    after the comment it answers, ``depth`` levels deep), deleted ones too."""
    rows = conn.execute(
        _SELECT + " WHERE m.kind = 'comment' AND cp.channel_id = ? AND cp.post_message_id = ?"
        " ORDER BY m.message_id",
        (channel_id, post_message_id),
    ).fetchall()
    found = [_comment(r) for r in rows]
    ids = {c.message_id for c in found}
    children: dict[int | None, list[Comment]] = {}
    for c in found:
        parent = c.parent if c.parent in ids else None
        children.setdefault(parent, []).append(c)
    out: list[Comment] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in children.get(parent, []):
            out.append(_with_depth(c, depth))
            walk(c.message_id, depth + 1)

    walk(None, 0)
    return out


def _with_depth(c: Comment, depth: int) -> Comment:
    return replace(c, depth=depth)


def count(conn: sqlite3.Connection, channel_id: int, post_message_id: int) -> int:
    """How many comments (deleted ones included) the archive has under a post."""
    row = conn.execute(
        "SELECT count(*) FROM comments m JOIN comments cp ON cp.group_id = m.group_id"
        " AND cp.message_id = m.thread AND cp.kind = 'copy'"
        " WHERE m.kind = 'comment' AND cp.channel_id = ? AND cp.post_message_id = ?",
        (channel_id, post_message_id),
    ).fetchone()
    return int(row[0])


def group_ids(conn: sqlite3.Connection, channel_id: int | None = None) -> list[int]:
    """Ids of the archived discussion groups (of one channel when given)."""
    sql = "SELECT DISTINCT group_id FROM discussion_links"
    args: list[int] = []
    if channel_id is not None:
        sql += " WHERE channel_id=?"
        args.append(channel_id)
    return sorted(int(r[0]) for r in conn.execute(sql, args))


def linked_group(conn: sqlite3.Connection, channel_id: int) -> int | None:
    """The channel's discussion group as last seen, or None."""
    row = conn.execute(
        "SELECT group_id FROM discussion_links WHERE channel_id=? ORDER BY id DESC LIMIT 1",
        (channel_id,),
    ).fetchone()
    return int(row[0]) if row is not None else None


@dataclass(frozen=True, slots=True)
class CommentHit:
    """A search hit that is a comment, with the post it belongs to."""

    hit: SearchHit
    comment: Comment
    username: str | None  # the channel's, for CHANNEL/ID labels

    @property
    def url(self) -> str | None:
        """Telegram's link to the comment."""
        return _comment_url(
            self.username, self.comment.post_message_id, self.hit.username, self.comment.message_id
        )


def search_comments(
    conn: sqlite3.Connection,
    query: str,
    *,
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    raw: bool = False,
) -> list[CommentHit]:
    """Comments matching ``query`` (store.queries.search's rules), best
    first; of one channel's discussion group when ``channel_id`` is given.
    Discussion copies (the group's copies of the posts) are left out."""
    groups = group_ids(conn, channel_id)
    if not groups:
        return []
    hits = search(
        conn, query, channel_ids=groups, since=since, until=until, limit=limit * 3, raw=raw
    )
    out: list[CommentHit] = []
    for h in hits:
        row = conn.execute(
            _SELECT + " WHERE m.kind = 'comment' AND m.group_id = ? AND m.message_id = ?",
            (h.channel_id, h.message_id),
        ).fetchone()
        if row is not None:
            c = _comment(row)
            name = conn.execute(
                "SELECT username FROM channels WHERE id = ?", (c.channel_id,)
            ).fetchone()
            out.append(CommentHit(h, c, name[0] if name else None))
        if len(out) >= limit:
            break
    return out


def export_rows(
    conn: sqlite3.Connection,
    *,
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """One dict per comment (keys = EXPORT_FIELDS), by channel, post and
    comment id, streamed; ``since``/``until`` bound the comment's date."""
    where = ["m.kind = 'comment'"]
    args: list[Any] = []
    if channel_id is not None:
        where.append("cp.channel_id = ?")
        args.append(channel_id)
    if since is not None:
        where.append("p.date >= ?")
        args.append(iso(since))
    if until is not None:
        where.append("p.date < ?")
        args.append(iso(until))
    sql = (
        _SELECT.replace(" FROM comments m", ", c.username, g.username FROM comments m")
        + " LEFT JOIN channels c ON c.id = cp.channel_id"
        " LEFT JOIN channels g ON g.id = m.group_id"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY cp.channel_id, cp.post_message_id, m.message_id"
    )
    parents: dict[tuple[int, int], int | None] = {}
    for r in conn.execute(sql, args):
        c = _comment(r)
        parents[(c.group_id, c.message_id)] = c.parent
        path: list[int] = []
        up = c.parent
        while up is not None and len(path) < 1000:
            path.append(up)
            up = parents.get((c.group_id, up))
        username, group_username = r[15], r[16]
        yield {
            "channel_id": c.channel_id,
            "username": username,
            "post_message_id": c.post_message_id,
            "group_id": c.group_id,
            "message_id": c.message_id,
            "date": r[5],
            "text": c.text,
            "edit_date": c.edit_date,
            "versions": c.versions,
            "deleted": c.deleted_at is not None,
            "deleted_at": c.deleted_at,
            "reply_to_comment": c.parent,
            "thread": "/".join(str(i) for i in reversed(path)),
            "author_id": c.author_id,
            "author_name": c.author_name,
            "author_username": c.author_username,
            "first_seen": c.first_seen,
            "url": _comment_url(username, c.post_message_id, group_username, c.message_id),
        }


def _comment_url(
    username: str | None, post_id: int | None, group_username: str | None, message_id: int
) -> str | None:
    """``t.me/channel/POST?comment=ID`` (Telegram's comment link), else the
    group message's own link when the group is public."""
    if username and post_id:
        return f"https://t.me/{username}/{post_id}?comment={message_id}"
    return post_url(group_username, message_id)


def channel_labels(conn: sqlite3.Connection) -> list[str]:
    """Title (else username, else id) of every archived channel that is not a
    discussion group, by id."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT coalesce(title, username, CAST(id AS TEXT)) FROM channels"
            " WHERE id NOT IN (SELECT group_id FROM discussion_links) ORDER BY id"
        )
    ]


def total(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(comments archived, discussion groups they are in, posts rows of
    discussion groups: comments, discussion copies and other group messages)."""
    row = conn.execute(
        "SELECT count(*), count(DISTINCT group_id) FROM comments WHERE kind = 'comment'"
    ).fetchone()
    in_groups = conn.execute(
        "SELECT count(*) FROM posts WHERE channel_id IN (SELECT group_id FROM discussion_links)"
    ).fetchone()[0]
    return int(row[0]), int(row[1]), int(in_groups)
