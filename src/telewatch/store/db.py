"""Opening the archive: creation, migrations and connections.

The archive is one SQLite file in WAL mode. Exactly one writer (store.writer)
opens it read-write; every reader (CLI, dashboard, xref) opens its own
read-only connection, which WAL lets run while the writer commits.

Durability: ``synchronous=NORMAL`` in WAL mode. A commit is durable against
a crash of the process (kill -9): the WAL is written before COMMIT returns.
Only a power loss / OS crash can lose the last transactions, never corrupt
the file. FULL would fsync every batch; the daemon commits many small
batches, so NORMAL is the usual trade-off (docs/SCHEMA.md).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from telewatch.models import UserError
from telewatch.store.schema import MIGRATIONS, SCHEMA_VERSION
from telewatch.text import index_body

if TYPE_CHECKING:
    from telewatch.store import pg

BUSY_TIMEOUT_MS = 10_000
_log = logging.getLogger(__name__)

# The archive as the rest of telewatch sees it. Callers outside store/ hold
# a Connection and pass it to store functions; they never execute SQL on it,
# nor import the driver (import-linter: "Only the store talks to the
# database"). Today both names are SQLite's; a second backend makes them
# its own union, so callers written against these names need no change.
Connection: TypeAlias = sqlite3.Connection
# The base class of every error the archive's driver raises (a damaged,
# locked or vanished archive); callers catch this, never a driver's class.
DatabaseError: TypeAlias = sqlite3.Error


@contextmanager
def write_transaction(conn: Connection) -> Iterator[None]:
    """One write transaction on a writable connection (``connect(...,
    readonly=False)``): the write lock is taken up front (``BEGIN
    IMMEDIATE``, so it waits for the busy timeout instead of failing half
    way), committed when the block ends, rolled back when it raises.

    SQLite rolls back by itself on some errors (SQLITE_FULL among them):
    then no second ROLLBACK hides the cause behind "no transaction is
    active"."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` is the archive's "disk full" (the disk, or a size limit)."""
    return isinstance(err, sqlite3.Error) and (
        getattr(err, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(err)
    )


def iso(dt: datetime) -> str:
    """An aware datetime as the archive's time text ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises ValueError for a naive datetime (every model time is aware UTC)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: times must be timezone-aware UTC")
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    # isoformat + slice is several times faster than strftime (hot path).
    return dt.isoformat()[:19] + "Z"


def parse_iso(text: str) -> datetime:
    """The inverse of ``iso``: archive time text → aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _apply_pragmas(conn: sqlite3.Connection, busy_timeout_ms: int | None = None) -> None:
    timeout = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
    conn.execute(f"PRAGMA busy_timeout = {timeout}")
    conn.execute("PRAGMA foreign_keys = ON")


def migrate(path: Path, *, busy_timeout_ms: int | None = None, check: bool = False) -> None:
    """Create the archive at ``path`` (and its parent directory) or bring an
    older one up to ``SCHEMA_VERSION``; WAL mode is switched on.

    Each migration runs in its own transaction, so a failure leaves the
    archive at the previous version. Raises UserError when the archive was
    written by a newer telewatch or the file is not a SQLite database, and
    ArchiveBusy when another process holds it longer than ``busy_timeout_ms``
    (default BUSY_TIMEOUT_MS). ``check`` runs SQLite's quick_check on an
    existing archive first (the start of a write session: import, daemon)
    and raises ArchiveCorrupt when it finds damage; a file that is not a
    telewatch archive is always refused. A ``postgresql://`` address
    (``pg_address``) migrates that PostgreSQL database instead."""
    url = pg_address(path)
    if url is not None:
        _pg_migrate(url)
        return
    path = Path(path)
    _not_a_folder(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create the directory for archive {path}: {err}") from None
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as err:
        raise UserError(f"cannot open archive {path}: {err}") from None
    try:
        _apply_pragmas(conn, busy_timeout_ms)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as err:
            if _locked(err):
                raise _busy(path) from None
            if _corrupt(err):
                raise _damaged(path, err) from None
            raise UserError(
                f"{path} is not a telewatch archive ({err}); choose another --db path"
            ) from None
        foreign = _foreign(conn, path, version)
        if foreign is not None:
            raise UserError(foreign)
        if version > SCHEMA_VERSION:
            raise UserError(
                f"archive {path} was written by a newer telewatch "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade telewatch"
            )
        if check and version > 0:
            # Never write into a damaged file: the writes would be lost or
            # spread the damage. quick_check is O(pages) without the index
            # cross-checks of integrity_check (docs/PERFORMANCE.md).
            check_integrity(conn, path, quick=True)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as err:
            if _locked(err):
                raise _busy(path) from None
            raise
        if 0 < version < SCHEMA_VERSION:
            _log.warning(
                "migrating archive %s from schema %d to %d (schema 2, and schemas 15 and 16"
                " when the archive holds Thai, Han, kana, Khmer, Lao or Myanmar posts,"
                " rebuild the search index, about 20 s per million posts; an interrupted"
                " migration is rolled back and runs again next time)",
                path,
                version,
                SCHEMA_VERSION,
            )
        apply_migrations(conn, version)
    finally:
        conn.close()


# Tables every telewatch archive has had since schema 1.
_CORE_TABLES = frozenset({"channels", "posts", "post_versions", "deletions", "chain"})


def _foreign(conn: sqlite3.Connection, path: Path, version: int) -> str | None:
    """Why the SQLite file behind ``conn`` is not a telewatch archive, or
    None when it is one (or is empty, so that ``migrate`` may create one)."""
    tables = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    if (
        version < 0
        or (version == 0 and tables)
        or (version > 0 and not set(tables) >= _CORE_TABLES)
    ):
        has = (
            f"it has tables {', '.join(tables[:5])}{', …' if len(tables) > 5 else ''}"
            if tables
            else "it has no telewatch tables"
        )
        return (
            f"{path} is not a telewatch archive ({has}; schema version {version});"
            " choose another --db"
        )
    return None


class ArchiveCorrupt(UserError):
    """SQLite's integrity check found damage in the archive file."""


def check_integrity(conn: sqlite3.Connection, path: Path, *, quick: bool) -> None:
    """Run ``PRAGMA quick_check`` (``quick``) or ``integrity_check`` on the
    archive; raise ArchiveCorrupt naming the first problem SQLite found."""
    if is_postgres(conn):
        # The server keeps its own pages consistent (WAL, checksums); there is
        # no file for telewatch to check: `verify` checks the facts themselves.
        return
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(5)")]
    except sqlite3.DatabaseError as err:
        if _locked(err):
            raise _busy(path) from None
        rows = [str(err)]
    if rows != ["ok"]:
        first = rows[0].splitlines()[0] if rows[0].strip() else "unknown damage"
        more = f" and {len(rows) - 1} more" if len(rows) > 1 else ""
        refuse = "; telewatch will not write into it" if quick else ""
        raise ArchiveCorrupt(
            f"archive {path} is damaged (SQLite {pragma}: {first}{more}){refuse}."
            " Keep the file as it is: restore a copy, or try sqlite3's .recover on a copy"
        )


def apply_migrations(conn: sqlite3.Connection, version: int, upto: int = SCHEMA_VERSION) -> None:
    """Run the migrations after ``version`` up to ``upto`` on ``conn``
    (autocommit mode), each in its own transaction, setting ``user_version``
    as they commit."""
    # typeshed's aggregate protocol only knows one int argument and an int result.
    conn.create_aggregate("telewatch_fts_body", 2, _FtsBody)  # type: ignore[arg-type]
    for target in range(version + 1, upto + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            step = MIGRATIONS[target]
            if isinstance(step, str):
                for stmt in split_statements(step):
                    conn.execute(stmt)
            else:  # a migration that needs Python (schema 3 re-chains the facts)
                step(conn)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class _FtsBody:
    """SQL aggregate ``telewatch_fts_body(version_no, text)``: the full-text
    body of one post from its versions in any order (``text.index_body``)."""

    def __init__(self) -> None:
        self.versions: list[tuple[int, str]] = []

    def step(self, version_no: int | None, text: str | None) -> None:
        if text is not None:
            self.versions.append((version_no or 0, text))

    def finalize(self) -> str:
        return index_body([t for _, t in sorted(self.versions)])


def split_statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would
    commit on its own and break the one-transaction-per-migration rule).
    Comments stay inside CREATE TABLE so that ``.schema`` shows them."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def connect(
    path: Path, *, readonly: bool = True, busy_timeout_ms: int | None = None
) -> sqlite3.Connection:
    """A synchronous connection to an existing archive.

    ``row_factory`` is ``sqlite3.Row``; busy_timeout and foreign keys are
    set. ``readonly=True`` opens ``file:...?mode=ro`` (readers); a writer
    connection (``readonly=False``) uses autocommit mode so that the caller
    owns transactions with explicit ``BEGIN IMMEDIATE``. Raises UserError
    when the archive does not exist or has an unexpected schema version, and
    ArchiveBusy when another process holds it longer than ``busy_timeout_ms``
    (default BUSY_TIMEOUT_MS; the connection keeps that timeout). A
    ``postgresql://`` address opens a ``pg.PgConnection`` (same interface)."""
    url = pg_address(path)
    if url is not None:
        shared = _SHARED.get(url) if readonly else None
        return shared.get() if shared is not None else _pg_open(url, readonly)
    try:
        return _open(Path(path), readonly, busy_timeout_ms)
    except _HotJournal:
        # A write (a bulk import) was cut off by a crash and left a hot
        # rollback journal that a read-only connection may not undo: a
        # read-write open rolls it back (the archive is as before that
        # write) and migrate() puts it back in WAL mode.
        migrate(path, busy_timeout_ms=busy_timeout_ms)
        return _open(Path(path), readonly, busy_timeout_ms)


class Readers:
    """Read-only connections to one archive for a process that opens one for
    every look-up (the daemon: its channel workers, sweeper, media and
    watch-list loops). ``get()`` returns a connection to use and ``close()``
    as usual; ``share_readers`` makes ``connect(path)`` take them from here.

    On SQLite each is a fresh connection (opening a file is cheap, and a
    fresh one sees a replaced archive file). On PostgreSQL a connection is a
    server process: opening one cost ~9 ms here, and its first statements
    are planned with cold caches (a look-up by username 6.6 ms instead of
    0.4). A pool of five daemons opened ~20 a second. So a closed one is
    kept, up to ``keep`` idle, and handed out again; one that is broken or
    still in a transaction is closed for good, and one idle for longer than
    ``check_after`` seconds is asked first whether its server process is
    still there (a restarted server: the next reader still reads).
    Thread-safe."""

    def __init__(self, path: Path, *, keep: int = 4, check_after: float = 5.0) -> None:
        self.path = path
        self.keep = keep
        self.check_after = check_after
        self._url = pg_address(path)
        self._idle: list[tuple[sqlite3.Connection, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> sqlite3.Connection:
        """A read-only connection (``connect(path)``); raises like it."""
        url = self._url
        if url is None:
            return connect(self.path)
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if conn.usable() and (  # type: ignore[attr-defined]
                time.monotonic() - since <= self.check_after or _answers(conn)
            ):
                return conn
            conn.home = None  # type: ignore[attr-defined]
            conn.close()
        conn = _pg_open(url, True)
        conn.home = self  # type: ignore[attr-defined]
        return conn

    def put(self, conn: sqlite3.Connection) -> bool:
        """Keep ``conn`` for the next ``get`` (its ``close`` calls this);
        False: close it for good."""
        with self._lock:
            if any(c is conn for c, _ in self._idle):
                return True  # closed twice: kept once, never handed out twice
            if self._closed or len(self._idle) >= self.keep or not conn.usable():  # type: ignore[attr-defined]
                return False
            self._idle.append((conn, time.monotonic()))
            return True

    def close(self) -> None:
        """Close the idle connections; those handed out close for good when closed."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.home = None  # type: ignore[attr-defined]
            conn.close()


_SHARED: dict[str, Readers] = {}


def share_readers(path: Path) -> None:
    """From now on in this process, ``connect(path)`` (read-only) on this
    PostgreSQL archive hands out kept connections (``Readers``) until
    ``unshare_readers``; nothing changes for a SQLite archive. The daemon
    calls it for its run: its loops open a reader per look-up."""
    url = pg_address(path)
    if url is not None:
        _SHARED.setdefault(url, Readers(path))


def unshare_readers(path: Path) -> None:
    """End ``share_readers``: the idle connections are closed."""
    url = pg_address(path)
    readers = _SHARED.pop(url, None) if url is not None else None
    if readers is not None:
        readers.close()


def _answers(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return False
    return True


class ArchiveBusy(UserError):
    """Another process holds the archive (a bulk import does for its whole run)."""


def hold_open(path: Path, *, busy_timeout_ms: int | None = None) -> sqlite3.Connection:
    """A read-only connection that has read once, for a long-running process
    (daemon, dashboard) to keep while it runs: as long as it is open, a
    `telewatch import` sees the archive in use and shares it (WAL) instead of
    taking it for itself. Raises like ``connect``."""
    conn = connect(path, busy_timeout_ms=busy_timeout_ms)
    if is_postgres(conn):
        return conn
    try:
        # A WAL reader registers in the shared-memory index on its first read.
        conn.execute("SELECT 1 FROM posts LIMIT 1").fetchall()
    except sqlite3.Error as err:
        conn.close()
        if _locked(err):
            raise _busy(path) from None
        raise
    return conn


def _locked(err: sqlite3.Error) -> bool:
    return "locked" in str(err)


def _corrupt(err: sqlite3.Error) -> bool:
    return getattr(err, "sqlite_errorname", "").startswith("SQLITE_CORRUPT") or (
        "malformed" in str(err)
    )


def _damaged(path: Path, err: sqlite3.Error) -> ArchiveCorrupt:
    return ArchiveCorrupt(
        f"archive {path} is damaged ({err}). Keep the file as it is: restore a copy,"
        " or try sqlite3's .recover on a copy"
    )


def _busy(path: Path) -> ArchiveBusy:
    return ArchiveBusy(
        f"archive {path} is busy: another telewatch process holds it"
        " (a bulk `telewatch import` does until it finishes); try again then"
    )


class _HotJournal(Exception):
    """A read-only open found a hot rollback journal (SQLITE_READONLY_ROLLBACK)."""


def _not_a_folder(path: Path) -> None:
    if path.is_dir():
        raise UserError(
            f"archive {path} is a folder; name the archive file, e.g. {path / 'telewatch.db'}"
        )


def _open(path: Path, readonly: bool, busy_timeout_ms: int | None) -> sqlite3.Connection:
    _not_a_folder(path)
    if not path.exists():
        raise UserError(
            f"archive {path} does not exist; run `telewatch import` or `telewatch run` first"
        )
    conn: sqlite3.Connection | None = None
    try:
        if readonly:
            conn = sqlite3.connect(_readonly_uri(path), uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        _apply_pragmas(conn, busy_timeout_ms)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        foreign = _foreign(conn, path, version)
        if not readonly:
            conn.execute("PRAGMA synchronous = NORMAL")
            # An import cut off in bulk mode (rollback journal) leaves the
            # file out of WAL mode: the first writer to open it restores WAL.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as err:
        if conn is not None:
            conn.close()
        if getattr(err, "sqlite_errorname", "") == "SQLITE_READONLY_ROLLBACK":
            raise _HotJournal from None
        if _locked(err):
            raise _busy(path) from None
        if _corrupt(err):
            raise _damaged(path, err) from None
        raise UserError(f"cannot open archive {path}: {err}") from None
    if version == 0 and foreign is None:
        conn.close()
        raise UserError(
            f"archive {path} is empty (no telewatch tables yet); run `telewatch import`"
            " or `telewatch run` first, or choose another --db"
        )
    if foreign is not None:
        conn.close()
        if version == 0 and "has no telewatch tables" in foreign:
            raise UserError(
                f"archive {path} is empty (no telewatch tables yet); run `telewatch import`"
                " or `telewatch run` first, or choose another --db"
            )
        raise UserError(foreign)
    if version != SCHEMA_VERSION:
        conn.close()
        if version > SCHEMA_VERSION:
            raise UserError(
                f"archive {path} was written by a newer telewatch "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade telewatch"
            )
        raise UserError(
            f"archive {path} is at schema {version}, expected {SCHEMA_VERSION}; "
            "run `telewatch import` or `telewatch run` once to migrate it"
        )
    return conn


def _readonly_uri(path: Path) -> str:
    """``file:…?mode=ro``, plus ``immutable=1`` for an archive in a folder
    this process cannot write (an evidence copy, a read-only mount) that has
    no ``-shm`` file: a WAL reader needs ``-shm`` and cannot create it
    there. No ``-shm`` means no writer has it open, so reading it as
    immutable (no locks, no ``-shm``) is safe. An existing read-only
    ``-shm`` is left to SQLite, which reads through it."""
    resolved = path.resolve()
    uri = f"{resolved.as_uri()}?mode=ro"
    if not os.access(resolved.parent, os.W_OK) and not Path(f"{resolved}-shm").exists():
        wal = Path(f"{resolved}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            _log.warning(
                "archive %s is read-only and has a non-empty %s without -shm: its last"
                " commits are not visible until someone with write access opens it once",
                path,
                wal.name,
            )
        uri += "&immutable=1"
    return uri


def now_iso() -> str:
    """The current time as archive time text."""
    return iso(datetime.now(UTC))


# --------------------------------------------------------------------------
# PostgreSQL archives (store.pg).
# --------------------------------------------------------------------------


def pg_address(path: Path | str) -> str | None:
    """The ``postgresql://`` URL an archive address names, or None for a
    SQLite path. An address that went through ``Path`` lost one slash of
    ``//`` (``postgresql:/user@host/db``): it is put back, so a URL keeps
    working wherever the CLI and config carry the archive as a Path (a URL
    needs its host: ``postgresql://localhost/db``, not ``postgresql:///db``)."""
    text = str(path)
    for scheme in ("postgresql:", "postgres:"):
        if text.startswith(scheme + "/"):
            return f"{scheme}//{text[len(scheme) :].lstrip('/')}"
    return None


def is_postgres(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` is a PostgreSQL archive (store modules choose their
    per-dialect SQL with this). psycopg is imported with the first
    PostgreSQL connection only (``store.pg``), not by every command that
    reads a SQLite archive: no ``store.pg`` loaded, no PostgreSQL connection."""
    pg = sys.modules.get("telewatch.store.pg")
    return pg is not None and isinstance(conn, pg.PgConnection)


def send(conn: sqlite3.Connection, sql: str, params: Any = (), *, many: bool = False) -> None:
    """Run a write whose result the caller never reads (no rows, rowcount
    or id). SQLite runs it now; PostgreSQL sends it with the connection's
    next statement that needs an answer (``PgConnection.send``), so that the
    writes of a batch cost one round trip under the pool's write lock. A
    failure is raised by that statement, at the latest by the enclosing
    savepoint's RELEASE or the COMMIT, so call it inside the savepoint that
    owns the write."""
    if is_postgres(conn):
        conn.send(sql, params, many=many)  # type: ignore[attr-defined]
    elif many:
        conn.executemany(sql, params)
    else:
        conn.execute(sql, params)


# One migrator at a time per database (two daemons starting together).
_PG_MIGRATE_LOCK = 0x7E1E_3A7C

_PG_BOOTSTRAP = (
    "CREATE TABLE IF NOT EXISTS telewatch_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # COLLATE NOCASE in the store's SQL names this collation (case-insensitive).
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'nocase'"
    " AND collnamespace = current_schema()::regnamespace) THEN"
    " CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2',"
    " deterministic = false); END IF; END $$",
)


def _pg_connect(url: str, readonly: bool) -> pg.PgConnection:
    from telewatch.store import pg

    try:
        return pg.PgConnection(url, readonly=readonly)
    except sqlite3.Error as err:
        raise UserError(
            f"cannot open archive {pg.masked(url)}: {err}; check the address, that the"
            " server runs and that the database exists (createdb)"
        ) from None


def _pg_tables(conn: pg.PgConnection) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name"
        )
    ]


def _pg_foreign(conn: pg.PgConnection, url: str, version: int) -> str | None:
    from telewatch.store import pg

    tables = [t for t in _pg_tables(conn) if t != "telewatch_meta"]
    if (version == 0 and tables) or (version > 0 and not set(tables) >= _CORE_TABLES):
        has = (
            f"it has tables {', '.join(tables[:5])}{', …' if len(tables) > 5 else ''}"
            if tables
            else "it has no telewatch tables"
        )
        return (
            f"{pg.masked(url)} is not a telewatch archive ({has}; schema version {version});"
            " choose another database"
        )
    return None


def _pg_migrate(url: str) -> None:
    from telewatch.store import pg

    conn = _pg_connect(url, readonly=False)
    try:
        conn.execute("SELECT pg_advisory_lock(?)", (_PG_MIGRATE_LOCK,))
        for stmt in _PG_BOOTSTRAP:
            conn.execute(stmt)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        foreign = _pg_foreign(conn, url, version)
        if foreign is not None:
            raise UserError(foreign)
        if version > SCHEMA_VERSION:
            raise UserError(
                f"archive {pg.masked(url)} was written by a newer telewatch "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade telewatch"
            )
        apply_migrations(conn, version)
    finally:
        conn.close()


def _pg_open(url: str, readonly: bool) -> sqlite3.Connection:
    from telewatch.store import pg

    conn = _pg_connect(url, readonly)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        foreign = _pg_foreign(conn, url, version)
    except BaseException:
        conn.close()
        raise
    if foreign is not None or version == 0:
        conn.close()
        if version == 0:
            raise UserError(
                f"archive {pg.masked(url)} is empty (no telewatch tables yet); run"
                " `telewatch import`, `telewatch run` or `telewatch migrate --to` first"
            )
        raise UserError(str(foreign))
    if version != SCHEMA_VERSION:
        conn.close()
        if version > SCHEMA_VERSION:
            raise UserError(
                f"archive {pg.masked(url)} was written by a newer telewatch "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade telewatch"
            )
        raise UserError(
            f"archive {pg.masked(url)} is at schema {version}, expected {SCHEMA_VERSION};"
            " run `telewatch import` or `telewatch run` once to migrate it"
        )
    return conn
