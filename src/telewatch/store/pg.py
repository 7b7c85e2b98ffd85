"""The PostgreSQL backend: a connection with the sqlite3 surface the store uses.

An archive address ``postgresql://…`` (or ``postgres://…``) opens a
PostgreSQL database through psycopg 3 instead of a SQLite file. The rest of
telewatch keeps using the ``sqlite3.Connection`` interface: ``PgConnection``
is one (a subclass whose every operation goes to the server), so the
store's queries, transactions and errors look the same on both backends.

What it translates, statement by statement (``translate``; cached):

* ``?`` placeholders → ``%s`` (and ``%`` → ``%%``), outside string literals;
* ``BEGIN IMMEDIATE`` (every write transaction of the store) → ``BEGIN``
  followed by ``pg_advisory_xact_lock(WRITE_LOCK)``: SQLite's one writer at
  a time, so that several daemons (or a daemon and ``import``) writing one
  archive append to the hash chain and take ``max + 1`` ids one after the
  other (the lock ends with the transaction; readers never take it; a plain
  ``BEGIN`` takes no lock); ``INSERT OR IGNORE`` → ``INSERT … ON
  CONFLICT DO NOTHING``; two-argument scalar ``max``/``min`` →
  ``greatest``/``least``; ``json_extract(x, '$.k')`` → ``x::jsonb ->> 'k'``;
  ``json_each(x) j`` → ``jsonb_array_elements(x::jsonb) AS j(value)``;
  ``group_concat(x)`` → ``string_agg(x, ',')``; ``a IS [NOT] b`` → ``a IS
  [NOT] DISTINCT FROM b``; ``IN ()`` → ``= ANY
  ('{}')`` (``NOT IN ()`` → ``<> ALL ('{}')``);
* in CREATE/ALTER TABLE: ``INTEGER`` → ``BIGINT``, ``REAL`` → ``DOUBLE
  PRECISION``, ``BLOB`` → ``BYTEA``, ``TEXT`` → ``TEXT COLLATE "C"`` (text
  sorts by code point as in SQLite, whatever the server's locale), ``WITHOUT
  ROWID`` dropped; a column ``INTEGER PRIMARY KEY`` keeps SQLite's rowid rule
  (an INSERT without it gets max + 1) through a trigger;
* ``COLLATE NOCASE`` names the ``nocase`` collation created with the schema
  (ICU, case-insensitive);
* ``PRAGMA user_version`` reads and writes ``telewatch_meta``;
  ``journal_mode`` is always ``wal`` (an import's bulk mode is declined, as
  on a shared SQLite archive); other pragmas are SQLite's own and do
  nothing here;
* the full-text table ``posts_fts`` is a plain table on PostgreSQL (store.fts
  writes and searches it with explicit SQL per backend).

Values come back as SQLite gives them: booleans as 0/1, ``numeric`` (``sum``
of integers) as int (float when fractional); a Python bool is bound as 0/1.
Text keeps every character SQLite keeps: PostgreSQL's text cannot hold NUL,
so a bound string's NUL is stored as ``ESC "0"`` and its ``ESC`` (U+FFFF, a
Unicode noncharacter) as ``ESC "1"`` (``_params``), and the text columns of a
result are unescaped (``escape_text``, ``_unescaped``; schema 18 escaped the
ESC characters stored before). A post whose text has NUL is archived, hashed
and shown as on SQLite.
psycopg errors are raised as the sqlite3 error of the same meaning
(IntegrityError, OperationalError, …) so the store's handlers apply.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from operator import contains, itemgetter
from types import TracebackType
from typing import Any, Literal

import psycopg
from psycopg import conninfo, pq
from psycopg.adapt import Dumper, Loader

SCHEMES = ("postgresql://", "postgres://")

log = logging.getLogger(__name__)


def is_address(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL archive (``postgresql://…``)."""
    return text.startswith(SCHEMES)


def masked(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


# --------------------------------------------------------------------------
# Rows, cursors, the connection.
# --------------------------------------------------------------------------


class PgRow(tuple[Any, ...]):
    """A result row: a tuple that also answers ``row["column"]`` and
    ``keys()`` like ``sqlite3.Row``."""

    _names: dict[str, int]
    _keys: list[str]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names[key])
            except KeyError:
                lower = {k.lower(): i for k, i in self._names.items()}
                if key.lower() in lower:
                    return tuple.__getitem__(self, lower[key.lower()])
                raise IndexError(f"No item with that key: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._keys)


def _row_class(description: Sequence[Any]) -> type[PgRow]:
    return _row_class_of(tuple(d.name for d in description))


@lru_cache(maxsize=1024)
def _row_class_of(names: tuple[str, ...]) -> type[PgRow]:
    return type(
        "PgRow", (PgRow,), {"_names": {n: i for i, n in enumerate(names)}, "_keys": list(names)}
    )


def _error(err: psycopg.Error) -> sqlite3.Error:
    """The sqlite3 exception a store handler expects for ``err``."""
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    cls: type[sqlite3.Error]
    if isinstance(err, psycopg.errors.IntegrityError):
        cls = sqlite3.IntegrityError
    elif isinstance(err, psycopg.errors.DataError):
        cls = sqlite3.DataError
    elif isinstance(err, psycopg.errors.InternalError):
        cls = sqlite3.InternalError
    elif isinstance(err, psycopg.errors.NotSupportedError):
        cls = sqlite3.NotSupportedError
    elif isinstance(err, psycopg.errors.InterfaceError):
        cls = sqlite3.InterfaceError
    elif isinstance(err, psycopg.errors.ProgrammingError | psycopg.errors.OperationalError):
        cls = sqlite3.OperationalError
    else:
        cls = sqlite3.DatabaseError
    return cls(msg)


class PgCursor(sqlite3.Cursor):
    """The ``sqlite3.Cursor`` surface over one psycopg cursor."""

    def __init__(self, conn: PgConnection) -> None:
        super().__init__(conn)
        self._conn = conn
        self._rows: list[Any] = []
        self._pos = 0
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._description: tuple[tuple[Any, ...], ...] | None = None

    # -- execution --------------------------------------------------------

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:  # type: ignore[override]
        self._conn._run(self, sql, parameters, many=False)
        return self

    def executemany(  # type: ignore[override]
        self, sql: str, seq_of_parameters: Iterable[Any], /
    ) -> PgCursor:
        self._conn._run(self, sql, seq_of_parameters, many=True)
        return self

    def executescript(self, sql_script: str, /) -> PgCursor:  # type: ignore[override]
        from telewatch.store.db import split_statements

        for stmt in split_statements(sql_script):
            self._conn._run(self, stmt, (), many=False)
        return self

    def _set(
        self,
        rows: list[Any],
        description: tuple[tuple[Any, ...], ...] | None,
        rowcount: int,
        lastrowid: int | None,
    ) -> None:
        self._rows, self._pos = rows, 0
        self._description = description
        self._rowcount = rowcount
        self._lastrowid = lastrowid

    # -- results ----------------------------------------------------------

    def fetchone(self) -> Any:
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        n = self.arraysize if size is None else size
        out = self._rows[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def fetchall(self) -> list[Any]:
        out = self._rows[self._pos :]
        self._pos = len(self._rows)
        return out

    def __iter__(self) -> PgCursor:
        return self

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    @property
    def rowcount(self) -> int:  # type: ignore[override]
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:  # type: ignore[override]
        return self._lastrowid

    @property
    def description(self) -> Any:
        return self._description

    def close(self) -> None:
        self._rows = []


class _IntFromNumeric(Loader):
    """``numeric`` (``sum`` of integers) as int, like SQLite; float when fractional."""

    def load(self, data: Any) -> int | float:
        d = Decimal(bytes(data).decode())
        return int(d) if d == d.to_integral_value() else float(d)


class _IntFromBool(Loader):
    """A boolean result (``a = b``) as 0/1, as SQLite gives it."""

    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


ESC = "\uffff"
"""The escape character of stored text (a noncharacter: Unicode's "not for
interchange"): ``ESC "0"`` is a NUL, ``ESC "1"`` an ESC."""
_ESCAPED = re.compile("\uffff[01]")


def escape_text(text: str) -> str:
    """``text`` as PostgreSQL's text can hold it (no NUL): the inverse of
    ``unescape_text``."""
    if "\x00" not in text and ESC not in text:
        return text
    return text.replace(ESC, ESC + "1").replace("\x00", ESC + "0")


def unescape_text(text: str) -> str:
    """The string ``escape_text`` stored; an ESC followed by anything but
    0 or 1 stays as it is."""
    if ESC not in text:
        return text
    return _ESCAPED.sub(lambda m: "\x00" if m.group(0)[1] == "0" else ESC, text)


def escape_stored_esc(conn: PgConnection) -> int:
    """Store every ESC already in a text column of the archive's tables as
    ``ESC "1"`` (schema 18; before it, text was stored as given and a NUL
    refused). Returns the number of values rewritten. The statements carry
    no parameter: their ESC is ``chr(65535)``, not an escaped string."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
        " AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " AND c.data_type = 'text' ORDER BY c.table_name, c.ordinal_position"
    ).fetchall()
    changed = 0
    for table, column in rows:
        t, c = _quoted(table), _quoted(column)
        cur = conn.execute(
            f"UPDATE {t} SET {c} = replace({c}, chr(65535), chr(65535) || '1')"
            f" WHERE strpos({c}, chr(65535)) > 0"
        )
        changed += max(cur.rowcount, 0)
    return changed


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Result columns of these types hold text as bound (_params): text,
# varchar, bpchar, name.
_TEXT_OIDS = frozenset((25, 1043, 1042, 19))


def _unescaped(rows: list[Any], description: Sequence[Any]) -> list[Any]:
    """``rows`` with their text unescaped (``unescape_text``). psycopg's C
    loaders read the text; each text column is scanned for ESC at C speed
    (a Python loader per value cost 40-50 % of a bulk read), and only a row
    that has one is rebuilt."""
    if not rows:
        return rows
    found = [
        j
        for j, d in enumerate(description)
        if d.type_code in _TEXT_OIDS
        and any(map(contains, filter(None, map(itemgetter(j), rows)), repeat(ESC)))
    ]
    if not found:
        return rows
    out = list(rows)
    for i, r in enumerate(out):
        if any(isinstance(r[j], str) and ESC in r[j] for j in found):
            cells = list(r)
            for j in found:
                if isinstance(cells[j], str):
                    cells[j] = unescape_text(cells[j])
            out[i] = tuple(cells)
    return out


class _BoolAsInt(Dumper):
    """A Python bool bound as 0/1 (the archive's flag columns are integers)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


def connect_params(url: str, *, readonly: bool) -> dict[str, str]:
    """The connection parameters telewatch adds to ``url``'s own: a read-only
    session's ``options`` appended to the address's ``?options=`` (or to
    ``PGOPTIONS`` when the address has none; a keyword would replace them,
    e.g. a ``search_path``), and a 10 s ``connect_timeout`` unless the
    address sets its own. Raises psycopg.ProgrammingError for a malformed
    address."""
    given = conninfo.conninfo_to_dict(url)
    # Text is bound and read as UTF-8 (escape_text, _unescaped).
    params: dict[str, str] = {"client_encoding": "UTF8"}
    if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
        params["connect_timeout"] = "10"
    if readonly:
        own = str(given.get("options") or os.environ.get("PGOPTIONS", "")).strip()
        params["options"] = f"{own} -c default_transaction_read_only=on".strip()
    return params


class PgConnection(sqlite3.Connection):
    """A PostgreSQL archive behind the ``sqlite3.Connection`` interface.

    The base class is an unused in-memory SQLite connection (it only gives
    the object its type); every statement runs on ``self.pg``, a psycopg
    connection in autocommit mode: the store's explicit BEGIN … COMMIT make
    the transactions, as on SQLite. ``readonly`` opens read-only sessions
    (``default_transaction_read_only``)."""

    dialect = "postgresql"
    pipelined = True
    """Savepoints and ``send``'s writes wait for the next statement (see
    ``send``); False sends each at once, as before (bench/bench_pg_batch.py
    compares the two in one run)."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        super().__init__(":memory:", check_same_thread=False, isolation_level=None)
        self.url = url
        self.readonly = readonly
        # Blocks whose GIN index a committed transaction showed (_ensure_block_index).
        self.fts_blocks: set[int] = set()
        # The highest post id this connection indexed (fts_write; build_ahead).
        self.fts_top = 0
        try:
            params = connect_params(url, readonly=readonly)
        except psycopg.ProgrammingError:
            # libpq's message quotes the bad token, which can be the password.
            raise sqlite3.OperationalError(
                "malformed PostgreSQL address (check its %-encoding, e.g. %40 for @ in a password)"
            ) from None
        try:
            address = conninfo.make_conninfo(url, **params)
            self.pg = psycopg.connect(address, autocommit=True)
            # psycopg prepares a statement run five times; the server then
            # plans it once for any parameters (a generic plan) if that looks
            # no worse. For a search it is worse: with the tsquery unknown,
            # the generic plan walks every post newest first, which for a
            # rare word is the whole table. Each execution is planned with
            # its own values (issue 13: a 100k archive's rare-word search
            # went from milliseconds to the whole table after ten runs).
            # Set on the session, not in the address's options, so that a
            # user's own ?options= stay as given.
            try:
                self.pg.execute("SET plan_cache_mode = force_custom_plan")
            except psycopg.Error:
                self.pg.close()
                raise
        except psycopg.Error as err:
            raise _error(err) from None
        self.pg.adapters.register_loader("numeric", _IntFromNumeric)
        self.pg.adapters.register_loader("bool", _IntFromBool)
        self.pg.adapters.register_dumper(bool, _BoolAsInt)
        self._lock = threading.RLock()
        # Statements waiting for the next one that needs an answer (_run,
        # send): (sql, parameters, executemany, a write).
        self._deferred: list[tuple[str, Any, bool, bool]] = []
        self._id_tables: frozenset[str] | None = None
        # The db.Readers pool this connection goes back to when closed.
        self.home: Any = None
        self._user_version: int | None = None

    # -- the sqlite3.Connection surface -----------------------------------

    def cursor(self, factory: Any = None) -> PgCursor:  # type: ignore[override]
        return PgCursor(self)

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:  # type: ignore[override]
        return PgCursor(self).execute(sql, parameters)

    def executemany(  # type: ignore[override]
        self, sql: str, parameters: Iterable[Any], /
    ) -> PgCursor:
        return PgCursor(self).executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> PgCursor:  # type: ignore[override]
        return PgCursor(self).executescript(sql_script)

    def commit(self) -> None:
        if self.in_transaction:
            self._run(PgCursor(self), "COMMIT", (), many=False)

    def rollback(self) -> None:
        if self.in_transaction:
            self._run(PgCursor(self), "ROLLBACK", (), many=False)

    def close(self) -> None:
        if self.home is not None and self.home.put(self):
            return  # kept for the next reader (db.Readers)
        try:
            self.pg.close()
        finally:
            super().close()

    def usable(self) -> bool:
        """Open, not broken and outside a transaction: fit to hand out again."""
        return (
            not self.pg.closed
            and not self.pg.broken
            and self.pg.info.transaction_status == pq.TransactionStatus.IDLE
            and not self._deferred
        )

    def __del__(self) -> None:
        # As a sqlite3 connection does: one dropped without close() is closed.
        pgconn = getattr(self, "pg", None)
        if pgconn is not None and not pgconn.closed:
            pgconn.close()

    @property
    def in_transaction(self) -> bool:  # type: ignore[override]
        return self.pg.info.transaction_status != pq.TransactionStatus.IDLE

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        """SQL functions in Python exist on SQLite only; the store's PostgreSQL
        SQL never calls them."""

    def create_aggregate(self, *args: Any, **kwargs: Any) -> None:
        """See ``create_function``."""

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> Literal[False]:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    # -- execution --------------------------------------------------------

    def id_tables(self) -> frozenset[str]:
        """Tables whose ``id`` column is the primary key (INSERTs into them
        return the new id as ``lastrowid``)."""
        if self._id_tables is None:
            rows = self.pg.execute(
                "SELECT c.table_name FROM information_schema.columns c"
                " WHERE c.table_schema = current_schema() AND c.column_name = 'id'"
                " AND c.data_type = 'bigint'"
            ).fetchall()
            self._id_tables = frozenset(str(r[0]) for r in rows)
        return self._id_tables

    def _run(self, cur: PgCursor, sql: str, params: Any, *, many: bool) -> None:
        pragma = _PRAGMA.match(sql)
        if pragma is not None:
            cur._set(*self._pragma(pragma.group(1).lower(), pragma.group(2)))
            return
        if (
            self.pipelined
            and not many
            and not params
            and self._savepoint_can_wait(sql)
            and self.in_transaction
        ):
            # SAVEPOINT, or a RELEASE with no write waiting: sent with the
            # next statement (one round trip instead of two, under the
            # pool's write lock).
            with self._lock:
                self._deferred.append((sql.strip().rstrip(";"), None, False, False))
            cur._set([], None, -1, None)
            return
        if many:
            params = [_params(p) for p in params]
            has_params = bool(params)
            if len(params) == 1:  # executemany's pipeline costs a round trip of its own
                many, params = False, params[0]
        else:
            params = _params(params)
            has_params = bool(params) if isinstance(params, Sequence) else params is not None
        t = translate(sql, has_params)
        if t.skip:
            cur._set([], None, 0, None)
            return
        text = t.sql
        returning = not many and t.insert_into is not None and t.insert_into in self.id_tables()
        if returning:
            text += " RETURNING id"
        with self._lock:
            try:
                with self.pg.cursor() as pc:
                    pending, self._deferred = self._deferred, []
                    if t.write_lock:
                        if pending:  # none: a transaction ended before this BEGIN
                            with self.pg.pipeline():
                                self._send_pending(pending)
                        # BEGIN and the lock in one round trip (no parameters:
                        # the simple query protocol takes both statements).
                        pc.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                        cur._set([], None, -1, None)
                        return
                    if pending and _ROLLBACK.match(text):
                        pending = []  # they end with the transaction
                    elif pending and _ROLLBACK_TO.match(text):
                        # Undone by this statement whatever they do; one that
                        # fails must not keep the rollback from running.
                        try:
                            with self.pg.pipeline():
                                self._send_pending(pending)
                        except psycopg.Error:
                            pass
                        pending = []
                    if pending:
                        with self.pg.pipeline():
                            self._send_pending(pending)
                            self._send(pc, text, params, many=many, has_params=has_params)
                    else:
                        self._send(pc, text, params, many=many, has_params=has_params)
                    rows: list[Any] = []
                    description = None
                    lastrowid = None
                    if pc.description is not None and not returning:
                        row_cls = _row_class(pc.description)
                        rows = [row_cls(r) for r in _unescaped(pc.fetchall(), pc.description)]
                        description = tuple(
                            (d.name, None, None, None, None, None, None) for d in pc.description
                        )
                    elif returning:
                        got = pc.fetchone()
                        lastrowid = int(got[0]) if got is not None else None
                    cur._set(rows, description, pc.rowcount, lastrowid)
            except psycopg.Error as err:
                raise _error(err) from None
        if t.ddl:
            self._id_tables = None

    def _savepoint_can_wait(self, sql: str) -> bool:
        m = _DEFERRED.match(sql)
        if m is None:
            return False
        # A RELEASE ends its savepoint's writes: with a write waiting, it is
        # sent now, so that the write's error reaches the savepoint's owner.
        return m.group(1).upper() == "SAVEPOINT" or not any(d[3] for d in self._deferred)

    def send(self, sql: str, params: Any = (), *, many: bool = False) -> None:
        """Run a write whose result nobody reads (no rows, rowcount or id)
        with the next statement that needs an answer: the writer's inserts of
        a batch then cost one round trip together instead of one each. Its
        error is raised by that statement (at the latest the savepoint's
        RELEASE or the COMMIT). Outside a transaction it runs at once: no
        COMMIT would follow to send it."""
        if not self.pipelined or not self.in_transaction:
            if many:
                self.executemany(sql, params)
            else:
                self.execute(sql, params)
            return
        if many:
            params = [_params(p) for p in params]
            if not params:
                return
            if len(params) == 1:
                many, params = False, params[0]
        else:
            params = _params(params)
        t = translate(sql, bool(params))
        if t.skip or t.write_lock or t.ddl:
            raise ValueError(f"not a plain write: {sql[:40]!r}")
        with self._lock:
            self._deferred.append((t.sql, params, many, True))

    def _send_pending(self, pending: list[tuple[str, Any, bool, bool]]) -> None:
        """Inside a pipeline: the statements ``send`` and the savepoints left waiting."""
        with self.pg.cursor() as pc:
            for text, params, many, _ in pending:
                self._send(pc, text, params, many=many, has_params=params is not None)

    @staticmethod
    def _send(
        pc: psycopg.Cursor[Any], text: str, params: Any, *, many: bool, has_params: bool
    ) -> None:
        if many:
            if params:
                pc.executemany(text, params)
        else:
            pc.execute(text, params if has_params else None)

    def _pragma(
        self, name: str, value: str | None
    ) -> tuple[list[Any], tuple[tuple[Any, ...], ...] | None, int, int | None]:
        if name == "journal_mode":
            # The server's own write-ahead log: asking for another journal
            # (an import's bulk mode) leaves it as it is, as a shared WAL
            # archive refuses it.
            return [("wal",)], (("journal_mode",) + (None,) * 6,), -1, None
        if name != "user_version":
            return [], None, -1, None
        try:
            if value is not None:
                self.pg.execute(
                    "INSERT INTO telewatch_meta(key, value) VALUES ('user_version', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(int(value)),),
                )
                return [], None, 1, None
            row = self.pg.execute(
                "SELECT value FROM telewatch_meta WHERE key = 'user_version'"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return [(0,)], (("user_version",) + (None,) * 6,), -1, None
        except psycopg.Error as err:
            raise _error(err) from None
        return [(int(row[0]) if row else 0,)], (("user_version",) + (None,) * 6,), -1, None


def _params(p: Any) -> Any:
    """A statement's parameters as psycopg takes them, strings escaped
    (``escape_text``). The check is a loop over the values, and psycopg's C
    dumper binds them: a Python dumper per string cost more (docs/PERFORMANCE.md
    "Text with NUL on PostgreSQL")."""
    if p is None:
        return ()
    if isinstance(p, Mapping):
        return {k: _escaped(v) for k, v in p.items()}
    values = tuple(p)
    for v in values:
        if (v.__class__ is str and ("\x00" in v or ESC in v)) or v.__class__ is list:
            return tuple(_escaped(x) for x in values)
    return values


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, list):  # an array parameter (= ANY (?))
        return [_escaped(v) for v in value]
    return value


# --------------------------------------------------------------------------
# Translation of the store's SQLite SQL.
# --------------------------------------------------------------------------

# FTS5 commands ('rank', 'delete') and the schema-2 rebuild of the index.
_FTS5_ONLY = re.compile(r"posts_fts\s*\(\s*posts_fts\b|telewatch_fts_body", re.I)
_LEADING_COMMENTS = re.compile(r"^(\s*--[^\n]*\n)*\s*")
_DEFERRED = re.compile(r"\s*(SAVEPOINT|RELEASE)\s+\w+\s*;?\s*$", re.I)
_ROLLBACK = re.compile(r"\s*ROLLBACK\s*;?\s*$", re.I)
_ROLLBACK_TO = re.compile(r"\s*ROLLBACK\s+TO\s", re.I)
_PRAGMA = re.compile(r"\s*PRAGMA\s+(\w+)\s*(?:=\s*(\S+?)\s*)?(?:\(\s*\d*\s*\))?\s*;?\s*$", re.I)
_BEGIN = re.compile(
    r"^\s*BEGIN(\s+(IMMEDIATE|DEFERRED|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$", re.I
)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", re.I)
_SCALAR_MINMAX = re.compile(r"\b(max|min)\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)", re.I)
_JSON_EXTRACT = re.compile(r"\bjson_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)", re.I)
_JSON_EACH = re.compile(r"\bjson_each\(\s*([\w.]+)\s*\)\s+(?:AS\s+)?(\w+)", re.I)
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(\s*([\w.]+)\s*\)", re.I)
# SQLite's null-safe IS / IS NOT between two values.
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_EMPTY_IN = re.compile(r"\b(NOT\s+)?IN\s*\(\s*\)", re.I)
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.I)
_TABLE_DDL = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
_ROWID_ALIAS = re.compile(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY\b", re.I)
# A column's declared type: right after its name, at the start of a column
# definition (after "(" or "," or ADD [COLUMN]).
_COLDEF = re.compile(
    r"([(,]|\bADD\s+COLUMN|\bADD)\s*(\w+)\s+(INTEGER|REAL|BLOB|TEXT(?!\s+COLLATE\b))\b", re.I
)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID", re.I)
# String literals, quoted identifiers and comments: never rewritten.
_OPAQUE = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*)")

_PG_TYPES = {
    "integer": "BIGINT",
    "real": "DOUBLE PRECISION",
    "blob": "BYTEA",
    "text": 'TEXT COLLATE "C"',
}

# The full-text table (store.fts): on PostgreSQL one row per indexed post,
# its words (text.index_body tokens, split as FTS5's 'ascii' tokenizer
# splits them) as a tsvector with positions, GIN-indexed; channel and
# publication day are columns (FTS5 keeps them as 'meta' tokens).
FTS_DDL = (
    "CREATE TABLE posts_fts (\n"
    "    rowid       BIGINT PRIMARY KEY,   -- posts.id\n"
    "    body        TSVECTOR NOT NULL,\n"
    "    channel_id  BIGINT NOT NULL,\n"
    '    day         TEXT COLLATE "C" NOT NULL  -- YYYYMMDD (publication day)\n'
    ")",
    "CREATE INDEX posts_fts_body ON posts_fts USING gin (body)",
    "CREATE INDEX posts_fts_channel ON posts_fts (channel_id, rowid)",
    "CREATE INDEX posts_fts_day ON posts_fts (day)",
)


WRITE_LOCK = 0x7465_6C65_7761_01
"""The advisory lock key every write transaction (``BEGIN IMMEDIATE``) takes."""


class Translated:
    """One statement in PostgreSQL's dialect; ``write_lock``: a write
    transaction's BEGIN (the connection takes WRITE_LOCK right after it)."""

    __slots__ = ("ddl", "insert_into", "skip", "sql", "write_lock")

    def __init__(
        self, sql: str, insert_into: str | None, ddl: bool, skip: bool, write_lock: bool = False
    ) -> None:
        self.sql = sql
        self.insert_into = insert_into
        self.ddl = ddl
        self.skip = skip
        self.write_lock = write_lock


def _outside_literals(sql: str, fn: Any) -> str:
    parts = _OPAQUE.split(sql)
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(parts))


@lru_cache(maxsize=4096)
def translate(sql: str, with_params: bool) -> Translated:
    """``sql`` (the store's SQLite dialect) for PostgreSQL; ``with_params``:
    placeholders are bound (``?`` → ``%s``, a literal ``%`` doubled)."""
    sql = _LEADING_COMMENTS.sub("", sql)
    begin = _BEGIN.match(sql)
    if begin:
        kind = (begin.group(2) or "").upper()
        return Translated("BEGIN", None, False, False, kind in ("IMMEDIATE", "EXCLUSIVE"))
    ddl = bool(_DDL.match(sql))
    if "posts_fts" in sql and (ddl or _FTS5_ONLY.search(sql)):
        return _fts_ddl(sql)
    out = sql
    ignore = bool(_OR_IGNORE.search(out))
    if ignore:
        out = _OR_IGNORE.sub("INSERT INTO", out)
    if _TABLE_DDL.match(out):
        out = _table_ddl(out)

    def rewrite(seg: str) -> str:
        seg = _SCALAR_MINMAX.sub(
            lambda m: (
                f"{'greatest' if m.group(1).lower() == 'max' else 'least'}"
                f"({m.group(2)}, {m.group(3)})"
            ),
            seg,
        )
        seg = _GROUP_CONCAT.sub(r"string_agg(\1, ',')", seg)
        seg = _JSON_EACH.sub(r"jsonb_array_elements(\1::jsonb) AS \2(value)", seg)
        seg = _IS_NOT.sub("IS DISTINCT FROM ", seg)
        seg = _IS.sub("IS NOT DISTINCT FROM ", seg)
        seg = _EMPTY_IN.sub(lambda m: "<> ALL ('{}')" if m.group(1) else "= ANY ('{}')", seg)
        if with_params:
            seg = seg.replace("%", "%%").replace("?", "%s")
        return seg

    # json_extract's path is a literal: rewrite it before literals are set aside.
    out = _JSON_EXTRACT.sub(r"(\1::jsonb ->> '\2')", out)
    if with_params:
        parts = _OPAQUE.split(out)
        out = "".join((p.replace("%", "%%") if i % 2 else rewrite(p)) for i, p in enumerate(parts))
    else:
        out = _outside_literals(out, rewrite)
    out = out.rstrip().rstrip(";")
    if ignore:
        out += " ON CONFLICT DO NOTHING"
    m = _INSERT_INTO.match(sql)
    return Translated(out, m.group(1).lower() if m else None, ddl, False)


def _strip_comments(sql: str) -> str:
    parts = _OPAQUE.split(sql)
    return "".join("" if i % 2 and p.startswith("--") else p for i, p in enumerate(parts))


def _table_ddl(sql: str) -> str:
    """CREATE/ALTER TABLE with PostgreSQL types; a rowid-alias primary key
    gets its trigger (SQLite gives an INSERT without it max + 1)."""
    sql = _strip_comments(sql)
    created = _CREATE_TABLE.match(sql)
    alias = _ROWID_ALIAS.search(_outside_literals(sql, lambda s: s)) if created else None
    out = _outside_literals(
        sql,
        lambda s: _COLDEF.sub(
            lambda m: f"{m.group(1)} {m.group(2)} {_PG_TYPES[m.group(3).lower()]}", s
        ),
    )
    out = _WITHOUT_ROWID.sub(")", out).rstrip().rstrip(";")
    if created and alias is not None:
        table, col = created.group(1), alias.group(1)
        fn = f"telewatch_rowid_{table}"
        out += (
            f";\nCREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF NEW.{col} IS NULL THEN"
            f" SELECT coalesce(max({col}), 0) + 1 INTO NEW.{col} FROM {table}; END IF;"
            " RETURN NEW; END $$"
            f";\nCREATE TRIGGER {table}_rowid BEFORE INSERT ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {fn}()"
        )
    return out


def _fts_ddl(sql: str) -> Translated:
    """The migrations' statements on the FTS5 table, for PostgreSQL: create
    and drop the plain table; FTS5 configuration and the schema-2 rebuild
    (a PostgreSQL archive is created at the current schema, never migrated
    from schema 1 with posts in it) have nothing to do."""
    head = " ".join(sql.split()[:4]).upper()
    if head.startswith("CREATE VIRTUAL TABLE"):
        return Translated(";\n".join(FTS_DDL), None, True, False)
    if head.startswith("DROP TABLE"):
        return Translated("DROP TABLE IF EXISTS posts_fts", None, True, False)
    if _DDL.match(sql):
        return Translated(sql, None, True, False)
    return Translated("", None, False, True)


# --------------------------------------------------------------------------
# Full-text search on PostgreSQL (the FTS5 statements of posts.py and
# queries.py, explicitly).
# --------------------------------------------------------------------------

# FTS5's 'ascii' tokenizer: ASCII letters and digits and every non-ASCII
# character are word characters; any other ASCII character separates.
_ASCII_SEPARATORS = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")
MAX_POSITION = 16383  # tsvector positions stop here (words after it share it)


def ascii_tokens(text: str) -> list[str]:
    """``text`` split as the FTS5 'ascii' tokenizer splits it (ASCII folded)."""
    return [t for t in _ASCII_SEPARATORS.split(text.lower()) if t]


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(body: str) -> str:
    """The tsvector text of an index body: each word with its position.

    A token never holds a quote or a backslash (both separate words in
    ``ascii_tokens``), so it is quoted as it is; this runs once per imported
    post and was a tenth of a PostgreSQL import's time with ``_lexeme``."""
    toks = ascii_tokens(body)
    head = toks[: MAX_POSITION - 1]
    out = [f"'{t}':{i}" for i, t in enumerate(head, 1)]
    out.extend(f"'{t}':{MAX_POSITION}" for t in toks[MAX_POSITION - 1 :])
    return " ".join(out)


FTS_BLOCK = 131_072
"""posts_fts has a GIN index of its own for each block of this many post ids
(ids kB+1 … (k+1)B, a partial index; schema 17), beside the GIN index of
the whole table: a search of the newest ids reads the bitmap of their block
only, not every match of the word."""
BLOCK_RANGES = 16
"""A search reads at most this many blocks one by one, then the rest at once."""


def _block_name(k: int) -> str:
    return f"posts_fts_body_{k * FTS_BLOCK}_{(k + 1) * FTS_BLOCK}"


def _block_ddl(k: int, *, concurrently: bool = False) -> str:
    lo, hi = k * FTS_BLOCK, (k + 1) * FTS_BLOCK
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {_block_name(k)} ON posts_fts USING gin (body)"
        f" WHERE rowid > {lo}::bigint AND rowid <= {hi}::bigint"
    )


_VALID = "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(?)"


def _ensure_block_index(conn: PgConnection, k: int) -> None:
    """Create block ``k``'s GIN index unless it exists (in the caller's
    transaction: it commits with the batch that first writes into the
    block). The existence check takes no lock; CREATE INDEX takes a SHARE
    lock on posts_fts (readers go on) and reads the table once per block.
    A writer normally finds it built already, outside the write lock
    (``build_ahead``); one still being built (not yet valid) is left to its
    builder."""
    if k in conn.fts_blocks:
        return  # seen before: no round trip under the write lock per batch
    row = conn.execute(_VALID, (_block_name(k),)).fetchone()
    if row is not None:
        if row[0]:
            # Remembered only when found valid, not when created: a batch
            # that created it may still roll back. A block index dropped
            # later only slows its block's searches (the range filter keeps
            # them exact).
            conn.fts_blocks.add(k)
        else:
            build_ahead(conn, k)  # a build that died leaves an invalid index
        return
    conn.execute(_block_ddl(k))


BLOCK_AHEAD = 16_384
"""Once the posts' ids come this close to their block's end, the next
block's index is built (``build_ahead``)."""

_BUILD_LOCK = 0x7465_6C65_7762_00
"""Session advisory lock key (plus the block) of whoever builds a block index ahead."""

BUILD_RETRY = 10.0
"""Seconds before this process asks again about a block another daemon is building."""

_building: set[tuple[str, int]] = set()
_built: set[tuple[str, int]] = set()  # found valid: never asked about again
_later: dict[tuple[str, int], float] = {}  # another daemon builds it: not before then
_building_lock = threading.Lock()


def build_ahead(conn: PgConnection, k: int | None = None) -> threading.Thread | None:
    """Build the next block's GIN index (or block ``k``'s) before any post
    needs it: on a thread and a connection of its own, with ``CREATE INDEX
    CONCURRENTLY``, so that no writer holds the pool's write lock while the
    table is read (about 2.6 s at 1,000,000 posts). The writer calls it
    after each commit; it does nothing until the ids written
    (``conn.fts_top``) are within BLOCK_AHEAD of their block's end, or when
    the index is known valid or being built by this process. One builder
    per block across the pool (a session advisory lock); an index left
    invalid by a build that died is dropped and built again. Returns the
    thread (tests wait for it)."""
    if k is None:
        top = conn.fts_top
        k = (top - 1) // FTS_BLOCK + 1 if top > 0 else 0
        if top <= 0 or k * FTS_BLOCK - top > BLOCK_AHEAD:
            return None
    if k in conn.fts_blocks:
        return None
    key = (conn.url, k)
    with _building_lock:
        # Every commit in the last BLOCK_AHEAD ids asks: only the first one
        # (and one per BUILD_RETRY while another daemon builds) may start a
        # thread and a connection.
        if key in _building or key in _built or _later.get(key, 0.0) > time.monotonic():
            return None
        _building.add(key)
    t = threading.Thread(target=_build, args=(conn.url, k), name=f"fts-block-{k}", daemon=True)
    t.start()
    return t


def _build(url: str, k: int) -> None:
    name = _block_name(k)
    try:
        address = conninfo.make_conninfo(url, **connect_params(url, readonly=False))
        with psycopg.connect(address, autocommit=True) as pg:
            got = pg.execute("SELECT pg_try_advisory_lock(%s)", (_BUILD_LOCK + k,)).fetchone()
            if not got or not got[0]:
                with _building_lock:  # another daemon builds it
                    _later[(url, k)] = time.monotonic() + BUILD_RETRY
                return
            row = pg.execute(_VALID.replace("?", "%s"), (name,)).fetchone()
            if row is not None and not row[0]:  # left invalid by a build that died
                pg.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            if row is None or not row[0]:
                pg.execute(_block_ddl(k, concurrently=True))
            with _building_lock:
                _built.add((url, k))
    except psycopg.Error as err:
        # The writer creates it in its transaction when the block starts.
        log.warning("cannot build a search index ahead", extra={"index": name, "error": str(err)})
        with _building_lock:
            _later[(url, k)] = time.monotonic() + BUILD_RETRY
    finally:
        with _building_lock:
            _building.discard((url, k))


def fts_block_indexes(conn: PgConnection) -> int:
    """Migration 17 on PostgreSQL: the block GIN indexes of the ids already
    indexed (idempotent: existing ones are kept). Returns how many blocks."""
    highest = conn.execute("SELECT max(rowid) FROM posts_fts").fetchone()[0]
    if highest is None:
        return 0
    blocks = (int(highest) - 1) // FTS_BLOCK + 1
    for k in range(blocks):
        _ensure_block_index(conn, k)
    return blocks


def fts_write(
    conn: PgConnection,
    deletes: Sequence[tuple[Any, ...]],
    inserts: Sequence[tuple[Any, ...]],
) -> None:
    """posts.py's FTS5 writes: ``deletes`` are ('delete', rowid, body, meta),
    ``inserts`` (rowid, body, meta) with meta = 'c<channel> d<YYYYMMDD>'."""
    if deletes:
        conn.send("DELETE FROM posts_fts WHERE rowid = ?", [(d[1],) for d in deletes], many=True)
    if inserts:
        for k in sorted({max(0, (int(r[0]) - 1) // FTS_BLOCK) for r in inserts}):
            _ensure_block_index(conn, k)
        conn.fts_top = max(conn.fts_top, max(int(r[0]) for r in inserts))
        rows = []
        for rowid, body, meta in inserts:
            c, d = meta.split()
            rows.append((rowid, tsvector_literal(body), int(c[1:]), d[1:]))
        conn.send(
            "INSERT INTO posts_fts(rowid, body, channel_id, day) VALUES (?, ?::tsvector, ?, ?)"
            " ON CONFLICT (rowid) DO UPDATE SET body = excluded.body,"
            " channel_id = excluded.channel_id, day = excluded.day",
            rows,
            many=True,
        )


class FtsSyntaxError(ValueError):
    """A raw FTS5 expression this backend cannot run."""


_FTS_TOKEN = re.compile(r'\s*(?:("(?:[^"]|"")*")|([()*+:^])|([^\s"()*+:^]+))')


def _fts_lex(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _FTS_TOKEN.match(expr, pos)
        if m is None:
            raise FtsSyntaxError(f"syntax error near {expr[pos : pos + 10]!r}")
        pos = m.end()
        if m.group(1) is not None:
            out.append(("phrase", m.group(1)[1:-1].replace('""', '"')))
        elif m.group(2) is not None:
            out.append((m.group(2), m.group(2)))
        else:
            word = m.group(3)
            if word in ("AND", "OR", "NOT"):
                out.append((word, word))
            elif word.startswith("NEAR"):
                raise FtsSyntaxError("NEAR groups are not supported on PostgreSQL")
            else:
                out.append(("phrase", word))
    return out


_NOTHING = "('telewatch-no-such-word' & !'telewatch-no-such-word')"


class _FtsParser:
    """FTS5 query syntax (phrases, prefix ``*``, ``+``, AND/OR/NOT,
    implicit AND, parentheses; NOT binds tighter than AND, AND than OR) to
    a tsquery over the same tokens."""

    def __init__(self, expr: str) -> None:
        self.toks = _fts_lex(expr)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise FtsSyntaxError(f"expected {kind!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> str:
        q = self.or_()
        if self.peek() is not None:
            raise FtsSyntaxError(f"unexpected {self.toks[self.i][1]!r}")
        return q

    def or_(self) -> str:
        parts = [self.and_()]
        while self.peek() == "OR":
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    def and_(self) -> str:
        parts = [self.not_()]
        while self.peek() in ("AND", "phrase", "("):
            if self.peek() == "AND":
                self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def not_(self) -> str:
        q = self.primary()
        while self.peek() == "NOT":
            self.i += 1
            q = f"({q} & !{self.primary()})"
        return q

    def primary(self) -> str:
        if self.peek() == "(":
            self.i += 1
            q = self.or_()
            self.take(")")
            return q
        if self.peek() == "^":
            raise FtsSyntaxError("^ (initial token) is not supported on PostgreSQL")
        if (
            self.peek() == "phrase"
            and self.i + 1 < len(self.toks)
            and self.toks[self.i + 1][0] == ":"
        ):
            # A column filter: the words are the body; `meta` (channel and
            # day tokens, columns here) inside the group matches nothing.
            column = self.take("phrase")
            self.i += 1
            q = self.primary()
            if column == "body":
                return q
            if column == "meta":
                return _NOTHING
            raise FtsSyntaxError(f"no such column: {column}")
        words = ascii_tokens(self.take("phrase"))
        while self.peek() == "+":
            self.i += 1
            words += ascii_tokens(self.take("phrase"))
        prefix = self.peek() == "*"
        if prefix:
            self.i += 1
        if not words:
            # An empty phrase matches nothing in FTS5.
            return _NOTHING
        lex = [_lexeme(w) for w in words]
        if prefix:
            lex[-1] += ":*"
        return lex[0] if len(lex) == 1 else "(" + " <-> ".join(lex) + ")"


def tsquery(expr: str) -> str:
    """The tsquery text of an FTS5 MATCH expression over index bodies.
    Raises FtsSyntaxError."""
    return _FtsParser(expr).parse()


def fts_search(
    conn: PgConnection,
    expr: str,
    *,
    channel_id: int | None,
    date_where: Sequence[str],
    date_args: Sequence[Any],
    window: int,
    days: tuple[str, str] | None = None,
    channel_ids: Sequence[int] | None = None,
    exclude_channels: Sequence[int] = (),
    block: int | None = None,
) -> list[tuple[int, float]]:
    """(post id, score) of the ``window`` newest posts matching ``expr``;
    score is minus ``ts_rank`` (lower is better, like bm25). ``days``
    (first, last YYYYMMDD) narrows by the indexed publication day before
    ``date_where`` checks the exact times on ``posts``; ``channel_ids``
    keeps those channels only, ``exclude_channels`` leaves those out.

    GIN gives every match of a word, in no order, and each match costs a
    heap page of ``posts_fts`` (its tsvector is in the row): a common word
    read every page of the table. FTS5 walks its doclists newest first and
    stops after ``window``. So the search reads the ids block by block
    (FTS_BLOCK, ``block`` for a test), newest first, until ``window``
    matches are found: each block's statement is planned with the block's
    own GIN index (its matches only) or as a walk of the primary key
    newest first (a common word). After BLOCK_RANGES blocks the rest is one
    statement. A date window is one statement (its day index narrows it).
    The result is exactly the ``window`` newest matches of one search over
    everything."""
    where = ["f.body @@ ?::tsquery"]
    args: list[Any] = [tsquery(expr)]
    bounds = "SELECT min(rowid), max(rowid) FROM posts_fts"
    bound_args: list[Any] = []
    if channel_id is not None:
        # One channel: its newest matches come from the (channel_id, rowid)
        # index walked backwards, within the range's ids.
        where.append("f.channel_id = ?")
        args.append(int(channel_id))
        # The channel's own ids bound the ranges ((channel_id, rowid) index).
        bounds += " WHERE channel_id = ?"
        bound_args.append(int(channel_id))
    if channel_ids is not None:
        where.append("f.channel_id = ANY (?)")
        args.append([int(c) for c in channel_ids])
    if exclude_channels:
        where.append("f.channel_id <> ALL (?)")
        args.append([int(c) for c in exclude_channels])
    if days is not None:
        where.append("f.day BETWEEN ? AND ?")
        args.extend(days)
    join = ""
    if date_where and days is not None:
        # Only a post of the first or last day can fall outside the exact
        # times: the days between need no look-up in posts. A scalar
        # subquery per such post (primary key of posts): as EXISTS the
        # planner hashed every post of the window for it instead.
        where.append(
            "(f.day > ? AND f.day < ? OR (SELECT "
            + " AND ".join(date_where)
            + " FROM posts p WHERE p.id = f.rowid))"
        )
        args.extend((*days, *date_args))
    elif date_where:
        join = " JOIN posts p ON p.id = f.rowid"
        where.extend(date_where)
        args.extend(date_args)
    lowest, highest = conn.execute(bounds, bound_args).fetchone()
    if highest is None:
        return []
    # ts_rank reads a match's whole tsvector: the inner query picks the
    # newest matches of the range first (an index walk or a top-N sort of
    # row ids), then only those are ranked, however many posts match.
    # A date window sorts its matches (rowid + 0: no walk of the primary
    # key): walked newest first, the planner assumes the window's posts are
    # spread evenly over the ids and may read every newer post first.
    order = "f.rowid + 0 DESC" if days is not None else "f.rowid DESC"
    sql = (
        "SELECT w.rowid, -ts_rank(w.body, ?::tsquery) FROM"
        f" (SELECT f.rowid, f.body FROM posts_fts f{join}"
        f" WHERE {' AND '.join(where)} AND f.rowid > ?::bigint AND f.rowid <= ?::bigint"
        f" ORDER BY {order} LIMIT ?) w"
    )
    size = block or FTS_BLOCK
    out: list[tuple[int, float]] = []
    top, floor, ranges = int(highest), int(lowest) - 1, 0
    while len(out) < window:
        ranges += 1
        if days is None and ranges <= BLOCK_RANGES:
            low = max((top - 1) // size * size, floor)
        else:
            low = floor
        rows = conn.execute(sql, (args[0], *args, low, top, window - len(out))).fetchall()
        out.extend((int(r[0]), float(r[1])) for r in rows)
        if low <= floor:
            break
        top = low
    return out
