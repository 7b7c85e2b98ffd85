"""Comments from a linked discussion group (issue 14), end to end: the real
daemon (subprocess, real Telethon) against the emulator. Every comment, edit
and deletion is archived equal to the truth, including those made while the
daemon was stopped; threads, authors and the post each comment belongs to
are right; ``verify`` passes; the CLI shows, searches and exports them."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from telewatch.store.chain import verify
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

CHANNEL = 1500004001
GROUP = 1500004002
ALICE, BOB, CAROL = 910001, 910002, 910003
OLD = datetime(2024, 3, 1, tzinfo=UTC)
KEY = "comments:username:withcomments"


def _world(emu: Any) -> None:
    emu.add_channel(CHANNEL, "withcomments", "With Comments")
    emu.add_channel(GROUP, None, "With Comments chat", megagroup=True)
    emu.add_user(ALICE, "Alice", last_name="Archer", username="alice_archer")
    emu.add_user(BOB, "Bob")
    emu.add_user(CAROL, "Carol", username="carol_c")
    emu.link_discussion(CHANNEL, GROUP)
    posts = [
        emu.post(CHANNEL, f"old post {k}", date=OLD + timedelta(hours=k), push=False)
        for k in range(4)
    ]
    first = emu.comment(CHANNEL, posts[0], ALICE, "eyewitness: smoke over the bridge")
    emu.comment(CHANNEL, posts[0], BOB, "source?", reply_to=first)
    doomed = emu.comment(CHANNEL, posts[1], CAROL, "this is a copy of another channel")
    emu.comment(CHANNEL, posts[2], BOB, "first version of a correction")
    group = emu.world.channel(GROUP)
    emu.edit(GROUP, group.last_id, "correction, edited", push=False)
    emu.delete(GROUP, [doomed], push=False)


def _comments_truth(truth: dict[str, Any]) -> dict[int, dict[str, Any]]:
    group = next(c for c in truth["channels"] if c["id"] == GROUP)
    return {m["id"]: m for m in group["messages"]}


def _archived(w: DaemonWorld) -> dict[int, tuple[Any, ...]]:
    return {
        r[0]: r[1:]
        for r in w.query(
            "SELECT message_id, kind, thread, reply_to, author_id, author_name,"
            " author_username, post_message_id FROM comments WHERE group_id = ?",
            GROUP,
        )
    }


def _comments_match(w: DaemonWorld) -> list[str]:
    """Differences between the comments table and the truth ([] = equal)."""
    truth = w.emu.truth()
    names = {
        ALICE: ("Alice Archer", "alice_archer"),
        BOB: ("Bob", None),
        CAROL: ("Carol", "carol_c"),
    }
    got = _archived(w)
    problems: list[str] = []
    for mid, m in _comments_truth(truth).items():
        row = got.get(mid)
        if row is None:
            if not m["deleted"]:
                problems.append(f"{mid}: no comments row")
            continue
        if m["channel_post"] is not None:
            if row[0] != "copy" or row[6] != m["channel_post"]:
                problems.append(f"{mid}: copy row {row} != post {m['channel_post']}")
        elif (row[0], row[1], row[2], row[3], (row[4], row[5])) != (
            "comment",
            m["thread"],
            m["reply_to"],
            m["from_user"],
            names[m["from_user"]],
        ):
            problems.append(f"{mid}: comment row {row} != truth {m}")
    return problems


def _settled(w: DaemonWorld, timeout: float) -> None:
    problems = w.settle(timeout)
    assert problems == [], problems
    end = datetime.now(UTC) + timedelta(seconds=timeout)
    problems = _comments_match(w)
    while problems and datetime.now(UTC) < end:
        problems = _comments_match(w)
    assert problems == [], problems


def _cli(w: DaemonWorld, *args: str) -> str:
    out = subprocess.run(
        [TELEWATCH, "--config", str(w.config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_comments_archived_live_and_across_a_stop(daemon_world: DaemonWorld) -> None:
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "withcomments", "comments": True}])
    first = w.start()
    w.wait_for(
        lambda: w.query("SELECT state FROM channel_status WHERE key = ?", KEY) == [("live",)],
        90,
        "the discussion group live",
    )
    _settled(w, 60)
    assert w.query("SELECT channel_id, group_id FROM discussion_links") == [(CHANNEL, GROUP)]

    # Live: a new post with comments, a thread reply, an edit and a deletion.
    def live(emu: Any) -> None:
        post = emu.post(CHANNEL, "breaking: new post")
        c = emu.comment(CHANNEL, post, CAROL, "live comment one")
        emu.comment(CHANNEL, post, ALICE, "live reply", reply_to=c)
        emu.edit(GROUP, c, "live comment one, edited")
        old_first = min(
            m.id for m in emu.world.channel(GROUP).messages.values() if m.from_user == ALICE
        )
        emu.delete(GROUP, [old_first + 1])  # Bob's "source?" reply

    w.emu.call(live)
    _settled(w, 60)
    assert w.stop(first) == 0

    # While stopped: comments, an edit and a deletion the daemon must catch up on.
    def offline(emu: Any) -> None:
        group = emu.world.channel(GROUP)
        post = max(emu.world.channel(CHANNEL).live)
        c = emu.comment(CHANNEL, post, BOB, "written while the archiver was down")
        emu.comment(CHANNEL, post, CAROL, "thread reply while down", reply_to=c)
        live_comment = next(
            m.id for m in group.messages.values() if m.text.startswith("live comment")
        )
        emu.edit(GROUP, live_comment, "edited while down")
        reply = next(m.id for m in group.messages.values() if m.text == "live reply")
        emu.delete(GROUP, [reply])

    w.emu.call(offline)
    second = w.start()
    _settled(w, 90)

    # The comment edited while the daemon was down has that edit as a version of its own.
    texts = w.query(
        "SELECT v.text FROM post_versions v JOIN posts p ON p.channel_id = v.channel_id"
        " AND p.message_id = v.message_id WHERE p.channel_id = ? AND p.text = ?"
        " ORDER BY v.version_no",
        GROUP,
        "edited while down",
    )
    assert len(texts) >= 2 and texts[-1] == ("edited while down",)
    assert texts[0][0].startswith("live comment one")
    tombstones = w.query("SELECT count(*) FROM deletions WHERE channel_id = ?", GROUP)[0][0]
    assert tombstones >= 2  # the live deletion and the one made while down

    # show CHANNEL/ID: the thread, replies indented under what they answer.
    post = w.emu.call(lambda emu: max(emu.world.channel(CHANNEL).live))
    shown = _cli(w, "show", f"@withcomments/{post}")
    assert "written while the archiver was down" in shown and "Bob" in shown
    assert "  thread reply while down" in shown.split("written while the archiver was down")[1]
    # search --comments finds comments (and plain search leaves them out).
    found = _cli(w, "search", "--comments", "eyewitness")
    assert "smoke over the bridge" in found and "Alice Archer" in found
    assert "smoke over the bridge" not in _cli(w, "search", "eyewitness")
    # export --comments writes post_message_id and thread.
    out = w.root / "comments.jsonl"
    _cli(w, "export", "--comments", "--format", "jsonl", "-o", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["post_message_id"] for r in rows} >= {post}
    down = next(r for r in rows if r["text"] == "thread reply while down")
    parent = next(r for r in rows if r["text"] == "written while the archiver was down")
    assert (
        down["thread"] == str(parent["message_id"])
        and down["reply_to_comment"] == parent["message_id"]
    )
    assert parent["thread"] == "" and parent["author_name"] == "Bob"
    csv_out = w.root / "comments.csv"
    _cli(w, "export", "--comments", "--format", "csv", "-o", str(csv_out))
    with csv_out.open(newline="") as fh:
        assert {"post_message_id", "thread"} <= set(csv.DictReader(fh).fieldnames or [])

    # The discussion group is no node of the network: its copies of the posts
    # are neither forwards nor verbatim copies.
    import networkx as nx

    gexf = w.root / "net.gexf"
    _cli(w, "graph", "--format", "gexf", "-o", str(gexf))
    assert str(GROUP) not in nx.read_gexf(gexf).nodes and str(CHANNEL) in nx.read_gexf(gexf).nodes

    assert w.stop(second) == 0
    conn = sqlite3.connect(w.db)
    try:
        res = verify(conn)
        assert res.ok, res.problem
        # A comment row changed behind the chain's back is found.
        conn.execute("UPDATE comments SET author_name = 'Mallory' WHERE author_id = ?", (ALICE,))
        bad = verify(conn)
        assert not bad.ok and "comments row" in (bad.problem or "")
    finally:
        conn.close()


def test_comment_authors_can_be_switched_off(daemon_world: DaemonWorld) -> None:
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "withcomments", "comments": True}])
    w.config.write_text(w.config.read_text() + "[comments]\nauthors = false\n")
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT state FROM channel_status WHERE key = ?", KEY) == [("live",)],
        90,
        "the discussion group live",
    )
    assert w.settle(60) == []
    w.wait_for(
        lambda: w.query("SELECT count(*) FROM comments WHERE kind = 'comment'") == [(3,)],
        30,
        "three live comments archived",
    )
    assert w.query(
        "SELECT count(*) FROM comments WHERE author_id IS NOT NULL OR author_name IS NOT NULL"
        " OR author_username IS NOT NULL"
    ) == [(0,)]
    assert w.stop(p) == 0
    # Not even the raw copy of a comment keeps the user id.
    from telethon.extensions import BinaryReader

    for (data,) in w.query(
        "SELECT r.data FROM raw_payloads r JOIN post_versions v ON v.id = r.version_id"
        " WHERE v.channel_id = ?",
        GROUP,
    ):
        from telewatch.store.chain import decompress_raw

        msg = BinaryReader(decompress_raw(data)).tgread_object()
        assert msg.from_id is None or not hasattr(msg.from_id, "user_id")


def test_gap_repair_and_reconciliation_cover_comments(daemon_world: DaemonWorld) -> None:
    """Comments whose pushes never arrive and a group difference Telegram
    answers with ChannelDifferenceTooLong: gap repair finds the new comments,
    reconciliation the deleted one."""
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "withcomments", "comments": True}])
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT state FROM channel_status WHERE key = ?", KEY) == [("live",)],
        90,
        "the discussion group live",
    )
    _settled(w, 60)

    def unseen(emu: Any) -> None:
        emu.suppress_pushes(GROUP, 3)
        emu.too_long(GROUP)
        post = min(emu.world.channel(CHANNEL).live)
        first = emu.comment(CHANNEL, post, CAROL, "never pushed, found by repair")
        emu.comment(CHANNEL, post, ALICE, "a reply never pushed either", reply_to=first)
        alice = min(
            m.id for m in emu.world.channel(GROUP).messages.values() if m.from_user == ALICE
        )
        emu.delete(GROUP, [alice])

    w.emu.call(unseen)
    _settled(w, 90)

    def told_too_long() -> bool:
        rows = w.query(
            "SELECT counters FROM daemon_runs WHERE pid = ? ORDER BY rowid DESC LIMIT 1", p.pid
        )
        return (
            bool(rows and rows[0][0]) and json.loads(rows[0][0]).get("difference_too_long", 0) >= 1
        )

    # The group's own difference met the TooLong answer (and repaired, reconciled).
    w.wait_for(told_too_long, 30, "the group's ChannelDifferenceTooLong")
    assert w.query(
        "SELECT method FROM deletions d JOIN comments m ON m.group_id = d.channel_id"
        " AND m.message_id = d.message_id WHERE m.author_id = ?",
        ALICE,
    ) == [("reconcile",)]
    assert w.stop(p) == 0
