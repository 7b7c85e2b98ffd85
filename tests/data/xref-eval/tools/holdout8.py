"""How tests/data/xref-eval/holdout8 was written (run once, 3 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages and scripts the
set did not have (Kannada, Nepali in Devanagari, Tagalog, Bulgarian in
Cyrillic, Somali in Latin script), one week (Mon 2 – Fri 6 February 2026),
hand-written posts (five cited and two same-town or same-kind distractors
per channel: ``cited`` in ``holdout8.json`` says how many of ``posts`` come
first as cited posts) and articles (``holdout8.json``, in English, French,
German, Spanish, Portuguese and Norwegian Bokmål), and 18 same-week
distractors per channel written from hand-written per-language sentences as
in ``grow.py`` (the channel's towns, its kinds of event, other numbers and
hours; a security-type distractor never within 24 h of a post of the same
channel on the same town, nor on the town and day of a negative). A share
of the distractors' numbers are written in the channel's own digits
(Kannada, Devanagari as used for Nepali). Articles name the expected posts
by their position in ``posts``; ids are given in time order, as Telegram
numbers them. Refuses to overwrite.
The builder is ``split.py``; ``python holdout8.py --check`` only validates
the written split (``split.check``), which the build also does last.
"""

from __future__ import annotations

import sys

from split import build, check

if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check("holdout8")
    else:
        build(
            "holdout8",
            8,
            {
                "kn": ("೦೧೨೩೪೫೬೭೮೯", 0.4),
                "ne": ("०१२३४५६७८९", 0.7),
            },
        )
