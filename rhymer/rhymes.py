"""Rhymes from the CMU Pronouncing Dictionary, with a spelling-based guess for other words.

Three levels of rhyme, best first: "perfect" (the same rhyming part, as in :mod:`pronouncing`),
"multi" (the last two vowel sounds match, stress ignored) and "slant" (the vowels of the rhyming
parts match, stress ignored). Consonants are free in "multi" and "slant".

>>> rhyme_level("night", "light")
'perfect'
>>> rhyme_level("lemon", "melon")
'multi'
>>> rhyme_level("time", "line")
'slant'
>>> phones("somethin'")
['S AH1 M TH IH0 N']
>>> index = RhymeIndex({"light": 3, "sight": 9, "line": 5, "day": 2})
>>> index.partners("night")
{'perfect': ['sight', 'light'], 'multi': [], 'slant': ['line']}

Nothing here raises on odd input: words that cannot be sounded out give empty results.
"""

from __future__ import annotations

import difflib
import functools
import heapq
import os
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache

import pronouncing

from rhymer.text import words

LEVELS = ("perfect", "multi", "slant")

_MAX_WORD = 64  # longer "words" are cut to their last letters: no real word is that long
_SCAN = 128  # at most this many dictionary words are compared when guessing from spelling
_VOWEL = re.compile(r"^([A-Z]+)[012]$")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_RESPELLINGS = (  # old and British spellings, tried in turn: o'er, shou'd, crown'd, honour'd
    (re.compile(r"'er$"), "ver"),
    (re.compile(r"ou'd$"), "ould"),
    (re.compile(r"(?<=[a-z])'(?=[a-z])"), "e"),
    (re.compile(r"our"), "or"),
)

_Keys = tuple[frozenset[str], frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]


def _lookup() -> dict[str, list[str]]:
    """pronouncing's word -> phones table, loaded on first use."""
    pronouncing.init_cmu()
    return pronouncing.lookup


def _clean(word: str) -> str:
    """Lower-cased, trimmed, curly apostrophes straightened, cut to a sane length."""
    return word.strip().lower().replace("\u2019", "'").replace("\u2018", "'")[-_MAX_WORD:]


def _letters(word: str) -> str:
    """Only the ASCII letters of a word, accents removed: what the spelling guess works on."""
    if not word.isascii():
        word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", word.lower())


def _same_word(a: str, b: str) -> bool:
    """Whether two spellings are one word (case, quotes and apostrophes aside)."""
    a, b = _clean(a), _clean(b)
    return a == b or (_letters(a) != "" and _letters(a) == _letters(b))


def _cmu_phones(word: str) -> list[str]:
    """CMUdict pronunciations of the word as written (surrounding punctuation ignored)."""
    table = _lookup()
    word = _clean(word)
    return table.get(word) or table.get(word.strip("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'")) or []


def in_cmudict(word: str) -> bool:
    """Whether CMUdict has the word.

    >>> in_cmudict("Night"), in_cmudict("blorptastic"), in_cmudict("")
    (True, False, False)
    """
    return bool(_cmu_phones(word))


def phones(word: str) -> list[str]:
    """CMUdict pronunciations of the word, or a guess from its spelling; [] if none.

    >>> phones("giant")
    ['JH AY1 AH0 N T']
    >>> phones("gettin")
    ['G EH1 T IH0 N', 'G IH1 T IH0 N']
    >>> phones("metalface")
    ['M EH2 T AH0 L F EY1 S']
    >>> phones("blorptastic")
    ['AH0 AE1 S T IH0 K']
    >>> phones(""), phones("123"), phones("?!")
    ([], [], [])
    """
    return list(_phones(_clean(word)))


@lru_cache(maxsize=1 << 16)
def _phones(word: str) -> tuple[str, ...]:
    table = _lookup()
    if word in table and not word.rstrip("'").endswith("in"):  # the common case, quickly
        return tuple(table[word])
    letters = _letters(word)
    known = _cmu_phones(word) or _respelled(word) or table.get(letters, [])
    if letters.endswith("in") and letters + "g" in table:  # nothin' -> nothing, NG -> N
        dropped = [re.sub(r" NG$", " N", p) for p in table[letters + "g"]]
        return tuple(_unique([*known, *dropped]))
    return tuple(known or (_guess(letters) if letters else []))


def _respelled(word: str) -> list[str]:
    """CMUdict phones of the word in modern American spelling, if that helps."""
    table = _lookup()
    for pattern, replacement in _RESPELLINGS:
        word, changed = pattern.subn(replacement, word)
        if changed and word in table:
            return table[word]
    return []


def _guess(letters: str) -> list[str]:
    """Sound out a word CMUdict lacks: two known words of three letters or more, then the
    longest spelling ending it shares with a dictionary word."""
    table = _lookup()
    for i in range(3, len(letters) - 2):  # metal + face
        head, tail = letters[:i], letters[i:]
        if head in table and tail in table:
            return _unique(_join(_prefix_phones(head), p) for p in table[tail])
    found = _longest_ending(letters)
    if found is None:
        return []
    known, shared = found
    if known == letters[-shared:]:  # the ending is a word itself: blorp + face
        return _unique(_join(_prefix_phones(letters[:-shared]), p) for p in table[known])
    guesses = []
    for p in table[known]:  # borrow the rhyming part: blorp(t) + (fant)astic
        tail = rhyming_part(p)
        covered = max(1, round(len(known) * len(tail.split()) / len(p.split())))
        guesses.append(_join(_prefix_phones(letters[:-covered]), tail))
    return _unique(guesses)


def _prefix_phones(letters: str) -> str:
    """Phones for the front of a guessed word: a known word with its stress made secondary,
    else one unstressed AH0 per vowel group (enough to count syllables)."""
    known = _lookup().get(letters) if len(letters) >= 3 else None
    if known:
        return known[0].replace("1", "2")
    return " ".join(["AH0"] * len(_VOWEL_GROUPS.findall(letters)))


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@lru_cache(maxsize=1)
def _endings() -> list[str]:
    """Every plain CMUdict spelling reversed, sorted: words with a common ending sit together."""
    return sorted({w[::-1] for w in _lookup() if len(w) >= 2 and w.isalpha() and w.isascii()})


def _longest_ending(letters: str) -> tuple[str, int] | None:
    """The shortest dictionary word sharing the longest ending (at least 2 letters) with
    ``letters``, and that ending's length; None if no such word."""
    index, backwards = _endings(), letters[::-1]
    at = bisect_left(index, backwards)
    shared = max(
        (_common_prefix(backwards, index[j]) for j in (at - 1, at) if 0 <= j < len(index)),
        default=0,
    )
    if shared < 2:
        return None
    stem = backwards[:shared]
    start = bisect_left(index, stem)
    stop = min(bisect_left(index, stem + "{"), start + _SCAN)  # "{" sorts after "z"
    best = min(index[start:stop], key=len)
    return best[::-1], shared


def _common_prefix(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


def vowels(phone_str: str) -> list[str]:
    """The vowel phonemes, stress digits removed.

    >>> vowels("JH AY1 AH0 N T")
    ['AY', 'AH']
    """
    return [m.group(1) for m in map(_VOWEL.match, phone_str.split()) if m]


def rhyming_part(phone_str: str) -> str:
    """From the last stressed vowel to the end (from the last vowel if none is stressed).

    >>> rhyming_part("P ER1 P AH0 L")
    'ER1 P AH0 L'
    >>> rhyming_part("DH AH0")
    'AH0'
    >>> rhyming_part("")
    ''
    """
    found = phone_str.split()
    marks = [i for i, p in enumerate(found) if _VOWEL.match(p)]
    stressed = [i for i in marks if found[i][-1] in "12"]
    start = stressed[-1] if stressed else marks[-1] if marks else len(found)
    return " ".join(found[start:])


def _phone_keys(phone_str: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """One pronunciation's rhyming part, its last two vowels and the vowels of its rhyming part.

    The slant run starts at the last stressed vowel, primary or secondary, so moonlight
    (M UW1 N L AY2 T) slant-rhymes with time; a run from an earlier primary stress is two
    vowels or more, and matching it is already a multi rhyme.
    """
    found = phone_str.split()
    marks = [i for i, p in enumerate(found) if p[-1] in "012"]
    if not marks:
        return "", (), ()
    bare = tuple(found[i][:-1] for i in marks)
    stress = "".join(found[i][-1] for i in marks)
    stressed = max(stress.rfind("1"), stress.rfind("2"))
    start = stressed if stressed >= 0 else len(marks) - 1  # where rhyming_part() starts
    multi = bare[-2:] if len(bare) >= 2 else ()
    return " ".join(found[marks[start] :]), multi, bare[start:]


@lru_cache(maxsize=1 << 16)
def _word_keys(word: str) -> _Keys:
    """The perfect, multi and slant keys of all the word's pronunciations."""
    keys = [_phone_keys(p) for p in _phones(word)]
    return (
        frozenset(k[0] for k in keys if k[0]),
        frozenset(k[1] for k in keys if k[1]),
        frozenset(k[2] for k in keys if k[2]),
    )


def rhyme_level(a: str, b: str) -> str | None:
    """The best level at which two different words rhyme, over all their pronunciations.

    >>> rhyme_level("right", "write"), rhyme_level("singer", "finger")
    ('perfect', 'multi')
    >>> print(rhyme_level("night", "Night"), rhyme_level("night", "day"), rhyme_level("", "a"))
    None None None
    """
    if _same_word(a, b):
        return None
    keys_a, keys_b = _word_keys(_clean(a)), _word_keys(_clean(b))
    for level, ka, kb in zip(LEVELS, keys_a, keys_b, strict=True):
        if ka & kb:
            return level
    return None


def is_rhyme(a: str, b: str) -> bool:
    """Whether two different CMUdict words share a rhyming part (no guessing).

    Old elided spellings count as the CMUdict word they spell (crown'd is crowned).

    >>> is_rhyme("night", "light"), is_rhyme("time", "line"), is_rhyme("gettin", "sittin")
    (True, False, False)
    >>> is_rhyme("crown'd", "around")
    True
    """
    if _same_word(a, b):
        return False
    parts_a = {rhyming_part(p) for p in _strict_phones(a)} - {""}
    return any(rhyming_part(p) in parts_a for p in _strict_phones(b))


def _strict_phones(word: str) -> list[str]:
    """CMUdict phones of the word as written, or of its modern spelling; never a guess."""
    return _cmu_phones(word) or _respelled(_clean(word))


def syllables(word: str) -> int:
    """Syllables in a word: from its (guessed) phones, else by counting vowel groups.

    >>> syllables("literally"), syllables("blorptastic"), syllables("hmm"), syllables("")
    (4, 3, 1, 0)
    """
    found = _phones(_clean(word))
    if found:
        return max(1, pronouncing.syllable_count(found[0])) if _letters(word) else 0
    return _spelled_syllables(word)


def _spelled_syllables(word: str) -> int:
    """Syllables counted from spelling alone: vowel groups, less a silent final e."""
    letters = _letters(word)
    if not letters:
        return sum(c.isdigit() for c in word)  # "2" or "99": a syllable a digit, roughly
    count = len(_VOWEL_GROUPS.findall(letters)) - (letters.endswith("e") and len(letters) > 2)
    return max(1, count)


def line_syllables(line: str) -> int:
    """Syllables in a line of text.

    >>> line_syllables("And laughed, and did no longer wish to die;")
    10
    """
    return sum(syllables(w) for w in words(line))


class RhymeIndex:
    """Rhyme partners among a corpus's words, ranked by how often the corpus uses them.

    >>> index = RhymeIndex({"lemon": 4, "melon": 1, "seven": 7, "heaven": 7, "felon": 2})
    >>> index.partners("lemon")
    {'perfect': [], 'multi': ['heaven', 'seven', 'felon', 'melon'], 'slant': []}
    >>> index.partners("melon", limit=1)
    {'perfect': ['felon'], 'multi': ['heaven'], 'slant': []}
    >>> index.close_words("lemmon")
    ['lemon']
    >>> RhymeIndex.from_dict(index.to_dict(), index.counts).partners("melon", limit=1)["perfect"]
    ['felon']
    """

    def __init__(self, counts: Mapping[str, int]) -> None:
        merged: dict[str, int] = defaultdict(int)
        for word, count in counts.items():
            merged[_clean(word)] += count
        merged.pop("", None)
        self.counts = dict(merged)
        self.words = sorted(merged, key=lambda w: (-merged[w], w))  # rank order
        # Per level, key -> ranks of the words with that key (keys are space-joined phones).
        self._by_key: tuple[dict[str, list[int]], ...] = tuple({} for _ in LEVELS)
        # Per word: its keys per level, its strict rhyming parts and its syllable count.
        self._facts: dict[str, list] = {}
        for rank, word in enumerate(self.words):
            facts = self._facts[word] = self._compute_facts(word)
            for table, keys in zip(self._by_key, facts[:3], strict=True):
                for key in keys:
                    table.setdefault(key, []).append(rank)

    @staticmethod
    def _compute_facts(word: str) -> list:
        perfect, multi, slant = _word_keys(word)
        strict = {rhyming_part(p) for p in _strict_phones(word)} - {""}
        return [
            sorted(perfect),
            sorted(" ".join(k) for k in multi),
            sorted(" ".join(k) for k in slant),
            sorted(strict),
            syllables(word),
        ]

    def to_dict(self) -> dict:
        """Everything the index knows, as JSON-ready data for `from_dict`.

        Stored beside a model, it spares the couplet command loading CMUdict at all.
        """
        return {
            "words": self.words,
            "tables": list(self._by_key),
            "facts": self._facts,
        }

    @classmethod
    def from_dict(cls, data: Mapping, counts: Mapping[str, int]) -> RhymeIndex:
        """Rebuild an index of `counts` from `to_dict` output, without sounding out a word."""
        index = cls.__new__(cls)
        index.counts = dict(counts)
        index.words = list(data["words"])
        index._by_key = tuple(dict(t) for t in data["tables"])
        index._facts = dict(data["facts"])
        return index

    def _word_facts(self, word: str) -> list:
        word = _clean(word)
        return self._facts.get(word) or self._compute_facts(word)

    def line_syllables(self, line: str) -> int:
        """`line_syllables(line)`: corpus words from stored counts, others from their spelling."""
        return sum(
            self._facts[w][4] if w in self._facts else _spelled_syllables(w) for w in words(line)
        )

    def is_rhyme(self, a: str, b: str) -> bool:
        """`is_rhyme(a, b)`, answered from stored facts for corpus words."""
        if _same_word(a, b):
            return False
        return bool(set(self._word_facts(a)[3]) & set(self._word_facts(b)[3]))

    def partners(self, word: str, limit: int | None = None) -> dict[str, list[str]]:
        """Corpus words rhyming with ``word``, {level: words, most used first}, each word
        at its best level only."""
        word = _clean(word)
        spelled = _letters(word) or word
        facts = self._word_facts(word)
        taken: set[int] = set()
        found = {}
        for level, table, keys in zip(LEVELS, self._by_key, facts[:3], strict=True):
            ranks = set().union(*(table.get(k, ()) for k in keys)) - taken
            taken |= ranks
            ranks = {r for r in ranks if self._spellings[r] != spelled}
            best = sorted(ranks) if limit is None else heapq.nsmallest(max(0, limit), ranks)
            found[level] = [self.words[r] for r in best]
        return found

    @functools.cached_property
    def _spellings(self) -> list[str]:
        """Each ranked word's letters: the same word spelled with quotes or case is no rhyme."""
        return [_letters(w) or w for w in self.words]

    def close_words(self, word: str, n: int = 5) -> list[str]:
        """Corpus words spelled most like ``word``, for "did you mean" messages."""
        word = _clean(word)
        if n <= 0 or not word:
            return []
        close = difflib.get_close_matches(word, self.words, n=n + 1)
        return [w for w in close if w != word][:n]
