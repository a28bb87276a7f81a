from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.dedup._kernels import band_hashes, estimated_jaccard, lsh_params, minhash_signatures, shingles


def _datasketch(sets: list[list[bytes]], num_perm: int, seed: int) -> np.ndarray:
    out = []
    for s in sets:
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch(s)
        out.append(m.hashvalues)
    return np.array(out, dtype=np.uint64)


def _random_docs(rng: random.Random, n: int) -> list[str]:
    vocab = [f"w{i}" for i in range(2000)] + ["naïve", "Größe", "日本語", "emoji🙂"]
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 300))) for _ in range(n)]


@pytest.mark.parametrize(("num_perm", "seed", "n"), [(128, 1, 5), (64, 7, 3), (256, 42, 1)])
def test_signatures_are_bit_identical_to_datasketch(num_perm: int, seed: int, n: int) -> None:
    rng = random.Random(num_perm + seed)
    sets = [shingles(d, n) for d in _random_docs(rng, 200)]
    ours = minhash_signatures(sets, num_perm=num_perm, seed=seed)
    assert ours.dtype == np.uint32 and ours.shape == (200, num_perm)
    assert np.array_equal(ours.astype(np.uint64), _datasketch(sets, num_perm, seed))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=8), st.integers(min_value=0, max_value=2**31))
def test_signatures_match_datasketch_for_any_text(texts: list[str], seed: int) -> None:
    sets = [shingles(t, 3) for t in texts]
    assert np.array_equal(minhash_signatures(sets, num_perm=32, seed=seed).astype(np.uint64), _datasketch(sets, 32, seed))


def test_empty_document_has_the_empty_signature() -> None:
    sig = minhash_signatures([[], [b"a"]], num_perm=16, seed=1)
    assert (sig[0] == np.uint32(2**32 - 1)).all() and not (sig[1] == np.uint32(2**32 - 1)).all()
    assert minhash_signatures([], num_perm=16, seed=1).shape == (0, 16)


def test_shingles() -> None:
    assert set(shingles("the QUICK brown fox!", 2)) == set(shingles("The quick brown fox", 2))
    assert set(shingles("The quick brown fox", 2)) == {b"the quick", b"quick brown", b"brown fox"}
    assert shingles("one two", 5) == [b"one two"]
    assert shingles("  ...  ", 5) == []


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98])
@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.02, 0.98), (0.9, 0.1)])
def test_lsh_params_match_datasketch(threshold: float, num_perm: int, weights: tuple[float, float]) -> None:
    # ours integrates every (bands, rows) at once by Gauss-Legendre quadrature, datasketch each by scipy's quad
    assert lsh_params(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm, *weights)


def test_band_hashes_equal_exactly_when_bands_equal() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(3, 24), dtype=np.uint64).astype(np.uint32)
    sig[1, :8] = sig[0, :8]  # band 0 shared by docs 0 and 1
    h = band_hashes(sig, bands=3, rows=8)
    assert h.dtype == np.int64 and h.shape == (3, 3)
    assert h[0, 0] == h[1, 0] and h[0, 1] != h[1, 1] and h[0, 0] != h[2, 0]
    same = sig.copy()
    same[:, 8:16] = same[0, :8]  # equal values in a different band must hash differently (band salt)
    h2 = band_hashes(same, bands=3, rows=8)
    assert h2[0, 1] != h2[0, 0]
    assert np.array_equal(band_hashes(sig, bands=3, rows=8), h)


def test_estimated_jaccard_tracks_true_jaccard() -> None:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(5000)]
    base = [rng.choice(words) for _ in range(400)]
    edited = list(base)
    for i in rng.sample(range(400), 20):
        edited[i] = rng.choice(words)
    a, b = shingles(" ".join(base), 5), shingles(" ".join(edited), 5)
    true = len(set(a) & set(b)) / len(set(a) | set(b))
    sig = minhash_signatures([a, b], num_perm=256, seed=1)
    assert abs(estimated_jaccard(sig[0], sig[1]) - true) < 0.1


def test_exact_jaccard() -> None:
    from lakeprep.dedup._kernels import jaccard

    assert jaccard([b"a", b"b"], [b"b", b"c"]) == 1 / 3
    assert jaccard([], []) == 1.0 and jaccard([b"a"], []) == 0.0


def test_recall_oriented_weights_catch_pairs_at_the_threshold() -> None:
    bands, rows = lsh_params(0.8, 128, 0.02, 0.98)
    assert (bands, rows) == (17, 7)
    assert 1 - (1 - 0.8**rows) ** bands > 0.98  # a pair at J=0.8 becomes a candidate 98% of the time
