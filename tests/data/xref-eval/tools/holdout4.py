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
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from grow import _message

ROOT = Path(__file__).resolve().parent.parent / "holdout4"
SPEC = json.loads((Path(__file__).parent / "holdout4.json").read_text("utf-8"))
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def _digits(lang: str, s: str, rnd: random.Random) -> str:
    if lang == "th" and rnd.random() < 0.2:
        return s.translate(THAI)
    return s


def _channel(user: str, ch: dict[str, Any], rnd: random.Random) -> dict[int, int]:
    """Write one channel's export; post position → message id."""
    first_day = datetime.fromisoformat(SPEC["week"])
    msgs = []
    for i, (when, text) in enumerate(ch["posts"]):
        msg = _message(ch["id"], ch["name"], datetime.fromisoformat(when), ch["utc_offset"], text)
        msg["pos"] = i
        msgs.append(msg)
    avoid = {(a[0], a[1]) for a in ch.get("avoid", [])}
    templates = SPEC["templates"][ch["lang"]]
    added = tries = 0
    while added < ch["distractors"] and tries < 5000:
        tries += 1
        kind, tpl = rnd.choice(templates)
        place = rnd.choice(ch["places"])
        local = first_day + timedelta(
            days=rnd.randrange(5), hours=rnd.randrange(6, 23), minutes=rnd.randrange(60)
        )
        if kind == "sec":
            stem = place[: max(4, len(place) - 2)]
            if (place, local.strftime("%Y-%m-%d")) in avoid:
                continue
            if any(
                stem in m["text"]
                and abs((datetime.fromisoformat(m["date"]) - local).total_seconds()) < 86400
                for m in msgs
            ):
                continue
        if any(m["date"][:13] == local.strftime("%Y-%m-%dT%H") for m in msgs):
            continue
        n, m = rnd.randrange(2, 40), rnd.randrange(2, 15)
        text = tpl.format(
            place=place, n=_digits(ch["lang"], str(n), rnd), m=_digits(ch["lang"], str(m), rnd)
        )
        msgs.append(_message(ch["id"], ch["name"], local, ch["utc_offset"], text))
        added += 1
    msgs.sort(key=lambda x: int(x["date_unixtime"]))
    ids: dict[int, int] = {}
    for i, msg in enumerate(msgs):
        msg["id"] = ch["first_id"] + i
        if "pos" in msg:
            ids[msg.pop("pos")] = msg["id"]
    path = ROOT / "channels" / user / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"name": ch["name"], "type": "public_channel", "id": ch["id"], "messages": msgs}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return ids


def main() -> None:
    if (ROOT / "articles.jsonl").exists():
        raise SystemExit("holdout4 already written")
    rnd = random.Random(4)
    ids = {user: _channel(user, ch, rnd) for user, ch in SPEC["channels"].items()}
    out = []
    for a in SPEC["articles"]:
        a = dict(a)
        a["expected"] = [
            {"channel": e["channel"], "message_id": ids[e["channel"][1:]][e["post"]]}
            for e in a["expected"]
        ]
        out.append(a)
    (ROOT / "articles.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in out), "utf-8"
    )


if __name__ == "__main__":
    main()
