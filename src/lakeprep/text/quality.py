"""Document quality signals and filters in the style of Gopher (Rae et al. 2021) and C4 (no Spark).

:func:`quality_signals` measures a normalized document; :func:`quality_reasons` compares the signals
with thresholds and returns every rule the document breaks, as ``rule:value`` strings, so a rejected
document can be audited (``quarantine.silver.reject_reasons``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, fields

__all__ = ["QualitySignals", "QualityThresholds", "quality_reasons", "quality_signals"]

_WORD = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6\u2043\u2219]|\d+[.)])\s+")
_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)\s*$")
_SYMBOLS = re.compile(r"#|\.\.\.|\u2026")
_HEADING = re.compile(r"(?m)^#{1,6}\s")


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
    bullet_line_fraction: float  # lines starting with a bullet
    ellipsis_line_fraction: float  # lines ending with an ellipsis


@dataclass(frozen=True)
class QualityThresholds:
    """Bounds a document must meet; defaults follow Gopher, loosened for short technical documents."""

    min_words: int = 20
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    min_alpha_word_fraction: float = 0.8
    max_duplicate_line_fraction: float = 0.3
    max_duplicate_paragraph_fraction: float = 0.3
    max_bullet_line_fraction: float = 0.9
    max_ellipsis_line_fraction: float = 0.3

    def __post_init__(self) -> None:
        from lakeprep.errors import ConfigError

        if not 0 <= self.min_words <= self.max_words:
            raise ConfigError("silver.quality.min_words", f"need 0 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if not 0 < self.min_mean_word_length <= self.max_mean_word_length:
            raise ConfigError("silver.quality.min_mean_word_length", "need 0 < min_mean_word_length <= max_mean_word_length")
        for f in fields(self):
            if f.name.endswith(("_fraction", "_ratio")) and not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ConfigError(f"silver.quality.{f.name}", f"must be between 0 and 1, got {getattr(self, f.name)}")


def _dup_fraction(items: list[str]) -> float:
    if not items:
        return 0.0
    counts = Counter(items)
    repeats = sum(n - 1 for n in counts.values())
    return repeats / len(items)


def quality_signals(text: str) -> QualitySignals:
    words = _WORD.findall(text)
    n_words = len(words)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    n_lines = len(lines)
    return QualitySignals(
        char_count=len(text),
        word_count=n_words,
        mean_word_length=(sum(len(w) for w in words) / n_words) if n_words else 0.0,
        # Markdown heading markers (kept from HTML structure) are not symbols.
        symbol_word_ratio=(len(_SYMBOLS.findall(_HEADING.sub("", text))) / n_words) if n_words else 0.0,
        alpha_word_fraction=(sum(1 for w in words if _ALPHA.search(w)) / n_words) if n_words else 0.0,
        duplicate_line_fraction=_dup_fraction(lines),
        duplicate_paragraph_fraction=_dup_fraction(paragraphs),
        bullet_line_fraction=(sum(1 for line in lines if _BULLET.match(line)) / n_lines) if n_lines else 0.0,
        ellipsis_line_fraction=(sum(1 for line in lines if _ELLIPSIS.search(line)) / n_lines) if n_lines else 0.0,
    )


def quality_reasons(s: QualitySignals, t: QualityThresholds) -> list[str]:
    """Every rule ``s`` breaks, e.g. ``["too_few_words:12<20"]``; empty when the document passes."""
    checks = [
        (s.word_count < t.min_words, f"too_few_words:{s.word_count}<{t.min_words}"),
        (s.word_count > t.max_words, f"too_many_words:{s.word_count}>{t.max_words}"),
        (
            s.word_count > 0 and s.mean_word_length < t.min_mean_word_length,
            f"mean_word_length_low:{s.mean_word_length:.2f}<{t.min_mean_word_length}",
        ),
        (
            s.mean_word_length > t.max_mean_word_length,
            f"mean_word_length_high:{s.mean_word_length:.2f}>{t.max_mean_word_length}",
        ),
        (
            s.symbol_word_ratio > t.max_symbol_word_ratio,
            f"symbol_ratio_high:{s.symbol_word_ratio:.3f}>{t.max_symbol_word_ratio}",
        ),
        (
            s.word_count > 0 and s.alpha_word_fraction < t.min_alpha_word_fraction,
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
            s.bullet_line_fraction > t.max_bullet_line_fraction,
            f"bullet_lines:{s.bullet_line_fraction:.3f}>{t.max_bullet_line_fraction}",
        ),
        (
            s.ellipsis_line_fraction > t.max_ellipsis_line_fraction,
            f"ellipsis_lines:{s.ellipsis_line_fraction:.3f}>{t.max_ellipsis_line_fraction}",
        ),
    ]
    return [reason for broken, reason in checks if broken]


SIGNAL_NAMES: tuple[str, ...] = tuple(f.name for f in fields(QualitySignals))
