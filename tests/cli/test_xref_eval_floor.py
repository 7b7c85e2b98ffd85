"""`eval xref` on the splits of tests/data/xref-eval, with floors at the
figures measured when the set was extended (docs/XREF.md): a change that loses
a reference, or gives one wrong `link`, fails here and the printed misses say
which item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from telewatch.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "xref-eval"

# (split, references, Recall@1 floor, Recall@5 floor, links at least,
#  negatives, wrong links at most)
FLOORS = [
    ("tune", 35, 1.000, 1.000, 20, 7, 0),
    # The second edition's held-out half, now tuning data (docs/XREF.md).
    # Digits before a scale word ("480 тыс." = 480.000), the CLDR round: 0.950.
    ("test", 40, 0.975, 0.975, 18, 8, 0),
    # The third held-out split, frozen before this round's ranking changes:
    # the figures it gave at the end of the round (docs/XREF.md).
    ("holdout3", 41, 1.000, 1.000, 24, 9, 0),
    # The fourth held-out split, frozen before it was ever run and measured
    # once (tests/data/xref-eval/README.md); the Thai channel's posts, never
    # returned then, are found since Thai segmentation and RTGS (now seen data).
    # Since the languages round (more article languages' dates, the cited
    # channel's script for the event's zone): 0.960 / 0.960, 12 links.
    ("holdout4", 25, 0.960, 0.960, 14, 8, 0),
    # The fifth, frozen before it was ever run, measured once on the merged
    # tree (R@1 0.296, R@5 0.333: Japanese, Chinese and Khmer posts never
    # returned); tuning data since the CJK round, which reached these figures
    # (bigram tokens, Han/Khmer channel names; docs/XREF.md).
    # The languages round: 0.704 / 0.704, 7 links (digits glued to Han).
    # The CLDR round, a place run together ("Siem Reap" = siemreap_thmey): 0.815.
    ("holdout5", 27, 0.815, 0.815, 7, 8, 0),
    # The sixth, written blind and frozen (53b7bfe) before it was ever run,
    # measured once on the merged tree with the Han/kana/Khmer round in
    # (R@1 0.296, R@5 0.296, no link: Burmese, Lao and Telugu channels not
    # recognised); seen data since the romanise round, which reached these
    # figures (Myanmar/Lao/Indic title spellings, brahmic_key; docs/XREF.md).
    # The languages round: 0.778 / 0.815, 4 links; the CLDR round (world
    # countries, base letters): 0.815 / 0.815.
    ("holdout6", 27, 0.815, 0.852, 4, 7, 0),
    # The seventh, written blind and frozen (e60bfc3) before it was ever run,
    # measured once on main (R@1 0.778, R@5 0.778, 4 links; docs/XREF.md);
    # tuning data of the languages round since, which reached these figures.
    ("holdout7", 27, 0.963, 0.963, 11, 7, 0),
    # The eighth, written blind and frozen (a7e06fb) before it was ever run,
    # measured once on d554a64 (R@1 0.815, R@5 0.889, 6 links; its README);
    # seen since, the figures after the round that looked at its misses.
    ("holdout8", 27, 0.963, 1.000, 15, 7, 0),
    # The ninth, written blind and merged (dfd5d54) before it was ever run,
    # measured once there (R@1 0.630, R@5 0.630, 1 link: the Dhivehi
    # channel's six references missed); seen since, the figures after marks
    # inside words and Thaana spellings (docs/XREF.md); the CLDR round: 0.852;
    # the readings round (geminated aspirates, the agreed rankers' time): 0.926.
    ("holdout9", 27, 0.963, 0.963, 2, 7, 0),
    # The tenth, written blind and merged (5a1a275) before it was ever run,
    # measured once there (R@1 0.815, R@5 0.852, 9 links; docs/XREF.md);
    # seen since, the figures after the CLDR round that looked at its misses
    # and the readings round (a flapped ଡ଼ spelled d, Yoruba ṣ, Oyo with marks).
    ("holdout10", 27, 0.963, 1.000, 12, 7, 0),
    # The eleventh, written blind and merged (9696efb) before it was ever run,
    # measured once there (R@1 0.630, R@5 0.630, 5 links; docs/XREF.md); seen
    # since, the figures after Assamese ৰ ৱ, scale words and a post both
    # rankers put first the morning after the cited night suggested, and
    # the readings round (Hungarian spellings of the titles).
    ("holdout11", 27, 0.889, 0.889, 11, 7, 0),
    # The twelfth, written blind and merged (9ed5368) before it was ever run,
    # measured once there (R@1 0.741, R@5 0.815, 8 links of which one wrong:
    # n07, a lone "trois étages" against three dead; docs/XREF.md); seen
    # since, the figures after attribute numbers, ch read as kh and the
    # morning after a cited evening (DateMention.reported_by).
    ("holdout12", 27, 0.889, 0.926, 8, 7, 0),
]


def _figure(output: str, label: str) -> float:
    m = re.search(rf"^{re.escape(label)}\s+([0-9.]+)", output, re.M)
    assert m, f"{label} not printed:\n{output}"
    return float(m.group(1))


@pytest.mark.parametrize(("half", "refs", "r1", "r5", "links", "negatives", "wrong"), FLOORS)
def test_eval_xref_keeps_its_measured_figures(
    half: str, refs: int, r1: float, r5: float, links: int, negatives: int, wrong: int
) -> None:
    """Recall@1/@5 stay at or above the measured figures, every link is right
    (``wrong`` is 0 on every split), no negative gets a link, and
    any miss is printed item by item."""
    res = CliRunner().invoke(main, ["eval", "xref", str(DATA / half)])
    out = res.output
    assert res.exit_code == 0, out
    assert f"references {refs}" in out
    assert _figure(out, "Recall@1") >= r1 - 1e-9, out
    assert _figure(out, "Recall@5") >= r5 - 1e-9, out
    m = re.search(r"^link precision ([0-9.]+) \((\d+) links\)", out, re.M)
    assert m, out
    assert int(m.group(2)) >= links, out
    wrong_links = out.count("WRONG LINK")
    assert wrong_links <= wrong, out
    if int(m.group(2)):  # no link at all: precision 1.000 by the eval's convention
        assert abs(float(m.group(1)) - (1 - wrong_links / int(m.group(2)))) < 1e-3, out
    m = re.search(r"^negatives with no link (\d+)/(\d+)", out, re.M)
    assert m and int(m.group(2)) == negatives, out
    assert int(m.group(1)) >= negatives - wrong, out
    misses = out.partition("misses (expected post not first, or a wrong link):")[2]
    # Every reference below Recall@1 is a printed miss line.
    missed = len(re.findall(r"@\w+/\d+ (?:rank \d+|not returned)", misses))
    assert missed == round(refs * (1 - _figure(out, "Recall@1"))), out
    if half == "tune":
        # Recall per post and per article language (one eval run serves both checks).
        assert "per language (references, Recall@1, Recall@5):" in out
        for key in (
            "post:he",
            "post:tr",
            "post:ka",
            "post:hy",
            "post:be",
            "article:de",
            "article:es",
        ):
            assert f"  {key}" in out, out
