"""Importing Telegram Desktop JSON exports into the archive."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from telewatch.models import ChannelSeen, PostSeen, UserError
from telewatch.sources.desktop_export import ExportReader, import_paths
from telewatch.store.chain import chain_head, verify
from telewatch.store.db import connect
from telewatch.store.queries import get_post, search

TELEWATCH = str(Path(sys.executable).with_name("telewatch"))


def _export(path: Path, messages: list[dict[str, Any]], *, cid: int = 1700000001) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Test Channel", "type": "public_channel", "id": cid, "messages": messages}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _msg(mid: int, text: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "message",
        "date": "2022-03-01T10:42:00",
        "date_unixtime": str(1646120520 + mid),
        "from": "Test Channel",
        "from_id": "channel1700000001",
        "text": text,
        **extra,
    }


def test_dev_exports_import_every_message_and_reimport_adds_nothing(
    tmp_path: Path, xref_dev: Path
) -> None:
    """All 326 messages of the five dev exports are archived once; service messages are counted."""
    db = tmp_path / "a.db"
    paths = sorted(xref_dev.glob("channels/*/result.json"))
    first = import_paths(db, paths)
    assert first.messages == 326 and first.new_posts == 326
    assert sum(f.service for f in first.files) == 7
    assert {f.username for f in first.files} == {
        "rafidain_watch", "furat_flash", "iraq_security_desk", "khabar_fori", "anbar_eye",
    }  # fmt: skip
    again = import_paths(db, paths)
    assert again.new_posts == 0 and again.new_versions == 0
    conn = connect(db)
    assert verify(conn).ok
    assert conn.execute("SELECT count(*) FROM post_versions").fetchone()[0] == 326


def test_dev_archive_post_details(dev_archive: Path) -> None:
    """Dates come from date_unixtime, forwards/replies/media/entities are kept."""
    conn = connect(dev_archive)
    edited = get_post(conn, 1500000004, 92509)
    assert edited is not None and edited.edit_date is not None
    assert edited.date.isoformat() == "2022-03-04T13:20:47+00:00"  # date_unixtime, not local date
    fwd = get_post(conn, 1500000002, 45252)
    assert fwd is not None and fwd.forward is not None and fwd.forward.name == "Rafidain Watch"
    photo = get_post(conn, 1500000001, 18344)
    assert photo is not None and photo.media is not None and photo.media.kind == "photo"
    assert photo.media.width == 1280
    tagged = get_post(conn, 1500000001, 18343)
    assert tagged is not None and tagged.entities[0].type == "hashtag"
    start = tagged.entities[0].offset
    assert tagged.text.encode("utf-16-le")[start * 2 :].decode("utf-16-le").startswith("#ازدواجية")


def test_dev_archive_arabic_search_with_and_without_diacritics(dev_archive: Path) -> None:
    """The Samawa claim is found by the bare spelling and by the vowelled one."""
    conn = connect(dev_archive)
    bare = {(h.username, h.message_id) for h in search(conn, "السماوة", limit=50)}
    vowelled = {(h.username, h.message_id) for h in search(conn, "السَّماوَة", limit=50)}
    assert ("rafidain_watch", 18372) in bare
    assert bare == vowelled


def test_text_array_form_gives_utf16_entities(tmp_path: Path) -> None:
    """The array form of text becomes plain text with UTF-16 entity offsets and links."""
    text = ["🔴 عاجل ", {"type": "mention", "text": "@furat_flash"}, " ",
            {"type": "text_link", "text": "here", "href": "https://example.org/a"}]  # fmt: skip
    path = _export(tmp_path / "e" / "result.json", [_msg(5, text)])
    items = list(ExportReader(path))
    assert isinstance(items[0], ChannelSeen) and items[0].channel.username is None
    post = items[1]
    assert isinstance(post, PostSeen) and post.source == "import"
    assert post.post.text == "🔴 عاجل @furat_flash here"
    mention, link = post.post.entities
    assert (mention.type, mention.offset, mention.length) == ("mention", 8, 12)  # 🔴 is 2 units
    assert (link.type, link.url) == ("text_link", "https://example.org/a")
    db = tmp_path / "a.db"
    import_paths(db, [path], username="@test_chan")
    detail = get_post(connect(db), 1700000001, 5)
    assert detail is not None and detail.url == "https://t.me/test_chan/5"
    assert {"username": "furat_flash"} in detail.tme_refs
    assert "https://example.org/a" in detail.links


def test_changed_export_adds_a_version(tmp_path: Path) -> None:
    """Re-importing an export whose text changed records the new version."""
    db = tmp_path / "a.db"
    path = _export(tmp_path / "e" / "result.json", [_msg(1, "two dead"), _msg(2, "calm")])
    import_paths(db, [path])
    _export(
        path,
        [
            _msg(1, "three dead", edited="2022-03-01T18:02:00", edited_unixtime="1646146920"),
            _msg(2, "calm"),
        ],
    )
    summary = import_paths(db, [path])
    assert (summary.new_posts, summary.new_versions) == (0, 1)
    detail = get_post(connect(db), 1700000001, 1)
    assert detail is not None and [v.text for v in detail.versions] == ["two dead", "three dead"]


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        (lambda s: s[: len(s) // 2], r"file ends early \(truncated export\?\)"),
        (lambda s: s.replace('"type": "message"', '"type": "message",,', 1), r"invalid JSON"),
        (lambda s: s.replace('"id": 2,', '"id": "two",', 1), r"malformed message 'two'"),
    ],
)
@pytest.mark.parametrize("reader_open", [True, False], ids=["wal", "bulk"])
def test_bad_export_leaves_archive_unchanged(
    tmp_path: Path, cut: Any, expected: str, reader_open: bool
) -> None:
    """A truncated/invalid export fails with file and position; content and
    chain stay as they were, whether the import ran beside a reader (WAL) or
    alone (bulk mode, rollback journal)."""
    db = tmp_path / "a.db"
    good = _export(tmp_path / "good" / "result.json", [_msg(1, "kept")], cid=1700000002)
    import_paths(db, [good])
    conn = connect(db)
    head = chain_head(conn)
    if not reader_open:
        conn.close()
    bad = _export(tmp_path / "bad" / "result.json", [_msg(i, f"message {i}") for i in range(1, 40)])
    bad.write_text(cut(bad.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(UserError, match=expected) as info:
        import_paths(db, [bad])
    assert str(bad) in str(info.value) and "line " in str(info.value)
    if not reader_open:
        conn = connect(db)
    assert _journal_mode(db) == "wal"
    assert chain_head(conn) == head
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


def test_not_an_export_is_explained(tmp_path: Path) -> None:
    """A JSON file without a messages list is refused with a one-line reason."""
    path = tmp_path / "x.json"
    path.write_text('{"chats": {"list": []}}')
    with pytest.raises(UserError, match="not a single-chat Telegram Desktop export"):
        import_paths(tmp_path / "a.db", [path])
    with pytest.raises(UserError, match="does not exist"):
        import_paths(tmp_path / "a.db", [tmp_path / "missing.json"])
    with pytest.raises(UserError, match="one file at a time"):
        import_paths(tmp_path / "a.db", [path, path], username="abcde")


def test_folder_name_gives_username_only_in_channels_layout(tmp_path: Path, xref_dev: Path) -> None:
    """channels/<username>/result.json names the channel; other folders do not."""
    src = xref_dev / "channels" / "anbar_eye" / "result.json"
    other = tmp_path / "downloads" / "anbar_eye" / "result.json"
    other.parent.mkdir(parents=True)
    shutil.copy(src, other)
    assert next(iter(ExportReader(src))).channel.username == "anbar_eye"  # type: ignore[union-attr]
    assert next(iter(ExportReader(other))).channel.username is None  # type: ignore[union-attr]


def test_large_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Reading a ~20 MB export keeps Python memory far below the file size."""
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"name": "Big", "type": "public_channel", "id": 1700000009, "messages": [\n')
        body = "نص طويل للاختبار " * 40
        for i in range(1, 20001):
            fh.write(("," if i > 1 else "") + json.dumps(_msg(i, body), ensure_ascii=False) + "\n")
        fh.write("]}\n")
    size = path.stat().st_size
    reader = ExportReader(path)
    tracemalloc.start()
    n = sum(1 for _ in reader)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 20001 and reader.messages == 20000
    assert size > 15_000_000 and peak < size / 4


def test_parallel_parser_process_gives_same_archive(
    tmp_path: Path, xref_dev: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are parsed in a child process with the same result and the same errors."""
    from telewatch.sources import desktop_export

    src = xref_dev / "channels" / "rafidain_watch" / "result.json"
    serial, parallel = tmp_path / "serial.db", tmp_path / "parallel.db"
    import_paths(serial, [src])
    monkeypatch.setattr(desktop_export, "PARALLEL_MIN_BYTES", 1)
    summary = import_paths(parallel, [src])
    assert (summary.messages, summary.files[0].service, summary.new_posts) == (59, 2, 59)
    query = "SELECT channel_id, message_id, date, text, entities, media, lang FROM posts ORDER BY 2"
    assert connect(parallel).execute(query).fetchall() == connect(serial).execute(query).fetchall()
    bad = tmp_path / "bad" / "result.json"
    bad.parent.mkdir()
    bad.write_text(src.read_text(encoding="utf-8")[:30_000], encoding="utf-8")
    with pytest.raises(UserError, match=r"file ends early .* at line \d+"):
        import_paths(parallel, [bad])
    assert connect(parallel).execute("SELECT count(*) FROM posts").fetchone()[0] == 59


def test_prepared_path_matches_the_event_path(xref_dev: Path) -> None:
    """The bulk import path stores exactly what the PostSeen path would."""
    from telewatch.store.writer import prepare_post

    src = xref_dev / "channels" / "khabar_fori" / "result.json"
    reader = ExportReader(src)
    via_events = [prepare_post(i) for i in reader if isinstance(i, PostSeen)]
    direct = [i for i in ExportReader(src).prepared() if not isinstance(i, ChannelSeen)]
    assert len(via_events) == 63
    assert [p._replace(seen="") for p in via_events] == [p._replace(seen="") for p in direct]


def _big_export(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"name": "Big", "type": "public_channel", "id": 1700000009, "messages": [\n')
        for i in range(1, n + 1):
            body = f"رتل {i} في السماوة صباح اليوم وانفجار قرب الطريق الدولي " * 4
            fh.write(("," if i > 1 else "") + json.dumps(_msg(i, body), ensure_ascii=False) + "\n")
        fh.write("]}\n")
    return path


def _journal_mode(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def test_import_alone_runs_in_bulk_mode_and_leaves_wal(
    tmp_path: Path, import_journal_modes: list[str]
) -> None:
    """Nobody else has the archive open: the import writes through a rollback
    journal under an exclusive lock, and the archive is in WAL mode after."""
    db = tmp_path / "a.db"
    import_paths(db, [_export(tmp_path / "x" / "result.json", [_msg(1, "one"), _msg(2, "two")])])
    assert import_journal_modes == ["truncate"]
    assert _journal_mode(db) == "wal"
    assert not Path(f"{db}-journal").exists() or Path(f"{db}-journal").stat().st_size == 0
    assert connect(db).execute("SELECT count(*) FROM posts").fetchone()[0] == 2


def test_import_beside_an_open_reader_stays_in_wal_without_waiting(
    tmp_path: Path, import_journal_modes: list[str]
) -> None:
    """A daemon or dashboard has the archive open: the import keeps WAL, does
    not wait for the busy timeout, and the reader sees the posts after."""
    db = tmp_path / "a.db"
    import_paths(db, [_export(tmp_path / "a" / "result.json", [_msg(1, "one")], cid=1700000003)])
    reader = connect(db)
    assert reader.execute("SELECT count(*) FROM posts").fetchone()[0] == 1
    during: list[int] = []

    def progress(done: int, total: int) -> None:  # per batch in the transaction, then per file
        during.append(reader.execute("SELECT count(*) FROM posts").fetchone()[0])

    t0 = time.monotonic()
    export = _export(tmp_path / "b" / "result.json", [_msg(1, "x"), _msg(2, "y")])
    import_paths(db, [export], progress=progress)
    assert time.monotonic() - t0 < 3
    assert import_journal_modes == ["truncate", "wal"]  # setup alone (bulk), then beside us
    assert during == [1, 3]  # the committed state while importing, never blocked; then all
    assert reader.execute("SELECT count(*) FROM posts").fetchone()[0] == 3


def test_kill_9_during_a_bulk_import_leaves_the_archive_as_before(tmp_path: Path) -> None:
    """SIGKILL in the middle of a bulk import: the next reader (telewatch
    verify, read-only) rolls the hot journal back; content, chain and WAL
    mode are as before the import; importing again then completes."""
    db = tmp_path / "a.db"
    import_paths(db, [_export(tmp_path / "a" / "result.json", [_msg(1, "kept")], cid=1700000003)])
    conn = connect(db)
    before = chain_head(conn)
    size = db.stat().st_size
    conn.close()
    big = _big_export(tmp_path / "big" / "result.json", 60_000)
    proc = subprocess.Popen(
        [TELEWATCH, "--db", str(db), "import", "--quiet", str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # A small page cache: pages spill into the database file early, so
        # the kill really leaves changed pages for the journal to undo.
        env={**os.environ, "TELEWATCH_IMPORT_CACHE_KIB": "512"},
    )
    journal = Path(f"{db}-journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.stat().st_size > 0:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    while time.monotonic() < deadline and proc.poll() is None and db.stat().st_size < 4 * size:
        time.sleep(0.02)
    proc.kill()
    # The parser child (large files are parsed in a forked process) notices
    # and exits; it holds the stderr pipe, so this also waits for it.
    proc.communicate(timeout=10)
    assert journal.exists() and journal.stat().st_size > 0  # a hot journal was left
    assert db.stat().st_size >= 4 * size  # and pages of the cut import in the file
    out = subprocess.run(
        [TELEWATCH, "--db", str(db), "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: ") and ": 3 chain records verified (1 versions" in out.stdout
    conn = connect(db)
    assert chain_head(conn) == before
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 1
    matches = conn.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'c1700000009'")
    assert matches.fetchone()[0] == 0
    assert _journal_mode(db) == "wal"
    assert import_paths(db, [big]).new_posts == 60_000
    assert verify(connect(db)).ok


def test_other_processes_get_a_clear_busy_error_during_a_bulk_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a bulk import holds the archive, opening it (reader or writer)
    fails after the busy timeout with one line naming the archive and why."""
    from telewatch.sources import desktop_export
    from telewatch.store import db as db_module

    db = tmp_path / "a.db"
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    seen: list[str] = []
    real = desktop_export._import_one

    def open_elsewhere(conn: sqlite3.Connection, *args: Any) -> Any:
        out = real(conn, *args)
        for opener in (lambda: connect(db), lambda: db_module.migrate(db)):
            with pytest.raises(UserError) as info:
                opener()
            seen.append(str(info.value))
        return out

    monkeypatch.setattr(desktop_export, "_import_one", open_elsewhere)
    import_paths(db, [_export(tmp_path / "x" / "result.json", [_msg(1, "one")])])
    assert len(seen) == 2
    assert all(f"archive {db} is busy" in m and "bulk `telewatch import`" in m for m in seen)
    assert connect(db).execute("SELECT count(*) FROM posts").fetchone()[0] == 1


def test_a_later_export_without_some_posts_records_them_as_deleted(tmp_path: Path) -> None:
    """Posts an earlier capture archived that a later export lacks, inside the
    export's id range, get an "import" tombstone (posts and versions kept);
    service messages in gaps, posts outside the range and a re-import change
    nothing; an export out of id order reports no deletion."""
    db = tmp_path / "a.db"
    src = tmp_path / "c" / "result.json"
    service = {"id": 6, "type": "service", "date": "2022-03-01T10:42:00", "action": "pin"}
    first = [_msg(i, f"post {i}") for i in range(1, 11) if i != 6]
    _export(src, [*first[:5], service, *first[5:]])
    import_paths(db, [src])
    # A later export of ids 3..9: posts 4 and 7 are gone; 6 is still the service message.
    _export(
        src, [_msg(3, "post 3"), _msg(5, "post 5"), service, _msg(8, "post 8"), _msg(9, "post 9")]
    )
    summary = import_paths(db, [src])
    assert summary.found_deleted == 2
    conn = connect(db)
    rows = conn.execute("SELECT message_id, method FROM deletions ORDER BY message_id").fetchall()
    assert [tuple(r) for r in rows] == [(4, "import"), (7, "import")]
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 9  # all kept
    detail = get_post(conn, 1700000001, 4)
    assert detail is not None and detail.deletion is not None
    assert detail.deletion.method == "import" and len(detail.versions) == 1
    assert import_paths(db, [src]).found_deleted == 0
    _export(src, [_msg(9, "post 9"), _msg(2, "post 2")])  # out of order: gaps mean nothing
    assert import_paths(db, [src]).found_deleted == 0
    assert verify(conn).ok and verify(conn).deletions == 2
