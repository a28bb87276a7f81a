"""Packing kernels (no Spark): documents -> one token stream per split -> fixed-length sequences.

The stream of a split is its documents in a seeded order, each followed by EOS (llm-foundry's
``ConcatTokensDataset``). A document whose tokens start at global offset ``o`` in that stream lands in
sequences ``o // seq_len`` .. ``(o + n - 1) // seq_len``; :func:`segments` cuts it accordingly, so the
Spark side can pack in parallel once it knows every document's offset. :class:`SequenceCutter` does that
cutting for the documents one worker holds, in stream order: a sequence whose pieces all pass through it
comes out whole, and only the pieces of sequences split between workers need regrouping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from lakeprep.tokenizers import encode_array

if TYPE_CHECKING:
    import tiktoken

__all__ = ["Run", "SequenceCutter", "pack_stream", "segments", "tokenize_documents"]


def tokenize_documents(texts: Sequence[str], enc: "tiktoken.Encoding", *, append_eos: bool) -> list[np.ndarray]:
    """Token ids (uint32) of each text, special-token text treated as plain text, EOS appended if asked."""
    if not append_eos:
        return [encode_array(t, enc) for t in texts]
    eos = np.array([enc.eot_token], dtype=np.uint32)
    return [np.concatenate((encode_array(t, enc), eos)) for t in texts]


def segments(tokens: np.ndarray, offset: int, seq_len: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(sequence index, position in it, tokens)`` pieces of a document starting at stream ``offset``."""
    pos, n = 0, len(tokens)
    while pos < n:
        g = offset + pos
        seq, at = divmod(g, seq_len)
        take = min(seq_len - at, n - pos)
        yield seq, at, tokens[pos : pos + take]
        pos += take


def pack_stream(docs: Iterable[np.ndarray], seq_len: int) -> tuple[list[np.ndarray], int]:
    """Reference packer in one process: full sequences and the number of tail tokens dropped."""
    stream = np.concatenate([np.asarray(d, dtype=np.uint32) for d in docs] or [np.zeros(0, np.uint32)])
    full = len(stream) // seq_len
    return [stream[i * seq_len : (i + 1) * seq_len] for i in range(full)], len(stream) - full * seq_len


class Run(NamedTuple):
    """Consecutive tokens of one sequence: ``tokens`` start at position ``pos`` of sequence ``seq`` of ``split``
    and come from ``doc_ids`` in stream order. ``whole``: the run is the entire sequence (``pos == 0`` and
    ``seq_len`` tokens); otherwise it is a part to be joined with the other parts of its sequence by ``pos``."""

    split: str
    seq: int
    pos: int
    tokens: np.ndarray
    doc_ids: list[str]
    whole: bool


@dataclass
class _Pending:
    split: str
    seq: int
    pos: int
    pieces: list[np.ndarray] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    filled: int = 0


class SequenceCutter:
    """Cut documents into sequence runs, fed in stream order (split, then position) with their global offsets.

    Pieces of one sequence that arrive one after another, each starting where the last ended, are joined into
    one run. A run covering all ``seq_len`` positions is whole; anything else (a sequence whose other pieces
    went to another worker, or the short tail of a split) is a part. Feeding documents out of order is not
    an error here but makes more parts: correctness only needs every part to be regrouped by position."""

    def __init__(self, seq_len: int) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        self.seq_len = seq_len
        self._pending: _Pending | None = None

    def feed(self, split: str, doc_id: str, tokens: np.ndarray, offset: int) -> Iterator[Run]:
        """The runs completed by this document (its last, unfinished run stays pending)."""
        for seq, at, piece in segments(tokens, offset, self.seq_len):
            p = self._pending
            if p is not None and (p.split != split or p.seq != seq or p.pos + p.filled != at):
                yield self._flush()
                p = None
            if p is None:
                if at == 0 and len(piece) == self.seq_len:  # a whole sequence out of one document
                    yield Run(split, seq, 0, piece, [doc_id], True)
                    continue
                p = self._pending = _Pending(split, seq, at)
            p.pieces.append(piece)
            p.doc_ids.append(doc_id)
            p.filled += len(piece)
            if p.pos == 0 and p.filled == self.seq_len:
                yield self._flush()

    def close(self) -> Iterator[Run]:
        """The pending run, if any (call once the worker has fed everything it holds)."""
        if self._pending is not None:
            yield self._flush()

    def _flush(self) -> Run:
        p, self._pending = self._pending, None
        assert p is not None
        tokens = p.pieces[0] if len(p.pieces) == 1 else np.concatenate(p.pieces)
        return Run(p.split, p.seq, p.pos, tokens, p.doc_ids, p.pos == 0 and p.filled == self.seq_len)
