"""How tests/data/xref-eval/holdout10 was written (run once, 4 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages and scripts the
set did not have (Tajik in Cyrillic, Tigrinya in Ethiopic script, Odia in
Odia script, Yoruba in Latin script with its tone marks and dots below,
Albanian), one week (Mon 8 – Fri 12 June 2026), hand-written posts (five
cited and two same-town or same-kind distractors per channel: ``cited`` in
``holdout10.json`` says how many of ``posts`` come first as cited posts) and
articles (``holdout10.json``, in English, French, German, Spanish, Finnish
and Greek), and 18 same-week distractors per channel written from
hand-written per-language sentences as in ``grow.py`` (the channel's towns,
its kinds of event, other numbers and hours; a security-type distractor
never within 24 h of a post of the same channel on the same town, nor on the
town and day of a negative). A share of the Odia distractors' numbers are
written in Odia digits; Tajik, Tigrinya, Yoruba and Albanian news write
Western digits, and so do these channels. Articles name the expected posts
by their position in ``posts``; ids are given in time order, as Telegram
numbers them. Refuses to overwrite.
The builder is ``split.py``; ``python holdout10.py --check`` only validates
the written split (``split.check``), which the build also does last.
"""

from __future__ import annotations

import sys

from split import build, check

if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check("holdout10")
    else:
        build(
            "holdout10",
            10,
            {
                "or": ("୦୧୨୩୪୫୬୭୮୯", 0.2),
            },
        )
