"""Near-duplicate detection: quality and throughput of lakeprep vs datasketch on the same labeled corpus.

    python benchmarks/dedup.py --docs 20000 --scale 100000 --master local[2]

1. Generates a seeded corpus: base documents (Zipf-distributed words), near-duplicates made by controlled
   edits (word swaps, insertions, deletions, reflowed lines, added boilerplate) at a spread of Jaccard
   levels, and unrelated documents. Ground truth: every pair of documents of one family whose exact
   Jaccard similarity of word 5-shingles is >= the threshold (0.8).
2. lakeprep: signatures with the numpy kernel (one process, per core), and the whole Spark dedup
   (signatures, LSH band join, verification, connected components) on ``--master``.
3. datasketch on the same documents in one process: ``MinHash.update_batch`` + ``MinHashLSH`` insert/query,
   candidates verified with the same estimated-Jaccard rule.
4. Prints precision / recall / F1 of duplicate pairs for both, docs/s/core of each stage, and ratios;
   then, with ``--scale N``, times the whole Spark dedup on N generated documents.

Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import tempfile
import time
from pathlib import Path

from _common import cores_of

import numpy as np

THRESHOLD = 0.8
NUM_PERM = 128
SHINGLE = 5
SEED = 1
WEIGHTS = (0.02, 0.98)  # lakeprep's default LSH weights (false positive, false negative)
BOILERPLATE = "Share this article. Subscribe to our newsletter for more stories like this one every week."


def _vocab(rng: np.random.Generator, size: int = 30_000) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, size=size)
    return np.array(["".join(rng.choice(letters, n)) for n in lengths])


def _edit(rng: np.random.Generator, words: list[str], vocab: np.ndarray, strength: float) -> str:
    """Apply ``strength * len(words)`` random edits of mixed kinds, sometimes reflow or add boilerplate."""
    out = list(words)
    for _ in range(max(1, int(strength * len(words)))):
        kind = rng.integers(0, 3)
        i = int(rng.integers(0, len(out)))
        if kind == 0 and len(out) > 1:  # swap two neighbours
            j = min(i + 1, len(out) - 1)
            out[i], out[j] = out[j], out[i]
        elif kind == 1:  # insert
            out.insert(i, str(rng.choice(vocab)))
        elif len(out) > 10:  # delete
            del out[i]
    text = " ".join(out)
    if rng.random() < 0.3:  # reflow: different line breaks (no effect on word shingles)
        text = re.sub(r"((?:\S+ ){12})", r"\1\n", text)
    if rng.random() < 0.3:
        text = text + "\n\n" + BOILERPLATE
    return text


def make_corpus(n_docs: int, seed: int) -> tuple[list[str], list[int]]:
    """Documents and their family ids (-1 for unrelated documents)."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.07
    zipf /= zipf.sum()
    texts: list[str] = []
    families: list[int] = []
    family = 0
    while len(texts) < n_docs:
        words = list(rng.choice(vocab, size=int(rng.integers(120, 400)), p=zipf))
        if rng.random() < 0.5:  # a family: base plus 1-4 edited copies at different strengths
            texts.append(" ".join(words))
            families.append(family)
            for _ in range(int(rng.integers(1, 5))):
                texts.append(_edit(rng, words, vocab, float(rng.choice([0.005, 0.01, 0.02, 0.04, 0.08, 0.15]))))
                families.append(family)
            family += 1
        else:
            texts.append(" ".join(words))
            families.append(-1)
    return texts[:n_docs], families[:n_docs]


def truth_pairs(texts: list[str], families: list[int]) -> set[tuple[int, int]]:
    from lakeprep.dedup._kernels import shingles

    by_family: dict[int, list[int]] = {}
    for i, f in enumerate(families):
        if f >= 0:
            by_family.setdefault(f, []).append(i)
    out = set()
    for members in by_family.values():
        sets = {i: set(shingles(texts[i], SHINGLE)) for i in members}
        for a, b in itertools.combinations(members, 2):
            j = len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b]))
            if j >= THRESHOLD:
                out.add((a, b))
    return out


def prf(predicted: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def run_datasketch(
    texts: list[str], *, weights: tuple[float, float] = (0.5, 0.5), exact: bool = False
) -> tuple[set[tuple[int, int]], float, float]:
    """datasketch as documented: MinHash.update_batch per document, MinHashLSH insert + query, then
    candidates verified by estimated Jaccard (or exact Jaccard of the shingle sets)."""
    from datasketch import MinHash, MinHashLSH

    from lakeprep.dedup._kernels import jaccard, shingles

    sets = [shingles(t, SHINGLE) for t in texts]
    t0 = time.perf_counter()
    mhs = []
    for s in sets:
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        m.update_batch(s)
        mhs.append(m)
    t_sig = time.perf_counter() - t0
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, weights=weights)
    for i, m in enumerate(mhs):
        lsh.insert(i, m)
    pairs = set()
    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            if j <= i:
                continue
            sim = jaccard(sets[i], sets[j]) if exact else m.jaccard(mhs[j])
            if sim >= THRESHOLD:
                pairs.add((i, j))
    return pairs, t_sig, time.perf_counter() - t0


def run_kernel_signatures(texts: list[str]) -> float:
    """lakeprep's default (fast64) kernel from texts to signatures, shingling included."""
    from lakeprep.dedup._kernels import text_signatures

    t0 = time.perf_counter()
    for start in range(0, len(texts), 1000):  # the batch size mapInPandas would hand it
        text_signatures(texts[start : start + 1000], num_perm=NUM_PERM, seed=SEED, shingle_size=SHINGLE)
    return time.perf_counter() - t0


def run_spark(spark, texts: list[str], work: Path) -> tuple[set[tuple[int, int]], float, int]:  # type: ignore[no-untyped-def]
    """lakeprep's silver near-dedup path with its default settings (exact verification)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakeprep.dedup._kernels import lsh_params
    from lakeprep.dedup.minhash import candidate_pairs, connected_components, verify_pairs_exact, with_minhash

    bands, rows = lsh_params(THRESHOLD, NUM_PERM, *WEIGHTS)
    path = work / f"corpus-{len(texts)}.parquet"
    pq.write_table(pa.table({"doc_id": [f"{i:08d}" for i in range(len(texts))], "text": texts}), path, row_group_size=2000)
    df = spark.read.parquet(str(path)).repartition(8).persist()
    df.count()  # reading the generated corpus is not part of the measurement
    t0 = time.perf_counter()
    sigs = df.transform(with_minhash(num_perm=NUM_PERM, seed=SEED, shingle_size=SHINGLE, bands=bands, rows=rows)).persist()
    edges = verify_pairs_exact(candidate_pairs(sigs, None), df, threshold=THRESHOLD, shingle_size=SHINGLE).persist()
    components = connected_components(edges.select("doc_a", "doc_b")) if not edges.isEmpty() else None
    n_clusters = components.select("component").distinct().count() if components is not None else 0
    elapsed = time.perf_counter() - t0
    pairs = {(int(r["doc_a"]), int(r["doc_b"])) for r in edges.select("doc_a", "doc_b").collect()}
    return pairs, elapsed, n_clusters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--scale", type=int, default=0, help="also time the Spark dedup on this many documents")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    texts, families = make_corpus(args.docs, args.seed)
    truth = truth_pairs(texts, families)
    words = sum(len(t.split()) for t in texts)
    print(f"corpus: {len(texts)} docs, {words / len(texts):.0f} words/doc, {len(truth)} true duplicate pairs (J >= {THRESHOLD})")

    t_kernel = run_kernel_signatures(texts)
    ds_pairs, t_ds_sig, t_ds_all = run_datasketch(texts)
    ds2_pairs, _, t_ds2_all = run_datasketch(texts, weights=WEIGHTS, exact=True)

    from lakeprep.config import SparkConfig
    from lakeprep.session import get_spark, local_test_conf

    work = Path(tempfile.mkdtemp(prefix="lakeprep-dedup-"))
    try:
        spark = get_spark(
            SparkConfig(master=args.master), extra_conf={**local_test_conf(str(work)), "spark.driver.memory": "6g"}
        )
        cores = cores_of(args.master)
        our_pairs, t_spark, clusters = run_spark(spark, texts, work)
        n = len(texts)
        print(f"{'':<58} {'precision':>9} {'recall':>7} {'F1':>6}")
        for label, pairs in (
            ("lakeprep defaults (17x7 bands, exact verify), Spark", our_pairs),
            ("datasketch MinHashLSH defaults (9x13), estimated verify", ds_pairs),
            ("datasketch with lakeprep's weights + exact verify", ds2_pairs),
        ):
            p, r, f = prf(pairs, truth)
            print(f"{label:<58} {p:9.4f} {r:7.4f} {f:6.4f}")
        print(f"lakeprep found {clusters} clusters")
        print()
        print(f"signatures, 1 process:    lakeprep fast64 (shingling included) {n / t_kernel:9.1f} docs/s/core   datasketch (shingles given) {n / t_ds_sig:9.1f} docs/s/core   "
              f"ratio {t_ds_sig / t_kernel:.2f}x")
        print(f"whole dedup:              lakeprep {n / t_spark / cores:9.1f} docs/s/core ({args.master}, {t_spark:.1f}s)   "
              f"datasketch {n / t_ds_all:9.1f} docs/s/core (1 process, {t_ds_all:.1f}s; {t_ds2_all:.1f}s with lakeprep's settings)   "
              f"ratio {(n / t_spark / cores) / (n / t_ds_all):.2f}x")
        if args.scale:
            big, _ = make_corpus(args.scale, args.seed + 1)
            _, t_big, big_clusters = run_spark(spark, big, work)
            print(f"scale: whole Spark dedup of {len(big)} docs on {args.master}: {t_big:.1f}s "
                  f"({len(big) / t_big / cores:.1f} docs/s/core, {big_clusters} clusters)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
