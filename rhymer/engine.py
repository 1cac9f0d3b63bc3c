"""The one interface every engine answers: candidate lines that end in a given word.

The couplet maker, the CLI, the TUI and `rhymer compare` talk to engines only through this, so
they never need to know whether the LSTM or the Markov chain wrote a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rhymer.errors import RhymerError


@dataclass(frozen=True)
class Line:
    """One candidate line, as the engine wrote it (already read forwards)."""

    text: str
    score: float  # engine's own mean log-probability per character (nats); higher is better


class Engine(Protocol):
    """Something that writes lines ending in a word."""

    name: str

    def lines_ending_in(
        self, words: Sequence[str], k: int, *, temperature: float = 0.8, seed: int = 0
    ) -> list[list[Line]]:
        """For each word, up to `k` distinct candidate lines whose last word is that word.

        An engine may return fewer than `k` (even none) for a word it cannot end a line with;
        it never raises for a word it does not know.
        """
        ...


ENGINE_NAMES = ("lstm", "markov")


def load_engine(name: str, model_dir: Path, *, int8: bool = False) -> Engine:
    """Load the named engine from a model folder (implementations are imported on demand).

    `int8` asks the LSTM for onnxruntime's int8 kernels (what `rhymer.generate` uses); the
    Markov chain has no such option and ignores it.
    """
    if name == "lstm":
        from rhymer.lstm_engine import LSTMEngine

        return LSTMEngine.load(model_dir, int8=int8)
    if name == "markov":
        from rhymer.markov import MarkovEngine

        return MarkovEngine.load(model_dir)
    raise RhymerError(f"Unknown engine {name!r}; use one of {', '.join(ENGINE_NAMES)}.")
