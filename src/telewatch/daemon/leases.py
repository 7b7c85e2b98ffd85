"""The daemon's side of channel leases (store/leases.py, docs/SCALE.md).

On a PostgreSQL archive several ``telewatch run`` processes, each with its
own account, share the watch list: a ``LeaseKeeper`` registers this run,
renews its leases every ``[daemon] lease_renew`` seconds and tells the
supervisor which entries it holds (``held``); the supervisor runs workers
for those only. A worker whose entry another daemon took over (this one
was cut off past ``lease_ttl``) is stopped at the next round. A clean stop
frees the leases at once (``release``).

It also keeps the account's own access hashes (``own_hash``, ``learn``):
a channel another account resolved is resolved again by this account
(within its own resolve budget) unless this account already has a hash.

Every call into the archive runs on a daemon thread of its own and is
bounded (``round_timeout``): a round that hangs (a lock held elsewhere, a
server that stopped answering) counts as a failed round, so the held set is
given up after ``lease_ttl`` as for any failure. A connection serves one
call at a time: the hung call keeps its own, and the next round opens a
fresh one (the stale one is closed when its thread returns). At most
``MAX_HUNG`` calls may hang at once (``hung``, the daemon's
``lease_calls_hung`` counter in ``telewatch status``); past that a round
fails at once without opening another connection. The thread never holds
up the process's exit.

An account whose username resolution is parked longer than ``[daemon]
handover_after`` hands the channels it cannot resolve over (``hand_over``):
the next round frees them, blocked for this account until its wait ends, and
the other daemons take them; channels it has hashes for keep working.

Pool-wide roles (``roles_wanted``: the webhook sender, the anchor loop) are
leases too: ``roles`` says which this daemon holds now; the supervisor runs
each role's task only while it does, so a shared archive has one webhook
sender and one anchor loop, and another daemon takes a role over within
about ``lease_ttl`` of its holder's death.

On SQLite there is no keeper: one daemon archives every channel and runs
every role.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from telewatch.config import DaemonSettings
from telewatch.store import leases, watchlist
from telewatch.store.db import Connection, connect

log = logging.getLogger("telewatch.daemon")

T = TypeVar("T")

START_ROUND = 1.0
"""Seconds between lease rounds while the pool spreads after a start (``run``)."""

MAX_HUNG = 2
"""Lease calls that may still wait for the archive on their own thread (and
connection) while a new one starts; past that, a round fails at once."""


class _Call:
    """One call into the archive: the connection it uses (None until its
    thread opens one) and whether its caller gave up on it (``abandoned``:
    the thread closes the connection when it returns) or got its answer."""

    __slots__ = ("abandoned", "conn", "finished")

    def __init__(self, conn: Connection | None) -> None:
        self.conn = conn
        self.abandoned = False
        self.finished = False


class LeaseKeeper:
    """This run's row in ``daemons`` and its leases (see the module doc)."""

    def __init__(
        self,
        db: Path,
        settings: DaemonSettings,
        *,
        account_id: int,
        account: str,
        max_joined: int,
        roles_wanted: frozenset[str] = frozenset(),
    ) -> None:
        self.db = db
        self.settings = settings
        self.account_id = account_id
        self.account = account
        self.max_joined = max_joined
        self.id = str(uuid.uuid4())
        self.held: set[str] = set()
        self.roles_wanted = roles_wanted
        self.roles: set[str] = set()
        self.roles_changed = asyncio.Event()
        # Entries to hand over at the next round: key → wall-clock end of the
        # resolve FloodWait that keeps this account from resolving them.
        self._handing: dict[str, float] = {}
        # When the last lease round succeeded (monotonic): past lease_ttl
        # without one, the leases may be another daemon's already.
        self._renewed = time.monotonic()
        self.changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._hashes: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        # The connection no call is using (the next call takes it), and the
        # calls whose caller gave up while their thread still waits.
        self._idle: Connection | None = None
        self._hung: set[_Call] = set()
        self._lock = threading.Lock()  # _idle, _hung and each _Call's flags
        self.lost: str | None = None  # why the account can no longer be used

    @property
    def round_timeout(self) -> float:
        """Seconds one call into the archive may take: half of ``lease_ttl``
        (at least 1 s). Generous on purpose: a slow round that is counted as
        failed still renews in the archive, and on a loaded machine rounds
        beyond ``lease_renew`` are common."""
        return max(1.0, self.settings.lease_ttl / 2)

    @property
    def hung(self) -> int:
        """Lease calls given up on whose thread still waits for the archive."""
        with self._lock:
            return len(self._hung)

    async def _in_thread(
        self,
        fn: Callable[..., T],
        *args: object,
        timeout: float | None = None,
        wait_hung: bool = False,
    ) -> T:
        """``fn(conn, *args)`` on a daemon thread, awaited for at most
        ``timeout`` (default ``round_timeout``) seconds: TimeoutError past
        that (the thread goes on, on its own connection, which it closes when
        it returns). ``conn``: the idle connection, or a fresh one while an
        earlier call still holds its own. With MAX_HUNG calls hanging:
        TimeoutError at once, or with ``wait_hung`` (the release at a stop)
        after waiting for them within the same bound."""
        bound = self.round_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound
        while wait_hung and self.hung and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        with self._lock:
            if len(self._hung) >= MAX_HUNG:
                raise TimeoutError(
                    f"{len(self._hung)} earlier lease calls are still waiting for the archive"
                )
            call = _Call(self._idle)
            self._idle = None
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()

        def deliver(ok: bool, value: object) -> None:
            if fut.done():
                return  # timed out or cancelled meanwhile
            if ok:
                fut.set_result(value)  # type: ignore[arg-type]
            else:
                fut.set_exception(value)  # type: ignore[arg-type]

        def work() -> None:
            value: object
            try:
                if call.conn is None:
                    call.conn = connect(self.db, readonly=False)
                value, ok = fn(call.conn, *args), True
            except BaseException as err:  # delivered to the awaiting task
                value, ok = err, False
            with self._lock:
                call.finished = True
                keep = ok and not call.abandoned and self._idle is None
                if keep:  # ready for the next call (which may start at once)
                    self._idle = call.conn
                self._hung.discard(call)
            if not keep and call.conn is not None:
                # Given up on, failed (the connection may be broken) or
                # another one is idle already: closed, never used again.
                with contextlib.suppress(Exception):
                    call.conn.close()
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(deliver, ok, value)

        threading.Thread(target=work, name="telewatch-leases", daemon=True).start()
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                return await fut
        except BaseException as err:  # timed out or cancelled: the thread goes on
            with self._lock:
                if not call.finished:
                    call.abandoned = True
                    self._hung.add(call)
            if isinstance(err, TimeoutError):
                raise TimeoutError(
                    f"the archive did not answer a lease call within {bound:g} s"
                ) from None
            raise

    def _close_idle(self) -> None:
        with self._lock:
            conn, self._idle = self._idle, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # -- in the lease thread (on the connection of its call) ------------------

    def _register(self, conn: Connection) -> None:
        leases.register(
            conn,
            self.id,
            host=socket.gethostname(),
            account_id=self.account_id,
            account=self.account,
            pid=os.getpid(),
            max_joined=self.max_joined,
        )
        self._hashes.update(leases.own_hashes(conn, self.account_id))

    def _round(
        self, conn: Connection, pending: dict[int, int], handing: dict[str, float]
    ) -> tuple[set[str], set[str]]:
        leases.learn_hashes(conn, self.account_id, pending.items())
        if self.lost is not None:
            # Counted as stopped, holding nothing: the others' shares grow.
            leases.release(conn, self.id)
            return set(), set()
        entries = {e.key: e.mode for e in watchlist.active_entries(conn)}
        now = time.time()
        hand_over = {k: until - now for k, until in handing.items()}
        try:
            held = leases.renew(
                conn,
                self.id,
                self.account_id,
                entries,
                ttl=self.settings.lease_ttl,
                max_joined=self.max_joined,
                hand_over=hand_over,
            )
        except LookupError:
            self._register(conn)
            held = leases.renew(
                conn,
                self.id,
                self.account_id,
                entries,
                ttl=self.settings.lease_ttl,
                max_joined=self.max_joined,
                hand_over=hand_over,
            )
        roles = leases.renew_roles(conn, self.id, self.roles_wanted, ttl=self.settings.lease_ttl)
        return held, roles

    def _release(self, conn: Connection, pending: dict[int, int]) -> int:
        leases.learn_hashes(conn, self.account_id, pending.items())
        return leases.release(conn, self.id)

    # -- on the event loop --------------------------------------------------

    async def start(self) -> None:
        """Register and take the first share."""
        await self._in_thread(self._register)
        await self.step()
        log.info(
            "leases taken",
            extra={"daemon": self.id, "account_id": self.account_id, "channels": len(self.held)},
        )

    async def step(self) -> None:
        """One lease round; ``changed`` is set when the held set changed. A
        failure (the server unreachable for a moment) is logged and the held
        set kept while the leases outlive it (``lease_ttl``); after that this
        daemon gives its channels up, since another daemon may hold them now."""
        pending, self._pending = self._pending, {}
        handing, self._handing = self._handing, {}
        t0 = time.monotonic()  # the server's expiry counts from about now
        self._roles_overdue(t0)
        timeout = None
        if self.roles:  # a role must be given up before its lease can expire
            timeout = min(self.round_timeout, max(0.5, self._role_deadline() - t0))
        try:
            held, roles = await self._in_thread(self._round, pending, handing, timeout=timeout)
        except Exception as err:
            for cid, h in pending.items():  # stored at the next round
                self._pending.setdefault(cid, h)
            for key, until in handing.items():
                self._handing.setdefault(key, until)
            log.warning("lease renewal failed; retrying", extra={"error": str(err)})
            self._roles_overdue(time.monotonic())
            if (self.held or self.roles) and (
                time.monotonic() - self._renewed > self.settings.lease_ttl
            ):
                log.warning(
                    "leases expired without renewal; giving the channels up",
                    extra={"given_up": sorted(self.held), "roles": sorted(self.roles)},
                )
                self.held = set()
                self.changed.set()
                self._set_roles(set())
            return
        self._renewed = t0
        if handing:
            log.warning(
                "channels handed over: this account cannot resolve them before its FloodWait ends",
                extra={"handed_over": sorted(handing)},
            )
        self._set_roles(roles)
        if held != self.held:
            gained, lost = held - self.held, self.held - held
            self.held = held
            log.info(
                "leases changed",
                extra={"held": len(held), "taken": sorted(gained), "given_up": sorted(lost)},
            )
            self.changed.set()

    def _role_deadline(self) -> float:
        """When this daemon must have given its roles up (monotonic): a
        ``lease_renew`` before the last renewed role lease can expire, so
        that the next holder never runs beside it."""
        return self._renewed + self.settings.lease_ttl - self.settings.lease_renew

    def _roles_overdue(self, now: float) -> None:
        if self.roles and now >= self._role_deadline():
            log.warning(
                "role leases not renewed in time; giving the roles up",
                extra={"roles": sorted(self.roles)},
            )
            self._set_roles(set())

    def set_roles_wanted(self, wanted: frozenset[str]) -> None:
        """The roles this daemon asks for changed (a reload): the next round,
        at once, takes or frees them."""
        if wanted != self.roles_wanted:
            self.roles_wanted = wanted
            self._wake.set()

    def _set_roles(self, roles: set[str]) -> None:
        if roles != self.roles:
            log.info(
                "pool roles changed",
                extra={"roles": sorted(roles), "taken": sorted(roles - self.roles)},
            )
            self.roles = roles
            self.roles_changed.set()

    def hand_over(self, key: str, until: float) -> bool:
        """This account cannot resolve ``key``'s username before ``until``
        (wall clock, the end of its resolve FloodWait): the next round frees
        the entry for the other daemons and keeps this account from taking
        it back before then. True the first time for this lease."""
        if key in self.held and key not in self._handing:
            self._handing[key] = until
            self._wake.set()
            return True
        return False

    async def run(self) -> None:
        """Renew every ``lease_renew`` seconds until cancelled; sooner
        (``START_ROUND``) while the pool is still spreading after this
        daemon's start (see ``_settling``)."""
        started = time.monotonic()
        before: set[str] = set()  # what it held before ``start``'s round
        while True:
            fast = self._settling(before, started)
            before = set(self.held)
            wait = (
                min(START_ROUND, self.settings.lease_renew) if fast else self.settings.lease_renew
            )
            # A hand-over wakes the round early (the others take over sooner).
            # asyncio.timeout, not wait_for: daemon/tasks.py (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            await self.step()

    def _settling(self, before: set[str], started: float) -> bool:
        """Whether the next round comes after ``START_ROUND`` instead of
        ``lease_renew``: within ``lease_ttl`` of the start, while the last
        round changed the held set or this daemon holds nothing. Daemons of
        a pool started together register a moment apart: the first takes the
        whole watch list (it is alone), the others nothing, and each step of
        the even spread (give back, take) waited a full ``lease_renew`` (the
        2,000-channel pool bench: 26 s until five daemons held their shares,
        bench/bench_pool.py)."""
        if time.monotonic() - started > self.settings.lease_ttl:
            return False
        return self.held != before or not self.held

    async def release(self) -> None:
        """Free every lease now (a clean stop)."""
        try:
            pending, self._pending = self._pending, {}
            n = await self._in_thread(self._release, pending, wait_hung=True)
        except Exception as err:
            log.warning("cannot release leases", extra={"error": str(err)})
            return
        finally:
            self._close_idle()
        self.held = set()
        self._set_roles(set())
        log.info("leases released", extra={"channels": n})

    def account_lost(self, why: str) -> None:
        """The account answers 401 (banned, logged out): give every lease up
        at the next round and take none; the daemon keeps running and its
        status says why (`telewatch login` and a restart bring it back)."""
        if self.lost is None:
            self.lost = why
            log.error(
                "account unusable; its channels are left to the other daemons",
                extra={"error": why, "account_id": self.account_id},
            )
            self.changed.set()

    # -- access hashes ------------------------------------------------------

    def own_hash(self, channel_id: int) -> int | None:
        """This account's own access hash of the channel, if it has one."""
        return self._hashes.get(channel_id)

    def learn(self, channel_id: int, access_hash: int | None) -> None:
        """Remember a hash this account got from Telegram (stored at the next round)."""
        if access_hash is None or self._hashes.get(channel_id) == access_hash:
            return
        self._hashes[channel_id] = access_hash
        self._pending[channel_id] = access_hash
