"""Reading corpus files, gathering and building a corpus, its statistics, the held-out split."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from rhymer import corpus
from rhymer.corpus import (
    CorpusStats,
    build_corpus,
    corpus_stats,
    gather,
    heldout_split,
    looks_binary,
    read_corpus,
)
from rhymer.errors import RhymerError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00poem.txt"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00>\x00"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --- read_corpus: messy files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("\ufeffRoses are red,\r\nViolets are blue.".encode("utf-16-le"), None),
        ("Roses are red,\nViolets are blue.\n".encode("utf-16-le"), None),
        ("Roses are red,\nViolets are blue.\n".encode("utf-16-be"), None),
        (
            b"\x93Roses\x94 are red,\r\nViolets are blue\x92s.",
            ['"Roses" are red,', "Violets are blue's."],
        ),
        (
            "Café naïve, déjà vu,\nthe Ångström façade.\n".encode("latin-1"),
            ["Cafe naive, deja vu,", "the Angstrom facade."],
        ),
    ],
    ids=["utf16-bom", "utf16le", "utf16be", "cp1252", "latin1"],
)
def test_read_corpus_encodings(tmp_path: Path, data: bytes, lines: list[str] | None) -> None:
    path = write(tmp_path / "poem.txt", data)
    assert read_corpus(path) == (lines or ["Roses are red,", "Violets are blue."])


def test_read_corpus_html_page(tmp_path: Path) -> None:
    page = (
        "<!doctype html><html><head><title>Song</title><script>var x = '<br>';</script></head>"
        "<body><p>I&#39;m out&nbsp;&amp; about<br>\nTill the night&hellip;</p></body></html>"
    )
    path = write(tmp_path / "song.html", page.encode("cp1252"))
    assert read_corpus(path) == ["I'm out & about", "Till the night..."]


def test_read_corpus_gutenberg(tmp_path: Path) -> None:
    text = (
        "The Project Gutenberg eBook of Songs\r\n\r\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK SONGS ***\r\n\r\n"
        "  Tyger Tyger, burning bright,\r\n  In the forests of the night;\r\n\r\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK SONGS ***\r\nLicence text\r\n"
    )
    path = write(tmp_path / "pg.txt", text)
    assert read_corpus(path) == ["Tyger Tyger, burning bright,", "In the forests of the night;"]


def test_read_corpus_lyrics(tmp_path: Path) -> None:
    text = (
        "[Verse 1]\nI\u2019m up all night\n\n\n\n"
        "[Chorus]\nTo get lucky\n\n\n[Verse 2: X]\nWe\u2019re\n"
    )
    path = write(tmp_path / "lyrics.txt", text)
    assert read_corpus(path) == ["I'm up all night", "To get lucky", "We're"]


# --- read_corpus: errors ----------------------------------------------------------------------


def test_read_corpus_missing(tmp_path: Path) -> None:
    with pytest.raises(RhymerError, match="does not exist"):
        read_corpus(tmp_path / "nope.txt")


def test_read_corpus_folder(tmp_path: Path) -> None:
    with pytest.raises(RhymerError, match="is a folder"):
        read_corpus(tmp_path)


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n \n", b"***\n12\n[Chorus]\n"])
def test_read_corpus_no_text(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RhymerError, match="has no lines of text"):
        read_corpus(write(tmp_path / "empty.txt", data))


@pytest.mark.parametrize("data", [PNG, ZIP, ELF, b"Roses are red\x00\x00 and blue\n"])
def test_read_corpus_binary(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RhymerError, match="looks binary"):
        read_corpus(write(tmp_path / "poem.txt", data))


def test_read_corpus_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "secret.txt", "Roses are red\n")

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(RhymerError, match="permission denied"):
        read_corpus(path)


# --- looks_binary -----------------------------------------------------------------------------


def test_signature_decides_even_for_texty_binaries() -> None:
    assert looks_binary(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n")


def test_one_nul_byte_makes_binary() -> None:
    assert looks_binary(b"Roses are red\x00" + b" and violets are blue\n" * 200)


def test_sniff_hands_decode_whole_utf8_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    data = "\u041d\u043e\u0447\u044c \u0442\u0435\u043c\u043d\u0430\n".encode() * 10_000
    assert len(data) > 1 << 16
    monkeypatch.setattr(corpus, "decode", lambda sample: sample.decode("utf-8"))
    assert not looks_binary(data)


def test_random_bytes_look_binary() -> None:
    rng = random.Random(7)
    for size in (64, 1000, 100_000):
        assert looks_binary(rng.randbytes(size))


def test_small_binary_numbers_with_utf16_like_nuls_look_binary() -> None:
    data = b"".join(n.to_bytes(2, "little") for n in range(1, 200))  # int16 array, NUL-odd
    assert looks_binary(data)


@pytest.mark.parametrize(
    "data",
    [
        "Roses are red\n".encode("utf-16-le"),
        "\ufeffこんにちは\n世界\n".encode("utf-16-le"),
        b"\x93caf\xe9\x94",
        "Привет, как дела?\n".encode("cp1251"),
        b"",
        "Ночь темна и холодна.\n".encode() * 5000,  # UTF-8 cut mid-character by the sniff
    ],
)
def test_text_does_not_look_binary(data: bytes) -> None:
    assert not looks_binary(data)


# --- gather ---------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "poems"
    write(root / "b.txt", "Bee\n")
    write(root / "a.md", "Ay\n")
    write(root / "sub" / "deeper" / "c.lyrics", "Sea\n")
    write(root / "sub" / "z.txt", "Zed\n")
    write(root / ".hidden.txt", "hidden\n")
    write(root / ".git" / "config.txt", "hidden\n")
    write(root / "cover.png", "not really a png\n")
    write(root / "image.txt", PNG)
    return root


def test_gather_folder(tree: Path) -> None:
    assert [p.relative_to(tree).as_posix() for p in gather([tree])] == [
        "a.md",
        "b.txt",
        "sub/deeper/c.lyrics",
        "sub/z.txt",
    ]


def test_gather_files_and_folders_each_once(tree: Path) -> None:
    extra = write(tree.parent / "extra.txt", "x\n")
    found = gather([extra, tree / "b.txt", str(tree), tree / "image.txt"])
    assert found == [
        extra,
        tree / "b.txt",
        tree / "a.md",
        tree / "sub" / "deeper" / "c.lyrics",
        tree / "sub" / "z.txt",
        tree / "image.txt",  # named explicitly: kept, though binary (build_corpus skips it)
    ]


def test_gather_missing_input(tree: Path) -> None:
    with pytest.raises(RhymerError, match="does not exist"):
        gather([tree, tree / "missing.txt"])


def test_gather_empty_folder(tmp_path: Path) -> None:
    assert gather([tmp_path]) == []


# --- corpus_stats -----------------------------------------------------------------------------

TINY = ["The cat sat", "upon the mat", "Blorptastic dog!", "a log", "the bough", "a cough"]


def test_corpus_stats_by_hand() -> None:
    stats = corpus_stats(TINY)
    assert stats.characters == 11 + 12 + 16 + 5 + 9 + 7
    assert stats.lines == 6
    assert stats.distinct_characters == len(set("Thecatsupon mBlorpidg!b")) == 21
    assert stats.cmu_share == pytest.approx(13 / 14)  # every word but "blorptastic"
    # sat/mat and dog/log rhyme; mat/dog, log/bough and bough/cough (same spelling) do not
    assert stats.rhyme_share == pytest.approx(2 / 5)
    assert (stats.files_read, stats.skipped) == (0, ())


def test_corpus_stats_of_nothing() -> None:
    assert corpus_stats([]) == CorpusStats(0, 0, 0, 0.0, 0.0)
    assert corpus_stats(["12 34"]).cmu_share == 0.0  # digits are not in CMUdict


def test_stats_rows() -> None:
    stats = CorpusStats(1234, 3, 9, 0.5, 0.25, files_read=2, skipped=("x.png looks binary.",))
    assert stats.rows() == [
        ("Files read", "2"),
        ("Files skipped", "1"),
        ("Skipped", "x.png looks binary."),
        ("Characters", "1,234"),
        ("Lines", "3"),
        ("Distinct characters", "9"),
        ("Words in CMUdict", "50.0%"),
        ("Adjacent lines rhyming", "25.0%"),
    ]
    assert [label for label, _ in corpus_stats(["a"]).rows()][0] == "Characters"


# --- build_corpus -----------------------------------------------------------------------------


def test_build_corpus(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "1.txt", b"The cat sat\r\n\r\n\x93upon\x94 the mat\r\n")  # cp1252
    write(src / "2" / "song.txt", "[Chorus]\nBlorptastic dog!\n\n\n\na log\n".encode("utf-16"))
    write(src / "2" / "pic.png", PNG)  # left out by gather
    bad = write(tmp_path / "bad.txt", PNG)  # named explicitly: read, then skipped
    empty = write(tmp_path / "empty.txt", "\n\n")
    out = tmp_path / "new" / "dir" / "corpus.txt"

    stats = build_corpus([src, bad, empty], out)

    expected = 'The cat sat\n"upon" the mat\nBlorptastic dog!\na log\n'
    assert out.read_text(encoding="utf-8") == expected
    assert stats.lines == 4 and stats.characters == 11 + 14 + 16 + 5
    assert stats.rhyme_share == pytest.approx(2 / 3)
    assert stats.cmu_share == pytest.approx(9 / 10)
    assert stats.files_read == 2
    assert len(stats.skipped) == 2
    assert "bad.txt looks binary" in stats.skipped[0] and "empty.txt" in stats.skipped[1]
    assert sorted(p.name for p in out.parent.iterdir()) == ["corpus.txt"]  # no temp file left


def test_build_corpus_fsyncs_and_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    build_corpus([write(tmp_path / "a.txt", "night\nlight\n")], tmp_path / "out.txt")
    assert calls[:2] == ["fsync", "replace"]  # data is on disk before the rename


def test_build_corpus_failed_write_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write(tmp_path / "out" / "corpus.txt", "old corpus\n")
    src = write(tmp_path / "a.txt", "new night\n")

    def crash(src_path: str, dst_path: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(RhymerError, match="Cannot write the corpus"):
        build_corpus([src], out)
    assert out.read_text() == "old corpus\n"
    assert [p.name for p in out.parent.iterdir()] == ["corpus.txt"]


def test_build_corpus_overwrites_and_never_reads_its_output(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "night\n")
    out = write(tmp_path / "corpus.txt", "stale\n")  # inside the input folder
    stats = build_corpus([tmp_path], out)
    assert out.read_text() == "night\n"
    assert stats.files_read == 1
    build_corpus([tmp_path], out)
    assert out.read_text() == "night\n"


def test_build_corpus_nothing_usable(tmp_path: Path) -> None:
    bad = write(tmp_path / "in" / "bad.dat", PNG)
    with pytest.raises(RhymerError, match="None of the 1 input files"):
        build_corpus([bad], tmp_path / "out.txt")
    with pytest.raises(RhymerError, match="No text files"):
        build_corpus([tmp_path / "in"], tmp_path / "out.txt")  # gather leaves bad.dat out
    assert not (tmp_path / "out.txt").exists()


def test_build_corpus_output_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(RhymerError, match="is a folder"):
        build_corpus([write(tmp_path / "a.txt", "night\n")], tmp_path)


def test_built_corpus_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "c.txt"
    build_corpus([write(tmp_path / "in" / "a.txt", "\u201cNight\u201d\u2026\n")], out)
    assert read_corpus(out) == ['"Night"...']


# --- heldout_split (unchanged behaviour the trainer relies on) ---------------------------------


def test_heldout_split_blocks() -> None:
    lines = [str(i) for i in range(400)]
    train, held = heldout_split(lines)
    assert held == [str(i) for i in range(190, 200)] + [str(i) for i in range(390, 400)]
    assert sorted(train + held, key=int) == lines


def test_heldout_split_tiny() -> None:
    assert heldout_split(["a", "b", "c"]) == (["a", "b"], ["c"])
    assert heldout_split(["a"]) == (["a"], [])
