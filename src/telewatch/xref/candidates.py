"""xref's view of the archive: channels, candidate posts, their versions.

The SQL lives in ``store.xref`` (reads through a ``store.db.connect(path,
readonly=True)`` connection, on the indexes ``posts(channel_id, date)`` for
cited channels and ``posts(date)`` for vague citations); this module turns
its rows into ``PostRow`` objects. Embeddings are read and written through
``store.embeddings`` (xref.semantic); the watch list through
``store.watchlist``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telewatch.store import xref as store_xref
from telewatch.store.xref import Connection


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel of the archive (bare id)."""

    id: int
    username: str | None
    title: str | None


@dataclass(slots=True)
class PostRow:
    """A post as xref sees it (latest version plus history flags)."""

    rowid: int
    channel_id: int
    message_id: int
    date: datetime
    text: str
    lang: str | None
    edit_date: str | None
    version_count: int
    deleted_at: str | None
    fwd_name: str | None
    fwd_channel_id: int | None
    fwd_message_id: int | None
    version_id: int | None
    username: str | None
    title: str | None
    older_texts: tuple[str, ...] = ()
    # Every version, oldest first: (version id, text, time it became current).
    versions: tuple[tuple[int, str, datetime], ...] = ()

    def texts(self) -> tuple[str, ...]:
        """The text of every version, oldest first (the latest alone when unedited)."""
        return tuple(v[1] for v in self.versions) if self.versions else (self.text,)

    def version_at(self, when: datetime | None) -> tuple[int | None, str]:
        """(version id, text) of the version current at ``when``: the last one
        that became current at or before it (the first version when all came
        later); the latest when ``when`` is None or the post was never edited."""
        if when is None or not self.versions:
            return self.version_id, self.text
        current = self.versions[0]
        for v in self.versions[1:]:
            if v[2] <= when:
                current = v
        return current[0], current[1]


def iso(dt: datetime) -> str:
    """The schema's time format: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Inverse of ``iso``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def list_channels(conn: Connection) -> list[ChannelInfo]:
    """Every archived channel."""
    return [ChannelInfo(*r) for r in store_xref.channels(conn)]


def _row(r: Sequence[object]) -> PostRow:
    return PostRow(
        rowid=int(r[0]),  # type: ignore[call-overload]
        channel_id=int(r[1]),  # type: ignore[call-overload]
        message_id=int(r[2]),  # type: ignore[call-overload]
        date=parse_iso(str(r[3])),
        text=str(r[4] or ""),
        lang=r[5],  # type: ignore[arg-type]
        edit_date=r[6],  # type: ignore[arg-type]
        version_count=int(r[7] or 1),  # type: ignore[call-overload]
        deleted_at=r[8],  # type: ignore[arg-type]
        fwd_name=r[9],  # type: ignore[arg-type]
        fwd_channel_id=r[10],  # type: ignore[arg-type]
        fwd_message_id=r[11],  # type: ignore[arg-type]
        version_id=r[12],  # type: ignore[arg-type]
        username=r[13],  # type: ignore[arg-type]
        title=r[14],  # type: ignore[arg-type]
    )


def posts_in_window(
    conn: Connection,
    start: datetime,
    end: datetime,
    channel_ids: Iterable[int] | None = None,
    limit: int = 20000,
) -> list[PostRow]:
    """Non-empty posts dated in ``[start, end]``, optionally of some channels
    (never messages of discussion groups)."""
    rows = store_xref.posts_in_window(conn, iso(start), iso(end), channel_ids, limit)
    return [_row(r) for r in rows]


def get_post(conn: Connection, channel_id: int, message_id: int) -> PostRow | None:
    """One post, or None."""
    r = store_xref.post(conn, channel_id, message_id)
    return _row(r) if r else None


def channel_id_by_title(conn: Connection, title: str) -> int | None:
    """The channel with this exact title (a forward's display name), or None."""
    return store_xref.channel_id_by_title(conn, title)


def attach_versions(conn: Connection, posts: Iterable[PostRow]) -> None:
    """Fill ``versions`` and ``older_texts`` of edited posts (oldest first),
    read in one query per channel.

    A version became current at the post's date (the first) or at its edit
    date (Telegram's ``edit_date``; when unknown, its capture time)."""
    todo = [p for p in posts if p.version_count > 1 and not p.versions]
    if not todo:
        return
    found = store_xref.versions(conn, ((p.channel_id, p.message_id) for p in todo))
    for p in todo:
        rows = found.get((p.channel_id, p.message_id), [])
        p.versions = tuple(
            (vid, text, p.date if i == 0 else parse_iso(edit_date or captured))
            for i, (vid, text, edit_date, captured) in enumerate(rows)
        )
        p.older_texts = tuple(v[1] for v in p.versions[:-1])


def forwards_of(
    conn: Connection, channel_id: int, message_id: int, title: str | None
) -> list[PostRow]:
    """Posts whose forward header points at the post: by id when Telegram gave
    it, else by the origin's display name (Desktop exports)."""
    return [_row(r) for r in store_xref.forwards_of(conn, channel_id, message_id, title)]


def recent_texts(conn: Connection, channel_id: int, before: datetime, n: int = 200) -> list[str]:
    """The channel's last ``n`` post texts before ``before`` (signature detection)."""
    return store_xref.recent_texts(conn, channel_id, iso(before), n)


def add_to_watchlist(conn: Connection, usernames: Iterable[str]) -> list[str]:
    """Add usernames to the daemon's watch list (origin ``xref``) through
    ``store.watchlist``; returns the usernames added."""
    from telewatch.store import watchlist

    added = []
    for u in dict.fromkeys(n.lower().lstrip("@") for n in usernames):
        watchlist.add(conn, username=u, channel_id=None, origin="xref")
        added.append(u)
    return added


def tme_refs(raw: str | None) -> list[dict[str, object]]:
    """The ``posts.tme_refs`` JSON column as a list."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
