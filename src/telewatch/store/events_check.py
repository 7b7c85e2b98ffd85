"""``verify`` for the records of store/events.py (polls, poll samples, pins,
service messages, channel photos and their files, subscriber counts).

``Collected`` gathers those records while chain.verify walks the chain;
``check`` then compares every table row with its record, both ways, and
``channels.subscribers`` with the newest chained count. Problems are
returned as one line (chain.verify turns it into its result)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

# kind -> record length (kind and at included)
LENGTHS = {
    "poll": 11,
    "poll_sample": 9,
    "pin": 9,
    "channel_action": 9,
    "channel_photo": 7,
    "channel_photo_file": 10,
    "subscribers": 5,
}
KINDS = tuple(LENGTHS)
# kind -> index of the time of the fact (capture, detection, sample)
TIME_INDEX = {
    "poll": 10,
    "poll_sample": 4,
    "pin": 5,
    "channel_action": 8,
    "channel_photo": 6,
    "channel_photo_file": 9,
    "subscribers": 4,
}


@dataclass
class Collected:
    """Records of these kinds, keyed as their rows are."""

    polls: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    samples: dict[tuple[int, int, str], list[Any]] = field(default_factory=dict)
    pins: dict[int, list[Any]] = field(default_factory=dict)
    actions: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    photos: dict[int, list[Any]] = field(default_factory=dict)
    photo_files: dict[int, list[Any]] = field(default_factory=dict)
    subscribers: dict[int, list[Any]] = field(default_factory=dict)

    def add(self, rec: list[Any], ref_id: Any) -> str | None:
        """Take one record; a problem in words when it is malformed or repeated."""
        kind = rec[0]
        if len(rec) != LENGTHS[kind]:
            return f"malformed {kind} record"
        if kind == "poll":
            return _put(self.polls, (rec[2], rec[3]), rec, f"the poll of post {rec[2]}/{rec[3]}")
        if kind == "poll_sample":
            if (rec[2], rec[3]) not in self.polls:
                return f"poll sample of post {rec[2]}/{rec[3]} before its chained poll"
            key3 = (rec[2], rec[3], rec[4])
            return _put(self.samples, key3, rec, f"poll sample {rec[2]}/{rec[3]} at {rec[4]}")
        if kind == "pin":
            return _put(self.pins, ref_id, rec, f"pin event {ref_id}")
        if kind == "channel_action":
            return _put(self.actions, (rec[2], rec[3]), rec, f"service message {rec[2]}/{rec[3]}")
        if kind == "channel_photo":
            return _put(self.photos, ref_id, rec, f"channel photo record {ref_id}")
        if kind == "channel_photo_file":
            photo = self.photos.get(rec[2])
            if photo is None or (photo[2], photo[3]) != (rec[3], rec[4]):
                return f"channel photo file {ref_id} names no photo chained before it"
            return _put(self.photo_files, ref_id, rec, f"channel photo file {ref_id}")
        self.subscribers[rec[2]] = rec  # the newest count per channel
        return None


def _put(into: dict[Any, list[Any]], key: Any, rec: list[Any], what: str) -> str | None:
    if key is None or key in into:
        return f"{what} is chained twice (or without its row id)"
    into[key] = rec
    return None


def check(conn: sqlite3.Connection, c: Collected) -> str | None:
    """The rows of every table are exactly the chained records."""
    tables: list[tuple[str, str, dict[Any, list[Any]], int]] = [
        (
            "polls",
            "SELECT channel_id, message_id, channel_id, message_id, poll_id, question, answers,"
            " multiple, quiz, public_voters, captured_at FROM polls",
            c.polls,
            2,
        ),
        (
            "poll_samples",
            "SELECT channel_id, message_id, sampled_at, channel_id, message_id, sampled_at,"
            " closed, total_voters, voters, source FROM poll_samples",
            c.samples,
            3,
        ),
        (
            "pin_events",
            "SELECT id, channel_id, message_id, pinned, detected_at, method, event_date, pts"
            " FROM pin_events",
            c.pins,
            1,
        ),
        (
            "channel_actions",
            "SELECT channel_id, message_id, channel_id, message_id, date, action, value,"
            " target_id, captured_at FROM channel_actions",
            c.actions,
            2,
        ),
        (
            "channel_photos",
            "SELECT id, channel_id, photo_id, dc_id, thumb_sha256, captured_at FROM channel_photos",
            c.photos,
            1,
        ),
        (
            "channel_photo_files",
            "SELECT id, photo_row, channel_id, photo_id, sha256, size, mime, path, stored_at"
            " FROM channel_photo_files",
            c.photo_files,
            1,
        ),
    ]
    for table, sql, chained, nkey in tables:
        n = 0
        for row in conn.execute(sql):
            key = row[0] if nkey == 1 else tuple(row[:nkey])
            rec = chained.get(key)
            if rec is None or tuple(row[nkey:]) != tuple(rec[2:]):
                return (
                    f"{table} row {'/'.join(map(str, row[:nkey]))} is not as chained"
                    " (added or changed outside telewatch)"
                )
            n += 1
        if n != len(chained):
            return f"{len(chained) - n} chained {table} row(s) were removed"
    for cid, subs in conn.execute("SELECT id, subscribers FROM channels"):
        rec = c.subscribers.get(cid)
        if (rec[3] if rec else None) != subs:
            return f"channel {cid}: subscribers differ from the chained records"
    return None
