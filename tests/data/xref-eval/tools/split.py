"""The builder of the held-out splits holdout3 and holdout4 (their
scripts, ``holdout3.py`` and ``holdout4.py``, say what each split is).

Hand-written posts and articles come from ``NAME.json``; 18 same-week
distractors per channel are written from hand-written per-language
sentences as in ``grow.py`` (the channel's towns, its kinds of event, other
numbers and hours; a security-type distractor never within 24 h of a post
of the same channel on the same town, nor on the town and day of a
negative). Articles name the expected posts by their position in
``posts``; ids are given in time order, as Telegram numbers them. Refuses
to overwrite.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from grow import _message

Digits = dict[str, tuple[str, float]]


def _digits(digits: Digits, lang: str, s: str, rnd: random.Random) -> str:
    if lang in digits:
        script, share = digits[lang]
        if rnd.random() < share:
            return s.translate(str.maketrans("0123456789", script))
    return s


def _channel(
    spec: dict[str, Any],
    root: Path,
    user: str,
    ch: dict[str, Any],
    rnd: random.Random,
    digits: Digits,
) -> dict[int, int]:
    """Write one channel's export; post position → message id."""
    first_day = datetime.fromisoformat(spec["week"])
    msgs = []
    for i, (when, text) in enumerate(ch["posts"]):
        msg = _message(ch["id"], ch["name"], datetime.fromisoformat(when), ch["utc_offset"], text)
        msg["pos"] = i
        msgs.append(msg)
    avoid = {(a[0], a[1]) for a in ch.get("avoid", [])}
    templates = spec["templates"][ch["lang"]]
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
            place=place,
            n=_digits(digits, ch["lang"], str(n), rnd),
            m=_digits(digits, ch["lang"], str(m), rnd),
        )
        msgs.append(_message(ch["id"], ch["name"], local, ch["utc_offset"], text))
        added += 1
    msgs.sort(key=lambda x: int(x["date_unixtime"]))
    ids: dict[int, int] = {}
    for i, msg in enumerate(msgs):
        msg["id"] = ch["first_id"] + i
        if "pos" in msg:
            ids[msg.pop("pos")] = msg["id"]
    path = root / "channels" / user / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"name": ch["name"], "type": "public_channel", "id": ch["id"], "messages": msgs}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return ids


def build(name: str, seed: int, digits: Digits) -> None:
    """Write the split ``name`` (``../name``) from ``name.json`` with the
    random seed ``seed``; ``digits``: language → (its digits 0-9, the share
    of distractor numbers written with them)."""
    root = Path(__file__).resolve().parent.parent / name
    spec = json.loads((Path(__file__).parent / f"{name}.json").read_text("utf-8"))
    if (root / "articles.jsonl").exists():
        raise SystemExit(f"{name} already written")
    rnd = random.Random(seed)
    ids = {
        user: _channel(spec, root, user, ch, rnd, digits) for user, ch in spec["channels"].items()
    }
    out = []
    for a in spec["articles"]:
        a = dict(a)
        a["expected"] = [
            {"channel": e["channel"], "message_id": ids[e["channel"][1:]][e["post"]]}
            for e in a["expected"]
        ]
        out.append(a)
    (root / "articles.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in out), "utf-8"
    )
