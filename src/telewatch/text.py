"""Text normalisation for search and matching (stdlib only).

``normalize`` is applied both when indexing and when querying, so that
spelling variants meet: NFKC, casefold, Arabic/Persian folding (tashkeel and
tatweel removed, alef/hamza forms, ya/kaf/heh variants, Arabic-Indic and
Persian digits to ASCII), ``ё`` → ``е``, zero-width characters removed.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic diacritics (tashkeel), Quranic marks, superscript alef.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u061c]")

_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي", "ئ": "ي",
        "ک": "ك", "ڪ": "ك",
        "ة": "ه", "ۀ": "ه", "ە": "ه", "ہ": "ه", "ھ": "ه",
        "ؤ": "و",
        "ё": "е",
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        "٬": ",", "٫": ".", "،": ",", "؛": ";", "؟": "?",
    }
)


def normalize(text: str) -> str:
    """Fold ``text`` for search. Idempotent: normalize(normalize(x)) == normalize(x)."""
    s = unicodedata.normalize("NFKC", text)
    s = s.casefold()
    s = _TASHKEEL.sub("", s).replace(_TATWEEL, "")
    s = _ZERO_WIDTH.sub("", s)
    s = s.translate(_FOLD)
    # NFKC again: casefold/translation can produce new compatibility forms.
    return unicodedata.normalize("NFKC", s)
