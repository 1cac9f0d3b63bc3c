from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rhymer.lstm_engine import LSTMEngine
from rhymer.text import last_word


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> LSTMEngine:
    return LSTMEngine.load(tiny_model)


def test_every_line_ends_in_its_word_and_stays_whole(engine: LSTMEngine) -> None:
    words = ["giant", "night", "sea", "I"]
    results = engine.lines_ending_in(words, 12, seed=3)
    for word, lines in zip(words, results, strict=True):
        assert lines, word
        for line in lines:
            assert last_word(line.text) == word.lower(), line.text
            assert "\n" not in line.text and len(line.text) <= engine.max_len + len(word) + 2
    # With the boundary guard the word is never glued onto more letters ("flagiant").
    assert all(line.text.lower().split()[-1].strip(",.;:!?") == "giant" for line in results[0])


def test_lines_are_distinct_and_sorted_by_score(engine: LSTMEngine) -> None:
    lines = engine.lines_ending_in(["light"], 24, seed=1)[0]
    texts = [ln.text for ln in lines]
    assert len(set(texts)) == len(texts)
    scores = [ln.score for ln in lines]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)


def test_same_seed_same_lines(engine: LSTMEngine) -> None:
    a = engine.lines_ending_in(["day", "way"], 8, seed=7)
    b = engine.lines_ending_in(["day", "way"], 8, seed=7)
    c = engine.lines_ending_in(["day", "way"], 8, seed=8)
    assert a == b and a != c


def test_odd_words_never_raise(engine: LSTMEngine) -> None:
    assert engine.lines_ending_in(["", "   ", "\u00e9t\u00e9", "x\ny"], 4) == [[], [], [], []]
    assert not engine.can_spell("\u00e9t\u00e9") and engine.can_spell("Night")


def test_temperature_changes_lines(engine: LSTMEngine) -> None:
    cold = engine.lines_ending_in(["love"], 16, temperature=0.2, seed=2)[0]
    hot = engine.lines_ending_in(["love"], 16, temperature=1.5, seed=2)[0]
    assert len(cold) < len(hot)  # a cold model repeats itself, so fewer distinct lines


def test_lines_cut_by_the_length_cap_are_dropped(tiny_model: Path) -> None:
    engine = LSTMEngine.load(tiny_model)
    engine.max_len = 3  # no real line ends within 3 characters after the word
    assert engine.lines_ending_in(["night"], 16, seed=0) == [[]]


def test_int8_engine_writes_the_same_kind_of_lines(tiny_model: Path) -> None:
    fast = LSTMEngine.load(tiny_model, int8=True)
    assert fast.int8
    lines = fast.lines_ending_in(["night", "sea"], 12, seed=3)
    for word, found in zip(["night", "sea"], lines, strict=True):
        assert found and all(last_word(ln.text) == word for ln in found)


def test_making_a_couplet_never_imports_torch(tiny_model: Path) -> None:
    # Importing torch costs about 2 s: the one-shot `rhymer couplet` must not pay it.
    code = (
        "import sys\n"
        "from rhymer.cli import main\n"
        "try:\n"
        f"    main(['couplet', '--model', {str(tiny_model)!r}, '--seed', 'night'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 3 and lines[-1] == "False", done.stdout
