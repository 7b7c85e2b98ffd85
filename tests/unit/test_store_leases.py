"""store/leases.py against a real PostgreSQL server: shares, renewal, expiry,
give-back when a daemon joins, release, concurrent rounds never sharing an
entry, and per-account access hashes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from telewatch.config import DaemonSettings
from telewatch.store import leases
from telewatch.store.db import connect, migrate

ENTRIES = {f"username:c{i:02d}": ("join" if i < 4 else "poll") for i in range(12)}


def _daemon(conn: object, name: str, account: int, max_joined: int = 500) -> str:
    leases.register(
        conn,  # type: ignore[arg-type]
        name,
        host="h",
        account_id=account,
        account=f"acct {account}",
        pid=account,
        max_joined=max_joined,
    )
    return name


def test_shares_spread_each_mode_within_the_join_limit() -> None:
    assert leases.shares(9, 21, 3, 12) == (3, 7, 10)
    assert leases.shares(9, 21, 2, 12) == (5, 11, 15)
    assert leases.shares(9, 0, 1, 2) == (2, 0, 9)  # the rest is polled by whoever has room
    assert leases.shares(0, 0, 0, 500) == (0, 0, 0)


def test_two_daemons_split_expire_and_release(pg_url: str) -> None:
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        a = _daemon(conn, "a", 1)
        held_a = leases.renew(conn, a, 1, ENTRIES, ttl=2.0, max_joined=500)
        assert held_a == set(ENTRIES)  # alone: everything
        b = _daemon(conn, "b", 2)
        held_b = leases.renew(conn, b, 2, ENTRIES, ttl=2.0, max_joined=500)
        assert held_b == set()  # all held
        held_a = leases.renew(conn, a, 1, ENTRIES, ttl=2.0, max_joined=500)
        assert len(held_a) == 6  # gave back beyond its share
        held_b = leases.renew(conn, b, 2, ENTRIES, ttl=2.0, max_joined=500)
        assert held_a.isdisjoint(held_b) and held_a | held_b == set(ENTRIES)
        joins = [k for k in held_a if ENTRIES[k] == "join"]
        assert len(joins) == 2  # join-mode entries spread too
        assert {d.id: d.held for d in leases.daemons(conn, 2.0)} == {"a": 6, "b": 6}
        # b stops renewing: its leases expire and a takes them.
        time.sleep(2.2)
        held_a = leases.renew(conn, a, 1, ENTRIES, ttl=2.0, max_joined=500)
        assert held_a == set(ENTRIES)
        assert {d.id: d.live for d in leases.daemons(conn, 2.0)} == {"a": True, "b": False}
        # A clean stop frees everything at once.
        assert leases.release(conn, a) == len(ENTRIES)
        assert all(lease.holder is None for lease in leases.leases(conn))
        with pytest.raises(LookupError):
            leases.renew(conn, "gone", 3, ENTRIES, ttl=2.0, max_joined=500)
    finally:
        conn.close()


def test_the_join_limit_caps_join_mode_leases(pg_url: str) -> None:
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        a = _daemon(conn, "a", 1, max_joined=1)
        held = leases.renew(conn, a, 1, ENTRIES, ttl=30.0, max_joined=1)
        # One join-mode entry within its room; the other three are still taken
        # (polled instead) since nobody else has room: nothing is left unarchived.
        assert held == set(ENTRIES)
    finally:
        conn.close()


def test_a_round_adds_new_entries_and_notes_a_changed_mode(pg_url: str) -> None:
    """A round writes lease rows only for entries that are new or changed
    (not every entry every round); a mode changed in the config reaches
    the row, an entry added later gets one."""
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        a = _daemon(conn, "a", 1)
        leases.renew(conn, a, 1, ENTRIES, ttl=30.0, max_joined=500)
        changed = dict(ENTRIES, **{"username:c05": "join", "username:new": "poll"})
        held = leases.renew(conn, a, 1, changed, ttl=30.0, max_joined=500)
        rows = dict(conn.execute("SELECT key, mode FROM channel_leases").fetchall())
        assert rows == changed
        assert held == set(changed)
    finally:
        conn.close()


def test_concurrent_rounds_never_take_the_same_entry(pg_url: str) -> None:
    """Four daemons renewing at once (FOR UPDATE SKIP LOCKED): every entry has
    one holder."""
    migrate(Path(pg_url))
    names = [f"d{k}" for k in range(4)]
    setup = connect(Path(pg_url), readonly=False)
    for k, n in enumerate(names):
        _daemon(setup, n, k + 1)
    setup.close()
    got: dict[str, set[str]] = {}
    errors: list[str] = []
    start = threading.Barrier(len(names))

    def run(n: str, k: int) -> None:
        conn = connect(Path(pg_url), readonly=False)
        try:
            start.wait()
            for _ in range(5):
                got[n] = leases.renew(conn, n, k, ENTRIES, ttl=30.0, max_joined=500)
        except Exception as err:
            errors.append(f"{n}: {err}")
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(n, k)) for k, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    conn = connect(Path(pg_url))
    try:
        rows = leases.leases(conn)
    finally:
        conn.close()
    holders = {lease.key: lease.holder for lease in rows}
    assert set(holders) == set(ENTRIES) and None not in holders.values()
    for n in names:  # what each round said it holds is what the table says
        assert got[n] == {k for k, h in holders.items() if h == n}


def test_access_hashes_are_per_account(pg_url: str) -> None:
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        leases.learn_hashes(conn, 1, [(100, 11), (101, 12)])
        leases.learn_hashes(conn, 2, [(100, 21)])
        leases.learn_hashes(conn, 1, [(100, 13)])
        assert leases.own_hashes(conn, 1) == {100: 13, 101: 12}
        assert leases.own_hashes(conn, 2) == {100: 21}
        assert leases.own_hashes(conn, 3) == {}
    finally:
        conn.close()


def test_lease_times_are_validated() -> None:
    with pytest.raises(ValidationError, match="lease_renew"):
        DaemonSettings(lease_ttl=5.0, lease_renew=5.0)
    with pytest.raises(ValidationError):
        DaemonSettings(lease_ttl=float("inf"))
    assert DaemonSettings().lease_ttl == 30.0


def test_status_shows_every_daemon_and_each_channels_holder(pg_url: str) -> None:
    """`telewatch status` (text and --json) on a shared archive: one line per
    daemon with its account and channels held, each channel's holder."""
    from click.testing import CliRunner

    from telewatch.cli import main
    from telewatch.store import watchlist

    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        watchlist.merge_config(conn, [("c00", None, "join", "all"), ("c01", None, "poll", "all")])
        entries = {e.key: e.mode for e in watchlist.active_entries(conn)}
        _daemon(conn, "d-one", 111)
        leases.renew(conn, "d-one", 111, entries, ttl=30.0, max_joined=500)
        _daemon(conn, "d-two", 222)
        leases.renew(conn, "d-two", 222, entries, ttl=30.0, max_joined=500)
        leases.renew_roles(conn, "d-two", {"webhooks"}, ttl=30.0)
    finally:
        conn.close()
    r = CliRunner().invoke(main, ["--db", pg_url, "status"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "account acct 111 (id 111), pid 111, running, 2 channels held" in r.output
    assert "account acct 222 (id 222), pid 222, running, 0 channels held" in r.output
    assert (
        r.output.count("runs the webhooks") == 1
        and "runs the webhooks" in r.output.split("acct 222")[1].split("\n")[0]
    )
    assert r.output.count("[account 111]") == 2
    r = CliRunner().invoke(main, ["--db", pg_url, "status", "--json"], catch_exceptions=False)
    out = json.loads(r.output)
    assert {d["account_id"]: d["channels_held"] for d in out["daemons"]} == {111: 2, 222: 0}
    assert {d["account_id"]: d["roles"] for d in out["daemons"]} == {111: [], 222: ["webhooks"]}
    assert {c["key"]: c["held_by"]["daemon"] for c in out["channels"]} == {
        k: "d-one" for k in entries
    }


def test_a_handed_over_entry_goes_to_the_others_and_comes_back_after_the_block(
    pg_url: str,
) -> None:
    """Account 2 hands two entries over (its resolve FloodWait): it does not take
    them back while blocked, daemon a takes them beyond its even share and keeps
    them while the block lasts; after it, a gives back beyond its share and b
    takes its share again."""
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    entries = {f"username:p{i:02d}": "poll" for i in range(6)}
    try:
        a, b = _daemon(conn, "a", 1), _daemon(conn, "b", 2)
        leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500)
        leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500)
        held_a = leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500)
        held_b = leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500)
        assert len(held_a) == len(held_b) == 3
        handed = sorted(held_b)[:2]
        held_b = leases.renew(
            conn, b, 2, entries, ttl=30.0, max_joined=500, hand_over={k: 2.0 for k in handed}
        )
        assert len(held_b) == 1 and not held_b & set(handed)  # not taken back
        held_a = leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500)
        assert held_a == set(entries) - held_b  # 5: beyond its share of 3
        assert leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500) == held_a  # kept
        assert leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500) == held_b
        time.sleep(2.2)  # the block ends
        held_a = leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500)
        held_b = leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500)
        assert len(held_a) == len(held_b) == 3 and held_a.isdisjoint(held_b)
    finally:
        conn.close()


def test_a_role_has_one_holder_and_moves_when_it_expires_or_is_released(pg_url: str) -> None:
    """Two daemons asking for the same roles: the first holds both, the second
    none; when the holder stops renewing, the other takes them after the ttl; a
    release frees them at once; a role no longer wanted is freed."""
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    both = {"webhooks", "anchor"}
    try:
        a, b = _daemon(conn, "a", 1), _daemon(conn, "b", 2)
        assert leases.renew_roles(conn, a, both, ttl=2.0) == both
        assert leases.renew_roles(conn, b, both, ttl=2.0) == set()
        assert leases.renew_roles(conn, a, both, ttl=2.0) == both
        assert {r.role: r.holder for r in leases.roles(conn)} == {"anchor": a, "webhooks": a}
        time.sleep(2.2)  # a stops renewing
        assert leases.renew_roles(conn, b, both, ttl=2.0) == both
        assert leases.renew_roles(conn, a, both, ttl=2.0) == set()
        leases.release(conn, b)
        assert {r.role: r.holder for r in leases.roles(conn)} == {"anchor": None, "webhooks": None}
        assert leases.renew_roles(conn, a, {"anchor"}, ttl=30.0) == {"anchor"}
        assert leases.renew_roles(conn, a, set(), ttl=30.0) == set()
        assert leases.renew_roles(conn, b, {"anchor"}, ttl=30.0) == {"anchor"}
    finally:
        conn.close()


def test_concurrent_role_rounds_give_each_role_one_holder(pg_url: str) -> None:
    """Four daemons asking for the roles at once: each role ends with one holder,
    and what each round said it holds is what the table says."""
    migrate(Path(pg_url))
    names = [f"d{k}" for k in range(4)]
    setup = connect(Path(pg_url), readonly=False)
    for k, n in enumerate(names):
        _daemon(setup, n, k + 1)
    setup.close()
    got: dict[str, set[str]] = {}
    errors: list[str] = []
    start = threading.Barrier(len(names))

    def run(n: str) -> None:
        conn = connect(Path(pg_url), readonly=False)
        try:
            start.wait()
            for _ in range(5):
                got[n] = leases.renew_roles(conn, n, {"webhooks", "anchor"}, ttl=30.0)
        except Exception as err:
            errors.append(f"{n}: {err}")
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    conn = connect(Path(pg_url))
    try:
        holders = {r.role: r.holder for r in leases.roles(conn)}
    finally:
        conn.close()
    assert set(holders) == {"webhooks", "anchor"} and None not in holders.values()
    for n in names:
        assert got[n] == {r for r, h in holders.items() if h == n}


def test_an_entry_every_live_account_blocked_waits_instead_of_bouncing(pg_url: str) -> None:
    """Account 2 hands an entry over (its resolve FloodWait), account 1 takes it
    and, parked too, hands it over as well: the entry is blocked for both, so
    neither takes it back while its block lasts (it used to go back to 2, whose
    block the second hand-over overwrote, and so on every round); it waits,
    free, and ``leases`` says until when (the first block to end). A third
    account, not blocked, takes it; once 1's block ends, 1 may take it again."""
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    entries = {"username:bounce": "poll"}
    key = "username:bounce"
    try:
        a, b = _daemon(conn, "a", 1), _daemon(conn, "b", 2)
        assert leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500) == {key}
        assert leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500) == set()
        # b parked for 60 s: handed over, a takes it.
        held = leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500, hand_over={key: 60.0})
        assert held == set()
        assert leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500) == {key}
        # a parked for 2 s: handed over; b's block is still on.
        held = leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500, hand_over={key: 2.0})
        assert held == set()
        for _ in range(3):  # rounds of both: nobody takes it
            assert leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500) == set()
            assert leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500) == set()
        (lease,) = leases.leases(conn, 30.0)
        now = leases.server_time(conn)
        assert lease.holder is None
        assert lease.blocked_until is not None and now < lease.blocked_until <= now + 2.0
        # A third account, not parked, takes it at once.
        c = _daemon(conn, "c", 3)
        assert leases.renew(conn, c, 3, entries, ttl=30.0, max_joined=500) == {key}
        assert leases.leases(conn, 30.0)[0].blocked_until is None  # held, not waiting
        leases.release(conn, c)
        assert leases.leases(conn, 30.0)[0].blocked_until is not None  # waits again
        time.sleep(2.2)  # a's block ends, b's does not
        assert leases.renew(conn, b, 2, entries, ttl=30.0, max_joined=500) == set()
        assert leases.renew(conn, a, 1, entries, ttl=30.0, max_joined=500) == {key}
    finally:
        conn.close()
