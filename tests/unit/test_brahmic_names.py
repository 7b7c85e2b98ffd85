"""Channel names in Myanmar, Lao, Sinhala and the Indic scripts: press
spellings, the variant-tolerant ``brahmic_key``, and articles citing such a
channel by a Latin spelling (examples made up for these tests)."""

from __future__ import annotations

import pytest

from telewatch.xref import scripts
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.names import brahmic_key, latin_spelling, name_key


@pytest.mark.parametrize(
    ("word", "spelled"),
    [
        ("ရန်ကုန်", "yan kon"),  # Yangon: final န် after a and u
        ("မန္တလေး", "man ta le"),  # Mandalay: a stacked final, the visarga dropped
        ("တောင်ကြီး", "taung kyi"),  # Taunggyi: ောင် aung, the medial ြ
        ("ရွှေ", "shwe"),  # ရှ sh, the medial ွ w
        ("မြို့", "myo"),  # ို o, the tone dot dropped
        ("စစ်ကိုင်း", "sit kaing"),  # စ် it, ိုင် aing
    ],
)
def test_myanmar_is_spelled_as_the_press_writes_names(word: str, spelled: str) -> None:
    """Burmese syllables: onset with medials, vowel, final with its rhyme."""
    assert scripts.myanmar(word, sep=" ") == spelled


@pytest.mark.parametrize(
    ("word", "spelled"),
    [
        ("ຫຼວງພະບາງ", "luang pha bang"),  # ຫຼ l (the h silent), medial ວ ua
        ("ວຽງຈັນ", "viang chan"),  # ຽ ia
        ("ປາກເຊ", "pak se"),  # a final ກ, a leading vowel
        ("ຈຳປາສັກ", "cham pa sak"),  # ຳ am
        ("ເມືອງ", "mueang"),  # ເ-ືອ
        ("ຂ່າວ", "khao"),  # a final ວ after a; the tone mark dropped
        ("ສະຫວັນ", "sa van"),  # ຫວ: the h only marks the tone
    ],
)
def test_lao_is_spelled_bgn_style(word: str, spelled: str) -> None:
    """Lao syllables: leading vowels reordered, finals and medial ວ read."""
    assert scripts.lao(word, sep=" ") == spelled


@pytest.mark.parametrize(
    ("word", "spelled"),
    [
        ("కర్నూలు", "karnulu"),  # Telugu
        ("ಮೈಸೂರು", "maisuru"),  # Kannada
        ("മലയാളം", "malayalam"),  # Malayalam: the final anusvara m
        ("വാർത്ത", "vartta"),  # Malayalam: the chillu ർ
        ("ગુજરાત", "gujrat"),  # Gujarati
        ("ਪੰਜਾਬ", "panjab"),  # Gurmukhi: the tippi
        ("ଓଡ଼ିଶା", "orisha"),  # Odia: the nukta
        ("संपादक", "sampadak"),  # Devanagari: the anusvara m before a labial
        ("කොළඹ", "kolamba"),  # Sinhala (its own block layout)
        ("ශ්‍රී", "shri"),  # Sinhala: al-lakuna, a zero-width joiner inside
    ],
)
def test_every_indic_script_and_sinhala_gets_a_spelling(word: str, spelled: str) -> None:
    """Telugu, Kannada, Malayalam, Gujarati, Gurmukhi, Odia, Devanagari and
    Sinhala words have a Latin spelling, so their names have keys."""
    assert scripts.latin(word) == spelled
    assert name_key(word).skeleton


def test_spelling_variants_of_one_name_meet_on_the_brahmic_key() -> None:
    """Aspiration, voicing, sh/s, j/z, v/w, doubled letters and vowels do
    not separate the spellings of one name; the consonants do."""
    burmese = {"Yangon Nay Sin Thadin", "Yangon Ne Sin Tadin", "Yangon Nay Sin Thatin"}
    assert {brahmic_key(v) for v in burmese} == {brahmic_key("yan kon ne sin tha tin")}
    lao = {"Khao Pakse Muea Ni", "Kao Pakse Meu Nee", "Khaw Paksé Mue Ni"}
    assert {brahmic_key(v) for v in lao} == {brahmic_key("khao pak se meu ni")}
    assert brahmic_key("Sri Lanka") == brahmic_key("shri lanka")
    assert brahmic_key("Guntur Vaarthalu") == brahmic_key("Gunturu Vartalu")
    assert brahmic_key("Yangon Thadin") != brahmic_key("Yangon Times")


_CHANNELS = [
    ChannelInfo(1, None, "ရန်ကုန် နေ့စဉ် သတင်း"),
    ChannelInfo(2, None, "ຂ່າວປາກເຊ ມື້ນີ້"),
    ChannelInfo(3, None, "గుంటూరు వార్తలు"),
    ChannelInfo(4, None, "ຂ່າວດ່ວນ"),
    ChannelInfo(5, None, "ສະຫວັນນະເຂດ"),
    ChannelInfo(6, None, "ගාල්ල පුවත්"),
    ChannelInfo(7, None, "မန္တလေး"),
]


def _cited(article: str) -> list[int]:
    return [c.channel_id for c in extract_citations(article, _CHANNELS) if c.channel_id]


@pytest.mark.parametrize(
    ("article", "channel"),
    [
        ("Roads flooded, the Telegram channel Yangon Nay Sin Thadin reported.", 1),
        ("Haberi Telegram kanalı Yangon Ne Sin Tadin duyurdu.", 1),
        ("Selon la chaîne « Kao Pakse Meu Nee », le pont est fermé.", 2),
        ("Laut dem Kanal Khaw Pakse Mue Ni stand der Verkehr still.", 2),
        # Czech ch is the press's kh.
        ("Most je zavřený, informoval kanál Chao Pakse Mue Ni.", 2),
        ("the channel Guntur Vaarthalu said on Monday.", 3),
        ("according to the Telegram channel Galle Puwath, the port closed.", 6),
    ],
)
def test_an_article_cites_a_channel_by_a_spelling_of_its_title(article: str, channel: int) -> None:
    """A run of capitalised words spelling a Myanmar, Lao, Telugu or Sinhala
    title, in any of the press's variants, cites that channel."""
    assert _cited(article) == [channel]


@pytest.mark.parametrize(
    "article",
    [
        # ຂ່າວດ່ວນ is "breaking news": too few consonants to name a channel.
        "Khao Duan: the river rose again, officials said.",
        # A title that is a place's name is not cited by the place alone.
        "Floods hit Savannakhet and Mandalay on Monday.",
        "Floods hit Savannakhet on Monday; Mandale was dry.",
        # Part of a title is not the title.
        "Yangon news: Thadin said nothing.",
        "Guntur police said on Monday.",
        "the Telegram channel Galle News said.",
    ],
)
def test_a_generic_word_or_a_place_does_not_cite_a_channel(article: str) -> None:
    """The guards: at least five consonants in the title's key, two or more
    article words, and a Lao or Myanmar title never matched word by word."""
    assert _cited(article) == []


def test_lao_and_myanmar_titles_have_a_latin_spelling() -> None:
    """``latin_spelling`` spells a Lao or Myanmar title syllable by syllable."""
    assert latin_spelling("ຂ່າວປາກເຊ ມື້ນີ້") == "khao pak se meu ni"
    assert latin_spelling("ရန်ကုန် သတင်း") == "yan kon tha tin"
