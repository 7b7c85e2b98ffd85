"""Configuration: TOML + environment, validated with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from telewatch.config import default_config_path, load_settings, parse_backfill, parse_channel_ref
from telewatch.models import UserError

GOOD = """
[telegram]
api_id = 12345
api_hash = "0123456789abcdef0123456789abcdef"
session = "data/x.session"
[storage]
db = "data/x.db"
[[channels]]
username = "rafidain_watch"
[[channels]]
link = "https://t.me/s/other_watch"
mode = "poll"
backfill = 500
[[channels]]
id = 1500000001
backfill = "2022-01-01"
[[alerts]]
name = "samawah"
keywords = ["السماوة"]
channels = ["@rafidain_watch"]
on = ["new", "edit"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "telewatch.toml"
    p.write_text(text)
    return p


def test_full_config_loads_with_watch_keys_and_alert_rules(tmp_path: Path) -> None:
    """A valid file gives channels with watch keys, depths and alert rules."""
    s = load_settings(_write(tmp_path, GOOD))
    assert [c.key for c in s.channels] == [
        "username:rafidain_watch",
        "username:other_watch",
        "id:1500000001",
    ]
    assert [c.backfill for c in s.channels] == ["all", "500", "2022-01-01"]
    assert s.channels[1].mode == "poll"
    rule = s.alert_rules()[0]
    assert rule.channels == ("rafidain_watch",) and rule.on == ("new", "edit")
    assert s.telegram.flood_sleep_threshold == 0


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            '[[channels]]\nusername = "a_chan"\n[[channels]]\nusername = "b_chan"\n[[channels]]\nid = 5\nmode = "pull"\n',
            'channels[2].mode: must be "join" or "poll"',
        ),
        ("[daemon]\npoll_intervall = 5\n", "daemon.poll_intervall: unknown key"),
        ("[telegram]\napi_id = -1\n", "telegram.api_id:"),
        ('[[channels]]\nusername = "ab"\n', "channels[0].username: must be 4-32 letters"),
        (
            '[[channels]]\nusername = "good_name"\nid = 5\n',
            'channels[0]: needs exactly one of "username", "id" or "link"',
        ),
        (
            '[[channels]]\nusername = "good_name"\nbackfill = "yesterday"\n',
            'channels[0].backfill: must be "all", a date',
        ),
        (
            '[[alerts]]\nname = "x"\nregex = "(unclosed"\n',
            "alerts[0].regex: is not a valid regular expression",
        ),
        ("[bogus]\nx = 1\n", "bogus: unknown key"),
    ],
)
def test_invalid_config_names_the_key_in_one_line(
    tmp_path: Path, snippet: str, message: str
) -> None:
    """Each mistake gives one line that names the key and the problem."""
    with pytest.raises(UserError) as err:
        load_settings(_write(tmp_path, snippet))
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_environment_overrides_the_file_and_secrets_stay_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TELEWATCH_<SECTION>__<KEY> wins over the file; api_hash never shows in repr."""
    monkeypatch.setenv("TELEWATCH_TELEGRAM__API_HASH", "secret-from-env-123")
    monkeypatch.setenv("TELEWATCH_DAEMON__POLL_INTERVAL", "7.5")
    s = load_settings(_write(tmp_path, GOOD))
    assert s.telegram.api_hash.get_secret_value() == "secret-from-env-123"
    assert s.daemon.poll_interval == 7.5
    assert "secret-from-env-123" not in repr(s)
    assert "0123456789abcdef" not in repr(load_settings(_write(tmp_path, GOOD)))


def test_missing_file_and_bad_toml_are_user_errors(tmp_path: Path) -> None:
    """A missing file or broken TOML is reported with the path, not a traceback."""
    with pytest.raises(UserError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[telegram\n"))


def test_duplicate_channels_are_rejected(tmp_path: Path) -> None:
    """The same channel twice (by username and by link) is an error."""
    text = '[[channels]]\nusername = "Dup_Chan"\n[[channels]]\nlink = "t.me/dup_chan"\n'
    with pytest.raises(UserError, match=r"channels\[1\] repeats channels\[0\]"):
        load_settings(_write(tmp_path, text))


def test_default_config_path_prefers_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./telewatch.toml wins over $XDG_CONFIG_HOME/telewatch/telewatch.toml."""
    xdg = tmp_path / "xdg"
    (xdg / "telewatch").mkdir(parents=True)
    (xdg / "telewatch" / "telewatch.toml").write_text("")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert default_config_path() == xdg / "telewatch" / "telewatch.toml"
    (work / "telewatch.toml").write_text("")
    assert default_config_path() == Path("telewatch.toml")


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("@rafidain_watch", ("rafidain_watch", None)),
        ("https://t.me/rafidain_watch/123", ("rafidain_watch", None)),
        ("t.me/s/rafidain_watch", ("rafidain_watch", None)),
        ("tg://resolve?domain=rafidain_watch", ("rafidain_watch", None)),
        ("https://t.me/c/1500000001/7", (None, 1500000001)),
        ("-1001500000001", (None, 1500000001)),
        ("1500000001", (None, 1500000001)),
    ],
)
def test_channel_references_in_every_common_form(
    text: str, ref: tuple[str | None, int | None]
) -> None:
    """Usernames, t.me links, tg:// links and (marked) ids all parse."""
    assert parse_channel_ref(text) == ref


def test_bad_references_and_depths_are_rejected() -> None:
    """A foreign URL or a nonsense depth raises ValueError with a hint."""
    with pytest.raises(ValueError, match="not a channel username"):
        parse_channel_ref("https://example.com/rafidain")
    with pytest.raises(ValueError):
        parse_backfill("2022-13-40")
    assert parse_backfill(" ALL ") == "all"


def test_the_shipped_example_config_is_valid() -> None:
    """config/telewatch.example.toml loads as documented."""
    example = Path(__file__).resolve().parents[2] / "config" / "telewatch.example.toml"
    s = load_settings(example)
    assert s.channels == []  # the example watches nothing until its examples are replaced
    assert s.daemon.budgets["messages.GetHistory"] == (10, 31.0)


def test_the_example_configs_commented_channels_are_valid_once_uncommented(
    tmp_path: Path,
) -> None:
    """Uncommenting the example config's [[channels]] examples gives two valid entries."""
    example = Path(__file__).resolve().parents[2] / "config" / "telewatch.example.toml"
    text = example.read_text(encoding="utf-8")
    start, end = text.index("# [[channels]]"), text.index("[daemon]")
    block = "\n".join(
        line[2:] if line.startswith("# ") else line.removeprefix("#")
        for line in text[start:end].splitlines()
    )
    edited = tmp_path / "telewatch.toml"
    edited.write_text(text[:start] + block + "\n" + text[end:], encoding="utf-8")
    s = load_settings(edited)
    assert [c.key for c in s.channels] == [
        "username:example_channel",
        "username:another_example",
    ]
