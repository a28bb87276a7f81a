"""Token-aware, structure-aware chunking with overlap (no Spark).

A document is encoded once with tiktoken. Every token boundary gets a *level* from the text around it:

====  ==========================================================
 4    start of a Markdown heading line (``# ...`` to ``###### ...``)
 3    start of a paragraph (after a blank line); start or end of a fenced code block
 2    end of a sentence (``.!?`` before whitespace) or start of a line
 1    between words (whitespace on either side); start of a line inside a code block
 0    inside a word; anywhere else inside a code block
-1    inside a UTF-8 character (never a boundary)
====  ==========================================================

Inside a fenced code block only line starts are boundaries, below every prose boundary. A block that fits
in a chunk (with the overlap) is not cut: when the best end falls inside it, the chunk ends where the
block starts instead, even if that chunk is shorter than usual. A longer block is cut between lines (mid-line
only when a single line is longer than a chunk). ``#`` lines inside code (shell comments) are not headings.

Chunks are windows of the document's tokens. Chunk ``i`` covers tokens ``[s_i, e_i)`` with
``e_i - s_i <= chunk_size``; the next starts ``chunk_overlap`` tokens before the previous one ended
(``s_{i+1} = e_i - chunk_overlap``, moved back to a character start if that would split a character).
The end of a chunk that is not the last is the boundary with the highest level among the ends that
leave at least half of the chunk's room for new tokens, the latest one among equals: a heading, else a
paragraph, else a sentence, then a word, then a token. ``token_count`` is the chunk text re-encoded on
its own; in the rare case where that exceeds ``chunk_size`` the end moves back until it fits.

That count is exact without re-encoding the chunk. tiktoken splits text into pre-tokens with a regular
expression and BPE never crosses one. For cl100k_base's pattern (the one tokenizer shipped offline), a position
right after a letter (``\\p{L}``) and before a non-letter ends a pre-token in *every* scan that passes it:
no alternative continues a letter run into a non-letter, and no match before it looks past that letter. So
between the first such position ``a`` at or after the chunk's start and the last one ``b`` at or before its
end, the chunk alone splits exactly as the document did, and
``count = len(encode(text[start:a])) + (tokens of the document between a and b) + len(encode(text[b:end]))``:
only the two edges are encoded again (a few characters each). Any such ``a <= b`` will do, so they are
told at token boundaries from two tables over the vocabulary (does a token end with a whole letter; does the
next one start with a whole non-letter), looked for from each edge of the chunk inwards (usually a token or
two); a letter split between tokens is simply not used. Code points outside Python's Unicode database (whose category tiktoken's tables may know) never
count as such positions; other encodings, and chunks without two such positions, are re-encoded whole. Edge
counts of up to 64 characters are remembered per encoding. ``tests/unit/test_chunking.py`` checks the count
against full re-encoding on arbitrary Unicode (hypothesis).

``section_path`` is the chain of headings in force where the chunk's new (non-overlap) text starts.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from lakeprep.text.markdown import fence_state
from lakeprep.tokenizers import encode_array

if TYPE_CHECKING:
    import tiktoken

__all__ = ["Chunk", "boundary_levels", "chunk_document", "chunk_id", "code_blocks", "page_spans", "section_headings"]

_HEADING = re.compile(r"(?m)^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE_LINE = re.compile(r"[ ]{0,3}(?:`{3,}|~{3,})")  # at a line start: a line that may open or close a fenced block
_LIST_MARKER = re.compile(r"[ \t]*(?:\d{1,3}|[A-Za-z])[.)]")  # "4." / "b)" at a line start is not a sentence end


@dataclass(frozen=True)
class Chunk:
    """One chunk of a document; ``text == document[char_start:char_end]``."""

    index: int
    text: str
    token_count: int
    char_start: int
    char_end: int
    token_start: int  # in the document's own encoding
    token_end: int
    section_path: tuple[str, ...]


def page_spans(text: str, spans: Sequence[tuple[int, int]], *, page_break: str = "\f") -> list[tuple[int, int]]:
    """1-based ``(first, last)`` page of each ``(char_start, char_end)`` span of a paged document, whose
    pages are separated by ``page_break`` characters (pages are counted, so masking and chunking keep them).
    The pages are those of the span's first and last visible characters: a span that ends just after a page
    break (or starts just before one) is not on the next (previous) page."""
    breaks = [m.start() for m in re.finditer(re.escape(page_break), text)]
    out = []
    for start, end in spans:
        first, last = start, end - 1
        while first < last and text[first].isspace():
            first += 1
        while last > first and text[last].isspace():
            last -= 1
        out.append((bisect.bisect_right(breaks, first) + 1, bisect.bisect_right(breaks, last) + 1))
    return out


def chunk_id(doc_id: str, index: int, text: str) -> str:
    """Stable id of a chunk: sha256 of doc id, index and text (32 hex characters)."""
    h = hashlib.sha256()
    for part in (doc_id, str(index), text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def _token_byte_lengths(enc: "tiktoken.Encoding") -> np.ndarray:
    """Bytes per token id (0 for ids that decode to nothing, e.g. unused slots)."""
    return _vocab_tables(enc)[0]


# tiktoken pre-token patterns for which "letter, then non-letter" always ends a pre-token (module docstring);
# others (o200k_base attaches contractions to words and splits camelCase) are re-encoded whole
_EDGE_SAFE_PATTERNS = frozenset({
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # cl100k_base
})  # fmt: skip


_EDGE_CACHE_CHARS = 64  # edges up to this long are counted once per encoding (most are a word or two)


def _first_char(raw: bytes) -> str | None:
    """The first character of ``raw`` when it starts with a whole UTF-8 character, else None."""
    if not raw or raw[0] & 0xC0 == 0x80:
        return None
    width = 1 if raw[0] < 0x80 else 2 if raw[0] >> 5 == 0b110 else 3 if raw[0] >> 4 == 0b1110 else 4
    try:
        return raw[:width].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _last_char(raw: bytes) -> str | None:
    """The last character of ``raw`` when it ends with a whole UTF-8 character (lead byte included), else None."""
    for back in range(1, min(4, len(raw)) + 1):
        if raw[-back] & 0xC0 != 0x80:
            try:
                return raw[-back:].decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


@lru_cache(maxsize=8)
def _vocab_tables(enc: "tiktoken.Encoding") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token id: its length in bytes; whether it ends with a whole letter (``\\p{L}`` as ``str.isalpha``); and
    whether it starts with a whole character that is not a letter and that this Python's Unicode database knows
    (category not ``Cn``). Ids that decode to nothing (unused slots) get 0 / False / False."""
    size = enc.max_token_value + 1
    lengths, ends_letter, starts_other = np.zeros(size, dtype=np.int32), np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
    for i in range(size):
        try:
            raw = enc.decode_single_token_bytes(i)
        except KeyError:
            continue
        last, first = _last_char(raw), _first_char(raw)
        lengths[i] = len(raw)
        ends_letter[i] = last is not None and last.isalpha()
        starts_other[i] = first is not None and not first.isalpha() and unicodedata.category(first) != "Cn"
    return lengths, ends_letter, starts_other


def _is_letter_end(tokens: np.ndarray, i: int, ends_letter: np.ndarray, starts_other: np.ndarray) -> bool:
    """Whether token boundary ``0 < i <= n`` is a position where a letter ends a pre-token (module docstring): the
    token before ends with a whole letter and the next one starts with a whole known non-letter, or the text ends."""
    return bool(ends_letter[tokens[i - 1]]) and (i == len(tokens) or bool(starts_other[tokens[i]]))


@lru_cache(maxsize=8)
def _edge_counter(enc: "tiktoken.Encoding") -> "Callable[[str], int]":
    """``len(enc.encode_ordinary(s))``, remembered for short ``s`` (chunk edges repeat: " the", ".\\n\\n")."""
    encode = enc.encode_ordinary
    cached = lru_cache(maxsize=1 << 16)(lambda s: len(encode(s)))

    def count(s: str) -> int:
        return 0 if not s else cached(s) if len(s) <= _EDGE_CACHE_CHARS else len(encode(s))

    return count


def _token_count(text: str, enc: "tiktoken.Encoding", chars: np.ndarray, start: int, end: int, tokens: np.ndarray | None) -> int:
    """``len(enc.encode_ordinary(text[chars[start]:chars[end]]))``; given the document's ``tokens`` (for an encoding
    whose pattern is in ``_EDGE_SAFE_PATTERNS``) only the parts before the first and after the last letter end
    inside the chunk are encoded (:func:`_is_letter_end`, looked for from each edge inwards: a token or two)."""
    cs, ce = int(chars[start]), int(chars[end])
    if tokens is not None:
        _, ends_letter, starts_other = _vocab_tables(enc)
        ia = max(start, 1)
        while ia <= end and not _is_letter_end(tokens, ia, ends_letter, starts_other):
            ia += 1
        if ia <= end:
            ib = end
            while not _is_letter_end(tokens, ib, ends_letter, starts_other):
                ib -= 1
            count = _edge_counter(enc)
            return count(text[cs : int(chars[ia])]) + (ib - ia) + count(text[int(chars[ib]) : ce])
    return len(enc.encode_ordinary(text[cs:ce]))


def _lines_holding(text: str, needles: tuple[str, ...]) -> list[int]:
    """Sorted start offsets of the lines that contain one of ``needles`` (found with ``str.find``)."""
    starts: set[int] = set()
    for needle in needles:
        i = text.find(needle)
        while i >= 0:
            line_start = text.rfind("\n", 0, i) + 1
            starts.add(line_start)
            nl = text.find("\n", i)
            if nl < 0:
                break
            i = text.find(needle, nl + 1)
    return sorted(starts)


def code_blocks(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the fenced code blocks, from the opening fence line's first
    character to the end of the closing fence line (its newline excluded). Only lines that look like fences
    can open or close a block (:func:`~lakeprep.text.markdown.fence_state`), so only those are visited."""
    if "```" not in text and "~~~" not in text:
        return []
    spans: list[tuple[int, int]] = []
    fence, start = "", -1
    for line_start in _lines_holding(text, ("```", "~~~")):
        if not _FENCE_LINE.match(text, line_start):
            continue
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end < 0 else line_end
        fence, _ = fence_state(fence, text[line_start:line_end])
        if fence and start < 0:  # a block opening on the line right after one closed continues it
            start = spans.pop()[0] if spans and spans[-1][1] + 1 == line_start else line_start
        elif not fence and start >= 0:
            spans.append((start, line_end))
            start = -1
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def _after_newline(text: str, needle: str) -> list[int]:
    """Offsets of ``needle`` where it starts a line after the first (``str.find`` of newline + needle)."""
    out, i = [], text.find("\n" + needle)
    while i >= 0:
        out.append(i + 1)
        i = text.find("\n" + needle, i + 1)
    return out


def section_headings(text: str, code: list[tuple[int, int]] | None = None) -> list[tuple[int, tuple[str, ...]]]:
    """``(char position of the heading line, heading path in force from there)``, in text order; ``#``
    lines inside fenced code blocks (``code``, found when not given) are not headings."""
    out: list[tuple[int, tuple[str, ...]]] = []
    stack: list[tuple[int, str]] = []
    spans = code_blocks(text) if code is None else code
    starts = [a for a, _ in spans]
    candidates = ([0] if text.startswith("#") else []) + _after_newline(text, "#")
    for pos in candidates:
        line_end = text.find("\n", pos)
        m = _HEADING.match(text, pos, len(text) if line_end < 0 else line_end)
        if m is None:
            continue
        k = bisect.bisect_right(starts, m.start()) - 1
        if k >= 0 and m.start() < spans[k][1]:
            continue
        depth, title = len(m.group(1)), m.group(2).strip()
        while stack and stack[-1][0] >= depth:
            stack.pop()
        stack.append((depth, title))
        out.append((m.start(), tuple(t for _, t in stack)))
    return out


def boundary_levels(
    text: str,
    tokens: np.ndarray,
    enc: "tiktoken.Encoding",
    headings: list[tuple[int, tuple[str, ...]]] | None = None,
    code: list[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For token boundaries ``0..n``: their character offsets and levels (see the module docstring).

    Structure is found on the UTF-8 bytes with numpy (newlines, blank lines, sentence punctuation before
    whitespace); only headings use a regular expression.
    """
    raw = text.encode("utf-8")
    b = np.frombuffer(raw, dtype=np.uint8)
    byte_off = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(_token_byte_lengths(enc)[tokens], out=byte_off[1:], dtype=np.int64)
    if len(raw) == len(text):  # ASCII: bytes are characters
        cont = None
        chars = byte_off
    else:  # a byte offset's character index: the bytes before it that are not UTF-8 continuation bytes
        cont = np.flatnonzero((b & 0xC0) == 0x80)  # (an offset inside a character maps to that character's end)
        chars = byte_off - cont.searchsorted(byte_off)
        cont_char = cont - np.arange(len(cont)) - 1  # the character each continuation byte belongs to

    def to_bytes(char_positions: np.ndarray) -> np.ndarray:
        return char_positions if cont is None else char_positions + cont_char.searchsorted(char_positions)

    levels = np.zeros(len(tokens) + 1, dtype=np.int8)
    ws = (b == 0x20) | ((b >= 0x09) & (b <= 0x0D))  # compared, not looked up in a table: several times faster
    inner = byte_off[1:-1]
    if len(inner):  # word boundaries: whitespace just before or just after
        levels[1:-1] = (ws[inner] | ws[inner - 1]).astype(np.int8)

    def mark(byte_positions: np.ndarray, level: int) -> None:
        if len(byte_positions):
            idx = byte_off.searchsorted(byte_positions)
            ok = idx < len(byte_off)
            idx = idx[ok]
            hit = idx[byte_off[idx] == byte_positions[ok]]
            levels[hit] = np.maximum(levels[hit], level)

    nl = np.flatnonzero(b == 0x0A)
    mark(nl + 1, 2)  # line starts
    at_line_start = levels == 2
    if len(nl) > 1:  # paragraph starts: after a newline that ends a blank line (only whitespace since the last one)
        first, last = nl[:-1] + 1, nl[1:]  # the line between two newlines: [first, last)
        blank = first == last
        lines = np.flatnonzero(~blank)
        pos = first[lines]
        while len(lines):  # walk the leading whitespace of every other line at once, one byte per step
            keep = ws[pos]
            lines, pos = lines[keep], pos[keep] + 1
            done = pos == last[lines]
            blank[lines[done]] = True
            lines, pos = lines[~done], pos[~done]
        mark(last[blank] + 1, 3)
    # sentence ends: . ! ? before whitespace, except list markers like "4." or "b)" at a line start
    head = b[:-1]
    punct = np.flatnonzero(((head == 0x2E) | (head == 0x21) | (head == 0x3F)) & ws[1:]) + 1
    if len(punct):
        line_start = np.concatenate(([0], nl + 1))[nl.searchsorted(punct - 1)]
        near = punct - line_start <= 4
        if near.any():
            keep = np.ones(len(punct), dtype=bool)
            for i in np.flatnonzero(near):
                if _LIST_MARKER.fullmatch(raw[line_start[i] : punct[i]].decode("utf-8", "replace")):
                    keep[i] = False
            punct = punct[keep]
        mark(punct, 2)
    spans = code_blocks(text) if code is None else code
    heads = section_headings(text, spans) if headings is None else headings
    if spans:  # inside code: line starts only, below prose; block edges as paragraphs
        edges = to_bytes(np.array(spans, dtype=np.int64))
        lo, hi = byte_off.searchsorted(edges[:, 0], side="right"), byte_off.searchsorted(edges[:, 1], side="right")
        for i, j in zip(lo.tolist(), hi.tolist()):  # boundaries inside a block: lo <= i < hi
            levels[i:j] = at_line_start[i:j]
        mark(edges[:, 0], 3)
        mark(np.minimum(edges[:, 1] + 1, len(b)), 3)
    if heads:
        mark(to_bytes(np.array([p for p, _ in heads], dtype=np.int64)), 4)
    if cont is not None:  # boundaries inside a character are never chunk boundaries
        inner_off = byte_off[:-1]
        levels[:-1][(b[np.minimum(inner_off, len(b) - 1)] & 0xC0) == 0x80] = -1
    levels[0] = levels[-1] = 4
    return chars, levels


def chunk_document(text: str, enc: "tiktoken.Encoding", *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split ``text`` into overlapping chunks of at most ``chunk_size`` tokens (see the module docstring)."""
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got {chunk_size}/{chunk_overlap}")
    if not text:
        return []
    tokens = encode_array(text, enc)
    n = len(tokens)
    code = code_blocks(text)
    headings = section_headings(text, code)
    chars, levels = boundary_levels(text, tokens, enc, headings, code)
    edges = tokens if enc._pat_str in _EDGE_SAFE_PATTERNS else None  # count chunks from their edges
    heading_pos = [p for p, _ in headings]
    min_new = max(1, (chunk_size - chunk_overlap) // 2)
    # token boundaries where each code block starts and ends (after its closing fence line)
    if code:
        spans = np.array(code, dtype=np.int64)
        firsts = chars.searchsorted(spans[:, 0]).tolist()
        lasts = chars.searchsorted(np.minimum(spans[:, 1] + 1, len(text))).tolist()
        blocks = list(zip(firsts, lasts))
    else:
        blocks = []
    block_starts = [b for b, _ in blocks]

    chunks: list[Chunk] = []
    start, new_from = 0, 0
    while True:
        if n - start <= chunk_size:
            end = n
        else:
            lo, hi = start + chunk_overlap + min_new, start + chunk_size
            last_best = hi - int(levels[hi:lo - 1 if lo else None:-1].argmax())  # the latest of the highest level
            if levels[last_best] < 0:  # every boundary splits a character: take the first character start after hi
                end = hi + int((levels[hi:] >= 0).argmax())
            else:
                end = last_best
            k = bisect.bisect_left(block_starts, end) - 1
            if k >= 0 and end < blocks[k][1]:  # inside a code block: end before it if it then fits whole
                bs, be = blocks[k]
                # ... and if the chunk still adds tokens: the previous chunk may already end at that block
                # (``start`` can sit further back than its end minus the overlap, on a character boundary)
                if be - bs <= chunk_size - chunk_overlap and bs > max(start + chunk_overlap, new_from):
                    end = bs
        count = _token_count(text, enc, chars, start, end, edges)
        while count > chunk_size and end > start + 1:  # the chunk alone can encode differently at its edges
            end -= 1
            while levels[end] < 0 and end > start + 1:
                end -= 1
            count = _token_count(text, enc, chars, start, end, edges)
        cs, ce = int(chars[start]), int(chars[end])
        piece = text[cs:ce]
        anchor = int(chars[new_from])
        k = bisect.bisect_right(heading_pos, anchor) - 1
        chunks.append(
            Chunk(
                index=len(chunks),
                text=piece,
                token_count=count,
                char_start=cs,
                char_end=ce,
                token_start=start,
                token_end=end,
                section_path=headings[k][1] if k >= 0 else (),
            )
        )
        if end >= n:
            return chunks
        nxt = end - chunk_overlap
        while levels[nxt] < 0 and nxt > start + 1:
            nxt -= 1
        start = nxt if nxt > start else end
        new_from = end
