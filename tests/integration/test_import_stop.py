"""SIGTERM (or Ctrl-C) during `telewatch import`, in a real subprocess, on
SQLite and PostgreSQL: the file being imported is rolled back, the files
before it stay imported, one line says where it stopped and that the same
command resumes, the exit code is 143 (130 for SIGINT); run again, the
archive equals one imported without a stop (nothing lost, nothing twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from telewatch.store.chain import verify
from telewatch.store.db import connect
from tests.fixtures.postgres import PostgresCluster
from tests.integration.test_import_desktop import TELEWATCH, _big_export, _export, _msg

BIG = 25_000  # 15 MB, above the parallel-parse size: the parser runs in a child process


def _exports(root: Path) -> list[Path]:
    first = _export(
        root / "first" / "result.json",
        [_msg(i, f"first {i}") for i in range(1, 51)],
        cid=1700000021,
    )
    big = _big_export(root / "big" / "result.json", BIG)  # channel 1700000009
    last = _export(
        root / "last" / "result.json", [_msg(i, f"last {i}") for i in range(1, 21)], cid=1700000022
    )
    return [first, big, last]


def _content(db: Path) -> tuple[list[tuple[int, int, str]], int]:
    """Every post (channel, id, text) and the number of versions."""
    conn = connect(db)
    try:
        posts = [
            (int(r[0]), int(r[1]), str(r[2]))
            for r in conn.execute(
                "SELECT p.channel_id, p.message_id, v.text FROM posts p JOIN post_versions v"
                " ON v.channel_id = p.channel_id AND v.message_id = p.message_id"
                " ORDER BY p.channel_id, p.message_id, v.version_no"
            ).fetchall()
        ]
        versions = int(conn.execute("SELECT count(*) FROM post_versions").fetchone()[0])
        res = verify(conn)
        assert res.ok, res.problem
    finally:
        conn.close()
    return posts, versions


def _posts_of(db: Path, cid: int) -> int:
    conn = connect(db)
    try:
        return int(
            conn.execute("SELECT count(*) FROM posts WHERE channel_id = ?", (cid,)).fetchone()[0]
        )
    finally:
        conn.close()


def _stop_during_the_big_file(
    db: Path, files: list[Path], started: Callable[[], bool], sig: signal.Signals, group: bool
) -> tuple[int, str]:
    proc = subprocess.Popen(
        [TELEWATCH, "--db", str(db), "import", "--quiet", *map(str, files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: killpg reaches it and its parser child
        env={**os.environ, "TELEWATCH_IMPORT_CACHE_KIB": "512"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not started():
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be stopped"
    # Into the big file (``started`` says its pages are being written); not
    # a whole second more: on an idle machine SQLite imports its 25,000
    # posts in about that, and the signal then came after the import (exit
    # 0) or as it exited (killed by SIGINT).
    time.sleep(0.2)
    assert proc.poll() is None, "the import ended before it could be stopped"
    if group:  # as systemd or a terminal's Ctrl-C: every process of the group
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def _check(db: Path, ref: Path, files: list[Path], rc: int, err: str, code: int) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == code, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"import stopped at file {files[1]}, post "), err
    assert lines[0].endswith("run the same command again to resume"), err
    assert "1 file(s) before it imported" in lines[0]
    assert _posts_of(db, 1700000021) == 50  # the file before: committed
    assert _posts_of(db, 1700000009) == 0  # the stopped file: rolled back
    assert _posts_of(db, 1700000022) == 0  # not begun
    again = subprocess.run(
        [TELEWATCH, "--db", str(db), "import", "--quiet", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    subprocess.run(
        [TELEWATCH, "--db", str(ref), "import", "--quiet", *map(str, files)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    got, want = _content(db), _content(ref)
    assert got[1] == want[1] == 50 + BIG + 20
    assert got == want  # nothing lost, nothing twice


@pytest.mark.parametrize(
    ("sig", "group", "code"), [(signal.SIGTERM, True, 143), (signal.SIGINT, False, 130)]
)
def test_a_signal_stops_a_sqlite_import_cleanly_and_a_rerun_resumes(
    tmp_path: Path, sig: signal.Signals, group: bool, code: int
) -> None:
    files = _exports(tmp_path)
    db = tmp_path / "a.db"
    journal = Path(f"{db}-journal")

    def started() -> bool:  # bulk mode: the big file's pages reach the journal
        return db.exists() and journal.exists() and journal.stat().st_size > 64 * 1024

    rc, err = _stop_during_the_big_file(db, files, started, sig, group)
    _check(db, tmp_path / "ref.db", files, rc, err, code)


def test_sigterm_stops_a_postgresql_import_cleanly_and_a_rerun_resumes(
    tmp_path: Path, pg_url: str, pg_cluster: PostgresCluster
) -> None:
    files = _exports(tmp_path)
    db = Path(pg_url)

    def started() -> bool:  # the first file committed: the big one is being imported
        try:
            with psycopg.connect(pg_url, autocommit=True) as c:
                n = c.execute("SELECT count(*) FROM posts WHERE channel_id = 1700000021")
                return int(n.fetchone()[0]) == 50  # type: ignore[index]
        except psycopg.Error:  # not created yet
            return False

    rc, err = _stop_during_the_big_file(db, files, started, signal.SIGTERM, True)
    _check(db, Path(pg_cluster.create_database("ref")), files, rc, err, 143)
