"""Text normalization kernels (no Spark): HTML to structured text, Unicode and whitespace clean-up.

HTML becomes Markdown by :mod:`lakeprep.text.html_md` (``silver.normalize.html: markdown``, the default):
navigation and page chrome dropped, ``#`` headings, fenced code blocks with their indentation, lists and
tables kept, nothing escaped that the page did not escape. ``html: trafilatura`` keeps the extractor used
before (article-like pages; it loses headings inside documentation layouts and escapes ``[``, ``_``, ``*``).
Whitespace inside fenced code blocks is left as written.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass

from lakeprep.text.html_md import html_to_markdown
from lakeprep.text.markdown import fence_state

__all__ = ["PAGE_SEPARATOR", "NormalizeOptions", "html_to_text", "normalize_text", "normalize_document"]

# C0/C1 control characters except tab and newline; plus zero-width and bidi formatting characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMAT = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACE_CHARS = "\t\u00a0\u2000-\u200a\u202f\u205f\u3000"  # besides " "
# a run of spaces that is not already one " " (those are most matches of [ ...]+, and replacing one by itself was
# most of the normalizer's time): it starts with another space character, or with " " and one more
_SPACES = re.compile(rf"(?:[{_SPACE_CHARS}]| [ {_SPACE_CHARS}])[ {_SPACE_CHARS}]*")


@dataclass(frozen=True)
class NormalizeOptions:
    """What :func:`normalize_text` does (all on by default)."""

    unicode_form: str = "NFC"  # NFC | NFKC | none
    strip_control: bool = True
    collapse_whitespace: bool = True
    html: str = "markdown"  # markdown (lakeprep.text.html_md) | trafilatura

    def __post_init__(self) -> None:
        from lakeprep.errors import ConfigError

        if self.unicode_form not in ("NFC", "NFKC", "none"):
            raise ConfigError("silver.normalize.unicode_form", f"{self.unicode_form!r} is not one of ['NFC', 'NFKC', 'none']")
        if self.html not in ("markdown", "trafilatura"):
            raise ConfigError("silver.normalize.html", f"{self.html!r} is not one of ['markdown', 'trafilatura']")


def html_to_text(html: str, extractor: str = "markdown") -> str:
    """Main text of an HTML page as Markdown; ``""`` when the page has no text at all."""
    if extractor == "markdown":
        return html_to_markdown(html)
    import trafilatura

    text = trafilatura.extract(
        html,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
        with_metadata=False,
    )
    if text and text.strip():
        return text
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=False, preserve_formatting=True, list_bullets=True) or ""


def normalize_text(text: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """Unicode normal form, no control characters, tidy whitespace; paragraph breaks are kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if options.unicode_form != "none":
        text = unicodedata.normalize(options.unicode_form, text)
    if options.strip_control:
        text = _FORMAT.sub("", _CONTROL.sub(" ", text))
    if options.collapse_whitespace:
        lines: list[str] = []
        fence = ""
        for line in text.split("\n"):
            was_open = bool(fence)
            fence, in_code = fence_state(fence, line)
            if in_code and was_open and fence:  # code keeps its spacing; only trailing blanks go
                line = line.rstrip()
            else:
                body = line.lstrip(" \t")
                indent = line[: len(line) - len(body)]  # leading indentation is kept (code, nested lists)
                body = _SPACES.sub(" ", body).rstrip()
                line = indent + body if body else ""
            if line or (lines and lines[-1]):  # one blank line at most between two others
                lines.append(line)
        # indentation common to every line is removed; relative indentation (code, nested lists) is kept. No line
        # is blank but empty ones, so a line that starts flush means there is nothing to remove.
        text = "\n".join(lines)
        if not any(line[:1] not in ("", " ", "\t") for line in lines):
            text = textwrap.dedent(text)
        text = text.strip("\n")
    return text


PAGE_SEPARATOR = "\n\f\n"
"""Between the pages of a paged document (pdf, pptx) in silver: a line holding only a form feed."""


def normalize_document(raw: str, fmt: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """Bronze text of format ``fmt`` -> silver text.

    Paged formats (``pdf``, ``pptx``: pages joined by form feeds in bronze) are normalized page by page and
    the pages joined by :data:`PAGE_SEPARATOR`, so page ``n`` of a character offset is ``1 +`` the form feeds
    before it, after masking and chunking too.
    """
    if fmt in ("pdf", "pptx"):
        return PAGE_SEPARATOR.join(normalize_text(page, options) for page in raw.split("\f"))
    return normalize_text(html_to_text(raw, options.html) if fmt == "html" else raw, options)
