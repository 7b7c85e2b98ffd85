"""Read queries behind the live dashboard (and ``telewatch alerts``).

Every function takes a read-only connection (``open_reader``) and runs cheap,
indexed queries, so that a reader can poll every half second while the
daemon writes:

* activity since a cursor: new/edited posts by ``post_versions.id`` and
  deletions by ``deletions.id`` (both only grow), never a scan of ``posts``;
* channel rows: the daemon's status (``store.status``) plus posts per hour
  over the last 24 hours (one range query on the ``posts_date`` index);
* the daemon's heartbeat and alert counters.

Nothing here counts the whole ``posts`` table: figures that need a count are
bounded by an index range (one day, one channel).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from telewatch.store import events, media_match
from telewatch.store.db import connect
from telewatch.store.status import ChannelStatusRow, DaemonStatus, channel_statuses, daemon_status
from telewatch.store.webhooks import dead_letters_by_rule

FeedKind = Literal["new", "edit", "delete"]


def iso(dt: datetime) -> str:
    """The archive's time format: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> datetime | None:
    """Parse an archive time (``...Z`` or with an offset); None stays None."""
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def open_reader(path: Path) -> sqlite3.Connection:
    """Open the archive read-only (``sqlite3.Row`` rows), safe beside a writing daemon.

    Raises UserError when there is no archive at ``path`` or its schema is not ours."""
    return connect(path, readonly=True)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the live view stopped reading: the last version and deletion ids seen."""

    version_id: int = 0
    deletion_id: int = 0


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One archived change: a new post, an edit (a new version) or a deletion."""

    kind: FeedKind
    ref_id: int  # post_versions.id or deletions.id
    channel_id: int
    message_id: int
    channel: str  # title, else @username, else the id
    username: str | None
    posted_at: datetime | None
    at: datetime  # when telewatch captured the version / detected the deletion
    lang: str | None
    text: str
    version_no: int
    deleted: bool  # the post is deleted now (also for new/edit rows of a deleted post)
    forward_from: str | None = None  # a forward's origin: channel label, else its name or id
    media_kind: str | None = None  # the version's media (photo, video, ...), None without

    @property
    def key(self) -> str:
        """A stable unique key for this change (``edit:123``, ``delete:7``)."""
        return f"{'delete' if self.kind == 'delete' else 'version'}:{self.ref_id}"


_VERSIONS_SQL = """
SELECT v.id, v.channel_id, v.message_id, v.version_no, v.text, v.captured_at,
       p.date, p.lang, p.deleted_at, c.title, c.username,
       json_extract(v.media, '$.kind') AS media_kind,
       p.fwd_channel_id, p.fwd_name, fc.title AS fwd_title, fc.username AS fwd_username
FROM post_versions v
LEFT JOIN posts p ON p.channel_id = v.channel_id AND p.message_id = v.message_id
LEFT JOIN channels c ON c.id = v.channel_id
LEFT JOIN channels fc ON fc.id = p.fwd_channel_id
"""
_DELETIONS_SQL = """
SELECT d.id, d.channel_id, d.message_id, d.detected_at,
       p.text, p.date, p.lang, p.version_count, c.title, c.username, p.media_kind,
       p.fwd_channel_id, p.fwd_name, fc.title AS fwd_title, fc.username AS fwd_username
FROM deletions d
LEFT JOIN posts p ON p.channel_id = d.channel_id AND p.message_id = d.message_id
LEFT JOIN channels c ON c.id = d.channel_id
LEFT JOIN channels fc ON fc.id = p.fwd_channel_id
"""


def channel_label(channel_id: int, title: str | None, username: str | None) -> str:
    """How a channel is named to a user: its title, else @username, else its id."""
    if title:
        return title
    if username:
        return f"@{username}"
    return str(channel_id)


def _version_item(r: sqlite3.Row) -> FeedItem:
    return _row_item(
        r,
        kind="new" if r["version_no"] == 1 else "edit",
        at=r["captured_at"],
        version_no=r["version_no"],
        deleted=r["deleted_at"] is not None,
    )


def _deletion_item(r: sqlite3.Row) -> FeedItem:
    return _row_item(
        r,
        kind="delete",
        at=r["detected_at"],
        version_no=r["version_count"] or 1,
        deleted=True,
    )


def _row_item(
    r: sqlite3.Row, *, kind: FeedKind, at: str | None, version_no: int, deleted: bool
) -> FeedItem:
    """A feed row (version or deletion) as a FeedItem; ``at`` is the archive
    time text of the event (now when missing)."""
    return FeedItem(
        kind=kind,
        ref_id=r["id"],
        channel_id=r["channel_id"],
        message_id=r["message_id"],
        channel=channel_label(r["channel_id"], r["title"], r["username"]),
        username=r["username"],
        posted_at=parse_iso(r["date"]),
        at=parse_iso(at) or datetime.now(UTC),
        lang=r["lang"],
        text=r["text"] or "",
        version_no=version_no,
        deleted=deleted,
        forward_from=_forward_label(r),
        media_kind=r["media_kind"],
    )


def _forward_label(r: sqlite3.Row) -> str | None:
    """How a forward's origin is named: the archived channel's title or @username, else
    the name Telegram gave (hidden senders, exports), else the bare channel id."""
    if r["fwd_channel_id"] is not None:
        if r["fwd_title"] or r["fwd_username"]:
            return channel_label(r["fwd_channel_id"], r["fwd_title"], r["fwd_username"])
        return r["fwd_name"] or str(r["fwd_channel_id"])
    return r["fwd_name"] or None


def _merge(versions: list[FeedItem], deletions: list[FeedItem]) -> list[FeedItem]:
    # Oldest first; ties keep versions before the deletion that follows them.
    return sorted(versions + deletions, key=lambda i: (i.at, i.kind == "delete", i.ref_id))


def recent_activity(conn: sqlite3.Connection, limit: int = 200) -> tuple[list[FeedItem], Cursor]:
    """The last ``limit`` versions and deletions (oldest first) and the cursor after them."""
    versions = [
        _version_item(r)
        for r in conn.execute(_VERSIONS_SQL + " ORDER BY v.id DESC LIMIT ?", (limit,))
    ]
    deletions = [
        _deletion_item(r)
        for r in conn.execute(_DELETIONS_SQL + " ORDER BY d.id DESC LIMIT ?", (limit,))
    ]
    cursor = Cursor(
        version_id=max((i.ref_id for i in versions), default=0),
        deletion_id=max((i.ref_id for i in deletions), default=0),
    )
    return _merge(versions, deletions)[-limit:], cursor


def activity_since(
    conn: sqlite3.Connection, cursor: Cursor, limit: int = 1000
) -> tuple[list[FeedItem], Cursor]:
    """Changes archived after ``cursor`` (oldest first, at most ``limit`` of each kind)
    and the cursor to pass next time. Both lookups are primary-key range scans."""
    versions = [
        _version_item(r)
        for r in conn.execute(
            _VERSIONS_SQL + " WHERE v.id > ? ORDER BY v.id LIMIT ?", (cursor.version_id, limit)
        )
    ]
    deletions = [
        _deletion_item(r)
        for r in conn.execute(
            _DELETIONS_SQL + " WHERE d.id > ? ORDER BY d.id LIMIT ?", (cursor.deletion_id, limit)
        )
    ]
    new_cursor = Cursor(
        version_id=versions[-1].ref_id if versions else cursor.version_id,
        deletion_id=deletions[-1].ref_id if deletions else cursor.deletion_id,
    )
    return _merge(versions, deletions), new_cursor


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One line of the channels panel: the daemon's status of a watched channel
    (``store.status.ChannelStatusRow``) plus its posts per hour over 24 hours."""

    status: ChannelStatusRow
    hourly: tuple[int, ...]  # posts per hour over the last 24 h, oldest hour first

    @property
    def key(self) -> str:
        """The watch-list key."""
        return self.status.key

    @property
    def name(self) -> str:
        """The channel's title, else @username, else the watch-list key."""
        s = self.status
        if s.title:
            return s.title
        return s.label

    @property
    def posts_24h(self) -> int:
        """Posts published in the last 24 hours."""
        return sum(self.hourly)


def _hourly(conn: sqlite3.Connection, now: datetime) -> dict[int, list[int]]:
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    buckets: dict[int, list[int]] = {}
    rows = conn.execute(
        "SELECT channel_id, substr(date, 1, 13) AS hour, count(*) AS n FROM posts"
        " WHERE date >= ? AND date <= ? GROUP BY channel_id, hour",
        (iso(start), iso(now + timedelta(minutes=1))),
    )
    for r in rows:
        hour = datetime.fromisoformat(r["hour"] + ":00:00+00:00")
        index = int((hour - start).total_seconds() // 3600)
        if 0 <= index < 24:
            buckets.setdefault(r["channel_id"], [0] * 24)[index] += r["n"]
    return buckets


def channel_rows(conn: sqlite3.Connection, now: datetime) -> list[ChannelRow]:
    """Every watched channel (``store.status.channel_statuses``, by name) with its
    posts per hour over the 24 hours before ``now`` (one indexed range query)."""
    hourly = _hourly(conn, now)
    return [
        ChannelRow(
            status=st,
            hourly=tuple(hourly.get(st.channel_id, [0] * 24))
            if st.channel_id is not None
            else (0,) * 24,
        )
        for st in channel_statuses(conn)
    ]


def heartbeat(conn: sqlite3.Connection, now: datetime) -> DaemonStatus | None:
    """The latest daemon run as of ``now`` (``is_stale``), or None if none ever ran."""
    return daemon_status(conn, now)


@dataclass(frozen=True, slots=True)
class AlertCounter:
    """Hits of one rule, by kind, and the latest hit."""

    rule: str
    total: int
    new: int
    edit: int
    delete: int
    last_at: datetime | None
    last_excerpt: str | None
    dead: int = 0
    """Webhook deliveries of the rule's hits given up on (dead letters)."""


def alert_counters(conn: sqlite3.Connection) -> list[AlertCounter]:
    """Hit counts per rule (rules without hits are not listed), most recent first."""
    out = []
    dead = dead_letters_by_rule(conn)
    for r in conn.execute(
        "SELECT rule, count(*) AS total,"
        " sum(CASE WHEN kind = 'new' THEN 1 ELSE 0 END) AS n_new, sum(CASE WHEN kind = 'edit' THEN 1 ELSE 0 END) AS n_edit,"
        " sum(CASE WHEN kind = 'delete' THEN 1 ELSE 0 END) AS n_delete, max(id) AS last_id"
        " FROM alert_hits GROUP BY rule ORDER BY last_id DESC"
    ):
        last = conn.execute(
            "SELECT hit_at, excerpt FROM alert_hits WHERE id = ?", (r["last_id"],)
        ).fetchone()
        out.append(
            AlertCounter(
                rule=r["rule"],
                total=r["total"],
                new=r["n_new"] or 0,
                edit=r["n_edit"] or 0,
                delete=r["n_delete"] or 0,
                last_at=parse_iso(last["hit_at"]) if last else None,
                last_excerpt=last["excerpt"] if last else None,
                dead=dead.get(r["rule"], 0),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AlertHit:
    """One row of ``alert_hits`` with its channel's name."""

    id: int
    rule: str
    kind: FeedKind
    channel_id: int
    message_id: int
    channel: str
    username: str | None
    excerpt: str
    hit_at: datetime


def alert_hits(
    conn: sqlite3.Connection, after_id: int = 0, limit: int = 100, rule: str | None = None
) -> list[AlertHit]:
    """Hits with ``id > after_id``, newest first (at most ``limit``), optionally one rule's."""
    sql = (
        "SELECT h.*, c.title, c.username FROM alert_hits h"
        " LEFT JOIN channels c ON c.id = h.channel_id WHERE h.id > ?"
    )
    args: list[object] = [after_id]
    if rule is not None:
        sql += " AND h.rule = ?"
        args.append(rule)
    sql += " ORDER BY h.id DESC LIMIT ?"
    args.append(limit)
    return [
        AlertHit(
            id=r["id"],
            rule=r["rule"],
            kind=r["kind"],
            channel_id=r["channel_id"],
            message_id=r["message_id"],
            channel=channel_label(r["channel_id"], r["title"], r["username"]),
            username=r["username"],
            excerpt=r["excerpt"] or "",
            hit_at=parse_iso(r["hit_at"]) or datetime.now(UTC),
        )
        for r in conn.execute(sql, args)
    ]


@dataclass(frozen=True, slots=True)
class Totals:
    """Archive-wide figures for a summary (exact counts: use on small archives or
    off the UI thread)."""

    channels: int
    posts: int
    versions: int
    edits: int
    deletions: int
    alerts: int


def totals(conn: sqlite3.Connection) -> Totals:
    """Exact counts of channels, posts, versions, edits, deletions and alert hits."""

    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0] or 0)

    return Totals(
        channels=one("SELECT count(*) FROM channels"),
        posts=one("SELECT count(*) FROM posts"),
        versions=one("SELECT count(*) FROM post_versions"),
        edits=one("SELECT count(*) FROM post_versions WHERE version_no > 1"),
        deletions=one("SELECT count(*) FROM deletions"),
        alerts=one("SELECT count(*) FROM alert_hits"),
    )


def channel_names(conn: sqlite3.Connection) -> list[str]:
    """Every archived channel's title (or username, or id), by channel id."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT coalesce(title, username, CAST(id AS TEXT)) FROM channels ORDER BY id"
        )
    ]


def post_exists(conn: sqlite3.Connection, channel_id: int, message_id: int) -> bool:
    """Whether the archive holds the post (deleted or not)."""
    row = conn.execute(
        "SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?", (channel_id, message_id)
    ).fetchone()
    return row is not None


def approximate_post_count(conn: sqlite3.Connection) -> int:
    """The largest local post rowid: an O(1) stand-in for ``count(*)`` (posts are
    never deleted, so it equals the count unless inserts were rolled back)."""
    return int(conn.execute("SELECT max(id) FROM posts").fetchone()[0] or 0)


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One stored content of a post."""

    version_no: int
    text: str
    captured_at: datetime | None
    edit_date: datetime | None
    source: str


@dataclass(frozen=True, slots=True)
class EngagementRow:
    """One engagement sample."""

    sampled_at: datetime | None
    views: int | None
    forwards: int | None
    replies: int | None
    reactions: dict[str, int]


@dataclass(frozen=True, slots=True)
class PostHistory:
    """Everything the post detail view shows about one post."""

    channel_id: int
    message_id: int
    channel: str
    username: str | None
    posted_at: datetime | None
    first_seen: datetime | None
    lang: str | None
    versions: tuple[VersionRow, ...]
    deleted_at: datetime | None
    deletion_method: str | None
    forward_from: str | None  # 'Title (@username)' of an archived origin, else its name or id
    forward_message_id: int | None
    forward_date: datetime | None
    media: dict[str, object] | None
    engagement: tuple[EngagementRow, ...]
    watched: bool
    forward_url: str | None = None  # t.me link of the original post, when its id is known
    poll: events.PollView | None = None  # question, answers, result samples (store/events.py)
    pins: tuple[events.PinEvent, ...] = ()  # pin state changes, oldest first
    # Each version's media references (store.media_match.media_entries).
    media_files: tuple[dict[str, object], ...] = ()

    @property
    def url(self) -> str:
        """The post's t.me link (public form when the channel has a username)."""
        return tme_url(self.channel_id, self.message_id, self.username)


def tme_url(channel_id: int, message_id: int, username: str | None) -> str:
    """``https://t.me/<username>/<id>``, or the ``t.me/c/<channel id>/<id>`` form."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{channel_id}/{message_id}"


def post_history(conn: sqlite3.Connection, channel_id: int, message_id: int) -> PostHistory | None:
    """The post with every version (oldest first), its tombstone, forward origin,
    media summary and engagement samples; None if the archive does not have it."""
    p = conn.execute(
        "SELECT p.*, c.title, c.username FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
        " WHERE p.channel_id = ? AND p.message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    if p is None:
        return None
    versions = tuple(
        VersionRow(
            version_no=r["version_no"],
            text=r["text"] or "",
            captured_at=parse_iso(r["captured_at"]),
            edit_date=parse_iso(r["edit_date"]),
            source=r["source"],
        )
        for r in conn.execute(
            "SELECT * FROM post_versions WHERE channel_id = ? AND message_id = ? ORDER BY version_no",
            (channel_id, message_id),
        )
    )
    d = conn.execute(
        "SELECT detected_at, method FROM deletions WHERE channel_id = ? AND message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    forward_from = None
    forward_url = None
    if p["fwd_channel_id"] is not None:
        src = conn.execute(
            "SELECT title, username FROM channels WHERE id = ?", (p["fwd_channel_id"],)
        ).fetchone()
        title, username = (src["title"], src["username"]) if src else (None, None)
        if title and username:
            forward_from = f"{title} (@{username})"
        elif title or username:
            forward_from = channel_label(p["fwd_channel_id"], title, username)
        else:
            forward_from = p["fwd_name"] or str(p["fwd_channel_id"])
        if p["fwd_message_id"]:
            forward_url = tme_url(p["fwd_channel_id"], p["fwd_message_id"], username)
    elif p["fwd_name"]:
        forward_from = p["fwd_name"]
    engagement = tuple(
        EngagementRow(
            sampled_at=parse_iso(r["sampled_at"]),
            views=r["views"],
            forwards=r["forwards"],
            replies=r["replies"],
            reactions={k: v for k, v in _json_dict(r["reactions"]).items() if isinstance(v, int)},
        )
        for r in conn.execute(
            "SELECT * FROM engagement WHERE channel_id = ? AND message_id = ? ORDER BY sampled_at",
            (channel_id, message_id),
        )
    )
    watched = conn.execute(
        "SELECT 1 FROM watched_posts WHERE channel_id = ? AND message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    media = _json_dict(p["media"]) or ({"kind": p["media_kind"]} if p["media_kind"] else None)
    return PostHistory(
        channel_id=channel_id,
        message_id=message_id,
        channel=channel_label(channel_id, p["title"], p["username"]),
        username=p["username"],
        posted_at=parse_iso(p["date"]),
        first_seen=parse_iso(p["first_seen"]),
        lang=p["lang"],
        versions=versions,
        # A withdrawn (revived) inferred deletion leaves posts.deleted_at NULL.
        deleted_at=parse_iso(p["deleted_at"]),
        deletion_method=d["method"] if d and p["deleted_at"] else None,
        forward_from=forward_from,
        forward_message_id=p["fwd_message_id"],
        forward_date=parse_iso(p["fwd_date"]),
        media=media,
        engagement=engagement,
        watched=watched is not None,
        forward_url=forward_url,
        poll=events.poll_of(conn, channel_id, message_id),
        pins=tuple(events.pin_history(conn, channel_id, message_id)),
        media_files=tuple(media_match.media_entries(conn, channel_id, message_id)),
    )


def _json_dict(raw: str | None) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def find_channel(
    conn: sqlite3.Connection, username: str | None, channel_id: int | None
) -> tuple[int, str | None] | None:
    """The archived channel with this username (any case) or id, as ``(id, username)``."""
    if channel_id is not None:
        r = conn.execute("SELECT id, username FROM channels WHERE id = ?", (channel_id,)).fetchone()
    else:
        r = conn.execute(
            "SELECT id, username FROM channels WHERE username = ? COLLATE NOCASE", (username,)
        ).fetchone()
    return None if r is None else (int(r[0]), r[1])
