"""Polls and service messages of Telegram Desktop exports (issue 14):
imported through the store functions the daemon uses (a poll with one
results sample of source ``import``, channel actions, pin events),
idempotent on re-import, chained; a malformed one is one counted skip and
the rest of the file is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from telewatch.sources.desktop_export import import_paths
from telewatch.store import events
from telewatch.store.chain import verify
from telewatch.store.db import connect

TELEWATCH = str(Path(sys.executable).with_name("telewatch"))
CID = 1700000044


def _export(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Poll Channel", "type": "public_channel", "id": CID, "messages": messages}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _base(mid: int, kind: str = "message") -> dict[str, Any]:
    return {
        "id": mid,
        "type": kind,
        "date": "2022-03-01T10:42:00",
        "date_unixtime": str(1646131320 + mid),
    }


def _msg(mid: int, text: str, **extra: Any) -> dict[str, Any]:
    return {**_base(mid), "from": "Poll Channel", "from_id": f"channel{CID}", "text": text,
            "text_entities": [{"type": "plain", "text": text}], **extra}  # fmt: skip


def _service(mid: int, action: str, **extra: Any) -> dict[str, Any]:
    return {**_base(mid, "service"), "actor": "Poll Channel", "actor_id": f"channel{CID}",
            "action": action, "text": "", "text_entities": [], **extra}  # fmt: skip


def _poll(question: str, votes: list[int], *, closed: bool = False) -> dict[str, Any]:
    return {
        "question": question,
        "closed": closed,
        "total_voters": sum(votes),
        "answers": [
            {"text": f"answer {i}", "voters": v, "chosen": i == 0} for i, v in enumerate(votes)
        ],
    }


def _messages() -> list[dict[str, Any]]:
    return [
        _service(1, "create_channel", title="Poll Channel"),
        _msg(2, "first post"),
        _msg(3, "", media_type="poll", poll=_poll("Which bridge reopens first?", [4, 7, 1])),
        _service(4, "pin_message", message_id=3),
        _service(5, "edit_group_title", title="Poll Channel (renamed)"),
        _service(
            6,
            "edit_group_photo",
            photo="(File not included. Change data exporting settings to download.)",
            photo_file_size=9000,
            width=640,
            height=640,
        ),
        _msg(7, "a closed poll", poll=_poll("Curfew tonight?", [10, 2], closed=True)),
        _service(8, "delete_group_photo"),
        # malformed: a poll with one answer, a pin without its message id
        _msg(9, "bad poll", poll={"question": "Only one?", "answers": [{"text": "x"}]}),
        _service(10, "pin_message"),
        _msg(11, "last post"),
    ]


def test_polls_and_service_messages_are_imported_once(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    path = _export(tmp_path / "export" / "result.json", _messages())
    first = import_paths(db, [path])
    f = first.files[0]
    assert f.messages == 5 and f.service == 6 and f.skipped == 2
    assert f.new_posts == 5  # the post with the bad poll is archived all the same

    conn = connect(db)
    try:
        poll = events.poll_of(conn, CID, 3)
        assert poll is not None and poll.question == "Which bridge reopens first?"
        assert list(poll.answers) == ["answer 0", "answer 1", "answer 2"]
        assert len(poll.samples) == 1
        s = poll.samples[0]
        assert (s.closed, s.total_voters, s.source) == (False, 12, "import")
        assert s.counts == (4, 7, 1)
        closed = events.poll_of(conn, CID, 7)
        assert closed is not None and closed.samples[-1].closed
        assert events.poll_of(conn, CID, 9) is None
        assert events.pinned_now(conn, CID) == [3]
        history = events.channel_history(conn, CID)
        kinds = [e.what for e in history]
        assert "service:pin" in kinds and "service:title" in kinds
        assert "service:photo" in kinds and "service:photo_removed" in kinds
        assert any(e.what == "service:other" and e.new == "create_channel" for e in history)
        assert any(e.new == "Poll Channel (renamed)" for e in history)
        res = verify(conn)
        assert res.ok, res.problem
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("polls", "poll_samples", "channel_actions", "pin_events", "chain")}  # fmt: skip
    finally:
        conn.close()
    assert counts["polls"] == 2 and counts["channel_actions"] == 5 and counts["pin_events"] == 1

    # Re-importing the same export changes nothing.
    again = import_paths(db, [path])
    assert again.files[0].skipped == 2 and again.new_posts == 0
    conn = connect(db)
    try:
        assert {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts
        } == counts
    finally:
        conn.close()

    # A later export with changed results adds one sample; the CLI reports the skips.
    msgs = _messages()
    msgs[2]["poll"] = _poll("Which bridge reopens first?", [5, 9, 1])
    later = _export(tmp_path / "later" / "result.json", msgs)
    time.sleep(1.1)  # samples are kept per second: the later import is a later second
    out = subprocess.run(
        [TELEWATCH, "--db", str(db), "import", str(later)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "2 malformed polls/service messages skipped" in out.stdout, out.stdout
    conn = connect(db)
    try:
        poll = events.poll_of(conn, CID, 3)
        assert poll is not None and [s.counts for s in poll.samples] == [(4, 7, 1), (5, 9, 1)]
        assert verify(conn).ok
    finally:
        conn.close()


def test_dev_export_pins_come_from_its_service_messages(tmp_path: Path, xref_dev: Path) -> None:
    db = tmp_path / "a.db"
    path = xref_dev / "channels" / "anbar_eye" / "result.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    pins = sorted(
        int(m["message_id"])
        for m in doc["messages"]
        if m.get("type") == "service" and m.get("action") == "pin_message"
    )
    assert pins, "the dev export has pin service messages"
    summary = import_paths(db, [path])
    assert summary.files[0].skipped == 0
    conn = connect(db)
    try:
        assert events.pinned_now(conn, int(doc["id"])) == pins
        assert verify(conn).ok
    finally:
        conn.close()
