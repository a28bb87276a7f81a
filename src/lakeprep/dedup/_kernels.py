"""MinHash + LSH kernels in numpy (no Spark).

Signatures are bit-identical to ``datasketch.MinHash(num_perm, seed)`` fed with the same shingles
(``update_batch`` of UTF-8 encoded shingles, default SHA-1 32-bit hash): the same permutations drawn from
``numpy.random.RandomState(seed)``, the same wrapping uint64 arithmetic ``((h * a + b) mod 2**64) mod
(2**61 - 1)`` masked to 32 bits. They are faster because a whole batch of documents is processed at once:
every shingle hash of the batch goes through the permutations in a few large numpy operations, the
Mersenne-prime modulo is done with shifts instead of division, and minima are taken per document with
``np.minimum.reduceat``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = [
    "MAX_HASH",
    "MERSENNE_PRIME",
    "band_hashes",
    "estimated_jaccard",
    "jaccard",
    "lsh_params",
    "minhash_signatures",
    "permutations",
    "shingles",
]

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)
_WORDS = re.compile(r"\w+", re.UNICODE)
_CHUNK = 256  # shingle hashes per block of the (hashes x permutations) matrix: 256 x 128 x 8 B = 256 KB
_SHIFT = np.uint64(61)


def shingles(text: str, n: int) -> list[bytes]:
    """Distinct word n-grams of the lower-cased text, UTF-8 encoded (a short text is one shingle)."""
    words = _WORDS.findall(text.lower())
    if not words:
        return []
    if len(words) <= n:
        return [" ".join(words).encode("utf-8")]
    return list({" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)})


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) vectors datasketch draws for ``MinHash(num_perm=num_perm, seed=seed)``."""
    gen = np.random.RandomState(seed)
    pairs = [
        (gen.randint(1, MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, MERSENNE_PRIME, dtype=np.uint64))
        for _ in range(num_perm)
    ]
    arr = np.array(pairs, dtype=np.uint64).T
    return arr[0].copy(), arr[1].copy()


def _hash32(items: Sequence[bytes]) -> np.ndarray:
    sha1 = hashlib.sha1
    return np.fromiter(
        (int.from_bytes(sha1(x).digest()[:4], "little") for x in items), dtype=np.uint64, count=len(items)
    )


def minhash_signatures(shingle_sets: Sequence[Sequence[bytes]], *, num_perm: int, seed: int) -> np.ndarray:
    """Signatures of many documents at once: ``uint32[len(shingle_sets), num_perm]``.

    A document without shingles gets the empty signature (all ``2**32 - 1``), as in datasketch.
    """
    a, b = permutations(num_perm, seed)
    n_docs = len(shingle_sets)
    out = np.full((n_docs, num_perm), MAX_HASH, dtype=np.uint64)
    lengths = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=n_docs)
    flat = [x for s in shingle_sets for x in s]
    if not flat:
        return out.astype(np.uint32)
    hashes = _hash32(flat)
    owners = np.repeat(np.arange(n_docs), lengths)
    # Small blocks keep the (hashes x permutations) matrix in cache; all arithmetic is in place.
    buf = np.empty((_CHUNK, num_perm), dtype=np.uint64)
    tmp = np.empty((_CHUNK, num_perm), dtype=np.uint64)
    for start in range(0, len(hashes), _CHUNK):
        hv = hashes[start : start + _CHUNK, None]
        n = hv.shape[0]
        x, t = buf[:n], tmp[:n]
        np.multiply(hv, a, out=x)  # uint64 wraps modulo 2**64, exactly like datasketch's arithmetic
        np.add(x, b, out=x)
        # x mod (2**61 - 1) without division: 2**61 = 1 (mod p), so x = (x & p) + (x >> 61) (mod p)
        np.right_shift(x, _SHIFT, out=t)
        np.bitwise_and(x, MERSENNE_PRIME, out=x)
        np.add(x, t, out=x)
        over = x >= MERSENNE_PRIME
        if over.any():  # one more subtraction, needed with probability ~ 2**-58
            x[over] -= MERSENNE_PRIME
        np.bitwise_and(x, MAX_HASH, out=x)
        who = owners[start : start + n]
        # rows of one document are contiguous: reduce each run of equal owners to its minimum
        bounds = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
        docs = who[bounds]
        np.minimum(out[docs], np.minimum.reduceat(x, bounds, axis=0), out=t[: len(docs)])
        out[docs] = t[: len(docs)]
    return out.astype(np.uint32)


def _false_positive_area(threshold: float, b: int, r: int) -> float:
    """Probability mass of pairs below the threshold that still share a band."""
    from scipy.integrate import quad

    return float(quad(lambda s: 1 - (1 - s**r) ** b, 0.0, threshold)[0])


def _false_negative_area(threshold: float, b: int, r: int) -> float:
    """Probability mass of pairs above the threshold that share no band."""
    from scipy.integrate import quad

    return float(quad(lambda s: (1 - s**r) ** b, threshold, 1.0)[0])


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive + false negative areas, as datasketch does."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    best, best_err = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            err = fp_weight * _false_positive_area(threshold, bands, rows) + fn_weight * _false_negative_area(
                threshold, bands, rows
            )
            if err < best_err:
                best, best_err = (bands, rows), err
    return best


def band_hashes(signatures: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """``int64[n_docs, bands]``: one 64-bit hash per band (blake2b of the band's uint32 values, band index salted)."""
    n = signatures.shape[0]
    sig = np.ascontiguousarray(signatures[:, : bands * rows].astype("<u4"))
    out = np.empty((n, bands), dtype=np.int64)
    for i in range(n):
        row = sig[i]
        for j in range(bands):
            digest = hashlib.blake2b(row[j * rows : (j + 1) * rows].tobytes(), digest_size=8, salt=j.to_bytes(8, "little")).digest()
            out[i, j] = int.from_bytes(digest, "little", signed=True)
    return out


def jaccard(a: Sequence[bytes], b: Sequence[bytes]) -> float:
    """Exact Jaccard similarity of two shingle collections (two empty ones are identical)."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return 1.0 if union == 0 else len(sa & sb) / union


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal signature values (the MinHash estimate of Jaccard similarity)."""
    return float(np.count_nonzero(sig_a == sig_b)) / float(len(sig_a))
