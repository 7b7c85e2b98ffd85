"""[telegram].proxy: `login` and the daemon reach the emulator through a real SOCKS5 proxy."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

from telewatch.emulator import Emulator
from tests.fixtures.daemon import TELEWATCH, DaemonWorld
from tests.fixtures.socks import Socks5Server

CHANNEL = 1500000951


def _with_proxy(w: DaemonWorld, url: str) -> None:
    text = w.config.read_text()
    w.config.write_text(text.replace("[telegram]\n", f'[telegram]\nproxy = "{url}"\n', 1))


def test_login_and_daemon_go_through_a_socks5_proxy(
    daemon_world: DaemonWorld, socks_proxy: Socks5Server
) -> None:
    """With a socks5:// proxy (user and password) in the config, `login` and `run` reach the
    emulator only through the proxy, and the daemon archives the channel's history."""
    w = daemon_world
    base = datetime.now(UTC) - timedelta(hours=1)

    def setup(emu: Emulator) -> None:
        emu.add_channel(CHANNEL, "proxied_news", "Proxied")
        ch = emu.world.channel(CHANNEL)
        for i in range(12):
            emu.world.add_message(ch, f"through the proxy {i}", date=base, log=False)

    w.emu.call(setup)
    w.write_config([{"username": "proxied_news", "mode": "poll"}])
    _with_proxy(w, socks_proxy.url)
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "login"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0 and "already logged in as" in r.stdout, r.stderr
    assert ("127.0.0.1", w.emu.port) in socks_proxy.connects
    assert "s3cret" not in r.stdout + r.stderr
    before = len(socks_proxy.connects)
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT count(*) FROM posts WHERE channel_id = ?", CHANNEL) == [(12,)],
        60,
        "the history archived through the proxy",
    )
    assert len(socks_proxy.connects) > before
    assert all(target == ("127.0.0.1", w.emu.port) for target in socks_proxy.connects)
    assert w.stop(p) == 0
    assert "s3cret" not in w.log_tail(100_000)


def test_a_proxy_refusing_the_credentials_is_one_clear_line(
    daemon_world: DaemonWorld, socks_proxy: Socks5Server
) -> None:
    """Wrong proxy credentials: `login` fails in one line naming the proxy, not a traceback."""
    w = daemon_world
    w.write_config([])
    _with_proxy(w, socks_proxy.url.replace("s3cret", "wrong"))
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "login"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "proxy" in r.stderr, r.stderr
    assert "wrong" not in r.stderr
    assert socks_proxy.refused >= 1 and socks_proxy.connects == []
