"""The Markov baseline: a `markovify` word chain over each line read backwards.

Each training line is split into words in reverse order, so a "sentence" of the chain starts
with the line's rhyme word. To write a line ending in W the walk starts from a state holding a
stored spelling of W ("night", "Night,", "night."), and the words come out backwards.

The chain is kept and stored uncompiled (a dict of counts per state). markovify's compiled form
loads about as fast, but its ~750k lists stay tracked by Python's cyclic GC and make every
later full collection in the process ~0.5 s slower; count dicts of strings and ints are not
tracked at all.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import json
import math
import random
from collections.abc import Iterator, Sequence
from functools import cached_property
from itertools import accumulate, islice
from pathlib import Path

import markovify
from markovify.chain import BEGIN, END

from rhymer.atomic import atomic_write_text
from rhymer.engine import Line
from rhymer.errors import RhymerError
from rhymer.text import last_word, normalize_line, words

MODEL_FILE = "markov.json"
_FORMAT = "rhymer-markov"
_VERSION = 1
_MAX_WORDS = 40  # a walk longer than this is a runaway loop, not a verse line
_MIN_WORDS = 2  # a lone rhyme word is no line

State = tuple[str, ...]


class ReversedLineText(markovify.NewlineText):
    """One corpus line per sentence, its words in reverse order."""

    def word_split(self, sentence: str) -> list[str]:
        """Whitespace-separated words, last word first."""
        return sentence.split()[::-1]

    def word_join(self, words: list[str]) -> str:
        """Words given last-first, joined back into a forward line."""
        return " ".join(reversed(words))


@contextlib.contextmanager
def _seeded(seed: str) -> Iterator[None]:
    """Seed Python's global `random` (which markovify's Chain.move uses) and restore it after."""
    saved = random.getstate()
    random.seed(seed)  # a str seed is hashed with SHA-512: the same in every process
    try:
        yield
    finally:
        random.setstate(saved)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: building millions of JSON containers otherwise triggers it often."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chain_from_json(s: str) -> markovify.Chain:
    """The chain inside `MarkovEngine.to_json` output; ValueError etc. if it is not one."""
    obj = json.loads(s)
    if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
        raise ValueError("not a rhymer Markov model")
    if obj.get("version") != _VERSION:
        raise ValueError(f"unsupported version {obj.get('version')!r}")
    chain = markovify.Chain.from_json(obj["chain"])
    if chain.state_size != obj["state_size"] or chain.compiled:
        raise ValueError("the chain does not match its metadata")
    return chain


def _request_key(word: str) -> str | None:
    """The word a line must end in, as `last_word` reads it; None unless `word` is one word."""
    if not isinstance(word, str) or len(words(word)) != 1:
        return None
    return last_word(word)


class MarkovEngine:
    """Markov-chain baseline engine (`name = "markov"`) over backwards lines."""

    name = "markov"

    def __init__(self, text: ReversedLineText) -> None:
        self._text = text
        self._chain: markovify.Chain = text.chain
        self.state_size: int = self._chain.state_size

    # ---------------------------------------------------------------- training and storage

    @classmethod
    def train(cls, lines: list[str], state_size: int = 2) -> MarkovEngine:
        """Build the chain from verse lines (one line per chain sentence)."""
        if state_size < 1:
            raise RhymerError(f"The Markov state size must be at least 1, not {state_size}.")
        clean = [ln.strip() for ln in lines if ln and ln.strip()]
        if not clean:
            raise RhymerError("The Markov baseline needs at least one non-empty training line.")
        text = ReversedLineText(
            "\n".join(clean), state_size=state_size, retain_original=False, well_formed=False
        )
        return cls(text)

    def to_json(self) -> str:
        """The model as JSON: a little metadata around markovify's own `Chain.to_json`."""
        head = json.dumps({"format": _FORMAT, "version": _VERSION, "state_size": self.state_size})
        # Splice the chain in as raw JSON instead of a string inside a string: no escaping.
        return f'{head[:-1]}, "chain": {self._chain.to_json()}}}'

    @classmethod
    def from_json(cls, s: str) -> MarkovEngine:
        """Rebuild an engine from `to_json` output; RhymerError if it is not such a model."""
        try:
            # The parsed JSON tree must be freed before the GC is back on, or the collection
            # that re-enabling triggers has to walk all of it (~0.2 s).
            with _gc_paused():
                chain = _chain_from_json(s)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise RhymerError(f"The Markov model data is invalid ({exc}).") from None
        return cls(ReversedLineText(None, state_size=chain.state_size, chain=chain))

    def save(self, model_dir: Path) -> Path:
        """Write `model_dir / "markov.json"` atomically (temp file, fsync, rename); its path."""
        target = Path(model_dir) / MODEL_FILE
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, self.to_json())
        except OSError as exc:
            raise RhymerError(f"Cannot write the Markov model {target} ({exc}).") from None
        return target

    @classmethod
    def load(cls, model_dir: Path) -> MarkovEngine:
        """Read `model_dir / "markov.json"`; RhymerError if it is missing or damaged."""
        path = Path(model_dir) / MODEL_FILE
        try:
            data = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RhymerError(
                f"No Markov model at {path}; train one first with `rhymer train`."
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RhymerError(f"Cannot read the Markov model {path} ({exc}).") from None
        try:
            return cls.from_json(data)
        except RhymerError:
            raise RhymerError(
                f"The Markov model {path} is truncated or invalid; train it again."
            ) from None

    # ---------------------------------------------------------------- generation

    @cached_property
    def _line_ends(self) -> dict[str, tuple[list[State], list[int]]]:
        """End word -> (start states of lines that ended in it, cumulative line counts)."""
        pad = (BEGIN,) * (self.state_size - 1)
        found: dict[str, tuple[list[State], list[int]]] = {}
        for token, count in self._chain.model[(BEGIN,) * self.state_size].items():
            key = last_word(token)
            if key is not None:
                states, weights = found.setdefault(key, ([], []))
                states.append(pad + (token,))
                weights.append(count)
        return {k: (s, list(accumulate(w))) for k, (s, w) in found.items()}

    @cached_property
    def _inner_states(self) -> dict[str, tuple[list[State], list[int]]]:
        """Word -> (states that start with it mid-line, cumulative counts); built on first use."""
        found: dict[str, tuple[list[State], list[int]]] = {}
        keys: dict[str, str | None] = {}
        for state, follows in self._chain.model.items():
            token = state[0]
            if token == BEGIN:
                continue
            if token not in keys:
                keys[token] = last_word(token)
            key = keys[token]
            if key is not None:
                states, weights = found.setdefault(key, ([], []))
                states.append(state)
                weights.append(sum(follows.values()))
        return {k: (s, list(accumulate(w))) for k, (s, w) in found.items()}

    def _transition_logp(self, state: State, follow: str) -> float:
        follows = self._chain.model[state]
        return math.log(follows[follow] / sum(follows.values()))

    def _walk(self, start: State) -> tuple[list[str], float] | None:
        """One backwards line from `start` (last word first) and its mean log-prob per step."""
        prefix = [w for w in start if w != BEGIN]
        body = list(islice(self._chain.gen(start), _MAX_WORDS + 1))
        if len(body) > _MAX_WORDS:
            return None
        state, total = start, 0.0
        for follow in [*body, END]:
            total += self._transition_logp(state, follow)
            state = (*state[1:], follow)
        return prefix + body, total / (len(body) + 1)

    def _lines_for(self, key: str, k: int, seed: int) -> list[Line]:
        """Lines from real line ends of `key`; failing that, from its mid-line states."""
        for table in ("_line_ends", "_inner_states"):
            starts = getattr(self, table).get(key)
            found = self._sample(starts, k, f"{seed}\x00{key}") if starts else []
            if found:
                return found
        return []

    def _sample(self, starts: tuple[list[State], list[int]], k: int, seed: str) -> list[Line]:
        """Up to `k` distinct lines walked from start states drawn by their weights."""
        states, cum = starts
        out: dict[str, Line] = {}
        with _seeded(seed):
            for _ in range(3 * k + 10):
                if len(out) >= k:
                    break
                start = states[bisect.bisect(cum, random.random() * cum[-1])]
                try:
                    walked = self._walk(start)
                except (KeyError, ValueError, IndexError):  # only a hand-edited model does this
                    continue
                if walked is None or len(walked[0]) < _MIN_WORDS:
                    continue
                text = self._text.word_join(walked[0])
                out.setdefault(normalize_line(text), Line(text=text, score=walked[1]))
        return list(out.values())

    def lines_ending_in(
        self, words: Sequence[str], k: int, *, temperature: float = 0.8, seed: int = 0
    ) -> list[list[Line]]:
        """Up to `k` distinct lines per word whose `last_word` is that word (case-insensitive).

        The walk starts from the lines that really ended in the word, weighted by how often
        each spelling did; only if none did, from any place the word was followed by a word
        (so the line still ends in it), else the word gets no lines. `temperature` is ignored:
        markovify samples from the raw counts. `Line.score` is the mean natural-log
        probability per chain step after the start state (each added word and the line end);
        the end word itself is given, not scored. The same seed gives the same lines, and
        Python's global `random` is left as it was (not thread-safe while running).
        """
        del temperature
        result: list[list[Line]] = []
        for word in words:
            key = _request_key(word)
            result.append(self._lines_for(key, k, seed) if key and k > 0 else [])
        return result


def load(model_dir: Path) -> MarkovEngine:
    """Shorthand for `MarkovEngine.load`."""
    return MarkovEngine.load(model_dir)


def train_markov(corpus: Path, out_dir: Path, state_size: int = 2) -> MarkovEngine:
    """Train the chain on the corpus's training split and save it into a model folder.

    A folder with no LSTM yet also gets the corpus lexicon and a small config.json, so the
    couplet maker and `rhymer compare` can use the chain on its own.
    """
    import hashlib

    from rhymer.atomic import atomic_write_json
    from rhymer.corpus import heldout_split, read_corpus
    from rhymer.lexicon import FILENAME, Lexicon

    lines = read_corpus(corpus)
    engine = MarkovEngine.train(heldout_split(lines)[0], state_size=state_size)
    out_dir = Path(out_dir)
    engine.save(out_dir)
    if not (out_dir / FILENAME).is_file():
        Lexicon.from_lines(lines).save(out_dir)
    if not (out_dir / "config.json").is_file():
        atomic_write_json(
            out_dir / "config.json",
            {
                "corpus": Path(corpus).name,
                "corpus_path": str(corpus),
                "corpus_sha256": hashlib.sha256(Path(corpus).read_bytes()).hexdigest(),
            },
        )
    return engine
