"""The builder of the held-out splits holdout3, holdout4 and holdout5 (their
scripts, ``holdout3.py``, ``holdout4.py`` and ``holdout5.py``, say what each
split is).

Hand-written posts and articles come from ``NAME.json``; 18 same-week
distractors per channel are written from hand-written per-language
sentences as in ``grow.py`` (the channel's towns, its kinds of event, other
numbers and hours; a security-type distractor never within 24 h of a post
of the same channel on the same town, nor on the town and day of a
negative). Articles name the expected posts by their position in
``posts``; ids are given in time order, as Telegram numbers them. Refuses
to overwrite. ``check`` validates a written split against its ``NAME.json``
(``build`` runs it last).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
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
    check(name)


def _kind(spec: dict[str, Any], lang: str, text: str) -> tuple[str, str] | None:
    """The template kind and place a distractor's text was written from."""
    for kind, tpl in spec["templates"][lang]:
        pat = re.escape(tpl).replace(r"\{place\}", "(?P<place>.+)")
        pat = pat.replace(r"\{n\}", ".+?").replace(r"\{m\}", ".+?")
        mo = re.fullmatch(pat, text)
        if mo:
            return kind, mo.group("place")
    return None


def check(name: str) -> None:
    """Validate the written split ``name`` against ``name.json``; exits with
    one line per problem. Checks that every file parses; that each export has
    its channel's name and id, ids increasing, dates never decreasing,
    ``date_unixtime`` equal to the local date less the channel's UTC offset and
    ``text_entities`` spelling the text; that every hand-written post is there
    exactly once and every other message is a template distractor (which obeys
    the 24 h and ``avoid`` rules); that the articles' expected ids are the
    spec's posts, exist, were published before the article, and (where the
    spec says ``cited``) are never one of the hand-written distractors, while
    every cited post is expected by some article."""
    root = Path(__file__).resolve().parent.parent / name
    spec = json.loads((Path(__file__).parent / f"{name}.json").read_text("utf-8"))
    bad: list[str] = []
    ids: dict[str, dict[int, int]] = {}
    stamps: dict[str, dict[int, int]] = {}
    for user, ch in spec["channels"].items():
        data = json.loads((root / "channels" / user / "result.json").read_text("utf-8"))
        msgs = data["messages"]
        if (data["name"], data["id"], data["type"]) != (ch["name"], ch["id"], "public_channel"):
            bad.append(f"{user}: name, id or type differ from the spec")
        if len(msgs) != len(ch["posts"]) + ch["distractors"]:
            bad.append(
                f"{user}: {len(msgs)} messages, expected {len(ch['posts'])} + {ch['distractors']}"
            )
        stamps[user] = {int(m["id"]): int(m["date_unixtime"]) for m in msgs}
        for a, b in itertools.pairwise(msgs):
            if int(b["id"]) <= int(a["id"]) or b["date"] < a["date"]:
                bad.append(f"{user}/{b['id']}: id or date out of order")
        for m in msgs:
            local = datetime.fromisoformat(m["date"]).replace(tzinfo=UTC)
            if local.timestamp() - int(m["date_unixtime"]) != ch["utc_offset"] * 3600:
                bad.append(
                    f"{user}/{m['id']}: date_unixtime does not match date at UTC{ch['utc_offset']:+}"
                )
            if "".join(e["text"] for e in m["text_entities"]) != m["text"]:
                bad.append(f"{user}/{m['id']}: text_entities do not spell the text")
            if m["from"] != ch["name"] or m["from_id"] != f"channel{ch['id']}":
                bad.append(f"{user}/{m['id']}: from / from_id differ from the channel")
        ids[user] = {}
        hand = {(when, text): i for i, (when, text) in enumerate(ch["posts"])}
        for m in msgs:
            pos = hand.get((m["date"], m["text"]))
            if pos is not None:
                if pos in ids[user]:
                    bad.append(f"{user}: post {pos} written twice")
                ids[user][pos] = int(m["id"])
                continue
            if m["text"] in {t for _, t in ch["posts"]}:
                bad.append(f"{user}/{m['id']}: a distractor repeats a hand-written post")
            found = _kind(spec, ch["lang"], m["text"])
            if found is None:
                bad.append(f"{user}/{m['id']}: neither a hand-written post nor a template")
                continue
            kind, place = found
            if kind != "sec":
                continue
            if [place, m["date"][:10]] in ch.get("avoid", []):
                bad.append(f"{user}/{m['id']}: security distractor on an avoided town and day")
            stem = place[: max(4, len(place) - 2)]
            when = datetime.fromisoformat(m["date"])
            for t_when, text in ch["posts"]:
                gap = abs((datetime.fromisoformat(t_when) - when).total_seconds())
                if stem in text and gap < 86400:
                    bad.append(
                        f"{user}/{m['id']}: security distractor within 24 h of a post on {place}"
                    )
                    break
        if len(ids[user]) != len(ch["posts"]):
            bad.append(f"{user}: {len(ch['posts']) - len(ids[user])} hand-written posts missing")
    lines = (root / "articles.jsonl").read_text("utf-8").splitlines()
    written = [json.loads(x) for x in lines if x.strip()]
    if len(written) != len(spec["articles"]):
        bad.append(f"articles.jsonl has {len(written)} articles, the spec {len(spec['articles'])}")
    if len({a["id"] for a in written}) != len(written):
        bad.append("article ids are not unique")
    cited: set[tuple[str, int]] = set()
    for a, s in zip(written, spec["articles"], strict=False):
        published = datetime.fromisoformat(a["published"])
        if published.tzinfo is None:
            bad.append(f"{a['id']}: published has no UTC offset")
            continue
        if set(a) < {"id", "lang", "published", "title", "text", "expected", "note"}:
            bad.append(f"{a['id']}: fields missing")
        if len(a["expected"]) != len(s["expected"]):
            bad.append(f"{a['id']}: expected differs from the spec")
        for e, se in zip(a["expected"], s["expected"], strict=False):
            user, mid = e["channel"][1:], e["message_id"]
            if user not in ids or mid not in stamps[user]:
                bad.append(f"{a['id']}: {e['channel']}/{mid} is not in the export")
                continue
            if mid not in ids[user].values():
                bad.append(f"{a['id']}: {e['channel']}/{mid} is a template distractor")
            elif ids[user].get(se["post"]) != mid or se["channel"] != e["channel"]:
                bad.append(f"{a['id']}: {e['channel']}/{mid} is not the spec's post {se['post']}")
            n_cited = spec["channels"][user].get("cited")
            if n_cited is not None and se["post"] >= n_cited:
                bad.append(f"{a['id']}: {e['channel']}/{mid} is a hand-written distractor")
            if stamps[user][mid] >= published.timestamp():
                bad.append(f"{a['id']}: {e['channel']}/{mid} was posted after the article")
            cited.add((user, se["post"]))
    for user, ch in spec["channels"].items():
        for pos in range(ch.get("cited", 0)):
            if (user, pos) not in cited:
                bad.append(f"{user}: cited post {pos} is expected by no article")
    if bad:
        raise SystemExit(f"{name}: " + "\n".join(bad))
