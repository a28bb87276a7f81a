"""Document quality signals and filters in the style of Gopher (Rae et al. 2021) and C4 (no Spark).

:func:`quality_signals` measures a normalized document; :func:`quality_reasons` compares the signals
with thresholds and returns every rule the document breaks, as ``rule:value`` strings, so a rejected
document can be audited (``quarantine.silver.reject_reasons``).

Two named profiles (:data:`PROFILES`, ``silver.quality.profile``):

- ``web``: Gopher/C4 thresholds, every signal measured on the whole text (what lakeprep always did).
- ``docs``: for manuals, wikis and code-rich text. The prose signals (mean word length, symbol ratio,
  alphabetic words, repeated lines and paragraphs, bullets, ellipses) are measured on the prose only:
  fenced code blocks and inline code spans are left out, because SQL, shell and C are not bad prose. Code
  gets its own signals (``code_fraction``, ``code_block_count``, ``max_code_line_length``) and one rule:
  a code line longer than ``max_code_line_length`` (minified bundles, base64 blobs) rejects the page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, fields, replace
from itertools import compress, repeat
from operator import is_
from typing import Any

from lakeprep.text.markdown import INLINE_CODE, code_line_mask

__all__ = ["PROFILES", "QualitySignals", "QualityThresholds", "prose_of", "quality_reasons", "quality_signals", "signals_and_prose"]

_ALPHA = re.compile(r"[^\W\d_]")
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6\u2043\u2219]|\d+[.)])\s+")
_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)\s*$")
_SYMBOLS = re.compile(r"#|\.\.\.|\u2026")
_HASHTAG_OR_ELLIPSIS = re.compile(r"^\W*#[^\W\d_]|\.\.\.|\u2026")  # docs: #408 is an issue number, not a hashtag
_HEADING = re.compile(r"(?m)^#{1,6}\s")
# Markdown syntax and separators, not words: a lone symbol (| - * > : ◆), a heading marker, a table rule
_MARKUP = re.compile(r"[^\w\s]|_|#{1,6}|[-:|]{2,}")
# an identifier or code token written in prose: snake_case, camelCase, a::b, a->b, f(), #define, a.b.c()
# a path or URL, a dotted name (os.path.join, www.example.org)
_IDENTIFIER = re.compile(
    r"[A-Za-z0-9]_[A-Za-z0-9]|[a-z][A-Z]|::|->|\w\(|^\W*#(?:define|include|if|ifn?def|endif|else|elif|undef|pragma)\b"
    r"|://|^\W*[~.]?/\w|[a-z0-9_]\.[a-z_]"
)


@dataclass(frozen=True)
class QualitySignals:
    """Per-document measurements (kept as columns in silver for the report)."""

    char_count: int
    word_count: int
    mean_word_length: float
    symbol_word_ratio: float  # '#' and ellipses per word
    alpha_word_fraction: float  # words with at least one letter
    duplicate_line_fraction: float  # lines that repeat an earlier line
    duplicate_paragraph_fraction: float  # paragraphs that repeat an earlier paragraph
    duplicate_line_char_fraction: float  # characters in lines that repeat an earlier line
    duplicate_paragraph_char_fraction: float  # characters in paragraphs that repeat an earlier paragraph
    bullet_line_fraction: float  # lines starting with a bullet
    ellipsis_line_fraction: float  # lines ending with an ellipsis
    prose_word_count: int  # words outside fenced code blocks and inline code spans
    code_fraction: float  # non-blank characters in fenced code blocks and inline code spans
    code_block_count: int  # fenced code blocks
    max_code_line_length: int  # characters in the longest line of a fenced code block


@dataclass(frozen=True)
class QualityThresholds:
    """Bounds a document must meet; the defaults are the ``web`` profile (Gopher, loosened for short
    technical documents). ``code_aware`` measures prose signals on the prose only (``docs``)."""

    profile: str = "web"
    code_aware: bool = False
    min_words: int = 20
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    min_alpha_word_fraction: float = 0.8
    max_duplicate_line_fraction: float = 0.3
    max_duplicate_paragraph_fraction: float = 0.3
    max_duplicate_line_char_fraction: float = 1.0  # 1.0: no rule (web); Gopher uses 0.2
    max_duplicate_paragraph_char_fraction: float = 1.0
    max_bullet_line_fraction: float = 0.9
    max_ellipsis_line_fraction: float = 0.3
    max_code_line_length: int | None = None  # None: no rule on code lines
    min_prose_words: int = 1  # prose ratios (word length, symbols, alpha words) are judged from this many prose words

    def __post_init__(self) -> None:
        from lakeprep.errors import ConfigError

        if self.profile not in _PROFILE_NAMES:
            raise ConfigError("silver.quality.profile", f"{self.profile!r} is not one of {list(_PROFILE_NAMES)}")
        if self.max_code_line_length is not None and self.max_code_line_length < 1:
            raise ConfigError("silver.quality.max_code_line_length", f"must be >= 1 (or null for no limit), got {self.max_code_line_length}")

        if not 0 <= self.min_words <= self.max_words:
            raise ConfigError("silver.quality.min_words", f"need 0 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if not 0 < self.min_mean_word_length <= self.max_mean_word_length:
            raise ConfigError("silver.quality.min_mean_word_length", "need 0 < min_mean_word_length <= max_mean_word_length")
        for f in fields(self):
            if f.name.endswith(("_fraction", "_ratio")) and not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ConfigError(f"silver.quality.{f.name}", f"must be between 0 and 1, got {getattr(self, f.name)}")


    @classmethod
    def from_profile(cls, profile: str = "web", **overrides: Any) -> "QualityThresholds":
        """The named profile's thresholds with ``overrides`` on top (how ``silver.quality`` is read)."""
        if profile not in PROFILES:
            from lakeprep.errors import ConfigError

            raise ConfigError("silver.quality.profile", f"{profile!r} is not one of {list(PROFILES)}")
        return replace(PROFILES[profile], **overrides)


_PROFILE_NAMES = ("web", "docs")


def _dup_fraction(items: list[str]) -> float:
    if not items:
        return 0.0
    counts = Counter(items)
    repeats = sum(n - 1 for n in counts.values())
    return repeats / len(items)


def _dup_char_fraction(items: list[str]) -> float:
    """Characters in items that repeat an earlier item, over all characters (Gopher's char-weighted form)."""
    total = sum(len(x) for x in items)
    if not total:
        return 0.0
    return sum(len(x) * (n - 1) for x, n in Counter(items).items()) / total


_PREPROCESSOR = re.compile(r"[ \t|]*#[ \t]*(?:define|include|undef|if|ifn?def|elif|else|endif|pragma)\b")


def _split_code(text: str) -> tuple[str, list[str], int]:
    """``(prose, code lines, fenced blocks)``: prose without fenced blocks, inline code spans and C
    preprocessor lines (API references list ``#define NAME value`` outside code blocks)."""
    lines = text.split("\n")
    mask = [c or bool(_PREPROCESSOR.match(line)) for c, line in zip(code_line_mask(lines), lines)]
    prose_lines: list[str] = []
    code_lines: list[str] = []
    blocks = 0
    was_code = False
    for line, is_code in zip(lines, mask):
        if is_code:
            blocks += not was_code
            code_lines.append(line)
        else:
            prose_lines.append(line)
        was_code = is_code
    return INLINE_CODE.sub(" ", "\n".join(prose_lines)), code_lines, blocks


# What the prose signals need of one word, packed in an int: its length << 3 | the flags below
_PROSE, _HAS_LETTER, _TAG_OR_ELLIPSIS = 1, 2, 4


def _classify(word: str) -> int:
    prose = not _MARKUP.fullmatch(word) and not _IDENTIFIER.search(word)
    letter = _ALPHA.search(word) is not None
    tag = _HASHTAG_OR_ELLIPSIS.search(word) is not None
    return len(word) << 3 | prose * _PROSE | letter * _HAS_LETTER | tag * _TAG_OR_ELLIPSIS


_KNOWN: dict[str, int] = {}  # _classify of words seen before (a worker sees the same words over and over)
_KNOWN_MAX, _KNOWN_WORD_MAX = 1 << 16, 40  # entries before it starts afresh; longer words (URLs, blobs) rarely repeat


def _kinds(words: list[str]) -> Counter[int]:
    """How many words of each kind: ``len(word) << 3`` | ``_PROSE`` (not Markdown syntax, not an identifier: code
    written inline) | ``_HAS_LETTER`` | ``_TAG_OR_ELLIPSIS`` (docs' symbol words). Three regular expressions per word
    were most of the quality signals' time; a word seen before is looked up instead."""
    kinds = list(map(_KNOWN.get, words))
    if None in kinds:
        new = {w: _classify(w) for w in compress(words, map(is_, kinds, repeat(None)))}
        kinds = [new[w] if k is None else k for w, k in zip(words, kinds)]
        if len(_KNOWN) > _KNOWN_MAX:
            _KNOWN.clear()
        _KNOWN.update((w, k) for w, k in new.items() if len(w) <= _KNOWN_WORD_MAX)
    return Counter(kinds)


def _with(kinds: Counter[int], flag: int) -> int:
    """How many of the words counted in ``kinds`` have ``flag``."""
    return sum(n for k, n in kinds.items() if k & flag)


def prose_of(text: str) -> str:
    """``text`` without its fenced code blocks and inline code spans."""
    return _split_code(text)[0]


def quality_signals(text: str, *, code_aware: bool = False) -> QualitySignals:
    """Measure ``text``; with ``code_aware`` the prose signals leave fenced and inline code out.

    ``word_count`` and ``char_count`` always count the whole text (they bound the document's size)."""
    return signals_and_prose(text, code_aware=code_aware)[0]


def signals_and_prose(text: str, *, code_aware: bool = False) -> tuple[QualitySignals, str]:
    """:func:`quality_signals` and :func:`prose_of` from one pass over the lines (silver needs both)."""
    prose, code_lines, blocks = _split_code(text)
    body = [line for line in code_lines if not line.lstrip().startswith(("```", "~~~"))]
    nonblank = len(text) - text.count(" ") - text.count("\n") - text.count("\t")
    prose_nonblank = len(prose) - prose.count(" ") - prose.count("\n") - prose.count("\t")
    words = text.split()  # the same tokens as \S+: str.split's whitespace is exactly the regex's \s
    n_words = len(words)
    measured = prose if code_aware else text
    text_kinds = _kinds(words)
    prose_all = text_kinds if prose == text else _kinds(prose.split())
    # every word of the text (web), or the prose words of the prose (docs)
    kinds = Counter({k: n for k, n in prose_all.items() if k & _PROSE}) if code_aware else text_kinds
    n_m, m_chars = sum(kinds.values()), sum((k >> 3) * n for k, n in kinds.items())
    lines = [s for s in (line.strip() for line in measured.split("\n")) if s]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", measured) if p.strip()]
    n_lines = len(lines)
    signals = QualitySignals(
        char_count=len(text),
        word_count=n_words,
        mean_word_length=(m_chars / n_m) if n_m else 0.0,
        # Markdown heading markers (kept from HTML structure) are not symbols.
        symbol_word_ratio=(
            (_with(kinds, _TAG_OR_ELLIPSIS) if code_aware else len(_SYMBOLS.findall(_HEADING.sub("", measured)))) / n_m
            if n_m
            else 0.0
        ),
        alpha_word_fraction=(_with(kinds, _HAS_LETTER) / n_m) if n_m else 0.0,
        duplicate_line_fraction=_dup_fraction(lines),
        duplicate_paragraph_fraction=_dup_fraction(paragraphs),
        duplicate_line_char_fraction=_dup_char_fraction(lines),
        duplicate_paragraph_char_fraction=_dup_char_fraction(paragraphs),
        bullet_line_fraction=(sum(1 for line in lines if _BULLET.match(line)) / n_lines) if n_lines else 0.0,
        ellipsis_line_fraction=(sum(1 for line in lines if _ELLIPSIS.search(line)) / n_lines) if n_lines else 0.0,
        prose_word_count=_with(prose_all, _PROSE),
        code_fraction=(1.0 - prose_nonblank / nonblank) if nonblank else 0.0,
        code_block_count=blocks,
        max_code_line_length=max((len(line) for line in body), default=0),
    )
    return signals, prose


def quality_reasons(s: QualitySignals, t: QualityThresholds) -> list[str]:
    """Every rule ``s`` breaks, e.g. ``["too_few_words:12<20"]``; empty when the document passes."""
    measured = s.prose_word_count if t.code_aware else s.word_count  # words the prose ratios were taken over
    judged = measured >= max(t.min_prose_words, 1)
    checks = [
        (s.word_count < t.min_words, f"too_few_words:{s.word_count}<{t.min_words}"),
        (s.word_count > t.max_words, f"too_many_words:{s.word_count}>{t.max_words}"),
        (
            judged and s.mean_word_length < t.min_mean_word_length,
            f"mean_word_length_low:{s.mean_word_length:.2f}<{t.min_mean_word_length}",
        ),
        (
            judged and s.mean_word_length > t.max_mean_word_length,
            f"mean_word_length_high:{s.mean_word_length:.2f}>{t.max_mean_word_length}",
        ),
        (
            judged and s.symbol_word_ratio > t.max_symbol_word_ratio,
            f"symbol_ratio_high:{s.symbol_word_ratio:.3f}>{t.max_symbol_word_ratio}",
        ),
        (
            judged and s.alpha_word_fraction < t.min_alpha_word_fraction,
            f"alpha_fraction_low:{s.alpha_word_fraction:.3f}<{t.min_alpha_word_fraction}",
        ),
        (
            s.duplicate_line_fraction > t.max_duplicate_line_fraction,
            f"duplicate_lines:{s.duplicate_line_fraction:.3f}>{t.max_duplicate_line_fraction}",
        ),
        (
            s.duplicate_paragraph_fraction > t.max_duplicate_paragraph_fraction,
            f"duplicate_paragraphs:{s.duplicate_paragraph_fraction:.3f}>{t.max_duplicate_paragraph_fraction}",
        ),
        (
            s.duplicate_line_char_fraction > t.max_duplicate_line_char_fraction,
            f"duplicate_line_chars:{s.duplicate_line_char_fraction:.3f}>{t.max_duplicate_line_char_fraction}",
        ),
        (
            s.duplicate_paragraph_char_fraction > t.max_duplicate_paragraph_char_fraction,
            f"duplicate_paragraph_chars:{s.duplicate_paragraph_char_fraction:.3f}>{t.max_duplicate_paragraph_char_fraction}",
        ),
        (
            s.bullet_line_fraction > t.max_bullet_line_fraction,
            f"bullet_lines:{s.bullet_line_fraction:.3f}>{t.max_bullet_line_fraction}",
        ),
        (
            s.ellipsis_line_fraction > t.max_ellipsis_line_fraction,
            f"ellipsis_lines:{s.ellipsis_line_fraction:.3f}>{t.max_ellipsis_line_fraction}",
        ),
        (
            t.max_code_line_length is not None and s.max_code_line_length > t.max_code_line_length,
            f"code_line_too_long:{s.max_code_line_length}>{t.max_code_line_length}",
        ),
    ]
    return [reason for broken, reason in checks if broken]


SIGNAL_NAMES: tuple[str, ...] = tuple(f.name for f in fields(QualitySignals))

PROFILES: dict[str, QualityThresholds] = {
    "web": QualityThresholds(),
    # measured on five Debian documentation corpora (benchmarks/extract.py): see the README
    "docs": QualityThresholds(
        profile="docs",
        code_aware=True,
        min_words=5,
        max_words=1_000_000,  # single-page manuals (texinfo, asciidoc) run past 100,000 words
        min_prose_words=30,
        max_mean_word_length=12.0,
        max_duplicate_line_fraction=1.0,  # index and reference pages repeat short lines; judged by characters
        max_duplicate_paragraph_fraction=1.0,
        max_duplicate_line_char_fraction=0.5,
        max_duplicate_paragraph_char_fraction=0.5,
        max_bullet_line_fraction=1.0,  # lists are how manuals are written
        max_code_line_length=2000,
    ),
}
"""The named threshold sets ``silver.quality.profile`` starts from."""
