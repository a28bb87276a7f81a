"""Documents of a WARC file (``.warc``, ``.warc.gz``; Common Crawl layout), read with FastWARC (no Spark).

One document per HTTP ``response`` record with a 2xx status and an HTML or plain-text content type. Every
other record is skipped and counted by why (``request``, ``metadata``, ``status_3xx``, ``content_type``,
``empty``...). A damaged stretch (a bad header, a gzip member that does not inflate, a record cut short) is
counted as ``corrupt`` and reading resumes at the next record (the next ``WARC/1.`` header, or the next gzip
member of a ``.warc.gz``), so one bad record never costs the rest of the file.

The file is the unit of bronze's accounting: it is ingested when at least one document came out of it
(the per-kind counts travel with its parse result into the build summary), and quarantined as
``warc_no_records`` (nothing usable) or ``warc_unreadable`` (not a WARC file at all) otherwise.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from lakeprep.io.formats import FormatRejected

__all__ = ["DEFAULT_CONTENT_TYPES", "WarcDocument", "WarcResult", "read_warc"]

DEFAULT_CONTENT_TYPES: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")
_RECORD_TYPES = frozenset({"warcinfo", "request", "metadata", "revisit", "resource", "conversion", "continuation"})
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class WarcDocument:
    """One usable response: its ordinal among the file's records, body text, text format and metadata."""

    record_index: int
    record_id: str | None
    text: str
    fmt: str  # html | txt
    attributes: str  # JSON: url, warc_date, content_type, http_status


@dataclass
class WarcResult:
    documents: list[WarcDocument] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # records by outcome: document, skipped:<why>, corrupt


def read_warc(content: bytes, *, content_types: Sequence[str] = DEFAULT_CONTENT_TYPES) -> WarcResult:
    """Every usable response record of a WARC file, plus counts of everything else (see the module doc)."""
    from fastwarc.warc import ArchiveIterator

    gz = content.startswith(_GZIP_MAGIC)
    if not gz and not content.lstrip()[: len(_WARC_MAGIC)] == _WARC_MAGIC:
        raise FormatRejected("warc_unreadable:does not start with a WARC/1.x record or a gzip member")
    result = WarcResult()
    wanted = tuple(t.lower() for t in content_types)
    pos, ordinal, in_damage = 0, 0, False
    while pos < len(content):
        last_start: int | None = None
        try:
            for record in ArchiveIterator(io.BytesIO(content[pos:]), parse_http=True):
                last_start = pos + record.stream_pos
                ordinal += 1
                _take(record, ordinal, result, wanted)
                in_damage = False
            break
        except (OSError, ValueError, EOFError):  # FastWARC's errors on damage; resume after it
            if not in_damage:
                result.counts["corrupt"] += 1
                in_damage = True
            resume = _next_record_start(content, (last_start if last_start is not None else pos) + 1, gz=gz)
            if resume < 0:
                break
            pos = resume
    if not result.documents:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "no records"
        raise FormatRejected(f"warc_no_records:{summary}")
    return result


def _next_record_start(content: bytes, start: int, *, gz: bool) -> int:
    if gz:
        return content.find(_GZIP_MAGIC, start)
    at = content.find(b"\n" + _WARC_MAGIC, start - 1)
    return at + 1 if at >= 0 else -1


def _take(record: object, ordinal: int, result: WarcResult, wanted: tuple[str, ...]) -> None:
    from fastwarc.warc import WarcRecordType

    headers = record.headers  # type: ignore[attr-defined]
    if record.record_type != WarcRecordType.response:  # type: ignore[attr-defined]
        kind = (headers.get("WARC-Type") or "").strip().lower()
        result.counts[f"skipped:{kind if kind in _RECORD_TYPES else 'unknown_type'}"] += 1
        record.reader.read()  # type: ignore[attr-defined]  # consume, so a damaged body is noticed here
        return
    http = record.http_headers  # type: ignore[attr-defined]
    body = record.reader.read()  # type: ignore[attr-defined]
    if http is None:
        result.counts["skipped:not_http"] += 1
        return
    if len(body) < record.content_length:  # type: ignore[attr-defined]  # (the payload's length once HTTP is parsed)
        result.counts["corrupt"] += 1  # cut short
        return
    status = int(http.status_code or 0)
    if not 200 <= status < 300:
        result.counts[f"skipped:status_{status // 100}xx"] += 1
        return
    ctype = (http.get("Content-Type") or "").strip()
    mime = ctype.split(";", 1)[0].strip().lower()
    if mime not in wanted:
        result.counts["skipped:content_type"] += 1
        return
    body = _decode_content(body, (http.get("Content-Encoding") or "").strip().lower())
    if body is None:
        result.counts["skipped:content_encoding"] += 1
        return
    text = _decode_text(body, ctype)
    if not text.strip():
        result.counts["skipped:empty"] += 1
        return
    result.counts["document"] += 1
    result.documents.append(
        WarcDocument(
            record_index=ordinal,
            record_id=headers.get("WARC-Record-ID"),
            text=text.replace("\x00", "\ufffd"),
            fmt="txt" if mime == "text/plain" else "html",
            attributes=json.dumps(
                {
                    "url": headers.get("WARC-Target-URI"),
                    "warc_date": headers.get("WARC-Date"),
                    "warc_record_id": headers.get("WARC-Record-ID"),
                    "content_type": ctype,
                    "http_status": status,
                },
                ensure_ascii=False,
                sort_keys=True,
            ),
        )
    )


def _decode_content(body: bytes, encoding: str) -> bytes | None:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError):
        return body  # crawlers often store the decoded body but keep the header
    return None


def _decode_text(body: bytes, content_type: str) -> str:
    """The declared charset (HTTP header, then ``<meta>``), else UTF-8, else Windows-1252."""
    candidates: list[str] = []
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            candidates.append(value.strip().strip("\"'"))
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    for enc in (*candidates, "utf-8"):
        try:
            return body.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")
