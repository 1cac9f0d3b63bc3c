"""Shared fixtures: a tiny corpus and a tiny model trained on it in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpora" / "pd_rhyming_couplets.txt"


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 lines (1,500 couplets) of the default corpus."""
    lines = DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()[:3000]
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1x96 LSTM trained for two epochs on the small corpus (a few seconds on a CPU)."""
    from rhymer.train import Trainer, TrainSettings

    out = tmp_path_factory.mktemp("models") / "tiny"
    settings = TrainSettings(
        n_layers=1,
        n_hidden=96,
        n_embd=32,
        seq_len=64,
        batch_size=32,
        epochs=2,
        dropout=0.0,
        lr=5e-3,
    )
    Trainer(small_corpus, out, settings, command="pytest").run()
    return out


@pytest.fixture(scope="session")
def tiny_model_both(tiny_model: Path, small_corpus: Path, tmp_path_factory) -> Path:
    """The tiny LSTM plus a Markov chain trained on the same corpus, in one folder."""
    import shutil

    from rhymer.markov import train_markov

    out = tmp_path_factory.mktemp("models") / "both"
    shutil.copytree(tiny_model, out)
    train_markov(small_corpus, out)
    return out
