"""Rhyme levels, spelling fallbacks, syllables and the corpus rhyme index."""

from __future__ import annotations

import re

import pronouncing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhymer.rhymes import (
    LEVELS,
    RhymeIndex,
    in_cmudict,
    is_rhyme,
    line_syllables,
    phones,
    rhyme_level,
    rhyming_part,
    syllables,
    vowels,
)

CORPUS = {
    "night": 50,
    "light": 40,
    "bright": 40,
    "sight": 7,
    "moonlight": 3,
    "time": 30,
    "line": 20,
    "lemon": 5,
    "melon": 6,
    "heaven": 9,
    "day": 60,
    "way": 55,
    "place": 10,
    "metalface": 2,  # not in CMUdict
    "forgettin": 4,  # not in CMUdict
    "getting": 8,
    "fantastic": 1,
    "love": 70,
}

# Words to draw from in property tests: in and out of CMUdict, apostrophes, case.
SAMPLE = [
    *CORPUS,
    "fight",
    "NIGHT",
    "gettin'",
    "blorptastic",
    "crown'd",
    "ground",
    "write",
    "right",
]


@pytest.fixture(scope="module")
def index() -> RhymeIndex:
    return RhymeIndex(CORPUS)


# --- levels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("night", "light", "perfect"),
        ("giant", "client", "perfect"),  # both AY1 AH0 N T in CMUdict
        ("right", "write", "perfect"),  # same sound, different spelling
        ("power", "hour", "perfect"),
        ("lemon", "melon", "multi"),  # EH .. AH, consonants differ
        ("singer", "finger", "multi"),  # IH1 NG ER0 / IH1 NG G ER0
        ("open", "broken", "multi"),
        ("remember", "together", "multi"),  # only the last two vowels (EH ER) match
        ("time", "line", "slant"),
        ("cat", "bad", "slant"),
        ("moonlight", "night", "slant"),  # moonlight ends in secondary-stressed AY2
        ("night", "day", None),
        ("lemon", "day", None),
    ],
)
def test_rhyme_level_on_known_pairs(a: str, b: str, level: str | None) -> None:
    assert rhyme_level(a, b) == level
    assert rhyme_level(b, a) == level


def test_multi_and_slant_are_not_perfect_by_cmudict() -> None:
    assert not is_rhyme("lemon", "melon")
    assert not is_rhyme("time", "line")


def test_the_same_word_is_not_a_rhyme() -> None:
    for a, b in [("night", "night"), ("Night", "NIGHT"), ("gettin'", "gettin"), ("love", " love ")]:
        assert rhyme_level(a, b) is None
        assert not is_rhyme(a, b)


def test_empty_and_unknowable_words_do_not_rhyme() -> None:
    assert rhyme_level("", "a") is None
    assert rhyme_level("123", "night") is None
    assert rhyme_level("!!", "??") is None


def test_is_rhyme_is_strict_cmudict() -> None:
    assert is_rhyme("night", "light")
    assert is_rhyme("Right", "write")
    assert is_rhyme("night,", "light.")
    assert not is_rhyme("night", "day")
    # both rhyme by guessed phones, but neither guess is in CMUdict
    assert rhyme_level("metalface", "place") == "perfect"
    assert not is_rhyme("metalface", "place")


def test_in_cmudict() -> None:
    assert in_cmudict("night") and in_cmudict("NIGHT") and in_cmudict("night!")
    assert not in_cmudict("metalface")
    assert not in_cmudict("")


def test_levels_constant() -> None:
    assert LEVELS == ("perfect", "multi", "slant")


# --- phones and fallbacks --------------------------------------------------------------


def test_phones_from_cmudict() -> None:
    assert phones("Giant") == ["JH AY1 AH0 N T"]
    assert phones("permit") == pronouncing.phones_for_word("permit")


@pytest.mark.parametrize("word", ["gettin", "gettin'", "gettin\u2019"])
def test_g_dropping(word: str) -> None:
    assert "G EH1 T IH0 N" in phones(word)
    assert rhyme_level(word, "forgettin") == "perfect"


def test_g_dropping_nothin() -> None:
    assert "N AH1 TH IH0 N" in phones("nothin'")
    assert "N AH1 TH IH0 N" in phones("nothin")


def test_compound_uses_the_known_last_word() -> None:
    guess = phones("metalface")
    assert guess and all(p.endswith("F EY1 S") for p in guess)
    assert syllables("metalface") == 3
    # the spelling ending "rface" (surface) is longer, but gangster + face are both words
    assert rhyme_level("gangsterface", "place") == "perfect"


def test_made_up_word_gets_phones_from_its_spelling() -> None:
    guess = phones("blorptastic")
    assert guess
    assert all(rhyming_part(p) == "AE1 S T IH0 K" for p in guess)  # like fantastic
    assert rhyme_level("blorptastic", "fantastic") == "perfect"


def test_old_spellings() -> None:
    assert phones("crown'd") == pronouncing.phones_for_word("crowned")
    assert rhyme_level("crown'd", "ground") == "perfect"
    assert phones("o'er") == pronouncing.phones_for_word("over")


def test_accents_are_dropped() -> None:
    assert phones("Caf\u00e9") == pronouncing.phones_for_word("cafe")


@pytest.mark.parametrize("word", ["", " ", "123", "!?", "\u65e5\u672c", "'", "-"])
def test_nothing_to_guess(word: str) -> None:
    assert phones(word) == []


def test_very_long_word_does_not_blow_up() -> None:
    assert phones("la" * 100_000)  # guessed from its ending
    assert syllables("x" * 100_000) >= 1


# --- small phone helpers ----------------------------------------------------------------


def test_vowels() -> None:
    assert vowels("G AY1 AH0 N T") == ["AY", "AH"]
    assert vowels("HH M") == []
    assert vowels("not phones at all 1") == []


def test_rhyming_part() -> None:
    assert rhyming_part("P ER1 P AH0 L") == "ER1 P AH0 L"
    assert rhyming_part("M UW1 N L AY2 T") == "AY2 T"  # secondary stress counts, as in pronouncing
    assert rhyming_part("DH AH0") == "AH0"  # no stress: from the last vowel
    assert rhyming_part("HH M") == ""
    assert rhyming_part("") == ""


# --- syllables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "count"),
    [("literally", 4), ("heaven", 2), ("night", 1), ("blorptastic", 3), ("hmm", 1), ("", 0)],
)
def test_syllables(word: str, count: int) -> None:
    assert syllables(word) == count


def test_line_syllables() -> None:
    assert line_syllables("And laughed, and did no longer wish to die;") == 10
    assert line_syllables("") == 0


# --- the corpus index ------------------------------------------------------------------


def test_partners_ranked_by_count_then_alphabet(index: RhymeIndex) -> None:
    found = index.partners("fight")
    assert found["perfect"] == ["night", "bright", "light", "sight"]  # bright/light tie at 40


def test_partners_levels(index: RhymeIndex) -> None:
    found = index.partners("night")
    assert found["perfect"] == ["bright", "light", "sight"]
    assert "moonlight" in found["slant"] and "time" in found["slant"]
    assert "night" not in sum(found.values(), [])
    lemon = index.partners("lemon")
    assert lemon["multi"] == ["heaven", "melon"]
    assert lemon["perfect"] == [] and lemon["slant"] == []


def test_each_partner_appears_once_at_its_best_level(index: RhymeIndex) -> None:
    for word in SAMPLE:
        found = index.partners(word)
        listed = [w for level in LEVELS for w in found[level]]
        assert len(listed) == len(set(listed))
        for level in LEVELS:
            for partner in found[level]:
                assert rhyme_level(word, partner) == level


def test_partners_limit(index: RhymeIndex) -> None:
    assert index.partners("fight", limit=2)["perfect"] == ["night", "bright"]
    assert index.partners("fight", limit=0)["perfect"] == []


def test_oov_corpus_words_participate(index: RhymeIndex) -> None:
    assert "metalface" in index.partners("space")["perfect"]
    assert "forgettin" in index.partners("gettin'")["perfect"]
    assert index.partners("sweatin")["multi"][:1] == ["getting"]


def test_unknown_query_word(index: RhymeIndex) -> None:
    assert index.partners("blorptastic")["perfect"] == ["fantastic"]
    assert index.partners("") == {"perfect": [], "multi": [], "slant": []}


def test_corpus_words_are_lower_cased_and_merged() -> None:
    merged = RhymeIndex({"Light": 1, "light": 1, "sight": 1, "": 5})
    assert merged.counts == {"light": 2, "sight": 1}
    assert merged.partners("night")["perfect"] == ["light", "sight"]


def test_close_words(index: RhymeIndex) -> None:
    assert index.close_words("brite")[:1] == ["bright"]
    assert "light" not in index.close_words("light")
    assert index.close_words("zzzzzz") == []
    assert index.close_words("night", n=0) == []


# --- properties ------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_nothing_raises_on_arbitrary_text(a: str, b: str) -> None:
    index = RhymeIndex({"night": 2, "light": 1, a: 3})
    assert all(isinstance(p, str) and p for p in phones(a))
    assert rhyme_level(a, b) in (*LEVELS, None)
    assert isinstance(is_rhyme(a, b), bool)
    assert syllables(a) >= 0 and line_syllables(a + " " + b) >= 0
    found = index.partners(a, limit=3)
    assert set(found) == set(LEVELS)
    assert isinstance(index.close_words(b), list)
    vowels(a), rhyming_part(a), in_cmudict(a)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20))
def test_words_with_letters_have_a_syllable(word: str) -> None:
    if re.search("[A-Za-z]", word):
        assert syllables(word) >= 1


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SAMPLE), st.sampled_from(SAMPLE))
def test_rhyme_level_is_symmetric_and_agrees_with_is_rhyme(a: str, b: str) -> None:
    assert rhyme_level(a, b) == rhyme_level(b, a)
    if is_rhyme(a, b):
        assert rhyme_level(a, b) == "perfect"


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(SAMPLE))
def test_index_agrees_with_rhyme_level(word: str) -> None:
    index = RhymeIndex(CORPUS)
    found = index.partners(word)
    for other in CORPUS:
        level = rhyme_level(word, other)
        listed = [lvl for lvl in LEVELS if other in found[lvl]]
        assert listed == ([level] if level else [])
