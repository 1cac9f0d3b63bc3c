"""What the couplet maker needs to know about the training corpus, saved beside the model.

Word counts (all words and line-final words) rank rhyme partners; hashes of every normalised
corpus line let a generated line be rejected as a copy without shipping the corpus itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rhymer.atomic import atomic_write_text
from rhymer.errors import RhymerError
from rhymer.rhymes import RhymeIndex
from rhymer.text import last_word, normalize_line, words

FILENAME = "lexicon.json"


def line_hash(line: str) -> int:
    """A 64-bit hash of the normalised line."""
    digest = hashlib.blake2b(normalize_line(line).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass
class Lexicon:
    """Corpus word counts, line-final word counts, characters and line hashes."""

    counts: dict[str, int]
    end_counts: dict[str, int]
    chars: str
    hashes: np.ndarray  # sorted int64
    rhymes: dict | None = None  # RhymeIndex.to_dict() of the corpus words, if stored

    @classmethod
    def from_lines(cls, lines: list[str]) -> Lexicon:
        counts: Counter[str] = Counter()
        ends: Counter[str] = Counter()
        for line in lines:
            counts.update(w.rstrip("'") for w in words(line))
            end = last_word(line)
            if end:
                ends[end] += 1
        hashes = np.unique(np.array([line_hash(ln) for ln in lines], dtype=np.int64))
        chars = "".join(sorted(set("".join(lines))))
        counts_dict = dict(counts.most_common())
        index = RhymeIndex(counts_dict).to_dict()
        return cls(counts_dict, dict(ends.most_common()), chars, hashes, index)

    def rhyme_index(self) -> RhymeIndex:
        """The corpus's rhyme index, from the stored keys when there are some."""
        if self.rhymes is not None:
            return RhymeIndex.from_dict(self.rhymes, self.counts)
        return RhymeIndex(self.counts)

    def is_copy(self, line: str) -> bool:
        """True if the line, normalised, is a line of the corpus."""
        h = line_hash(line)
        i = int(np.searchsorted(self.hashes, h))
        return i < len(self.hashes) and int(self.hashes[i]) == h

    def save(self, model_dir: Path) -> None:
        blob = base64.b64encode(self.hashes.astype("<i8").tobytes()).decode()
        data = {
            "chars": self.chars,
            "counts": self.counts,
            "end_counts": self.end_counts,
            "line_hashes": blob,
            "rhymes": self.rhymes,
        }
        atomic_write_text(Path(model_dir) / FILENAME, json.dumps(data, separators=(",", ":")))

    @classmethod
    def load(cls, model_dir: Path) -> Lexicon:
        path = Path(model_dir) / FILENAME
        if not path.is_file():
            raise RhymerError(f"Model folder {model_dir} has no {FILENAME}; retrain it.")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            hashes = np.frombuffer(base64.b64decode(raw["line_hashes"]), dtype="<i8")
            return cls(
                dict(raw["counts"]),
                dict(raw["end_counts"]),
                str(raw["chars"]),
                np.sort(hashes.astype(np.int64)),
                raw.get("rhymes"),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise RhymerError(f"{path} is damaged (truncated or edited?).") from exc
