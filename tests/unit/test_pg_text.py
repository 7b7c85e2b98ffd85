"""Text with NUL on PostgreSQL (store/pg.py escape_text, schema 18).

PostgreSQL's text cannot hold NUL; SQLite's can, and a hostile post, title
or signature may carry one. On PostgreSQL the backend stores NUL as ESC "0"
and ESC (U+FFFF) as ESC "1" and unescapes what it reads, so that such a post
is archived, hashed, shown and migrated as on SQLite instead of being lost
as malformed.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import Channel, ChannelSeen, Post, PostSeen
from telewatch.store import pg
from telewatch.store.chain import head, verify
from telewatch.store.db import _PG_BOOTSTRAP, apply_migrations, connect, migrate
from telewatch.store.writer import apply_events
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.store import T0, write_events

ESC = "\uffff"
CID = 1500000001
# Each is stored and read back as it is; the last ones look like escapes.
TEXTS = [
    "a\x00b",
    "\x00",
    "\x00\x00 at the start and the end \x00",
    f"{ESC}",
    f"{ESC}0",
    f"{ESC}1 and {ESC}{ESC}00",
    f"\x00{ESC}0\x00{ESC}",
    "plain words, no escape",
]


def test_escape_is_inverted_and_leaves_plain_text_alone() -> None:
    for t in [*TEXTS, "", ESC * 3, "x" + ESC + "2"]:
        stored = pg.escape_text(t)
        assert "\x00" not in stored
        assert pg.unescape_text(stored) == t
    assert pg.escape_text("no escape") == "no escape"
    # An ESC followed by anything else (text stored before schema 18 that
    # the migration missed cannot exist, but a reader never throws).
    assert pg.unescape_text(f"{ESC}2") == f"{ESC}2"


def _events() -> list[ChannelSeen | PostSeen]:
    evs: list[ChannelSeen | PostSeen] = [
        ChannelSeen(Channel(CID, "Title\x00with NUL", "nul_channel"), T0)
    ]
    for k, text in enumerate(TEXTS, start=1):
        post = Post(CID, k, T0, text, post_author=f"sig\x00{k}")
        evs.append(PostSeen(post, T0, "live"))
    return evs


def _write(target: str) -> Path:
    """A fresh archive at ``target`` with ``_events()`` (none may fail)."""
    path = Path(target)
    migrate(path)
    write_events(path, _events()).close()
    return path


def _cli(db: str | Path, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _stored(path: Path) -> tuple[list[tuple[int, str, str]], str]:
    conn = connect(path)
    try:
        rows = conn.execute(
            "SELECT message_id, text, post_author FROM posts ORDER BY message_id"
        ).fetchall()
        title = conn.execute("SELECT title FROM channels").fetchone()[0]
        assert verify(conn).ok
        return [tuple(r) for r in rows], title
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "a.db")
    return str(request.getfixturevalue("pg_url"))


def test_posts_with_nul_are_archived_on_both_backends(target: str) -> None:
    path = _write(target)
    rows, title = _stored(path)
    assert rows == [(k, t, f"sig\x00{k}") for k, t in enumerate(TEXTS, start=1)]
    assert title == "Title\x00with NUL"
    # A query's parameter is escaped as the stored text is: it finds it.
    conn = connect(path)
    try:
        got = conn.execute("SELECT message_id FROM posts WHERE text = ?", (f"{ESC}0",))
        assert [r[0] for r in got] == [5]
    finally:
        conn.close()
    exported = [json.loads(line) for line in _cli(path, "export").splitlines()]
    assert [e["text"] for e in exported] == TEXTS


def test_migrate_round_trip_keeps_nul(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    src = _write(str(tmp_path / "src.db"))
    url = pg_cluster.create_database("nul")
    back = tmp_path / "back.db"
    out1 = json.loads(_cli(src, "migrate", "--to", url, "--json"))
    out2 = json.loads(_cli(url, "migrate", "--to", str(back), "--json"))
    assert out1["ok"] and out2["ok"]
    assert out1["head"] == out2["head"] == head(connect(src)).hash
    assert _stored(src) == _stored(Path(url)) == _stored(back)
    assert _cli(src, "export") == _cli(url, "export") == _cli(back, "export")


def test_schema_18_escapes_the_esc_stored_before(pg_cluster: PostgresCluster) -> None:
    """An archive at schema 17 stored ESC as it was (and refused NUL): the
    migration escapes it, after which the text reads back as written and the
    chain, hashed over that text, verifies."""
    url = pg_cluster.create_database("old")
    raw = pg.PgConnection(url, readonly=False)
    try:
        for stmt in _PG_BOOTSTRAP:
            raw.execute(stmt)
        apply_migrations(raw, 0, upto=17)
        raw.execute("BEGIN IMMEDIATE")
        old = [
            ChannelSeen(Channel(CID, f"title {ESC}0", "old_channel"), T0),
            PostSeen(Post(CID, 1, T0, f"old {ESC}0 and {ESC}1 and {ESC}"), T0, "live"),
        ]
        assert apply_events(raw, old, ()).errors == 0
        raw.execute("COMMIT")
    finally:
        raw.close()
    # What a schema-17 telewatch left: the text as given (this one's ESCs
    # were escaped when written; undo that).
    with psycopg.connect(url, autocommit=True) as c:
        columns = c.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND data_type = 'text'"
        ).fetchall()
        for table, col in columns:  # the chain's records too
            c.execute(
                f'UPDATE "{table}" SET "{col}" = replace("{col}", chr(65535) || \'1\', chr(65535))'
            )
        stored = c.execute("SELECT text FROM posts").fetchone()[0]
        assert stored == f"old {ESC}0 and {ESC}1 and {ESC}"
    migrate(Path(url))
    conn = connect(Path(url))
    try:
        assert conn.execute("SELECT text FROM posts").fetchone()[0] == (
            f"old {ESC}0 and {ESC}1 and {ESC}"
        )
        assert conn.execute("SELECT title FROM channels").fetchone()[0] == f"title {ESC}0"
        assert verify(conn).ok
    finally:
        conn.close()


def test_array_and_named_parameters_are_escaped_too() -> None:
    assert pg._params(["a\x00", 1, None]) == (f"a{ESC}0", 1, None)
    assert pg._params([["x\x00", ESC], 2]) == ([f"x{ESC}0", f"{ESC}1"], 2)
    assert pg._params({"t": "\x00", "n": 3}) == {"t": f"{ESC}0", "n": 3}
    plain = ("no escape", 1)
    assert pg._params(plain) == plain
