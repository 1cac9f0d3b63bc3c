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

import torch

from rhymer.engine import Line
from rhymer.model import CharLSTM, Vocab
from rhymer.sampler import Sampler
from rhymer.store import load_model
from rhymer.text import last_word, normalize_line

END_PUNCTUATION = ",.;:!?"


class LSTMEngine:
    """Engine over a trained reversed CharLSTM."""

    name = "lstm"
    # Sampling threads. Step-by-step sampling is small matmuls; a second OpenMP thread only
    # pays off on an idle machine, and next to any other busy process (a training run, the
    # TUI) its spin-waits make a couplet several times slower.
    threads = 1

    def __init__(self, model: CharLSTM, config: dict) -> None:
        self.config = config
        self.vocab = Vocab(model.cfg.chars)
        self.sampler = Sampler(model)
        self.max_len = int(config.get("max_line_chars", 120))
        self.newline = self.vocab.stoi["\n"]
        self.word_chars = torch.zeros(len(self.vocab), dtype=torch.bool)
        for ch, i in self.vocab.stoi.items():
            if ch.isalnum() or ch in "'-\n":
                self.word_chars[i] = True

    @classmethod
    def load(cls, model_dir: Path) -> LSTMEngine:
        model, config = load_model(model_dir)
        return cls(model, config)

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
        threads = torch.get_num_threads()
        if threads == self.threads:
            return self._lines(words, k, temperature, seed)
        torch.set_num_threads(self.threads)
        try:
            return self._lines(words, k, temperature, seed)
        finally:
            torch.set_num_threads(threads)

    @torch.inference_mode()
    def _lines(
        self, words: Sequence[str], k: int, temperature: float, seed: int
    ) -> list[list[Line]]:
        results: list[list[Line]] = [[] for _ in words]
        variants = [self._variants(w) if w and w.strip() else [] for w in words]
        flat = [v for vs in variants for v in vs]
        if not flat or k <= 0:
            return results
        gen = torch.Generator().manual_seed(seed)
        logits, state, prime_lp = self.sampler.prime(flat)
        rows, owners = [], []
        start = 0
        for wi, vs in enumerate(variants):
            if vs:
                weights = torch.softmax(prime_lp[start : start + len(vs)] / temperature, dim=0)
                picks = torch.multinomial(weights, k, replacement=True, generator=gen)
                rows.extend((start + picks).tolist())
                owners.extend([wi] * k)
            start += len(vs)
        idx = torch.tensor(rows)
        out = self.sampler.continue_lines(
            logits[idx],
            ([h[idx] for h in state[0]], [c[idx] for c in state[1]]),
            newline=self.newline,
            temperature=temperature,
            max_len=self.max_len,
            generator=gen,
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
