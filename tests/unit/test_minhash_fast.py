"""The ``fast64`` MinHash scheme: shingle hashes equal a plain-Python reference on arbitrary Unicode, and
signatures estimate Jaccard similarity like the datasketch-compatible scheme does."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.dedup._kernels import jaccard, shingle_hashes, shingles, text_signatures

MASK = (1 << 64) - 1
P, NGRAM = 0x100000001B3, 0x9E3779B97F4A7C15


def _fmix(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    return x ^ (x >> 33)


def _reference(text: str, n: int) -> Counter[int]:
    """Word n-gram hashes computed one word at a time, the slow obvious way."""
    inv = pow(P, -1, 1 << 64)
    words = []
    for w in re.findall(r"\w+", text.lower()):
        h = 0
        for i, ch in enumerate(w):  # sum (cp + 1) * Q**i
            h = (h + (ord(ch) + 1) * pow(inv, i, 1 << 64)) & MASK
        words.append(_fmix(h))
    if not words:
        return Counter()
    spans = [words] if len(words) <= n else [words[i : i + n] for i in range(len(words) - n + 1)]
    out: Counter[int] = Counter()
    for span in spans:
        acc = span[0]
        for w in span[1:]:
            acc = (acc * NGRAM + w) & MASK
        out[_fmix(acc)] += 1
    return out


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200) | st.lists(
    st.sampled_from(["the", "Ünïcode", "snake_case", "x1", "日本語", "  ", "\n", ", ", "İ", "ß", "-", "42"]), max_size=40
).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=6), n=st.integers(1, 6))
def test_shingle_hashes_equal_the_reference_for_every_text_of_a_batch(texts: list[str], n: int) -> None:
    hashes, counts = shingle_hashes(texts, n)
    assert counts.sum() == len(hashes) and len(counts) == len(texts)
    offsets = np.r_[0, np.cumsum(counts)]
    for i, text in enumerate(texts):
        got = Counter(int(h) for h in hashes[offsets[i] : offsets[i + 1]])
        assert got == _reference(text, n), text


def test_same_shingle_set_same_hash_set_and_the_empty_text_has_the_empty_signature() -> None:
    a, b = "The quick brown fox jumps over the lazy dog", "the QUICK brown fox --- jumps over the lazy dog!"
    assert set(shingles(a, 3)) == set(shingles(b, 3))
    sig = text_signatures([a, b, "", "?!"], num_perm=64, seed=7, shingle_size=3)
    assert sig.dtype == np.uint32 and sig.shape == (4, 64)
    assert (sig[0] == sig[1]).all()
    assert (sig[2] == 0xFFFFFFFF).all() and (sig[3] == 0xFFFFFFFF).all()


def test_a_text_longer_than_a_block_hashes_like_its_words(monkeypatch) -> None:  # noqa: ANN001
    import lakeprep.dedup._kernels as k

    text = " ".join(f"w{i % 97}_{i % 13}" for i in range(3000))
    want = Counter(int(h) for h in shingle_hashes([text], 5)[0])
    others = Counter(int(h) for h in shingle_hashes(["short text here", "tail"], 5)[0])
    monkeypatch.setattr(k, "_BLOCK_CP", 1000)  # texts far longer than a block, cut between words
    k._powers.cache_clear()
    try:
        got = Counter(int(h) for h in k.shingle_hashes(["short text here", text, "tail"], 5)[0])
    finally:
        k._powers.cache_clear()
    assert got - others == want


def test_signatures_estimate_jaccard() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(5000)]
    errs = []
    for _ in range(40):
        base = list(rng.choice(vocab, 400))
        other = list(base)
        for _ in range(int(rng.integers(5, 120))):
            other[int(rng.integers(0, len(other)))] = str(rng.choice(vocab))
        a, b = " ".join(base), " ".join(other)
        sig = text_signatures([a, b], num_perm=256, seed=1, shingle_size=5)
        est = float(np.mean(sig[0] == sig[1]))
        errs.append(abs(est - jaccard(shingles(a, 5), shingles(b, 5))))
    # 256 permutations: standard error <= 0.031; the mean absolute error of an unbiased estimate is ~0.8 of it
    assert np.mean(errs) < 0.035 and max(errs) < 0.12
