"""``telewatch demo``: the emulator, the real daemon and the dashboard, together.

1. Build the bundled scenario (``demo.scenario``) relative to now and start a
   local Telegram emulator on a free port in its own thread; write a ready
   Telethon session for it.
2. Write a config (channels, alert rules, short daemon intervals) and start
   the real daemon as a child process: ``telewatch --config FILE run``, exactly
   what a user runs, logging to ``daemon.log`` beside the archive.
3. Open the dashboard on the archive at once, telling it which daemon is
   starting (its banner says "starting…" until the first heartbeat) (or, headless, wait ``duration``
   seconds after the daemon is ready and print a summary). When the daemon has
   reported on every channel (at most WARMUP_LIMIT), a director thread plays
   the scenario's timeline into the emulator: new posts every few seconds, an
   edit, a forward, a FloodWait, a deletion, a dropped connection.
4. Quitting stops the director, the daemon (SIGTERM,
   then SIGKILL after a grace period) and the emulator, in that order.

Files (archive, session, config, log) go to ``--dir`` or a temporary
directory that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from telewatch.demo.scenario import DemoScenario, build
from telewatch.emulator.scenario import Scenario
from telewatch.emulator.server import EmulatorThread
from telewatch.models import AlertRule, UserError
from telewatch.store import comments, feed
from telewatch.store import status as status_store
from telewatch.store.db import migrate

STOP_GRACE = 15.0  # seconds the daemon gets to shut down cleanly before SIGKILL
WARMUP_LIMIT = 30.0  # longest wait for the daemon's first channel statuses


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def write_config(path: Path, demo: DemoScenario, db: Path, session: Path) -> Path:
    """Write the daemon's config for the demo: the channels, the alert rules and
    short intervals so that reconciliation and heartbeats show within seconds."""
    lines = [
        "# Written by `telewatch demo`: the bundled fictional scenario, no Telegram account.",
        "[telegram]",
        "api_id = 1",
        'api_hash = "telewatch-demo"',
        f"session = {_toml_str(str(session))}",
        "",
        "[storage]",
        f"db = {_toml_str(str(db))}",
        "",
        "[daemon]",
        "poll_interval = 5.0",
        "reconcile_interval = 20.0",
        "reconcile_window = 50",
        "gap_repair_interval = 60.0",
        "heartbeat_interval = 1.0",
        "watchlist_interval = 2.0",
        "",
    ]
    for ch in demo.channels:
        lines += ["[[channels]]", f"username = {_toml_str(ch.username)}", f'mode = "{ch.mode}"']
        lines += ["comments = true", ""] if ch.comments else [""]
    for rule in demo.alerts:
        lines += ["[[alerts]]", f"name = {_toml_str(rule.name)}"]
        if rule.keywords:
            lines.append(f"keywords = {_toml_list(rule.keywords)}")
        if rule.regex:
            lines.append(f"regex = {_toml_str(rule.regex)}")
        if rule.channels:
            lines.append(f"channels = {_toml_list(rule.channels)}")
        lines.append(f"on = {_toml_list(tuple(rule.on))}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Director:
    """Plays the scenario's timeline into the emulator from a thread, at ``speed``."""

    def __init__(
        self,
        emulator: EmulatorThread,
        scenario: Scenario,
        speed: float,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.ready = ready
        self.emulator = emulator
        self.scenario = scenario
        self.speed = speed
        self.played = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="telewatch-demo-director", daemon=True
        )

    def start(self) -> None:
        """Start the thread: it waits (at most WARMUP_LIMIT) until ``ready()`` holds, then
        plays from time zero."""
        self._thread.start()

    def stop(self) -> None:
        """Stop playing (returns once the thread has finished its current step)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        deadline = time.monotonic() + WARMUP_LIMIT
        while self.ready is not None and time.monotonic() < deadline:
            if self.ready() or self._stop.wait(0.25):
                break
        start = time.monotonic()
        for action in self.scenario.timeline:
            delay = action.at / self.speed - (time.monotonic() - start)
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            try:
                self.emulator.call(lambda emu, a=action: emu.apply(a), timeout=10)  # type: ignore[misc]
                self.played += 1
            except Exception:
                # A step can fail only when the world disagrees with it (e.g. the emulator
                # is stopping); the show goes on with the next one.
                self.failed += 1


def _daemon_command(config: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from telewatch.cli import main; main()",
        "--config",
        str(config),
        "run",
    ]


def _channels_reported(db: Path, expected: int, proc: subprocess.Popen[bytes]) -> bool:
    """True once the daemon has reported a working state for every channel, or has exited
    (nothing to wait for then)."""
    if proc.poll() is not None:
        return True
    conn = feed.open_reader(db)
    try:
        n = status_store.reported_count(conn)
    finally:
        conn.close()
    return int(n) >= expected


def _log_tail(path: Path) -> str:
    try:
        lines = [
            ln
            for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if ln.strip()
        ]
    except OSError:
        return ""
    return f" (last log line: {lines[-1].strip()})" if lines else ""


def _stop_daemon(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL after STOP_GRACE; returns the daemon's exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


class StopRequests:
    """SIGTERM and SIGHUP (terminal closed) end the demo the same way as `q`: the
    dashboard exits, then the director, the daemon and the emulator stop. Without this,
    Python's default action would end the process at once and leave the daemon, which
    runs in its own session, orphaned."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.app: Any = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.event.set()
        if self.app is not None:
            # Runs between bytecodes on the app's own thread: hand the exit to the event
            # loop through its thread-safe (self-pipe) entry point. No loop: not started yet.
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_soon_threadsafe(self.app.exit)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was requested."""
        return self.event.wait(seconds)


@contextmanager
def _data_dir(data_dir: Path | None) -> Iterator[Path]:
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield data_dir
        return
    tmp = Path(tempfile.mkdtemp(prefix="telewatch-demo-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def summary(db: Path, seconds: float, rules: tuple[AlertRule, ...]) -> str:
    """The headless report: channels, posts, versions, deletions, alert hits per rule."""
    conn = feed.open_reader(db)
    try:
        t = feed.totals(conn)
        counters = {c.rule: c.total for c in feed.alert_counters(conn)}
        names = comments.channel_labels(conn)  # discussion groups are counted as comments
        n_comments, n_groups, group_posts = comments.total(conn)
    finally:
        conn.close()
    per_rule = ", ".join(f"{r.name} {counters.get(r.name, 0)}" for r in rules)
    if counters.get("watched-post"):
        per_rule += f", watched-post {counters['watched-post']}"
    return "\n".join(
        [
            f"telewatch demo: {seconds:.0f} s against the local emulator",
            f"channels   {len(names)}  ({', '.join(str(n) for n in names)})",
            f"posts      {t.posts - group_posts}",
            f"comments   {n_comments}  (in {n_groups} discussion group(s))",
            f"versions   {t.versions}  ({t.edits} edits)",
            f"deletions  {t.deletions}",
            f"alerts     {t.alerts}  ({per_rule})",
        ]
    )


def run_demo(*, headless: bool, duration: float, data_dir: Path | None, speed: float = 1.0) -> int:
    """Run the demo; returns the exit status (0 when everything started and stopped cleanly)."""
    now = datetime.now(UTC).replace(microsecond=0)
    demo = build(now, duration=max(duration * speed, 3600.0) + 60)
    scenario = Scenario.from_dict({**demo.emulator, "autostart": False})
    with StopRequests() as stop, _data_dir(data_dir) as base:
        db = base / "demo.db"
        log_path = base / "daemon.log"
        migrate(db)
        with EmulatorThread(scenario) as emulator:
            session = emulator.write_session(base / "demo.session")
            config = write_config(base / "telewatch.toml", demo, db, session)
            env = {**os.environ, "TELEWATCH_CONFIG": str(config)}
            with log_path.open("ab") as log:
                proc = subprocess.Popen(
                    _daemon_command(config),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # Ctrl-C in the dashboard is not the daemon's
                )
            ready = partial(_channels_reported, db, len(demo.channels), proc)
            director = Director(emulator, scenario, speed, ready)
            started = time.monotonic()
            try:
                # The dashboard opens at once; the director starts the scenario when the
                # daemon is ready, so the opening script is archived live, not backfilled.
                director.start()
                if headless:
                    deadline = time.monotonic() + WARMUP_LIMIT
                    while not ready() and time.monotonic() < deadline:
                        if stop.wait(0.25):
                            break
                    if proc.poll() is not None:
                        raise UserError(
                            f"the demo daemon exited with status {proc.returncode} at start"
                            f"{_log_tail(log_path)}; rerun with --dir DIR to keep its log"
                        )
                    started = time.monotonic()
                    while time.monotonic() - started < duration and proc.poll() is None:
                        if stop.wait(0.2):
                            break
                    if proc.poll() is not None:
                        raise UserError(
                            f"the demo daemon died with status {proc.returncode} after "
                            f"{time.monotonic() - started:.0f} s{_log_tail(log_path)}"
                        )
                else:
                    from telewatch.dashboard.app import DaemonLaunch, make_app

                    # The dashboard opens before the daemon's first heartbeat: tell it
                    # which daemon is starting, so that it says "starting…" (and says so
                    # if that process exits first) instead of "no daemon has written".
                    launch = DaemonLaunch(
                        pid=proc.pid,
                        running=lambda: proc.poll() is None,
                        log=log_path,
                        started_at=datetime.now(UTC),
                    )
                    app = make_app(db, title=f"demo — {base}", launch=launch)
                    stop.app = app
                    if not stop.event.is_set():
                        app.run()
            finally:
                director.stop()
                status = _stop_daemon(proc)
            elapsed = time.monotonic() - started
        if headless:
            print(summary(db, elapsed, demo.alerts))
        if status not in (0, -signal.SIGTERM):
            print(
                f"warning: the demo daemon exited with status {status}{_log_tail(log_path)}",
                file=sys.stderr,
            )
            return 1
        return 0
