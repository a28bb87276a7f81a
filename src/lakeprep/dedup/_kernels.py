"""MinHash + LSH kernels in numpy (no Spark).

Two hash schemes (``silver.dedup.hash``):

* ``fast64`` (the default): :func:`text_signatures` goes from texts to signatures without a Python object
  per word or shingle. A batch of texts is lower-cased and viewed as one array of code points; word
  characters (``\\w``, as ``re`` defines it) come from a lookup table; each word is hashed with a
  polynomial over its code points taken from prefix sums (wrapping uint64 arithmetic), word n-grams are
  combined from the word hashes in a few array passes and mixed (murmur3's fmix64) into 64-bit shingle
  hashes. Each permutation is ``h * a + b (mod 2**64)`` with an odd ``a``; the signature value is the
  top 32 bits of the minimum, so a permutation costs a multiply, an add and a running minimum.
* ``sha1_32`` (datasketch compatible): :func:`minhash_signatures` over :func:`shingles`.

Signatures of ``sha1_32`` are bit-identical to ``datasketch.MinHash(num_perm, seed)`` fed with the same shingles
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
    "HASH_SCHEMES",
    "MAX_HASH",
    "MERSENNE_PRIME",
    "band_hashes",
    "estimated_jaccard",
    "jaccard",
    "lsh_params",
    "minhash_signatures",
    "permutations",
    "shingle_hashes",
    "shingles",
    "signatures",
    "text_signatures",
]

HASH_SCHEMES = ("fast64", "sha1_32")

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
        _fold_min(out, x, owners[start : start + n])
    return out.astype(np.uint32)


def _fold_min(out: np.ndarray, x: np.ndarray, who: np.ndarray) -> None:
    """``out[d] = min(out[d], rows of x owned by d)``; the rows of one document are contiguous in ``who``."""
    bounds = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
    docs = who[bounds]
    out[docs] = np.minimum(out[docs], np.minimum.reduceat(x, bounds, axis=0))


# -- fast64: texts -> shingle hashes -> signatures, in array passes ---------------------------------------
_P = np.uint64(0x100000001B3)  # odd multiplier of the per-word polynomial (the FNV-64 prime)
_Q = np.uint64(pow(0x100000001B3, -1, 1 << 64))  # its inverse modulo 2**64
_NGRAM = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier combining word hashes into an n-gram hash
_BLOCK_CP = 1 << 22  # code points per sub-batch (the power tables hold this many entries)
_FAST_CHUNK = 1024  # shingle hashes per block of the (hashes x permutations) matrix
_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_S33, _S32 = np.uint64(33), np.uint64(32)


@lru_cache(maxsize=1)
def _word_table() -> np.ndarray:
    """``bool[0x110000]``: whether a code point is a ``\\w`` character of Python's ``re`` (alnum or ``_``)."""
    table = np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=bool, count=0x110000)
    table[ord("_")] = True
    return table


@lru_cache(maxsize=1)
def _powers() -> tuple[np.ndarray, np.ndarray]:
    """``Q**i`` and ``P**i`` (mod 2**64) for i < _BLOCK_CP + 1."""
    q = np.full(_BLOCK_CP + 1, _Q, dtype=np.uint64)
    q[0] = 1
    p = np.full(_BLOCK_CP + 1, _P, dtype=np.uint64)
    p[0] = 1
    return np.cumprod(q, dtype=np.uint64), np.cumprod(p, dtype=np.uint64)


def _fmix64(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finalizer, in place."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def _words_of_block(lowered: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word of ``lowered`` texts (in order) and the index of the text each belongs to."""
    cp = np.frombuffer("\x00".join(lowered).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    isw = _word_table()[cp]
    edges = np.flatnonzero(np.diff(np.r_[False, isw, False].view(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    qpow, ppow = _powers()
    n = len(cp)
    # g[i] = sum_{j<i} (cp[j] + 1) * Q**j; a word [s, e) hashes to (g[e] - g[s]) * P**s = sum (cp[j] + 1) * Q**(j - s)
    g = np.empty(n + 1, dtype=np.uint64)
    g[0] = 0
    np.cumsum((cp.astype(np.uint64) + np.uint64(1)) * qpow[:n], out=g[1:])
    words = (g[ends] - g[starts]) * ppow[starts]
    _fmix64(words)
    doc_starts = np.cumsum([0] + [len(t) + 1 for t in lowered[:-1]])
    owners = np.searchsorted(doc_starts, starts, side="right") - 1
    return words, owners


def shingle_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word n-grams of each text (lower-cased ``\\w+`` words, as :func:`shingles`
    splits them; a text of at most ``n`` words is one shingle) and how many belong to each text.

    Repeated n-grams are kept (a minimum does not care); texts come out in order, so the owner of each
    hash is ``np.repeat(np.arange(len(texts)), counts)``."""
    word_parts, owner_parts = [], []
    block: list[str] = []
    size, base = 0, 0
    for text in [*texts, None]:
        low = text.lower() if text is not None else ""
        if text is None or (block and size + len(low) + 1 > _BLOCK_CP):
            if block:
                w, o = _words_of_block(block)
                word_parts.append(w)
                owner_parts.append(o + base)
                base += len(block)
            block, size = [], 0
        if text is None:
            break
        if len(low) + 1 > _BLOCK_CP:  # one huge text: its own blocks, cut at a non-word character
            w = _words_of_huge(low)
            word_parts.append(w)
            owner_parts.append(np.full(len(w), base, dtype=np.int64))
            base += 1
            continue
        block.append(low)
        size += len(low) + 1
    words = np.concatenate(word_parts) if word_parts else np.empty(0, dtype=np.uint64)
    owners = np.concatenate(owner_parts) if owner_parts else np.empty(0, dtype=np.int64)
    n_docs = len(texts)
    per_doc = np.bincount(owners, minlength=n_docs)
    if len(words) == 0:
        return words, per_doc
    # n-gram i covers words i..i+n-1 of one text; texts with at most n words get one shingle of all words
    first = np.r_[0, np.cumsum(per_doc)[:-1]]
    m = len(words) - n + 1
    if m > 0:
        grams = words[:m].copy()
        for k in range(1, n):
            grams *= _NGRAM
            grams += words[k : k + m]
        keep = owners[:m] == owners[n - 1 :]
        grams, gram_owner = grams[keep], owners[:m][keep]
    else:
        grams, gram_owner = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    short = np.flatnonzero((per_doc > 0) & (per_doc < n))
    if len(short):
        extra = np.empty(len(short), dtype=np.uint64)
        mult, mask = int(_NGRAM), (1 << 64) - 1
        for j, d in enumerate(short):
            acc = 0
            for k, w in enumerate(words[first[d] : first[d] + per_doc[d]].tolist()):
                acc = w if k == 0 else (acc * mult + w) & mask
            extra[j] = acc
        grams = np.concatenate([grams, extra])
        gram_owner = np.concatenate([gram_owner, short])
        order = np.argsort(gram_owner, kind="stable")
        grams, gram_owner = grams[order], gram_owner[order]
    _fmix64(grams)
    return grams, np.bincount(gram_owner, minlength=n_docs)


def _words_of_huge(low: str) -> np.ndarray:
    """Word hashes of one text longer than a block, in pieces cut where no word is split."""
    is_word = _word_table()
    parts, pos = [], 0
    while pos < len(low):
        end = min(pos + _BLOCK_CP - 1, len(low))
        if end < len(low):
            cut = end
            while cut > pos and is_word[ord(low[cut - 1])]:
                cut -= 1
            end = cut if cut > pos else end  # a single word longer than a block is cut (never seen in text)
        parts.append(_words_of_block([low[pos:end]])[0])
        pos = end
    return np.concatenate(parts)


def text_signatures(texts: Sequence[str], *, num_perm: int, seed: int, shingle_size: int) -> np.ndarray:
    """``fast64`` MinHash signatures of many texts at once: ``uint32[len(texts), num_perm]``.

    A text without words gets the empty signature (all ``2**32 - 1``)."""
    a, b = permutations(num_perm, seed)
    a = a | np.uint64(1)  # odd multipliers: h -> h * a + b is a bijection of uint64
    hashes, counts = shingle_hashes(texts, shingle_size)
    n_docs = len(texts)
    out = np.full((n_docs, num_perm), np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    if len(hashes):
        owners = np.repeat(np.arange(n_docs), counts)
        buf = np.empty((_FAST_CHUNK, num_perm), dtype=np.uint64)
        for start in range(0, len(hashes), _FAST_CHUNK):
            hv = hashes[start : start + _FAST_CHUNK, None]
            x = buf[: hv.shape[0]]
            np.multiply(hv, a, out=x)
            np.add(x, b, out=x)
            _fold_min(out, x, owners[start : start + hv.shape[0]])
    # the top 32 bits of the minimum are the minimum of the top 32 bits
    return (out >> _S32).astype(np.uint32)



@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive + false negative areas, as datasketch does.

    For ``b`` bands of ``r`` rows, a pair of Jaccard similarity ``s`` shares no band with probability
    ``(1 - s**r)**b``: the false positive area is the integral of one minus that over ``[0, threshold]``, the
    false negative area the integral of it over ``[threshold, 1]``. The integrand is a polynomial of degree
    ``r * b <= num_perm``, so Gauss-Legendre quadrature with ``num_perm // 2 + 1`` nodes integrates it exactly
    (up to rounding), for every ``(b, r)`` at once in numpy. datasketch integrates each pair adaptively with
    scipy's ``quad`` (~1,400 calls for 128 permutations: ~0.5 s of every new process); both pick the same
    pair (tested against datasketch)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=np.float64)
    bands, rows = pairs[:, :1], pairs[:, 1:]
    x, w = np.polynomial.legendre.leggauss(num_perm // 2 + 1)

    def missed_area(lo: float, hi: float) -> np.ndarray:  # integral of (1 - s**r)**b over [lo, hi], per pair
        s = (hi - lo) / 2 * x + (hi + lo) / 2
        return (hi - lo) / 2 * (((1 - s**rows) ** bands) @ w)

    false_positive = threshold - missed_area(0.0, threshold)
    false_negative = missed_area(threshold, 1.0)
    best = int(np.argmin(fp_weight * false_positive + fn_weight * false_negative))  # the first minimum, as datasketch's loop
    return int(pairs[best, 0]), int(pairs[best, 1])


def signatures(texts: Sequence[str], *, hash_scheme: str, num_perm: int, seed: int, shingle_size: int) -> np.ndarray:
    """``uint32[len(texts), num_perm]`` MinHash signatures of ``texts`` with ``hash_scheme`` (:data:`HASH_SCHEMES`):
    :func:`text_signatures` for ``fast64``, :func:`minhash_signatures` over :func:`shingles` for ``sha1_32``."""
    if hash_scheme == "fast64":
        return text_signatures(texts, num_perm=num_perm, seed=seed, shingle_size=shingle_size)
    if hash_scheme == "sha1_32":
        return minhash_signatures([shingles(t, shingle_size) for t in texts], num_perm=num_perm, seed=seed)
    raise ValueError(f"hash_scheme {hash_scheme!r} is not one of {HASH_SCHEMES}")


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
