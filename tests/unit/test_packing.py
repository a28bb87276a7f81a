"""Packing kernels: segments reassemble the concatenated stream exactly (no Spark)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.tokenize._kernels import (
    Run,
    SequenceCutter,
    pack_stream,
    segments,
    tokenize_documents,
)
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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["train", "val"]), st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=3)),
             min_size=1, max_size=40),
    st.integers(min_value=1, max_value=64),
)
def test_cutter_runs_from_any_split_of_the_stream_regroup_into_the_packed_stream(
    docs: list[tuple[str, int, int]], seq_len: int
) -> None:
    """Documents dealt to 4 workers (each feeding its own in stream order, as a worker holding some order
    buckets does): whole runs plus the parts joined by position equal the one-process packer's sequences, and
    the tail of each split is the only short sequence."""
    rng = np.random.default_rng(len(docs) * 100 + seq_len)
    streams: dict[str, list[tuple[str, np.ndarray, int]]] = {}
    offsets: dict[str, int] = {}
    for i, (split, n, _) in enumerate(docs):
        tokens = rng.integers(0, 100_000, size=n, dtype=np.uint32).astype(np.int32)
        streams.setdefault(split, []).append((f"d{i}", tokens, offsets.get(split, 0)))
        offsets[split] = offsets.get(split, 0) + n
    workers = [SequenceCutter(seq_len) for _ in range(4)]
    runs: list[Run] = []
    for split, stream in streams.items():  # every worker sees the splits in the same order, each in stream order
        for (doc_id, tokens, offset), (_, _, w) in zip(stream, [d for d in docs if d[0] == split]):
            runs.extend(workers[w].feed(split, doc_id, tokens, offset))
    for w in workers:
        runs.extend(w.close())
    for split, stream in streams.items():
        mine = [r for r in runs if r.split == split]
        assert all(len(r.tokens) == seq_len and r.pos == 0 for r in mine if r.whole)
        seqs: dict[int, list[Run]] = {}
        for r in mine:
            seqs.setdefault(r.seq, []).append(r)
        assert all(len(v) == 1 for v in seqs.values() if any(r.whole for r in v))  # a whole sequence has no parts
        rebuilt = {s: sorted(v, key=lambda r: r.pos) for s, v in seqs.items()}
        tokens = {s: np.concatenate([r.tokens for r in v]) for s, v in rebuilt.items()}
        expected, dropped = pack_stream([t for _, t, _ in stream], seq_len)
        assert sorted(tokens) == list(range(len(tokens)))
        full = [tokens[s] for s in sorted(tokens) if len(tokens[s]) == seq_len]
        assert len(full) == len(expected) and sum(len(t) for t in tokens.values()) - len(full) * seq_len == dropped
        for a, b in zip(full, expected):
            np.testing.assert_array_equal(a, b)
        # provenance: each sequence's documents in stream order, once each
        order = {doc_id: i for i, (doc_id, _, _) in enumerate(stream)}
        for v in rebuilt.values():
            ids = [d for r in v for d in r.doc_ids]
            assert ids == sorted(ids, key=order.__getitem__) and len(ids) == len(set(ids))


def test_one_worker_holding_the_whole_stream_emits_only_whole_sequences_and_the_tail() -> None:
    cutter = SequenceCutter(8)
    runs = [r for i, n in enumerate([3, 9, 0, 12, 5]) for r in cutter.feed("train", f"d{i}", np.arange(n, dtype=np.int32), [0, 3, 12, 12, 24][i])]
    runs += list(cutter.close())
    assert [(r.seq, r.whole, len(r.tokens)) for r in runs] == [(0, True, 8), (1, True, 8), (2, True, 8), (3, False, 5)]
    assert runs[1].doc_ids == ["d1", "d3"] and runs[3].doc_ids == ["d4"]


def test_tokenize_appends_eos_and_ignores_special_token_text() -> None:
    enc = get_encoding("cl100k_base")
    (a, b) = tokenize_documents(["hello world", "<|endoftext|> is text here"], enc, append_eos=True)
    assert a.dtype == np.uint32 and a[-1] == enc.eot_token and list(a[:-1]) == enc.encode_ordinary("hello world")
    assert list(b[:-1]).count(enc.eot_token) == 0  # the literal string is not the special token
    (c,) = tokenize_documents(["hello world"], enc, append_eos=False)
    assert enc.eot_token not in c.tolist()
