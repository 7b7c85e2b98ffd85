"""Polls, pins and channel events archived equal to the emulator's truth
across a daemon restart, chained, and tampering detected (issue 14).

The emulator pushes what Telegram pushes (updateMessagePoll, updatePinned-
ChannelMessages, service messages, updateChannel); half of the changes are
made while the daemon is stopped, so they must come back through the
difference, reconciliation and getFullChannel."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telewatch.store import chain
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

CH = 1500004400
OLD = datetime(2024, 5, 1, tzinfo=UTC)


def _world(emu: Any) -> None:
    emu.add_channel(CH, "poll_watch", "Poll Watch", about="first about", subscribers=1200)
    for k in range(5):
        emu.post(CH, f"history post {k}", date=OLD + timedelta(hours=k), push=False)
    emu.join(CH)


def _truth(w: DaemonWorld) -> dict[str, Any]:
    return next(c for c in w.emu.truth()["channels"] if c["id"] == CH)


def _poll_id(w: DaemonWorld) -> int:
    t = _truth(w)
    return int(next(m["id"] for m in t["messages"] if m["poll"] is not None))


def event_problems(w: DaemonWorld) -> list[str]:
    """Differences between the archive's polls, pins and channel fields and the truth."""
    t = _truth(w)
    problems: list[str] = []
    for m in t["messages"]:
        poll = m["poll"]
        if poll is None:
            continue
        rows = w.query(
            "SELECT p.answers, s.voters, s.closed FROM polls p JOIN poll_samples s"
            " ON s.channel_id = p.channel_id AND s.message_id = p.message_id"
            " WHERE p.channel_id = ? AND p.message_id = ? ORDER BY s.sampled_at DESC LIMIT 1",
            CH,
            m["id"],
        )
        if not rows:
            problems.append(f"poll {m['id']}: not archived")
            continue
        answers = [t for _, t in json.loads(rows[0][0])]
        counts = dict(json.loads(rows[0][1]))
        got = [counts.get(f"{i:02x}", 0) for i in range(len(answers))]
        if answers != poll["answers"]:
            problems.append(f"poll {m['id']}: answers {answers} != {poll['answers']}")
        if got != poll["votes"] or bool(rows[0][2]) != poll["closed"]:
            problems.append(
                f"poll {m['id']}: votes {got} closed {bool(rows[0][2])}"
                f" != {poll['votes']} closed {poll['closed']}"
            )
    pinned = [
        int(r[0])
        for r in w.query(
            "SELECT message_id FROM pin_events p WHERE channel_id = ? AND id = (SELECT max(id)"
            " FROM pin_events q WHERE q.channel_id = p.channel_id"
            " AND q.message_id = p.message_id) AND pinned = 1 ORDER BY message_id",
            CH,
        )
    ]
    if pinned != t["pinned"]:
        problems.append(f"pinned {pinned} != {t['pinned']}")
    row = w.query("SELECT title, about FROM channels WHERE id = ?", CH)
    if not row or row[0] != (t["title"], t["about"]):
        problems.append(f"channel fields {row} != {(t['title'], t['about'])}")
    photo = w.query(
        "SELECT photo_id FROM channel_photos WHERE channel_id = ? ORDER BY id DESC LIMIT 1", CH
    )
    if (photo[0][0] if photo else None) != t["photo"]:
        problems.append(f"photo {photo} != {t['photo']}")
    actions = [
        (int(r[0]), str(r[1]))
        for r in w.query(
            "SELECT message_id, action FROM channel_actions WHERE channel_id = ?"
            " ORDER BY message_id",
            CH,
        )
    ]
    want = [(int(s["id"]), str(s["type"])) for s in t["service"]]
    if actions != want:
        problems.append(f"service messages {actions} != {want}")
    return problems


def _settle(w: DaemonWorld, timeout: float) -> None:
    w.wait_for(
        lambda: not event_problems(w), timeout, f"events equal to the truth: {event_problems(w)}"
    )
    assert w.settle(30) == []


def _verify(db: Path) -> chain.VerifyResult:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return chain.verify(conn)
    finally:
        conn.close()


def _tampered(db: Path, sql: str, undo: str) -> str | None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(sql)
        conn.commit()
        problem = _verify(db).problem
        conn.execute(undo)
        conn.commit()
        return problem
    finally:
        conn.close()


def test_poll_pins_title_and_about_survive_a_restart_and_are_chained(
    daemon_world: DaemonWorld,
) -> None:
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "poll_watch"}])
    first = w.start()
    w.wait_for(
        lambda: w.query("SELECT count(*) FROM posts WHERE channel_id = ?", CH) == [(5,)],
        60,
        "the history",
    )
    w.wait_for(lambda: w.query("SELECT state FROM channel_status") == [("live",)], 60, "live state")

    # While it runs: a poll whose votes change, a pin, a title change.
    def live(emu: Any) -> None:
        mid = emu.post(
            CH,
            "Which bridge reopens first?",
            media={"type": "poll", "question": "Which bridge?", "answers": ["North", "South"]},
        )
        emu.vote(CH, mid, [1, 2])
        emu.vote(CH, mid, [4, 2])
        emu.pin_post(CH, mid)
        emu.set_title(CH, "Poll Watch (live)")

    w.emu.call(live)
    _settle(w, 60)
    pid = _poll_id(w)
    samples = w.query(
        "SELECT count(*) FROM poll_samples WHERE channel_id = ? AND message_id = ?", CH, pid
    )[0][0]
    assert samples >= 2, "the pushed vote change made no new sample"
    assert w.stop(first) == 0

    # While it is stopped: more votes and the poll closed, the poll unpinned
    # and an older post pinned, the description and the photo changed.
    def offline(emu: Any) -> None:
        emu.vote(CH, pid, [9, 5], closed=True)
        emu.pin_post(CH, pid, pinned=False)
        emu.pin_post(CH, 2)
        emu.set_about(CH, "second about")
        emu.set_photo(CH, 7)

    w.emu.call(offline)
    assert event_problems(w), "the offline changes should not be archived yet"
    second = w.start()
    _settle(w, 90)
    assert w.stop(second) == 0

    # Restarting again changes nothing (idempotent).
    counts = {
        t: w.query(f"SELECT count(*) FROM {t}")[0][0]
        for t in ("polls", "poll_samples", "pin_events", "channel_actions", "channel_photos")
    }
    third = w.start()
    w.wait_running(third)
    w.wait_for(lambda: w.query("SELECT state FROM channel_status") == [("live",)], 60, "live again")
    assert event_problems(w) == []
    assert w.stop(third) == 0
    assert {t: w.query(f"SELECT count(*) FROM {t}")[0][0] for t in counts} == counts

    history = w.query(
        "SELECT field, old_value, new_value FROM channel_changes WHERE channel_id = ? ORDER BY id",
        CH,
    )
    assert ("title", "Poll Watch", "Poll Watch (live)") in history
    assert ("about", "first about", "second about") in history
    pins = w.query(
        "SELECT message_id, pinned, method FROM pin_events WHERE channel_id = ? ORDER BY id", CH
    )
    assert [(p, how) for m, p, how in pins if m == pid] == [(1, "push"), (0, "push")]
    # the unpin came back through getChannelDifference, the other pin through
    # it too (its service message or the update, whichever is applied first)
    assert [p for m, p, _ in pins if m == 2] == [1]

    res = _verify(w.db)
    assert res.ok, res.problem
    # `telewatch verify` says the same, and `channels show` shows the history.
    out = subprocess.run(
        [TELEWATCH, "--db", str(w.db), "verify"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    shown = subprocess.run(
        [TELEWATCH, "--db", str(w.db), "channels", "show", "@poll_watch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    for needle in ("Poll Watch (live)", "second about", "pin", "unpin", f"post {pid}", "photo"):
        assert needle in shown.stdout, (needle, shown.stdout)
    post = subprocess.run(
        [TELEWATCH, "--db", str(w.db), "show", f"@poll_watch/{pid}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert post.returncode == 0, post.stderr
    assert "Which bridge?" in post.stdout and "North" in post.stdout and "closed" in post.stdout

    # Tampering with a poll sample, a pin, a service message, a photo or a
    # channel event is found.
    for sql, undo, needle in (
        (
            'UPDATE poll_samples SET voters = \'[["00",90],["01",5]]\' WHERE closed = 1',
            'UPDATE poll_samples SET voters = \'[["00",9],["01",5]]\' WHERE closed = 1',
            "poll_samples",
        ),
        (
            "UPDATE pin_events SET pinned = 0 WHERE message_id = 2",
            "UPDATE pin_events SET pinned = 1 WHERE message_id = 2",
            "pin_events",
        ),
        (
            "UPDATE channel_actions SET value = 'Forged' WHERE action = 'title'",
            "UPDATE channel_actions SET value = 'Poll Watch (live)' WHERE action = 'title'",
            "channel_actions",
        ),
        (
            "UPDATE channel_photos SET thumb_sha256 = 'ab' WHERE photo_id IS NOT NULL",
            f"UPDATE channel_photos SET thumb_sha256 = '{_thumb(w)}' WHERE photo_id IS NOT NULL",
            "channel_photos",
        ),
        (
            "UPDATE channel_changes SET new_value = 'forged' WHERE field = 'about'",
            "UPDATE channel_changes SET new_value = 'second about' WHERE field = 'about'",
            "channel_changes",
        ),
        (
            "UPDATE channels SET subscribers = 99",
            "UPDATE channels SET subscribers = 1200",
            "subscribers",
        ),
    ):
        problem = _tampered(w.db, sql, undo)
        assert problem is not None and needle in problem, (sql, problem)
    assert _verify(w.db).ok


def _thumb(w: DaemonWorld) -> str:
    return str(w.query("SELECT thumb_sha256 FROM channel_photos WHERE photo_id IS NOT NULL")[0][0])
