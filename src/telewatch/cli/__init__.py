"""The ``telewatch`` command: a click group whose commands live in the
sibling modules (archive, emulator, daemon, dash, xref), one per area.

Errors a user can fix (``UserError``) become one line on stderr and exit 2;
anything unexpected exits 1 with the same one-line form (the traceback only
with ``TELEWATCH_DEBUG=1``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from telewatch import __version__
from telewatch.models import UserError

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


def _default_config_exists() -> bool:
    from telewatch.config import default_config_path

    return default_config_path() is not None


class _Group(click.Group):
    """Turns UserError (and stray exceptions) into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as err:
            if os.environ.get("TELEWATCH_DEBUG"):
                raise
            click.echo(
                f"error: {type(err).__name__}: {err} (set TELEWATCH_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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


@main.group()
def channels() -> None:
    """The archive's channels and the daemon's watch list."""


def _register() -> None:
    # Each area module attaches its commands to `main` / `channels` on import.
    from telewatch.cli import archive, daemon, dash, emulator, xref  # noqa: F401


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
