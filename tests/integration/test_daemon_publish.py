"""A running daemon posts alert hits to a real webhook server on 127.0.0.1
that fails requests (500s, timeouts, dropped connections), across a kill -9,
and serves Atom feeds over real HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import httpx

from telewatch.daemon.webhooks import idempotency_key
from telewatch.store.webhooks import OutboxHit
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

CH = 1500000951
SECRET = "s3cr3t-token-xyz"


class FlakyHook:
    """A webhook receiver: answers 500, times out, drops the connection or
    accepts (200), in a fixed rotation; records every request."""

    PLAN = ("500", "ok", "timeout", "ok", "drop", "ok", "ok", "500", "ok")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.paths: set[str] = set()
        self.n = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    mode = hook.PLAN[hook.n % len(hook.PLAN)]
                    hook.n += 1
                    hook.outcomes[mode] += 1
                    hook.paths.add(self.path)
                if mode == "timeout":
                    time.sleep(4.0)  # the sender gives up after 3 s
                    self.close_connection = True
                    return
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                code = 500 if mode == "500" else 200
                if code == 200:
                    assert self.headers["Idempotency-Key"] == body["idempotency_key"]
                    with hook.lock:
                        hook.accepted[body["idempotency_key"]] += 1
                        hook.bodies.append(body)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://hook:{SECRET}@{host}:{port}/hooks/{SECRET}?token={SECRET}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _expected_keys(w: DaemonWorld) -> set[str]:
    return {
        idempotency_key(OutboxHit(0, r, k, c, m, None, None, "", "", 0, None))
        for r, k, c, m in w.query("SELECT rule, kind, channel_id, message_id FROM alert_hits")
    }


def _delivered_keys(w: DaemonWorld) -> set[str]:
    rows = w.query(
        "SELECT h.rule, h.kind, h.channel_id, h.message_id FROM webhook_deliveries d"
        " JOIN alert_hits h ON h.id = d.hit_id WHERE d.state = 'delivered'"
    )
    return {idempotency_key(OutboxHit(0, *r, None, None, "", "", 0, None)) for r in rows}


def test_webhooks_deliver_every_hit_exactly_once_and_feeds_are_served(
    daemon_world: DaemonWorld, tmp_path: Path
) -> None:
    """Every hit (new, edit, delete; history and live; before and after a
    kill -9) reaches the flaky server with a 2xx exactly once per key, a hit
    recorded delivered is never sent again, the URL's token never reaches the
    log, and the daemon's Atom endpoint serves valid feeds."""
    w = daemon_world
    hook = FlakyHook()
    port = _free_port()
    try:

        def setup(emu: Any) -> None:
            emu.add_channel(CH, "hook_chan", "Hook <Chan>")
            for k in range(20):
                emu.post(CH, f"history {k}" + (" alarm raised" if k % 4 == 0 else ""), push=False)

        w.emu.call(setup)
        w.write_config([{"username": "hook_chan"}])
        with w.config.open("a") as fh:
            fh.write(
                "[webhooks]\ntimeout = 3.0\nbackoff = 0.05\nbackoff_max = 0.2\nmax_attempts = 50\n"
                f'[feeds]\nlisten = "127.0.0.1:{port}"\n'
                '[[alerts]]\nname = "alarm"\nkeywords = ["alarm"]\n'
                f'webhooks = ["{hook.url}"]\n'
            )
        p = w.start()
        w.wait_running(p)
        for k in range(8):
            w.emu.call(lambda emu, k=k: emu.post(CH, f"live {k} alarm now"))
            time.sleep(0.1)
        w.wait_for(lambda: len(hook.accepted) >= 6, 60, "some deliveries before the kill")
        assert w.stop(p, signal.SIGKILL) == -signal.SIGKILL
        delivered_before = _delivered_keys(w)
        accepted_before = Counter(hook.accepted)
        assert delivered_before and delivered_before <= set(accepted_before)

        # While it is down: an edit and a deletion of alarm posts, more posts.
        w.emu.call(lambda emu: emu.edit(CH, 1, "history 0 alarm raised, edited"))
        w.emu.call(lambda emu: emu.post(CH, "while down alarm"))
        p = w.start()
        w.wait_running(p)
        w.emu.call(lambda emu: emu.delete(CH, [5]))  # "history 4 alarm raised"
        for k in range(4):
            w.emu.call(lambda emu, k=k: emu.post(CH, f"after restart {k} alarm"))
        w.wait_for(
            lambda: (
                w.query("SELECT count(*) FROM alert_hits WHERE kind = 'delete'") == [(1,)]
                and w.query("SELECT count(*) FROM alert_hits WHERE kind = 'edit'") == [(1,)]
                and set(hook.accepted) == _expected_keys(w)
            ),
            90,
            "every hit delivered",
        )
        expected = _expected_keys(w)
        assert len(expected) == 5 + 8 + 1 + 4 + 2  # history, live, while down, after, edit+delete
        assert set(hook.accepted) == expected
        # Nothing recorded as delivered before the kill was sent again.
        assert all(hook.accepted[k] == accepted_before[k] == 1 for k in delivered_before)
        # At most the request in flight at the kill can repeat (its 2xx was not yet recorded).
        assert sum(n - 1 for n in hook.accepted.values()) <= 1
        assert hook.outcomes["500"] and hook.outcomes["timeout"] and hook.outcomes["drop"]
        w.wait_for(
            lambda: (
                w.query("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'")
                == [(len(expected),)]
            ),
            20,
            "deliveries recorded",
        )
        assert w.query("SELECT count(*) FROM webhook_deliveries WHERE state != 'delivered'") == [
            (0,)
        ]
        body = next(b for b in hook.bodies if b["kind"] == "delete")
        assert body["url"] == "https://t.me/hook_chan/5"
        assert body["text"].startswith("[alarm] deleted post in Hook <Chan> (@hook_chan)")
        assert body["text"].endswith("https://t.me/hook_chan/5")
        assert body["channel"] == {"id": CH, "username": "hook_chan", "title": "Hook <Chan>"}
        assert hook.paths == {f"/hooks/{SECRET}?token={SECRET}"}

        # The daemon's feed endpoint, over real HTTP.
        base = f"http://127.0.0.1:{port}"
        index = httpx.get(f"{base}/", timeout=10)
        assert index.status_code == 200 and "/alerts/alarm.atom" in index.text
        assert "Hook &lt;Chan&gt;" in index.text and "<Chan>" not in index.text
        r = httpx.get(f"{base}/alerts/alarm.atom", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom")
        f = feedparser.parse(r.content)
        assert f.bozo == 0
        posts = {
            (c, m) for c, m in w.query("SELECT DISTINCT channel_id, message_id FROM alert_hits")
        }
        assert len(f.entries) == len(posts)
        by_link = {e.link: e for e in f.entries}
        assert by_link["https://t.me/hook_chan/5"].title.startswith("[deleted]")
        assert by_link["https://t.me/hook_chan/1"].title.startswith("[edited]")
        c = feedparser.parse(httpx.get(f"{base}/channels/hook_chan.atom", timeout=10).content)
        assert c.bozo == 0 and len(c.entries) == 33
        assert httpx.get(f"{base}/channels/nobody_here.atom", timeout=10).status_code == 404
        assert httpx.post(f"{base}/alerts/alarm.atom", timeout=10).status_code == 405

        status = subprocess.run(
            [TELEWATCH, "--config", str(w.config), "status"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        assert (
            f"webhook alarm → http://***@127.0.0.1:{hook.server.server_address[1]}/hooks/…?…"
            in (status.stdout)
        )
        assert f"{len(expected)} delivered" in status.stdout and "0 dead" in status.stdout
        assert w.stop(p) == 0
        log = w.log_tail(10**7)
        assert "webhook attempt failed" in log
        assert SECRET not in log and SECRET not in status.stdout
    finally:
        hook.close()


def test_a_webhook_added_by_sighup_gets_later_hits_only(daemon_world: DaemonWorld) -> None:
    """A URL added to a rule and reloaded with SIGHUP receives the hits written
    after the reload, not the rule's older hits."""
    w = daemon_world
    hook = FlakyHook()
    hook.PLAN = ("ok",)
    try:
        w.emu.call(lambda emu: emu.add_channel(CH, "hook_chan", "Hook"))
        w.write_config([{"username": "hook_chan"}])
        rule = '[[alerts]]\nname = "alarm"\nkeywords = ["alarm"]\n'
        base = w.config.read_text()
        w.config.write_text(base + rule)
        p = w.start()
        w.wait_running(p)
        w.emu.call(lambda emu: emu.post(CH, "before alarm"))
        w.wait_for(lambda: w.query("SELECT count(*) FROM alert_hits") == [(1,)], 30, "a hit")
        w.config.write_text(base + rule + f'webhooks = ["{hook.url}"]\n')
        p.send_signal(signal.SIGHUP)
        w.wait_for(lambda: "config reloaded" in w.log_tail(10**6), 20, "the reload")
        w.emu.call(lambda emu: emu.post(CH, "after alarm"))
        w.wait_for(lambda: len(hook.accepted) == 1, 30, "the new hit delivered")
        time.sleep(2)  # nothing else arrives: the hit before the URL existed is not replayed
        assert [b["excerpt"] for b in hook.bodies] == ["after alarm"]
        assert w.stop(p) == 0
    finally:
        hook.close()
