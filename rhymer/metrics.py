"""Scores for generated verse, the same for every engine and for the human baseline.

Rhyme (end rhyme, slant rhyme, rhyme density), metre (syllable balance), copying from the
training corpus, diversity, fluency under an independent character n-gram model, and a
bootstrap confidence interval to report any of them with. All pure functions except the two
small models (`CorpusIndex`, `CharNgram`), which are built once from the training lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from rhymer.rhymes import is_rhyme, line_syllables, phones, rhyme_level, vowels
from rhymer.text import last_word, normalize_line, words

Couplet = tuple[str, str]

# ---------------------------------------------------------------------------- rhyme


def _end_words(c: Couplet) -> tuple[str, str] | None:
    a, b = last_word(c[0]), last_word(c[1])
    return (a, b) if a and b else None


def end_rhyme(c: Couplet) -> bool:
    """Whether the two lines end in different words that rhyme perfectly (CMUdict)."""
    ends = _end_words(c)
    return ends is not None and ends[0] != ends[1] and is_rhyme(*ends)


def slant_rhyme(c: Couplet) -> bool:
    """Whether the two end words rhyme at any level: perfect, multi or slant."""
    ends = _end_words(c)
    return ends is not None and rhyme_level(*ends) is not None


# eSpeak, which the original rhyme density used, writes these diphthongs as two vowels.
_DIPHTHONGS = {
    "AY": ("AA", "IY"),
    "AW": ("AA", "UW"),
    "OY": ("AO", "IY"),
    "EY": ("EH", "IY"),
    "OW": ("AO", "UW"),
}
LOOKBACK = 15  # words, as Malmi et al. used for English


@lru_cache(maxsize=1 << 16)
def word_vowels(word: str) -> tuple[str, ...]:
    """The vowel sounds rhyme density compares, for one word.

    First pronunciation from `phones` (CMUdict or its spelling guess), the unstressed schwa
    AH0 dropped (it rhymes with anything, so the original ignored it), stress removed,
    diphthongs split: AY -> AA IY, AW -> AA UW, OY -> AO IY, EY -> EH IY, OW -> AO UW.

    >>> word_vowels("sofa"), word_vowels("the")
    (('AO', 'UW'), ())
    """
    found = phones(word)
    if not found:
        return ()
    kept = " ".join(p for p in found[0].split() if p != "AH0")
    return tuple(v for vowel in vowels(kept) for v in _DIPHTHONGS.get(vowel, (vowel,)))


def rhyme_density(lines: Sequence[str]) -> float:
    """Rhyme density of Malmi et al. (KDD 2016, "DopeLearning"): mean rhyme length per word.

    The lines are read as one run of words and each word turned into vowel sounds
    (`word_vowels`). A word's rhyme length is the longest run of equal vowels read backwards
    from its last vowel and from the last vowel of one of the 15 previous words that have
    vowels, not the same word. Runs cross word and line boundaries, the later run stops
    before it reaches the earlier word's last vowel (as in the original code), and a run of
    one vowel counts as 0. Words without vowels ("the", "a" once schwa is dropped) count
    as 0 in the mean, unlike the original, which skips them; the first word counts too.
    No words: 0.0.
    """
    seq: list[str] = []
    ends: list[int] = []  # for each word with vowels, index of its last vowel in seq
    names: list[str] = []  # ... and its spelling
    n_words = 0
    total = 0
    for line in lines:
        for word in words(line):
            n_words += 1
            vs = word_vowels(word)
            if not vs:
                continue
            seq.extend(vs)
            p2 = len(seq) - 1
            best = 0
            for j in range(max(0, len(ends) - LOOKBACK), len(ends)):
                if names[j] != word:
                    best = max(best, _run(seq, ends[j], p2))
            total += best if best > 1 else 0
            ends.append(p2)
            names.append(word)
    return total / n_words if n_words else 0.0


def _run(seq: list[str], p1: int, p2: int) -> int:
    """Equal vowels backwards from p1 and from p2 (p1 < p2), the later run staying after p1."""
    n = 0
    while p1 - n >= 0 and p2 - n > p1 and seq[p1 - n] == seq[p2 - n]:
        n += 1
    return n


# ---------------------------------------------------------------------------- metre


def syllable_gap(c: Couplet) -> int:
    """Absolute difference of the two lines' syllable counts."""
    return abs(line_syllables(c[0]) - line_syllables(c[1]))


def balanced(c: Couplet, ratio: float = 0.85) -> bool:
    """Whether the shorter line has at least `ratio` of the longer line's syllables.

    Two lines without syllables are not balanced (there is nothing to weigh).
    """
    a, b = line_syllables(c[0]), line_syllables(c[1])
    return max(a, b) > 0 and min(a, b) / max(a, b) >= ratio


# ---------------------------------------------------------------------------- copying

_MASK = (1 << 64) - 1
_MULT = 0x9E3779B97F4A7C15  # odd 64-bit multiplier of the rolling hash


def _sorted_unique(arr: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based unique is slower on millions of ints)."""
    arr = np.sort(arr)
    return arr[np.concatenate(([True], arr[1:] != arr[:-1]))] if len(arr) else arr


def _tokens(line: str) -> list[str]:
    return normalize_line(line).split()


class CorpusIndex:
    """What the training corpus contains, for telling copied text from new text.

    Lines are compared after `normalize_line`. Word n-grams (n = 1..max_n, within a line)
    are kept as a sorted numpy array of 64-bit rolling hashes over word ids (collisions are
    ~1e-13 likely per lookup), so a 2 MB corpus costs ~16 MB and builds in about a second.
    """

    def __init__(self, lines: Iterable[str], max_n: int = 12) -> None:
        if max_n < 4:
            raise ValueError("max_n must be at least 4 (novel_4gram_share needs 4-grams)")
        self.max_n = max_n
        norms = [n for n in map(normalize_line, lines) if n]
        self.lines: set[str] = set(norms)
        tokens = " | ".join(norms).split()  # "|" never survives normalize_line: a line break
        self._ids: dict[str, int] = {w: i for i, w in enumerate(dict.fromkeys(tokens), 1)}
        self._ids.pop("|", None)
        ids = np.fromiter((self._ids.get(w, 0) for w in tokens), np.uint64, len(tokens))
        grams = []
        h = np.zeros(len(ids), dtype=np.uint64)
        alive = np.ones(len(ids), dtype=bool)  # the n-gram starting here has no line break
        with np.errstate(over="ignore"):  # uint64 arithmetic wraps: that is the hash
            for n in range(1, max_n + 1):
                shifted = ids[n - 1 :]
                h = h[: len(shifted)] * np.uint64(_MULT) + shifted
                alive = alive[: len(shifted)] & (shifted != 0)
                grams.append(h[alive] ^ np.uint64(n))
        self._grams = _sorted_unique(np.concatenate(grams))

    def _window_hashes(self, tokens: list[str], n: int) -> list[int | None]:
        """Hash of each n-word window of the tokens; None where a word is unknown."""
        ids = [self._ids.get(w, 0) for w in tokens]
        out: list[int | None] = []
        for i in range(len(ids) - n + 1):
            window = ids[i : i + n]
            if 0 in window:
                out.append(None)
                continue
            h = 0
            for x in window:
                h = (h * _MULT + x) & _MASK
            out.append(h ^ n)
        return out

    def _known(self, hashes: list[int | None]) -> list[bool]:
        """Whether each hash is a corpus n-gram (None never is)."""
        out = [False] * len(hashes)
        where = [i for i, h in enumerate(hashes) if h is not None]
        if where and len(self._grams):
            arr = np.array([hashes[i] for i in where], dtype=np.uint64)
            pos = np.minimum(np.searchsorted(self._grams, arr), len(self._grams) - 1)
            for i, hit in zip(where, (self._grams[pos] == arr).tolist(), strict=True):
                out[i] = hit
        return out

    def copied(self, line: str) -> bool:
        """Whether the line, normalized, is a training line verbatim."""
        return normalize_line(line) in self.lines

    def longest_shared_run(self, line: str) -> int:
        """Most consecutive words of the line that also stand consecutively in one corpus line.

        Exact up to `max_n` (12) words; longer shared runs are reported as `max_n`.
        """
        tokens = _tokens(line)
        best = 0
        # a run of n+1 shared words contains shared n-grams, so grow n while any window hits
        for n in range(1, min(self.max_n, len(tokens)) + 1):
            if not any(self._known(self._window_hashes(tokens, n))):
                break
            best = n
        return best

    def novel_4gram_share(self, lines: Iterable[str]) -> float:
        """Share of the lines' word 4-grams (within a line) not in the corpus; nan if none."""
        hashes: list[int | None] = []
        for line in lines:
            hashes.extend(self._window_hashes(_tokens(line), 4))
        if not hashes:
            return math.nan
        return 1.0 - sum(self._known(hashes)) / len(hashes)


# ---------------------------------------------------------------------------- diversity


def distinct_n(lines: Iterable[str], n: int = 2) -> float:
    """Distinct word n-grams over all n-grams of the lines (within lines); nan if none."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for line in lines:
        tokens = _tokens(line)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / total if total else math.nan


# ---------------------------------------------------------------------------- fluency

_BOS, _EOS, _UNK = 0, 1, 2
_SPECIAL = 3
_MAX_SYMBOLS = 6000  # base**5 must fit in int64


class CharNgram:
    """Interpolated Kneser-Ney character n-gram model: the independent fluency judge.

    Each line is padded with order-1 start symbols and ends with an end-of-line symbol.
    The top order uses raw counts, lower orders continuation counts (how many different
    characters precede the n-gram), each order one absolute discount D = n1 / (n1 + 2 n2),
    and the bottom order is interpolated with a uniform distribution, so unseen characters
    get a small, non-zero probability. Counting is done with numpy on sorted n-gram codes
    (`order` characters packed into one int64), so 2 MB of text trains in a few seconds.
    Shares no code with the LSTM.
    """

    def __init__(self, lines: Iterable[str], order: int = 5) -> None:
        if not 1 <= order <= 5:
            raise ValueError("order must be between 1 and 5")
        self.order = order
        pad = "\x00" * (order - 1)
        text = "".join(pad + _clean(line) + "\n" for line in lines)
        if not text:
            raise ValueError("CharNgram needs at least one training line")
        cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        real = cps[(cps != 0) & (cps != 10)]
        chars, freq = np.unique(real, return_counts=True)
        keep = np.sort(chars[np.argsort(-freq, kind="stable")[: _MAX_SYMBOLS - _SPECIAL]])
        self._chars = keep
        self.base = len(keep) + _SPECIAL
        seq = self._encode_cps(cps)
        targets = np.flatnonzero(seq != _BOS)
        keys = self._keys(seq, targets, order)
        uniq, counts = np.unique(keys, return_counts=True)
        tables = [self._table(uniq, counts)]
        for k in range(order - 1, 0, -1):
            lower, cont = np.unique(uniq % self.base**k, return_counts=True)
            tables.append(self._table(lower, cont))
            uniq = lower
        # per order k = 1..order: (k-gram codes, counts, histories, their totals, their
        # distinct next characters, discount)
        self._tables = tables[::-1]

    def _table(self, keys: np.ndarray, counts: np.ndarray) -> tuple:
        ctx, first, types = np.unique(keys // self.base, return_index=True, return_counts=True)
        total = np.add.reduceat(counts, first) if len(counts) else counts
        n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
        d = float(n1 / (n1 + 2 * n2)) if n1 + n2 else 0.5
        return keys, counts, ctx, total, types, min(max(d, 0.05), 0.95)

    def _encode_cps(self, cps: np.ndarray) -> np.ndarray:
        """Symbol ids of code points: NUL is BOS, newline EOS, unknown characters UNK."""
        seq = np.full(len(cps), _UNK, dtype=np.int64)
        if len(self._chars):
            idx = np.minimum(np.searchsorted(self._chars, cps), len(self._chars) - 1)
            known = self._chars[idx] == cps
            seq[known] = idx[known] + _SPECIAL
        seq[cps == 0] = _BOS
        seq[cps == 10] = _EOS
        return seq

    def _keys(self, seq: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
        """Code of the k characters ending at each target, the target least significant."""
        key = np.zeros(len(targets), dtype=np.int64)
        for j in range(k - 1, -1, -1):
            key = key * self.base + seq[targets - j]
        return key

    def log2_probs(self, line: str) -> np.ndarray:
        """log2 probability of each character of the line and of its end, in order."""
        text = "\x00" * (self.order - 1) + _clean(line) + "\n"
        seq = self._encode_cps(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))
        targets = np.arange(self.order - 1, len(seq))
        p = np.full(len(targets), 1.0 / (self.base - 1))  # uniform over all symbols but BOS
        for k, (keys, counts, ctx, total, types, d) in enumerate(self._tables, start=1):
            key = self._keys(seq, targets, k)
            hist = key // self.base
            pos = np.minimum(np.searchsorted(ctx, hist), len(ctx) - 1)
            seen = ctx[pos] == hist  # an unseen history backs off to the lower order as is
            count = _lookup(keys, counts, key)
            denom = np.where(seen, total[pos], 1)
            mixed = (np.maximum(count - d, 0) + d * types[pos] * p) / denom
            p = np.where(seen, mixed, p)
        return np.log2(p)

    def bits_per_char(self, line: str) -> float:
        """Mean bits per character of the line under the model, the end of line included."""
        return float(-self.log2_probs(line).mean())


def _clean(line: str) -> str:
    """The line as scored: ends trimmed, no NUL or newline (they mark line start and end)."""
    return line.strip().replace("\x00", " ").replace("\n", " ")


def _lookup(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    """counts[keys == q] for each q, 0 where absent (keys sorted)."""
    if not len(keys):
        return np.zeros(len(query), dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, counts[pos], 0)


# ---------------------------------------------------------------------------- statistics


def bootstrap_ci(
    values: Iterable[float | bool], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, lo, hi): the mean and its percentile-bootstrap 1-alpha confidence interval.

    Booleans count as 0/1; nan values are left out; no values give (nan, nan, nan).
    """
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    if not len(arr):
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    n = len(arr)
    rows = max(1, 2_000_000 // n)  # resample in chunks to keep memory small
    means = np.concatenate(
        [
            arr[rng.integers(0, n, size=(min(rows, n_boot - start), n))].mean(axis=1)
            for start in range(0, n_boot, rows)
        ]
    )
    lo, hi = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(arr.mean()), float(lo), float(hi)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100, linear interpolation) of the values; nan if none."""
    arr = np.asarray(list(values), dtype=float)
    return float(np.percentile(arr, q)) if len(arr) else math.nan
