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

On SQLite there is no keeper: one daemon archives every channel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from pathlib import Path

from telewatch.config import DaemonSettings
from telewatch.store import leases, watchlist
from telewatch.store.db import Connection, connect

log = logging.getLogger("telewatch.daemon")

START_ROUND = 1.0
"""Seconds between lease rounds while the pool spreads after a start (``run``)."""


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
    ) -> None:
        self.db = db
        self.settings = settings
        self.account_id = account_id
        self.account = account
        self.max_joined = max_joined
        self.id = str(uuid.uuid4())
        self.held: set[str] = set()
        # When the last lease round succeeded (monotonic): past lease_ttl
        # without one, the leases may be another daemon's already.
        self._renewed = time.monotonic()
        self.changed = asyncio.Event()
        self._hashes: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        self._conn: Connection | None = None
        self.lost: str | None = None  # why the account can no longer be used

    # -- in the lease thread (one connection, used by one call at a time) --

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = connect(self.db, readonly=False)
        return self._conn

    def _register(self) -> None:
        conn = self._connection()
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

    def _round(self, pending: dict[int, int]) -> set[str]:
        conn = self._connection()
        leases.learn_hashes(conn, self.account_id, pending.items())
        if self.lost is not None:
            # Counted as stopped, holding nothing: the others' shares grow.
            leases.release(conn, self.id)
            return set()
        entries = {e.key: e.mode for e in watchlist.active_entries(conn)}
        try:
            return leases.renew(
                conn,
                self.id,
                self.account_id,
                entries,
                ttl=self.settings.lease_ttl,
                max_joined=self.max_joined,
            )
        except LookupError:
            self._register()
            return leases.renew(
                conn,
                self.id,
                self.account_id,
                entries,
                ttl=self.settings.lease_ttl,
                max_joined=self.max_joined,
            )

    def _release(self, pending: dict[int, int]) -> int:
        conn = self._connection()
        try:
            leases.learn_hashes(conn, self.account_id, pending.items())
            return leases.release(conn, self.id)
        finally:
            conn.close()
            self._conn = None

    # -- on the event loop --------------------------------------------------

    async def start(self) -> None:
        """Register and take the first share."""
        await asyncio.to_thread(self._register)
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
        try:
            held = await asyncio.to_thread(self._round, pending)
        except Exception as err:
            for cid, h in pending.items():  # stored at the next round
                self._pending.setdefault(cid, h)
            log.warning("lease renewal failed; retrying", extra={"error": str(err)})
            if self.held and time.monotonic() - self._renewed > self.settings.lease_ttl:
                log.warning(
                    "leases expired without renewal; giving the channels up",
                    extra={"given_up": sorted(self.held)},
                )
                self.held = set()
                self.changed.set()
            return
        self._renewed = time.monotonic()
        if held != self.held:
            gained, lost = held - self.held, self.held - held
            self.held = held
            log.info(
                "leases changed",
                extra={"held": len(held), "taken": sorted(gained), "given_up": sorted(lost)},
            )
            self.changed.set()

    async def run(self) -> None:
        """Renew every ``lease_renew`` seconds until cancelled; sooner
        (``START_ROUND``) while the pool is still spreading after this
        daemon's start (see ``_settling``)."""
        started = time.monotonic()
        before: set[str] = set()  # what it held before ``start``'s round
        while True:
            fast = self._settling(before, started)
            before = set(self.held)
            await asyncio.sleep(
                min(START_ROUND, self.settings.lease_renew) if fast else self.settings.lease_renew
            )
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
            n = await asyncio.to_thread(self._release, pending)
        except Exception as err:
            log.warning("cannot release leases", extra={"error": str(err)})
            return
        self.held = set()
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
