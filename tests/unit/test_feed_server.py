"""The daemon's Atom endpoint on a real socket: routing, HEAD, bad requests,
hostile rule names in the index, and a clear error for an address in use."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest

from telewatch.config import FeedSettings
from telewatch.daemon.feeds import FeedServer
from telewatch.models import AlertRule, Channel, ChannelSeen, Post, PostSeen, UserError
from telewatch.store.alerts import compile_rules
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events

RULE = "<b>evil</b> & co"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _archive(tmp_path: Path) -> Path:
    db = tmp_path / "f.db"
    migrate(db)
    conn = connect(db, readonly=False)
    t = datetime(2024, 2, 2, tzinfo=UTC)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(
        conn,
        [
            ChannelSeen(Channel(id=9, username="feed_chan", title="Feed"), t),
            PostSeen(Post(9, 1, t, "evil plan\x0b revealed"), t, "live"),
        ],
        compile_rules([AlertRule(name=RULE, keywords=("evil",))]),
    )
    conn.execute("COMMIT")
    conn.close()
    return db


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()
    return out


async def test_endpoint_routes_and_escapes(tmp_path: Path) -> None:
    """Index escapes a hostile rule name and links its percent-encoded feed,
    which parses as Atom; HEAD has no body; garbage gets 400, unknown paths 404."""
    port = _free_port()
    server = FeedServer(_archive(tmp_path), FeedSettings(listen=f"127.0.0.1:{port}"), lambda: [])
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            index = await client.get("/")
            assert "&lt;b&gt;evil&lt;/b&gt; &amp; co" in index.text and "<b>" not in index.text
            href = "/alerts/%3Cb%3Eevil%3C%2Fb%3E%20%26%20co.atom"
            assert href in index.text
            feed = await client.get(href)
            f = feedparser.parse(feed.content)
            assert f.bozo == 0 and [e.link for e in f.entries] == ["https://t.me/feed_chan/1"]
            head = await client.head("/channels/feed_chan.atom")
            assert head.status_code == 200 and head.content == b""
            assert (await client.get("/channels/FEED_CHAN.atom")).status_code == 200
            assert (await client.get("/alerts/other.atom")).status_code == 404
            assert (await client.get("/../etc/passwd")).status_code == 404
        assert (await _raw(port, b"\x00\x01garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
    finally:
        await server.close()


async def test_address_in_use_is_one_clear_error(tmp_path: Path) -> None:
    """A second server on the same address raises UserError naming feeds.listen."""
    port = _free_port()
    first = FeedServer(_archive(tmp_path), FeedSettings(listen=f"127.0.0.1:{port}"), lambda: [])
    await first.start()
    try:
        second = FeedServer(first.db, FeedSettings(listen=f"127.0.0.1:{port}"), lambda: [])
        with pytest.raises(UserError, match=r"feeds\.listen 127\.0\.0\.1:"):
            await second.start()
    finally:
        await first.close()
