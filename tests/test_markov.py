"""The markovify baseline: lines end in the asked word, reproducibly, and survive a round trip."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhymer.errors import RhymerError
from rhymer.markov import MODEL_FILE, MarkovEngine, load
from rhymer.text import last_word, normalize_line

CORPUS = [
    "The stars are shining in the night,",
    "I walk alone beneath the light.",
    "She sang a song of love tonight",
    "We fell asleep when day was bright,",
    "And in the morning I took flight.",
    "My heart is heavy in the Night.",
    "The night was long and cold and grey,",
    "The moon was shining on the bay.",
    "I sang a song of love and light,",
    "She walked alone into the night",
    "The wind was cold beneath the sky",
    "We sang a song and said goodbye.",
    "And in the morning, in the night",
    "The stars were cold and burning bright.",
    "I walk alone and sing of night!",
]


@pytest.fixture(scope="module")
def engine() -> MarkovEngine:
    return MarkovEngine.train(CORPUS)


def test_every_line_ends_in_the_asked_word(engine: MarkovEngine) -> None:
    asked = ["night", "light", "bay", "goodbye"]
    result = engine.lines_ending_in(asked, 5, seed=1)
    assert len(result) == len(asked)
    for word, lines in zip(asked, result, strict=True):
        assert lines, word
        for line in lines:
            assert last_word(line.text) == word
            assert math.isfinite(line.score) and line.score <= 0.0


def test_matching_is_case_insensitive_and_uses_punctuated_spellings(engine: MarkovEngine) -> None:
    lines = engine.lines_ending_in(["NIGHT"], 20, seed=0)[0]
    assert lines and all(last_word(x.text) == "night" for x in lines)
    # the corpus has "night," "Night." "night" and "night!" as line ends: more than one is used
    assert len({x.text.split()[-1] for x in lines}) > 1


def test_lines_are_distinct_and_at_most_k(engine: MarkovEngine) -> None:
    lines = engine.lines_ending_in(["night"], 3, seed=0)[0]
    assert len(lines) == 3
    assert len({normalize_line(x.text) for x in lines}) == 3
    assert engine.lines_ending_in(["night"], 0) == [[]]


def test_word_that_never_ended_a_line_falls_back(engine: MarkovEngine) -> None:
    # "alone" is only ever followed by "beneath", "into" or "and": the line is cut after it
    lines = engine.lines_ending_in(["alone"], 5, seed=0)[0]
    assert lines
    assert {x.text for x in lines} <= {"I walk alone", "She walked alone"}


def test_absent_and_odd_words_get_no_lines(engine: MarkovEngine) -> None:
    asked = ["zebra", "", "the night", "night light", "!!", "日本"]
    assert engine.lines_ending_in(asked, 4) == [[]] * len(asked)


def test_a_lone_word_is_not_a_line() -> None:
    eng = MarkovEngine.train(["Tonight!", "Tonight", "I sing tonight"])
    assert [x.text for x in eng.lines_ending_in(["tonight"], 5)[0]] == ["I sing tonight"]


def test_same_seed_same_lines_different_seeds_differ(engine: MarkovEngine) -> None:
    first = engine.lines_ending_in(["night", "light"], 4, seed=7)
    assert engine.lines_ending_in(["night", "light"], 4, seed=7) == first
    others = [engine.lines_ending_in(["night", "light"], 4, seed=s) for s in range(8)]
    assert any(o != first for o in others)


def test_a_word_gets_the_same_lines_wherever_it_is_asked(engine: MarkovEngine) -> None:
    alone = engine.lines_ending_in(["light"], 4, seed=3)[0]
    assert engine.lines_ending_in(["night", "light"], 4, seed=3)[1] == alone


def test_global_random_state_is_left_alone(engine: MarkovEngine) -> None:
    random.seed(123)
    expected = [random.random() for _ in range(3)]
    random.seed(123)
    engine.lines_ending_in(["night", "alone"], 4, seed=5)
    assert [random.random() for _ in range(3)] == expected


def test_json_round_trip_gives_the_same_lines(engine: MarkovEngine) -> None:
    again = MarkovEngine.from_json(engine.to_json())
    asked = ["night", "alone", "bright"]
    assert again.lines_ending_in(asked, 6, seed=2) == engine.lines_ending_in(asked, 6, seed=2)
    assert json.loads(engine.to_json())["state_size"] == 2


def test_save_and_load(engine: MarkovEngine, tmp_path) -> None:
    path = engine.save(tmp_path / "model")
    assert path == tmp_path / "model" / MODEL_FILE
    assert [p.name for p in path.parent.iterdir()] == [MODEL_FILE]  # no temp file left
    loaded = load(tmp_path / "model")
    assert loaded.lines_ending_in(["night"], 5, seed=9) == engine.lines_ending_in(
        ["night"], 5, seed=9
    )


@pytest.mark.parametrize(
    "content",
    [None, "", "{not json", '{"format": "something else"}', "[1, 2, 3]", "TRUNCATE"],
)
def test_broken_model_file_raises_rhymer_error(engine: MarkovEngine, tmp_path, content) -> None:
    if content == "TRUNCATE":
        content = engine.to_json()[: len(engine.to_json()) // 2]
    if content is not None:
        (tmp_path / MODEL_FILE).write_text(content)
    with pytest.raises(RhymerError):
        MarkovEngine.load(tmp_path)


def test_save_to_an_unusable_place_raises_rhymer_error(engine: MarkovEngine, tmp_path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(RhymerError):
        engine.save(tmp_path / "file")


def test_binary_model_file_raises_rhymer_error(tmp_path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(RhymerError):
        MarkovEngine.load(tmp_path)


@pytest.mark.parametrize("state_size", [1, 3])
def test_other_state_sizes(state_size: int) -> None:
    eng = MarkovEngine.train(CORPUS, state_size=state_size)
    for word in ("night", "alone"):
        lines = eng.lines_ending_in([word], 4, seed=0)[0]
        assert lines and all(last_word(x.text) == word for x in lines)


def test_training_needs_lines() -> None:
    with pytest.raises(RhymerError):
        MarkovEngine.train(["", "   "])
    with pytest.raises(RhymerError):
        MarkovEngine.train(CORPUS, state_size=0)


_TOKENS = sorted({t for line in CORPUS for t in line.split()})
_WORDS = st.one_of(
    st.text(),
    st.sampled_from(_TOKENS),
    st.builds(
        lambda t, pre, post: pre + t.upper() + post,
        st.sampled_from(_TOKENS),
        st.text(max_size=2),
        st.text(max_size=2),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, max_size=4), st.integers(0, 5), st.integers())
def test_never_raises_on_any_word(engine_words, k, seed) -> None:
    eng = _shared_engine()
    result = eng.lines_ending_in(engine_words, k, seed=seed)
    assert len(result) == len(engine_words)
    for word, lines in zip(engine_words, result, strict=True):
        assert len(lines) <= k
        for line in lines:
            assert last_word(line.text) == last_word(word)


_ENGINE: list[MarkovEngine] = []


def _shared_engine() -> MarkovEngine:
    # hypothesis does not mix with function-scoped fixtures; build the engine once here
    if not _ENGINE:
        _ENGINE.append(MarkovEngine.train(CORPUS + ["Sing 42 to the café", "O night, night"]))
    return _ENGINE[0]
