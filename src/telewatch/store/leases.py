"""Channel leases: several daemons, each with its own account, share one
PostgreSQL archive and its watch list (docs/SCALE.md, schema 12).

Each ``telewatch run`` on a PostgreSQL archive registers a row in
``daemons`` and, every ``lease_renew`` seconds, calls ``renew`` in one
transaction: its heartbeat moves on, the leases it holds are extended to
now + ``lease_ttl``, and it takes free or expired entries up to its share
(``shares``). Free rows are locked with ``SELECT … FOR UPDATE SKIP LOCKED``,
so two daemons renewing at once never take the same entry: each takes what
the other has not locked. Times come from the server's clock
(``clock_timestamp()``), so daemons on machines whose clocks differ agree on
expiry. A clean stop (``release``) frees its leases at once; a daemon killed
or cut off keeps them until they expire.

``account_channels`` keeps each account's own access hash of each channel
(a hash is valid for the account that learned it only).

An account whose username resolution is parked by a long FloodWait hands
the entries it cannot resolve over (``renew(…, hand_over=…)``): the lease is
freed and a row of ``channel_blocks`` (entry, account, until) keeps this
account from taking it back before its wait ends, while any other daemon
may take it beyond its even share (and keeps it while the block lasts;
after it, the usual give-back restores the even spread). The blocks are per
account: an entry that B, parked too, hands over again stays blocked for A
(it does not bounce between two parked accounts), and one that every live
account has blocked waits, free, until the first block ends (``leases``
says until when: ``telewatch status`` shows it).

``daemon_roles`` holds what exactly one daemon of the pool runs (the webhook
sender, the anchor loop): a lease per role with the channels' ttl, renewed by
its holder each round and taken by another daemon once expired or freed
(``renew_roles``).

These tables are coordination state, not evidence: they are not chained
(like ``watchlist`` and ``daemon_runs``). On SQLite the daemon takes no
leases (one daemon archives every channel); the statements here use
PostgreSQL's row locks and clock and run on a PostgreSQL archive only.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telewatch.store.db import is_postgres

JOIN = "join"


@dataclass(frozen=True)
class Daemon:
    """One registered daemon as ``telewatch status`` shows it."""

    id: str
    host: str
    account_id: int
    account: str
    pid: int
    started_at: float
    heartbeat: float
    stopped_at: float | None
    held: int
    live: bool


@dataclass(frozen=True)
class Role:
    """Who runs one pool-wide role (``webhooks``, ``anchor``)."""

    role: str
    holder: str | None
    expires: float | None


@dataclass(frozen=True)
class Lease:
    """Who holds one watch-list entry."""

    key: str
    mode: str
    holder: str | None
    account_id: int | None
    expires: float | None
    blocked_until: float | None = None
    """Free, and every live account handed it over (its username resolution
    parked by a FloodWait): it waits until then, the first of their blocks
    to end (server clock); None otherwise."""


DEFAULT_TTL = 30.0
"""``[daemon] lease_ttl``'s default: who counts as live when the caller has no config."""


def _require_pg(conn: sqlite3.Connection) -> None:
    if not is_postgres(conn):
        raise ValueError("channel leases exist on a PostgreSQL archive only")


def server_time(conn: sqlite3.Connection) -> float:
    """The database server's clock, Unix seconds."""
    _require_pg(conn)
    return float(conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])


def register(
    conn: sqlite3.Connection,
    daemon_id: str,
    *,
    host: str,
    account_id: int,
    account: str,
    pid: int,
    max_joined: int,
) -> None:
    """Add this run to ``daemons`` (its first heartbeat)."""
    _require_pg(conn)
    conn.execute("BEGIN")
    try:
        now = server_time(conn)
        conn.execute(
            "INSERT INTO daemons(id, host, account_id, account, pid, max_joined, started_at,"
            " heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (daemon_id, host, account_id, account, pid, max_joined, now, now),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def shares(n_join: int, n_poll: int, live: int, max_joined: int) -> tuple[int, int, int]:
    """(join-mode, poll-mode, total) entries one of ``live`` daemons holds at
    most: an even spread of each mode, join-mode ones no more than the
    account may join; the total lets join-mode entries no account has room
    for be taken (and polled) by whoever has the fewest."""
    live = max(1, live)
    join = min(max_joined, math.ceil(n_join / live))
    poll = math.ceil(n_poll / live)
    return join, poll, math.ceil((n_join + n_poll) / live)


def renew(
    conn: sqlite3.Connection,
    daemon_id: str,
    account_id: int,
    entries: Mapping[str, str],
    *,
    ttl: float,
    max_joined: int,
    hand_over: Mapping[str, float] | None = None,
) -> set[str]:
    """One lease round for ``daemon_id`` (see the module doc): heartbeat,
    hand over the entries in ``hand_over`` (key → seconds this account may
    not take it back), extend held leases, give back entries beyond its share
    (another daemon has come), take free or expired ones up to its share, and
    entries another account handed over beyond it. ``entries``: the watch
    list's active entries, key → mode. Returns the keys it now holds.
    Raises LookupError when the daemon's row is gone (it was declared
    dead and removed: it must register again)."""
    _require_pg(conn)
    conn.execute("BEGIN")
    try:
        held = _renew(conn, daemon_id, account_id, entries, ttl, max_joined, hand_over or {})
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return held


def _renew(
    conn: sqlite3.Connection,
    daemon_id: str,
    account_id: int,
    entries: Mapping[str, str],
    ttl: float,
    max_joined: int,
    hand_over: Mapping[str, float],
) -> set[str]:
    now = server_time(conn)
    if (
        conn.execute(
            "UPDATE daemons SET heartbeat = ?, stopped_at = NULL WHERE id = ?", (now, daemon_id)
        ).rowcount
        != 1
    ):
        raise LookupError(f"daemon {daemon_id} is not registered")
    # New entries get a free lease row; a changed mode is noted. Only those:
    # every entry each round was one statement per watched channel per
    # daemon (a 2,000-channel pool of 5 sent ~1,800 a second), and an
    # ON CONFLICT DO UPDATE locks the row even when its WHERE is false.
    stored = {str(k): str(m) for k, m in conn.execute("SELECT key, mode FROM channel_leases")}
    changed = sorted((k, m) for k, m in entries.items() if stored.get(k) != m)
    if changed:
        conn.executemany(
            "INSERT INTO channel_leases(key, mode) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET mode = excluded.mode"
            " WHERE channel_leases.mode <> excluded.mode",
            changed,
        )
    if hand_over:
        ours = [
            k
            for k in sorted(hand_over)
            if conn.execute(
                "UPDATE channel_leases SET holder = NULL, account_id = NULL, expires = NULL"
                " WHERE key = ? AND holder = ?",
                (k, daemon_id),
            ).rowcount
            == 1
        ]
        # One block per account: an earlier account's block stays (the entry
        # does not bounce back to it while it is still parked).
        conn.executemany(
            "INSERT INTO channel_blocks(key, account_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT (key, account_id) DO UPDATE SET until = excluded.until",
            [(k, account_id, now + max(0.0, hand_over[k])) for k in ours],
        )
    conn.execute("UPDATE channel_leases SET expires = ? WHERE holder = ?", (now + ttl, daemon_id))
    blocks = _blocks(conn, now)
    blocked = {k for k, by in blocks.items() if account_id in by and k in entries}
    # Handed over by other accounts only: held beyond the even share while
    # the block lasts (they count for nobody's share, so nobody gives them
    # back). One that every live account has blocked is taken by nobody: it
    # waits, free, until the first of their blocks ends.
    handed = {k for k in blocks if k in entries and k not in blocked}
    live = int(
        conn.execute(
            "SELECT count(*) FROM daemons WHERE stopped_at IS NULL AND heartbeat > ?",
            (now - ttl,),
        ).fetchone()[0]
    )
    n_join = sum(1 for m in entries.values() if m == JOIN)
    join_cap, poll_cap, total_cap = shares(n_join, len(entries) - n_join, live, max_joined)
    mine = {
        str(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT key, mode FROM channel_leases WHERE holder = ? ORDER BY key", (daemon_id,)
        ).fetchall()
    }
    # Entries no longer watched are given back, and any this account is blocked on.
    gone = [k for k in mine if k not in entries or k in blocked]
    counted = {k: m for k, m in mine.items() if k not in handed}
    extra = gone + _beyond_share(counted, entries, join_cap, poll_cap, total_cap)
    if extra:
        conn.executemany(
            "UPDATE channel_leases SET holder = NULL, account_id = NULL, expires = NULL"
            " WHERE key = ? AND holder = ?",
            [(k, daemon_id) for k in extra],
        )
        for k in extra:
            mine.pop(k, None)
    free = [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT key, mode FROM channel_leases WHERE holder IS NULL OR expires < ?"
            " ORDER BY key FOR UPDATE SKIP LOCKED",
            (now,),
        ).fetchall()
        if str(r[0]) in entries
    ]
    taken: list[str] = []
    n_j = sum(1 for k, m in mine.items() if m == JOIN and k not in handed)
    n_p = sum(1 for k, m in mine.items() if m != JOIN and k not in handed)
    # Handed-over entries: shared among the other daemons, beyond their shares.
    n_h = sum(1 for k in mine if k in handed)
    h_cap = math.ceil(len(handed) / max(1, live - 1))
    for key, mode in free:
        if key in blocked:
            continue  # this account handed it over; not before its wait ends
        if key in handed:
            if n_h < h_cap:
                n_h += 1
                taken.append(key)
            continue
        if mode == JOIN and n_j < join_cap:
            n_j += 1
        elif mode != JOIN and n_p < poll_cap:
            n_p += 1
        else:
            continue
        taken.append(key)
    # Join-mode entries beyond every account's room: taken (and polled) by
    # whoever holds fewer than the even total.
    for key, mode in free:
        if key in handed or key in blocked:
            continue
        if key not in taken and mode == JOIN and n_j + n_p < total_cap and n_j >= join_cap:
            taken.append(key)
            n_p += 1
    if taken:
        conn.executemany(
            "UPDATE channel_leases SET holder = ?, account_id = ?, taken_at = ?, expires = ?"
            " WHERE key = ?",
            [(daemon_id, account_id, now, now + ttl, k) for k in taken],
        )
    return set(mine) | set(taken)


def _blocks(conn: sqlite3.Connection, now: float) -> dict[str, dict[int, float]]:
    """Key → {account id: end of its block} for the blocks not yet over
    (the table keeps one row per entry and account at most: no clean-up)."""
    out: dict[str, dict[int, float]] = {}
    for r in conn.execute(
        "SELECT key, account_id, until FROM channel_blocks WHERE until > ?", (now,)
    ).fetchall():
        out.setdefault(str(r[0]), {})[int(r[1])] = float(r[2])
    return out


def _beyond_share(
    mine: Mapping[str, str],
    entries: Mapping[str, str],
    join_cap: int,
    poll_cap: int,
    total_cap: int,
) -> list[str]:
    """Held entries past this daemon's share, to give back (newest key last)."""
    joins = [k for k in mine if k in entries and entries[k] == JOIN]
    polls = [k for k in mine if k in entries and entries[k] != JOIN]
    extra = polls[poll_cap:]
    keep_join = max(join_cap, total_cap - min(len(polls), poll_cap))
    extra += joins[keep_join:]
    return extra


def release(conn: sqlite3.Connection, daemon_id: str) -> int:
    """A clean stop: free every lease of ``daemon_id`` now and mark it
    stopped. Returns how many leases were freed."""
    _require_pg(conn)
    conn.execute("BEGIN")
    try:
        now = server_time(conn)
        n = conn.execute(
            "UPDATE channel_leases SET holder = NULL, account_id = NULL, expires = NULL"
            " WHERE holder = ?",
            (daemon_id,),
        ).rowcount
        conn.execute(
            "UPDATE daemon_roles SET holder = NULL, expires = NULL WHERE holder = ?",
            (daemon_id,),
        )
        conn.execute(
            "UPDATE daemons SET stopped_at = ?, heartbeat = ? WHERE id = ?",
            (now, now, daemon_id),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(n)


def renew_roles(
    conn: sqlite3.Connection, daemon_id: str, wanted: Iterable[str], *, ttl: float
) -> set[str]:
    """Keep or take each role in ``wanted`` for ``daemon_id`` (one
    transaction): a role is taken when free, expired or already its own, and
    extended to now + ``ttl``; two daemons asking at once are serialised by
    the row lock, so a role has one holder. Roles it holds but no longer
    wants are freed. Returns the roles it holds now."""
    _require_pg(conn)
    want = sorted(set(wanted))
    conn.execute("BEGIN")
    try:
        now = server_time(conn)
        conn.execute(
            "UPDATE daemon_roles SET holder = NULL, expires = NULL WHERE holder = ?"
            + "".join(" AND role <> ?" for _ in want),
            (daemon_id, *want),
        )
        held: set[str] = set()
        for role in want:
            conn.execute(
                "INSERT INTO daemon_roles(role) VALUES (?) ON CONFLICT (role) DO NOTHING", (role,)
            )
            n = conn.execute(
                "UPDATE daemon_roles SET taken_at = CASE WHEN holder = ? THEN taken_at ELSE ?"
                " END, holder = ?, expires = ? WHERE role = ? AND (holder IS NULL OR holder = ?"
                " OR expires IS NULL OR expires < ?)",
                (daemon_id, now, daemon_id, now + ttl, role, daemon_id, now),
            ).rowcount
            if n == 1:
                held.add(role)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return held


def roles(conn: sqlite3.Connection) -> list[Role]:
    """Every pool-wide role and its unexpired holder, by role ([] on SQLite)."""
    if not is_postgres(conn):
        return []
    now = server_time(conn)
    return [
        Role(
            role=str(r[0]),
            holder=None if r[2] is None or float(r[2]) < now else str(r[1]),
            expires=None if r[2] is None else float(r[2]),
        )
        for r in conn.execute(
            "SELECT role, holder, expires FROM daemon_roles ORDER BY role"
        ).fetchall()
    ]


def own_hashes(conn: sqlite3.Connection, account_id: int) -> dict[int, int]:
    """Channel id → this account's own access hash."""
    _require_pg(conn)
    return {
        int(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT channel_id, access_hash FROM account_channels WHERE account_id = ?",
            (account_id,),
        ).fetchall()
    }


def learn_hashes(
    conn: sqlite3.Connection, account_id: int, hashes: Iterable[tuple[int, int]]
) -> None:
    """Store (channel id, access hash) pairs this account learned."""
    _require_pg(conn)
    rows = list(hashes)
    if not rows:
        return
    conn.execute("BEGIN")
    try:
        now = server_time(conn)
        conn.executemany(
            "INSERT INTO account_channels(account_id, channel_id, access_hash, learned_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (account_id, channel_id) DO UPDATE SET"
            " access_hash = excluded.access_hash, learned_at = excluded.learned_at",
            [(account_id, cid, h, now) for cid, h in rows],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def daemons(conn: sqlite3.Connection, ttl: float) -> list[Daemon]:
    """Every registered daemon, newest start first, with the leases it holds;
    ``live``: not stopped and renewed within ``ttl`` seconds (empty on
    SQLite, where one daemon archives every channel)."""
    if not is_postgres(conn):
        return []
    now = server_time(conn)
    rows = conn.execute(
        "SELECT d.id, d.host, d.account_id, d.account, d.pid, d.started_at, d.heartbeat,"
        " d.stopped_at, (SELECT count(*) FROM channel_leases l WHERE l.holder = d.id"
        " AND l.expires >= ?) AS held FROM daemons d ORDER BY d.started_at DESC, d.id",
        (now,),
    ).fetchall()
    return [
        Daemon(
            id=str(r[0]),
            host=str(r[1]),
            account_id=int(r[2]),
            account=str(r[3]),
            pid=int(r[4]),
            started_at=float(r[5]),
            heartbeat=float(r[6]),
            stopped_at=None if r[7] is None else float(r[7]),
            held=int(r[8]),
            live=r[7] is None and float(r[6]) > now - ttl,
        )
        for r in rows
    ]


def leases(conn: sqlite3.Connection, ttl: float = DEFAULT_TTL) -> list[Lease]:
    """Every lease row (held or free), by key ([] on SQLite); a free one
    that every live daemon's account (renewed within ``ttl``) has blocked
    says until when it waits (``blocked_until``)."""
    if not is_postgres(conn):
        return []
    now = server_time(conn)
    blocks = _blocks(conn, now)
    live = {
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT account_id FROM daemons WHERE stopped_at IS NULL AND heartbeat > ?",
            (now - ttl,),
        ).fetchall()
    }
    out = []
    for r in conn.execute(
        "SELECT key, mode, holder, account_id, expires FROM channel_leases ORDER BY key"
    ).fetchall():
        key = str(r[0])
        expired = r[4] is None or float(r[4]) < now
        by = blocks.get(key, {})
        waits = expired and bool(by) and bool(live) and live <= set(by)
        out.append(
            Lease(
                key=key,
                mode=str(r[1]),
                holder=None if expired else str(r[2]),
                account_id=None if expired or r[3] is None else int(r[3]),
                expires=None if r[4] is None else float(r[4]),
                blocked_until=min(by[a] for a in live) if waits else None,
            )
        )
    return out
