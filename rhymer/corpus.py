"""Reading corpus files into clean verse lines, building one corpus from many files, its
statistics, and the fixed train / held-out split."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from rhymer.atomic import atomic_write_text
from rhymer.clean import clean_bytes, decode
from rhymer.errors import RhymerError
from rhymer.text import last_word, words

_SNIFF = 1 << 16  # bytes read to judge whether a file is text
_BAD_SHARE = 0.05  # more control / replacement / private-use characters than this: binary
_MAGIC = (
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",  # JPEG
    b"PK\x03\x04",  # zip, docx, epub, jar
    b"PK\x05\x06",
    b"\x7fELF",
    b"%PDF-",
    b"\x1f\x8b",  # gzip
    b"BZh91AY&SY",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # old MS Office
    b"\xca\xfe\xba\xbe",  # Java class, Mach-O fat
    b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xfe\xed\xfa",
    b"SQLite format 3\x00",
    b"\x00asm",
)
_BINARY_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd"}
    | {".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar"}
    | {".exe", ".dll", ".so", ".dylib", ".o", ".a", ".bin", ".pyc", ".class", ".wasm"}
    | {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".mp4", ".mkv", ".avi", ".mov", ".webm"}
    | {".woff", ".woff2", ".ttf", ".otf", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".epub"}
    | {".sqlite", ".db", ".pt", ".pth", ".safetensors", ".npy", ".npz", ".pkl", ".pickle"}
)
# C0/C1 controls other than whitespace and ESC, NUL, U+FFFD, private use, lone surrogates.
_BAD_CHAR = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\ud800-\udfff]")


def looks_binary(data: bytes) -> bool:
    """Whether bytes are a binary file rather than text in some encoding: a known file
    signature, or too many control / undecodable characters once decoded.

    >>> looks_binary(b"\\x89PNG\\r\\n\\x1a\\n"), looks_binary(b"\\x00\\x01\\x02 abc")
    (True, True)
    >>> looks_binary("Roses\\n".encode("utf-16-le")), looks_binary(b"caf\\xe9 \\x93ol\\xe9\\x94")
    (False, False)
    """
    if data.startswith(_MAGIC):
        return True
    sample = _whole_utf8_chars(data[:_SNIFF])
    if not sample:
        return False
    text = decode(sample)
    if not text:
        return False
    # A NUL left after decoding means no UTF-16/32 reading explained the NUL bytes.
    return "\x00" in text or len(_BAD_CHAR.findall(text)) > _BAD_SHARE * len(text)


def _whole_utf8_chars(sample: bytes) -> bytes:
    """The sample without a UTF-8 character cut off at its end, so that it still reads as
    UTF-8 if the whole file does."""
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data" and err.start >= len(sample) - 3:
            return sample[: err.start]
    return sample


def read_corpus(path: str | Path) -> list[str]:
    """The clean verse lines of a corpus file in any common encoding or format (see
    :mod:`rhymer.clean`); a clear RhymerError if it is missing or unusable."""
    p = Path(path)
    if p.is_dir():
        raise RhymerError(f"Corpus path {p} is a folder, not a file.")
    if not p.is_file():
        raise RhymerError(f"Corpus file {p} does not exist.")
    try:
        with p.open("rb") as fh:
            head = fh.read(_SNIFF)
            if looks_binary(head):  # before reading all of what may be a huge video
                raise RhymerError(f"Corpus file {p} looks binary, not text.")
            data = head + fh.read()
    except PermissionError:
        raise RhymerError(f"Corpus file {p} cannot be read (permission denied).") from None
    except OSError as err:
        raise RhymerError(f"Corpus file {p} cannot be read ({err.strerror or err}).") from None
    lines = clean_bytes(data)
    if not lines:
        raise RhymerError(f"Corpus file {p} has no lines of text.")
    return lines


def gather(inputs: Iterable[str | Path]) -> list[Path]:
    """The files named, and the files under the folders named (recursively, sorted, without
    hidden files or folders and without binaries told by name or content), each once.

    A missing input raises RhymerError.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in inputs:
        p = Path(given)
        if p.is_dir():
            candidates = _text_files_under(p)
        elif p.is_file():
            candidates = [p]
        elif p.exists():
            raise RhymerError(f"Input {p} is neither a file nor a folder.")
        else:
            raise RhymerError(f"Input {p} does not exist.")
        for path in candidates:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(path)
    return found


def _text_files_under(root: Path) -> list[Path]:
    """Non-hidden regular files below root that do not look binary, sorted."""
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = Path(folder, name)
            if name.startswith(".") or path.suffix.lower() in _BINARY_SUFFIXES:
                continue
            if path.is_file() and not _sniffs_binary(path):
                files.append(path)
    return sorted(files)


def _sniffs_binary(path: Path) -> bool:
    """Whether the start of a file looks binary; unreadable files are left to the reader."""
    try:
        with path.open("rb") as fh:
            return looks_binary(fh.read(_SNIFF))
    except OSError:
        return False


@dataclass(frozen=True)
class CorpusStats:
    """Size and rhyme statistics of a corpus, and which input files were used."""

    characters: int  # in the lines, line breaks not counted
    lines: int
    distinct_characters: int
    cmu_share: float  # share of word tokens found in CMUdict
    rhyme_share: float  # share of adjacent line pairs whose last words rhyme perfectly
    files_read: int = 0
    skipped: tuple[str, ...] = ()  # one sentence per input file left out, saying why

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows for printing as a table.

        >>> CorpusStats(1234, 2, 20, 0.875, 1.0, files_read=1).rows()[:3]
        [('Files read', '1'), ('Files skipped', '0'), ('Characters', '1,234')]
        >>> CorpusStats(9, 2, 8, 0.875, 0.5).rows()[-2:]
        [('Words in CMUdict', '87.5%'), ('Adjacent lines rhyming', '50.0%')]
        """
        rows = []
        if self.files_read or self.skipped:
            rows.append(("Files read", f"{self.files_read:,}"))
            rows.append(("Files skipped", f"{len(self.skipped):,}"))
            rows.extend(("Skipped", reason) for reason in self.skipped)
        return rows + [
            ("Characters", f"{self.characters:,}"),
            ("Lines", f"{self.lines:,}"),
            ("Distinct characters", f"{self.distinct_characters:,}"),
            ("Words in CMUdict", f"{self.cmu_share:.1%}"),
            ("Adjacent lines rhyming", f"{self.rhyme_share:.1%}"),
        ]


def corpus_stats(lines: Sequence[str]) -> CorpusStats:
    """Statistics of corpus lines; pairs are lines (i, i+1), so a corpus of couplets scores
    about one half.

    >>> s = corpus_stats(["The night", "is bright", "zzyzx"])
    >>> s.characters, s.lines, s.distinct_characters, s.cmu_share, s.rhyme_share
    (23, 3, 14, 0.8, 0.5)
    """
    from rhymer.rhymes import in_cmudict, is_rhyme  # loads CMUdict: only when asked

    tokens = Counter(w for line in lines for w in words(line))
    total = sum(tokens.values())
    known = sum(n for word, n in tokens.items() if in_cmudict(word))
    ends = [last_word(line) for line in lines]
    pairs = len(ends) - 1
    rhyming = sum(1 for a, b in pairwise(ends) if a and b and is_rhyme(a, b))
    return CorpusStats(
        characters=sum(map(len, lines)),
        lines=len(lines),
        distinct_characters=len(set().union(*lines)),
        cmu_share=known / total if total else 0.0,
        rhyme_share=rhyming / pairs if pairs > 0 else 0.0,
    )


def build_corpus(inputs: Iterable[str | Path], out: str | Path) -> CorpusStats:
    """Clean every input file (see :func:`gather`), write their lines to ``out`` atomically as
    UTF-8, and return the statistics. Unusable files are skipped and listed in the stats; a
    RhymerError if none is usable."""
    out = Path(out)
    if out.is_dir():
        raise RhymerError(f"Output {out} is a folder; give a file name for the corpus.")
    target = out.resolve()
    files = [f for f in gather(inputs) if f.resolve() != target]  # never read our own output
    if not files:
        raise RhymerError("No text files were found in the inputs given.")
    lines: list[str] = []
    skipped: list[str] = []
    for path in files:
        try:
            lines.extend(read_corpus(path))
        except RhymerError as err:
            skipped.append(str(err))
    if not lines:
        raise RhymerError(f"None of the {len(files)} input files has usable text: {skipped[0]}")
    try:
        atomic_write_text(out, "".join(line + "\n" for line in lines))
    except OSError as err:
        raise RhymerError(f"Cannot write the corpus to {out} ({err.strerror or err}).") from None
    return replace(
        corpus_stats(lines), files_read=len(files) - len(skipped), skipped=tuple(skipped)
    )


def heldout_split(
    lines: list[str], fraction: float = 0.05, block: int = 10
) -> tuple[list[str], list[str]]:
    """Split lines into (train, held-out) by whole blocks of `block` lines, deterministically.

    Every round(1/fraction)-th block goes to held-out, so couplets (even `block`) stay whole
    and the held-out part is spread over the whole corpus.

    >>> train, held = heldout_split([str(i) for i in range(400)])
    >>> len(train), len(held), held[:2]
    (380, 20, ['190', '191'])
    """
    every = max(2, round(1 / fraction))
    train: list[str] = []
    held: list[str] = []
    for start in range(0, len(lines), block):
        chunk = lines[start : start + block]
        (held if (start // block) % every == every - 1 else train).extend(chunk)
    if not held and len(train) > 1:  # tiny corpora: keep at least one held-out line
        held.append(train.pop())
    return train, held
