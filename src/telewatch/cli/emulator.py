"""CLI commands (emulator area): ``telewatch emulator serve``.

Runs the local Telegram emulator until SIGINT/SIGTERM. Prints lines scripts
can parse (``listening on HOST:PORT``, ``session written to PATH``, ``login
code CODE``, one ``channel …`` per channel), then logs what happens. The
session goes where the config's ``telegram.session`` says; a restart keeps the
session's port; ``--state`` keeps the world across restarts; ``--dump-state``
writes the world as JSON at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from telewatch.cli import AppContext, FiniteFloatRange, main
from telewatch.models import UserError

if TYPE_CHECKING:
    from telewatch.emulator import Emulator, Scenario


def _parse_channel(spec: str) -> tuple[str | None, Path]:
    """``@username=path/to/result.json`` (or just the path) → (username, path)."""
    if "=" in spec:
        name, _, raw_path = spec.partition("=")
        name = name.strip().lstrip("@")
        if not name:
            raise UserError(
                f"--channel {spec!r}: the username before '=' is empty; use @name=path/result.json"
            )
        username: str | None = name
    else:
        username, raw_path = None, spec
    path = Path(raw_path).expanduser()
    if not path.is_file():
        raise UserError(
            f"--channel {spec!r}: export {path} not found; give a Telegram Desktop result.json"
        )
    return username, path


@main.group(name="emulator", short_help="A local Telegram for tests and trying things out.")
def emulator_group() -> None:
    """The local Telegram emulator (real Telethon connects to it over TCP)."""


@emulator_group.command("serve")
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Scenario file (TOML or JSON; see docs/EMULATOR.md).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Serve the demo's fictional channels (@rafidain_watch, @khabar_fori, @vesti_polesya, "
    "@harbour_monitor) with their history and live posts.",
)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="@USERNAME=RESULT.JSON",
    help="Serve a Telegram Desktop export as a channel's history (repeatable).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=None,
    type=int,
    help="Port (default: the one the session already points at, so that a restart keeps it; "
    "else any free port; 0 = any free port).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Take the session path from this config's telegram.session (default: the global "
    "--config, ./telewatch.toml, ~/.config/telewatch/telewatch.toml, else "
    "data/telewatch.session).",
)
@click.option(
    "--session",
    "session_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Telethon session file to write (mode 0600) instead of the config's; an existing "
    "one keeps its key.",
)
@click.option(
    "--accounts",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Serve this many accounts, each with its own joined channels, access hashes and "
    "rate model; their sessions go to --session-dir.",
)
@click.option(
    "--session-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write one session per account here: account1.session … accountN.session (instead "
    "of --session).",
)
@click.option(
    "--max-joined",
    type=click.IntRange(min=0),
    default=None,
    help="channels.joinChannel answers CHANNELS_TOO_MUCH past this many joined channels per "
    "account (Telegram's limit is 500; default: no limit).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Keep the world in this file: restored at start when it exists, saved every few "
    "seconds and at exit, so a restart is the same server.",
)
@click.option(
    "--speed",
    type=FiniteFloatRange(min=0.001),
    default=None,
    help="Timeline speed factor (default: the scenario's, or 1).",
)
@click.option(
    "--dump-state",
    "dump_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the world (channels, messages, deletions) as JSON at exit.",
)
@click.option("--login-code", default=None, help="Code auth.signIn accepts (default 12345).")
@click.option("--password", default=None, help="Enable 2FA with this password.")
@click.option("-v", "--verbose", is_flag=True, help="Log every connection and unsupported method.")
@click.pass_obj
def serve(
    app: AppContext,
    scenario_path: Path | None,
    demo: bool,
    channels: tuple[str, ...],
    host: str,
    port: int | None,
    config_path: Path | None,
    session_path: Path | None,
    accounts: int,
    session_dir: Path | None,
    max_joined: int | None,
    state_path: Path | None,
    speed: float | None,
    dump_path: Path | None,
    login_code: str | None,
    password: str | None,
    verbose: bool,
) -> None:
    """Serve a local Telegram until interrupted (SIGINT/SIGTERM).

    The session is written where the config's telegram.session says, so
    `telewatch login`, `run` and `dash` find it without options. Restarted,
    it listens on the port the session points at (a running daemon simply
    reconnects); with --state it also keeps its channels and messages."""
    # Imported here: Telethon is heavy, and every other command starts faster without it.
    from telewatch.emulator import Scenario, ScenarioError
    from telewatch.emulator.server import session_address

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if speed is not None and speed <= 0:
        raise UserError(f"--speed must be positive, got {speed}")
    if port is not None and not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {port}")
    if demo and scenario_path is not None:
        raise UserError("--demo and --scenario both give the channels; use one")
    exports = [_parse_channel(spec) for spec in channels]
    if session_dir is not None and session_path is not None:
        raise UserError("--session and --session-dir both say where sessions go; use one")
    if accounts > 1 and session_dir is None:
        raise UserError(
            f"--accounts {accounts} writes one session per account: give --session-dir DIR"
        )
    if session_dir is not None and session_dir.exists() and not session_dir.is_dir():
        raise UserError(f"--session-dir {session_dir} is a file; give a folder")
    if session_dir is not None:
        session_path = session_dir / "account1.session"
    elif session_path is None:
        session_path = _config_session(config_path or app.config_path)
    scenario = None
    if scenario_path is not None:
        try:
            scenario = Scenario.load(scenario_path)
        except ScenarioError as err:
            raise UserError(f"{err}; see docs/EMULATOR.md for the format") from None
    elif demo:
        from telewatch.demo.scenario import build

        scenario = Scenario.from_dict(build(datetime.now(UTC)).emulator)
    kept = session_address(session_path)
    if port is None:
        port = kept[1] if kept is not None and kept[0] in ("127.0.0.1", "::1", host) else 0
    opts = _Options(
        host,
        port,
        session_path,
        state_path,
        speed,
        dump_path,
        login_code,
        password,
        accounts,
        session_dir,
        max_joined,
    )
    try:
        asyncio.run(_serve(scenario, exports, opts))
    except ScenarioError as err:
        raise UserError(str(err)) from None
    except OSError as err:
        hint = ""
        if kept is not None and kept[1] == port and port:
            hint = (
                f"; {session_path} points there: is another emulator still running?"
                " (--port 0 takes a new port)"
            )
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}{hint}") from None


def _config_session(config_path: Path | None) -> Path:
    """The session path of the config (the default one when no file exists)."""
    from telewatch.config import load_settings

    return Path(load_settings(config_path).telegram.session)


@dataclass(frozen=True)
class _Options:
    host: str
    port: int
    session_path: Path
    state_path: Path | None
    speed: float | None
    dump_path: Path | None
    login_code: str | None
    password: str | None
    accounts: int = 1
    session_dir: Path | None = None
    max_joined: int | None = None


STATE_SAVE_EVERY = 2.0
"""Seconds between two saves of the --state file while serving."""


async def _serve(
    scenario: Scenario | None,
    exports: list[tuple[str | None, Path]],
    o: _Options,
) -> None:
    from telewatch.emulator import Emulator
    from telewatch.emulator.server import SessionLocked
    from telewatch.emulator.state import StateError

    emu = Emulator(
        scenario,
        host=o.host,
        port=o.port,
        speed=o.speed if o.speed is not None else (scenario.speed if scenario is not None else 1.0),
        login_code=o.login_code,
        password=o.password,
        accounts=o.accounts,
        max_joined=o.max_joined,
    )
    for username, path in exports:
        emu.load_export(path, username=username)
    restored = o.state_path is not None and o.state_path.exists()
    if restored:
        assert o.state_path is not None
        try:
            emu.load_state(o.state_path)
        except StateError as err:
            raise UserError(f"{err}; remove it or give another --state file") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with emu:
        try:
            if o.session_dir is not None:
                sessions = emu.write_sessions(o.session_dir)
            else:
                sessions = [emu.write_session(o.session_path)]
        except FileExistsError as err:
            raise UserError(str(err)) from None
        except SessionLocked as err:
            raise UserError(
                f"cannot update {o.session_path} ({err}): a running telewatch holds it; restart "
                "the emulator on the port the session points at (omit --port) or stop the daemon"
            ) from None
        click.echo(f"listening on {emu.host}:{emu.port}")
        for session in sessions:
            click.echo(f"session written to {session}")
        click.echo(
            f"login code {emu.account.login_code}"
            + (" (2FA enabled)" if emu.account.password else ""),
        )
        if o.state_path is not None:
            click.echo(
                f"world restored from {o.state_path}"
                if restored
                else f"world kept in {o.state_path}"
            )
        for ch in sorted(emu.world.channels.values(), key=lambda c: c.id):
            live = sum(1 for m in ch.messages.values() if not m.deleted)
            click.echo(f"channel {ch.id} @{ch.username or '-'}: {live} messages")
        if not emu.world.channels:
            click.echo(
                "no channels: serve some with --demo, --scenario FILE or "
                "--channel @name=result.json",
                err=True,
            )
        sys.stdout.flush()
        if o.state_path is not None:
            saver = asyncio.ensure_future(_keep_state(emu, o.state_path, stop))
            await stop.wait()
            await saver
        else:
            await stop.wait()
    if o.dump_path is not None:
        o.dump_path.parent.mkdir(parents=True, exist_ok=True)
        o.dump_path.write_text(
            json.dumps(emu.truth(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        click.echo(f"state dumped to {o.dump_path}")


async def _keep_state(emu: Emulator, path: Path, stop: asyncio.Event) -> None:
    """Save the world every STATE_SAVE_EVERY seconds and once more at stop."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATE_SAVE_EVERY)
        emu.save_state(path)
