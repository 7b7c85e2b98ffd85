"""Alert rules evaluated by the writer inside its transaction, on every new
version (``new``/``edit``) and deletion (``delete``) it archives. A hit is a
row in ``alert_hits`` (unique per rule, kind and post, so a replay adds
nothing). Posts listed in ``watched_posts`` fire the built-in rule
``watched-post`` on edit and delete."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from telewatch.models import AlertRule
from telewatch.text import normalize

AlertKind = Literal["new", "edit", "delete"]
WATCHED_RULE = "watched-post"


@dataclass(frozen=True)
class CompiledRule:
    """An AlertRule prepared for fast matching."""

    rule: AlertRule
    keywords: tuple[str, ...]
    pattern: re.Pattern[str] | None
    channels: frozenset[str]


def compile_rules(rules: Sequence[AlertRule]) -> list[CompiledRule]:
    """Prepare rules; raises ``re.error`` for a bad regex (config validates first)."""
    out = []
    for r in rules:
        out.append(
            CompiledRule(
                rule=r,
                keywords=tuple(k for k in (normalize(k).strip() for k in r.keywords) if k),
                pattern=re.compile(r.regex, re.IGNORECASE) if r.regex else None,
                channels=frozenset(c.lstrip("@").casefold() for c in r.channels),
            )
        )
    return out


def _matches(c: CompiledRule, text: str, norm: str, channel_id: int, username: str | None) -> bool:
    if (
        c.channels
        and str(channel_id) not in c.channels
        and (username is None or username.casefold() not in c.channels)
    ):
        return False
    if not c.keywords and c.pattern is None:
        return True  # a rule with only channels fires on everything there
    if any(k in norm for k in c.keywords):
        return True
    return bool(c.pattern and (c.pattern.search(text) or c.pattern.search(norm)))


def evaluate(
    conn: sqlite3.Connection,
    rules: Sequence[CompiledRule],
    kind: AlertKind,
    channel_id: int,
    message_id: int,
    text: str,
    username: str | None,
    at: str,
) -> int:
    """Record hits for one archived event; returns how many new hits were written.

    Must be called inside the writer's open transaction; ``at`` is ISO UTC."""
    norm = normalize(text)
    excerpt = text[:200]
    hits = 0
    for c in rules:
        if kind in c.rule.on and _matches(c, text, norm, channel_id, username):
            cur = conn.execute(
                "INSERT OR IGNORE INTO alert_hits(rule, kind, channel_id, message_id, excerpt, hit_at)"
                " VALUES (?,?,?,?,?,?)",
                (c.rule.name, kind, channel_id, message_id, excerpt, at),
            )
            hits += cur.rowcount
    if kind != "new":
        watched = conn.execute(
            "SELECT 1 FROM watched_posts WHERE channel_id=? AND message_id=?",
            (channel_id, message_id),
        ).fetchone()
        if watched:
            cur = conn.execute(
                "INSERT OR IGNORE INTO alert_hits(rule, kind, channel_id, message_id, excerpt, hit_at)"
                " VALUES (?,?,?,?,?,?)",
                (WATCHED_RULE, kind, channel_id, message_id, excerpt, at),
            )
            hits += cur.rowcount
    return hits


@dataclass(frozen=True)
class WatchedPost:
    """A post a user marked as evidence: edits and deletions of it fire ``watched-post``."""

    channel_id: int
    message_id: int
    note: str | None
    added_at: str


def watch_post(
    conn: sqlite3.Connection, channel_id: int, message_id: int, note: str | None, at: str
) -> bool:
    """Mark a post as evidence in one short ``BEGIN IMMEDIATE`` transaction (``conn`` is a
    writer connection in autocommit mode). Returns False if it was already watched (its
    note is then replaced when a new one is given)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT OR IGNORE INTO watched_posts(channel_id, message_id, note, added_at)"
            " VALUES (?,?,?,?)",
            (channel_id, message_id, note, at),
        )
        added = cur.rowcount == 1
        if not added and note is not None:
            conn.execute(
                "UPDATE watched_posts SET note = ? WHERE channel_id = ? AND message_id = ?",
                (note, channel_id, message_id),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added


def unwatch_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> bool:
    """Stop watching a post (its past alert hits stay). Returns False if it was not watched."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "DELETE FROM watched_posts WHERE channel_id = ? AND message_id = ?",
            (channel_id, message_id),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return cur.rowcount == 1


def watched_posts(conn: sqlite3.Connection) -> list[WatchedPost]:
    """Every watched post, oldest mark first."""
    return [
        WatchedPost(channel_id=r[0], message_id=r[1], note=r[2], added_at=r[3])
        for r in conn.execute(
            "SELECT channel_id, message_id, note, added_at FROM watched_posts"
            " ORDER BY added_at, channel_id, message_id"
        )
    ]
