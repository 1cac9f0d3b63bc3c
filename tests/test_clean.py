"""Cleaning messy user text: encodings, HTML, Gutenberg boilerplate, lyrics labels, typography."""

from __future__ import annotations

import codecs
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhymer.clean import (
    clean_bytes,
    clean_text,
    decode,
    fold_line,
    html_to_text,
    is_section_header,
    strip_gutenberg,
)

VERSE = "Roses are red,\nViolets are blue.\n"


# --- decode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + VERSE.encode("utf-8"),
        VERSE.encode("utf-16"),  # with BOM, native order
        codecs.BOM_UTF16_LE + VERSE.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + VERSE.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + VERSE.encode("utf-32-le"),
        codecs.BOM_UTF32_BE + VERSE.encode("utf-32-be"),
        VERSE.encode("utf-16-le"),  # no BOM
        VERSE.encode("utf-16-be"),
        VERSE.encode("utf-32-le"),
    ],
    ids=["utf8-bom", "utf16", "utf16le-bom", "utf16be-bom", "utf32le-bom", "utf32be-bom"]
    + ["utf16le", "utf16be", "utf32le"],
)
def test_decode_unicode_with_and_without_bom(data: bytes) -> None:
    assert decode(data) == VERSE


def test_decode_utf8_keeps_text() -> None:
    text = "Déjà vu — “quoted” 世界\n"
    assert decode(text.encode("utf-8")) == text


def test_decode_cp1252_curly_quotes() -> None:
    assert (
        decode(b"\x93Hello,\x94 she said. It\x92s late.")
        == "\u201cHello,\u201d she said. It\u2019s late."
    )


def test_decode_latin1_accents() -> None:
    text = "Über allen Gipfeln ist Ruh; café, naïve, déjà vu, façade.\n"
    assert decode(text.encode("latin-1")) == text
    assert decode("café".encode("latin-1")) == "café"  # too short for any statistics


def test_decode_non_western_single_byte_uses_charset_normalizer() -> None:
    text = "Привет, как дела? Я иду домой.\nНочь темна и холодна.\n"
    assert decode(text.encode("cp1251")) == text


def test_decode_ignores_utf16_guesses_without_nul_bytes() -> None:
    data = b"C\xdfB\xc9"  # charset-normalizer's first guess: UTF-16-BE, two CJK characters
    assert decode(data) != data.decode("utf-16-be")


@given(st.binary())
def test_decode_never_raises(data: bytes) -> None:
    assert isinstance(decode(data), str)


# --- HTML -----------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Lyrics | Site</title>
<style>p { color: red; }</style>
<script>var verse = "<p>not verse</p>";</script></head>
<body><div class="lyrics"><p>Rock &amp; roll, we&#39;re on&nbsp;our way<br>
Tom &lt;3 Jerry &#x2014; all&hellip;<br/>Last line</p><p>Second&nbsp;stanza</p></div>
</body></html>"""


def test_html_page() -> None:
    assert clean_text(PAGE) == [
        "Rock & roll, we're on our way",
        "Tom <3 Jerry -- all...",
        "Last line",
        "Second stanza",
    ]


def test_html_br_and_paragraph_end_break_lines() -> None:
    assert clean_text("<p>one</p>two<br>three<br />four") == ["one", "two", "three", "four"]


def test_html_to_text_drops_script_and_style() -> None:
    text = html_to_text("<b>a</b><script>if (x < 1) {}</script><style>b {}</style>z")
    assert text == "az"


def test_html_markup_that_trips_html_parser() -> None:
    # html.parser raises AssertionError on this marked section; tags are then stripped crudely
    assert clean_text("<p>Hello<![foo[ x ]]>there</p>again<br>end &amp; ok") == [
        "Hellothere",
        "again",
        "end & ok",
    ]


def test_plain_text_with_angle_brackets_is_not_html() -> None:
    assert clean_text("I <3 you\na < b and b > c") == ["I <3 you", "a < b and b > c"]


def test_entities_in_plain_text_are_decoded() -> None:
    assert clean_text("Rock &amp; roll &#8212; don&#39;t stop\nAT&T") == [
        "Rock & roll -- don't stop",
        "AT&T",
    ]


# --- Project Gutenberg ------------------------------------------------------------------------

GUTENBERG = """The Project Gutenberg EBook of Poems, by A. Poet

This eBook is for the use of anyone anywhere at no cost.

*** START OF THE PROJECT GUTENBERG EBOOK POEMS ***




Tyger Tyger, burning bright,
In the forests of the night;

*** END OF THE PROJECT GUTENBERG EBOOK POEMS ***

Updated editions will replace the previous one.
"""

OLD_GUTENBERG = """Project Gutenberg's Etext of Poems
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*
Tyger Tyger, burning bright,
In the forests of the night;
End of the Project Gutenberg EBook of Poems, by A. Poet
This file should be named poems.txt
"""


@pytest.mark.parametrize("text", [GUTENBERG, OLD_GUTENBERG], ids=["current", "old"])
def test_gutenberg_header_and_footer_dropped(text: str) -> None:
    assert clean_text(text) == ["Tyger Tyger, burning bright,", "In the forests of the night;"]


def test_gutenberg_books_joined_in_one_file() -> None:
    assert clean_text(GUTENBERG + GUTENBERG.replace("Tyger", "Lamb")) == [
        "Tyger Tyger, burning bright,",
        "In the forests of the night;",
        "Lamb Lamb, burning bright,",
        "In the forests of the night;",
    ]


def test_strip_gutenberg_without_markers_keeps_everything() -> None:
    assert strip_gutenberg(["a", "b"]) == ["a", "b"]


def test_gutenberg_html() -> None:
    page = (
        "<html><body><p>Header</p><pre>*** START OF THIS PROJECT GUTENBERG EBOOK X ***</pre>"
        "<p>Verse one<br>Verse two</p><pre>*** END OF THIS PROJECT GUTENBERG EBOOK X ***</pre>"
        "<p>Licence</p></body></html>"
    )
    assert clean_text(page) == ["Verse one", "Verse two"]


# --- lyrics ---------------------------------------------------------------------------------

LYRICS = """[Intro]
Yeah

[Verse 1]
I walked along the empty road


[Chorus]
Oh the night, the night
(Chorus)
Chorus:
Verse 2:
{Repeat Chorus}
[Verse 2: X & Y]
(oh yeah)
Chorus x2
[Bridge] We fall apart
[Produced by Somebody]
[Tiny she looked on the grating -- that oily, treacly sea --]
Bridge over troubled water



"""


def test_lyrics_headers_and_blank_lines() -> None:
    assert clean_text(LYRICS) == [
        "Yeah",
        "I walked along the empty road",
        "Oh the night, the night",
        "(oh yeah)",
        "We fall apart",
        "[Tiny she looked on the grating -- that oily, treacly sea --]",
        "Bridge over troubled water",
    ]


@pytest.mark.parametrize(
    "line",
    ["[Chorus]", "[Verse 2: Kendrick Lamar]", "[Pre-Chorus]", "(Chorus)", "(Repeat chorus)"]
    + ["Chorus:", "CHORUS", "Verse 3", "Refrain:", "Outro", "[x2]", "[Illustration: A ship]"],
)
def test_section_headers(line: str) -> None:
    assert is_section_header(line)


@pytest.mark.parametrize(
    "line",
    ["(Don John of Austria is girt and going forth.)", "Verse, that should thee out-live."]
    + ["Bridge over troubled water", "Chorus girls are dancing", "(oh yeah)"],
)
def test_verse_is_not_a_section_header(line: str) -> None:
    assert not is_section_header(line)


# --- characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u201cDon\u2019t,\u201d she said, \u2018go\u2019", "\"Don't,\" she said, 'go'"),
        ("night\u2014and day", "night -- and day"),
        ("night \u2013 and day, 1914\u201318", "night -- and day, 1914-18"),
        ("well\u2026 then", "well... then"),
        ("no\u00a0break\u2009thin\u200bzero\ufeffwidth", "no break thinzerowidth"),
        ("bell\x07 \x1b[0mend\x7f\x85x", "bell [0mendx"),
        (
            "na\u00efve caf\u00e9 \u00c5ngstr\u00f6m Stra\u00dfe \u0153uvre \ufb01ne",
            "naive cafe Angstrom Strasse oeuvre fine",
        ),
        ("e\u0301te\u0301 q\u0303uick", "ete quick"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("Keep: these; punct! marks? (yes) [ok] -- 'fine' \"too\"",) * 2,
        ("Привет мир 世界", "Привет мир 世界"),
    ],
)
def test_fold_line(raw: str, clean: str) -> None:
    assert fold_line(raw) == clean


def test_lines_without_letters_are_dropped() -> None:
    assert clean_text("***\n  12  \n- 3 -\n. . .\nword\n\u2014\n") == ["word"]


def test_line_breaks_of_every_kind() -> None:
    assert clean_text("a\r\nb\rc\u2028d\u2029e\x85f\x0cg\x0bh") == list("abcdefgh")


def test_clean_bytes_is_clean_text_of_decode() -> None:
    data = b"\xef\xbb\xbf[Chorus]\r\n\x93It\x92s\x94  late\r\n\r\n\r\n42\r\n"
    assert clean_bytes(data) == clean_text(decode(data))
    assert clean_bytes("It\u2019s late\u2026\n".encode("utf-16")) == ["It's late..."]


def test_shipped_corpus_is_left_alone() -> None:
    from pathlib import Path

    data = (Path(__file__).parents[1] / "corpora" / "pd_rhyming_couplets.txt").read_bytes()
    raw = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    assert clean_bytes(data) == raw


# --- properties -----------------------------------------------------------------------------


def _check_lines(lines: list[str]) -> None:
    assert isinstance(lines, list)
    for line in lines:
        assert line and line == line.strip()
        assert "\n" not in line and "\r" not in line
        assert not any(unicodedata.category(ch) == "Cc" for ch in line)


@settings(deadline=None)
@given(st.binary())
def test_clean_bytes_never_raises_and_lines_are_clean(data: bytes) -> None:
    _check_lines(clean_bytes(data))


@settings(deadline=None)
@given(st.text())
def test_clean_text_never_raises_and_lines_are_clean(text: str) -> None:
    _check_lines(clean_text(text))


@settings(deadline=None)
@given(st.text(st.characters(exclude_characters="&<>[](){}*")))
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text("\n".join(once)) == once
