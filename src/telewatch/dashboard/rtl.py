"""Right-to-left text for terminals.

Terminals draw cells left to right and do not apply the Unicode bidi
algorithm, so Arabic or Persian stored in logical order would read backwards.
We reorder each *display line* into visual order with python-bidi (the
Unicode Bidirectional Algorithm, UAX #9, by the Rust ``unicode-bidi`` crate).

Order of operations matters: cut and wrap in logical order first (so that a
preview keeps the *start* of a sentence, which for RTL text is on the right),
then reorder each line. Letter shaping (joined Arabic forms) is left to the
terminal: most do it, and pre-shaping would break those that do.

Archived text is hostile: ``text.printable`` shows visibly what a terminal
would act on instead of drawing (C0/C1 control characters such as ESC, DEL) and the
explicit bidi embeddings, overrides and isolates (U+202A–U+202E,
U+2066–U+2069), which could make a line read differently from what was
archived. Every function here that returns display text applies it.
"""

from __future__ import annotations

import re
import textwrap

from bidi import get_display  # type: ignore[import-untyped]
from rich.cells import cell_len

from telewatch.text import printable

# Hebrew, Arabic, Syriac, Thaana, NKo, Arabic supplements and presentation forms.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_SPACES = re.compile(r"\s+")
_STRONG = re.compile(r"[^\W\d_]")
# C0 controls but tab and newline, DEL, C1 controls, and the explicit bidi formatting
# characters (embeddings, overrides, isolates): a terminal acts on them instead of drawing.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_unsafe(text: str) -> bool:
    """True if ``text`` holds characters a terminal would act on (``printable`` shows them)."""
    return _UNSAFE.search(text) is not None


def has_rtl(text: str) -> bool:
    """True if ``text`` contains any right-to-left letter."""
    return _RTL.search(text) is not None


def is_rtl_paragraph(text: str) -> bool:
    """True when the first strong letter of ``text`` is right-to-left (UAX #9 rule P2):
    such a paragraph reads from the right and is best right-aligned."""
    m = _STRONG.search(text)
    return m is not None and _RTL.match(m.group()) is not None


def visual(line: str) -> str:
    """One display line (no newlines) in visual order, made ``printable``; LTR text is
    otherwise returned unchanged."""
    line = printable(line)
    if not has_rtl(line):
        return line
    return str(get_display(line))


def truncate(text: str, width: int) -> str:
    """``text`` made ``printable`` and cut (in logical order) to at most ``width`` terminal
    cells, with '…'."""
    text = printable(text)
    if cell_len(text) <= width:
        return text
    out = []
    used = 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def preview(text: str, width: int) -> str:
    """A one-line preview of a post: whitespace collapsed, control characters
    and bidi overrides shown (``text.printable``: a post cannot drive the
    terminal or reorder the line), cut to ``width`` cells, then put in visual order."""
    return visual(truncate(printable(_SPACES.sub(" ", text).strip(), multiline=False), width))


def wrapped(text: str, width: int) -> list[tuple[str, bool]]:
    """``text`` wrapped to ``width`` cells, each line in visual order, with a flag
    telling whether the line belongs to a right-to-left paragraph (right-align it).
    Control characters and bidi overrides are shown, as in ``preview``."""
    lines: list[tuple[str, bool]] = []
    for paragraph in printable(text).splitlines() or [""]:
        rtl = is_rtl_paragraph(paragraph)
        parts = textwrap.wrap(paragraph, width=max(width, 8)) or [""]
        lines.extend((visual(p), rtl) for p in parts)
    return lines
