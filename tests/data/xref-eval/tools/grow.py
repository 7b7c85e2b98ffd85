"""How the second edition of tests/data/xref-eval was written (run once, 2 Dec 2026).

Kept as the record of how the data came about, not run by any test; the
data files are the truth. It (1) adds three channels per half (Georgian,
Armenian, Belarusian in ``tune/``; Azerbaijani, Sorani Kurdish, Serbian in
``test/``) with hand-written posts and articles (``new_channels.json``), and
(2) gives every channel same-week distractor posts written from hand-written
per-language sentences: the channel's own cities and the kinds of event it
reports, other numbers, other hours. A security-type distractor never falls
within 24 h of a post of the same channel about the same place, nor on the
place and day of a negative article (so no distractor reports a cited event or
an event a negative says the channel did not report). Message ids are then
renumbered in time order, as Telegram numbers them, and the articles'
expected ids and t.me links follow. Refuses to run twice.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((Path(__file__).parent / "new_channels.json").read_text("utf-8"))
TEMPLATES: dict[str, list[list[str]]] = SPEC["templates"]
"""language → [kind ("sec" or "civ"), sentence with {place}, {n}, {m}, {cur}]."""

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _export(half: str, user: str) -> Path:
    return ROOT / half / "channels" / user / "result.json"


def _message(cid: int, name: str, local: datetime, offset_h: float, text: str) -> dict[str, Any]:
    utc = (local - timedelta(hours=offset_h)).replace(tzinfo=UTC)
    return {
        "id": 0,
        "type": "message",
        "date": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(utc.timestamp())),
        "from": name,
        "from_id": f"channel{cid}",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}],
    }


def _offset(msg: dict[str, Any]) -> float:
    local = datetime.fromisoformat(msg["date"]).replace(tzinfo=UTC)
    return (local.timestamp() - int(msg["date_unixtime"])) / 3600


def _digits(lang: str, s: str, rnd: random.Random) -> str:
    if lang == "fa" and rnd.random() < 0.7:
        return s.translate(PERSIAN)
    if lang in ("ar", "ckb") and rnd.random() < 0.6:
        return s.translate(ARABIC)
    return s


def _grow(half: str, user: str, ch: dict[str, Any], rnd: random.Random) -> dict[int, int]:
    """Add the distractors to one channel's export; the old → new id map."""
    path = _export(half, user)
    data = json.loads(path.read_text("utf-8"))
    msgs: list[dict[str, Any]] = data["messages"]
    offset = _offset(msgs[0])
    lang = ch["lang"]
    first_day = datetime.fromisoformat(SPEC["weeks"][half])
    avoid = {(a[0], a[1]) for a in ch.get("avoid", [])}
    added = 0
    tries = 0
    while added < ch["distractors"] and tries < 5000:
        tries += 1
        kind, tpl = rnd.choice(TEMPLATES[lang])
        place = rnd.choice(ch["places"])
        day = rnd.randrange(5)
        local = first_day + timedelta(
            days=day, hours=rnd.randrange(6, 23), minutes=rnd.randrange(60)
        )
        if kind == "sec":
            stem = place[: max(4, len(place) - 2)]
            if (place, local.strftime("%Y-%m-%d")) in avoid:
                continue
            near = [
                m
                for m in msgs
                if stem in m["text"]
                and abs((datetime.fromisoformat(m["date"]) - local).total_seconds()) < 86400
            ]
            if near:
                continue
        if any(m["date"][:13] == local.strftime("%Y-%m-%dT%H") for m in msgs):
            continue
        n, m = rnd.randrange(2, 40), rnd.randrange(2, 15)
        text = tpl.format(
            place=place,
            n=_digits(lang, str(n), rnd),
            m=_digits(lang, str(m), rnd),
            cur=ch.get("currency", ""),
        )
        msgs.append(_message(data["id"], data["name"], local, offset, text))
        added += 1
    msgs.sort(key=lambda x: int(x["date_unixtime"]))
    base = ch["first_id"]
    ids: dict[int, int] = {}
    for i, msg in enumerate(msgs):
        if msg["id"]:
            ids[int(msg["id"])] = base + i
        msg["id"] = base + i
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return ids


def _new_channel(half: str, user: str, ch: dict[str, Any]) -> None:
    """Write a new channel's export with its hand-written posts (ids in time order)."""
    path = _export(half, user)
    path.parent.mkdir(parents=True, exist_ok=True)
    msgs = []
    for i, (when, text) in enumerate(ch["posts"]):
        msg = _message(ch["id"], ch["name"], datetime.fromisoformat(when), ch["utc_offset"], text)
        msg["id"] = ch["first_id"] + i
        msgs.append(msg)
    data = {"name": ch["name"], "type": "public_channel", "id": ch["id"], "messages": msgs}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")


def _relink(text: str, user: str, ids: dict[int, int]) -> str:
    """t.me/<user>/<old id> links in an article's text renumbered."""

    def new(mo: re.Match[str]) -> str:
        return mo.group(1) + str(ids.get(int(mo.group(2)), int(mo.group(2))))

    return re.sub(rf"(t\.me/{user}/)(\d+)", new, text)


def main() -> None:
    rnd = random.Random(16)
    for half in ("tune", "test"):
        art_path = ROOT / half / "articles.jsonl"
        articles = [json.loads(x) for x in art_path.read_text("utf-8").splitlines() if x.strip()]
        if any(a["id"] == SPEC["articles"][half][0]["id"] for a in articles):
            raise SystemExit(f"{half}: already grown")
        for user, ch in SPEC["channels"][half].items():
            if "posts" in ch:
                _new_channel(half, user, ch)
        # Hand-written posts are numbered by their position; articles of new
        # channels name them by that position (first_id + index).
        articles += SPEC["articles"][half]
        for user, ch in SPEC["channels"][half].items():
            ids = _grow(half, user, ch, rnd)
            for a in articles:
                for e in a["expected"]:
                    if e["channel"].lower() == f"@{user}":
                        e["message_id"] = ids[e["message_id"]]
                a["text"] = _relink(a["text"], user, ids)
        art_path.write_text(
            "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), "utf-8"
        )


if __name__ == "__main__":
    main()
