"""CLI commands (emulator area): ``telewatch emulator serve``.

Runs the local Telegram emulator until SIGINT/SIGTERM. Prints two lines
scripts can parse (``listening on HOST:PORT`` and ``session written to
PATH``), then logs what happens; ``--dump-state`` writes the world as JSON at
exit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from telewatch.cli import main
from telewatch.models import UserError

if TYPE_CHECKING:
    from telewatch.emulator import Scenario


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
    "--channel",
    "channels",
    multiple=True,
    metavar="@USERNAME=RESULT.JSON",
    help="Serve a Telegram Desktop export as a channel's history (repeatable).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=int, show_default=True, help="Port (0 = any free port).")
@click.option(
    "--session",
    "session_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("emulator.session"),
    show_default=True,
    help="Telethon session file to write (mode 0600); an existing one keeps its key.",
)
@click.option(
    "--speed",
    type=float,
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
def serve(
    scenario_path: Path | None,
    channels: tuple[str, ...],
    host: str,
    port: int,
    session_path: Path,
    speed: float | None,
    dump_path: Path | None,
    login_code: str | None,
    password: str | None,
    verbose: bool,
) -> None:
    """Serve a local Telegram until interrupted (SIGINT/SIGTERM)."""
    # Imported here: Telethon is heavy, and every other command starts faster without it.
    from telewatch.emulator import Scenario, ScenarioError

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if speed is not None and speed <= 0:
        raise UserError(f"--speed must be positive, got {speed}")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {port}")
    exports = [_parse_channel(spec) for spec in channels]
    scenario = None
    if scenario_path is not None:
        try:
            scenario = Scenario.load(scenario_path)
        except ScenarioError as err:
            raise UserError(f"{err}; see docs/EMULATOR.md for the format") from None
    try:
        asyncio.run(
            _serve(
                scenario, exports, host, port, session_path, speed, dump_path, login_code, password
            )
        )
    except ScenarioError as err:
        raise UserError(str(err)) from None
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


async def _serve(
    scenario: Scenario | None,
    exports: list[tuple[str | None, Path]],
    host: str,
    port: int,
    session_path: Path,
    speed: float | None,
    dump_path: Path | None,
    login_code: str | None,
    password: str | None,
) -> None:
    from telewatch.emulator import Emulator

    emu = Emulator(
        scenario,
        host=host,
        port=port,
        speed=speed if speed is not None else (scenario.speed if scenario is not None else 1.0),
        login_code=login_code,
        password=password,
    )
    for username, path in exports:
        emu.load_export(path, username=username)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with emu:
        try:
            session = emu.write_session(session_path)
        except FileExistsError as err:
            raise UserError(str(err)) from None
        click.echo(f"listening on {emu.host}:{emu.port}")
        click.echo(f"session written to {session}")
        click.echo(
            f"login code {emu.account.login_code}"
            + (" (2FA enabled)" if emu.account.password else ""),
        )
        for ch in sorted(emu.world.channels.values(), key=lambda c: c.id):
            click.echo(f"channel {ch.id} @{ch.username or '-'}: {len(ch.messages)} messages")
        sys.stdout.flush()
        await stop.wait()
    if dump_path is not None:
        dump_path.parent.mkdir(parents=True, exist_ok=True)
        dump_path.write_text(
            json.dumps(emu.truth(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        click.echo(f"state dumped to {dump_path}")
