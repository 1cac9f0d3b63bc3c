"""Turning messy user text (any encoding, HTML, Gutenberg books, lyrics sites) into verse lines.

Every function here is pure and never raises, whatever bytes or text it is given.

>>> clean_bytes("\\ufeff[Chorus]\\r\\nIt\\u2019s  late\\u2026\\r\\n\\r\\n\\r\\n 42".encode())
["It's late..."]
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

# --- decoding ----------------------------------------------------------------------------

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE = 1 << 16  # bytes looked at by the guessing heuristics
_WESTERN_MAX = 0.3  # most letters of English / Western European text are plain ASCII


def decode(data: bytes) -> str:
    """Bytes to text: a BOM, else UTF-16/32 told by its NUL bytes, else strict UTF-8, else
    cp1252 if it reads as Western text, else charset-normalizer's guess, else lossy cp1252.

    >>> decode("\\ufeffRoses".encode("utf-16-le"))
    'Roses'
    >>> decode(b"\\x93Hi,\\x94 caf\\xe9")
    '“Hi,” café'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = _wide_encoding(data[:_SAMPLE])  # before UTF-8: ASCII in UTF-16 is valid UTF-8
    if wide:
        return data.decode(wide, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    western = _western(data)
    if western is not None:
        return western
    guess = _charset_normalizer_guess(data)
    if guess is not None:
        return guess
    return data.decode("cp1252", errors="replace")


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-32 / UTF-16 (LE or BE) without a BOM, told by where the NUL bytes of ASCII
    characters fall; None if the NULs show no such pattern."""
    if len(sample) < 2 or b"\x00" not in sample:
        return None
    n4 = len(sample) // 4
    if n4:
        quads = [sample[i : 4 * n4 : 4].count(0) / n4 for i in range(4)]
        if min(quads[1:]) > 0.9 and quads[0] < 0.1:
            return "utf-32-le"
        if min(quads[:3]) > 0.9 and quads[3] < 0.1:
            return "utf-32-be"
    n2 = len(sample) // 2
    even, odd = sample[0 : 2 * n2 : 2].count(0) / n2, sample[1 : 2 * n2 : 2].count(0) / n2
    if odd >= 0.3 and even <= 0.05 * odd:
        return "utf-16-le"
    if even >= 0.3 and odd <= 0.05 * even:
        return "utf-16-be"
    return None


def _western(data: bytes) -> str | None:
    """The cp1252 reading of the bytes if it is clean and looks like Western text (few of its
    letters outside ASCII, unlike Cyrillic or Greek read as cp1252); else None.

    Checked before charset-normalizer because that often mistakes short Latin-1 / cp1252
    verse for cp1250, cp1257 or even big5."""
    if b"\x00" in data[:_SAMPLE]:
        return None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    sample = text[:_SAMPLE]
    wide_letters = sum(1 for ch in re.findall(r"[^\x00-\x7f]", sample) if ch.isalpha())
    if not wide_letters:
        return text
    ascii_letters = len(re.findall(r"[A-Za-z]", sample))
    return text if wide_letters <= _WESTERN_MAX * (wide_letters + ascii_letters) else None


def _charset_normalizer_guess(data: bytes) -> str | None:
    """charset-normalizer's best reading, ignoring BOM-less UTF-16/32 guesses for data with no
    NUL bytes (it picks those for short text it cannot place); None if it has none."""
    try:
        from charset_normalizer import from_bytes

        for match in from_bytes(data):
            encoding = match.encoding or ""
            if encoding.startswith(("utf_16", "utf_32")) and b"\x00" not in data:
                continue
            try:
                return str(match)
            except (UnicodeDecodeError, LookupError):
                return data.decode(encoding, errors="replace")
    except Exception:  # a guesser bug must not stop us: fall back to cp1252
        return None
    return None


# --- HTML -------------------------------------------------------------------------------

_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|/?(?:html|head|body|br|p|div|span|script|style|table|tr|td|li|ul|ol"
    r"|h[1-6]|i|b|em|strong|a|pre|blockquote|font|center)\b[^<>]*)>",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BREAK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "td", "th", "pre", "blockquote", "section", "article"}
    | {"header", "footer", "ul", "ol", "table", "dd", "dt", "hr", "body"}
    | {f"h{level}" for level in range(1, 7)}
)
_SKIP_TAGS = frozenset({"script", "style", "title", "noscript", "template"})


class _TextExtractor(HTMLParser):
    """Collects a page's text: block tags and <br> become line breaks, scripts etc. vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAK_TAGS:  # <br/>; a self-closed <script/> has no content to skip
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    """Whether the text contains HTML markup (a known tag or a doctype).

    >>> looks_like_html("Roses are red<br>"), looks_like_html("I <3 you, a < b")
    (True, False)
    """
    return _HTML_TAG.search(text) is not None


def html_to_text(page: str) -> str:
    """The text of an HTML page: tags gone, <br> and block ends as line breaks, <script> and
    <style> contents dropped, entities decoded. Source line breaks are kept too, since verse
    pages often rely on them.

    >>> html_to_text("<p>One&nbsp;&amp; two<br/>three<script>x()</script></p>")
    '\\nOne\\xa0& two\\nthree\\n'
    """
    parser = _TextExtractor()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # html.parser can trip on odd markup: strip tags crudely instead
        page = re.sub(r"<\s*br\s*/?\s*>|</\s*p\s*>", "\n", page, flags=re.IGNORECASE)
        return unescape(re.sub(r"<[^<>]*>", "", page))
    return "".join(parser.parts)


# --- Project Gutenberg --------------------------------------------------------------------

_GUTENBERG_START = re.compile(
    r"^(?:\*{3}\s*START OF (?:THE |THIS )?PROJECT GUTENBERG|\*END\*THE SMALL PRINT)",
    re.IGNORECASE,
)
_GUTENBERG_END = re.compile(
    r"^(?:\*{3}\s*END OF (?:THE |THIS )?PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)",
    re.IGNORECASE,
)


def strip_gutenberg(lines: list[str]) -> list[str]:
    """Keep only the text between Project Gutenberg START and END lines (several books may be
    joined in one file); without a START line, drop everything from an END line, or an older
    'End of the Project Gutenberg EBook' line, on.

    >>> strip_gutenberg(["Licence", "*** START OF THE PROJECT GUTENBERG EBOOK X ***",
    ...                  "Verse", "End of the Project Gutenberg EBook of X", "Licence",
    ...                  "*** START OF THIS PROJECT GUTENBERG EBOOK Y ***", "More verse"])
    ['Verse', 'More verse']
    >>> strip_gutenberg(["Verse", "*** END OF THE PROJECT GUTENBERG EBOOK X ***", "Licence"])
    ['Verse']
    """
    inside = not any(_GUTENBERG_START.match(line) for line in lines)
    kept = []
    for line in lines:
        if _GUTENBERG_START.match(line):
            inside = True
        elif _GUTENBERG_END.match(line):
            inside = False
        elif inside:
            kept.append(line)
    return kept


# --- section headers ----------------------------------------------------------------------

_SECTION = (
    r"(?:(?:pre|post)[- ]?chorus|chorus|verse|bridge|intro|outro|hook|refrain|interlude"
    r"|instrumental|coda|breakdown|(?:guitar |piano )?solo)"
)
# [Chorus], [Verse 2: X], [Illustration: ...], or any short [label]; a long bracketed line
# can be verse, as in some older poems.
_HEADER_BRACKETS = re.compile(
    rf"^\[(?:\s*(?:{_SECTION}|repeat|x\s*\d+|\d+\s*x|illustration|footnote|sidenote"
    r"|transcriber|produced|spoken|pg|page)\b[^\[\]]*"
    r"|\s*(?:[^\[\]\s]+(?:\s+[^\[\]\s]+){0,3}\s*)?)\]$",  # words of a short label
    re.I,
)
_HEADER_PARENS = re.compile(rf"^[({{]\s*(?:repeat\s+)?{_SECTION}\b[^(){{}}]*[)}}]$", re.I)
_HEADER_BARE = re.compile(
    rf"^(?:repeat\s+(?:the\s+)?)?{_SECTION}(?:\s*\d+)?(?:\s*[x×]\s*\d+)?\s*:?$", re.I
)
_HEADER_PREFIX = re.compile(rf"^\[\s*{_SECTION}\b[^\[\]]*\]\s*", re.I)


def is_section_header(line: str) -> bool:
    """Whether a (stripped) line is a song-section label rather than verse.

    >>> [is_section_header(s) for s in ("[Verse 2: X]", "(Chorus)", "Chorus:", "(oh yeah)")]
    [True, True, True, False]
    """
    return bool(
        _HEADER_BRACKETS.match(line) or _HEADER_PARENS.match(line) or _HEADER_BARE.match(line)
    )


# --- characters ---------------------------------------------------------------------------

_PUNCT = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2039\u203a\u02bc\u02bb\u00b4", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2014\u2015\u2e3a\u2e3b\u2013", " -- "),  # en dashes inside words: "-"
    **dict.fromkeys("\u2010\u2011\u2012\u2212\u2043", "-"),
    "\u2026": "...",
    "\u2044": "/",
    "\t": " ",
}
# Letters NFKD leaves alone but that have a usual ASCII spelling.
_LETTERS = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "Þ": "Th",
    "ð": "d",
    "Ð": "D",
    "ı": "i",
}
_COMBINING = (
    (0x300, 0x36F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
_EN_DASH_IN_WORD = re.compile(r"(?<=\w)\u2013(?=\w)")  # 1914–18, not "day – night"
_ODD_CHAR = re.compile(r"[^\x20-\x7e]")


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character that is not printable ASCII, as printable ASCII where sensible."""
    if ch in _PUNCT:
        return _PUNCT[ch]
    if ch in _LETTERS:
        return _LETTERS[ch]
    code = ord(ch)
    if any(lo <= code <= hi for lo, hi in _COMBINING):
        return ""
    category = unicodedata.category(ch)
    if category.startswith("Z"):
        return " "
    if category in ("Cc", "Cf", "Cs", "Co", "Cn") or ch == "\ufffd":
        return ""
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    plain = "".join(_PUNCT.get(c, c) for c in plain)
    return plain if plain and plain.isascii() and plain.isprintable() else ch


def fold_line(line: str) -> str:
    """A line with typographic quotes, dashes and spaces made plain, accents dropped, control
    and invisible characters removed, and whitespace collapsed.

    >>> fold_line("\\u201cCaf\\xe9\\u201d\\u2014na\\xefve\\xa0\\u2019tis\\u2026\\u200b")
    '"Cafe" -- naive \\'tis...'
    >>> fold_line(" 1914\\u201318 \\t day\\u2013 night \\u2013 \\ufb01ne\\x07 ")
    '1914-18 day -- night -- fine'
    """
    if _ODD_CHAR.search(line):
        line = _EN_DASH_IN_WORD.sub("-", unicodedata.normalize("NFC", line))
        line = _ODD_CHAR.sub(lambda m: _fold_char(m.group()), line)
    return " ".join(line.split())


# --- putting it together -------------------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]")


def clean_text(text: str) -> list[str]:
    """Clean verse lines from messy text: one per line, stripped, none empty or letterless,
    with HTML, Gutenberg boilerplate and song-section labels removed.

    >>> clean_text("[Verse 1]\\n\\u201cHey\\u201d\\u2026\\n\\n\\n***\\n12\\n(Chorus)\\nHo &amp; ho")
    ['"Hey"...', 'Ho & ho']
    """
    if looks_like_html(text):
        text = html_to_text(text)
    else:  # scraped plain text often still carries &amp; or &#39;
        text = _ENTITY.sub(lambda m: unescape(m.group()), text)
    lines = strip_gutenberg([fold_line(raw) for raw in text.splitlines()])
    out = []
    for line in lines:
        if is_section_header(line):
            continue
        line = _HEADER_PREFIX.sub("", line)
        if _LETTER.search(line):
            out.append(line)
    return out


def clean_bytes(data: bytes) -> list[str]:
    """Clean verse lines from the raw bytes of a file: ``clean_text(decode(data))``.

    >>> clean_bytes("\\ufeffNight\\r\\n\\r\\nlight".encode("utf-16-le"))
    ['Night', 'light']
    """
    return clean_text(decode(data))
