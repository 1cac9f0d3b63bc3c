"""The LSTM engine: lines that end in a word, written backwards by the reversed CharLSTM.

The model is primed with a line break, optional end punctuation and the word spelled backwards,
each (casing, punctuation) variant weighted by how likely the model finds it, so a line ends
the way lines in the corpus end. The first character after the word may not be a letter,
digit, apostrophe or hyphen: without that guard the model happily goes on spelling backwards
and "giant" comes out as "flagiant".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from rhymer.config import ModelConfig, Vocab
from rhymer.engine import Line
from rhymer.sampler import Sampler
from rhymer.store import read_weights
from rhymer.text import last_word, normalize_line

END_PUNCTUATION = ",.;:!?"


class LSTMEngine:
    """Engine over a trained reversed CharLSTM."""

    name = "lstm"
    # Sampling threads. Step-by-step sampling is small matmuls; a second BLAS or OpenMP thread
    # only pays off on an idle machine, and next to any other busy process (a training run)
    # its spin-waits made a step 20x slower (30 ms instead of 1.5 ms).
    threads = 1

    def __init__(
        self,
        cfg: ModelConfig,
        config: dict,
        weights: dict[str, np.ndarray],
        *,
        int8: bool = False,
    ) -> None:
        self.config = config
        self.vocab = Vocab(cfg.chars)
        self.sampler = Sampler(weights, cfg, int8=int8)
        self.max_len = int(config.get("max_line_chars", 120))
        self.newline = self.vocab.stoi["\n"]
        self.word_chars = np.zeros(len(self.vocab), dtype=bool)
        for ch, i in self.vocab.stoi.items():
            if ch.isalnum() or ch in "'-\n":
                self.word_chars[i] = True
        self._blas = ThreadpoolController()

    @classmethod
    def load(cls, model_dir: Path, *, int8: bool = False) -> LSTMEngine:
        """The engine of a model folder; `int8` runs the steps on onnxruntime's int8 LSTM."""
        cfg, config, weights = read_weights(model_dir)
        return cls(cfg, config, weights, int8=int8)

    @property
    def int8(self) -> bool:
        """Whether sampling really runs on int8 kernels (False without onnxruntime)."""
        return self.sampler.int8

    @property
    def heldout_bpc(self) -> float | None:
        return self.config.get("heldout_bpc")

    def can_spell(self, word: str) -> bool:
        """True if the model knows every character of the word (in some casing)."""
        return any(all(ch in self.vocab for ch in w) for w in self._casings(word))

    @staticmethod
    def _casings(word: str) -> list[str]:
        forms = [word.lower(), word.lower().capitalize(), word.upper()]
        return list(dict.fromkeys(f for f in forms if f))

    def _variants(self, word: str) -> list[list[int]]:
        """Token sequences '\\n' + punctuation + reversed word, for every known spelling."""
        out = []
        for form in self._casings(word):
            if not all(ch in self.vocab for ch in form):
                continue
            for punct in ["", *[p for p in END_PUNCTUATION if p in self.vocab]]:
                out.append([self.newline, *self.vocab.encode(punct + form[::-1])])
        return out

    def lines_ending_in(
        self, words: Sequence[str], k: int, *, temperature: float = 0.8, seed: int = 0
    ) -> list[list[Line]]:
        """Up to k distinct lines per word; all candidates of all words sampled in one batch."""
        with self._blas.limit(limits=self.threads, user_api="blas"):
            return self._lines(words, k, temperature, seed)

    def _lines(
        self, words: Sequence[str], k: int, temperature: float, seed: int
    ) -> list[list[Line]]:
        results: list[list[Line]] = [[] for _ in words]
        variants = [self._variants(w) if w and w.strip() else [] for w in words]
        flat = [v for vs in variants for v in vs]
        if not flat or k <= 0:
            return results
        rng = np.random.default_rng(seed)
        logits, state, prime_lp = self.sampler.prime(flat)
        rows: list[int] = []
        owners: list[int] = []
        start = 0
        for wi, vs in enumerate(variants):
            if vs:
                lp = prime_lp[start : start + len(vs)] / temperature
                weights = np.exp(lp - lp.max())
                picks = rng.choice(len(vs), size=k, p=weights / weights.sum())
                rows.extend((start + picks).tolist())
                owners.extend([wi] * k)
            start += len(vs)
        idx = np.asarray(rows, dtype=np.intp)
        out = self.sampler.continue_lines(
            logits[idx],
            ([h[idx] for h in state[0]], [c[idx] for c in state[1]]),
            newline=self.newline,
            temperature=temperature,
            max_len=self.max_len,
            rng=rng,
            first_banned=self.word_chars,
        )
        seen: list[set[str]] = [set() for _ in words]
        for r, (row, wi) in enumerate(zip(rows, owners, strict=True)):
            if not bool(out.ended[r]):
                continue  # hit the length cap: not a line the model chose to end
            backward = self.vocab.decode(flat[row][1:] + out.tokens[r])
            line = backward[::-1].strip()
            key = normalize_line(line)
            if last_word(line) != words[wi].lower().rstrip("'") or key in seen[wi]:
                continue
            if len(key.split()) < 2:
                continue
            seen[wi].add(key)
            n_chars = len(flat[row]) + len(out.tokens[r])  # predicted chars incl. final break
            score = float(prime_lp[row] + out.logprob[r]) / n_chars
            results[wi].append(Line(line, score))
        for lines in results:
            lines.sort(key=lambda ln: -ln.score)
        return results
