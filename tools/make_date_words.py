"""Write src/telewatch/data/date_words.json from CLDR (through Babel).

For each language of ``LANGUAGES``: the wide names of the weekdays and months
(format and stand-alone forms: Finnish ``tiistaina`` / ``tiistai``, Greek
``Ιουνίου`` / ``Ιούνιος``), the words for the day before yesterday, yesterday
and today, and the day periods (morning, afternoon, evening, night, noon).
xref's date reader (``xref/dates.py``) reads an article in a language its
hand-written tables do not cover through these words. Run by hand when
updating: ``python tools/make_date_words.py`` (Babel is a dependency of
telewatch; the file records the Babel version it was made with).
"""

from __future__ import annotations

import json
from pathlib import Path

import babel
from babel import Locale

from telewatch.xref.gazetteer import _COUNTRY_NAME_LANGUAGES

OUT = Path(__file__).resolve().parent.parent / "src" / "telewatch" / "data" / "date_words.json"

# The same languages as the gazetteer's country names.
LANGUAGES = _COUNTRY_NAME_LANGUAGES

# CLDR day periods → the parts of the day of xref/dates.py.
PERIODS = {
    "morning1": "morning",
    "morning2": "late morning",
    "noon": "noon",
    "afternoon1": "afternoon",
    "afternoon2": "late afternoon",
    "evening1": "evening",
    "evening2": "evening",
    "night1": "night",
    "night2": "night",
}


def _forms(table: object, key: object) -> list[str]:
    out: list[str] = []
    for context in ("format", "stand-alone"):
        name = table[context]["wide"].get(key)  # type: ignore[index]
        if name and name not in out:
            out.append(name)
    return out


def language(code: str) -> dict[str, object]:
    loc = Locale.parse(code)
    relative = loc._data["date_fields"].get("day", {}).get("relative", {})
    periods: dict[str, list[str]] = {}
    for cldr, part in PERIODS.items():
        for context in ("format", "stand-alone"):
            name = loc.day_periods.get(context, {}).get("wide", {}).get(cldr)
            if name and name not in periods.setdefault(part, []):
                periods[part].append(name)
    return {
        "weekdays": [_forms(loc.days, i) for i in range(7)],
        "months": [_forms(loc.months, i) for i in range(1, 13)],
        "relative": {str(k): [relative[k]] for k in (-2, -1, 0) if relative.get(k)},
        "periods": {k: v for k, v in periods.items() if v},
    }


def main() -> None:
    data = {
        "source": f"CLDR through Babel {babel.__version__}",
        "languages": {code: language(code) for code in LANGUAGES.split()},
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"{len(LANGUAGES.split())} languages -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
