"""Text of a PDF in reading order, page by page (pure Python: pypdfium2, no Spark).

Chosen by measurement on PDFs that ship in Debian packages (``benchmarks/formats.py``): pypdfium2 reads the
same text as pypdf and pdfminer.six, 8-30x faster. What :func:`extract_pdf` adds to the raw page text:

- **Pages.** Pages are joined with a form feed (``\\f``); silver keeps it as a line of its own between
  pages, so a chunk's pages are counted from the text itself and survive masking and chunking.
- **Headings.** From the PDF's outline (bookmark titles found on their page) or, without an outline, from
  font sizes: short lines set clearly larger than the body text. Either way they become ``#`` lines.
- **Hyphenation** at line ends is repaired (``infor-`` + ``mation`` -> ``information``) when the next line
  starts in lower case, unless the word already has a hyphen (``git-update-`` + ``index`` keeps it).
- **Running headers and footers** (a line at the top or bottom of 3 or more pages, digits ignored, such as
  ``Guide 4 / 57``) and bare page numbers are removed.

Lines inside a paragraph stay as the PDF broke them: joining them needs layout the text layer does not
carry reliably (code and tables would be merged). OCR is out of scope: a PDF without a text layer is
rejected as ``pdf_no_text``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lakeprep.io.formats import PAGE_BREAK, FormatRejected

__all__ = ["PdfText", "extract_pdf"]

_MIN_TEXT_CHARS = 16  # fewer non-space characters than this in the whole file: no text layer
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?[-\u2013\u2014(\[]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*(?:(?:/|of)\s*\d{1,4})?\s*[-\u2013\u2014)\]]?$", re.I
)
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad\x02]$")
_JOINED_HYPHEN = re.compile("\ufffe(?=[^\\W\\d_])")  # pdfium joins a line-end hyphen's word halves around U+FFFE
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_RUNNING_MIN_PAGES = 3
_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running headers/footers
_HEADING_SCALE = 1.15  # a heading's font is at least this much larger than the body's
_HEADING_MAX_CHARS = 120


@dataclass(frozen=True)
class PdfText:
    """Extracted text (pages joined by :data:`PAGE_BREAK`) and what was found on the way."""

    text: str
    pages: int
    headings: int
    headings_from: str  # "outline" | "font_size" | "none"
    running_lines_removed: int
    title: str | None


def extract_pdf(content: bytes, *, strip_running_lines: bool = True) -> PdfText:
    """Text of the PDF in ``content``; raises :class:`FormatRejected` with ``pdf_encrypted``,
    ``pdf_no_text`` or ``pdf_unreadable:<detail>``."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(content)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FormatRejected("pdf_encrypted") from None
        raise FormatRejected(f"pdf_unreadable:{exc}") from None
    try:
        pages: list[list[str]] = []
        sizes: list[list[float]] = []
        outline = _outline(doc)
        for i in range(len(doc)):
            try:
                page = doc[i]
                textpage = page.get_textpage()
                raw = textpage.get_text_range()
                # pdfium joined a word broken by a hyphen at a line end: lower case after it is one word
                clean = _JOINED_HYPHEN.sub(
                    lambda m: "" if raw[m.end()].islower() and not _compound(raw, m.start()) else "-", raw
                ).replace("\ufffe", "-")
                lines = clean.replace("\r\n", "\n").replace("\r", "\n").split("\n")
                pages.append(lines)
                sizes.append(_line_font_sizes(textpage, raw, len(lines)) if not outline else [])
            except pdfium.PdfiumError as exc:
                raise FormatRejected(f"pdf_unreadable:page {i + 1}: {exc}") from None
        title = (doc.get_metadata_dict().get("Title") or "").strip() or None
    finally:
        doc.close()
    if sum(len(line.strip()) for lines in pages for line in lines) < _MIN_TEXT_CHARS:
        raise FormatRejected(f"pdf_no_text:{len(pages)} pages without a text layer (scanned? OCR is not supported)")

    removed = _strip_running_lines(pages) if strip_running_lines else 0
    if outline:
        headings, source = _mark_outline_headings(pages, outline), "outline"
    else:
        headings, source = _mark_font_headings(pages, sizes), "font_size"
    text = PAGE_BREAK.join("\n".join(_repair_hyphens(lines)).strip("\n") for lines in pages)
    return PdfText(text, len(pages), headings, source if headings else "none", removed, title)


def _outline(doc: object) -> list[tuple[int, str, int]]:
    """``(level, title, page index)`` of every outline entry that points at a page."""
    entries = []
    try:
        for item in doc.get_toc(max_depth=6):  # type: ignore[attr-defined]
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = _SPACE.sub(" ", item.get_title() or "").strip()
            if index is not None and title:
                entries.append((int(item.level), title, int(index)))
    except Exception:  # noqa: BLE001 - a broken outline only costs the headings, never the text
        return []
    return entries


def _line_font_sizes(textpage: object, raw: str, n_lines: int) -> list[float]:
    """The most common font size of each line's visible characters (0.0 for a line without any)."""
    import pypdfium2.raw as pdfium_c

    counters: list[Counter[float]] = [Counter() for _ in range(n_lines)]
    line = 0
    handle = textpage.raw  # type: ignore[attr-defined]
    count = min(len(raw), textpage.count_chars())  # type: ignore[attr-defined]
    i = 0
    while i < count and line < n_lines:
        ch = raw[i]
        if ch == "\r" and i + 1 < count and raw[i + 1] == "\n":
            i += 1
            ch = "\n"
        if ch == "\n":
            line += 1
        elif not ch.isspace():
            counters[line][round(pdfium_c.FPDFText_GetFontSize(handle, i) * 2) / 2] += 1  # half points
        i += 1
    return [c.most_common(1)[0][0] if c else 0.0 for c in counters]


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _running_key(line: str) -> str:
    return _DIGITS.sub("#", _SPACE.sub(" ", line.strip().lower()))


def _strip_running_lines(pages: list[list[str]]) -> int:
    """Blank out page numbers and lines repeated at the top/bottom of 3 or more pages and seldom anywhere
    else (a line such as ``Definition at line 12 of file x.h`` that also fills page bodies is content);
    return how many lines were blanked."""
    seen: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for lines in pages:
        seen.update({_running_key(lines[i]) for i in _edge_indices(lines)})
        anywhere.update(_running_key(line) for line in lines if line.strip())
    removed = 0
    for lines in pages:
        for i in _edge_indices(lines):
            stripped = lines[i].strip()
            key = _running_key(stripped)
            repeated = _RUNNING_MIN_PAGES <= seen[key] and anywhere[key] <= 1.25 * seen[key] and any(c.isalpha() for c in key)
            if repeated or _PAGE_NUMBER.match(stripped):
                lines[i] = ""
                removed += 1
    return removed


def _compound(text: str, end: int) -> bool:
    """The word ending at ``end`` already has a hyphen (``git-update-`` + ``index``): the break is at one of
    its own hyphens, which stays (measured on LibreOffice PDFs of git's manual pages)."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return "-" in text[start:end]


def _repair_hyphens(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _HYPHENATED.search(out[-1]) and line[:1].islower():
            keep = out[-1][-1] == "-" and _compound(out[-1], len(out[-1]) - 1)
            out[-1] = (out[-1] if keep else out[-1][:-1]) + line.lstrip()
        else:
            out.append(line.rstrip())
    return out


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _mark_outline_headings(pages: list[list[str]], outline: list[tuple[int, str, int]]) -> int:
    """Prefix the line that shows each outline title (on its page or the next) with ``#``s."""
    marked = 0
    for level, title, index in outline:
        want = _norm(title)
        for p in (index, index + 1):
            if not 0 <= p < len(pages):
                continue
            lines = pages[p]
            hit = next(
                (
                    i
                    for i, line in enumerate(lines)
                    if not line.startswith("#") and (n := _norm(line)) and (n == want or (n.endswith(want) and len(n) - len(want) <= 12))
                ),
                None,
            )
            if hit is not None:
                lines[hit] = "#" * min(level + 1, 6) + " " + lines[hit].strip()
                marked += 1
                break
    return marked


def _mark_font_headings(pages: list[list[str]], sizes: list[list[float]]) -> int:
    """Short lines in a font clearly larger than the body's become headings, larger fonts higher levels."""
    weights: Counter[float] = Counter()
    for lines, line_sizes in zip(pages, sizes):
        for line, size in zip(lines, line_sizes):
            if size:
                weights[size] += len(line.strip())
    if not weights:
        return 0
    body = weights.most_common(1)[0][0]
    candidates = [
        (p, i, size)
        for p, (lines, line_sizes) in enumerate(zip(pages, sizes))
        for i, (line, size) in enumerate(zip(lines, line_sizes))
        if size >= body * _HEADING_SCALE and 0 < len(line.strip()) <= _HEADING_MAX_CHARS and any(c.isalpha() for c in line)
    ]
    total_lines = sum(1 for lines in pages for line in lines if line.strip())
    if not candidates or len(candidates) > 0.3 * total_lines:  # a poster or slides, not a document with headings
        return 0
    levels = {size: min(rank + 1, 6) for rank, size in enumerate(sorted({s for _, _, s in candidates}, reverse=True))}
    for p, i, size in candidates:
        pages[p][i] = "#" * levels[size] + " " + pages[p][i].strip()
    return len(candidates)
