"""Hostile inputs against the archive and import commands (issue 10): nothing
typed or fed in may lose, damage or silently rewrite the archive's history."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import Media, PostDeleted
from telewatch.store.db import connect, migrate
from telewatch.store.schema import SCHEMA_VERSION
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0, post_seen

CHANNEL = 1500000001
BASE_TIME = 1646120520  # 2022-03-01


def _run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _msg(i: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "type": "message",
        "date": "2022-03-01T10:00:00",
        "date_unixtime": str(BASE_TIME + i),
        "text": f"post {i}" if text is None else text,
        **extra,
    }


def _export(path: Path, msgs: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Rafidain", "type": "public_channel", "id": CHANNEL, "messages": msgs}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_archive(tmp_path: Path) -> Path:
    """An archive of one channel with posts 1..20, checkpointed (no -wal)."""
    db = tmp_path / "data" / "telewatch.db"
    export = _export(tmp_path / "channels" / "rafidain_watch" / "result.json",
                     [_msg(i) for i in range(1, 21)])  # fmt: skip
    code, _, err = _run(db, "import", "-q", str(export))
    assert code == 0, err
    return db


# --------------------------------------------------------------------------
# 1. export never writes over the archive
# --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["archive", "symlink", "wal", "shm", "hardlink"])
def test_export_refuses_to_write_over_the_archive(small_archive: Path, target: str) -> None:
    """`export -o` naming the archive, a symlink or hard link to it, or its
    -wal/-shm exits 2 with one line; the archive is unchanged and verifies."""
    db = small_archive
    before = _digest(db)
    if target == "archive":
        out = db
    elif target == "symlink":
        out = db.parent / "link.jsonl"
        out.symlink_to(db)
    elif target == "hardlink":
        out = db.parent / "hard.jsonl"
        os.link(db, out)
    else:
        out = Path(f"{db}-{target}")
    code, _, err = _run(db, "export", "-o", str(out))
    assert code == 2
    assert err.count("\n") == 1 and "refusing to write" in err and "would destroy it" in err
    assert _digest(db) == before
    assert _run(db, "verify")[0] == 0


def test_export_dash_means_stdout_and_a_file_is_replaced_whole(
    small_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o -` writes to stdout (no file named '-'); `-o FILE` leaves no temporary file."""
    db = small_archive
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(db, "export", "-o", "-")
    assert code == 0 and len(out.splitlines()) == 20
    assert not Path("-").exists()
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    assert _run(db, "export", "-o", str(target))[0] == 0
    assert len(target.read_text().splitlines()) == 20
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --------------------------------------------------------------------------
# 5. integrity check
# --------------------------------------------------------------------------


def _damage(db: Path) -> None:
    """512 random bytes into the posts table's page, after its page header."""
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'posts'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with db.open("r+b") as fh:
        fh.seek((root - 1) * page + 8)
        fh.write(random.Random(10).randbytes(512))


def test_verify_and_import_refuse_a_damaged_file(small_archive: Path, tmp_path: Path) -> None:
    """verify exits 1 with one line on a file with a damaged page; import
    refuses to write into it (exit 2) and leaves the file as it was."""
    db = small_archive
    _damage(db)
    code, out, err = _run(db, "verify")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("DAMAGED: ")
    before = _digest(db)
    export = _export(tmp_path / "more.json", [_msg(30)])
    code, _, err = _run(db, "import", str(export))
    assert code == 2 and "is damaged" in err and err.count("\n") == 1
    assert _digest(db) == before


# --------------------------------------------------------------------------
# 6. read-only archive
# --------------------------------------------------------------------------

_NO_ROOT_OVERRIDE = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search,-fowner",
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
    "--",
]


def test_every_reading_command_works_on_a_read_only_copy(small_archive: Path) -> None:
    """An evidence copy (file 0444 in a 0555 folder), read by a process
    that honours file modes (root without CAP_DAC_OVERRIDE, so that the
    test is real as root and on CI), verifies, searches, shows and exports."""
    prefix = _NO_ROOT_OVERRIDE if os.geteuid() == 0 else []
    db = small_archive
    folder = db.parent
    db.chmod(0o444)
    folder.chmod(0o555)
    exe = Path(sys.executable).with_name("telewatch")
    try:
        probe = subprocess.run([*prefix, "touch", str(folder / "x")], capture_output=True)
        assert probe.returncode != 0, "the test process can still write the folder"
        for args in (
            ["verify"],
            ["search", "post"],
            ["show", "@rafidain_watch/3"],
            ["export"],
            ["export", "--format", "csv", "--channel", str(CHANNEL)],
        ):
            r = subprocess.run(
                [*prefix, str(exe), "--db", str(db), *args], capture_output=True, text=True
            )
            assert r.returncode == 0, (args, r.stderr)
            assert r.stdout
        assert sorted(p.name for p in folder.iterdir()) == ["telewatch.db"]
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


# --------------------------------------------------------------------------
# 7. foreign SQLite files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("user_version", [0, -1, 7])
def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path, user_version: int) -> None:
    """A SQLite file of another program (tables of its own, user_version 0,
    -1 or any) is refused by reading and writing commands with one line
    saying it is not a telewatch archive; it gets no table of ours."""
    db = tmp_path / "notes.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes(body) VALUES ('mine')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    before = _digest(db)
    export = _export(tmp_path / "e.json", [_msg(1)])
    for args in (["import", str(export)], ["search", "x"], ["verify"], ["export"]):
        code, _, err = _run(db, *args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1
        assert "is not a telewatch archive (it has tables notes" in err, err
        assert "choose another --db" in err
    assert _digest(db) == before


# --------------------------------------------------------------------------
# 9. disk full
# --------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    """A 1 MiB tmpfs (needs mount rights: root with CAP_SYS_ADMIN)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_disk_full_during_import_names_the_cause(tiny_disk: Path, tmp_path: Path) -> None:
    """Importing onto a full disk (a real 1 MiB tmpfs) says "disk full while
    importing …; nothing was written" and the archive keeps what it had."""
    db = tiny_disk / "a.db"
    first = _export(tmp_path / "first.json", [_msg(i) for i in range(1, 11)])
    assert _run(db, "import", "-q", str(first))[0] == 0
    big = [_msg(i, f"post {i} " + "x" * 2000 + f" {i}") for i in range(11, 2000)]
    code, _, err = _run(db, "import", str(_export(tmp_path / "big.json", big)))
    assert code == 2, err
    assert err.count("\n") == 1 and "disk full while importing" in err
    assert "nothing was written" in err
    code, out, _ = _run(db, "export")
    assert code == 0 and len(out.splitlines()) == 10
    assert _run(db, "verify")[0] == 0


# --------------------------------------------------------------------------
# 10. a file that is not an export creates nothing
# --------------------------------------------------------------------------


def test_import_of_a_non_export_creates_no_archive(tmp_path: Path) -> None:
    """Importing a non-JSON file, a JSON file that is not an export or a
    folder exits 2 with one `error:` line and creates no archive file."""
    db = tmp_path / "data" / "telewatch.db"
    notes = tmp_path / "notes.txt"
    notes.write_text("hello, not JSON\n")
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    folder = tmp_path / "channels" / "rafidain_watch"
    _export(folder / "result.json", [_msg(1)])
    for path, words in (
        (notes, "expected a JSON object"),
        (other, 'no "messages" list'),
        (folder, f"is a folder, not an export file; import {folder / 'result.json'}"),
    ):
        code, _, err = _run(db, "import", str(path))
        assert code == 2
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
        assert not db.parent.exists()


# --------------------------------------------------------------------------
# 4. values no reader can show are refused at the import boundary
# --------------------------------------------------------------------------

_HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("year 999", {"date_unixtime": "-30610224000"}, "date_unixtime"),
    ("1970", {"date_unixtime": "0"}, "date_unixtime"),
    ("future", {"date_unixtime": "99999999999"}, "date_unixtime"),
    ("date dict", {"date_unixtime": {"x": 1}}, "date_unixtime"),
    ("edit year 999", {"edited_unixtime": "-30610224000"}, "edited_unixtime"),
    ("id 2**63", {"id": 2**63}, "id"),
    ("id negative", {"id": -5}, "id"),
    ("id float", {"id": 5.5}, "id"),
    ("width inf", {"photo": "p.jpg", "width": 1e999}, "width"),
    ("height str", {"photo": "p.jpg", "height": "12"}, "height"),
    ("size 2**70", {"file": "f.mp4", "file_size": 2**70}, "file_size"),
    ("duration nan", {"file": "f.mp4", "duration_seconds": float("nan")}, "duration_seconds"),
    ("author dict", {"author": {"name": "x"}}, "author"),
    ("mime list", {"file": "f.mp4", "mime_type": ["video/mp4"]}, "mime_type"),
    ("text dict", {"text": {"a": 1}}, "text"),
    ("run text dict", {"text": [{"type": "bold", "text": {"a": 1}}]}, "text"),
    ("href int", {"text_entities": [{"type": "text_link", "text": "x", "href": 5}]}, "href"),
    ("reply 2**64", {"reply_to_message_id": 2**64}, "reply_to_message_id"),
    ("reaction count", {"reactions": [{"emoji": "👍", "count": 1e999}]}, "count"),
    ("forward dict", {"forwarded_from": {"id": 1}}, "forwarded_from"),
]


@pytest.mark.parametrize(("name", "fields", "field"), _HOSTILE, ids=[h[0] for h in _HOSTILE])
def test_hostile_field_is_refused_naming_file_message_and_field(
    small_archive: Path, tmp_path: Path, name: str, fields: dict[str, Any], field: str
) -> None:
    """An export message with a value no reader can show (a date before 2013
    or in the future, an id ≥ 2**63, an infinite width, a dict where text
    belongs) exits 2 naming file, message id and field; nothing is stored
    and every reader still works."""
    db = small_archive
    bad = {**_msg(21), **fields}
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    _export(export, [_msg(i) for i in range(1, 21)] + [bad, _msg(22)])
    before = _run(db, "export")[1]
    code, _, err = _run(db, "import", str(export))
    assert code == 2, err
    assert err.count("\n") == 1
    assert str(export) in err and f"malformed message {bad['id']!r}"[:30] in err
    assert field in err
    assert _run(db, "export")[1] == before
    for args in (["search", "post"], ["show", "@rafidain_watch/20"], ["verify"]):
        assert _run(db, *args)[0] == 0, args


def test_schema_version_constant_is_what_new_archives_get(small_archive: Path) -> None:
    """An archive created by import is at SCHEMA_VERSION (no foreign-file false alarm)."""
    conn = sqlite3.connect(small_archive)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# --------------------------------------------------------------------------
# 2. inferred deletions: held back when massive, revived when seen alive
# --------------------------------------------------------------------------


def _show(db: Path, mid: int) -> dict[str, Any]:
    code, out, err = _run(db, "show", f"{CHANNEL}/{mid}", "--json")
    assert code == 0, err
    detail: dict[str, Any] = json.loads(out)
    return detail


def _deleted_ids(db: Path) -> list[int]:
    rows = [json.loads(line) for line in _run(db, "export")[1].splitlines()]
    return sorted(r["message_id"] for r in rows if r["deleted"])


def test_crafted_export_cannot_mark_a_channel_deleted(tmp_path: Path) -> None:
    """An export of two messages (the first id and 99999999) marks nothing
    deleted without --record-deletions and says so loudly; with it, the
    deletions are recorded, and the genuine export afterwards revives every
    post with a recorded change (the tombstones stay)."""
    db = tmp_path / "a.db"
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    genuine = [_msg(i) for i in range(1, 41)]
    _export(export, genuine)
    assert _run(db, "import", "-q", str(export))[0] == 0
    _export(export, [_msg(1), _msg(99999999)])
    code, out, err = _run(db, "import", str(export))
    assert code == 0
    assert "WARNING" in err and "would mark 39 of 41 archived posts" in err
    assert "NOT recorded" in err and "--record-deletions" in err
    assert "39 implied deletions NOT recorded" in out
    assert _deleted_ids(db) == []

    code, out, _ = _run(db, "import", "--record-deletions", str(export))
    assert code == 0 and "39 deletions found" in out
    assert _deleted_ids(db) == list(range(2, 41))

    _export(export, genuine)
    code, out, _ = _run(db, "import", str(export))
    assert code == 0 and "39 posts recorded deleted before are alive (revived)" in out
    assert _deleted_ids(db) == []
    detail = _show(db, 7)
    assert detail["deletion"]["method"] == "import"
    assert [c[0] for c in detail["deletion"]["changes"]] == ["revived"]
    code, text, _ = _run(db, "show", "@rafidain_watch/7")
    assert "REVIVED" in text and "seen alive" in text
    assert _run(db, "verify")[0] == 0


def test_a_small_share_of_deletions_is_still_recorded(tmp_path: Path) -> None:
    """A later export missing 3 of 40 posts records them deleted without a flag."""
    db = tmp_path / "a.db"
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    _export(export, [_msg(i) for i in range(1, 41)])
    assert _run(db, "import", "-q", str(export))[0] == 0
    _export(export, [_msg(i) for i in range(1, 41) if i not in (5, 6, 30)])
    code, out, err = _run(db, "import", str(export))
    assert code == 0 and "WARNING" not in err and "3 deletions found" in out
    assert _deleted_ids(db) == [5, 6, 30]


def test_daemon_capture_revives_only_inferred_deletions(tmp_path: Path) -> None:
    """A live capture of a post tombstoned by an export gap revives it
    (recorded); a deletion Telegram reported is not undone by a capture; a
    revived post deleted again is deleted, with both changes recorded."""
    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    later = T0.replace(hour=9)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, [post_seen(CHANNEL, 1, "one"), post_seen(CHANNEL, 2, "two")], ())
    apply_events(
        conn, [PostDeleted(CHANNEL, 1, T0, "import"), PostDeleted(CHANNEL, 2, T0, "event")], ()
    )
    seen = [post_seen(CHANNEL, 1, "one", seen=later), post_seen(CHANNEL, 2, "two", seen=later)]
    seen = [type(ev)(ev.post, ev.seen_at, source="live") for ev in seen]
    apply_events(conn, seen, ())
    conn.execute("COMMIT")
    conn.close()
    assert _show(db, 1)["deletion"]["changes"][0][0] == "revived"
    assert _deleted_ids(db) == [2]
    conn = connect(db, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, [PostDeleted(CHANNEL, 1, later.replace(hour=10), "reconcile")], ())
    conn.execute("COMMIT")
    conn.close()
    assert [c[0] for c in _show(db, 1)["deletion"]["changes"]] == ["revived", "deleted_again"]
    assert _deleted_ids(db) == [1, 2]


# --------------------------------------------------------------------------
# 3. versions follow Telegram's edit dates, not import order
# --------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["old-new-old-new", "new-old-new-old"])
def test_alternating_exports_make_two_versions_and_keep_the_newest(
    tmp_path: Path, order: str
) -> None:
    """Importing an older and a newer export alternately gives two versions,
    and the post shows the text with the newest Telegram edit date."""
    db = tmp_path / "a.db"
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    old = [_msg(1, "casualties reported in Samawa")]
    new = [_msg(1, "no casualties in Samawa", edited_unixtime=str(BASE_TIME + 3600))]
    for step in order.split("-"):
        _export(export, old if step == "old" else new)
        assert _run(db, "import", "-q", str(export))[0] == 0
    detail = _show(db, 1)
    assert len(detail["versions"]) == 2
    assert detail["text"] == "no casualties in Samawa"
    rows = [json.loads(line) for line in _run(db, "export")[1].splitlines()]
    assert rows[0]["text"] == "no casualties in Samawa" and rows[0]["versions"] == 2
    code, out, _ = _run(db, "search", "casualties", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    assert _run(db, "verify")[0] == 0


def test_reimporting_the_backfilled_export_adds_no_media_only_versions(tmp_path: Path) -> None:
    """A post the daemon captured (video with mime, size, dimensions) and an
    export of the same post (video, other details; one post deleted since)
    make no new version: only the fields both sources carry are compared."""
    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    video = Media(kind="video", mime="video/mp4", size=1234, width=640, height=360, duration=3.0)
    events = [
        post_seen(
            CHANNEL, i, f"post {i}", date=datetime.fromtimestamp(BASE_TIME + i, UTC), media=video
        )
        for i in (1, 2, 3)
    ]
    events = [type(ev)(ev.post, ev.seen_at, source="backfill") for ev in events]
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, events, ())
    apply_events(conn, [PostDeleted(CHANNEL, 2, events[0].seen_at, "event")], ())
    conn.execute("COMMIT")
    conn.close()
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    extra = {"file": "(File not included)", "media_type": "video_file", "mime_type": "video/mp4"}
    _export(export, [_msg(i, **extra) for i in (1, 2, 3)])
    code, out, _ = _run(db, "import", str(export))
    assert code == 0 and "0 versions written" in out, out
    for mid in (1, 2, 3):
        assert len(_show(db, mid)["versions"]) == 1
    code, text, _ = _run(db, "show", "@rafidain_watch/1")
    assert "media changed" not in text
    assert _deleted_ids(db) == [2]


def test_truncated_zero_length_and_text_files_get_one_line_each(
    small_archive: Path, tmp_path: Path
) -> None:
    """A truncated archive is DAMAGED for verify (exit 1) and refused by
    import (unchanged); a zero-length file is an empty archive for readers;
    a text file is not an archive; nothing ends in a traceback."""
    trunc = tmp_path / "trunc.db"
    trunc.write_bytes(small_archive.read_bytes()[: 64 * 1024])
    code, _, err = _run(trunc, "verify")
    assert code == 1 and err.startswith("DAMAGED: ") and err.count("\n") == 1
    before = _digest(trunc)
    export = _export(tmp_path / "e.json", [_msg(1)])
    code, _, err = _run(trunc, "import", str(export))
    assert code == 2 and "is damaged" in err and _digest(trunc) == before
    zero = tmp_path / "zero.db"
    zero.write_bytes(b"")
    code, _, err = _run(zero, "search", "x")
    assert code == 2 and "is empty (no telewatch tables yet)" in err
    text = tmp_path / "text.db"
    text.write_text("hello\n")
    for args in (["verify"], ["import", str(export)]):
        code, _, err = _run(text, *args)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert text.read_text() == "hello\n"
    code, _, err = _run(small_archive, "export", "-o", str(tmp_path))
    assert code == 2 and "is a folder; name a file in it" in err


def test_nesting_bomb_non_utf8_and_duplicate_ids(tmp_path: Path) -> None:
    """A [[[…]]] nesting bomb and a Latin-1 file get one line and create
    nothing; duplicate and out-of-order ids import without inferring deletions."""
    db = tmp_path / "a.db"
    bomb = tmp_path / "bomb.json"
    bomb.write_text(
        '{"name": "R", "id": 1500000001, "messages": [{"id": 1, "text": '
        + "[" * 100_000
        + "]" * 100_000
        + "}]}"
    )
    latin = tmp_path / "latin.json"
    doc = {"name": "R", "type": "public_channel", "id": CHANNEL, "messages": [_msg(1, "é")]}
    latin.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    for path, words in ((bomb, "JSON nested too deeply"), (latin, "not UTF-8 text")):
        code, _, err = _run(db, "import", str(path))
        assert code == 2 and err.count("\n") == 1 and words in err, err
        assert not db.exists()
    export = _export(tmp_path / "dup.json", [_msg(1), _msg(1), _msg(5), _msg(3), _msg(9)])
    code, out, _ = _run(db, "import", str(export))
    assert code == 0 and "4 new posts, 4 versions written" in out and "deletions" not in out


def test_a_folder_as_db_is_one_line_for_every_command(tmp_path: Path) -> None:
    """`--db FOLDER` gets the same one-line `error:` style from reading and
    writing commands (not click's usage block)."""
    folder = tmp_path / "data"
    folder.mkdir()
    export = _export(tmp_path / "e.json", [_msg(1)])
    for args in (["search", "x"], ["import", str(export)], ["verify"]):
        code, _, err = _run(folder, *args)
        assert code == 2 and err.count("\n") == 1
        assert err.startswith(f"error: archive {folder} is a folder"), err
    assert list(folder.iterdir()) == []
