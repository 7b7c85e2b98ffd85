"""The archive file: creation, migrations, connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from telewatch.models import Post, PostSeen, UserError
from telewatch.store.chain import verify
from telewatch.store.db import apply_migrations, connect, iso, migrate, parse_iso
from telewatch.store.posts import prepare_post, write_prepared
from telewatch.store.queries import search
from telewatch.store.schema import SCHEMA_VERSION
from tests.fixtures.store import T0, write_old_versions


def test_migrate_creates_wal_archive_with_schema_version(tmp_path: Path) -> None:
    """A new archive (in a new directory) is in WAL mode at the current schema version."""
    path = tmp_path / "deep" / "dir" / "a.db"
    migrate(path)
    migrate(path)  # idempotent
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"posts", "post_versions", "deletions", "chain", "posts_fts"} <= tables


def test_newer_archive_is_refused_with_upgrade_hint(tmp_path: Path) -> None:
    """An archive from a newer telewatch is refused by migrate and connect."""
    path = tmp_path / "a.db"
    migrate(path)
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(
        UserError,
        match=rf"newer telewatch \(schema {SCHEMA_VERSION + 1} > {SCHEMA_VERSION}\); upgrade",
    ):
        migrate(path)
    with pytest.raises(UserError, match="upgrade telewatch"):
        connect(path)


def test_missing_archive_names_path_and_next_step(tmp_path: Path) -> None:
    """Opening an archive that does not exist says which file and what to run."""
    with pytest.raises(UserError, match=r"nope\.db does not exist; run `telewatch import`"):
        connect(tmp_path / "nope.db")


def test_readonly_connection_cannot_write(archive: Path) -> None:
    """Readers get a connection that refuses writes."""
    conn = connect(archive)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("INSERT INTO watched_posts VALUES (1, 1, NULL, 'x')")


def test_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    """A file that is not SQLite gives a one-line error instead of a traceback."""
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a telewatch archive"):
        migrate(path)


def test_time_text_round_trips_and_rejects_naive_times() -> None:
    """Archive times are Z-suffixed UTC text and naive datetimes are refused."""
    assert iso(T0) == "2022-03-01T07:42:00Z"
    assert parse_iso(iso(T0)) == T0
    with pytest.raises(ValueError, match="naive"):
        iso(T0.replace(tzinfo=None))


def test_version_1_archive_is_migrated_with_its_full_text_index_rebuilt(tmp_path: Path) -> None:
    """Schema 1 (unicode61 index) → current: the index is recreated with the
    ascii tokenizer from every version of each post (an edited post is found
    by its earlier words too); search, later edits and the chain work."""
    path = tmp_path / "v1.db"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    apply_migrations(raw, 0, upto=1)
    ddl = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
    assert "unicode61" in ddl
    texts = ["رتل في بالسّماوة صباح اليوم", "Конвой подорван в Самаре", "", "👍"]
    raw.execute("BEGIN IMMEDIATE")
    write_old_versions(raw, [(77, i + 1, t) for i, t in enumerate(texts)])
    raw.execute("COMMIT")
    raw.execute("BEGIN IMMEDIATE")  # post 2 edited while the archive was at schema 1
    write_old_versions(raw, [(77, 2, "Конвой подорван в Москве")])
    raw.execute("COMMIT")
    assert raw.execute("SELECT user_version FROM pragma_user_version").fetchone()[0] == 1
    raw.close()

    migrate(path)
    conn = connect(path, readonly=False)
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
    assert "tokenize='ascii'" in ddl
    assert [h.message_id for h in search(conn, "السماوة")] == [1]
    assert [(h.message_id, h.matched_version) for h in search(conn, "Самара")] == [(2, 1)]
    assert [(h.message_id, h.matched_version) for h in search(conn, "Москва")] == [(2, None)]
    # Index rows exist exactly for the posts with words.
    indexed = conn.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'c77'")
    assert indexed.fetchone()[0] == 2
    # An edit replaces the rebuilt entry (deleted by recomputing it): the
    # post is found by its new words and, as an earlier version, by its old.
    conn.execute("BEGIN IMMEDIATE")
    write_prepared(conn, [prepare_post(PostSeen(Post(77, 1, T0, "خبر آخر"), T0, "live"))], ())
    conn.execute("COMMIT")
    assert [(h.message_id, h.matched_version) for h in search(conn, "خبر")] == [(1, None)]
    assert [(h.message_id, h.matched_version) for h in search(conn, "السماوة")] == [(1, 1)]
    conn.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 0)")
    assert verify(conn).ok


def test_schema_13_blocks_are_carried_into_channel_blocks(tmp_path: Path) -> None:
    """Schema 13 → 14: a resolve hand-over's block (channel_leases'
    blocked_account/blocked_until) becomes a channel_blocks row and the two
    columns are gone."""
    path = tmp_path / "v13.db"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    apply_migrations(raw, 0, upto=13)
    raw.execute(
        "INSERT INTO channel_leases(key, mode, blocked_account, blocked_until)"
        " VALUES ('username:a', 'poll', 7, 1.5e9), ('username:b', 'join', NULL, NULL)"
    )
    raw.close()
    migrate(path)
    conn = connect(path)
    assert [
        tuple(r) for r in conn.execute("SELECT key, account_id, until FROM channel_blocks")
    ] == [("username:a", 7, 1.5e9)]
    cols = {str(r[1]) for r in conn.execute("PRAGMA table_info(channel_leases)").fetchall()}
    assert "blocked_account" not in cols and "blocked_until" not in cols
    conn.close()
