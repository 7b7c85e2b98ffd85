"""`--help` everywhere: short first lines that fit, help on every option."""

from __future__ import annotations

import click
from click.testing import CliRunner

from telewatch.cli import main, register_all

# The area modules attach their commands on import (the CLI imports a
# command's module only when it runs): walk the whole tree.
register_all()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = main
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


def test_command_lists_are_not_cut_at_80_columns() -> None:
    """Every group's command list, rendered 80 columns wide, shows whole descriptions (no "...")."""
    groups = [()] + [p for p in _commands(main) if isinstance(_command(p), click.Group)]
    for path in groups:
        r = CliRunner().invoke(main, [*path, "--help"], terminal_width=80)
        assert r.exit_code == 0, r.output
        listing = r.output.split("Commands:", 1)[1]
        cut = [line for line in listing.splitlines() if line.rstrip().endswith("...")]
        assert not cut, f"telewatch {' '.join(path)} --help cuts: {cut}"


def test_every_option_and_argument_of_every_command_is_explained() -> None:
    """Each option of each command (and the global ones) has help text in `--help`."""
    missing: list[str] = []
    for path in [(), *_commands(main)]:
        cmd = _command(path)
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"telewatch {' '.join(path)} {param.opts[0]}")
        if not cmd.help:
            missing.append(f"telewatch {' '.join(path)} (no description)")
    assert not missing, missing


def test_run_and_login_help_say_where_config_and_session_are() -> None:
    """`run --help` and `login --help` name the config files looked for and the session's key."""
    for name in ("run", "login"):
        r = CliRunner().invoke(main, [name, "--help"], terminal_width=100)
        text = " ".join(r.output.split())
        assert "./telewatch.toml" in text and "~/.config/telewatch/telewatch.toml" in text, text
        assert "telegram.session" in text and "data/telewatch.session" in text, text
