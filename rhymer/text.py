"""Tiny text helpers shared by every module: words, last word, line normalisation.

>>> words("Don't stop -- believin' in the night!")
["don't", 'stop', "believin'", 'in', 'the', 'night']
>>> last_word("And laughed, and did no longer wish to die;")
'die'
>>> normalize_line("  And THERE was peace...  ")
'and there was peace'
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z0-9]+)*'?")


def words(line: str) -> list[str]:
    """Lower-cased words of a line; apostrophes inside or at the end of a word are kept."""
    return [w.lower() for w in _WORD.findall(line)]


def last_word(line: str) -> str | None:
    """The line's final word, lower-cased, without a trailing apostrophe; None if it has none."""
    found = _WORD.findall(line)
    return found[-1].lower().rstrip("'") if found else None


def normalize_line(line: str) -> str:
    """Lower-case letters and digits only, single-spaced: what 'the same line' means for copying."""
    return " ".join(re.findall(r"[a-z0-9]+", line.lower().replace("'", "")))
