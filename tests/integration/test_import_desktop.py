"""Importing Telegram Desktop JSON exports into the archive."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from telewatch.models import ChannelSeen, PostSeen, UserError
from telewatch.sources.desktop_export import ExportReader, import_paths
from telewatch.store.chain import chain_head, verify
from telewatch.store.db import connect
from telewatch.store.queries import get_post, search


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
def test_bad_export_leaves_archive_unchanged(tmp_path: Path, cut: Any, expected: str) -> None:
    """A truncated/invalid export fails with file and position; content and chain stay as they were."""
    db = tmp_path / "a.db"
    good = _export(tmp_path / "good" / "result.json", [_msg(1, "kept")], cid=1700000002)
    import_paths(db, [good])
    conn = connect(db)
    head = chain_head(conn)
    bad = _export(tmp_path / "bad" / "result.json", [_msg(i, f"message {i}") for i in range(1, 40)])
    bad.write_text(cut(bad.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(UserError, match=expected) as info:
        import_paths(db, [bad])
    assert str(bad) in str(info.value) and "line " in str(info.value)
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
