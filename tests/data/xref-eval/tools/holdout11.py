"""How tests/data/xref-eval/holdout11 was written (run once, 5 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages the set did not
have (Kyrgyz in Cyrillic, Igbo in Latin script with its dotted vowels,
Assamese in Bengali–Assamese script, Lithuanian, Kurmanji Kurdish in the
Hawar alphabet), one week (Mon 14 – Fri 18 September 2026), hand-written
posts (five cited and two same-town or same-kind distractors per channel:
``cited`` in ``holdout11.json`` says how many of ``posts`` come first as
cited posts) and articles (``holdout11.json``, in English, French, German,
Spanish, Hungarian and Croatian), and 18 same-week distractors per channel
written from hand-written per-language sentences as in ``grow.py`` (the
channel's towns, its kinds of event, other numbers and hours; a
security-type distractor never within 24 h of a post of the same channel on
the same town, nor on the town and day of a negative). A share of the
Assamese distractors' numbers are written in Assamese (Bengali) digits;
Kyrgyz, Igbo, Lithuanian and Kurmanji news write Western digits, and so do
these channels. Articles name the expected posts by their position in
``posts``; ids are given in time order, as Telegram numbers them. Refuses
to overwrite.
The builder is ``split.py``; ``python holdout11.py --check`` only validates
the written split (``split.check``), which the build also does last.
"""

from __future__ import annotations

import sys

from split import build, check

if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check("holdout11")
    else:
        build(
            "holdout11",
            11,
            {
                "as": ("০১২৩৪৫৬৭৮৯", 0.5),
            },
        )
