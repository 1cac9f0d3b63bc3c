"""The model in models/default, as a new user gets it: 50 couplets from random seed words."""

from __future__ import annotations

import json
from pathlib import Path

from rhymer.generate import make_couplets
from rhymer.lexicon import Lexicon
from rhymer.rhymes import is_rhyme
from rhymer.store import load_model
from rhymer.text import last_word, normalize_line

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "default"
CORPUS = ROOT / "corpora" / "pd_rhyming_couplets.txt"


def test_shipped_model_is_small_and_documented() -> None:
    model, config = load_model(MODEL)
    size = sum(f.stat().st_size for f in MODEL.iterdir() if f.name.startswith("model"))
    assert size <= 10 * 2**20
    assert config["reversed"] is True
    assert config["train_command"].startswith("rhymer train ")
    assert config["heldout_bpc"] <= 2.15
    assert json.loads((MODEL / "config.json").read_text())["corpus"] == CORPUS.name


def test_fifty_random_couplets_rhyme_end_right_and_are_new() -> None:
    corpus = {normalize_line(ln) for ln in CORPUS.read_text(encoding="utf-8").splitlines()}
    rows = make_couplets(MODEL, ["lstm"], count=50, rng_seed=2026)
    couplets = [row[0] for row in rows]
    assert len({c.words[0] for c in couplets}) > 25  # random seeds, not one word again and again
    rhymed = sum(is_rhyme(last_word(c.lines[0]), last_word(c.lines[1])) for c in couplets)
    assert rhymed / len(couplets) >= 0.98
    for c in couplets:
        assert [last_word(ln) for ln in c.lines] == list(c.words)
        assert all(normalize_line(ln) not in corpus for ln in c.lines)


def test_shipped_markov_chain_answers_too() -> None:
    c = make_couplets(MODEL, ["markov"], seed="night")[0][0]
    assert last_word(c.lines[0]) == "night" and is_rhyme(*c.words)
    assert Lexicon.load(MODEL).end_counts["night"] > 0
