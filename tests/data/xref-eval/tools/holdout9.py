"""How tests/data/xref-eval/holdout9 was written (run once, 3 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages and scripts the
set did not have (Malayalam, Punjabi in Gurmukhi, Dhivehi in Thaana, Hausa
in Latin script, Macedonian in Cyrillic), one week (Mon 13 – Fri 17 April
2026), hand-written posts (five cited and two same-town or same-kind
distractors per channel: ``cited`` in ``holdout9.json`` says how many of
``posts`` come first as cited posts) and articles (``holdout9.json``, in
English, French, German, Spanish, Romanian and Indonesian), and 18
same-week distractors per channel written from hand-written per-language
sentences as in ``grow.py`` (the channel's towns, its kinds of event, other
numbers and hours; a security-type distractor never within 24 h of a post
of the same channel on the same town, nor on the town and day of a
negative). A share of the Punjabi distractors' numbers are written in
Gurmukhi digits; Malayalam, Dhivehi (Thaana), Hausa and Macedonian news
write Western digits, and so do these channels. Articles name the expected
posts by their position in ``posts``; ids are given in time order, as
Telegram numbers them. Refuses to overwrite.
The builder is ``split.py``; ``python holdout9.py --check`` only validates
the written split (``split.check``), which the build also does last.
"""

from __future__ import annotations

import sys

from split import build, check

if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check("holdout9")
    else:
        build(
            "holdout9",
            9,
            {
                "pa": ("੦੧੨੩੪੫੬੭੮੯", 0.3),
            },
        )
