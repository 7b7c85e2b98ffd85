"""``telewatch graph`` and ``telewatch feed`` on the dev data set and on a
hostile archive: the files open in networkx / feedparser with the expected
content."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import networkx as nx
import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import AlertRule, Channel, ChannelSeen, Post, PostDeleted, PostSeen
from telewatch.store.alerts import compile_rules
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events
from tests.fixtures.daemon import TELEWATCH

CHANNEL_IDS = {
    "@rafidain_watch": "1500000001",
    "@furat_flash": "1500000002",
    "@iraq_security_desk": "1500000003",
    "@khabar_fori": "1500000004",
    "@anbar_eye": "1500000005",
}


def _expected_edges(xref_dev: Path) -> Counter[tuple[str, str, str]]:
    """(source id, copier id, kind) → posts, from provenance.jsonl's forwards and copies."""
    want: Counter[tuple[str, str, str]] = Counter()
    for line in (xref_dev / "provenance.jsonl").read_text("utf-8").splitlines():
        c = json.loads(line)
        for cp in c["copies"]:
            if cp["kind"] in ("forward", "copy"):
                src = cp.get("via", c["origin"])["channel"]
                want[(CHANNEL_IDS[src], CHANNEL_IDS[cp["channel"]], cp["kind"])] += 1
    return want


def _run(db: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["--db", str(db), *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_graph_has_the_dev_sets_forwards_and_copies(
    xref_dev_archive: Path, xref_dev: Path, tmp_path: Path, fmt: str
) -> None:
    """The written graph opens in networkx and has exactly the truth's forward
    and copy edges (weights = posts), plus the unarchived forward origin."""
    out = tmp_path / f"net.{fmt}"
    code, _, err = _run(xref_dev_archive, "graph", "-o", str(out))
    assert code == 0, err
    g = nx.read_gexf(out) if fmt == "gexf" else nx.read_graphml(out)
    got: Counter[tuple[str, str, str]] = Counter()
    for u, v, d in g.edges(data=True):
        if d["kind"] in ("forward", "copy"):
            got[(u, v, d["kind"])] += int(d["weight"])
    want = _expected_edges(xref_dev)
    # The one forward from outside the set (@khabar_fori 92477) is a node marked not archived.
    outside = [n for n, a in g.nodes(data=True) if not a["archived"] and n.startswith("name:")]
    assert outside == ["name:هواشناسی ایران"]
    want[("name:هواشناسی ایران", "1500000004", "forward")] = 1
    assert got == want
    assert sum(want.values()) == 13  # 5 forwards + 7 copies + the outside forward
    rafidain = g.nodes["1500000001"]
    assert rafidain["username"] == "rafidain_watch" and rafidain["lang"] == "ar"
    assert g.nodes["1500000003"]["lang"] == "en"
    edge = next(d for u, v, d in g.edges(data=True) if (u, v) == ("1500000005", "1500000001"))
    assert edge["first"] == edge["last"] == "2022-02-28T19:05:31Z"  # c03's forward 18371


def test_graph_has_mentions_and_respects_since(xref_dev_archive: Path, tmp_path: Path) -> None:
    """Mentions (t.me links, @handles) of other channels are edges, own signatures
    are not; --since drops the edges of earlier posts."""
    out = tmp_path / "all.gexf"
    assert _run(xref_dev_archive, "graph", "-o", str(out))[0] == 0
    g = nx.read_gexf(out)
    mentions = [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "mention"]
    assert mentions and all(u != v for u, v in mentions)
    late = tmp_path / "late.gexf"
    assert _run(xref_dev_archive, "graph", "--since", "2022-03-04", "-o", str(late))[0] == 0
    h = nx.read_gexf(late)
    assert all(d["first"] >= "2022-03-04" for _, _, d in h.edges(data=True))
    assert h.number_of_edges() < g.number_of_edges()


def test_graph_refuses_to_overwrite_the_archive(xref_dev_archive: Path) -> None:
    """-o naming the archive or its -wal/-shm file is refused with one line; the archive is intact."""
    before = xref_dev_archive.read_bytes()
    for target in (str(xref_dev_archive), f"{xref_dev_archive}-wal", f"{xref_dev_archive}-shm"):
        code, _, err = _run(xref_dev_archive, "graph", "--format", "gexf", "-o", target)
        assert code == 2 and "refusing to write" in err and len(err.strip().splitlines()) == 1
    assert xref_dev_archive.read_bytes() == before


def test_graph_to_stdout_from_the_installed_command(xref_dev_archive: Path) -> None:
    """``telewatch graph -o -`` writes GEXF to stdout (the entry point, in a subprocess)."""
    r = subprocess.run(
        [TELEWATCH, "--db", str(xref_dev_archive), "graph", "-o", "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert b"<gexf" in r.stdout[:500] and b"wrote" in r.stderr


def _hostile_archive(tmp_path: Path) -> Path:
    db = tmp_path / "h.db"
    migrate(db)
    conn = connect(db, readonly=False)
    t = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ch = Channel(id=1500000900, username="hostile_chan", title="Hostile <b>&", access_hash=1)
    text = "alarm\x00\x07 <script>alert(1)</script> & \ufffe ]]> \x1b[31mred"
    events = [
        ChannelSeen(ch, t),
        PostSeen(Post(channel_id=ch.id, message_id=1, date=t, text=text), t, "live"),
        PostSeen(Post(channel_id=ch.id, message_id=2, date=t, text="alarm first"), t, "live"),
        PostSeen(
            Post(channel_id=ch.id, message_id=2, date=t, text="alarm edited"),
            t.replace(hour=13),
            "live",
        ),
        PostDeleted(ch.id, 1, t.replace(hour=14), "event"),
    ]
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, events, compile_rules([AlertRule(name="alarms", keywords=("alarm",))]))
    conn.execute("COMMIT")
    conn.close()
    return db


def test_feed_is_valid_atom_despite_hostile_text(tmp_path: Path) -> None:
    """An alert feed over text with control characters and markup parses as
    Atom (bozo 0): entries link to t.me, say deleted/edited, carry capture times."""
    db = _hostile_archive(tmp_path)
    out = tmp_path / "alarms.xml"
    code, _, err = _run(db, "feed", "alarms", "-o", str(out))
    assert code == 0, err
    f = feedparser.parse(out.read_bytes())
    assert f.bozo == 0, f.get("bozo_exception")
    assert f.version == "atom10"
    by_link = {e.link: e for e in f.entries}
    assert set(by_link) == {"https://t.me/hostile_chan/1", "https://t.me/hostile_chan/2"}
    deleted = by_link["https://t.me/hostile_chan/1"]
    assert deleted.title.startswith("[deleted]")
    assert "deleted" in {t.term for t in deleted.tags}
    assert "<script>" not in deleted.summary  # feedparser sanitises, and we escaped
    assert "2024-05-01T14:00:00Z" in deleted.summary
    edited = by_link["https://t.me/hostile_chan/2"]
    assert edited.title.startswith("[edited]") and "alarm edited" in edited.title
    assert edited.updated.startswith("2024-05-01T13:00:00")
    assert edited.published.startswith("2024-05-01T12:00:00")


def test_feed_of_a_channel_and_a_search(xref_dev_archive: Path, tmp_path: Path) -> None:
    """--channel and --search feeds parse as Atom with the expected posts."""
    out = tmp_path / "c.xml"
    assert _run(xref_dev_archive, "feed", "--channel", "@anbar_eye", "-o", str(out))[0] == 0
    f = feedparser.parse(out.read_bytes())
    assert f.bozo == 0 and len(f.entries) == 50
    assert all(e.link.startswith("https://t.me/anbar_eye/") for e in f.entries)
    code, stdout, _ = _run(xref_dev_archive, "feed", "--search", "السماوة")
    assert code == 0
    s = feedparser.parse(stdout.encode("utf-8"))
    assert s.bozo == 0
    assert "https://t.me/rafidain_watch/18372" in {e.link for e in s.entries}


def test_feed_mistakes_get_one_line(xref_dev_archive: Path) -> None:
    """No source, two sources, an unknown rule or channel: exit 2 with one line."""
    for args in (
        ["feed"],
        ["feed", "x", "--search", "y"],
        ["feed", "no_such_rule"],
        ["feed", "--channel", "@nobody_here"],
    ):
        code, _, err = _run(xref_dev_archive, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
