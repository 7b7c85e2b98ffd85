"""The daemon's read-only Atom endpoint (``[feeds] listen = "host:port"``).

A small HTTP/1.1 server on asyncio streams (no framework): ``GET`` (and
``HEAD``) only, one request per connection, answered from a read-only
archive connection opened per request on a worker thread.

* ``/`` — an HTML index linking every feed;
* ``/alerts/<rule>.atom`` — posts alert rule ``<rule>`` fired on (the rule
  name percent-encoded), for the config's rules and any rule with hits;
* ``/channels/<username>.atom`` — a channel's newest posts.

Anything else is 404, other methods 405, a request that does not arrive
within ``REQUEST_TIMEOUT`` seconds or is larger than ``MAX_REQUEST`` bytes
gets 408/431 and is closed. Names shown in the index are HTML-escaped;
feeds are built by publish.atom (XML-escaped, control characters removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from telewatch.config import FeedSettings
from telewatch.models import UserError
from telewatch.publish.atom import alert_feed, channel_feed, xml_safe
from telewatch.store.db import Connection, connect
from telewatch.store.entries import channel_by_username, public_channels, rule_names

log = logging.getLogger("telewatch.daemon.feeds")

REQUEST_TIMEOUT = 10.0
MAX_REQUEST = 16 * 1024
ATOM = "application/atom+xml; charset=utf-8"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


class FeedServer:
    """Serves the feeds of the archive at ``db`` (see the module doc).
    ``rules`` returns the configured alert rule names (it follows reloads)."""

    def __init__(self, db: Path, cfg: FeedSettings, rules: Callable[[], list[str]]) -> None:
        self.db = db
        self.cfg = cfg
        self.rules = rules
        self._server: asyncio.Server | None = None
        self.requests = 0

    async def start(self) -> None:
        """Bind and listen; raises UserError when the address cannot be used."""
        addr = self.cfg.address
        assert addr is not None
        try:
            self._server = await asyncio.start_server(self._handle, addr[0], addr[1])
        except OSError as err:
            raise UserError(
                f"feeds.listen {self.cfg.listen}: cannot listen there ({err.strerror or err});"
                " choose another address or remove [feeds] listen"
            ) from None
        log.info("serving Atom feeds", extra={"url": self.base_url})

    @property
    def base_url(self) -> str:
        """``http://host:port`` as configured."""
        return f"http://{self.cfg.listen}"

    async def close(self) -> None:
        """Stop listening (requests in progress are dropped)."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):  # not wait_for: daemon/tasks.py
                    await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body, head = await self._answer(reader)
        except Exception as err:  # one bad request never stops the daemon
            log.error("feed request failed", extra={"error": f"{type(err).__name__}: {err}"})
            status, ctype, body, head = 500, "text/plain; charset=utf-8", b"internal error\n", False
        self.requests += 1
        headers = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
            + ("Allow: GET, HEAD\r\n" if status == 405 else "")
            + "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(headers.encode("ascii") + (b"" if head else body))
            await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes, bool]:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                raw = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return 408, "text/plain; charset=utf-8", b"request timeout\n", False
        except asyncio.LimitOverrunError:
            return 431, "text/plain; charset=utf-8", b"request too large\n", False
        except asyncio.IncompleteReadError:
            return 400, "text/plain; charset=utf-8", b"incomplete request\n", False
        if len(raw) > MAX_REQUEST:
            return 431, "text/plain; charset=utf-8", b"request too large\n", False
        parts = raw.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, "text/plain; charset=utf-8", b"bad request line\n", False
        method, target = parts[0], parts[1]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"read-only: GET or HEAD\n", False
        path = urlsplit(target).path
        status, ctype, body = await asyncio.to_thread(self._route, path)
        return status, ctype, body, method == "HEAD"

    def _route(self, path: str) -> tuple[int, str, bytes]:
        conn = connect(self.db, readonly=True)
        try:
            limit = self.cfg.limit
            if path in ("/", "/index.html"):
                return 200, "text/html; charset=utf-8", self._index(conn)
            if path.startswith("/alerts/") and path.endswith(".atom"):
                rule = unquote(path[len("/alerts/") : -len(".atom")])
                if rule in set(self.rules()) | set(rule_names(conn)):
                    url = f"{self.base_url}/alerts/{quote(rule, safe='')}.atom"
                    return 200, ATOM, alert_feed(conn, rule, limit=limit, self_url=url)
            if path.startswith("/channels/") and path.endswith(".atom"):
                name = unquote(path[len("/channels/") : -len(".atom")]).lstrip("@")
                ch = channel_by_username(conn, name)
                if ch is not None:
                    label = f"{ch[2]} (@{ch[1]})" if ch[2] else f"@{ch[1]}"
                    url = f"{self.base_url}/channels/{quote(ch[1], safe='')}.atom"
                    return 200, ATOM, channel_feed(conn, ch[0], label, limit=limit, self_url=url)
            return 404, "text/plain; charset=utf-8", b"no such feed; see / for the list\n"
        finally:
            conn.close()

    def _index(self, conn: Connection) -> bytes:
        rules = sorted(set(self.rules()) | set(rule_names(conn)))
        feeds = [(f"/alerts/{quote(r, safe='')}.atom", f"alert: {r}") for r in rules]
        for _, username, title in public_channels(conn):
            name = f"{title} (@{username})" if title else f"@{username}"
            feeds.append((f"/channels/{quote(username, safe='')}.atom", name))
        items = "".join(
            f'<li><a href="{html.escape(h)}">{html.escape(n)}</a></li>' for h, n in feeds
        )
        links = "".join(
            f'<link rel="alternate" type="application/atom+xml" title="{html.escape(n)}"'
            f' href="{html.escape(h)}">'
            for h, n in feeds
        )
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>telewatch feeds</title>"
            f"{links}</head><body><h1>telewatch feeds</h1><ul>{items}</ul></body></html>"
        )
        return xml_safe(page).encode("utf-8")
