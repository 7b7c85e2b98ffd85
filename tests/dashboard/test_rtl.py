"""Right-to-left text put in visual order for terminals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from telewatch.dashboard.rtl import is_rtl_paragraph, preview, visual, wrapped


def test_arabic_is_reversed_into_visual_order() -> None:
    """An Arabic sentence is drawn right to left: its first word ends up rightmost."""
    shown = visual("انفجار قرب الميناء")
    assert shown.split()[-1] == "راجفنا"  # the first word, letters in visual order
    assert shown.split()[0] == "ءانيملا"


def test_numbers_and_latin_inside_rtl_keep_their_order() -> None:
    """Digits and an English name inside Persian stay readable left to right."""
    shown = visual("ساعت 14:30 در بندر Bushehr")
    assert "14:30" in shown and "Bushehr" in shown


def test_preview_keeps_the_start_of_an_rtl_sentence() -> None:
    """A cut preview keeps the sentence's first words (shown on the right) and marks the cut
    on the left."""
    shown = preview("عاجل: انفجار قرب ميناء أم قصر صباح اليوم ولا أنباء عن إصابات", 20)
    assert shown.startswith("…") and shown.endswith(":لجاع")


def test_wrapped_marks_rtl_paragraphs_for_right_alignment() -> None:
    """Mixed text: the Persian paragraph is flagged RTL, the English one is not."""
    lines = wrapped("خبر فوری از بندر\nBreaking from the port", 40)
    assert [rtl for _, rtl in lines] == [True, False]
    assert is_rtl_paragraph("«خبر» news") and not is_rtl_paragraph("news «خبر»")


@given(st.text(alphabet="abc 123.:«»()انفجارخبرفوریЁё،", max_size=60))
def test_reordering_keeps_the_width(text: str) -> None:
    """Reordering never changes how many terminal cells a line takes (columns stay aligned)."""
    assert cell_len(visual(text)) == cell_len(text)
    # Same characters, up to the mirroring of paired brackets in RTL runs.
    unmirror = str.maketrans({")": "(", "»": "«"})
    assert sorted(visual(text).translate(unmirror)) == sorted(text.translate(unmirror))


def test_control_characters_and_overrides_are_shown_not_obeyed() -> None:
    """ESC sequences and U+202E in a post are visible in previews and wrapped text; Arabic reorders."""
    hostile = "Title \x1b]0;pwned\x07 \x1b[2J invoice \u202egnp.exe"
    line = preview(hostile, 80)
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert line == "Title ␛]0;pwned␇ ␛[2J invoice <U+202E>gnp.exe"
    lines = wrapped(hostile + "\nسلام\x1b[31m", 80)
    assert all("\x1b" not in text for text, _ in lines)
    assert lines[1] == (visual("سلام␛[31m"), True)
