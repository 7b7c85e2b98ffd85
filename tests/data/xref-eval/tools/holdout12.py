"""How tests/data/xref-eval/holdout12 was written (run once, 4 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages the set did not
have (Marathi in Devanagari, Sindhi in its Perso-Arabic script, Afaan Oromo
in the Qubee Latin alphabet, Latvian, Tatar in Cyrillic), one week (Mon 9 –
Fri 13 November 2026), hand-written posts (five cited and two same-town or
same-kind distractors per channel: ``cited`` in ``holdout12.json`` says how
many of ``posts`` come first as cited posts) and articles
(``holdout12.json``, in English, French, German, Spanish, Polish and
Czech), and 18 same-week distractors per channel written from hand-written
per-language sentences as in ``grow.py`` (the channel's towns, its kinds of
event, other numbers and hours; a security-type distractor never within
24 h of a post of the same channel on the same town, nor on the town and
day of a negative). A share of the Marathi distractors' numbers are written
in Devanagari digits and a share of the Sindhi ones in Eastern
Arabic-Indic digits (U+06F0–U+06F9, the forms Sindhi and Urdu print);
Oromo, Latvian and Tatar news write Western digits, and so do these
channels. Articles name the expected posts by their position in ``posts``;
ids are given in time order, as Telegram numbers them. Refuses to
overwrite.
The builder is ``split.py``; ``python holdout12.py --check`` only validates
the written split (``split.check``), which the build also does last.
"""

from __future__ import annotations

import sys

from split import build, check

if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check("holdout12")
    else:
        build(
            "holdout12",
            12,
            {
                "mr": ("०१२३४५६७८९", 0.5),
                "sd": ("۰۱۲۳۴۵۶۷۸۹", 0.5),
            },
        )
