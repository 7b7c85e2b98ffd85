"""Channel names in Han, kana and Khmer: pinyin, Wade-Giles-tolerant keys,
Hepburn, a UNGEGN-style Khmer spelling, and articles citing such a channel
by a Latin spelling (examples made up for these tests)."""

from __future__ import annotations

from telewatch.xref import scripts
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.names import latin_spelling, name_key, same_name, sinitic_key


def test_kana_are_written_in_hepburn_without_macrons() -> None:
    assert scripts.kana("さっぽろ") == "sapporo"
    assert scripts.kana("とうきょう") == scripts.kana("トーキョー") == "tokyo"
    assert scripts.kana("ニュース") == "nyusu"
    assert scripts.kana("しんじゅく") == "shinjuku"
    assert scripts.kana("まっちゃ") == "matcha"
    assert scripts.kana("ふくおか") == "fukuoka"
    assert scripts.kana("ティッシュ") == "tisshu"
    assert scripts.kana("ファン") == "fan"


def test_khmer_is_spelled_by_syllable_and_consonant_series() -> None:
    assert scripts.khmer("ភ្នំពេញ") == "phnumpenh"  # Phnom Penh
    assert scripts.khmer("បាត់ដំបង") == "batdambang"  # Battambang
    assert scripts.khmer("កំពង់ចាម") == "kampongcham"  # Kampong Cham
    assert scripts.khmer("កំពត") == "kampot"
    assert scripts.khmer("ថ្មី") == "thmei"  # "new"
    assert scripts.khmer("សៀមរាប", sep=" ") == "siem reab"
    # The press forms key alike: Phnom Penh, Battambang.
    assert same_name("ភ្នំពេញ", "Phnom Penh") > 0.6
    assert same_name("បាត់ដំបង", "Battambang") > 0.6


def test_han_is_written_in_pinyin_and_mixed_japanese_has_no_spelling() -> None:
    assert scripts.han("高雄港") == ["gao", "xiong", "gang"]
    assert scripts.han("台中a1") == ["tai", "zhong"]  # other characters have no reading
    assert latin_spelling("高雄港區快訊") == "gao xiong gang qu kuai xun"
    # A Japanese word mixing kanji and kana: no Mandarin reading for the kanji.
    assert latin_spelling("札幌ニュース") is None
    assert latin_spelling("さっぽろニュース") == "sapporonyusu"
    assert name_key("札幌ニュース").skeleton == ""


def test_pinyin_wade_giles_and_postal_spellings_meet_on_one_key() -> None:
    forms = ("Kaohsiung", "Kao-hsiung", "Gaoxiong", "Kao-hsiung")
    assert len({sinitic_key(f) for f in forms}) == 1
    assert sinitic_key("T'ien-chin") == sinitic_key("Tianjin")
    assert sinitic_key("Ch'ung-ch'ing") == sinitic_key("Chongqing")
    assert sinitic_key("Hsin-chu") == sinitic_key("Xinzhu")
    # Different names stay apart.
    assert sinitic_key("Tainan") != sinitic_key("Taizhong")
    assert sinitic_key("Gaoxiong") != sinitic_key("Jilong")


CHANNELS = [
    ChannelInfo(1, "kaohsiung_kx", "高雄港區快訊"),
    ChannelInfo(2, "sapporo_sokuho", "札幌ニュース速報"),
    ChannelInfo(3, "pnh_pordamean", "ព័ត៌មានភ្នំពេញ"),
    ChannelInfo(4, "tainan_now", "台南"),
    ChannelInfo(5, "cq_evening", "重慶晚報"),
]


def _cited(article: str) -> list[tuple[int, float]]:
    return [
        (c.channel_id, c.similarity)
        for c in extract_citations(article, CHANNELS)
        if c.channel_id is not None
    ]


def test_an_article_cites_a_han_channel_in_pinyin_wade_giles_or_postal_spelling() -> None:
    for article in (
        "Port workers walked out, the Telegram channel Gaoxiong Gangqu Kuaixun reported.",
        "Selon la chaîne Telegram « Kao-hsiung Kang-ch'ü K'uai-hsün », le port est fermé.",
        "Laut dem Kanal Kaohsiung Kangqu Kuaixun stand der Hafen still.",
    ):
        assert [cid for cid, _ in _cited(article)] == [1], article
    # The city alone is not the channel; a two-syllable title (a city's
    # name) is never matched by its spelling.
    assert _cited("Dockers in Kaohsiung went on strike, the union said.") == []
    assert _cited("Heavy rain fell on Tainan and Tai-nan county on Monday.") == []


def test_a_polyphonic_character_may_be_read_either_way() -> None:
    """重 is most often zhong, but chong in 重慶 (Chongqing)."""
    assert scripts.han_readings("重")[0][:2] == ("zhong", "chong")
    for article in (
        "the Telegram channel Chongqing Wanbao reported on Tuesday.",
        "selon la chaîne Ch'ung-ch'ing Wan-pao, mardi.",
    ):
        assert [cid for cid, _ in _cited(article)] == [5], article


def test_an_article_cites_a_khmer_channel_by_its_romanised_title() -> None:
    cited = _cited("the Cambodian Telegram channel Pordamean Phnom Penh said on Monday.")
    assert [cid for cid, _ in cited] == [3]
    assert _cited("Traffic in Phnom Penh was slow on Monday, police said.") == []


def test_a_japanese_title_with_kanji_is_not_guessed() -> None:
    """Without kanji readings the kana part alone (ニュース, "news") must not
    make every "Nyusu" cite the channel."""
    assert _cited("the channel Sapporo Nyusu Sokuho said; another Nyusu site agreed.") == []
