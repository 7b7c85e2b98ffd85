"""Hostile archived text and hostile arguments at the command line: control
characters are shown, never sent to the terminal; bad input is one line."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import ChannelStatusChanged
from telewatch.store.db import connect
from telewatch.store.writer import apply_events

CHANNEL_ID = 1500000099
TEXTS = {
    1: "Title \x1b]0;pwned\x07 clear \x1b[2J\x1b[H here evilword",
    2: '=HYPERLINK("http://x","click") evilword',
    3: "+1 evilword",
    4: "-2 evilword",
    5: "@SUM(A1) evilword",
    6: "\tTAB evilword",
    7: "\rCR evilword",
    8: "invoice \u202egnp.exe evilword",
    9: "قناة رافدين evilword السماوة",
    10: "C1 \x9b31m red evilword \x85 next",
    11: "bell \x07 backspace \x08\x08 del \x7f evilword",
}
# What a terminal would act on: none of it may reach stdout/stderr raw.
RAW = ("\x1b]0;", "\x1b[2J", "\x07", "\u202e", "\x9b", "\x85", "\x08", "\x7f", "\r")


@pytest.fixture(scope="module")
def hostile_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive imported from a Desktop export whose posts and title carry
    ESC sequences, C1 controls, bidi overrides and formula-like text."""
    root = tmp_path_factory.mktemp("hostile")
    export = root / "channels" / "evil_chan" / "result.json"
    export.parent.mkdir(parents=True)
    messages = [
        {
            "id": i,
            "type": "message",
            "date": "2022-02-25T07:30:14",
            "date_unixtime": str(1645763414 + i),
            "from": "Evil",
            "from_id": f"channel{CHANNEL_ID}",
            "text": t,
            "text_entities": [{"type": "plain", "text": t}],
        }
        for i, t in TEXTS.items()
    ]
    doc = {
        "name": "Evil \x1b[31mRed\x1b[0m \u202eChan",
        "type": "public_channel",
        "id": CHANNEL_ID,
        "messages": messages,
    }
    export.write_text(json.dumps(doc), "utf-8")
    other = root / "channels" / "other_chan" / "result.json"
    other.parent.mkdir(parents=True)
    plain = "A quiet post about the weather."
    other_doc = {
        "name": "Other",
        "type": "public_channel",
        "id": CHANNEL_ID + 1,
        "messages": [
            {
                **messages[0],
                "from_id": f"channel{CHANNEL_ID + 1}",
                "text": plain,
                "text_entities": [{"type": "plain", "text": plain}],
            }
        ],
    }
    other.write_text(json.dumps(other_doc), "utf-8")
    db = root / "a.db"
    r = CliRunner().invoke(main, ["--db", str(db), "import", "-q", str(export), str(other)])
    assert r.exit_code == 0, r.output
    return db


def _run(db: Path, *args: str) -> tuple[int, str, str]:
    # color=True: what a terminal gets (click strips styles from non-terminals).
    r = CliRunner().invoke(main, ["--db", str(db), *args], color=True)
    return r.exit_code, r.stdout, r.stderr


def _assert_safe(text: str) -> None:
    for seq in RAW:
        assert seq not in text, f"{seq!r} reached the terminal"


def test_show_renders_control_characters_visibly(hostile_archive: Path) -> None:
    """show prints ESC/BEL/bidi overrides as visible symbols, keeps Arabic and its own styling."""
    for mid in TEXTS:
        code, out, err = _run(hostile_archive, "show", f"evil_chan/{mid}")
        assert code == 0, err
        _assert_safe(out)
    out = _run(hostile_archive, "show", "evil_chan/1")[1]
    assert "Title ␛]0;pwned␇ clear ␛[2J␛[H here evilword" in out
    assert "Evil ␛[31mRed␛[0m <U+202E>Chan" in out
    assert "\x1b[1m" in out  # telewatch's own bold header is still styled
    assert "invoice <U+202E>gnp.exe" in _run(hostile_archive, "show", "evil_chan/8")[1]
    assert "C1 <U+009B>31m" in _run(hostile_archive, "show", "evil_chan/10")[1]
    assert "قناة رافدين evilword السماوة" in _run(hostile_archive, "show", "evil_chan/9")[1]


def test_search_renders_control_characters_visibly(hostile_archive: Path) -> None:
    """search snippets show controls visibly while the matched word is still highlighted."""
    code, out, err = _run(hostile_archive, "search", "evilword", "--limit", "50")
    assert code == 0, err
    _assert_safe(out)
    assert "␍CR" in out and "bell ␇ backspace ␈␈ del ␡" in out
    assert "\x1b[33m\x1b[1mevilword\x1b[0m" in out  # highlight kept


def test_json_output_is_terminal_safe_and_lossless(hostile_archive: Path) -> None:
    """show/search --json escape C1, bidi overrides as \\u escapes; parsing gives the exact text."""
    for mid in (1, 8, 10):
        code, out, _ = _run(hostile_archive, "show", f"evil_chan/{mid}", "--json")
        assert code == 0
        _assert_safe(out)
        assert json.loads(out)["text"] == TEXTS[mid]
    out = _run(hostile_archive, "search", "evilword", "--json", "--limit", "50")[1]
    _assert_safe(out)
    assert {h["text"] for h in json.loads(out)} == set(TEXTS.values())


def test_trace_and_status_render_control_characters_visibly(hostile_archive: Path) -> None:
    """trace prints the origin text safely; a hostile status detail is shown, not obeyed."""
    code, out, _ = _run(hostile_archive, "trace", "evil_chan/1")
    assert code == 0
    _assert_safe(out)
    assert "␛]0;pwned␇" in out
    _run(hostile_archive, "channels", "add", "evil_chan")
    conn = connect(hostile_archive, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        apply_events(
            conn,
            [
                ChannelStatusChanged(
                    key="username:evil_chan",
                    channel_id=CHANNEL_ID,
                    state="error",
                    detail="no public channel \x1b]0;owned\x07\u202e@x",
                    changed_at=datetime.now(UTC),
                )
            ],
            [],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    code, out, _ = _run(hostile_archive, "status")
    assert code == 0
    _assert_safe(out)
    assert "no public channel ␛]0;owned␇<U+202E>@x" in out
    assert "\u202e" not in _run(hostile_archive, "status", "--json")[1]


def test_xref_on_hostile_article_is_safe(hostile_archive: Path, tmp_path: Path) -> None:
    """An article whose title and text carry ESC sequences is printed with them visible."""
    art = tmp_path / "a.txt"
    art.write_text(
        "Headline \x1b]0;pwned\x07\u202e\nThe channel @evil_chan said evilword.", "utf-8"
    )
    code, out, err = _run(hostile_archive, "xref", str(art))
    assert code == 0, err
    _assert_safe(out)
    assert "Headline ␛]0;pwned␇<U+202E>" in out


def test_errors_echo_hostile_input_visibly_and_briefly(hostile_archive: Path) -> None:
    """An error quoting hostile input shows its controls and cuts a huge value."""
    code, _, err = _run(hostile_archive, "show", "\x1b]0;x\x07\u202e/1")
    assert code == 2 and err.count("\n") == 1
    _assert_safe(err)
    assert "'␛]0;x␇<U+202E>' is not a channel" in err
    code, _, err = _run(hostile_archive, "search", "--raw", '"' + "x" * 3000)
    assert code == 2 and err.count("\n") == 1
    assert len(err) < 400 and "(3001 characters)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x" * 5000], "the query is 5000 characters long; search for at most 4096"),
        (["search", "--raw", "x) OR (evilword"], "closes a parenthesis it never opened"),
        (["search", "--raw", '"evilword'], "bad FTS5 query"),
        (["search", "--raw", "NEAR("], "bad FTS5 query"),
        (["search", '"*'], "nothing to search for in '\"*'"),
        (["search", "\ud800"], "nothing to search for in '<U+D800>'"),
        (["search", "x", "--since", "garbage"], "'garbage' is not a date"),
        (["search", "x", "--until", "9999-12-31"], "outside the dates this archive can hold"),
        (["search", "x", "--since", "0001-01-01T00:00+01:00"], "outside the dates"),
        (["search", "x", "--since", "2022-03-01", "--until", "2022-01-01"], "swap them?"),
        (["search", "x", "--limit", "0"], "'--limit': 0 is not in the range 1<=x<=10000"),
        (["search", "x", "--limit", "-1"], "'--limit': -1 is not in the range"),
        (["search", "x", "--limit", str(10**30)], "is not in the range"),
        (["search", "x", "--channel", str(2**64)], "the channel id is too large"),
        (["search", "x", "--channel", "-100" + str(2**64)], "the channel id is too large"),
        (
            ["show", f"evil_chan/{2**63}"],
            "the message id is too large (at most 9223372036854775807)",
        ),
        (["show", f"https://t.me/evil_chan/{2**70}"], "the message id is too large"),
        (["show", f"{2**64}/1"], "the channel id is too large"),
        (["show", "evil_chan/-1"], "is not a post: give CHANNEL/ID"),
        (["show", "evil_chan/abc"], "is not a post"),
        (["show", "evil_chan/²"], "'evil_chan/²' is not a post"),
        (["show", "evil_chan/0"], "the message id 0 is not an id"),
        (["show", "evil_chan/1\x00"], "'evil_chan/1␀' is not a post"),
        (["show", "evil_chan/999"], "is not in the archive"),
        (["trace", f"evil_chan/{2**63}"], "the message id is too large"),
        (["trace", "evil_chan/1", "--window", "nan"], "'--window': 'nan' is not a finite number"),
        (["export", "--since", "2022-13-45"], "is not a date"),
        (["export", "--excel", "--format", "jsonl"], "--excel writes CSV"),
        (["watch-post", f"evil_chan/{2**64}"], "is not an id (1..9223372036854775807)"),
        (["search", "x", "--channel", ""], "'' is not a channel"),
        (["xref", "-", "--published", "0001-01-03T00:00+00:00"], "before Telegram existed"),
        (["xref", "-", "--published", "2202-01-01T00:00"], "or in the future; check the year"),
        (["xref", "/"], "/ is a directory"),
        (["search"], "give a QUERY to search words, or --media FILE to search by a picture"),
        (["--bogus"], "No such option '--bogus'. (see `main --help`)"),
        (["channels", "bogus"], "No such command 'bogus'. (see `main channels --help`)"),
    ],
)
def test_hostile_arguments_get_one_line(
    hostile_archive: Path, args: list[str], message: str
) -> None:
    """Each hostile query, date, limit or post reference exits 2 with one line naming it."""
    code, out, err = _run(hostile_archive, *args)
    assert code == 2, (code, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


@pytest.mark.parametrize(
    "ref",
    [
        "evil_chan/١١",  # Arabic-Indic digits
        f"https://t.me/c/{CHANNEL_ID}/11",  # the link Telegram copies
        "tg://resolve?domain=evil_chan&post=11",
        "https://t.me/evil_chan/11?single",
    ],
)
def test_every_common_post_reference_is_read(hostile_archive: Path, ref: str) -> None:
    """show accepts Arabic-Indic digits, t.me/c/<id>/<msg> and tg:// links for post 11."""
    code, out, err = _run(hostile_archive, "show", ref)
    assert code == 0, err
    assert "@evil_chan/11" in out


def test_raw_query_cannot_escape_the_channel_filter(hostile_archive: Path) -> None:
    """A --raw query with unbalanced parentheses cannot list other channels' posts."""
    code, out, _ = _run(hostile_archive, "search", "--raw", "evilword", "--channel", "other_chan")
    assert code == 0 and out == ""  # the filter holds for a well-formed query
    code, out, err = _run(
        hostile_archive, "search", "--raw", "nothing) OR (evilword", "--channel", "other_chan"
    )
    assert code == 2 and out == ""
    assert "closes a parenthesis it never opened" in err


def test_csv_export_escapes_formulas_by_default(hostile_archive: Path) -> None:
    """Cells starting with = + - @ tab CR get a leading ' ; --csv-raw keeps them as archived."""
    code, out, _ = _run(hostile_archive, "export", "--format", "csv", "--channel", "evil_chan")
    assert code == 0
    rows = {int(r["message_id"]): r for r in csv.DictReader(io.StringIO(out, newline=""))}
    for mid in (2, 3, 4, 5, 6, 7):
        assert rows[mid]["text"] == "'" + TEXTS[mid]
    assert rows[9]["text"] == TEXTS[9]
    assert rows[1]["channel_id"] == str(CHANNEL_ID)  # numbers are not prefixed
    code, out, _ = _run(hostile_archive, "export", "--csv-raw", "--channel", "evil_chan")
    rows = {int(r["message_id"]): r for r in csv.DictReader(io.StringIO(out, newline=""))}
    assert rows[2]["text"] == TEXTS[2] and rows[4]["text"] == TEXTS[4]


def test_csv_excel_has_bom_and_crlf(hostile_archive: Path, tmp_path: Path) -> None:
    """--excel writes a UTF-8 byte-order mark and CRLF rows; Arabic decodes as written."""
    path = tmp_path / "posts.csv"
    code, _, err = _run(hostile_archive, "export", "--excel", "-o", str(path))
    assert code == 0, err
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfchannel_id,")
    assert data.count(b"\r\n") >= len(TEXTS) + 1
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert {r["text"] for r in rows} >= {TEXTS[9], "'" + TEXTS[2]}


def test_jsonl_export_is_terminal_safe_and_lossless(hostile_archive: Path) -> None:
    """JSON lines carry C1 controls and bidi overrides as \\u escapes and parse to the exact text."""
    code, out, _ = _run(hostile_archive, "export", "--channel", "evil_chan")
    assert code == 0
    _assert_safe(out.replace("\\r", ""))
    assert {json.loads(line)["text"] for line in out.splitlines()} == set(TEXTS.values())


def test_xref_stdin_that_is_not_utf8_is_one_line(hostile_archive: Path) -> None:
    """Bytes that are not UTF-8 on stdin are refused instead of becoming surrogates."""
    r = CliRunner().invoke(main, ["--db", str(hostile_archive), "xref", "-"], input=b"\xff\xfe")
    assert r.exit_code == 2
    assert r.stderr == (
        "error: stdin is not UTF-8 text (byte 0); convert it first, e.g. iconv -f WINDOWS-1256"
        " -t UTF-8\n"
    )


def test_a_group_without_a_command_still_shows_its_help(hostile_archive: Path) -> None:
    """`telewatch` and `telewatch channels` alone print the help, not a one-line error."""
    for args in ([], ["channels"]):
        r = CliRunner().invoke(main, args)
        assert "Usage:" in r.output and "Commands:" in r.output and "error:" not in r.output
