"""Context rules that keep technical text intact: identifier glue, version/numbering words, table headers,
and the words that must be near a number before it counts as a phone, card, SSN or network address."""

from __future__ import annotations

import re

from lakeprep.pii._scan import WORD_CHARS

__all__ = [
    "CARD_WORDS",
    "NETWORK_WORDS",
    "section_number",
    "PHONE_WORDS",
    "SSN_WORDS",
    "column_header",
    "glue_allows",
    "glue_key",
    "header_says",
    "labelled",
    "near",
    "version_context",
]

_GLUE = frozenset("-_/=.:(#")
_KEY_CHARS = WORD_CHARS | {"-", "."}

# words a key may contain for a glued value to still count (``phone=``, ``tel:``, ``ip=``, ``host=``, ``addr``)
_ALLOWED_KEY_PARTS = re.compile(
    r"(?:^|[_.-])(?:phone|tel|telephone|mobile|cell|fax|contact|ip|ipv4|ipv6|ipaddr|host|hostname|addr|address|"
    r"server|remote|client|peer|gateway|dns|nameserver|inet|src|dst|source|dest|card|ssn|iban)(?:$|[_.-])"
)

PHONE_WORDS = re.compile(
    r"\b(?:phone|ph|t[eé]l|telephone|t[eé]l[eé]phone|telefon|tel[eé]fono|telefone|telefono|call|called|calling|mobile|"
    r"mobil|m[oó]vil|cell|cellulare|handy|gsm|portable|fax|contact|kontakt|contacto|contatto|contato|sms|whatsapp|dial|"
    r"hotline|reach|puh|tlf|tfn|mob|"
    r"rufnummer)\b"
)
CARD_WORDS = re.compile(
    r"card|karte|carte|tarjeta|carta|kaart|kort|cart[aã]o|visa|mastercard|amex|\bcc\b|credit|debit|payment|\bpan\b|"
    r"jcb|unionpay|maestro|discover|diners|\bmir\b"
)
SSN_WORDS = re.compile(r"\bssn\b|social security")
NETWORK_WORDS = re.compile(
    r"host|\bip\b|ipv4|addr|server|dns|gateway|subnet|listen|bind|\bping|\binet|cidr|netmask|route|proxy|nameserver|"
    r"client|remote|peer|firewall|connect"
)
_VERSION_WORDS = re.compile(
    r"(?:\bv|version|versions|release|released|build|rev|revision|section|sections|chapter|chapters|sect|ver|§|"
    r"firmware|kernel|update|patch)\W{0,3}(?:[^\W\d]+\W{1,3})?$"
)
_HEADER_VERSION = re.compile(r"version|release|build|\brev")


def glue_key(text: str, start: int) -> str | None:
    """The identifier a value at ``start`` is glued to (``CVE-``, ``Chrome/``, ``APP_VERSION=``, ``to_hex(``), if any."""
    if start < 2 or text[start - 1] not in _GLUE or text[start - 2] not in WORD_CHARS:
        return None
    i = start - 1
    while i > 0 and text[i - 1] in _KEY_CHARS and start - i < 64:
        i -= 1
    return text[i : start - 1].lower()


def glue_allows(key: str) -> bool:
    """A key that says the value is PII (``phone=``, ``tel:``, ``ip=``, ``host=``, ``remote_addr=``)."""
    return _ALLOWED_KEY_PARTS.search(key) is not None


def _window(text: str, start: int, end: int) -> tuple[str, int]:
    """``text[start:end]`` lowercased, with one character before it so ``\\b`` sees the real boundary."""
    lo = max(0, start - 1)
    return text[lo:end].lower(), start - lo


def near(pattern: re.Pattern[str], text: str, start: int, end: int, *, before: int = 40, after: int = 0) -> bool:
    """``pattern`` (lowercase) occurs within ``before`` characters before or ``after`` after the span."""
    window, pos = _window(text, max(0, start - before), start)
    if pattern.search(window, pos):
        return True
    if not after:
        return False
    window, pos = _window(text, end, end + after)
    return pattern.search(window, pos) is not None


def labelled(pattern: re.Pattern[str], text: str, start: int, *, gap: int = 48) -> bool:
    """``pattern`` labels the value at ``start``: its last match on the same line ends at most ``gap``
    characters earlier, with no digit in between (``Tel: 0290361962``, ``call me on 0290361962``)."""
    line_start = text.rfind("\n", 0, start) + 1
    window, pos = _window(text, max(0, line_start, start - gap - 24), start)
    last = None
    for last in pattern.finditer(window, pos):
        pass
    if last is None or len(window) - last.end() > gap:
        return False
    return not any(c.isdigit() for c in window[last.end() :])


def column_header(text: str, start: int) -> str | None:
    """The header cell of the table column holding ``start``: Markdown ``|`` tables, tab-separated rows, CSV."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    sep = "|" if "|" in line else "\t" if "\t" in line else "," if line.count(",") >= 2 else None
    if sep is None:
        return None
    column = text.count(sep, line_start, start)
    header = line
    pos = line_start
    while pos > 0:  # walk up while the lines above are rows of the same table
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        prev = text[prev_start : pos - 1]
        if sep not in prev or (sep == "," and prev.count(",") != line.count(",")):
            break
        header, pos = prev, prev_start
    if header is line:
        return None
    cells = header.split(sep)
    return cells[column].strip().lower() if column < len(cells) else None


def section_number(text: str, start: int, end: int) -> bool:
    """``3.2.5.1 Looping Constructs`` or ``#### 12.6.2.1 Compile and install``: a dotted number of small parts
    that opens a line (after heading marks) and is followed by a capitalised word, as numbered headings and
    contents entries are (seen in PDF manuals, where every heading and contents line is one)."""
    line = text.rfind("\n", 0, start) + 1
    if text[line:start].strip(" #\f") or not (end + 1 < len(text) and text[end] == " " and text[end + 1].isupper()):
        return False
    return all(int(p) <= 30 for p in text[start:end].split("."))


def version_context(text: str, start: int) -> bool:
    """A version/release/section word shortly before ``start``, or a table column whose header names a version."""
    window, pos = _window(text, max(0, start - 32, text.rfind("\n", 0, start) + 1), start)
    if _VERSION_WORDS.search(window, pos):
        return True
    header = column_header(text, start)
    return header is not None and _HEADER_VERSION.search(header) is not None


def header_says(pattern: re.Pattern[str], text: str, start: int) -> bool:
    """The table column holding ``start`` has a header matching ``pattern`` (``| phone |``, ``card_number,``)."""
    header = column_header(text, start)
    return header is not None and pattern.search(header) is not None
