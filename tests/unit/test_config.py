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


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("[daemon]\nengagement_ages = [nan]", "daemon.engagement_ages[0]: must be a finite number"),
        ("[daemon]\nengagement_ages = [inf]", "daemon.engagement_ages[0]: must be a finite number"),
        ("[daemon]\nengagement_ages = [3600.0, -1.0]", "item 1 is -1; each age must be above 0"),
        ("[daemon]\nengagement_ages = [1e12]", "each age must be above 0 and at most 31536000 s"),
        ("[daemon]\npoll_interval = inf", "daemon.poll_interval: must be a finite number"),
        ("[daemon]\npoll_interval = nan", "daemon.poll_interval: must be a finite number"),
        ("[daemon]\npoll_interval = 1e9", "daemon.poll_interval: must be less than or equal to"),
        ("[daemon]\nreconcile_interval = inf", "daemon.reconcile_interval: must be a finite"),
        ("[daemon]\ngap_repair_interval = 1e300", "daemon.gap_repair_interval: must be less"),
        ("[daemon]\nheartbeat_interval = nan", "daemon.heartbeat_interval: must be a finite"),
        ("[daemon]\nwatchlist_interval = -inf", "daemon.watchlist_interval: must be a finite"),
        ("[daemon]\nmax_flood_wait = inf", "daemon.max_flood_wait: must be a finite number"),
        ("[daemon]\nreconnect_backoff_max = 1e10", "daemon.reconnect_backoff_max: must be less"),
        ("[daemon]\nrate_scale = nan", "daemon.rate_scale: must be a finite number"),
        ("[daemon]\nrate_scale = 1e6", "daemon.rate_scale: must be less than or equal to 100"),
        ("[daemon]\nreconcile_window = 9223372036854775807", "daemon.reconcile_window: must be"),
        (
            '[daemon.budgets]\n"messages.GetHistory" = [10, nan]',
            "daemon.budgets.messages.GetHistory[1]: must be a finite number",
        ),
        (
            '[daemon.budgets]\n"messages.GetHistory" = [10, inf]',
            "daemon.budgets.messages.GetHistory[1]: must be a finite number",
        ),
        (
            '[daemon.budgets]\n"messages.GetHistory" = [9223372036854775807, 30.0]',
            "messages.GetHistory: at most 100000 requests",
        ),
        (
            '[[channels]]\nusername = "rafidain_watch"\nbackfill = 12345678901234567890123456',
            "channels[0].backfill: 12345678901234567890123456 posts is more than any channel has",
        ),
        (
            '[[channels]]\nusername = "rafidain_watch"\nbackfill = "12345678901234567890123456"',
            "channels[0].backfill: 12345678901234567890123456 posts",
        ),
        ("[[channels]]\nid = 12345678901234567890123456", "channels[0].id: must be a positive"),
        (
            '[[channels]]\nlink = "https://t.me/c/12345678901234567890123456/1"',
            "channel id 12345678901234567890123456 is too large",
        ),
        ("[telegram]\napi_id = 12345678901234567890123456", "telegram.api_id: must be less"),
        ("[daemon]\nembed_interval = nan", "daemon.embed_interval"),
        ("[daemon]\nembed_interval = 0", "daemon.embed_interval"),
        ("[daemon]\nembed_batch = 0", "daemon.embed_batch"),
        ("[daemon]\nembed_batch = 100000", "daemon.embed_batch"),
        ("[telegram]\nflood_sleep_threshold = 1e999", "telegram.flood_sleep_threshold"),
    ],
)
def test_non_finite_and_out_of_range_numbers_are_rejected(
    tmp_path: Path, snippet: str, message: str
) -> None:
    """Every numeric key refuses nan, inf and out-of-range values in one line naming the key."""
    with pytest.raises(UserError) as err:
        load_settings(_write(tmp_path, snippet))
    text = str(err.value)
    assert message in text, text
    assert "\n" not in text


def test_bad_environment_variable_is_named_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown key, unknown section or bad value from TELEWATCH_* names the variable."""
    path = _write(tmp_path, GOOD)
    monkeypatch.setenv("TELEWATCH_STORAGE__DBB", "x")
    with pytest.raises(UserError) as err:
        load_settings(path)
    assert str(err.value).startswith(
        "environment variable TELEWATCH_STORAGE__DBB: storage.dbb: unknown key"
    )
    monkeypatch.delenv("TELEWATCH_STORAGE__DBB")
    monkeypatch.setenv("TELEWATCH_STORAG__DB", "x")
    with pytest.raises(UserError, match="TELEWATCH_STORAG__DB: storag is not a config section"):
        load_settings(path)
    monkeypatch.delenv("TELEWATCH_STORAG__DB")
    monkeypatch.setenv("TELEWATCH_DAEMON__POLL_INTERVAL", "nan")
    with pytest.raises(UserError) as err:
        load_settings(path)
    assert str(err.value) == (
        "environment variable TELEWATCH_DAEMON__POLL_INTERVAL: daemon.poll_interval:"
        " must be a finite number (not inf or nan)"
    )
    # A bad key in the file is still reported against the file.
    monkeypatch.delenv("TELEWATCH_DAEMON__POLL_INTERVAL")
    with pytest.raises(UserError, match=f"^{path}: storage.dbb: unknown key"):
        load_settings(_write(tmp_path, '[storage]\ndbb = "x"'))


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


def test_an_empty_alert_keyword_is_rejected(tmp_path: Path) -> None:
    """keywords = [""] would silently turn a rule into 'every post': it is an error."""
    with pytest.raises(UserError, match=r"alerts\[0\]\.keywords: item 0 is empty; remove it"):
        load_settings(_write(tmp_path, '[[alerts]]\nname = "x"\nkeywords = [" "]'))
