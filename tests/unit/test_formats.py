from __future__ import annotations

import codecs
import json

from hypothesis import given
from hypothesis import strategies as st

from lakeprep.io.formats import MAX_REASONS, decode_text, doc_id_for, parse_file, reason_code


def test_text_formats_are_one_document() -> None:
    for fmt in ("txt", "md", "html"):
        result = parse_file(b"Hello\nworld\n", fmt)
        assert result.accepted
        assert [(r.record_index, r.text) for r in result.records] == [(0, "Hello\nworld\n")]


def test_empty_and_whitespace_files() -> None:
    assert parse_file(b"", "txt").reasons == ("empty_file",)
    assert parse_file(b"  \n\t\n", "md").reasons == ("empty_text",)


def test_byte_order_marks_are_honoured() -> None:
    assert parse_file(codecs.BOM_UTF8 + "café".encode(), "txt").records[0].text == "café"
    assert parse_file(codecs.BOM_UTF16_LE + "naïve".encode("utf-16-le"), "txt").records[0].text == "naïve"


def test_undecodable_bytes_name_the_encoding_and_offset() -> None:
    result = parse_file("Café".encode("latin-1"), "txt")
    assert not result.accepted
    assert result.reasons == ("decode_error:utf-8 at byte 3 (tried utf-8)",)
    # a configured fallback encoding accepts it
    assert parse_file("Café".encode("latin-1"), "txt", encodings=("utf-8", "latin-1")).records[0].text == "Café"


def test_binary_content_is_rejected() -> None:
    assert reason_code(parse_file(b"PK\x03\x04\x00\x00abc", "txt").reasons[0]) == "binary_content"


def test_jsonl_records_keep_line_numbers_ids_and_other_fields() -> None:
    data = b'{"id": 7, "text": "first", "lang": "en"}\n\n{"text": "second"}\n'
    result = parse_file(data, "jsonl", id_field="id")
    assert result.accepted
    first, second = result.records
    assert (first.record_index, first.text, first.record_id, json.loads(first.attributes or "{}")) == (
        1,
        "first",
        "7",
        {"lang": "en"},
    )
    assert (second.record_index, second.record_id, second.attributes) == (3, None, None)


def test_jsonl_with_any_bad_line_is_rejected_whole_with_every_problem() -> None:
    lines = [
        '{"text": "ok"}',
        '{"text": "cut',
        "[1, 2]",
        '{"body": "no text"}',
        '{"text": 5}',
        '{"text": "   "}',
    ]
    result = parse_file("\n".join(lines).encode(), "jsonl")
    assert not result.accepted
    assert result.records == ()
    assert [reason_code(r) for r in result.reasons] == [
        "jsonl_bad_json",
        "jsonl_not_object",
        "jsonl_missing_field",
        "jsonl_bad_field_type",
        "jsonl_empty_text",
    ]
    assert "line 2" in result.reasons[0] and "line 4" in result.reasons[2]


def test_jsonl_reasons_are_capped() -> None:
    result = parse_file(b"not json\n" * (MAX_REASONS + 5), "jsonl")
    assert len(result.reasons) == MAX_REASONS + 1
    assert result.reasons[-1] == "more_reasons:5 more problems not listed"


def test_jsonl_without_records() -> None:
    assert parse_file(b"\n\n  \n", "jsonl").reasons == ("jsonl_no_records",)


def test_doc_id_is_stable_and_depends_on_path_index_and_text() -> None:
    base = doc_id_for("file:/a.txt", 0, "hello")
    assert base == doc_id_for("file:/a.txt", 0, "hello")
    assert len(base) == 32 and int(base, 16) >= 0
    assert len({base, doc_id_for("file:/b.txt", 0, "hello"), doc_id_for("file:/a.txt", 1, "hello"), doc_id_for("file:/a.txt", 0, "hello!")}) == 4


@given(st.text(min_size=1).filter(lambda t: t.strip() and "\x00" not in t))
def test_any_utf8_text_round_trips(text: str) -> None:
    result = parse_file(text.encode("utf-8"), "txt")
    assert result.accepted and result.records[0].text == text.lstrip("\ufeff")


@given(st.binary(max_size=64))
def test_decode_never_raises(data: bytes) -> None:
    text, reason = decode_text(data, ("utf-8",))
    assert (text is None) != (reason is None)
