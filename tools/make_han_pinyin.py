"""Write src/telewatch/data/han_pinyin.txt.gz from pypinyin's character table.

One line per Han character: the character, a tab, its readings in Hanyu
Pinyin without tones, most common first, comma-separated (ü as "v"; a
reading repeated with another tone written once). Source: pypinyin 0.55.0
``pypinyin/pinyin_dict.py`` (MIT, (c) mozillazg; its data is the MIT
``pinyin-data`` set built from Unihan). Run once by hand when updating:
``pip install pypinyin==0.55.0 && python tools/make_han_pinyin.py``;
telewatch does not need pypinyin at run time.
"""

from __future__ import annotations

import gzip
import unicodedata
from pathlib import Path

from pypinyin.pinyin_dict import pinyin_dict  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parent.parent / "src" / "telewatch" / "data" / "han_pinyin.txt.gz"


def _plain(reading: str) -> str:
    d = unicodedata.normalize("NFD", reading.replace("ü", "v"))
    return "".join(c for c in d if not unicodedata.combining(c))


def main() -> None:
    lines = []
    for cp in sorted(pinyin_dict):
        readings = list(dict.fromkeys(_plain(r) for r in pinyin_dict[cp].split(",")))
        readings = [r for r in readings if r.isascii() and r.isalpha()]
        if readings:
            lines.append(f"{chr(cp)}\t{','.join(readings)}")
    OUT.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    print(f"{len(lines)} characters -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
