"""The archive commands: import, search, show, export, verify."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from tests.fixtures.daemon import TELEWATCH


def _run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _dev_paths(xref_dev: Path) -> list[str]:
    return [str(p) for p in sorted(xref_dev.glob("channels/*/result.json"))]


def test_import_twice_then_verify_via_installed_entry_point(tmp_path: Path, xref_dev: Path) -> None:
    """The installed `telewatch` imports every message, a re-run adds nothing, verify passes."""
    exe = Path(sys.executable).with_name("telewatch")
    db = tmp_path / "a.db"
    first = subprocess.run(
        [exe, "--db", db, "import", *_dev_paths(xref_dev)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "imported 326 messages from 5 file(s)" in first.stdout
    assert (
        "@rafidain_watch (1500000001): 59 messages (2 service messages), 59 new posts"
        in first.stdout
    )
    second = subprocess.run(
        [exe, "--db", db, "import", *_dev_paths(xref_dev)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0 new posts, 0 versions written" in second.stdout
    ok = subprocess.run([exe, "--db", db, "verify"], capture_output=True, text=True, check=True)
    # 326 versions, 5 channels, 5 capture sessions, 30 media files not included in the
    # exports, and the 7 pin service messages (each a channel action and a pin event).
    assert ok.stdout.startswith("ok: ") and "380 chain records verified (326 versions" in ok.stdout


def test_corrupt_export_is_one_line_error_and_archive_unchanged(
    tmp_path: Path, xref_dev: Path
) -> None:
    """A truncated export exits 2 with one line naming file and position; nothing changes."""
    db = tmp_path / "a.db"
    _run(db, "import", "-q", str(xref_dev / "channels" / "anbar_eye" / "result.json"))
    before = _run(db, "export")[1]
    bad = tmp_path / "channels" / "furat_flash" / "result.json"
    bad.parent.mkdir(parents=True)
    text = (xref_dev / "channels" / "furat_flash" / "result.json").read_text(encoding="utf-8")
    bad.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    code, _, err = _run(db, "import", str(bad))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: file ends early")
    assert "line " in err
    assert _run(db, "export")[1] == before
    assert _run(db, "verify")[0] == 0


def test_search_finds_arabic_with_and_without_diacritics(dev_archive: Path) -> None:
    """search prints the Samawa claim with its t.me link for both spellings."""
    for q in ["السماوة", "السَّماوَة"]:
        code, out, _ = _run(dev_archive, "search", q, "--channel", "@rafidain_watch")
        assert code == 0
        assert "https://t.me/rafidain_watch/18372" in out


def test_search_json_and_filters(dev_archive: Path) -> None:
    """--json gives ranked hits with snippet highlights; --since/--until narrow them."""
    code, out, _ = _run(dev_archive, "search", "Diwaniyah", "--json", "--limit", "50")
    hits = json.loads(out)
    assert code == 0 and hits and all(h["channel_id"] for h in hits)
    first = hits[0]
    a, b = first["highlights"][0]
    assert first["snippet"][a:b].lower().startswith("diwaniya")
    code, out, _ = _run(
        dev_archive,
        "search",
        "Diwaniyah",
        "--json",
        "--since",
        "2022-03-03",
        "--until",
        "2022-03-03",
    )
    assert {h["date"][:10] for h in json.loads(out)} == {"2022-03-03"}


def test_search_bad_input_is_explained(dev_archive: Path) -> None:
    """Bad raw syntax, unknown channels and bad dates are one-line errors (exit 2)."""
    assert _run(dev_archive, "search", '"oops', "--raw")[2].startswith("error: bad FTS5 query")
    assert (
        "no channel '@nobody_here'"
        in _run(dev_archive, "search", "x", "--channel", "@nobody_here")[2]
    )
    assert "is not a date" in _run(dev_archive, "search", "x", "--since", "yesterday")[2]
    code, out, _ = _run(dev_archive, "search", '"Diwaniyah -convoy*:')
    assert code == 0 and "https://t.me/" in out


def test_show_lists_versions_with_word_diff(tmp_path: Path, xref_dev: Path) -> None:
    """show prints every version, the later one as a word diff, and the forward origin."""
    db = tmp_path / "a.db"
    src = tmp_path / "channels" / "khabar_fori" / "result.json"
    src.parent.mkdir(parents=True)
    shutil.copy(xref_dev / "channels" / "khabar_fori" / "result.json", src)
    _run(db, "import", "-q", str(src))
    doc = json.loads(src.read_text(encoding="utf-8"))
    for m in doc["messages"]:
        if m["id"] == 92509:
            m["text"] = m["text_entities"] = None
            m["text"] = "اتوبوس زائران واژگون شد؛ ۴ زائر جان باختند"
            del m["text_entities"]
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _run(db, "import", "-q", str(src))
    code, out, _ = _run(db, "show", "@khabar_fori/92509")
    assert code == 0
    assert "── version 1" in out and "── version 2" in out
    assert "{+" in out and "[-" in out
    code, out, _ = _run(db, "show", "https://t.me/khabar_fori/92477", "--json")
    detail = json.loads(out)
    assert detail["forward"]["name"] == "هواشناسی ایران"
    assert _run(db, "show", "khabar_fori/1")[2].startswith(
        "error: @khabar_fori/1 is not in the archive"
    )


def test_export_jsonl_and_csv_carry_documented_fields(dev_archive: Path, tmp_path: Path) -> None:
    """export writes one record per post with bare ids, UTC dates, version count and link."""
    code, out, _ = _run(dev_archive, "export", "--channel", "anbar_eye")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 60
    assert set(rows[0]) >= {"channel_id", "username", "message_id", "date", "text", "edit_date",
                            "versions", "deleted", "deleted_at", "forward_from", "views"}  # fmt: skip
    assert rows[0]["channel_id"] == 1500000005 and rows[0]["date"].endswith("Z")
    target = tmp_path / "out.csv"
    code, _, err = _run(dev_archive, "export", "--format", "csv", "--output", str(target))
    assert code == 0 and "exported 326 posts" in err
    parsed = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(parsed) == 326 and parsed[0]["url"].startswith("https://t.me/")


def test_verify_names_tampered_record(tmp_path: Path, xref_dev: Path) -> None:
    """verify exits 1 and names the record whose text was changed outside telewatch."""
    db = tmp_path / "a.db"
    _run(db, "import", "-q", str(xref_dev / "channels" / "anbar_eye" / "result.json"))
    raw = sqlite3.connect(db)
    raw.execute("UPDATE post_versions SET text = 'forged' WHERE message_id = 7640")
    raw.commit()
    raw.close()
    code, _, err = _run(db, "verify")
    assert code == 1
    assert "TAMPERED" in err and "post 1500000005/7640" in err
    code, out, _ = _run(db, "verify", "--json")
    assert json.loads(out)["ok"] is False


def test_reading_a_missing_archive_says_what_to_do(tmp_path: Path) -> None:
    """Reading commands on a missing archive point to import/run."""
    code, _, err = _run(tmp_path / "none.db", "search", "x")
    assert code == 2 and "run `telewatch import`" in err


def test_search_names_the_earlier_version_a_match_came_from(tmp_path: Path) -> None:
    """Re-importing an export whose post was edited keeps both texts; a search
    for the old words finds the post and says the words are in version 1."""
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    export.parent.mkdir(parents=True)
    db = tmp_path / "a.db"

    def write(text: str) -> None:
        msg = {"id": 7, "type": "message", "date": "2022-03-01T10:42:00",
               "date_unixtime": "1646120520", "text": text}  # fmt: skip
        doc = {"name": "Rafidain", "type": "public_channel", "id": 1500000001, "messages": [msg]}
        export.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    write("Convoy hit near Samawa this morning")
    assert _run(db, "import", "--quiet", str(export))[0] == 0
    write("Convoy hit near Diwaniya this morning")
    assert _run(db, "import", "--quiet", str(export))[0] == 0
    code, out, _ = _run(db, "search", "Samawa")
    assert code == 0
    assert "@rafidain_watch/7" in out and "[2 versions]" in out
    assert "[words found in version 1, edited since]" in out and "Samawa" in out
    code, out, _ = _run(db, "search", "Diwaniya")
    assert "@rafidain_watch/7" in out and "words found in version" not in out
    hits = json.loads(_run(db, "search", "Samawa", "--json")[1])
    assert [(h["message_id"], h["matched_version"]) for h in hits] == [(7, 1)]


def test_import_reports_posts_a_later_export_no_longer_has(tmp_path: Path) -> None:
    """The import summary counts archived posts missing from a later export
    (tombstoned, not removed); `show` then marks the post deleted."""
    export = tmp_path / "channels" / "rafidain_watch" / "result.json"
    export.parent.mkdir(parents=True)
    db = tmp_path / "a.db"

    def write(ids: list[int]) -> None:
        msgs = [
            {"id": i, "type": "message", "date_unixtime": str(1646120520 + i), "date": "",
             "text": f"post {i}"}
            for i in ids
        ]  # fmt: skip
        doc = {"name": "Rafidain", "type": "public_channel", "id": 1500000001, "messages": msgs}
        export.write_text(json.dumps(doc), encoding="utf-8")

    write([1, 2, 3, 4])
    assert _run(db, "import", str(export))[0] == 0
    write([1, 2, 4])
    code, out, _ = _run(db, "import", str(export))
    assert code == 0
    assert "1 archived posts deleted since (not in this export)" in out
    assert out.rstrip().endswith("0 new posts, 0 versions written, 1 deletions found")
    detail = json.loads(_run(db, "show", "@rafidain_watch/3", "--json")[1])
    assert detail["deletion"]["method"] == "import" and detail["text"] == "post 3"


def _closed_pipe_run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `telewatch --db DB ARGS` with stdout a pipe whose reader has
    already gone (what `| head -2` does once head exits): every write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [TELEWATCH, "--db", str(db), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


def test_commands_exit_quietly_when_the_reader_of_their_output_goes_away(
    dev_archive: Path,
) -> None:
    """`telewatch … | head` that closes early: no `BrokenPipeError` message, exit 0, for
    every reading command and for --help."""
    some = json.loads(
        subprocess.run(
            [TELEWATCH, "--db", str(dev_archive), "export", "--format", "jsonl"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.splitlines()[0]
    )
    post = f"{some['channel_id']}/{some['message_id']}"
    commands = [
        ("search", "السماوة"),
        ("search", "the", "--json"),
        ("show", post),
        ("export", "--format", "csv"),
        ("status",),
        ("channels", "archived"),
        ("channels", "list"),
        ("verify",),
        ("--help",),
        ("search", "--help"),
    ]
    for cmd in commands:
        r = _closed_pipe_run(*cmd, db=dev_archive)
        assert (r.returncode, r.stderr) == (0, ""), (cmd, r.returncode, r.stderr)


def test_channels_archived_lists_the_archive_not_the_watch_list(dev_archive: Path) -> None:
    """An import-only archive: `channels archived` lists its channels with post counts,
    `channels list` points to it, and `show` of an unknown channel names it."""
    code, out, _ = _run(dev_archive, "channels", "archived")
    assert code == 0
    lines = out.splitlines()[1:]
    assert len(lines) == 5 and all(line.startswith("@") for line in lines), out
    code, out, _ = _run(dev_archive, "channels", "archived", "--json")
    rows = json.loads(out)
    assert sum(r["posts"] for r in rows) == 326 and all(r["id"] > 0 for r in rows)
    code, out, _ = _run(dev_archive, "channels", "list")
    assert "watch list is empty" in out and "channels archived" in out
    r = CliRunner().invoke(main, ["--db", str(dev_archive), "show", "@not_archived_here/5"])
    assert r.exit_code == 2 and "`telewatch channels archived` lists them" in r.output


def test_channels_archived_neutralises_escape_sequences_in_titles(tmp_path: Path) -> None:
    """A hostile channel title with terminal escapes is printed without its control characters."""
    from telewatch.models import Channel, ChannelSeen
    from telewatch.store.db import connect, migrate
    from telewatch.store.writer import apply_events

    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    hostile = Channel(id=1500000777, username="evil_chan", title="\x1b]0;pwned\x07\x1b[2Jtitle")
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        apply_events(conn, [ChannelSeen(hostile, datetime.now(UTC))], ())
    conn.close()
    code, out, _ = _run(db, "channels", "archived")
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "title" in out
