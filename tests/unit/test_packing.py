"""Packing kernels: segments reassemble the concatenated stream exactly (no Spark)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.tokenize._kernels import pack_stream, segments, tokenize_documents
from lakeprep.tokenizers import get_encoding


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=30), st.integers(min_value=1, max_value=128))
def test_segments_rebuild_the_packed_stream(lengths: list[int], seq_len: int) -> None:
    rng = np.random.default_rng(len(lengths) * 1000 + seq_len)
    docs = [rng.integers(0, 100_000, size=n, dtype=np.uint32) for n in lengths]
    expected, dropped = pack_stream(docs, seq_len)
    seqs: dict[int, list[tuple[int, np.ndarray]]] = {}
    offset = 0
    for d in docs:
        for seq, at, piece in segments(d, offset, seq_len):
            assert 0 <= at < seq_len and at + len(piece) <= seq_len
            seqs.setdefault(seq, []).append((at, piece))
        offset += len(d)
    rebuilt = [np.concatenate([p for _, p in sorted(seqs[i], key=lambda x: x[0])]) for i in sorted(seqs)]
    full = [s for s in rebuilt if len(s) == seq_len]
    assert len(full) == len(expected)
    for a, b in zip(full, expected):
        np.testing.assert_array_equal(a, b)
    assert sum(len(s) for s in rebuilt) - len(full) * seq_len == dropped < seq_len


def test_tokenize_appends_eos_and_ignores_special_token_text() -> None:
    enc = get_encoding("cl100k_base")
    (a, b) = tokenize_documents(["hello world", "<|endoftext|> is text here"], enc, append_eos=True)
    assert a.dtype == np.uint32 and a[-1] == enc.eot_token and list(a[:-1]) == enc.encode_ordinary("hello world")
    assert list(b[:-1]).count(enc.eot_token) == 0  # the literal string is not the special token
    (c,) = tokenize_documents(["hello world"], enc, append_eos=False)
    assert enc.eot_token not in c.tolist()
