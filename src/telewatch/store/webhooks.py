"""The webhook outbox: which alert hits each webhook URL has received.

Alert hits are rows the writer adds in its own transaction (store.alerts), so
the outbox needs no queue of its own: a *target* (one URL of one rule, table
``webhook_targets``) is owed every hit of its rule with ``id > since_hit_id``
that has no ``delivered`` or ``dead`` row in ``webhook_deliveries``. The
sender (daemon.webhooks) records each attempt in its own short ``BEGIN
IMMEDIATE`` transaction on a writer connection (autocommit mode): a hit
recorded ``delivered`` is never sent to that URL again, whatever happens to
the process; a hit whose 2xx arrived but was not recorded yet (kill -9 in
between) is sent again, so delivery is at least once and the body carries an
idempotency key.

URLs are never stored: they may carry a token (in the path, query or
userinfo). ``url_key`` is the sha256 of the URL, ``url_masked`` what logs and
``telewatch status`` show (``mask_url``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

STATES = ("pending", "delivered", "dead")


def url_key(url: str) -> str:
    """The stored identity of a webhook URL: sha256 hex of it."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def mask_url(url: str) -> str:
    """``url`` with anything that may be a secret hidden: userinfo, query,
    fragment and every path segment after the first
    (``https://hooks.example/services/…?…``), plus the first 6 hex digits of
    its key so that two masked URLs can be told apart."""
    try:
        u = urlsplit(url)
        host = u.hostname or "?"
        port = f":{u.port}" if u.port else ""
    except ValueError:
        return f"<invalid url #{url_key(url)[:6]}>"
    if ":" in host:
        host = f"[{host}]"
    segs = [s for s in u.path.split("/") if s]
    path = ""
    if segs:
        path = "/" + segs[0] + ("/…" if len(segs) > 1 else "")
    user = "***@" if u.username or u.password else ""
    query = "?…" if u.query else ""
    frag = "#…" if u.fragment else ""
    return f"{u.scheme}://{user}{host}{port}{path}{query}{frag} #{url_key(url)[:6]}"


@dataclass(frozen=True, slots=True)
class Target:
    """One webhook URL of one rule as the archive knows it."""

    id: int
    rule: str
    url_key: str
    url_masked: str
    since_hit_id: int


def register_targets(
    conn: sqlite3.Connection, targets: Sequence[tuple[str, str]], at: str
) -> list[Target]:
    """Make sure every ``(rule, url)`` has a target row and return them in order.

    A new target starts after the newest hit already in the archive (old hits
    are not replayed to a URL just added); an existing one keeps its place, so
    a restart resumes where delivery stopped. ``conn`` is a writer connection
    in autocommit mode; one ``BEGIN IMMEDIATE`` transaction. Call it before
    the writer starts evaluating rules, so that no new hit predates its target."""
    out: list[Target] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        newest = int(conn.execute("SELECT coalesce(max(id), 0) FROM alert_hits").fetchone()[0])
        for rule, url in targets:
            key = url_key(url)
            conn.execute(
                "INSERT OR IGNORE INTO webhook_targets"
                "(rule, url_key, url_masked, since_hit_id, added_at) VALUES (?,?,?,?,?)",
                (rule, key, mask_url(url), newest, at),
            )
            r = conn.execute(
                "SELECT id, url_masked, since_hit_id FROM webhook_targets"
                " WHERE rule = ? AND url_key = ?",
                (rule, key),
            ).fetchone()
            out.append(Target(int(r[0]), rule, key, str(r[1]), int(r[2])))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return out


@dataclass(frozen=True, slots=True)
class OutboxHit:
    """A hit a target still owes, with what its body needs."""

    hit_id: int
    rule: str
    kind: str
    channel_id: int
    message_id: int
    username: str | None
    title: str | None
    excerpt: str
    hit_at: str
    attempts: int
    """Failed attempts so far (0 for a hit never tried)."""
    next_at: str | None
    """When a failed hit may be tried again (None: now)."""


def owed(conn: sqlite3.Connection, target: Target, limit: int = 50) -> list[OutboxHit]:
    """The first ``limit`` hits ``target`` still owes (never tried, or failed and
    to be retried at ``next_at``), in hit order."""
    rows = conn.execute(
        "SELECT h.id, h.rule, h.kind, h.channel_id, h.message_id, c.username, c.title,"
        " h.excerpt, h.hit_at, coalesce(d.attempts, 0), d.next_at"
        " FROM alert_hits h"
        " LEFT JOIN channels c ON c.id = h.channel_id"
        " LEFT JOIN webhook_deliveries d ON d.target_id = ? AND d.hit_id = h.id"
        " WHERE h.rule = ? AND h.id > ? AND (d.state IS NULL OR d.state = 'pending')"
        " ORDER BY h.id LIMIT ?",
        (target.id, target.rule, target.since_hit_id, limit),
    ).fetchall()
    return [
        OutboxHit(
            hit_id=int(r[0]),
            rule=str(r[1]),
            kind=str(r[2]),
            channel_id=int(r[3]),
            message_id=int(r[4]),
            username=r[5],
            title=r[6],
            excerpt=str(r[7] or ""),
            hit_at=str(r[8]),
            attempts=int(r[9]),
            next_at=r[10],
        )
        for r in rows
    ]


def record_attempt(
    conn: sqlite3.Connection,
    target: Target,
    hit_id: int,
    state: str,
    attempts: int,
    last_status: str,
    next_at: str | None,
    at: str,
) -> None:
    """Record the outcome of one attempt (``state`` pending/delivered/dead) in
    one ``BEGIN IMMEDIATE`` transaction. A ``delivered`` row is final: a later
    call for the same hit does not change it."""
    if state not in STATES:
        raise ValueError(f"unknown delivery state {state!r}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO webhook_deliveries"
            "(target_id, hit_id, state, attempts, last_status, next_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)"
            " ON CONFLICT(target_id, hit_id) DO UPDATE SET state = excluded.state,"
            " attempts = excluded.attempts, last_status = excluded.last_status,"
            " next_at = excluded.next_at, updated_at = excluded.updated_at"
            " WHERE webhook_deliveries.state != 'delivered'",
            (target.id, hit_id, state, attempts, last_status, next_at, at),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """Delivery counts of one target, for ``telewatch status`` and the dashboard."""

    rule: str
    url_masked: str
    delivered: int
    retrying: int
    """Hits that failed at least once and will be tried again."""
    waiting: int
    """Hits owed but never tried yet (the backlog)."""
    dead: int
    last_status: str | None


def summaries(conn: sqlite3.Connection) -> list[TargetSummary]:
    """One summary per webhook target ever registered, by rule then URL."""
    out: list[TargetSummary] = []
    for t in conn.execute(
        "SELECT id, rule, url_masked, since_hit_id FROM webhook_targets ORDER BY rule, url_masked"
    ).fetchall():
        counts = dict.fromkeys(STATES, 0)
        for state, n in conn.execute(
            "SELECT state, count(*) FROM webhook_deliveries WHERE target_id = ? GROUP BY state",
            (t[0],),
        ):
            counts[str(state)] = int(n)
        owed = int(
            conn.execute(
                "SELECT count(*) FROM alert_hits h WHERE h.rule = ? AND h.id > ? AND NOT EXISTS"
                " (SELECT 1 FROM webhook_deliveries d WHERE d.target_id = ? AND d.hit_id = h.id)",
                (t[1], t[3], t[0]),
            ).fetchone()[0]
        )
        last = conn.execute(
            "SELECT last_status FROM webhook_deliveries WHERE target_id = ?"
            " ORDER BY updated_at DESC LIMIT 1",
            (t[0],),
        ).fetchone()
        out.append(
            TargetSummary(
                rule=str(t[1]),
                url_masked=str(t[2]),
                delivered=counts["delivered"],
                retrying=counts["pending"],
                waiting=owed,
                dead=counts["dead"],
                last_status=None if last is None else last[0],
            )
        )
    return out


def dead_letters_by_rule(conn: sqlite3.Connection) -> dict[str, int]:
    """Dead-lettered deliveries per rule (rules without any are absent)."""
    rows = conn.execute(
        "SELECT t.rule, count(*) FROM webhook_deliveries d"
        " JOIN webhook_targets t ON t.id = d.target_id WHERE d.state = 'dead' GROUP BY t.rule"
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}
