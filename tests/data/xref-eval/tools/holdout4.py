"""How tests/data/xref-eval/holdout4 was written (run once, 2 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. Five new channels in languages and scripts the
set did not have (Indonesian, Hungarian, Korean, Thai, Tamil), one week
(Mon 9 – Fri 13 September 2024), hand-written posts (five cited and two
same-town or same-kind distractors per channel) and articles
(``holdout4.json``), and 18 same-week distractors per channel
written from hand-written per-language sentences as in ``grow.py`` (the
channel's towns, its kinds of event, other numbers and hours; a
security-type distractor never within 24 h of a post of the same channel on
the same town, nor on the town and day of a negative). Articles name the
expected posts by their position in ``posts``; ids are given in time order,
as Telegram numbers them. Refuses to overwrite.
The builder is ``split.py``.
"""

from __future__ import annotations

from split import build

if __name__ == "__main__":
    build("holdout4", 4, {"th": ("๐๑๒๓๔๕๖๗๘๙", 0.2)})
