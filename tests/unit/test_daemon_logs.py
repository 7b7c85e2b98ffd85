"""Daemon logs: JSON lines off a terminal, secrets never written."""

from __future__ import annotations

import io
import json
import logging

from telewatch.daemon.logs import setup_logging


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_off_a_terminal_with_secrets_redacted() -> None:
    """Each record is one JSON object; the api_hash and phone are replaced
    in the message, in extra fields and in exception text."""
    out = io.StringIO()
    handler = setup_logging("info", ["0123456789abcdef", "+15550000000"], out)
    try:
        log = logging.getLogger("telewatch.daemon")
        log.info(
            "login with %s", "+15550000000", extra={"channel": "a", "hash": "x0123456789abcdefx"}
        )
        try:
            raise ValueError("bad hash 0123456789abcdef")
        except ValueError:
            log.exception("failed")
    finally:
        logging.getLogger("telewatch").removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == "login with [redacted]" and first["channel"] == "a"
    assert first["hash"] == "x[redacted]x" and first["level"] == "info"
    assert "0123456789abcdef" not in out.getvalue() and "+15550000000" not in out.getvalue()
    assert "[redacted]" in second["exc"]


def test_human_lines_on_a_terminal() -> None:
    """On a TTY a record is a readable line with its fields as key=value."""
    out = _Tty()
    handler = setup_logging("info", [], out)
    try:
        logging.getLogger("telewatch.daemon").warning("flood wait", extra={"seconds": 3})
    finally:
        logging.getLogger("telewatch").removeHandler(handler)
    line = out.getvalue().strip()
    assert "WARNING" in line and "flood wait" in line and "seconds=3" in line
    assert not line.startswith("{")


def test_hostile_text_in_a_log_record_is_shown_not_obeyed() -> None:
    """A channel title with ESC sequences and U+202E is shown visibly on a terminal
    and escaped (losslessly) in JSON lines."""
    title = "Evil \x1b]0;owned\x07\u202e\x9b2J"
    tty, pipe = _Tty(), io.StringIO()
    handlers = [setup_logging("info", [], tty)]
    try:
        logging.getLogger("telewatch.daemon").warning("resolved %s", title, extra={"t": title})
    finally:
        logging.getLogger("telewatch").removeHandler(handlers[0])
    handlers = [setup_logging("info", [], pipe)]
    try:
        logging.getLogger("telewatch.daemon").warning("resolved %s", title, extra={"t": title})
    finally:
        logging.getLogger("telewatch").removeHandler(handlers[0])
    line = tty.getvalue()
    assert "resolved Evil ␛]0;owned␇<U+202E><U+009B>2J" in line
    assert "t=Evil ␛]0;owned␇" in line
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in line and raw not in pipe.getvalue()
    assert json.loads(pipe.getvalue())["msg"] == f"resolved {title}"
