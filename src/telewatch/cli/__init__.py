"""The ``telewatch`` command: a click group whose commands live in the
sibling modules (archive, emulator, daemon, dash, xref), one per area.

Errors a user can fix (``UserError``) become one line on stderr and exit 2;
anything unexpected exits 1 with the same one-line form (the traceback only
with ``TELEWATCH_DEBUG=1``)."""

from __future__ import annotations

import importlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from telewatch import __version__
from telewatch.models import UserError
from telewatch.text import printable

DEFAULT_DB = Path("data/telewatch.db")


@dataclass
class AppContext:
    """What every command gets through ``click.pass_obj``."""

    config_path: Path | None
    db_override: Path | None

    def settings(self) -> Any:
        """The loaded settings (config file + env); raises UserError."""
        from telewatch.config import load_settings

        return load_settings(self.config_path)

    @property
    def db_path(self) -> Path:
        """``--db`` wins, then the config's ``storage.db``, then the default."""
        if self.db_override is not None:
            return self.db_override
        if self.config_path is not None or _default_config_exists():
            return Path(self.settings().storage.db)
        env = os.environ.get("TELEWATCH_STORAGE__DB")
        return Path(env) if env else DEFAULT_DB

    @property
    def db_name(self) -> str:
        """The archive as messages name it: the path, or the PostgreSQL
        address without its password."""
        from telewatch.store.db import pg_address

        url = pg_address(self.db_path)
        if url is None:
            return str(self.db_path)  # psycopg only for a PostgreSQL archive
        from telewatch.store.pg import masked

        return masked(url)

    @property
    def db_exists(self) -> bool:
        """Whether there is an archive to read (a PostgreSQL address: always
        asked of the server)."""
        from telewatch.store.db import pg_address

        return pg_address(self.db_path) is not None or self.db_path.exists()


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` and ``inf`` (which pass
    FloatRange's comparisons, or fail later far from the option)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The float, or a usage error for a non-finite or out-of-range number."""
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


# click ≥ 8.2 raises this (a UsageError) to show a group's help when no command is given.
_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    c for c in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if c is not None
)


def _usage_line(err: click.UsageError) -> None:
    """A bad option or argument as one line like every other error (click's
    own form is three lines, with the usage first)."""
    where = err.ctx.command_path if err.ctx is not None else "telewatch"
    click.echo(
        f"error: {printable(err.format_message(), multiline=False)} (see `{where} --help`)",
        err=True,
    )


def _default_config_exists() -> bool:
    from telewatch.config import default_config_path

    return default_config_path() is not None


class _Group(click.Group):
    """Turns UserError (and stray exceptions) into one clear line, and
    imports a command's module only when that command is wanted
    (``lazy``: command name → module of ``telewatch.cli``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, its area module imported first (every module when
        the name is not in ``lazy``: a command added without an entry still
        works, and an unknown name is refused as before)."""
        if cmd_name not in self.commands:
            module = self.lazy.get(cmd_name)
            if module is not None:
                importlib.import_module(f"telewatch.cli.{module}")
            else:
                register_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command (``--help``): every area module is imported."""
        register_all()
        return super().list_commands(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The group's own options (``--db``, ``--config``): a bad one is one
        line too, like a subcommand's."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            if isinstance(err, _NO_ARGS_IS_HELP):
                raise  # `telewatch` or `telewatch channels` alone: the help, as click shows it
            _usage_line(err)
            ctx.exit(2)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # `telewatch --help | head -3`: the help is printed while parsing.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _reader_left()
            raise click.exceptions.Exit(0) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            # Flush here, not at interpreter exit, so that a reader that left
            # (`| head`) is noticed while we can still exit quietly.
            sys.stdout.flush()
            return result
        except BrokenPipeError:
            _reader_left()
            ctx.exit(0)
        except click.exceptions.Exit:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                _reader_left()
            raise
        except UserError as err:
            click.echo(f"error: {printable(str(err), multiline=False)}", err=True)
            ctx.exit(2)
        except click.UsageError as err:
            if isinstance(err, _NO_ARGS_IS_HELP):
                raise  # `telewatch` or `telewatch channels` alone: the help, as click shows it
            _usage_line(err)
            ctx.exit(2)
        except (click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as err:
            if os.environ.get("TELEWATCH_DEBUG"):
                raise
            click.echo(
                f"error: {type(err).__name__}: {printable(str(err), multiline=False)}"
                " (set TELEWATCH_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(1)


def _reader_left() -> None:
    """stdout's reader went away (`telewatch search … | head -2`): like Unix
    tools, stop without a word. Later writes (and the interpreter's final
    flush) go to /dev/null instead of raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a file descriptor (CliRunner): nothing to redirect
    finally:
        os.close(devnull)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="TELEWATCH_CONFIG",
    help="TOML config file (default: ./telewatch.toml or ~/.config/telewatch/telewatch.toml).",
)
@click.option(
    "--db",
    "db_override",
    # No dir_okay check here: store.db says "is a folder" in the one error style.
    type=click.Path(path_type=Path),
    default=None,
    help="Archive database (overrides the config's storage.db).",
)
@click.version_option(__version__, prog_name="telewatch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, db_override: Path | None) -> None:
    """telewatch: archive the Telegram channels articles cite, and find the posts they cite."""
    ctx.obj = AppContext(config_path=config_path, db_override=db_override)


@main.group(cls=_Group)
def channels() -> None:
    """The archive's channels and the daemon's watch list."""


def _lazy(group: click.Group, table: dict[str, str]) -> None:
    assert isinstance(group, _Group)
    group.lazy = table


# Which area module attaches each command to `main` / `channels` (on import).
# A command's module is imported only when the command runs, so that a
# one-shot `telewatch xref` does not pay for the daemon's, the dashboard's,
# the archive's … imports (tests/cli/test_cli_imports.py checks this table
# against what the modules register and what `xref` imports).
_MAIN_COMMANDS = {
    **dict.fromkeys(["import", "search", "show", "export", "verify"], "archive"),
    **dict.fromkeys(["login", "run", "status"], "daemon"),
    **dict.fromkeys(["dash", "alerts", "watch-post", "demo"], "dash"),
    "emulator": "emulator",
    **dict.fromkeys(["anchor", "evidence"], "evidence"),
    "media": "media",
    "migrate": "migrate",
    **dict.fromkeys(["graph", "feed"], "publish"),
    **dict.fromkeys(["xref", "trace", "phash", "embed", "eval"], "xref"),
}
_CHANNELS_COMMANDS = {
    "show": "events",
    "archived": "archive",
    **dict.fromkeys(["add", "remove", "list"], "daemon"),
}
_lazy(main, _MAIN_COMMANDS)
_lazy(channels, _CHANNELS_COMMANDS)
AREA_MODULES = tuple(sorted({*_MAIN_COMMANDS.values(), *_CHANNELS_COMMANDS.values()}))


def register_all() -> None:
    """Import every area module, so that ``main`` and ``channels`` hold
    every command (``--help``, an unknown name, tests walking the tree)."""
    for name in AREA_MODULES:
        importlib.import_module(f"telewatch.cli.{name}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
