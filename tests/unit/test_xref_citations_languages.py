"""Channel citations written in more languages, apostrophes, German
transcriptions and translated titles (xref.citations)."""

from __future__ import annotations

import pytest

from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import PARTIAL_NAME, extract_citations

_CHANNELS = [
    ChannelInfo(1, "selenge_medee", "Дархан-Сэлэнгийн шуурхай мэдээ"),
    ChannelInfo(2, "vodiy_xabar", "Farg‘ona Vodiysi Tezkor"),
    ChannelInfo(3, "kathiyawad_live", "સૌરાષ્ટ્ર તાજા સમાચાર"),
    ChannelInfo(4, "spinghar_news", "د ننګرهار بېړني خبرونه"),
    ChannelInfo(5, "odesa_live", "Odesa Live"),
]


def _named(article: str) -> list[tuple[int | None, float]]:
    return [
        (c.channel_id, round(c.similarity, 2))
        for c in extract_citations(article, _CHANNELS)
        if c.kind == "name"
    ]


@pytest.mark.parametrize(
    "article",
    [
        # ASCII apostrophe, U+02BB and U+2019 for the title's U+2018.
        "skriver Telegram-kanalen Farg'ona Vodiysi Tezkor.",
        "according to the Telegram channel Fargʻona Vodiysi Tezkor.",
        "selon la chaîne Telegram Farg’ona Vodiysi Tezkor.",
    ],
)
def test_any_apostrophe_spells_the_uzbek_title(article: str) -> None:
    """o‘ g‘ are written with ‘, ʻ, ’ or ': each cites the channel fully."""
    assert _named(article) == [(2, 1.0)]


def test_a_german_transcription_of_a_gujarati_title() -> None:
    """ "Sauraschtra Tadscha Samatschar" (dsch = j, tsch = ch, sch = sh) is
    સૌરાષ્ટ્ર તાજા સમાચાર."""
    cited = _named("berichtete der Telegram-Kanal Sauraschtra Tadscha Samatschar.")
    assert [cid for cid, _ in cited] == [3]


@pytest.mark.parametrize(
    "article",
    [
        "segons el canal de Telegram Da Nangarhar Berani Khabarona.",
        "secondo il canale Telegram Da Nangarhar Berani Khabarona.",
        "według kanału na Telegramie Da Nangarhar Berani Khabarona.",
    ],
)
def test_a_name_after_telegram_channel_spelling_a_title_in_another_script(article: str) -> None:
    """The name after "canal de Telegram", "canale Telegram" or "kanał na
    Telegramie" that strictly spells the Pashto title cites it, with its
    similarity (it used to be dropped as "matched elsewhere")."""
    cited = _named(article)
    assert [cid for cid, _ in cited] == [4]
    assert PARTIAL_NAME < cited[0][1] < 1.0


@pytest.mark.parametrize(
    "article",
    [
        "skriver Telegram-kanalen Darkhan-Selenge Hurtige Nyheder.",
        "segons el canal de Telegram Notícies Fresques del Saurashtra.",
    ],
)
def test_a_translated_title_sharing_a_place_word_is_a_partial_citation(article: str) -> None:
    """A translated title keeps its place names: the one channel whose title
    shares that long word is cited, with the partial similarity (a lead)."""
    cited = _named(article)
    assert len(cited) == 1 and cited[0][1] == PARTIAL_NAME
    assert cited[0][0] in (1, 3)


@pytest.mark.parametrize(
    "article",
    [
        # Only news words in common ("Live", "Nyheder").
        "skriver Telegram-kanalen Kyiv Live Nyheder.",
        # A short word ("Odesa", five letters) is no evidence.
        "skriver Telegram-kanalen Odesa Hurtige Nyheder.",
    ],
)
def test_news_words_and_short_words_make_no_partial_citation(article: str) -> None:
    """Outlets' common words and words under six letters tell no channel."""
    assert all(cid is None for cid, _ in _named(article))


def test_a_word_two_channels_share_makes_no_partial_citation() -> None:
    """A place word in two channels' titles names neither."""
    channels = [
        *_CHANNELS,
        ChannelInfo(6, "orkhon_uvs", "Сэлэнгэ орой"),
    ]
    article = "skriver Telegram-kanalen Selenge Hurtige Nyheder."
    assert [c.channel_id for c in extract_citations(article, channels) if c.kind == "name"] == [
        None
    ]
    # With one of them only, the word is a lead to it.
    assert [c.channel_id for c in extract_citations(article, _CHANNELS) if c.kind == "name"] == [1]


@pytest.mark.parametrize(
    ("article", "vague"),
    [
        ("ifølge flere Telegram-kanaler brændte det.", True),
        ("enligt flera Telegramkanaler brann det.", True),
        ("według kilku kanałów, kanały na Telegramie podały.", True),
        ("secondo alcuni canali Telegram.", True),
        ("segundo canais do Telegram locais.", True),
        # "Telegram-kanalen" is one channel ("the Telegram channel").
        ("skriver Telegram-kanalen Farg'ona Vodiysi Tezkor.", False),
    ],
)
def test_several_channels_in_more_languages_are_vague(article: str, vague: bool) -> None:
    """Plurals in Danish/Norwegian/Swedish, Polish, Italian and Portuguese."""
    kinds = {c.kind for c in extract_citations(article, _CHANNELS)}
    assert ("vague" in kinds) is vague, kinds


@pytest.mark.parametrize(
    "article",
    [
        "a rapporté la chaîne Telegram en mongol « Nouvelles rapides de Darkhan-Selenge ».",
        'informó el canal de Telegram "Noticias rápidas de Darkhan-Selenge".',
        "berichtete der Telegram-Kanal „Schnelle Nachrichten aus Darkhan-Selenge“.",
    ],
)
def test_a_quoted_title_in_sentence_case_is_the_whole_quote(article: str) -> None:
    """A translated title is written in sentence case; in quotes it is the
    whole quote, not its first word ("Nouvelles"), and shares the place
    name of the channel's title: a lead, never a link (holdout9 h17)."""
    cited = [c for c in extract_citations(article, _CHANNELS) if c.kind == "name"]
    assert [(c.channel_id, c.similarity) for c in cited] == [(1, PARTIAL_NAME)]
    assert " " in cited[0].text and cited[0].text[0].isupper()


def test_a_quote_after_the_channel_words_that_names_no_channel_is_not_one() -> None:
    article = "selon la chaîne Telegram « Ici Paris », qui ne cite aucune source."
    assert [c for c in extract_citations(article, _CHANNELS) if c.channel_id is not None] == []


@pytest.mark.parametrize(
    "article",
    [
        "the Cambodian Telegram channel Siem Reap News Today reported.",
        "meldt het Telegramkanaal Siem Reap Today.",
    ],
)
def test_a_translated_title_meets_a_username_that_runs_its_place_together(article: str) -> None:
    """ "Siem Reap" written as one word is the username's ``siemreap`` (and
    the Khmer title's ``siemreab``): a lead to that channel, never a link
    (holdout5 h12, h14). Two words that run together into no channel's
    word lead nowhere."""
    channels = [
        *_CHANNELS,
        ChannelInfo(6, "siemreap_thmey", "ព័ត៌មានសៀមរាបថ្ងៃនេះ"),
        ChannelInfo(7, "battambang_news", "Battambang News"),
    ]
    cited = [c for c in extract_citations(article, channels) if c.channel_id is not None]
    assert [(c.channel_id, c.similarity) for c in cited] == [(6, PARTIAL_NAME)]
    other = "the Telegram channel Phnom Penh Today reported."
    assert [c for c in extract_citations(other, channels) if c.channel_id is not None] == []
