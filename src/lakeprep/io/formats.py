"""Turn the bytes of one landing file into documents, or into reasons to quarantine it.

Pure Python (no Spark): the bronze reader calls :func:`parse_file` inside ``mapInPandas``. Text formats
(``txt``, ``md``, ``html``, ``jsonl``) are decoded here; binary formats are read by their own kernels:
``pdf`` (:mod:`lakeprep.io.pdf`), ``docx`` and ``pptx`` (:mod:`lakeprep.io.office`), ``warc``
(:mod:`lakeprep.io.warc`, one document per usable response record). An exception a parsing library raises
on one file becomes that file's reject reason (``<format>_unreadable:...``), never a failed Spark task.

A file is accepted whole or rejected whole, so every landing file ends up in exactly one of
``bronze.documents`` and ``quarantine.bronze``. A ``.jsonl`` file with one bad line is rejected with
the line numbers of every problem (up to :data:`MAX_REASONS`), so it can be fixed and re-landed.

Reject reasons are ``code`` or ``code:detail``; the code (before the first ``:``) is stable and is what
reports group by. Codes: ``empty_file``, ``too_large``, ``unsupported_format``, ``unreadable``,
``decode_error``, ``binary_content``, ``empty_text``, ``jsonl_bad_json``, ``jsonl_not_object``,
``jsonl_missing_field``, ``jsonl_bad_field_type``, ``jsonl_empty_text``, ``jsonl_no_records``, ``more_reasons``,
``pdf_encrypted``, ``pdf_no_text``, ``pdf_unreadable``, ``office_encrypted``, ``office_no_text``,
``office_unreadable``, ``warc_no_records``, ``warc_unreadable``.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BINARY_FORMATS",
    "FormatRejected",
    "MAX_REASONS",
    "PAGED_FORMATS",
    "PAGE_BREAK",
    "ParseResult",
    "ParsedRecord",
    "decode_text",
    "doc_id_for",
    "excerpt_of",
    "parse_file",
    "reason_code",
]

MAX_REASONS = 20
BINARY_FORMATS: tuple[str, ...] = ("pdf", "docx", "pptx", "warc")
"""Formats read from bytes by a document library instead of being decoded as text."""
PAGED_FORMATS: tuple[str, ...] = ("pdf", "pptx")
"""Formats whose text separates pages (slides) with :data:`PAGE_BREAK`, which silver keeps."""
PAGE_BREAK = "\f"
_DOC_ID_PREFIX = b"lakeprep-doc-v1\x00"


class FormatRejected(Exception):
    """Raised by a format kernel: the file is rejected with ``reason`` (``code`` or ``code:detail``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedRecord:
    """One document found in a file (a whole file, one jsonl line, or one WARC response record)."""

    record_index: int  # 0 for whole-file formats, the 1-based line number (jsonl) or record ordinal (warc)
    text: str
    record_id: str | None = None  # the jsonl id field, when configured and present; the WARC-Record-ID
    attributes: str | None = None  # other jsonl fields, or what the format kernel found, as a JSON object
    format: str | None = None  # the text's format when it differs from the file's (html/txt records of a warc)


@dataclass(frozen=True)
class ParseResult:
    """Either ``records`` (accepted) or ``reasons`` (rejected), never both."""

    records: tuple[ParsedRecord, ...] = ()
    reasons: tuple[str, ...] = ()
    notes: tuple[tuple[str, int], ...] = ()  # counts of what a container skipped: (("warc:skipped:request", 3), ...)

    @property
    def accepted(self) -> bool:
        return not self.reasons


def reason_code(reason: str) -> str:
    """``'jsonl_bad_json:line 3'`` -> ``'jsonl_bad_json'``."""
    return reason.split(":", 1)[0]


def doc_id_for(source_path: str, record_index: int, text: str) -> str:
    """Stable id of one document version: a hash of where it came from and what it says.

    The same file content at the same path always gets the same id; an edit gives a new id; the same
    text in two files gives two ids (exact duplicates are removed in silver, audibly, not here).
    """
    h = hashlib.sha256(_DOC_ID_PREFIX)
    h.update(source_path.encode("utf-8", "surrogatepass"))
    h.update(b"\x00%d\x00" % record_index)
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def excerpt_of(content: bytes, *, chars: int = 200) -> str:
    """The first characters of a file, decoded leniently, so a quarantined file can be triaged."""
    return content[: chars * 4].decode("utf-8", "replace")[:chars].replace("\x00", "\ufffd")


def decode_text(content: bytes, encodings: Sequence[str]) -> tuple[str | None, str | None]:
    """Decode with a byte-order mark if there is one, else the first encoding that works.

    Returns ``(text, None)`` or ``(None, reason)``.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if content.startswith(bom):
            try:
                return content.decode(enc), None
            except UnicodeDecodeError as exc:
                return None, f"decode_error:{enc} at byte {exc.start}"
    first_error = ""
    for enc in encodings:
        try:
            return content.decode(enc), None
        except UnicodeDecodeError as exc:
            first_error = first_error or f"{enc} at byte {exc.start}"
    return None, f"decode_error:{first_error} (tried {', '.join(encodings)})"


def parse_file(
    content: bytes,
    fmt: str,
    *,
    encodings: Sequence[str] = ("utf-8",),
    text_field: str = "text",
    id_field: str | None = None,
    pdf_strip_running_lines: bool = True,
    pptx_notes: bool = False,
    warc_content_types: Sequence[str] = ("text/html", "application/xhtml+xml", "text/plain"),
) -> ParseResult:
    """Parse one file of format ``fmt`` (one of ``lakeprep.config.SUPPORTED_FORMATS``)."""
    if not content:
        return ParseResult(reasons=("empty_file",))
    if fmt in BINARY_FORMATS:
        try:
            return _parse_binary(
                content, fmt, pdf_strip_running_lines=pdf_strip_running_lines, pptx_notes=pptx_notes,
                warc_content_types=warc_content_types,
            )
        except FormatRejected as rejected:
            return ParseResult(reasons=(rejected.reason,))
        except Exception as exc:  # noqa: BLE001 - a library's failure on one file is that file's reason
            return ParseResult(reasons=(f"{'office' if fmt in ('docx', 'pptx') else fmt}_unreadable:{type(exc).__name__}: {exc}"[:300],))
    text, error = decode_text(content, encodings)
    if text is None:
        return ParseResult(reasons=(error or "decode_error",))
    if "\x00" in text:
        return ParseResult(reasons=(f"binary_content:NUL at char {text.index(chr(0))}",))
    if fmt == "jsonl":
        return _parse_jsonl(text, text_field=text_field, id_field=id_field)
    if fmt in ("txt", "md", "html"):
        if not text.strip():
            return ParseResult(reasons=("empty_text",))
        return ParseResult(records=(ParsedRecord(0, text),))
    return ParseResult(reasons=(f"unsupported_format:{fmt}",))


def _parse_binary(
    content: bytes, fmt: str, *, pdf_strip_running_lines: bool, pptx_notes: bool, warc_content_types: Sequence[str]
) -> ParseResult:
    if fmt == "pdf":
        from lakeprep.io.pdf import extract_pdf

        pdf = extract_pdf(content, strip_running_lines=pdf_strip_running_lines)
        meta = {"pages": pdf.pages, "headings_from": pdf.headings_from, "running_lines_removed": pdf.running_lines_removed}
        if pdf.title:
            meta["title"] = pdf.title
        return ParseResult(records=(ParsedRecord(0, pdf.text, attributes=json.dumps(meta, ensure_ascii=False, sort_keys=True)),))
    if fmt == "docx":
        from lakeprep.io.office import extract_docx

        return ParseResult(records=(ParsedRecord(0, extract_docx(content)),))
    if fmt == "pptx":
        from lakeprep.io.office import extract_pptx

        text = extract_pptx(content, notes=pptx_notes)
        meta = json.dumps({"slides": text.count(PAGE_BREAK) + 1})
        return ParseResult(records=(ParsedRecord(0, text, attributes=meta),))
    from lakeprep.io.warc import read_warc

    warc = read_warc(content, content_types=warc_content_types)
    records = tuple(ParsedRecord(d.record_index, d.text, d.record_id, d.attributes, d.fmt) for d in warc.documents)
    return ParseResult(records=records, notes=tuple(sorted((f"warc:{k}", v) for k, v in warc.counts.items())))


def _parse_jsonl(text: str, *, text_field: str, id_field: str | None) -> ParseResult:
    records: list[ParsedRecord] = []
    reasons: list[str] = []
    extra = 0

    def reject(reason: str) -> None:
        nonlocal extra
        if len(reasons) < MAX_REASONS:
            reasons.append(reason)
        else:
            extra += 1

    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines are allowed between records
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reject(f"jsonl_bad_json:line {lineno}: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            reject(f"jsonl_not_object:line {lineno}")
            continue
        if text_field not in obj:
            reject(f"jsonl_missing_field:{text_field}:line {lineno}")
            continue
        value = obj[text_field]
        if not isinstance(value, str):
            reject(f"jsonl_bad_field_type:{text_field}:line {lineno}: {type(value).__name__}")
            continue
        if not value.strip():
            reject(f"jsonl_empty_text:line {lineno}")
            continue
        record_id = None
        if id_field is not None and obj.get(id_field) is not None:
            record_id = str(obj[id_field])
        rest = {k: v for k, v in obj.items() if k not in (text_field, id_field)}
        attributes = json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else None
        records.append(ParsedRecord(lineno, value, record_id, attributes))
    if extra:
        reasons.append(f"more_reasons:{extra} more problems not listed")
    if reasons:
        return ParseResult(reasons=tuple(reasons))
    if not records:
        return ParseResult(reasons=("jsonl_no_records",))
    return ParseResult(records=tuple(records))
