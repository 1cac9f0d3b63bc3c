"""Each metric pinned on small examples worked out by hand (the arithmetic is in comments)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from rhymer.metrics import (
    CharNgram,
    CorpusIndex,
    balanced,
    bootstrap_ci,
    distinct_n,
    end_rhyme,
    percentile,
    rhyme_density,
    slant_rhyme,
    syllable_gap,
    word_vowels,
)

# CMUdict, first pronunciations: be B IY1, happy HH AE1 P IY0, snappy S N AE1 P IY0,
# look L UH1 K, cat K AE1 T, hat HH AE1 T, the DH AH0, a AH0, night N AY1 T, light L AY1 T,
# sofa S OW1 F AH0.

# ---------------------------------------------------------------------------- rhyme


def test_word_vowels_drop_schwa_and_split_diphthongs() -> None:
    assert word_vowels("happy") == ("AE", "IY")
    assert word_vowels("night") == ("AA", "IY")  # AY -> AA IY
    assert word_vowels("sofa") == ("AO", "UW")  # OW -> AO UW, final AH0 dropped
    assert word_vowels("the") == ()  # DH AH0: only a schwa
    assert word_vowels("") == ()


def test_rhyme_density_two_vowel_match() -> None:
    # vowels: be [IY] happy [AE IY] look [UH] snappy [AE IY]
    # seq = IY AE IY UH AE IY, last vowels: be 0, happy 2, look 3, snappy 5
    # be: nothing before -> 0
    # happy (5..): vs be: IY=IY (1), then be has no vowel before -> run 1 -> 0
    # look: UH vs IY, UH vs IY -> 0
    # snappy: vs be: run 1 -> 0; vs happy: IY=IY, AE=AE, then UH (seq[3]) would be past
    #   happy's last vowel (index 2) -> run 2; vs look: IY vs UH -> 0.  best 2
    # density = (0 + 0 + 0 + 2) / 4 words = 0.5
    assert rhyme_density(["be happy", "look snappy"]) == pytest.approx(0.5)


def test_rhyme_density_single_vowel_match_is_zero() -> None:
    # the [] cat [AE] a [] hat [AE]: hat vs cat matches AE, run 1 -> 0; 4 words -> 0
    assert rhyme_density(["the cat", "a hat"]) == 0.0


def test_rhyme_density_identical_words_do_not_count() -> None:
    # as the 0.5 example, but "happy" again: happy vs happy is skipped, vs be run 1 -> 0
    assert rhyme_density(["be happy", "look happy"]) == 0.0


def test_rhyme_density_runs_cross_word_boundaries() -> None:
    # cat be | happy: seq = AE IY AE IY; happy (3) vs be (1): IY=IY, AE=AE (cat's vowel) -> 2
    # cat 0, be vs cat IY/AE 0 -> (0 + 0 + 2) / 3
    assert rhyme_density(["cat be", "happy"]) == pytest.approx(2 / 3)


def test_rhyme_density_later_run_stops_at_the_earlier_word() -> None:
    # cat mat hat: seq = AE AE AE; mat vs cat: AE=AE, cat has nothing before -> 1 -> 0
    # hat vs mat: AE=AE, the next step would reach mat's own vowel -> stop at 1 -> 0
    # hat vs cat: AE=AE, nothing before cat -> 1 -> 0.  density 0
    # (letting the run overlap would give hat vs mat = 2 and density 2 / 3)
    assert rhyme_density(["cat mat hat"]) == 0.0


def test_rhyme_density_diphthongs_give_two_vowels() -> None:
    # night [AA IY] light [AA IY]: light vs night -> run 2; (0 + 2) / 2 = 1
    assert rhyme_density(["night", "light"]) == pytest.approx(1.0)


def test_rhyme_density_looks_back_fifteen_words() -> None:
    # happy, k x look, snappy: look never matches (UH) and look vs look is the same word.
    # k = 14: happy is 15 words before snappy -> run 2, density 2 / 16 = 0.125
    # k = 15: happy is 16 words back, out of reach -> 0
    assert rhyme_density(["happy " + "look " * 14, "snappy"]) == pytest.approx(0.125)
    assert rhyme_density(["happy " + "look " * 15, "snappy"]) == 0.0


def test_rhyme_density_empty() -> None:
    assert rhyme_density([]) == 0.0
    assert rhyme_density(["", "?!"]) == 0.0


def test_end_rhyme_and_slant_rhyme() -> None:
    assert end_rhyme(("I walk into the night,", "And fill it with light."))
    assert slant_rhyme(("I walk into the night,", "And fill it with light."))
    # the same word twice is no rhyme
    assert not end_rhyme(("Into the night", "out of the Night!"))
    assert not slant_rhyme(("Into the night", "out of the Night!"))
    # time / line: same vowel, different coda -> slant only
    assert not end_rhyme(("It is time", "to read a line"))
    assert slant_rhyme(("It is time", "to read a line"))
    assert not end_rhyme(("a day", "a dog")) and not slant_rhyme(("a day", "a dog"))
    assert not end_rhyme(("...", "night")) and not slant_rhyme(("...", "night"))


# ---------------------------------------------------------------------------- metre


def test_syllable_gap_and_balance() -> None:
    # be happy: 1 + 2 = 3; look: 1; look snappy: 1 + 2 = 3
    assert syllable_gap(("be happy", "look")) == 2
    assert syllable_gap(("be happy", "look snappy")) == 0
    assert balanced(("be happy", "look snappy"))  # 3 / 3 = 1
    # 3 x happy = 6, 2 x happy = 4: 4 / 6 = 0.667
    pair = ("happy happy happy", "happy happy")
    assert not balanced(pair)
    assert balanced(pair, ratio=0.6)
    assert not balanced(pair, ratio=0.7)
    assert not balanced(("", "?"))


# ---------------------------------------------------------------------------- copying

TRAIN = [
    "The cat sat on the mat,",
    "A dog ran in the park!",
    "One two three four five six seven eight nine ten eleven twelve thirteen fourteen",
]


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return CorpusIndex(TRAIN)


def test_copied_after_normalizing(index: CorpusIndex) -> None:
    assert index.copied("the CAT sat on the mat.")
    assert not index.copied("the cat sat on the")
    assert not index.copied("")
    assert CorpusIndex(["Don't stop"]).copied("dont stop!")


def test_longest_shared_run(index: CorpusIndex) -> None:
    # "cat sat on the mat" (5 words) stands in the first corpus line
    assert index.longest_shared_run("My cat sat on the mat today") == 5
    # "the park" and "the mat" are 2-word runs; "the park the mat" never occurs in a line
    assert index.longest_shared_run("the park the mat") == 2
    assert index.longest_shared_run("zebra quagga") == 0
    # a run must be consecutive in ONE corpus line: "mat a dog" crosses two lines
    assert index.longest_shared_run("mat a dog") == 2
    long_line = TRAIN[2]  # 14 words
    assert index.longest_shared_run(long_line) == 12  # capped at max_n
    assert CorpusIndex(TRAIN, max_n=20).longest_shared_run(long_line) == 14


def test_novel_4gram_share(index: CorpusIndex) -> None:
    # 4-grams: "cat sat on the" (known), "sat on the rug" (new),
    #          "dog ran in the" (known), "ran in the park" (known) -> 1 / 4 new
    assert index.novel_4gram_share(["cat sat on the rug", "dog ran in the park"]) == 0.25
    assert index.novel_4gram_share(["brand new words here"]) == 1.0
    assert math.isnan(index.novel_4gram_share(["too short"]))


def test_distinct_n() -> None:
    # bigrams: (a b) (b a) (a b) | (a b) -> 2 distinct of 4
    assert distinct_n(["a b a b", "A, b!"]) == 0.5
    # unigrams: a b a b a b -> 2 of 6
    assert distinct_n(["a b a b", "a b"], n=1) == pytest.approx(2 / 6)
    assert distinct_n(["one two three"]) == 1.0
    assert math.isnan(distinct_n(["single"]))


# ---------------------------------------------------------------------------- fluency

VERSE = [
    "The night is dark and the stars are bright,",
    "And the moon is singing a song of light.",
    "I walk along the shore of the silent sea,",
    "And the wind is calling out to me.",
    "The day is long and the road is wide,",
    "And the river is running on every side.",
] * 5


@pytest.fixture(scope="module")
def judge() -> CharNgram:
    return CharNgram(VERSE)


def test_char_ngram_prefers_text_like_its_training_text(judge: CharNgram) -> None:
    line = "And the stars are singing on the silent shore."
    shuffled = "".join(random.Random(0).sample(line, len(line)))
    assert judge.bits_per_char(line) < judge.bits_per_char(shuffled) - 1.0
    assert judge.bits_per_char(VERSE[0]) < judge.bits_per_char(line)


def test_char_ngram_counts_the_end_of_line(judge: CharNgram) -> None:
    line = "The night is dark"
    assert len(judge.log2_probs(line)) == len(line) + 1
    assert judge.bits_per_char(line) == pytest.approx(-judge.log2_probs(line).mean())
    # in training every line ends after a punctuation mark, never after "dark"
    assert judge.log2_probs("and the stars are bright,")[-1] > judge.log2_probs(line)[-1]


@pytest.mark.parametrize("context", ["the", "the moo", "xyzzy q", "And the wind is calling"])
def test_char_ngram_probabilities_sum_to_one(judge: CharNgram, context: str) -> None:
    # every next symbol: each training character, the end of line, and an unseen character
    chars = [chr(c) for c in judge._chars]
    total = sum(2 ** judge.log2_probs(context + ch + "x")[len(context)] for ch in chars)
    total += 2 ** judge.log2_probs(context)[-1]  # end of line
    total += 2 ** judge.log2_probs(context + "\u00e9x")[len(context)]  # unseen: é
    assert total == pytest.approx(1.0, abs=1e-9)


def test_char_ngram_unseen_characters_are_finite(judge: CharNgram) -> None:
    assert math.isfinite(judge.bits_per_char("日本語 ✓"))
    assert math.isfinite(judge.bits_per_char(""))
    with pytest.raises(ValueError):
        CharNgram([])


# ---------------------------------------------------------------------------- statistics


def test_bootstrap_ci_contains_the_mean_and_narrows() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(3.0, 1.0, 20)
    large = rng.normal(3.0, 1.0, 2000)
    m_s, lo_s, hi_s = bootstrap_ci(small)
    m_l, lo_l, hi_l = bootstrap_ci(large)
    assert m_s == pytest.approx(small.mean()) and lo_s < m_s < hi_s
    assert lo_l < m_l < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 4  # width ~ 1/sqrt(n): 10x narrower expected
    assert bootstrap_ci(small, seed=5) == bootstrap_ci(small, seed=5)


def test_bootstrap_ci_width_matches_the_standard_error() -> None:
    # 50 zeros and 50 ones: mean 0.5, standard error 0.5 / sqrt(100) = 0.05,
    # so the 95% interval is about 0.5 +- 1.96 * 0.05 = [0.402, 0.598]
    mean, lo, hi = bootstrap_ci([0, 1] * 50, n_boot=2000)
    assert mean == 0.5
    assert lo == pytest.approx(0.402, abs=0.02) and hi == pytest.approx(0.598, abs=0.02)
    # a 50% interval is much narrower: 0.5 +- 0.674 * 0.05
    _, lo50, hi50 = bootstrap_ci([0, 1] * 50, n_boot=2000, alpha=0.5)
    assert hi50 - lo50 == pytest.approx(2 * 0.674 * 0.05, abs=0.02)


def test_bootstrap_ci_booleans_empty_and_constant() -> None:
    mean, lo, hi = bootstrap_ci([True, False, True, True])
    assert mean == 0.75 and 0.0 <= lo <= mean <= hi <= 1.0
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    assert all(math.isnan(x) for x in bootstrap_ci([math.nan]))
    assert bootstrap_ci([2.0, math.nan, 2.0]) == (2.0, 2.0, 2.0)


def test_percentile() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(range(1, 101), 95) == pytest.approx(95.05)  # 1 + 0.95 * 99
    assert math.isnan(percentile([], 50))
