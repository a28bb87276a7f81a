"""Chunking kernel: size bound, exact overlap, offsets, structure preference, section paths (no Spark)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lakeprep.chunking._kernels import chunk_document, chunk_id, section_headings
from lakeprep.tokenizers import get_encoding

ENC = get_encoding("cl100k_base")

_words = st.sampled_from(
    ["data", "lake", "Delta", "table", "version.", "chunk", "token", "über", "naïve", "日本語", "emoji😀", "x", "42", "(see)", "end!"]
)
_paragraph = st.lists(_words, min_size=1, max_size=60).map(" ".join)
_code = st.lists(_paragraph, min_size=1, max_size=8).map(lambda lines: "```\n" + "\n".join("    " + x for x in lines) + "\n```")
_block = st.one_of(
    _paragraph, _words.map(lambda w: f"# {w}"), _words.map(lambda w: f"## {w}"), _paragraph.map(lambda p: f"- {p}"), _code
)
documents = st.lists(_block, min_size=1, max_size=25).map("\n\n".join)


def _check_invariants(text: str, size: int, overlap: int) -> None:
    chunks = chunk_document(text, ENC, chunk_size=size, chunk_overlap=overlap)
    assert chunks, "a non-empty document has at least one chunk"
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(text)
    for i, c in enumerate(chunks):
        assert c.index == i
        assert text[c.char_start : c.char_end] == c.text
        assert c.token_count == len(ENC.encode_ordinary(c.text)) <= size
        assert c.token_end - c.token_start <= size
    for a, b in zip(chunks, chunks[1:]):
        # consecutive chunks share exactly `overlap` document tokens, a little more only where the
        # overlap would otherwise start inside a multi-byte character
        shared = a.token_end - b.token_start
        assert overlap <= shared <= overlap + 3
        assert b.char_start <= a.char_end  # no gap: every character is in some chunk
        assert b.token_end > a.token_end  # progress
        assert text[b.char_start : a.char_end] == a.text[len(a.text) - (a.char_end - b.char_start) :]


@settings(max_examples=150, deadline=None)
@given(documents, st.sampled_from([(16, 0), (16, 4), (32, 8), (64, 16), (100, 50)]))
@example(  # found by this test: a chunk ending where the previous one ended, before the next code block (no progress)
    "```\n    日本語 日本語 data data data version. version. data\n```\n\n```\n    data\n    data\n    data\n    data data "
    "version. (see) data\n    data data data version. version. version. version. 日本語 日本語 (see) data\n```\n\n# data",
    (64, 16),
)
def test_chunk_invariants_hold_for_any_document(text: str, sizes: tuple[int, int]) -> None:
    _check_invariants(text, *sizes)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=2000))
def test_chunk_invariants_hold_for_arbitrary_unicode(text: str) -> None:
    _check_invariants(text, 24, 6)


def test_ascii_overlap_is_exact() -> None:
    text = " ".join(f"word{i}." for i in range(600))
    chunks = chunk_document(text, ENC, chunk_size=50, chunk_overlap=10)
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:]):
        assert a.token_end - b.token_start == 10
        # the shared text re-encodes to (about) the overlap
        assert abs(len(ENC.encode_ordinary(text[b.char_start : a.char_end])) - 10) <= 1


def test_short_document_is_one_chunk_and_empty_is_none() -> None:
    (c,) = chunk_document("A short note.", ENC, chunk_size=512, chunk_overlap=64)
    assert (c.text, c.char_start, c.char_end, c.section_path) == ("A short note.", 0, 13, ())
    assert chunk_document("", ENC, chunk_size=512, chunk_overlap=64) == []


def test_split_prefers_heading_then_paragraph_then_sentence() -> None:
    para = "Alpha beta gamma delta epsilon. " * 6  # ~40 tokens, several sentences
    text = f"# One\n\n{para}\n\n{para}\n\n# Two\n\n{para}"
    chunks = chunk_document(text, ENC, chunk_size=110, chunk_overlap=10)
    # the first chunk ends right before "# Two" although a paragraph break and sentences come earlier
    assert text[chunks[0].char_end :].startswith("# Two")
    assert chunks[1].section_path == ("Two",)
    # no heading in reach: the end falls on a paragraph start
    text2 = f"{para}\n\n{para}\n\n{para}"
    c2 = chunk_document(text2, ENC, chunk_size=100, chunk_overlap=10)
    assert text2[: c2[0].char_end].endswith("\n\n")
    # no paragraph in reach: a sentence end
    text3 = "Alpha beta gamma delta epsilon zeta eta. " * 30
    c3 = chunk_document(text3, ENC, chunk_size=64, chunk_overlap=8)
    assert all(c.text.rstrip().endswith(".") for c in c3[:-1])


def test_unbreakable_text_falls_back_to_token_boundaries() -> None:
    text = "x" * 5000  # one "word": no whitespace at all
    chunks = chunk_document(text, ENC, chunk_size=40, chunk_overlap=5)
    assert all(c.token_count <= 40 for c in chunks)
    assert "".join(c.text[(0 if i == 0 else chunks[i - 1].char_end - c.char_start) :] for i, c in enumerate(chunks)) == text


def test_section_paths_follow_heading_levels() -> None:
    text = "# A\n\nintro\n\n## B\n\nb text\n\n### C\n\nc text\n\n## D\n\nd text\n\n# E\n\ne"
    paths = [p for _, p in section_headings(text)]
    assert paths == [("A",), ("A", "B"), ("A", "B", "C"), ("A", "D"), ("E",)]
    body = " ".join(["words in this section"] * 4)
    long_text = "\n\n".join(f"{h}\n\n{body}" for h in ("# A", "## B", "### C", "## D", "# E"))
    chunks = chunk_document(long_text, ENC, chunk_size=32, chunk_overlap=0)
    heads = section_headings(long_text)
    for c in chunks:  # the path in force where the chunk's text starts (no overlap here)
        expected = [p for pos, p in heads if pos <= c.char_start][-1]
        assert c.section_path == expected
    assert {c.section_path for c in chunks} == {("A",), ("A", "B"), ("A", "B", "C"), ("A", "D"), ("E",)}


def test_list_markers_are_not_sentence_ends() -> None:
    items = "\n".join(f"{i}. step number {i} does one thing and then another thing" for i in range(1, 40))
    chunks = chunk_document(items, ENC, chunk_size=48, chunk_overlap=0)
    for c in chunks[:-1]:
        assert c.text.endswith("\n") or c.text.endswith("thing"), repr(c.text[-20:])


def test_chunk_id_is_stable_and_sensitive() -> None:
    a = chunk_id("doc1", 0, "text")
    assert a == chunk_id("doc1", 0, "text") and len(a) == 32
    assert len({a, chunk_id("doc2", 0, "text"), chunk_id("doc1", 1, "text"), chunk_id("doc1", 0, "text!")}) == 4
    assert chunk_id("ab", 1, "c") != chunk_id("a", 1, "bc")  # fields are delimited


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_document("x", ENC, chunk_size=10, chunk_overlap=10)


CODE_DOC = (
    "# Install\n\n" + " ".join(f"Step {i} of the guide explains one more thing." for i in range(12)) + "\n\n"
    "```sh\n# fetch the sources\ngit clone https://example.org/repo.git\ncd repo && ./configure --prefix=/usr/local\n"
    "make -j4 && make install\n# check the result\nrepo --version\n```\n\n"
    "## After\n\n" + " ".join(f"Sentence {i} follows the block and ends here." for i in range(12))
)


def _inside_code_lines(text: str) -> set[int]:
    from lakeprep.chunking._kernels import code_blocks

    inside: set[int] = set()
    for a, z in code_blocks(text):
        pos = a
        for line in text[a:z].split("\n"):
            inside.update(range(pos + 1, pos + len(line)))
            pos += len(line) + 1
    return inside


@pytest.mark.parametrize("size", [56, 64, 96])
def test_code_block_that_fits_is_never_split(size: int) -> None:
    chunks = chunk_document(CODE_DOC, ENC, chunk_size=size, chunk_overlap=8)
    a, z = CODE_DOC.index("```sh"), CODE_DOC.rindex("```") + 3
    assert len(ENC.encode_ordinary(CODE_DOC[a:z])) <= size - 8, "the test needs a block that fits"
    assert any(c.char_start <= a and z <= c.char_end for c in chunks)  # whole in one chunk
    inside = _inside_code_lines(CODE_DOC)
    assert not [c.char_end for c in chunks[:-1] if c.char_end in inside]


def test_long_code_block_is_cut_between_lines() -> None:
    code = "\n".join(f"    result_{i} = compute(value_{i}, factor={i})" for i in range(60))
    text = "Intro line of prose.\n\n```python\n" + code + "\n```\n\nClosing words."
    chunks = chunk_document(text, ENC, chunk_size=64, chunk_overlap=8)
    assert len(chunks) > 5
    inside = _inside_code_lines(text)
    assert not [c.char_end for c in chunks[:-1] if c.char_end in inside]


def test_hash_lines_in_code_are_not_headings() -> None:
    assert [p for _, p in section_headings(CODE_DOC)] == [("Install",), ("Install", "After")]
    chunks = chunk_document(CODE_DOC, ENC, chunk_size=48, chunk_overlap=8)
    assert all("fetch the sources" not in " ".join(c.section_path) for c in chunks)


# -- exact token counts from the edges only (chunking._kernels._token_count) ---------------------------------
_pieces = st.sampled_from(
    ["the", " lake", "Delta", "'s", "'ll", "don't", " ", "  ", "\n", "\n\n", "\t", "42", "1234567", ".", "...", "!?",
     "über", "naïve", "e\u0301", "日本語", "😀", "\u00a0", "ǅ", "ʰ", "_", "-", "(", ")", "\r\n", "𝔘"]
)  # fmt: skip
_texts = st.lists(_pieces, min_size=1, max_size=80).map("".join) | st.text(min_size=1, max_size=400)


@settings(max_examples=400, deadline=None)
@given(_texts, st.data())
def test_edge_token_count_equals_full_reencoding(text: str, data: st.DataObject) -> None:
    import numpy as np

    from lakeprep.chunking._kernels import _token_count, boundary_levels

    tokens = np.asarray(ENC.encode_ordinary(text), dtype=np.int64)
    chars, levels = boundary_levels(text, tokens, ENC)
    starts = [int(i) for i in np.flatnonzero(levels >= 0)]  # token boundaries at character starts
    start = data.draw(st.sampled_from(starts))
    end = data.draw(st.sampled_from([i for i in starts if i > start] or [start]))
    want = len(ENC.encode_ordinary(text[chars[start] : chars[end]]))
    assert _token_count(text, ENC, chars, start, end, tokens) == want


@settings(max_examples=300, deadline=None)
@given(_texts)
def test_letter_ends_from_the_vocabulary_are_letter_ends_of_the_text(text: str) -> None:
    """Every boundary the token tables call a letter end has a letter before it and, after it, the end or a
    non-letter Python's Unicode database knows; and every such boundary between whole tokens is found."""
    import unicodedata

    import numpy as np

    from lakeprep.chunking._kernels import _is_letter_end, _vocab_tables, boundary_levels

    tokens = np.asarray(ENC.encode_ordinary(text), dtype=np.int64)
    chars, _ = boundary_levels(text, tokens, ENC)
    _, ends_letter, starts_other = _vocab_tables(ENC)
    pieces = [ENC.decode_single_token_bytes(int(t)) for t in tokens]
    for i in range(1, len(tokens) + 1):
        p = int(chars[i])
        truth = text[p - 1].isalpha() and (p == len(text) or (not text[p].isalpha() and unicodedata.category(text[p]) != "Cn"))
        if _is_letter_end(tokens, i, ends_letter, starts_other):
            assert truth, (text, i)
        elif all(_whole(piece) for piece in pieces[i - 1 : i + 1]):  # both neighbours decode alone
            assert not truth, (text, i)


def _whole(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_edge_counting_encodes_only_a_few_characters_per_chunk() -> None:
    class Counting:
        """The encoding, counting the characters it is asked to encode."""

        def __init__(self) -> None:
            self.chars = 0
            self._pat_str = ENC._pat_str
            self.max_token_value = ENC.max_token_value

        def encode_ordinary(self, text: str) -> list[int]:
            self.chars += len(text)
            return ENC.encode_ordinary(text)

        def decode_single_token_bytes(self, token: int) -> bytes:
            return ENC.decode_single_token_bytes(token)

    text = "\n\n".join(f"## Part {i}\n\n" + " ".join(f"Sentence {j} of part {i} says something." for j in range(40)) for i in range(20))
    enc = Counting()
    chunks = chunk_document(text, enc, chunk_size=128, chunk_overlap=16)  # type: ignore[arg-type]
    assert len(chunks) > 20
    assert all(c.token_count == len(ENC.encode_ordinary(c.text)) for c in chunks)
    # the document once, then only the edges: far less than re-encoding every chunk (~1.1x the document)
    assert enc.chars < len(text) * 1.02


_md_lines = st.lists(
    st.sampled_from(["```", "```python", "````", "~~~", "~~~~", "   ```", "    ```", "``` x", "text", "# h", "", "  code", "~~~~~~"]),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_md_lines, st.booleans())
def test_code_blocks_agree_with_the_line_by_line_fence_rules(lines: list[str], trailing_newline: bool) -> None:
    from lakeprep.chunking._kernels import code_blocks
    from lakeprep.text.markdown import code_line_mask

    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    want: list[tuple[int, int]] = []  # the reference: every line through code_line_mask
    pos, start = 0, -1
    split = text.split("\n")
    for line, in_code in zip(split, code_line_mask(split)):
        if in_code and start < 0:
            start = pos
        elif not in_code and start >= 0:
            want.append((start, pos - 1))
            start = -1
        pos += len(line) + 1
    if start >= 0:
        want.append((start, len(text)))
    assert code_blocks(text) == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["# a", "## b c ##", "#no", "####### x", "#   ", "# ##", "text", "  # in", "# t\r", "```", "#\tz"]), max_size=20))
def test_section_headings_equal_a_whole_text_regex_scan(lines: list[str]) -> None:
    import re

    from lakeprep.chunking._kernels import _HEADING, code_blocks

    text = "\n".join(lines)
    spans = code_blocks(text)
    want = [
        m.start() for m in re.finditer(_HEADING.pattern, text)
        if not any(a <= m.start() < z for a, z in spans)
    ]  # fmt: skip
    assert [p for p, _ in section_headings(text, spans)] == want
