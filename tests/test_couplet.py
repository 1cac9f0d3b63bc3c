from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhymer.couplet import Couplet, check_word
from rhymer.errors import RhymerError
from rhymer.generate import make_couplets, maker_for
from rhymer.lexicon import Lexicon
from rhymer.rhymes import is_rhyme
from rhymer.text import last_word


def test_lexicon_counts_and_copy_check(tmp_path: Path) -> None:
    lex = Lexicon.from_lines(["The night is long,", "and so the song", "The Night!"])
    assert lex.counts["night"] == 2 and lex.end_counts == {"long": 1, "song": 1, "night": 1}
    assert lex.is_copy("the night is LONG") and not lex.is_copy("the night is short")
    lex.save(tmp_path)
    again = Lexicon.load(tmp_path)
    assert again.counts == lex.counts and np.array_equal(again.hashes, lex.hashes)
    (tmp_path / "lexicon.json").write_text('{"chars": "ab"')
    with pytest.raises(RhymerError, match="damaged"):
        Lexicon.load(tmp_path)


def test_check_word_rejects_bad_seeds() -> None:
    lex = Lexicon.from_lines(["abc night light"])
    assert check_word(" Night ", lex) == "night"
    for bad, msg in [
        ("", "empty"),
        ("caf\u00e9", "non-ASCII"),
        ("two words", "single word"),
        ("42", "single word"),
        ("zebra", "never saw"),
    ]:
        with pytest.raises(RhymerError, match=msg):
            check_word(bad, lex)


def test_couplet_with_seed_rhymes_and_is_new(tiny_model: Path, small_corpus: Path) -> None:
    corpus = {ln.strip().lower() for ln in small_corpus.read_text().splitlines()}
    for rng_seed in range(3):
        c = make_couplets(tiny_model, ["lstm"], seed="night", rng_seed=rng_seed)[0][0]
        assert isinstance(c, Couplet) and c.words[0] == "night"
        assert is_rhyme(*c.words) and c.level == "perfect"
        assert [last_word(ln) for ln in c.lines] == list(c.words)
        assert all(ln.lower() not in corpus for ln in c.lines)


def test_random_seeds_count_and_determinism(tiny_model: Path) -> None:
    rows = make_couplets(tiny_model, ["lstm"], count=4, rng_seed=5)
    assert len(rows) == 4 and all(len(r) == 1 for r in rows)
    assert all(is_rhyme(*r[0].words) for r in rows)
    assert rows == make_couplets(tiny_model, ["lstm"], count=4, rng_seed=5)
    assert rows != make_couplets(tiny_model, ["lstm"], count=4, rng_seed=6)


def test_explicit_rhyme_word_is_used(tiny_model: Path) -> None:
    c = make_couplets(tiny_model, ["lstm"], seed="day", rhyme="away")[0][0]
    assert c.words == ("day", "away") and last_word(c.lines[1]) == "away"


def test_user_errors_are_one_sentence(tiny_model: Path) -> None:
    maker = maker_for(tiny_model, "lstm")
    with pytest.raises(RhymerError, match="No word in the corpus rhymes with 'hmm'"):
        maker.make("hmm")
    for t in (0, -1, 50):
        with pytest.raises(RhymerError, match="Temperature"):
            maker.make("night", temperature=t)
    with pytest.raises(RhymerError, match="differ"):
        maker.make("night", "night")
