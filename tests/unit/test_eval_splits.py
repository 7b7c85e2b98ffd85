"""The held-out xref evaluation splits are well formed (issue 16).

Reads the written data only; nothing here ranks or links anything. The
``split.check`` validator lives beside the generators in
``tests/data/xref-eval/tools``; the consistency test repeats its essentials
for holdout6, holdout7, holdout8, holdout9, holdout10, holdout11 and
holdout12 independently, so a bug in the validator does not hide a broken
split.
"""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

EVAL = Path(__file__).resolve().parent.parent / "data" / "xref-eval"


@pytest.mark.parametrize(
    "name",
    [
        "holdout3",
        "holdout4",
        "holdout5",
        "holdout6",
        "holdout7",
        "holdout8",
        "holdout9",
        "holdout10",
        "holdout11",
        "holdout12",
    ],
)
def test_held_out_split_matches_its_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EVAL / "tools"))
    split = importlib.import_module("split")
    split.check(name)  # raises SystemExit naming every problem


def _exports(root: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text("utf-8"))
        for p in sorted((root / "channels").glob("*/result.json"))
    }


def _articles(root: Path) -> list[dict[str, Any]]:
    lines = (root / "articles.jsonl").read_text("utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]


# split, its channels, first and last day (local), articles, positives,
# positives citing two posts, article languages
SPLITS = [
    (
        "holdout6",
        ["echigo_dayori", "hefei_kuaixun", "savan_khaoduan", "shwemdy_news", "vizag_updates"],
        ("2025-06-16", "2025-06-20"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "pl", "tr", "cs"},
    ),
    (
        "holdout7",
        ["kathiyawad_live", "selenge_medee", "senkadagala_news", "spinghar_news", "vodiy_xabar"],
        ("2025-10-13", "2025-10-17"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "da", "ca"},
    ),
    (
        "holdout8",
        [
            "filipopol_novini",
            "kaskikot_khabar",
            "mahishuru_suddi",
            "migiurtinia_live",
            "nuevacaceres_balita",
        ],
        ("2026-02-02", "2026-02-06"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "pt", "nb"},
    ),
    (
        "holdout9",
        [
            "ambarsar_live",
            "monastir_vesti",
            "seenu_online",
            "trichur_flash",
            "zazzau_labarai",
        ],
        ("2026-04-13", "2026-04-17"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "ro", "id"},
    ),
    (
        "holdout10",
        [
            "dardania_sot",
            "ebaodan_news",
            "kalinga_flash",
            "leninabad_news",
            "macalle_news",
        ],
        ("2026-06-08", "2026-06-12"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "fi", "el"},
    ),
    (
        "holdout11",
        [
            "laikinoji_sostine",
            "nohadra_news",
            "nri_news",
            "ozkend_kabar",
            "pragjyotish_live",
        ],
        ("2026-09-14", "2026-09-18"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "hu", "hr"},
    ),
    (
        "holdout12",
        [
            "bilyar_live",
            "dinaburga_live",
            "jiren_oduu",
            "karveer_live",
            "nerunkot_khabar",
        ],
        ("2026-11-09", "2026-11-13"),
        (31, 24, 3),
        {"en", "fr", "de", "es", "pl", "cs"},
    ),
]


@pytest.mark.parametrize(("name", "channels", "week", "counts", "langs"), SPLITS)
def test_held_out_split_is_consistent(
    name: str,
    channels: list[str],
    week: tuple[str, str],
    counts: tuple[int, int, int],
    langs: set[str],
) -> None:
    root = EVAL / name
    exports = _exports(root)
    assert sorted(exports) == channels
    stamps: dict[str, dict[int, int]] = {}
    for user, data in exports.items():
        msgs = data["messages"]
        assert len(msgs) == 25, user
        ids = [int(m["id"]) for m in msgs]
        times = [int(m["date_unixtime"]) for m in msgs]
        assert ids == sorted(set(ids)), f"{user}: ids not increasing"
        assert times == sorted(times), f"{user}: ids not in time order"
        for m in msgs:
            assert week[0] <= m["date"][:10] <= week[1], f"{user}/{m['id']}"
            assert m["text"].strip(), f"{user}/{m['id']}: empty text"
        stamps[user] = dict(zip(ids, times, strict=True))
    articles = _articles(root)
    assert len({a["id"] for a in articles}) == len(articles) == counts[0]
    positives = [a for a in articles if a["expected"]]
    assert len(positives) == counts[1]
    assert sum(len(a["expected"]) == 2 for a in positives) == counts[2]
    assert {a["lang"] for a in articles} == langs
    cited: set[tuple[str, int]] = set()
    for a in articles:
        assert a["note"].strip() and a["title"].strip() and a["text"].strip(), a["id"]
        published = datetime.fromisoformat(a["published"])
        assert published.tzinfo is not None, a["id"]
        for e in a["expected"]:
            user, mid = e["channel"].removeprefix("@"), e["message_id"]
            assert mid in stamps[user], f"{a['id']}: {e['channel']}/{mid} not in the export"
            assert stamps[user][mid] < published.timestamp(), f"{a['id']}: cites a later post"
            cited.add((user, mid))
    assert len(cited) == 25  # five cited posts per channel, each expected somewhere
    for user in exports:
        assert sum(u == user for u, _ in cited) == 5, user


@pytest.mark.parametrize(
    ("name", "monday"),
    [
        ("holdout6", (2025, 6, 16)),
        ("holdout7", (2025, 10, 13)),
        ("holdout8", (2026, 2, 2)),
        ("holdout9", (2026, 4, 13)),
        ("holdout10", (2026, 6, 8)),
        ("holdout11", (2026, 9, 14)),
        ("holdout12", (2026, 11, 9)),
    ],
)
def test_held_out_split_shares_no_week_or_channel_with_the_other_splits(
    name: str, monday: tuple[int, int, int]
) -> None:
    # Monday to Friday as UTC days, widened by the largest UTC offset either
    # way, so a post early on Monday east of Greenwich is still inside it
    start = datetime(*monday, tzinfo=UTC).timestamp() - 14 * 3600
    end = start + (5 * 24 + 28) * 3600
    mine = set(_exports(EVAL / name))
    for root in sorted(p for p in EVAL.iterdir() if (p / "articles.jsonl").exists()):
        if root.name == name:
            continue
        exports = _exports(root)
        assert not mine & set(exports), root.name
        for user, data in exports.items():
            for m in data["messages"]:
                assert not start <= int(m["date_unixtime"]) < end, f"{root.name}/{user}"
