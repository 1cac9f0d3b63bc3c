from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhymer.errors import RhymerError
from rhymer.store import load_model
from rhymer.train import (
    CHECKPOINT,
    CHECKPOINT_META,
    Trainer,
    TrainSettings,
    max_line_chars,
    preset_for,
    reversed_stream,
)

TINY = dict(n_layers=1, n_hidden=32, n_embd=16, seq_len=32, batch_size=16, dropout=0.0, lr=5e-3)


def test_reversed_stream_puts_line_break_first() -> None:
    assert reversed_stream(["ab", "cd"]) == "\ndc\nba"


def test_presets_grow_with_the_corpus() -> None:
    sizes = [preset_for(n)[1]["n_hidden"] for n in (10_000, 2_000_000, 50_000_000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert preset_for(2_300_000)[1]["n_hidden"] == 256


def test_max_line_chars_is_above_the_longest_common_line() -> None:
    lines = ["x" * 40] * 1999 + ["y" * 500]
    assert 40 < max_line_chars(lines) < 100


def test_training_lowers_heldout_loss_and_writes_a_model(
    small_corpus: Path, tmp_path: Path
) -> None:
    reports = []
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY, epochs=2), command="x")
    result = t.run(on_eval=reports.append)
    assert len(reports) == 2
    assert reports[1].heldout_bpc < reports[0].heldout_bpc < 7.0
    assert set(reports[0].samples) == {0.5, 0.8, 1.0}
    model, config = load_model(tmp_path / "m")
    assert config["reversed"] is True and config["train_command"] == "x"
    assert config["heldout_bpc"] == pytest.approx(result["best_bpc"], abs=1e-3)
    assert len(config["corpus_sha256"]) == 64
    assert (tmp_path / "m" / "lexicon.json").is_file()


def test_resume_continues_from_the_checkpoint(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    Trainer(small_corpus, out, TrainSettings(**TINY, epochs=1)).run()
    first = json.loads((out / CHECKPOINT_META).read_text())
    t = Trainer(small_corpus, out, TrainSettings(epochs=1, n_hidden=999), resume=True)
    assert t.settings.n_hidden == 32  # the checkpoint's sizes win over new flags
    assert t.step == first["step"]
    t.run()
    second = json.loads((out / CHECKPOINT_META).read_text())
    assert second["step"] == 2 * first["step"] and second["epoch"] == 2


def test_resume_without_checkpoint_or_with_changed_corpus(
    small_corpus: Path, tmp_path: Path
) -> None:
    with pytest.raises(RhymerError, match="Nothing to resume"):
        Trainer(small_corpus, tmp_path / "none", TrainSettings(**TINY), resume=True)
    out = tmp_path / "m"
    Trainer(small_corpus, out, TrainSettings(**TINY, epochs=1)).run()
    changed = tmp_path / "changed.txt"
    changed.write_text(small_corpus.read_text() + "one more line\n")
    with pytest.raises(RhymerError, match="corpus changed"):
        Trainer(changed, out, TrainSettings(**TINY), resume=True)


def test_interrupt_keeps_checkpoint_and_best_model(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"

    def stop_at_20(info: dict) -> None:
        if info["step"] == 20:
            raise KeyboardInterrupt

    result = Trainer(small_corpus, out, TrainSettings(**TINY, epochs=5)).run(on_step=stop_at_20)
    assert result["interrupted"] and result["steps"] == 20
    assert (out / CHECKPOINT).is_file()
    load_model(out)  # a usable model exists even though no epoch finished


def test_too_small_corpus_is_a_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a short line\nanother one\n")
    with pytest.raises(RhymerError, match="too small for sequence length 32"):
        Trainer(corpus, tmp_path / "m", TrainSettings(**TINY))
