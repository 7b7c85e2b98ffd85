"""End to end in a real terminal: `telewatch demo` (emulator + daemon + dashboard) in
tmux at 120×40; the first frames must say the daemon is starting (never that no daemon
has written), then the screen must show the channels, posts arriving, an edit and a
deletion within 60 s, and `q` must end everything with status 0."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from telewatch.dashboard.rtl import visual

TELEWATCH = Path(sys.executable).parent / "telewatch"


def _tmux(socket: str, *args: str) -> str:
    out = subprocess.run(
        ["tmux", "-L", socket, *args], check=True, capture_output=True, text=True, timeout=10
    )
    return out.stdout


def _wait_for(socket: str, check: object, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux(socket, "capture-pane", "-p", "-t", "demo")
        if check(screen):  # type: ignore[operator]
            return screen
        time.sleep(0.5)
    raise AssertionError(f"not seen within {timeout} s; last screen:\n{screen}")


@pytest.mark.slow
def test_demo_in_tmux(tmp_path: Path) -> None:
    """The demo shows channels, new posts, an edit and a deletion within 60 s; q exits 0."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt-get install tmux); .ci/run installs it")
    socket = f"telewatch-test-{uuid.uuid4().hex[:8]}"
    status_file = tmp_path / "status"
    # pytest exports COLUMNS/LINES (80×24); the terminal, not them, must size the app.
    command = f"env -u COLUMNS -u LINES {TELEWATCH} demo --dir {tmp_path / 'demo'}; echo $? > {status_file}"
    _tmux(socket, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "40", command)
    try:
        started = time.monotonic()
        # Every frame until the channels show: the dashboard knows the demo started the
        # daemon, so it says "starting…" and never "no daemon has written".
        frames: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            frames.append(_tmux(socket, "capture-pane", "-p", "-t", "demo"))
            if "Вести Полесья" in frames[-1] and "Harbour Monitor" in frames[-1]:
                break
            time.sleep(0.1)
        assert not [f for f in frames if "no daemon has written" in f], frames
        assert any("starting the daemon" in f for f in frames), frames[-1]
        screen = _wait_for(socket, lambda s: "Вести Полесья" in s and "Harbour Monitor" in s, 30)
        assert visual("مرصد الرافدين") in screen
        assert visual("خبر فوری") in screen
        screen = _wait_for(socket, lambda s: "✎ edit v2" in s and "✖ deleted" in s, 60)
        assert time.monotonic() - started < 60
        assert "Официально: на НПЗ плановые работы" in screen or screen.count("● new") >= 10
        _tmux(socket, "send-keys", "-t", "demo", "q")
        deadline = time.monotonic() + 30
        while not status_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status_file.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
