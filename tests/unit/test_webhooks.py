"""Webhook URLs: validation, masking, dead letters and backoff against a real
local HTTP server, and the dead-letter count the dashboard reads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from telewatch.config import Settings, load_settings
from telewatch.daemon.webhooks import WebhookSender, register, retry_delay
from telewatch.models import AlertRule, Channel, ChannelSeen, Post, PostSeen, UserError
from telewatch.store.alerts import compile_rules
from telewatch.store.db import connect, migrate
from telewatch.store.feed import alert_counters
from telewatch.store.webhooks import mask_url, summaries
from telewatch.store.writer import apply_events


def test_mask_url_hides_tokens() -> None:
    """Userinfo, query, fragment and the path after its first segment are hidden."""
    m = mask_url("https://user:pw@hooks.example:8443/services/T0/B0/XYZ?token=abc#frag")
    assert m.startswith("https://***@hooks.example:8443/services/…?…#… #")
    for secret in ("user", "pw", "T0", "XYZ", "abc", "frag"):
        assert secret not in m.split(" #")[0]
    assert mask_url("https://a.example/x") != mask_url("https://b.example/x")


@pytest.mark.parametrize(
    "url", ["ftp://host/x?token=SECRET1", "https:///nohost?token=SECRET1", "SECRET1"]
)
def test_config_rejects_non_http_webhooks_without_echoing_them(tmp_path: Path, url: str) -> None:
    """A webhook URL that is not http(s) with a host is one error line naming
    the key, never the URL (it may hold a token)."""
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[[alerts]]\nname = "a"\nkeywords = ["x"]\nwebhooks = ["{url}"]\n')
    with pytest.raises(UserError) as err:
        load_settings(cfg)
    msg = str(err.value)
    assert "alerts[0].webhooks" in msg and "http" in msg and "SECRET1" not in msg
    assert "\n" not in msg


def test_backoff_doubles_up_to_the_cap() -> None:
    """Retry waits double from ``backoff`` and stop at ``backoff_max``; Retry-After counts."""
    cfg = Settings(webhooks={"backoff": 1.0, "backoff_max": 5.0}).webhooks  # type: ignore[arg-type]
    assert [retry_delay(cfg, n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert retry_delay(cfg, 1, retry_after=3.0) == 3.0


class _Always:
    def __init__(self, code: int) -> None:
        self.hits: Counter[str] = Counter()
        me = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                me.hits[self.path] += 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


async def test_rejected_and_failing_hits_are_dead_lettered(tmp_path: Path) -> None:
    """A 400 is dead-lettered after one attempt, a 500 after max_attempts; the
    count reaches ``status`` summaries and the dashboard's alert counters."""
    bad, down = _Always(400), _Always(500)
    try:
        db = tmp_path / "w.db"
        migrate(db)
        settings = Settings(
            alerts=[
                {"name": "r", "keywords": ["boom"], "webhooks": [bad.url("/a"), down.url("/b")]}
            ],  # type: ignore[list-item]
            webhooks={"backoff": 0.01, "backoff_max": 0.02, "max_attempts": 3},  # type: ignore[arg-type]
        )
        targets = register(db, settings)
        conn = connect(db, readonly=False)
        t = datetime(2024, 1, 1, tzinfo=UTC)
        conn.execute("BEGIN IMMEDIATE")
        apply_events(
            conn,
            [ChannelSeen(Channel(id=7, username="chan_seven", title="Seven"), t)]
            + [PostSeen(Post(7, i, t, f"boom {i}"), t, "live") for i in (1, 2)],
            compile_rules([AlertRule(name="r", keywords=("boom",))]),
        )
        conn.execute("COMMIT")
        sender = WebhookSender(db, settings, Counter())
        sender.set_targets(targets, settings.webhooks)
        task = asyncio.create_task(sender.run())
        end = time.monotonic() + 20
        while time.monotonic() < end and sender.counters["webhooks_dead"] < 4:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert bad.hits == {"/a": 2} and down.hits == {"/b": 6}
        by_path = {s.url_masked.split(" #")[0][-2:]: s for s in summaries(conn)}
        assert by_path["/a"].dead == 2 and by_path["/a"].last_status == "400"
        assert by_path["/b"].dead == 2 and by_path["/b"].delivered == 0
        assert [(c.rule, c.dead) for c in alert_counters(conn)] == [("r", 4)]
        conn.close()
    finally:
        for srv in (bad, down):
            srv.server.shutdown()
            srv.server.server_close()
