"""One pass over a text that finds every place a PII detector has to look at ("anchors").

An anchor is a cheap, fixed trigger: the start of a digit run, an ``@``, a colon followed by a hex digit,
a possible IBAN start, the literal prefix of a token type, or a secret keyword followed by ``:``/``=``.
The detectors then match their precise pattern at the anchor and run validators on those candidates only,
so the cost of a document is one scan plus work proportional to its candidates.

Two engines produce the same anchors:

- ``hyperscan``: every trigger compiled into one database, scanned once over the UTF-8 bytes;
- ``re``: one ``finditer`` per trigger kind with patterns that start with a literal or a character class
  (which CPython's regex engine skips to quickly), for platforms without the hyperscan wheel.

They agree by construction (each trigger is the same language in both; see the notes per kind) and the
tests compare them on the same corpus. ``engine="auto"`` picks hyperscan when it imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["DIGIT", "AT", "COLON", "IBAN", "KEYWORD", "LITERALS", "WORD_CHARS", "Anchors", "available_engines", "scanner"]

DIGIT, AT, COLON, IBAN, KEYWORD = 0, 1, 2, 3, 4
LITERALS: tuple[tuple[str, str], ...] = (
    # (literal that starts a token, the type whose pattern is matched at it)
    ("-----BEGIN", "PRIVATE_KEY"),
    *((p, "AWS_ACCESS_KEY") for p in ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA")),
    *((p, "GITHUB_TOKEN") for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    ("glpat-", "GITLAB_TOKEN"),
    ("xox", "SLACK_TOKEN"),
    ("eyJ", "JWT"),
    ("://", "URL_CREDENTIALS"),
)
_LIT_BASE = 16  # anchor kind of LITERALS[i] is _LIT_BASE + i

# A secret keyword that ends an identifier and is followed by an assignment (``DB_PASSWORD=``, ``"api_key": ``).
_KEYWORD = r"(?:password|passwd|pass|pwd|secret|token|key)[\"']?[ \t]*[:=]"
# A number worth reading has at least 7 characters of digits and separators (phones, cards, SSNs, IPv4):
# a digit-run start counts as an anchor only when the next 6 characters are of that alphabet.
_NUMERIC_TAIL = r"[0-9 ().+/-]{6}"
WORD_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
"""ASCII word characters: what "glued to an identifier" means for every detector (hyperscan is ASCII-only)."""


@dataclass(frozen=True)
class Anchors:
    """Anchor positions (character offsets) of one text, per kind, each list ascending and without repeats.

    ``digits``: starts of digit runs not glued to a preceding ASCII letter/digit/underscore and followed by at
    least 6 more digits or separators;
    ``ats``: ``@`` positions; ``colons``: positions of a ``:`` followed by a hex digit or ``:``;
    ``ibans``: starts of ``[A-Z]{2}[0-9]{2}`` not glued to a preceding word character;
    ``keywords``: end offsets of secret keyword assignments; ``literals``: (start, literal index).
    """

    digits: list[int]
    ats: list[int]
    colons: list[int]
    ibans: list[int]
    keywords: list[int]
    literals: list[tuple[int, int]]


def available_engines() -> tuple[str, ...]:
    """The engines that work on this platform, fastest first."""
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return ("re",)
    return ("hyperscan", "re")


def scanner(engine: str = "auto") -> Callable[[str], Anchors]:
    """A function text -> :class:`Anchors` using ``engine`` (``auto`` | ``hyperscan`` | ``re``); compiled once per process."""
    if engine == "auto":
        engine = available_engines()[0]
    if engine == "hyperscan":
        return _hyperscan_scanner()
    if engine == "re":
        return _re_scan
    raise ValueError(f"unknown PII scan engine {engine!r}: one of auto, hyperscan, re")


# -- re engine ---------------------------------------------------------------------------------------

_RE_NUMERIC_RUN = re.compile(r"[0-9][0-9 ().+/-]{6,}")  # a maximal run of the numeric alphabet from a digit
_RE_RUN_START = re.compile(r"(?<![0-9A-Za-z_])[0-9]")
_RE_COLON = re.compile(r":[0-9A-Fa-f:]")
_RE_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}")
_RE_ASSIGN = re.compile(r"[:=]")
_KEYWORDS = ("password", "passwd", "pass", "pwd", "secret", "token", "key")
# "eyJ" and "://" are frequent enough that str.find beats a regex alternation for them
_FIND_LITERALS = ("eyJ", "://", "xox")  # ("xox" can overlap itself: "xoxox" has two)
_RE_LITERAL = re.compile("|".join(re.escape(lit) for lit, _ in LITERALS if lit not in _FIND_LITERALS))
_LITERAL_INDEX = {lit: i for i, (lit, _) in enumerate(LITERALS)}


def _unglued(text: str, starts: list[int]) -> list[int]:
    return [s for s in starts if s == 0 or text[s - 1] not in WORD_CHARS]


def _re_scan(text: str) -> Anchors:
    # Each kind yields exactly the positions its hyperscan twin reports (see the notes per kind).
    digits: list[int] = []
    for run in _RE_NUMERIC_RUN.finditer(text):
        # anchors: unglued digit-run starts with 6 more characters of the numeric alphabet after them,
        # i.e. the run starts at least 7 characters before the end of the maximal run
        digits += [m.start() for m in _RE_RUN_START.finditer(text, run.start(), run.end() - 6)]
    ats = [m.start() for m in re.finditer("@", text)] if "@" in text else []
    colons = [m.start() for m in _RE_COLON.finditer(text)] if ":" in text else []
    ibans = _unglued(text, [m.start() for m in _RE_IBAN.finditer(text)])
    keywords = [m.end() for m in _RE_ASSIGN.finditer(text) if _after_keyword(text, m.start())]
    literals = [(m.start(), _LITERAL_INDEX[m.group()]) for m in _RE_LITERAL.finditer(text)]
    for lit in _FIND_LITERALS:
        index, i = _LITERAL_INDEX[lit], text.find(lit)
        while i >= 0:
            literals.append((i, index))
            i = text.find(lit, i + 1)
    return Anchors(digits, ats, colons, ibans, keywords, sorted(literals))


def _after_keyword(text: str, pos: int) -> bool:
    """``text[pos]`` (``:`` or ``=``) follows a secret keyword, an optional quote and blanks (ASCII, any case)."""
    j = pos
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    if j > 0 and text[j - 1] in "\"'":
        j -= 1
    tail = text[max(0, j - 8) : j]
    if not tail.isascii():  # hyperscan's caseless matching folds ASCII letters only (no Kelvin sign for "k")
        tail = "".join(c if c.isascii() else "\0" for c in tail)
    return tail.lower().endswith(_KEYWORDS)


# -- hyperscan engine --------------------------------------------------------------------------------

# (pattern, kind, offset of the anchor from the match end; None: the anchor is the match end itself)
_HS_PATTERNS: tuple[tuple[str, int, int | None], ...] = (
    (r"[^0-9A-Za-z_][0-9]" + _NUMERIC_TAIL, DIGIT, 7),
    (r"^[0-9]" + _NUMERIC_TAIL, DIGIT, 7),
    (r"@", AT, 1),
    (r":[0-9A-Fa-f:]", COLON, 2),
    (r"[^0-9A-Za-z_][A-Z]{2}[0-9]{2}", IBAN, 4),
    (r"^[A-Z]{2}[0-9]{2}", IBAN, 4),
    (_KEYWORD, KEYWORD, None),
    *((re.escape(lit), _LIT_BASE + i, len(lit)) for i, (lit, _) in enumerate(LITERALS)),
)


@lru_cache(maxsize=1)
def _hyperscan_scanner() -> Callable[[str], Anchors]:
    import hyperscan

    db = hyperscan.Database()
    flags = [hyperscan.HS_FLAG_CASELESS if kind == KEYWORD else 0 for _, kind, _ in _HS_PATTERNS]
    db.compile(expressions=[p.encode() for p, _, _ in _HS_PATTERNS], ids=list(range(len(_HS_PATTERNS))), elements=len(_HS_PATTERNS), flags=flags)
    scratch = hyperscan.Scratch(db)
    kinds = [kind for _, kind, _ in _HS_PATTERNS]
    backs = [back for _, _, back in _HS_PATTERNS]

    def scan(text: str) -> Anchors:
        data = text.encode("utf-8")
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((pid, end))

        db.scan(data, match_event_handler=on_match, scratch=scratch)
        to_char = _byte_to_char(data) if len(data) != len(text) else None
        buckets: list[set[int]] = [set(), set(), set(), set(), set()]
        literals: set[tuple[int, int]] = set()
        for pid, end in hits:
            back = backs[pid]
            pos = end if back is None else end - back
            if to_char is not None:  # every anchor and keyword end sits on a character boundary
                pos = int(to_char[pos]) if pos < len(data) else len(text)
            kind = kinds[pid]
            if kind >= _LIT_BASE:
                literals.add((pos, kind - _LIT_BASE))
            else:
                buckets[kind].add(pos)
        digits, ats, colons, ibans, keywords = (sorted(b) for b in buckets)
        return Anchors(digits, ats, _leftmost(colons, 2), ibans, keywords, sorted(literals))

    return scan


def _leftmost(positions: list[int], width: int) -> list[int]:
    """The matches ``re.finditer`` keeps of all (overlapping) matches of a fixed ``width``: leftmost first."""
    kept: list[int] = []
    for p in positions:
        if not kept or p >= kept[-1] + width:
            kept.append(p)
    return kept


def _byte_to_char(data: bytes) -> np.ndarray:
    """Character index of every byte of a UTF-8 string (continuation bytes map to their character)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    return np.cumsum((arr & 0xC0) != 0x80) - 1
