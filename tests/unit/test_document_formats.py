"""PDF, Office and WARC kernels on the committed fixtures (tests/fixtures/formats, made by make_fixtures.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakeprep.chunking._kernels import chunk_document, page_spans
from lakeprep.io.formats import PAGE_BREAK, parse_file, reason_code
from lakeprep.text.normalize import PAGE_SEPARATOR, normalize_document
from lakeprep.tokenizers import get_encoding

from ..fixtures.formats.make_fixtures import DOCX_TEXT, PDF_PAGES, PPTX_SLIDES, WARC_PAGES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"


def _parse(name: str, fmt: str, **options: object):  # type: ignore[no-untyped-def]
    return parse_file((FIXTURES / name).read_bytes(), fmt, **options)  # type: ignore[arg-type]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'.,:-]+", text.replace("#", " "))


@pytest.mark.parametrize("name", ["handbook.pdf", "handbook_outline.pdf"])
def test_pdf_text_pages_and_headings(name: str) -> None:
    result = _parse(name, "pdf")
    assert result.accepted, result.reasons
    (rec,) = result.records
    pages = rec.text.split(PAGE_BREAK)
    assert len(pages) == len(PDF_PAGES) == json.loads(rec.attributes)["pages"]
    for page, (title, lines) in zip(pages, PDF_PAGES):
        heading = page.split("\n")[0]
        assert heading.startswith("# ") and heading.endswith(title)  # outline: "# 1 Getting started"
        body = " ".join(lines).replace("rea- son", "reason")  # the fixture hyphenates "rea-/son" at a line end
        assert _words(" ".join(page.split("\n")[1:])) == _words(body)
    assert "handbook - draft" not in rec.text  # running header on every page
    assert not re.search(r"^\d+$", rec.text, re.M)  # page numbers
    meta = json.loads(rec.attributes)
    assert meta["headings_from"] == ("outline" if "outline" in name else "font_size")
    assert meta["running_lines_removed"] == 2 * len(PDF_PAGES) and meta["title"] == "Lakeprep handbook"


def test_pdf_running_lines_can_be_kept() -> None:
    (rec,) = _parse("handbook.pdf", "pdf", pdf_strip_running_lines=False).records
    assert rec.text.count("Lakeprep handbook - draft") == len(PDF_PAGES)


@pytest.mark.parametrize(
    ("name", "code"),
    [("encrypted.pdf", "pdf_encrypted"), ("scanned.pdf", "pdf_no_text"), ("broken.pdf", "pdf_unreadable")],
)
def test_bad_pdfs_have_distinct_reasons(name: str, code: str) -> None:
    result = _parse(name, "pdf")
    assert not result.records and [reason_code(r) for r in result.reasons] == [code]


def test_pdf_pages_survive_normalization_and_chunking() -> None:
    (rec,) = _parse("handbook.pdf", "pdf").records
    silver = normalize_document(rec.text, "pdf")
    assert silver.count(PAGE_SEPARATOR) == len(PDF_PAGES) - 1
    chunks = chunk_document(silver, get_encoding("cl100k_base"), chunk_size=16, chunk_overlap=4)
    spans = page_spans(silver, [(c.char_start, c.char_end) for c in chunks])
    for c, (first, last) in zip(chunks, spans):
        pages_of_words = {p + 1 for p, page in enumerate(silver.split("\f")) if any(w in page for w in c.text.split("\n") if w.strip() and "\f" not in w)}
        assert first <= last and pages_of_words <= set(range(first, last + 1))
    assert {s[0] for s in spans} == {1, 2, 3}


def test_page_spans_count_breaks_before_each_offset() -> None:
    text = "a\n\f\nb\n\f\nc"
    assert page_spans(text, [(0, 1), (0, 5), (4, 5), (8, 9), (1, 2)]) == [(1, 1), (1, 2), (2, 2), (3, 3), (1, 1)]
    assert page_spans("no breaks", [(0, 9)]) == [(1, 1)]
    # the pages of the first and last visible characters: a break at a span's edge does not add a page
    assert page_spans(text, [(0, 3), (1, 5), (0, 4)]) == [(1, 1), (2, 2), (1, 1)]


def test_docx_keeps_headings_lists_and_tables_without_escapes() -> None:
    (rec,) = _parse("checklist.docx", "docx").records
    lines = rec.text.split("\n")
    assert f"# {DOCX_TEXT['heading']}" in lines and f"## {DOCX_TEXT['subheading']}" in lines
    assert all(f"- {b}" in lines for b in DOCX_TEXT["bullets"])
    assert DOCX_TEXT["para"] in lines and "\\" not in rec.text
    for row in DOCX_TEXT["table"]:
        assert f"| {row[0]} | {row[1]} |" in lines


@pytest.mark.parametrize(
    ("name", "fmt", "code"),
    [
        ("encrypted.docx", "docx", "office_encrypted"),
        ("corrupt.docx", "docx", "office_unreadable"),
        ("handbook.pdf", "docx", "office_unreadable"),
        ("checklist.docx", "pptx", "office_unreadable"),  # a Word package is not a deck
        ("checklist.docx", "pdf", "pdf_unreadable"),
    ],
)
def test_bad_office_files_have_reasons(name: str, fmt: str, code: str) -> None:
    result = _parse(name, fmt)
    assert not result.records and [reason_code(r) for r in result.reasons] == [code]


@pytest.mark.parametrize("notes", [False, True])
def test_pptx_slides_titles_bullets_and_notes(notes: bool) -> None:
    (rec,) = _parse("review.pptx", "pptx", pptx_notes=notes).records
    slides = rec.text.split(PAGE_BREAK)
    assert len(slides) == len(PPTX_SLIDES) == json.loads(rec.attributes)["slides"]
    for text, (title, bullets, note) in zip(slides, PPTX_SLIDES):
        lines = text.split("\n")
        assert lines[0] == f"# {title}"
        assert f"- {bullets[0]}" in lines and all(f"  - {b}" in lines for b in bullets[1:])  # level 1 indented
        assert (f"Notes: {note}" in lines) == bool(notes and note)


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_responses_become_documents_and_everything_else_is_counted(name: str) -> None:
    result = _parse(name, "warc")
    assert result.accepted
    assert [(json.loads(r.attributes)["url"], r.format) for r in result.records] == [
        (url, "txt" if ctype == "text/plain" else "html") for url, ctype, _ in WARC_PAGES
    ]
    assert [r.text for r in result.records] == [body for _, _, body in WARC_PAGES]
    assert all(r.record_id and r.record_id.startswith("<urn:uuid:") for r in result.records)
    notes = dict(result.notes)
    # 1 warcinfo, 5 requests, a 404, an image, 3 documents, and the damaged record between them
    assert notes["warc:document"] == 3 and notes["warc:corrupt"] == 1
    assert notes["warc:skipped:request"] == 5 and notes["warc:skipped:warcinfo"] == 1
    assert notes["warc:skipped:status_4xx"] == 1 and notes["warc:skipped:content_type"] == 1


def test_warc_cut_short_keeps_the_records_before_the_cut() -> None:
    data = (FIXTURES / "crawl.warc").read_bytes()
    cut = data[: data.rindex(b"<h1>Guide") + 5]  # inside the last response's body
    result = parse_file(cut, "warc")
    assert [json.loads(r.attributes)["url"] for r in result.records] == [u for u, _, _ in WARC_PAGES[:2]]
    assert dict(result.notes)["warc:corrupt"] >= 1


def test_warc_without_documents_or_not_a_warc() -> None:
    assert reason_code(_parse("nothing.warc", "warc").reasons[0]) == "warc_unreadable"
    only_requests = b"".join(
        b"WARC/1.0\r\nWARC-Type: request\r\nWARC-Record-ID: <urn:uuid:%d>\r\nContent-Length: 4\r\n\r\nGET \r\n\r\n" % i
        for i in range(2)
    )
    result = parse_file(only_requests, "warc")
    assert result.reasons == ("warc_no_records:skipped:request 2",)


def test_warc_charset_from_header_meta_or_fallback() -> None:
    from lakeprep.io.warc import _decode_text

    assert _decode_text("café".encode("latin-1"), "text/html; charset=ISO-8859-1") == "café"
    assert _decode_text(b'<meta charset="windows-1252"><p>caf\xe9', "text/html") == '<meta charset="windows-1252"><p>café'
    assert _decode_text("café".encode(), "text/html") == "café"
    assert _decode_text(b"caf\xe9", "text/html") == "café"  # not UTF-8: Windows-1252


def test_a_library_exception_becomes_the_files_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import lakeprep.io.pdf as pdf

    def boom(content: bytes, **_: object) -> None:
        raise MemoryError("the library ran out of memory")

    monkeypatch.setattr(pdf, "extract_pdf", boom)
    result = _parse("handbook.pdf", "pdf")
    assert result.reasons == ("pdf_unreadable:MemoryError: the library ran out of memory",)


def test_line_end_hyphens_are_joined_and_compound_hyphens_kept() -> None:
    from lakeprep.io.pdf import _repair_hyphens

    lines = ["the infor-", "mation in git-update-", "index(1) and a Cross-", "Reference"]
    assert _repair_hyphens(lines) == ["the information in git-update-index(1) and a Cross-", "Reference"]
