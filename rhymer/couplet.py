"""Couplets from any engine: pick a rhyme pair from the corpus, get candidates, rerank.

Data flows one way: the engine writes candidate lines for both end words (in one call, so the
LSTM samples them in one batch); this module only chooses words and picks the best pair.
"""

from __future__ import annotations

import functools
import random
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import accumulate

from rhymer.engine import Engine, Line
from rhymer.errors import RhymerError
from rhymer.lexicon import Lexicon
from rhymer.rhymes import RhymeIndex, line_syllables, rhyme_level
from rhymer.text import last_word

MAX_TEMPERATURE = 5.0
TOP_PARTNERS = 8  # choose among the most frequent partners, weighted by frequency
BALANCE_WEIGHT = 1.0  # nats/char traded for a fully unbalanced syllable count
PARTNER_CACHE = 4096  # seed words whose partner lists a maker keeps


@dataclass
class Couplet:
    """Two lines and what they were made from."""

    lines: tuple[str, str]
    words: tuple[str, str]
    level: str  # rhyme level of the two end words: perfect, multi or slant
    score: float
    engine: str

    def to_dict(self) -> dict:
        return asdict(self)


def check_word(word: str, lexicon: Lexicon, what: str = "seed word") -> str:
    """The word, lower-cased, if it is one plain word written in the corpus's characters."""
    w = word.strip().lower()
    if not w:
        raise RhymerError(f"The {what} is empty; give one word, e.g. --seed night.")
    if not w.isascii():
        raise RhymerError(f"The {what} {word!r} has non-ASCII letters; use plain English letters.")
    if not all(ch.isalpha() or ch in "'-" for ch in w) or not any(ch.isalpha() for ch in w):
        raise RhymerError(f"The {what} {word!r} must be a single word of letters.")
    unseen = sorted({ch for ch in w if ch not in lexicon.chars and ch.upper() not in lexicon.chars})
    if unseen:
        raise RhymerError(
            f"The {what} {word!r} has characters the model never saw: {''.join(unseen)!r}."
        )
    return w


def pair_score(a: Line, b: Line, count: Callable[[str], int] = line_syllables) -> float:
    """Model fluency of both lines, less a penalty for unequal syllable counts."""
    sa, sb = count(a.text), count(b.text)
    imbalance = abs(sa - sb) / max(1, sa, sb)
    return a.score + b.score - BALANCE_WEIGHT * imbalance


class CoupletMaker:
    """Makes couplets with one engine, one corpus lexicon and one rhyme index."""

    def __init__(self, engine: Engine, lexicon: Lexicon, index: RhymeIndex | None = None) -> None:
        self.engine = engine
        self.lexicon = lexicon
        self.index = index or lexicon.rhyme_index()
        self._rhymable: list[str] | None = None
        self._cum_weights: list[float] = []
        self._partners: dict[str, tuple[tuple[str, str], ...]] = {}

    def partners(self, seed: str) -> list[tuple[str, str]]:
        """(word, level) rhyme partners that end corpus lines, best first.

        Strict CMUdict rhymes come first, then other perfect, multi-syllable and slant rhymes;
        within a level, words that end more corpus lines come first. Cached per seed: a
        couplet asks twice (choosing a random seed, then its partner), the TUI many times.
        """
        cached = self._partners.get(seed)
        if cached is not None:
            return list(cached)
        found = self.index.partners(seed)
        ends = self.lexicon.end_counts
        out: list[tuple[str, str]] = []
        for level in ("perfect", "multi", "slant"):
            words = sorted((w for w in found.get(level, []) if ends.get(w)), key=lambda w: -ends[w])
            if level == "perfect":
                words.sort(key=lambda w: not self.index.is_rhyme(seed, w))
            out.extend((w, level) for w in words)
        if len(self._partners) >= PARTNER_CACHE:
            self._partners.clear()
        self._partners[seed] = tuple(out)
        return out

    def random_seed(self, rng: random.Random) -> str:
        """A frequent corpus line-end word that has a strict rhyme among line-end words."""
        if self._rhymable is None:
            ends = self.lexicon.end_counts
            self._rhymable = sorted(ends, key=lambda w: -ends[w])[:3000]
            self._cum_weights = list(accumulate(ends[w] ** 0.5 for w in self._rhymable))
        for _ in range(200):
            word = rng.choices(self._rhymable, cum_weights=self._cum_weights)[0]
            if any(self.index.is_rhyme(word, p) for p, _ in self.partners(word)[:3]):
                return word
        raise RhymerError("The corpus has too few line-end words that rhyme to pick a seed.")

    def _pick_partner(
        self, seed: str, rng: random.Random, exclude: set[str]
    ) -> list[tuple[str, str]]:
        options = [p for p in self.partners(seed) if p[0] not in exclude]
        if not options:
            return []
        best_level = options[0][1]
        top = [p for p in options if p[1] == best_level][:TOP_PARTNERS]
        weights = [self.lexicon.end_counts.get(w, 1) ** 0.5 for w, _ in top]
        first = rng.choices(top, weights=weights)[0]
        return [first] + [p for p in options if p != first]

    def make(
        self,
        seed: str | None = None,
        rhyme: str | None = None,
        *,
        k: int = 16,
        temperature: float = 0.8,
        rng_seed: int = 0,
        exclude: set[str] | None = None,
    ) -> Couplet:
        """One couplet whose first line ends in `seed` and second in a rhyme of it."""
        if not 0 < temperature <= MAX_TEMPERATURE:
            raise RhymerError(f"Temperature must be above 0 and at most {MAX_TEMPERATURE}.")
        if k < 1:
            raise RhymerError("The number of candidates must be at least 1.")
        rng = random.Random(rng_seed)
        seed = check_word(seed, self.lexicon) if seed is not None else self.random_seed(rng)
        if rhyme is not None:
            rhyme = check_word(rhyme, self.lexicon, "rhyme word")
            if rhyme == seed:
                raise RhymerError("The rhyme word must differ from the seed word.")
            queue = [(rhyme, rhyme_level(seed, rhyme) or "none")]
        else:
            queue = self._pick_partner(seed, rng, exclude or set())
            if not queue:
                close = ", ".join(self.index.close_words(seed)) or "none"
                raise RhymerError(
                    f"No word in the corpus rhymes with {seed!r}; close corpus words: {close}."
                )
        for attempt, (partner, level) in enumerate(queue[:4]):
            draw = zlib.crc32(f"{rng_seed}:{seed}:{partner}:{attempt}".encode())
            first, second = self.engine.lines_ending_in(
                [seed, partner], k, temperature=temperature, seed=draw
            )
            best = self._best_pair(first, second, seed, partner)
            if best is not None:
                a, b, score = best
                return Couplet((a.text, b.text), (seed, partner), level, score, self.engine.name)
        raise RhymerError(
            f"The {self.engine.name} engine could not write a line ending in {seed!r}."
        )

    def _best_pair(
        self, first: list[Line], second: list[Line], w1: str, w2: str
    ) -> tuple[Line, Line, float] | None:
        ok1 = [ln for ln in first if last_word(ln.text) == w1 and not self.lexicon.is_copy(ln.text)]
        ok2 = [
            ln for ln in second if last_word(ln.text) == w2 and not self.lexicon.is_copy(ln.text)
        ]
        count = functools.cache(self.index.line_syllables)  # K lines, K * K pairs
        pairs = [(a, b, pair_score(a, b, count)) for a in ok1 for b in ok2]
        return max(pairs, key=lambda p: p[2]) if pairs else None
