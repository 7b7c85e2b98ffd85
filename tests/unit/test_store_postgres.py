"""The PostgreSQL backend against a real server (tests/fixtures/postgres.py):
migrations, the writer and hash chain, the reading commands and search give
what SQLite gives for the same events; `telewatch migrate --to` copies an
archive both ways, resumably."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import UserError
from telewatch.store import chain, pg, schema
from telewatch.store.chain import head, verify
from telewatch.store.copy import copy_archive
from telewatch.store.db import connect, migrate, pg_address
from telewatch.store.queries import search
from telewatch.store.writer import apply_events
from telewatch.text import fts_query, tokens
from tests.fixtures.postgres import PostgresCluster
from tests.unit.test_store_chain import _history

FIXED_NOW = "2026-01-02T03:04:05Z"


def _cli(db: str | Path, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _unscored(out: str) -> list[dict[str, object]]:
    """Search hits without their score: BM25 (FTS5) and ts_rank (PostgreSQL)
    are different numbers for the same ranking purpose."""
    hits = json.loads(out)
    for h in hits:
        assert isinstance(h.pop("score"), float)
    return list(hits)


def _write_history(address: str | Path) -> None:
    migrate(Path(address))
    conn = connect(Path(address), readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, _history(), [])  # type: ignore[arg-type]
    conn.execute("COMMIT")
    conn.close()
    assert stats.errors == 0, stats.reasons


def test_address_survives_a_path() -> None:
    """A postgresql:// address keeps working after the CLI made it a Path."""
    url = "postgresql://u:secret@127.0.0.1:5432/arch?sslmode=disable"
    assert pg_address(Path(url)) == url
    assert pg_address(url) == url
    assert pg_address(Path("data/telewatch.db")) is None
    assert "secret" not in pg.masked(url)
    # libpq also takes the password as a parameter
    assert "secret" not in pg.masked(
        "postgresql://u@127.0.0.1/arch?sslmode=disable&password=secret"
    )


def test_env_and_config_name_a_postgres_archive(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TELEWATCH_STORAGE__DB and the config's storage.db take an address too."""
    _write_history(pg_url)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["verify"], env={"TELEWATCH_STORAGE__DB": pg_url})
    assert r.exit_code == 0 and f"ok: {pg_url}: 9 chain records" in r.output, r.output
    cfg = tmp_path / "tw.toml"
    cfg.write_text(f'[storage]\ndb = "{pg_url}"\n')
    r = CliRunner().invoke(main, ["--config", str(cfg), "search", "first"])
    assert r.exit_code == 0 and "rafidain/10" in r.output, r.output


def test_migrations_create_the_current_schema_once(pg_url: str) -> None:
    """A fresh database is brought to SCHEMA_VERSION; migrating again changes
    nothing; the connection answers like SQLite (rows by name and index)."""
    migrate(Path(pg_url))
    migrate(Path(pg_url))
    conn = connect(Path(pg_url))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    row = conn.execute("SELECT count(*) AS n, 1 = 1 AS yes FROM posts").fetchone()
    assert (row["n"], row[1], tuple(row)) == (0, 1, (0, 1))


def test_foreign_and_empty_databases_are_refused(pg_cluster: PostgresCluster) -> None:
    """A database holding other tables is not taken for an archive; an empty
    one is not read as an empty archive."""
    url = pg_cluster.create_database()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(UserError, match="not a telewatch archive"):
        migrate(Path(url))
    with pytest.raises(UserError, match="empty"):
        connect(Path(pg_cluster.create_database()))
    with pytest.raises(UserError, match="cannot open archive"):
        connect(Path(pg_cluster.url("no_such_database")))


def test_same_events_give_same_chain_and_same_outputs(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same events written into SQLite and PostgreSQL: same chain head,
    both verify, and export, show, search, channels and status print the same."""
    monkeypatch.setattr(chain, "now_iso", lambda: FIXED_NOW)
    lite = tmp_path / "a.db"
    _write_history(lite)
    _write_history(pg_url)
    heads = [head(connect(Path(a))).hash for a in (lite, pg_url)]
    assert heads[0] == heads[1] != chain.GENESIS
    for a in (lite, pg_url):
        res = verify(connect(Path(a)))
        assert res.ok, res.problem
        assert (res.versions, res.deletions, res.samples, res.records) == (3, 1, 2, 9)
    outputs = []
    for a, name in ((lite, "lite"), (pg_url, "pg")):
        out = tmp_path / f"{name}.jsonl"
        csv = tmp_path / f"{name}.csv"
        _cli(a, "export", "-o", str(out))
        _cli(a, "export", "--format", "csv", "-o", str(csv))
        outputs.append(
            (
                out.read_bytes(),
                csv.read_bytes(),
                _cli(a, "show", "rafidain/10"),
                _cli(a, "show", "rafidain/11"),
                _cli(a, "search", "first"),
                _unscored(_cli(a, "search", "--json", "second")),
                _cli(a, "channels", "archived"),
                _cli(a, "channels", "add", "@some_channel", "--mode", "poll"),
                [
                    {k: v for k, v in e.items() if k != "added_at"}
                    for e in json.loads(_cli(a, "channels", "list", "--json"))
                ],
                _cli(a, "status"),
            )
        )
    assert outputs[0] == outputs[1]
    assert b"first, edited" in outputs[0][0]


def _corpus_queries(conn: sqlite3.Connection) -> list[str]:
    """Words of the archive itself (every script it has), pairs of them,
    and the FTS syntax a user types with --raw."""
    words: dict[str, None] = {}
    for (text,) in conn.execute("SELECT text FROM posts ORDER BY id"):
        for w in tokens(text)[:6]:
            if len(w) > 3:
                words[w] = None
    picked = list(words)[::7][:80]
    pairs = [f"{a} {b}" for a, b in zip(picked[::2], picked[1::2], strict=False)][:20]
    return picked + pairs


_RAW = [
    "convoy OR взрыв",
    "«CONVÓY» NOT Nothing",
    "body : diwaniya*",
    '"السَّماوة صباح" OR (Взрыв AND «Самаре»)',
    "baghdad* NOT attack",
    "meta : c1 OR body : (convoy)",
    '"security forces"',
    "(رتل OR عبوة) AND بغداد",
]


def test_search_finds_the_same_posts_on_both(
    dev_archive: Path, pg_cluster: PostgresCluster
) -> None:
    """The search corpus (the dev archive's own words in Arabic, Russian,
    English…, plain and --raw, with channel and date filters) finds the same
    posts on PostgreSQL as on SQLite."""
    url = pg_cluster.create_database()
    copy_archive(dev_archive, Path(url))
    lite, pgc = connect(dev_archive), connect(Path(url))
    queries = _corpus_queries(lite)
    assert len(queries) > 50
    channel = int(lite.execute("SELECT channel_id FROM posts LIMIT 1").fetchone()[0])
    first, last = lite.execute("SELECT min(date), max(date) FROM posts").fetchone()
    from datetime import timedelta

    from telewatch.store.db import parse_iso

    mid = parse_iso(first) + (parse_iso(last) - parse_iso(first)) / 2
    found = 0
    others = [
        int(r[0])
        for r in lite.execute(
            "SELECT DISTINCT channel_id FROM posts WHERE channel_id <> ?", (channel,)
        )
    ]
    assert others  # the exclusions below leave posts out of a search over several channels
    filters: list[dict[str, object]] = [
        {},
        {"channel_id": channel},
        {"since": mid},
        {"until": mid},
        {"channel_id": channel, "since": mid},
        # A few days, cut inside the first and last day (posts of those
        # days are checked against the exact times, the days between not).
        {"since": mid - timedelta(days=2, hours=5), "until": mid + timedelta(days=1, hours=7)},
        {"channel_ids": [channel, others[0]]},
        {"exclude_channels": [channel]},
    ]
    for q in queries:
        for kw in filters:
            a = {(h.channel_id, h.message_id) for h in search(lite, q, limit=1000, **kw)}  # type: ignore[arg-type]
            b = {(h.channel_id, h.message_id) for h in search(pgc, q, limit=1000, **kw)}  # type: ignore[arg-type]
            assert a == b, (q, kw)
            found += len(a)
    for q in _RAW:
        a = {(h.channel_id, h.message_id) for h in search(lite, q, raw=True, limit=1000)}
        b = {(h.channel_id, h.message_id) for h in search(pgc, q, raw=True, limit=1000)}
        assert a == b, q
    assert found > len(queries)  # the corpus finds posts, not only nothing
    for bad in ('"unbalanced', "baghdad AND NOT attack", "(convoy"):
        for conn in (lite, pgc):
            with pytest.raises(UserError, match="bad FTS5 query"):
                search(conn, bad, raw=True)


def test_a_search_by_id_blocks_finds_what_one_range_finds(
    dev_archive: Path, pg_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads the newest block of ids first, with the block's own
    GIN index, and goes on to older blocks only while fewer than the
    window's matches are found (pg.fts_search). With blocks of 16 ids and a
    window of 7, most searches need several blocks (the newest holds fewer
    matches than the window) and some the rest after BLOCK_RANGES blocks:
    the posts and scores are exactly those of one range over every id, and
    the posts are those SQLite's FTS5 ranks (its 7 newest matches), with
    each filter. The copy created each block's index."""
    monkeypatch.setattr(pg, "FTS_BLOCK", 16)
    url = pg_cluster.create_database()
    copy_archive(dev_archive, Path(url))
    lite, pgc = connect(dev_archive), connect(Path(url))
    assert isinstance(pgc, pg.PgConnection)
    top_id = int(pgc.execute("SELECT max(rowid) FROM posts_fts").fetchone()[0])
    names = {
        r[0]
        for r in pgc.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'posts_fts'"
            " AND indexname LIKE 'posts_fts_body_%'"
        )
    }
    assert names == {pg._block_name(k) for k in range((top_id - 1) // 16 + 1)}
    assert len(names) > pg.BLOCK_RANGES
    channel = int(lite.execute("SELECT channel_id FROM posts LIMIT 1").fetchone()[0])
    first, last = lite.execute("SELECT min(date), max(date) FROM posts").fetchone()
    from datetime import timedelta

    from telewatch.store import queries
    from telewatch.store.db import parse_iso

    mid = parse_iso(first) + (parse_iso(last) - parse_iso(first)) / 2
    window = 7
    filters: list[dict[str, object]] = [
        {},
        {"channel_id": channel},
        {"since": mid - timedelta(days=2, hours=5), "until": mid + timedelta(days=1, hours=7)},
        {"exclude_channels": [channel]},
    ]
    widened = 0
    for q in _corpus_queries(lite)[:40]:
        expr = fts_query(q)
        assert expr is not None
        for kw in filters:
            since, until = kw.get("since"), kw.get("until")
            where: list[str] = []
            args: list[object] = []
            queries._date_window(where, args, since, until)  # type: ignore[arg-type]
            days = queries._day_tokens(since, until)  # type: ignore[arg-type]
            common = {
                "channel_id": kw.get("channel_id"),
                "date_where": where,
                "date_args": args,
                "window": window,
                "days": (days[0][1:], days[-1][1:]) if days else None,
                "exclude_channels": kw.get("exclude_channels", ()),
            }
            blocks = pg.fts_search(pgc, expr, **common)  # type: ignore[arg-type]
            whole = pg.fts_search(pgc, expr, block=10**12, **common)  # type: ignore[arg-type]
            assert blocks == whole, (q, kw)
            assert len(whole) <= window
            # The window holds the newest matches, newest first.
            assert [r[0] for r in whole] == sorted((r[0] for r in whole), reverse=True)
            # The filter's newest block held fewer matches than the window:
            # the search went on to older blocks.
            top = pgc.execute(
                "SELECT max(rowid) FROM posts_fts"
                + (" WHERE channel_id = ?" if kw.get("channel_id") else ""),
                [kw["channel_id"]] if kw.get("channel_id") else [],
            ).fetchone()[0]
            widened += bool(whole) and whole[-1][0] <= (top - 1) // 16 * 16
    assert widened > 20  # many searches needed more than their first block
    # Through `search`, against FTS5's own window on SQLite.
    monkeypatch.setattr(queries, "SCORE_WINDOW", window)
    for q in _corpus_queries(lite)[:40]:
        for kw in filters:
            a = {(h.channel_id, h.message_id) for h in search(lite, q, limit=100, **kw)}  # type: ignore[arg-type]
            b = {(h.channel_id, h.message_id) for h in search(pgc, q, limit=100, **kw)}  # type: ignore[arg-type]
            assert a == b, (q, kw)


def test_migration_17_builds_the_block_indexes_once(
    dev_archive: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 17 on an archive whose block indexes are missing (an archive
    of schema 15) builds them; run again, it changes nothing."""
    monkeypatch.setattr(pg, "FTS_BLOCK", 64)
    copy_archive(dev_archive, Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    assert isinstance(conn, pg.PgConnection)

    def blocks() -> set[str]:
        return {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'posts_fts_body_%'"
            )
        }

    built = blocks()
    assert len(built) > 3
    for name in built:
        conn.execute(f"DROP INDEX {name}")
    assert blocks() == set()
    from telewatch.store import reindex

    conn.execute("BEGIN IMMEDIATE")
    reindex.fts_blocks(conn)
    conn.execute("COMMIT")
    assert blocks() == built
    conn.execute("BEGIN IMMEDIATE")
    reindex.fts_blocks(conn)
    conn.execute("COMMIT")
    assert blocks() == built
    conn.close()


def test_migrate_round_trip_sqlite_postgres_sqlite(
    dev_archive: Path, pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Must show: SQLite → PostgreSQL → SQLite: exports identical, heads
    identical, verify passes on each copy."""
    url = pg_cluster.create_database()
    back = tmp_path / "back.db"
    out1 = json.loads(_cli(dev_archive, "migrate", "--to", url, "--json"))
    out2 = json.loads(_cli(url, "migrate", "--to", str(back), "--json"))
    src_head = head(connect(dev_archive)).hash
    assert out1["ok"] and out2["ok"]
    assert out1["head"] == out2["head"] == src_head
    assert out1["rows_copied"] == out1["rows"] > 1000
    exports = []
    for i, a in enumerate((dev_archive, url, back)):
        f = tmp_path / f"e{i}.jsonl"
        _cli(a, "export", "-o", str(f))
        exports.append(f.read_bytes())
        assert f"ok: {a}: " in _cli(a, "verify")
    assert exports[0] == exports[1] == exports[2]
    assert exports[0].count(b"\n") == 326
    # The rebuilt search index finds what the original finds.
    q = _corpus_queries(connect(dev_archive))[0]
    assert _cli(back, "search", q) == _cli(dev_archive, "search", q) != ""


class _Cut(Exception):
    pass


def test_migrate_resumes_after_an_interruption(
    dev_archive: Path, pg_cluster: PostgresCluster
) -> None:
    """A copy cut off mid-way continues on the next run: every row once,
    the head the source's."""
    url = pg_cluster.create_database()

    def cut(done: int, total: int) -> None:
        # Cut once some rows are in, whatever the number of (empty) tables before.
        if done >= 200:
            raise _Cut

    with pytest.raises(_Cut):
        copy_archive(dev_archive, Path(url), progress=cut, batch_rows=50)
    partial = connect(Path(url))
    n_partial = sum(
        int(partial.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
        for t in ("channels", "posts", "post_versions", "chain")
    )
    assert n_partial > 0
    res = copy_archive(dev_archive, Path(url), batch_rows=50)
    assert res.already > 0 and res.already + sum(res.copied.values()) == res.total
    lite, pgc = connect(dev_archive), connect(Path(url))
    for t in ("posts", "post_versions", "chain", "engagement", "deletions", "channels"):
        q = f"SELECT count(*) FROM {t}"
        assert lite.execute(q).fetchone()[0] == pgc.execute(q).fetchone()[0], t
    assert head(pgc).hash == head(lite).hash
    assert verify(pgc).ok


def test_migrate_refuses_a_target_holding_another_archive(
    dev_archive: Path, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy never mixes two archives; nothing in the target is changed."""
    monkeypatch.setattr(chain, "now_iso", lambda: FIXED_NOW)
    _write_history(pg_url)
    before = head(connect(Path(pg_url))).hash
    with pytest.raises(UserError, match="another archive"):
        copy_archive(dev_archive, Path(pg_url))
    assert head(connect(Path(pg_url))).hash == before
    with pytest.raises(UserError, match="between a SQLite file and PostgreSQL"):
        copy_archive(dev_archive, tmp_path / "x.db")


_PORTABLE_MIGRATION = """
-- A migration as docs/SCHEMA.md asks other engineers to write one.
CREATE TABLE sample_files (
    id            INTEGER PRIMARY KEY,      -- rowid alias: max + 1 when not given
    version_id    INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('photo','video')),
    size          REAL,
    data          BLOB,
    meta          TEXT,                     -- JSON
    UNIQUE (version_id, kind)
);
CREATE INDEX sample_files_kind ON sample_files(kind) WHERE kind != 'photo';
CREATE TABLE sample_tags (
    version_id    INTEGER NOT NULL,
    tag           TEXT NOT NULL,
    PRIMARY KEY (version_id, tag)
) WITHOUT ROWID;
ALTER TABLE sample_files ADD COLUMN note TEXT;
"""


def test_a_portable_migration_runs_the_same_on_both(pg_url: str, tmp_path: Path) -> None:
    """DDL and statements in the portable subset of docs/SCHEMA.md give the
    same rows on SQLite and PostgreSQL: rowid ids, lastrowid, INSERT OR
    IGNORE, upserts, json_extract, null-safe IS, group_concat, empty IN."""
    from telewatch.store.db import split_statements

    lite = tmp_path / "m.db"
    migrate(lite)
    migrate(Path(pg_url))
    results = []
    for address in (lite, Path(pg_url)):
        conn = connect(address, readonly=False)
        conn.execute("BEGIN IMMEDIATE")
        for stmt in split_statements(_PORTABLE_MIGRATION):
            conn.execute(stmt)
        cur = conn.execute(
            "INSERT INTO sample_files(version_id, kind, size, data, meta) VALUES (?,?,?,?,?)",
            (7, "photo", 1.5, b"\x00\xff", '{"w": "4", "h": 3}'),
        )
        first = cur.lastrowid
        conn.execute(
            "INSERT OR IGNORE INTO sample_files(version_id, kind) VALUES (?, ?)", (7, "photo")
        )
        conn.execute("INSERT INTO sample_files(id, version_id, kind) VALUES (10, 8, 'video')")
        second = conn.execute(
            "INSERT INTO sample_files(version_id, kind, note) VALUES (9, 'video', '100%')"
        ).lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO sample_tags(version_id, tag) VALUES (?, ?)",
            [(7, "a"), (7, "b"), (7, "a")],
        )
        conn.execute(
            "INSERT INTO sample_tags(version_id, tag) VALUES (7, 'b')"
            " ON CONFLICT(version_id, tag) DO UPDATE SET tag = excluded.tag"
            " WHERE sample_tags.tag IS NOT excluded.tag"
        )
        conn.execute("COMMIT")
        rows = conn.execute(
            "SELECT id, version_id, kind, size, data, json_extract(meta, '$.w'), note,"
            " max(id, version_id), note IS NULL FROM sample_files ORDER BY id"
        ).fetchall()
        tags = conn.execute(
            "SELECT version_id, group_concat(tag) FROM sample_tags GROUP BY version_id"
        ).fetchall()
        empty = conn.execute(
            f"SELECT count(*) FROM sample_files WHERE id IN ({','.join('?' * 0)})"
        ).fetchone()[0]
        results.append(
            (
                first,
                second,
                [tuple(r) for r in rows],
                [(t[0], sorted(t[1].split(","))) for t in tags],
                empty,
            )
        )
        conn.close()
    assert results[0] == results[1]
    assert results[0][:2] == (1, 11)


def test_an_import_leaves_fresh_planner_statistics(pg_url: str, tmp_path: Path) -> None:
    """An import into PostgreSQL ends with ANALYZE of posts and posts_fts:
    the planner then knows how many posts there are and how often each word
    occurs, instead of the empty tables' figures it had before."""
    from datetime import UTC, datetime, timedelta

    from telewatch.sources.desktop_export import import_paths
    from tests.fixtures.xref import write_export

    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    posts = [
        (i, t0 + timedelta(minutes=i), f"convoy number {i} near Samawa") for i in range(1, 301)
    ]
    export = write_export(tmp_path, "analyzed", "Analyzed", 1_700_000_001, posts)
    import_paths(Path(pg_url), [export])
    with psycopg.connect(pg_url) as raw:
        rows = dict(
            raw.execute(
                "SELECT relname, n_live_tup FROM pg_stat_user_tables"
                " WHERE relname IN ('posts', 'posts_fts') AND last_analyze IS NOT NULL"
            ).fetchall()
        )
        assert set(rows) == {"posts", "posts_fts"}
        (estimate,) = raw.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'posts_fts'"
        ).fetchone()  # type: ignore[misc]
    assert estimate == 300
    hits = search(connect(Path(pg_url)), "Samawa convoy", limit=5)
    assert len(hits) == 5


def test_a_repeated_search_is_planned_for_its_own_words(dev_archive: Path, pg_url: str) -> None:
    """psycopg prepares a statement after five runs, and the server would
    then switch to one generic plan for any tsquery (a walk over every post,
    newest first: the whole table for a rare word). Store sessions plan each
    run with its values: the prepared search statements never use a generic
    plan, however often they run."""
    copy_archive(dev_archive, Path(pg_url))
    conn = connect(Path(pg_url))
    assert isinstance(conn, pg.PgConnection)
    for _ in range(4):
        for q in ("Samawa", "convoy", "no-such-word-anywhere", "Baghdad"):
            search(conn, q)
    generic, custom = conn.pg.execute(
        "SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements"
        " WHERE statement LIKE '%posts_fts%' AND statement LIKE '%tsquery%'"
    ).fetchone()  # type: ignore[misc]
    assert custom >= 10  # the search statement was prepared and run many times
    assert generic == 0
    conn.close()


def test_address_options_are_kept_beside_ours(pg_cluster: PostgresCluster) -> None:
    """`?options=` of the address (here a search_path: the archive in a
    schema of its own) is merged with the read-only session's option, not
    replaced by it; the address's connect_timeout wins over ours."""
    base = pg_cluster.create_database("opts")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute("CREATE SCHEMA tw")
    url = f"{base}?options=-c%20search_path%3Dtw&connect_timeout=7"
    _write_history(url)
    with psycopg.connect(base) as c:
        schemas = {r[0] for r in c.execute("SELECT table_schema FROM information_schema.tables"
                                           " WHERE table_name = 'posts'")}  # fmt: skip
    assert schemas == {"tw"}
    conn = connect(Path(url), readonly=True)
    try:
        assert conn.execute("SHOW search_path").fetchone()[0] == "tw"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 2
    finally:
        conn.close()
    assert pg.connect_params(url, readonly=False) == {"client_encoding": "UTF8"}
    assert "rafidain/10" in _cli(url, "search", "first")
