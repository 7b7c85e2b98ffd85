"""Getting it out: ``telewatch graph`` (copy detection over the whole archive)
and Atom feed building, on a synthetic archive of 20 channels x 1,000 posts
over 30 days where every 10th post is copied verbatim by another channel."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telewatch.models import AlertRule, Channel, ChannelSeen, Event, Post, PostSeen
from telewatch.publish.atom import alert_feed, channel_feed
from telewatch.store.alerts import compile_rules
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events
from telewatch.xref.graph import build_graph, summarize

CHANNELS = 20
POSTS = 1000
WORDS = [f"w{i}" for i in range(3000)]


def _archive(db: Path) -> int:
    rng = random.Random(7)
    migrate(db)
    conn = connect(db, readonly=False)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    events: list[Event] = [
        ChannelSeen(Channel(id=1000 + c, username=f"bench_chan_{c}", title=f"Bench {c}"), t0)
        for c in range(CHANNELS)
    ]
    copies = 0
    for c in range(CHANNELS):
        for m in range(1, POSTS + 1):
            when = t0 + timedelta(minutes=43 * m + c)
            text = " ".join(rng.choices(WORDS, k=40))
            if m % 50 == 0:
                text += " alarm @bench_chan_0"
            events.append(PostSeen(Post(1000 + c, m, when, text), when, "backfill"))
            if m % 10 == 0:
                other = (c + 1 + rng.randrange(CHANNELS - 1)) % CHANNELS
                later = when + timedelta(minutes=5)
                events.append(
                    PostSeen(
                        Post(1000 + other, 100000 + c * POSTS + m, later, text), later, "backfill"
                    )
                )
                copies += 1
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, events, compile_rules([AlertRule(name="alarm", keywords=("alarm",))]))
    conn.execute("COMMIT")
    conn.close()
    return copies


def main() -> None:
    """Print graph and feed timings."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        copies = _archive(db)
        conn = connect(db)
        n = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        t = time.perf_counter()
        g = build_graph(conn)
        dt = time.perf_counter() - t
        s = summarize(g)
        weight = sum(d["weight"] for _, _, d in g.edges(data=True) if d["kind"] == "copy")
        print(
            f"graph: {n} posts in {dt:.1f} s ({n / dt:.0f} posts/s);"
            f" {s.nodes} nodes, edges {s.edges}; {weight} of {copies} planted copies found"
        )
        t = time.perf_counter()
        for _ in range(20):
            alert_feed(conn, "alarm", limit=50)
        print(f"alert feed (50 entries): {(time.perf_counter() - t) / 20 * 1000:.1f} ms")
        t = time.perf_counter()
        for _ in range(20):
            channel_feed(conn, 1000, "Bench 0", limit=50)
        print(f"channel feed (50 entries): {(time.perf_counter() - t) / 20 * 1000:.1f} ms")
        conn.close()
