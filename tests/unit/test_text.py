from __future__ import annotations

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
