from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeprep.errors import ConfigError
from lakeprep.text.normalize import NormalizeOptions, html_to_text, normalize_document, normalize_text
from lakeprep.text.quality import QualityThresholds, quality_reasons, quality_signals

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "landing"


def test_html_keeps_headings_and_paragraphs_and_drops_boilerplate() -> None:
    text = html_to_text((SAMPLE / "web" / "spark-intro.html").read_text())
    assert text.startswith("# What Apache Spark is for\n\nApache Spark is an engine")
    assert "\n\n## Why data frames\n\n" in text
    for boilerplate in ("Home", "Docs | Blog", "analytics", "font-family", "All rights reserved"):
        assert boilerplate not in text


def test_html_without_main_content_falls_back_to_plain_text() -> None:
    assert "hello there" in html_to_text("<html><body><span>hello there</span></body></html>")
    assert html_to_text("<html><head><script>var a;</script></head><body></body></html>").strip() == ""


def test_normalize_unicode_controls_and_whitespace() -> None:
    raw = "Cafe\u0301\u200b  menu\x07\r\n\r\n\r\n\r\nline two   \n    indented  code"
    assert normalize_text(raw) == "Café menu\n\nline two\n    indented code"
    assert normalize_text("ﬁ", NormalizeOptions(unicode_form="NFKC")) == "fi"
    assert normalize_text("ﬁ") == "ﬁ"
    assert normalize_text("a  b", NormalizeOptions(collapse_whitespace=False)) == "a  b"


def test_normalize_document_by_format() -> None:
    assert normalize_document("<p>x</p>", "txt") == "<p>x</p>"
    assert normalize_document("<html><body><p>Some words here.</p></body></html>", "html") == "Some words here."


def test_bad_unicode_form_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unicode_form"):
        NormalizeOptions(unicode_form="NFX")


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


_LAYOUT = st.lists(st.sampled_from([" ", "\t", "\n", "\n\n\n", "\u00a0", "\u3000", "\x0c", "a", "b", "```", "~~~", "    ", "- "]), max_size=40)


@given(_LAYOUT.map("".join))
def test_normalized_layout(text: str) -> None:
    """At most one blank line in a row, no trailing spaces, no indentation common to every line (the normalizer skips
    the dedent pass when a line starts flush, and drops repeated blank lines as it goes)."""
    out = normalize_text(text)
    assert "\n\n\n" not in out and not out.startswith("\n") and not out.endswith("\n")
    assert all(line == line.rstrip() for line in out.split("\n"))
    assert textwrap.dedent(out) == out


PROSE = (
    "Delta Lake stores every table as data files and a transaction log. Each commit is atomic, so readers "
    "never see a partial write, and older versions can be read back for audits and reproducible builds."
)


def test_good_prose_passes() -> None:
    s = quality_signals(PROSE)
    assert s.word_count == len(PROSE.split()) == 35 and 4 < s.mean_word_length < 6
    assert quality_reasons(s, QualityThresholds()) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("too short to keep", "too_few_words"),
        ("a b c d e f g h i j k l m n o p q r s t u v w x y z " * 2, "mean_word_length_low"),
        ("Supercalifragilisticexpialidocious " * 25, "mean_word_length_high"),
        (PROSE + " #tag #tag #tag #tag #tag", "symbol_ratio_high"),
        (PROSE + " 1234 5678 9012 3456 7890 1234 5678 9012 3456 7890", "alpha_fraction_low"),
        ("\n".join([PROSE] + ["Subscribe to our newsletter today"] * 5), "duplicate_lines"),
        ("\n\n".join([PROSE, "Share this page", "Share this page", "Share this page"]), "duplicate_paragraphs"),
        ("\n".join(f"- item number {i} in a long list of things" for i in range(10)), "bullet_lines"),
        ("\n".join(f"and then the story goes on and on {i}..." for i in range(10)), "ellipsis_lines"),
    ],
)
def test_each_rule_names_itself(text: str, code: str) -> None:
    reasons = quality_reasons(quality_signals(text), QualityThresholds())
    assert code in [r.split(":")[0] for r in reasons], reasons


def test_heading_markers_are_not_symbols() -> None:
    text = "# Title\n\n" + PROSE + "\n\n## Section\n\n" + PROSE
    assert quality_signals(text).symbol_word_ratio == 0.0


def test_thresholds_are_validated() -> None:
    with pytest.raises(ConfigError, match="min_words"):
        QualityThresholds(min_words=50, max_words=10)
    with pytest.raises(ConfigError, match="max_bullet_line_fraction"):
        QualityThresholds(max_bullet_line_fraction=1.5)


_WORDISH = st.lists(
    st.sampled_from(list("ab Zé1_#.:/-|*`~()>\n\t\u00a0\u2026\u3000\u00b2") + ["```", "define", "a_b", "x.y", "://", "x" * 45]),
    max_size=60,
).map("".join)


@given(text=st.lists(_WORDISH, max_size=6).map("\n".join), code_aware=st.booleans())
def test_word_signals_are_the_per_word_definitions(text: str, code_aware: bool) -> None:
    """The word signals are counted over memoized word kinds; they must equal the plain per-word regular expressions
    (``\\S+`` words; prose words are neither Markdown syntax nor identifiers), whatever was seen before."""
    from lakeprep.text import quality as q

    prose = q.prose_of(text)
    prose_words = [w for w in re.findall(r"\S+", prose) if not q._MARKUP.fullmatch(w) and not q._IDENTIFIER.search(w)]
    measured = prose_words if code_aware else re.findall(r"\S+", text)
    for _ in range(2):  # the second time every short word is known
        s = quality_signals(text, code_aware=code_aware)
        assert s.word_count == len(re.findall(r"\S+", text))
        assert s.prose_word_count == len(prose_words)
        n = len(measured)
        assert s.mean_word_length == (sum(len(w) for w in measured) / n if n else 0.0)
        assert s.alpha_word_fraction == (sum(1 for w in measured if q._ALPHA.search(w)) / n if n else 0.0)
        if code_aware:
            assert s.symbol_word_ratio == (sum(1 for w in measured if q._HASHTAG_OR_ELLIPSIS.search(w)) / n if n else 0.0)


def test_word_memo_keeps_short_words_only() -> None:
    from lakeprep.text import quality as q

    long_word = "x" * (q._KNOWN_WORD_MAX + 1)
    quality_signals(f"plain words and {long_word}")
    assert q._KNOWN["plain"] & q._PROSE and "plain" in q._KNOWN
    assert long_word not in q._KNOWN
