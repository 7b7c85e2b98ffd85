"""The gazetteer's index file: a small SQLite database in the cache directory
(not the archive), written once by ``xref.gazetteer`` and then opened
read-only. Every query on it lives here (the project keeps SQL in ``store/``);
``xref.gazetteer`` builds the rows and reads them lazily through these."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


def open_readonly(path: Path) -> sqlite3.Connection:
    """The index file, read-only and immutable (a new version of the index
    gets a new file name, so it never changes once written)."""
    return sqlite3.connect(
        f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
    )


def create(target: Path | None) -> sqlite3.Connection:
    """A new, empty index database: the file ``target``, or in memory (for
    one process) when ``target`` is None."""
    if target is None:
        return sqlite3.connect(":memory:", check_same_thread=False)
    return sqlite3.connect(target)


def write(
    conn: sqlite3.Connection,
    aliases: Iterable[tuple[str, str]],
    entries: Iterable[tuple[str, str, str | None, str | None, str]],
    skeletons: Iterable[tuple[str, str, str]],
    country_tz: Iterable[tuple[str, str]],
) -> None:
    """Store the built index in ``conn`` (a new database), in one transaction:
    ``(alias, tab-joined ids)``, ``(id, kind, country, tz, names JSON)``,
    ``(skeleton, Latin alias, id)`` and ``(country code, zone)`` rows."""
    with conn:
        conn.executescript(
            "CREATE TABLE alias(alias TEXT PRIMARY KEY, ids TEXT NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE entry(id TEXT PRIMARY KEY, kind TEXT, country TEXT, tz TEXT,"
            " names TEXT) WITHOUT ROWID;"
            "CREATE TABLE skeleton(sk TEXT NOT NULL, alias TEXT NOT NULL, id TEXT NOT NULL);"
            "CREATE TABLE country_tz(cc TEXT PRIMARY KEY, tz TEXT NOT NULL);"
        )
        conn.executemany("INSERT INTO alias VALUES (?, ?)", aliases)
        conn.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?)", entries)
        conn.executemany("INSERT INTO skeleton VALUES (?, ?, ?)", skeletons)
        conn.execute("CREATE INDEX skeleton_sk ON skeleton(sk)")
        conn.executemany("INSERT INTO country_tz VALUES (?, ?)", country_tz)


def country_timezones(conn: sqlite3.Connection) -> dict[str, str]:
    """Country code → its main time zone."""
    return {str(cc): str(tz) for cc, tz in conn.execute("SELECT cc, tz FROM country_tz")}


def alias_ids(conn: sqlite3.Connection, alias: str) -> str | None:
    """The tab-joined entry ids of a normalised alias (None when unknown)."""
    row = conn.execute("SELECT ids FROM alias WHERE alias = ?", (alias,)).fetchone()
    return None if row is None else str(row[0])


def entry_row(conn: sqlite3.Connection, entry_id: str) -> tuple[str, str, str, str] | None:
    """``(kind, country, tz, names JSON)`` of an entry (None when unknown)."""
    row = conn.execute(
        "SELECT kind, country, tz, names FROM entry WHERE id = ?", (entry_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def skeleton_aliases(conn: sqlite3.Connection, skeleton: str) -> list[tuple[str, str]]:
    """``(Latin alias, entry id)`` pairs whose name-key skeleton is ``skeleton``."""
    return [
        (str(a), str(i))
        for a, i in conn.execute("SELECT alias, id FROM skeleton WHERE sk = ?", (skeleton,))
    ]
