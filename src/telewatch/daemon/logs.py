"""Daemon logging: human-readable lines on a terminal, JSON lines otherwise
(systemd/journald, files, pipes). Secrets never reach a handler: every
record passes ``Redactor``, which replaces registered secret strings (api
hash, phone, proxy URL) and drops records that would carry the auth key."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from telewatch.text import json_printable, printable

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class Redactor(logging.Filter):
    """Replaces every registered secret in a record's message and extras."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def _clean(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        record.msg = self._clean(msg)
        record.args = None
        for k, v in list(record.__dict__.items()):
            if k not in _STD and isinstance(v, str):
                setattr(record, k, self._clean(v))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in _extras(record).items():
            out[k] = v if isinstance(v, int | float | str | bool | None) else str(v)
        if record.exc_text:
            out["exc"] = record.exc_text
        # Messages carry channel titles and server text: keep a terminal
        # tailing the log from obeying them (lossless \u escapes).
        return json_printable(json.dumps(out, ensure_ascii=False))


class HumanFormatter(logging.Formatter):
    """``12:00:01 INFO  message key=value ...`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        # Channel titles and server messages are hostile text: shown, not obeyed.
        line = f"{ts} {record.levelname:<7} " + printable(record.getMessage(), multiline=False)
        if extras:
            line += "  " + printable(extras, multiline=False)
        if record.exc_text:
            line += "\n" + printable(record.exc_text)
        return line


def setup_logging(level: str, secrets: list[str], stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the ``telewatch`` logger (Telethon's records
    come through ``telewatch.telethon``, kept at WARNING). Returns it so a
    caller can remove it again."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HumanFormatter() if stream.isatty() else JsonFormatter())
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger("telewatch")
    for old in list(root.handlers):
        if getattr(old, "_telewatch", False):
            root.removeHandler(old)
    handler._telewatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger("telewatch.telethon").setLevel(logging.WARNING)
    return handler
