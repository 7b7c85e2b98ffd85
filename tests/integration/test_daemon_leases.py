"""Must show (issue 13): three daemons, three emulator accounts, one PostgreSQL
archive, 30 channels (9 join, 21 poll) where no account may join more than 12.
The daemons split the watch list through leases; all is archived equal to the
truth; kill -9 one daemon while posts keep coming: its channels move to the
other two, which start from the archive's own sync state; the archive still
equals the truth (nothing lost, nothing duplicated) and ``verify`` passes."""

from __future__ import annotations

import itertools
import json
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from telewatch.daemon.supervisor import (
    ROLE_HANDOFF_FAILURES,
    ROLE_REST_TTLS,
    ROLE_RESTART_DELAY,
)
from telewatch.daemon.webhooks import idempotency_key
from telewatch.emulator import Emulator, EmulatorThread, RateModel
from telewatch.emulator.world import SELF_USER_ID
from telewatch.store import watchlist
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.store.webhooks import OutboxHit
from tests.fixtures.daemon import RATE_SCALE, TELEWATCH, delete_if_live, edit_if_live
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.tsa import LocalTSA
from tests.integration.test_daemon_postgres import PgWorld

BASE = 1500001300
N = 30
HISTORY = 30
ACCOUNTS = 3
MAX_JOINED = 12
LEASE_TTL = 10.0  # the test's; the default (30 s) is measured the same way
JOINS = {i for i in range(N) if i % 10 < 3}  # 9 join-mode channels


def _name(i: int) -> str:
    return f"lease_chan_{i:02d}"


@pytest.fixture
def pool(tmp_path: Path, pg_cluster: PostgresCluster) -> Iterator[list[PgWorld]]:
    """One emulator with three accounts (CHANNELS_TOO_MUCH past 12 joined each),
    one PostgreSQL archive, a world (session, config, log) per account."""
    url = pg_cluster.create_database("leases")
    with EmulatorThread(
        rate=RateModel(scale=RATE_SCALE), accounts=ACCOUNTS, max_joined=MAX_JOINED
    ) as et:
        worlds = []
        for k in range(1, ACCOUNTS + 1):
            w = PgWorld(emu=et, root=tmp_path / f"acct{k}")
            w.url = url
            w.root.mkdir()
            et.write_session(w.session, account=k)
            worlds.append(w)
        try:
            yield worlds
        finally:
            for w in worlds:
                w.close()


def _setup(emu: Emulator) -> None:
    for i in range(N):
        emu.add_channel(BASE + i, _name(i), f"Lease {i}")
        for k in range(HISTORY):
            emu.post(BASE + i, f"history {i}/{k}", push=False)


class Traffic:
    """Posts, edits and deletions into random channels from a thread, until stopped."""

    def __init__(self, w: PgWorld) -> None:
        self.w = w
        self.stop = threading.Event()
        self.rng = random.Random(13)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            cid = BASE + self.rng.randrange(N)
            roll = self.rng.random()
            if roll < 0.8:
                self.w.emu.call(lambda emu, c=cid: emu.post(c, f"live {time.time()}"))
            elif roll < 0.9:
                mid = self.rng.randint(1, HISTORY)
                self.w.emu.call(
                    lambda emu, c=cid, m=mid: edit_if_live(emu, c, m, f"edit {m} {time.time()}")
                )
            else:
                mid = self.rng.randint(1, HISTORY)
                self.w.emu.call(lambda emu, c=cid, m=mid: delete_if_live(emu, c, m))
            self.stop.wait(0.2)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _holders(w: PgWorld) -> dict[str, int]:
    """Watch-list key → pid of the daemon holding its unexpired lease."""
    return {
        str(k): int(p)
        for k, p in w.query(
            "SELECT l.key, d.pid FROM channel_leases l JOIN daemons d ON d.id = l.holder"
            " WHERE l.expires >= extract(epoch FROM clock_timestamp())"
        )
    }


def _status(w: PgWorld) -> dict[str, object]:
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_three_daemons_share_the_archive_and_take_over_a_killed_one(
    pool: list[PgWorld],
) -> None:
    """See the module doc."""
    takeover, moved = scenario(pool, lease_ttl=LEASE_TTL, lease_renew=1.0)
    print(f"takeover of {moved} channels after kill -9: {takeover:.1f} s")
    assert takeover < LEASE_TTL + 50  # generous: a loaded machine


def scenario(
    pool: list[PgWorld],
    *,
    lease_ttl: float,
    lease_renew: float,
    sig: signal.Signals = signal.SIGKILL,
) -> tuple[float, int]:
    """The module doc's run (asserting each step) on three worlds sharing one
    archive; returns (seconds from the kill -9 (or ``sig``) until every
    channel the stopped daemon held is worked and archived by another, how
    many it held). Also run by ``python -m bench leases:takeover`` with the
    default lease times."""
    first = pool[0]
    first.emu.call(_setup)
    channels = [{"username": _name(i), "mode": "join" if i in JOINS else "poll"} for i in range(N)]
    for w in pool:
        w.write_config(
            channels,
            telegram={"max_joined": MAX_JOINED},
            lease_ttl=lease_ttl,
            lease_renew=lease_renew,
            sweep_rate=0,
        )
    procs = [w.start() for w in pool]
    for w, p in zip(pool, procs, strict=True):
        w.wait_running(p, timeout=60)
    pids = {p.pid for p in procs}

    def spread() -> bool:
        held = _holders(first)
        per = [sum(1 for p in held.values() if p == pid) for pid in pids]
        return len(held) == N and set(held.values()) == pids and max(per) - min(per) <= 1

    first.wait_for(spread, 120, "30 channels spread over three daemons")
    with Traffic(first):
        problems = first.settle(180)
        assert problems == [], problems[:20]
        # Each account joined its own share, never more than the limit.
        joined = first.emu.call(
            lambda emu: [
                sum(emu.joined(BASE + i, account=k) for i in range(N))
                for k in range(1, ACCOUNTS + 1)
            ]
        )
        assert all(0 < j <= MAX_JOINED for j in joined), joined
        status = _status(first)
        daemons = status["daemons"]
        assert isinstance(daemons, list)
        live = [d for d in daemons if d["running"]]
        assert sorted(d["pid"] for d in live) == sorted(pids)
        assert sum(d["channels_held"] for d in live) == N
        assert len({d["account_id"] for d in live}) == ACCOUNTS
        chans = status["channels"]
        assert isinstance(chans, list)
        assert all(c["held_by"] is not None for c in chans)

        victim = procs[1]
        lost = sorted(k for k, p in _holders(first).items() if p == victim.pid)
        assert lost
        victim.send_signal(sig)
        victim.wait(30)
        t0 = time.monotonic()
        # A marker post in every channel the victim held: archived again once
        # another daemon works it.
        markers = {}
        for key in lost:
            i = int(key.rsplit("_", 1)[1])
            markers[key] = first.emu.call(lambda emu, i=i: emu.post(BASE + i, f"after kill {i}"))

        def taken_over() -> bool:
            held = _holders(first)
            if any(held.get(k) in (None, victim.pid) for k in lost):
                return False
            for key, mid in markers.items():
                i = int(key.rsplit("_", 1)[1])
                got = first.query(
                    "SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?", BASE + i, mid
                )
                if not got:
                    return False
            return True

        first.wait_for(
            taken_over, lease_ttl + 120, "the killed daemon's channels archived by the others"
        )
        takeover = time.monotonic() - t0
        time.sleep(3)  # traffic keeps coming during and after the takeover
    survivors = [p for p in procs if p is not victim]
    problems = first.settle(180)
    assert problems == [], problems[:20]
    held = _holders(first)
    assert set(held.values()) == {p.pid for p in survivors} and len(held) == N
    for w, p in zip(pool, procs, strict=True):
        if p is not victim:
            assert w.stop(p, timeout=30) == 0
    # A clean stop frees the leases at once.
    assert _holders(first) == {}
    conn = connect(Path(first.url))
    try:
        res = verify(conn)
        assert res.ok, res.problem
        assert res.versions >= N * HISTORY
    finally:
        conn.close()
    return takeover, len(lost)


def test_a_banned_account_leaves_its_channels_to_the_others(pool: list[PgWorld]) -> None:
    """Two daemons share 6 channels; account 2 is banned mid-run (every call
    401 USER_DEACTIVATED_BAN): its daemon gives its leases up at once (no
    waiting for them to expire) and the other daemon archives every channel,
    equal to the truth."""
    one, two = pool[0], pool[1]
    one.emu.call(_setup)
    channels = [{"username": _name(i), "mode": "join" if i < 2 else "poll"} for i in range(6)]
    for w in (one, two):
        w.write_config(
            channels, lease_ttl=120.0, lease_renew=1.0, sweep_rate=0, reconcile_interval=2.0
        )
    procs = [w.start() for w in (one, two)]
    for w, p in zip((one, two), procs, strict=True):
        w.wait_running(p, timeout=60)

    def split() -> bool:
        held = _holders(one)
        return len(held) == 6 and set(held.values()) == {p.pid for p in procs}

    one.wait_for(split, 120, "6 channels split over two daemons")
    lost = sorted(k for k, p in _holders(one).items() if p == procs[1].pid)
    one.emu.call(lambda emu: emu.ban(2))
    markers = {}
    for key in lost:
        i = int(key.rsplit("_", 1)[1])
        markers[key] = one.emu.call(lambda emu, i=i: emu.post(BASE + i, f"after ban {i}"))

    def moved() -> bool:
        held = _holders(one)
        return len(held) == 6 and set(held.values()) == {procs[0].pid}

    # Far sooner than lease_ttl (120 s): the banned daemon gave them up.
    one.wait_for(moved, 60, "the banned account's channels taken by the other daemon")
    truth = {(BASE + int(k.rsplit("_", 1)[1]), m) for k, m in markers.items()}
    one.wait_for(
        lambda: all(
            one.query("SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?", c, m)
            for c, m in truth
        ),
        60,
        "the posts made after the ban archived",
    )

    def problems() -> list[str]:  # the 6 watched channels only
        return [p for p in one.archive_matches_truth() if int(p.split("/")[0]) < BASE + 6]

    one.wait_for(lambda: problems() == [], 90, "the 6 channels equal to the truth")
    for w, p in zip((one, two), procs, strict=True):
        assert w.stop(p, timeout=30) == 0


HOLD = 60.0  # account 2's resolve FloodWait (Telegram's are hours; scaled down)
RESOLVE = "contacts.ResolveUsername"


def test_a_resolve_flood_wait_hands_the_unresolved_channels_over(pool: list[PgWorld]) -> None:
    """Three daemons share 6 channels (2 each). Telegram then parks account 2's
    username resolution for HOLD s (every ResolveUsername answers FLOOD_WAIT with
    the time left) and 6 channels are added: account 2 hands the ones it cannot
    resolve over at once (handover_after 3 s), the other two daemons archive them
    within a bounded time, account 2 keeps archiving the channels it has hashes
    for, never takes the handed ones back while blocked and learns no hash for
    them; after the wait it takes its share again. Equal to the truth, verify."""
    first = pool[0]
    first.emu.call(_setup)
    old = [{"username": _name(i), "mode": "poll"} for i in range(6)]
    for w in pool:
        w.write_config(old, lease_ttl=10.0, lease_renew=1.0, sweep_rate=0, handover_after=3.0)
    procs = [w.start() for w in pool]
    for w, p in zip(pool, procs, strict=True):
        w.wait_running(p, timeout=60)
    pids = [p.pid for p in procs]

    def spread(n: int) -> bool:
        held = _holders(first)
        per = [sum(1 for p in held.values() if p == pid) for pid in pids]
        return len(held) == n and min(per) >= n // 3 and max(per) - min(per) <= 1

    def problems(n: int) -> list[str]:  # the first n (watched) channels only
        return [p for p in first.archive_matches_truth() if int(p.split("/")[0]) < BASE + n]

    first.wait_for(lambda: spread(6), 120, "6 channels spread over three daemons")
    first.wait_for(lambda: problems(6) == [], 120, "the 6 channels equal to the truth")
    flooded = pids[1]
    kept = sorted(k for k, p in _holders(first).items() if p == flooded)
    first.emu.call(lambda emu: emu.hold_flood(RESOLVE, HOLD, account=2))
    t0 = time.monotonic()
    # Added at once (what `telewatch channels add` writes; six CLI runs take
    # longer than the wait on a loaded machine).
    conn = connect(Path(first.url), readonly=False)
    try:
        for i in range(6, 12):
            watchlist.add(conn, _name(i), None, "poll")
    finally:
        conn.close()
    new = {f"username:{_name(i)}": BASE + i for i in range(6, 12)}
    # Posts in account 2's own channels during its wait: it still archives them.
    markers = {}
    for key in kept:
        i = int(key.rsplit("_", 1)[1])
        markers[key] = first.emu.call(lambda emu, i=i: emu.post(BASE + i, f"during flood {i}"))

    def new_archived() -> bool:
        held = _holders(first)
        if any(held.get(k) in (None, flooded) for k in new):
            return False
        for cid in new.values():
            n = first.query("SELECT count(*) FROM posts WHERE channel_id = ?", cid)
            if not n or n[0][0] < HISTORY:
                return False
        return all(
            first.query(
                "SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?",
                BASE + int(k.rsplit("_", 1)[1]),
                m,
            )
            for k, m in markers.items()
        )

    first.wait_for(new_archived, HOLD - 10, "the new channels archived by the unflooded daemons")
    took = time.monotonic() - t0
    print(f"new channels archived by the others {took:.1f} s after the resolve flood")
    held = _holders(first)
    assert all(held.get(k) == flooded for k in kept)  # its own channels kept
    blocked = first.query(
        "SELECT key FROM channel_blocks WHERE account_id = ?"
        " AND until > extract(epoch FROM clock_timestamp())",
        SELF_USER_ID + 1,
    )
    assert {str(r[0]) for r in blocked} and {str(r[0]) for r in blocked} <= set(new)
    own = {
        int(r[0])
        for r in first.query(
            "SELECT channel_id FROM account_channels WHERE account_id = ?", SELF_USER_ID + 1
        )
    }
    assert own.isdisjoint(new.values())  # it resolved none of them
    # After the wait: account 2 takes its share (4 of 12) again.
    first.wait_for(lambda: spread(12), HOLD + 90, "12 channels spread over three daemons again")
    assert sum(1 for p in _holders(first).values() if p == flooded) == 4
    first.wait_for(lambda: problems(12) == [], 180, "the 12 channels equal to the truth")
    for w, p in zip(pool, procs, strict=True):
        assert w.stop(p, timeout=30) == 0
    conn = connect(Path(first.url))
    try:
        res = verify(conn)
        assert res.ok, res.problem
    finally:
        conn.close()


class Hook:
    """A webhook receiver on 127.0.0.1 that accepts every POST (200) and
    counts the deliveries of each idempotency key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    hook.accepted[body["idempotency_key"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _role_holders(w: PgWorld) -> dict[str, int]:
    """Role → pid of the daemon holding it (unexpired)."""
    return {
        str(r): int(p)
        for r, p in w.query(
            "SELECT r.role, d.pid FROM daemon_roles r JOIN daemons d ON d.id = r.holder"
            " WHERE r.expires >= extract(epoch FROM clock_timestamp())"
        )
    }


def _expected_keys(w: PgWorld) -> set[str]:
    return {
        idempotency_key(OutboxHit(0, r, k, c, m, None, None, "", "", 0, None))
        for r, k, c, m in w.query("SELECT rule, kind, channel_id, message_id FROM alert_hits")
    }


def _anchored(w: PgWorld) -> int:
    """How many anchors this world's daemon log says it stored."""
    log = w.root / "daemon.log"
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if '"msg": "anchored"' in line)


def test_one_webhook_sender_and_one_anchor_loop_per_shared_archive(
    pool: list[PgWorld], tsa: LocalTSA
) -> None:
    """Three daemons with the same alert webhook and time-stamping authority on
    one archive: each role has one holder, every hit reaches the real receiver
    exactly once, only the holder's log shows anchors and no head is stamped
    twice; after kill -9 of the webhook sender's daemon another daemon takes
    the role within about lease_ttl and delivers the rest (at most the request
    in flight at the kill repeats)."""
    first = pool[0]
    hook = Hook()
    try:

        def setup(emu: Emulator) -> None:
            for i in range(6):
                emu.add_channel(BASE + i, _name(i), f"Lease {i}")
                for k in range(10):
                    text = f"history {i}/{k}" + (" alarm" if k % 3 == 0 else "")
                    emu.post(BASE + i, text, push=False)

        first.emu.call(setup)
        channels = [{"username": _name(i), "mode": "poll"} for i in range(6)]
        for w in pool:
            w.write_config(channels, lease_ttl=LEASE_TTL, lease_renew=1.0, sweep_rate=0)
            with w.config.open("a") as fh:
                fh.write(
                    "[webhooks]\ntimeout = 3.0\nbackoff = 0.05\nbackoff_max = 0.2\n"
                    f'[evidence]\ntsa = ["{tsa.url}"]\ntsa_roots = ["{tsa.authority.ca}"]\n'
                    "anchor_interval = 1.0\n"
                    f'[[alerts]]\nname = "alarm"\nkeywords = ["alarm"]\nwebhooks = ["{hook.url}"]\n'
                )
        procs = [w.start() for w in pool]
        for w, p in zip(pool, procs, strict=True):
            w.wait_running(p, timeout=60)
        by_pid = {p.pid: (w, p) for w, p in zip(pool, procs, strict=True)}
        first.wait_for(
            lambda: set(_role_holders(first)) == {"webhooks", "anchor"}, 60, "both roles held"
        )
        for k in range(6):
            first.emu.call(lambda emu, k=k: emu.post(BASE + k, f"live {k} alarm"))
        first.wait_for(
            lambda: (
                len(_expected_keys(first)) == 6 * 4 + 6
                and set(hook.accepted) == _expected_keys(first)
            ),
            90,
            "every hit delivered",
        )
        assert set(hook.accepted.values()) == {1}  # once each, not once per daemon
        holder = _role_holders(first)
        first.wait_for(lambda: _anchored(by_pid[holder["anchor"]][0]) >= 1, 60, "an anchor")
        assert [pid for pid in by_pid if _anchored(by_pid[pid][0])] == [holder["anchor"]]

        victim_w, victim = by_pid[holder["webhooks"]]
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        t0 = time.monotonic()
        # Anchors so far; the posts below grow the chain, so whoever runs the
        # anchor loop after the kill must stamp again.
        anchored_at_kill = {pid: _anchored(w) for pid, (w, _) in by_pid.items()}
        for k in range(6):
            first.emu.call(lambda emu, k=k: emu.post(BASE + k, f"after kill {k} alarm"))

        def moved() -> bool:
            now = _role_holders(first)
            return set(now) == {"webhooks", "anchor"} and victim.pid not in now.values()

        first.wait_for(moved, LEASE_TTL + 60, "the roles taken by another daemon")
        took = time.monotonic() - t0
        print(f"roles taken over {took:.1f} s after kill -9 (lease_ttl {LEASE_TTL:g} s)")
        first.wait_for(
            lambda: (
                len(_expected_keys(first)) == 6 * 4 + 12
                and set(hook.accepted) == _expected_keys(first)
            ),
            LEASE_TTL + 90,
            "the hits after the kill delivered by another daemon",
        )
        assert sum(n - 1 for n in hook.accepted.values()) <= 1
        anchor_pid = _role_holders(first)["anchor"]
        assert anchor_pid != victim.pid
        first.wait_for(
            lambda: _anchored(by_pid[anchor_pid][0]) > anchored_at_kill[anchor_pid],
            60,
            "an anchor after the kill",
        )
        seqs = [int(r[0]) for r in first.query("SELECT seq FROM anchors")]
        assert len(seqs) == len(set(seqs))  # no head stamped twice
        for w, p in by_pid.values():
            if p is not victim:
                assert w.stop(p, timeout=30) == 0
        assert victim_w.root.exists()
        conn = connect(Path(first.url))
        try:
            res = verify(conn)
            assert res.ok, res.problem
        finally:
            conn.close()
    finally:
        hook.close()


def _role_config(
    w: PgWorld, channels: list[dict[str, object]], extra: str, **daemon: float
) -> None:
    w.write_config(channels, sweep_rate=0, **daemon)
    with w.config.open("a") as fh:
        fh.write(extra)


def _log_lines(w: PgWorld, msg: str) -> list[dict[str, object]]:
    log = w.root / "daemon.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if f'"msg": "{msg}"' in line:
            out.append(dict(json.loads(line)))
    return out


def test_a_reload_that_drops_the_webhooks_hands_the_role_to_another_daemon(
    pool: list[PgWorld],
) -> None:
    """Two daemons with the same alert webhook: one runs the sender. Its config
    loses the webhook (the alert stays) and it gets SIGHUP: it gives the role up
    at once and the other daemon takes it within a few lease rounds (far sooner
    than lease_ttl, which an expiry would take); every hit, before and after,
    reaches the receiver exactly once. The webhook back in its config, the first
    daemon asks for the role again but does not take it from the holder."""
    one, two = pool[0], pool[1]
    hook = Hook()
    try:

        def setup(emu: Emulator) -> None:
            for i in range(4):
                emu.add_channel(BASE + i, _name(i), f"Lease {i}")
                for k in range(6):
                    emu.post(BASE + i, f"history {i}/{k}" + (" alarm" if k % 3 == 0 else ""))

        one.emu.call(setup)
        channels: list[dict[str, object]] = [
            {"username": _name(i), "mode": "poll"} for i in range(4)
        ]
        alert = '[[alerts]]\nname = "alarm"\nkeywords = ["alarm"]\n'
        with_hook = (
            "[webhooks]\ntimeout = 3.0\nbackoff = 0.05\nbackoff_max = 0.2\n"
            + alert
            + f'webhooks = ["{hook.url}"]\n'
        )
        ttl = 60.0  # a role that moved within seconds was freed, not expired
        for w in (one, two):
            _role_config(w, channels, with_hook, lease_ttl=ttl, lease_renew=1.0)
        procs = [w.start() for w in (one, two)]
        for w, p in zip((one, two), procs, strict=True):
            w.wait_running(p, timeout=60)
        by_pid = {p.pid: (w, p) for w, p in zip((one, two), procs, strict=True)}
        one.wait_for(lambda: "webhooks" in _role_holders(one), 60, "the webhooks role held")
        holder_w, holder = by_pid[_role_holders(one)["webhooks"]]
        other = next(p for p in procs if p is not holder)
        one.wait_for(
            lambda: len(_expected_keys(one)) == 4 * 2 and set(hook.accepted) == _expected_keys(one),
            90,
            "the history's hits delivered",
        )
        _role_config(holder_w, channels, alert, lease_ttl=ttl, lease_renew=1.0)
        holder.send_signal(signal.SIGHUP)
        t0 = time.monotonic()
        one.wait_for(
            lambda: _role_holders(one).get("webhooks") == other.pid,
            30,
            "the webhooks role taken by the other daemon after the reload",
        )
        took = time.monotonic() - t0
        print(f"webhooks role moved {took:.1f} s after SIGHUP (lease_ttl {ttl:g} s)")
        assert took < ttl / 2
        assert _log_lines(holder_w, "pool role given up")
        for k in range(4):
            one.emu.call(lambda emu, k=k: emu.post(BASE + k, f"after reload {k} alarm"))
        one.wait_for(
            lambda: len(_expected_keys(one)) == 4 * 3 and set(hook.accepted) == _expected_keys(one),
            90,
            "the hits after the reload delivered by the other daemon",
        )
        assert set(hook.accepted.values()) == {1}, hook.accepted  # once each
        # The webhook back: asked for again, but the role has a live holder.
        _role_config(holder_w, channels, with_hook, lease_ttl=ttl, lease_renew=1.0)
        holder.send_signal(signal.SIGHUP)
        holder_w.wait_for(
            lambda: len(_log_lines(holder_w, "config reloaded")) >= 2, 30, "the second reload"
        )
        time.sleep(3)  # a few lease rounds
        assert _role_holders(one).get("webhooks") == other.pid
        for w, p in by_pid.values():
            assert w.stop(p, timeout=30) == 0
    finally:
        hook.close()


def test_a_failed_role_task_is_started_again_after_the_restart_delay(
    pool: list[PgWorld], tsa: LocalTSA
) -> None:
    """Two daemons that can anchor; the second's copy of the authority's root
    certificate is then removed and the anchor loop's daemon killed -9. The
    second takes the anchor role (after lease_ttl) and its anchor loop ends at
    once (the roots cannot be read): the role stays its own, the task is
    started again every ROLE_RESTART_DELAY (role_restarts in its heartbeat,
    one log line each), and once the file is back the next start anchors."""
    one, two = pool[0], pool[1]
    one.emu.call(_setup)
    channels: list[dict[str, object]] = [{"username": _name(i), "mode": "poll"} for i in range(3)]
    ttl = 6.0
    for w in (one, two):
        (w.root / "tsa-roots.pem").write_bytes(Path(tsa.authority.ca).read_bytes())
        _role_config(
            w,
            channels,
            f'[evidence]\ntsa = ["{tsa.url}"]\ntsa_roots = ["{w.root / "tsa-roots.pem"}"]\nanchor_interval = 1.0\n',
            lease_ttl=ttl,
            lease_renew=1.0,
        )
    procs = [w.start() for w in (one, two)]
    for w, p in zip((one, two), procs, strict=True):
        w.wait_running(p, timeout=60)
    one.wait_for(lambda: "anchor" in _role_holders(one), 60, "the anchor role held")
    by_pid = {p.pid: (w, p) for w, p in zip((one, two), procs, strict=True)}
    victim = by_pid[_role_holders(one)["anchor"]][1]
    rest_w, rest = next((w, p) for w, p in by_pid.values() if p is not victim)
    rest_roots = rest_w.root / "tsa-roots.pem"
    saved = rest_roots.read_bytes()
    rest_roots.unlink()
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    rest_w.wait_for(
        lambda: _role_holders(rest_w).get("anchor") == rest.pid, ttl + 60, "the anchor role moved"
    )

    def restarts() -> int:
        rows = rest_w.query("SELECT counters FROM daemon_runs WHERE pid = ?", rest.pid)
        return int(json.loads(rows[0][0]).get("role_restarts", 0)) if rows else 0

    rest_w.wait_for(lambda: restarts() >= 2, 60, "two restarts of the anchor loop")
    ended = [
        line for line in _log_lines(rest_w, "pool role task ended; starting it again")
        if line.get("role") == "anchor"
    ]  # fmt: skip
    assert len(ended) >= 2
    starts = [
        datetime.fromisoformat(str(line["ts"])).timestamp()
        for line in _log_lines(rest_w, "pool role taken")
        if line.get("role") == "anchor"
    ]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps and min(gaps) >= ROLE_RESTART_DELAY - 0.5, gaps  # not a busy loop
    assert _role_holders(rest_w).get("anchor") == rest.pid  # it kept the role meanwhile
    assert _anchored(rest_w) == 0
    rest_roots.write_bytes(saved)
    rest_w.emu.call(lambda emu: emu.post(BASE, "after the roots came back"))
    rest_w.wait_for(lambda: _anchored(rest_w) >= 1, ROLE_RESTART_DELAY + 60, "an anchor")
    assert rest_w.stop(rest, timeout=30) == 0


def test_an_anchor_loop_that_keeps_failing_leaves_the_role_to_another_daemon(
    pool: list[PgWorld], tsa: LocalTSA
) -> None:
    """The daemon holding the anchor role cannot reach its authority (its
    config names a port nobody listens on): after ROLE_HANDOFF_FAILURES rounds
    in a row without a stamp it stops asking for the role, makes no more
    attempts, and the other daemon, which reaches a real authority, takes the
    role and anchors the head."""
    one, two = pool[0], pool[1]
    one.emu.call(_setup)
    channels: list[dict[str, object]] = [{"username": _name(i), "mode": "poll"} for i in range(3)]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/tsa"  # closed when the block ends
    for w, url in ((one, dead), (two, tsa.url)):
        _role_config(
            w,
            channels,
            f'[evidence]\ntsa = ["{url}"]\ntsa_roots = ["{tsa.authority.ca}"]\n'
            "anchor_interval = 1.0\n",
            lease_ttl=6.0,
            lease_renew=1.0,
        )
    p1 = one.start()
    one.wait_running(p1, timeout=60)
    one.wait_for(lambda: _role_holders(one).get("anchor") == p1.pid, 60, "the anchor role held")
    p2 = two.start()
    two.wait_running(p2, timeout=60)
    two.wait_for(lambda: _role_holders(two).get("anchor") == p2.pid, 60, "the role moved")
    two.wait_for(lambda: _anchored(two) >= 1, 60, "an anchor by the daemon that can")
    left = _log_lines(one, "pool role left to the other daemons for a while")
    assert [line["role"] for line in left] == ["anchor"]
    assert float(str(left[0]["seconds"])) == ROLE_REST_TTLS * 6.0
    # No attempt after it left the role, and it never stamped anything.
    assert len(_log_lines(one, "anchor failed; retrying later")) == ROLE_HANDOFF_FAILURES
    assert _anchored(one) == 0
    rows = one.query("SELECT counters FROM daemon_runs WHERE pid = ?", p1.pid)
    assert json.loads(rows[0][0]).get("role_handoffs") == 1
    assert one.stop(p1, timeout=30) == 0
    assert two.stop(p2, timeout=30) == 0
