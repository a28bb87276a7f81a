"""Packing kernels (no Spark): documents -> one token stream per split -> fixed-length sequences.

The stream of a split is its documents in a seeded order, each followed by EOS (llm-foundry's
``ConcatTokensDataset``). A document whose tokens start at global offset ``o`` in that stream lands in
sequences ``o // seq_len`` .. ``(o + n - 1) // seq_len``; :func:`segments` cuts it accordingly, so the
Spark side can pack in parallel once it knows every document's offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tiktoken

__all__ = ["pack_stream", "segments", "tokenize_documents"]


def tokenize_documents(texts: Sequence[str], enc: "tiktoken.Encoding", *, append_eos: bool) -> list[np.ndarray]:
    """Token ids (uint32) of each text, special-token text treated as plain text, EOS appended if asked."""
    encoded = enc.encode_ordinary_batch(list(texts), num_threads=1)
    eos = [enc.eot_token] if append_eos else []
    return [np.asarray(t + eos, dtype=np.uint32) for t in encoded]


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
