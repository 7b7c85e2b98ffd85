"""The README's "Real use" recipe, run as written (parsed out of README.md, so the two
cannot drift apart) in a fresh venv without extras, against the emulator."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.venv import REPO, FreshInstall

pytestmark = pytest.mark.slow

RECIPE_HEADING = "### The real daemon against the local Telegram"


def _blocks(text: str) -> list[tuple[int, str]]:
    """(offset, body) of every ```sh block."""
    return [(m.start(), m.group(1)) for m in re.finditer(r"```sh\n(.*?)```", text, re.S)]


def _recipe(readme: str) -> list[tuple[list[str], str]]:
    """The commands of the recipe block: (argv, comment) per line."""
    at = readme.index(RECIPE_HEADING)
    body = next(b for offset, b in _blocks(readme) if offset > at)
    out = []
    for line in body.splitlines():
        if not line.strip():
            continue
        command, _, comment = line.partition("  #")
        out.append((shlex.split(command), comment.strip()))
    return out


def test_the_readme_keeps_two_setup_commands_and_states_requirements() -> None:
    """The README's set-up block is exactly `make demo` and `make test`, and it states
    Python >= 3.11 and tmux for the suite."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = _blocks(readme)[0][1]
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "Python ≥ 3.11" in readme and "tmux" in readme
    recipe = [argv[0] for argv, _ in _recipe(readme)]
    assert recipe[0] == "cp" and all(a == ".venv/bin/telewatch" for a in recipe[1:]), recipe


class _Recipe:
    """A user's checkout: the fresh venv as .venv, the README's files, no TELEWATCH_*."""

    def __init__(self, root: Path, fresh: FreshInstall) -> None:
        self.root = root
        shutil.copytree(fresh.source / "config", root / "config")
        (root / ".venv").symlink_to(fresh.venv)
        self.env = fresh.env()
        self.env["HOME"] = str(root / "home")
        self.env["XDG_CONFIG_HOME"] = str(root / "home" / ".config")
        self.background: list[subprocess.Popen[str]] = []
        self.outputs: dict[str, str] = {}

    def _wait_live(self) -> None:
        """What the user does between `run` and `status`: wait for the channels."""
        end = time.monotonic() + 180
        doc: dict[str, object] = {}
        while time.monotonic() < end:
            r = subprocess.run(
                [".venv/bin/telewatch", "status", "--json"],
                cwd=self.root,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if r.returncode == 0:
                doc = json.loads(r.stdout)
                states = {c["state"] for c in doc["channels"]}  # type: ignore[union-attr]
                if doc["channels"] and states <= {"live", "polling"}:
                    return
            time.sleep(1)
        pytest.fail(f"the channels never went live: {doc}; daemon: {self._daemon_log()}")

    def _daemon_log(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def run(self, argv: list[str], comment: str) -> None:
        name = " ".join(argv[1:3])
        if "keeps running" in comment:
            if argv[1:3] == ["emulator", "serve"]:
                p = subprocess.Popen(
                    argv,
                    cwd=self.root,
                    env=self.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                assert p.stdout is not None
                first = p.stdout.readline()
                assert first.startswith("listening on 127.0.0.1:"), (first, p.stderr)
            else:
                log = open(self.root / "daemon.log", "w")  # noqa: SIM115 - closed with the process
                p = subprocess.Popen(argv, cwd=self.root, env=self.env, stdout=log, stderr=log)
                log.close()
            self.background.append(p)
            return
        if argv[1:2] == ["status"]:
            self._wait_live()
        r = subprocess.run(
            argv,
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 0, (argv, r.stdout, r.stderr, self._daemon_log())
        self.outputs[name] = r.stdout + r.stderr

    def stop(self) -> list[int]:
        codes = []
        for p in reversed(self.background):  # the daemon first, then the emulator
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            p.communicate(timeout=30)
            codes.append(p.returncode)
        return codes

    def kill(self) -> None:
        for p in self.background:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)


def test_the_readme_real_use_recipe_runs_as_written(
    fresh_install: FreshInstall, tmp_path: Path
) -> None:
    """Every command of the README's emulator recipe, as written, in a fresh venv: the
    config is copied, the emulator writes the session the config names, login sees it,
    the channels are added and archived by `run`, and status, search, show and export
    answer from the archive."""
    readme = (fresh_install.source / "README.md").read_text(encoding="utf-8")
    recipe = _Recipe(tmp_path / "checkout", fresh_install)
    try:
        for argv, comment in _recipe(readme):
            recipe.run(argv, comment)
        out = recipe.outputs
        assert out["login"].startswith("already logged in as "), out["login"]
        assert "daemon: running" in out["status"] and "@rafidain_watch" in out["status"]
        assert "@rafidain_watch/" in out["search البصرة"], out["search البصرة"]
        assert "── version 1" in out["show @rafidain_watch/1"]
        with (recipe.root / "posts.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) >= 11 and {r["username"] for r in rows} == {
            "rafidain_watch",
            "harbour_monitor",
        }
        assert recipe.stop() == [0, 0]
    finally:
        recipe.kill()
    assert (recipe.root / "data" / "emulator.json").exists()
    assert os.stat(recipe.root / "data" / "telewatch.session").st_mode & 0o777 == 0o600
