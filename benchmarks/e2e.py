"""The whole pipeline on generated corpora (10k and 100k documents), against the bare kernel chain.

    pip install -e '.[bench]'
    python benchmarks/e2e.py --sizes 10000 100000 --master 'local[2]'

For each size: seeded documents (``_common.synthetic_documents`` with planted PII and ~5% near/exact
duplicates) are written as jsonl files (1000 documents per file) and built with ``run_build`` on
local[N] (bronze, gates, silver, gold, MDS, tag, report). Prints seconds and docs/s/core per stage and in
total, peak memory (driver JVM and this Python process), and how time grows from the first size to the
last; per size, the driver heap's old generation at its peak during the build and what is live after it, which
would grow with the corpus if rows were collected to the driver. In the same run, the kernel chain (the per-batch
kernels of the pipeline's Python stages, with the build's config: normalize, PII mask, quality signals and
language id, MinHash signatures and band hashes, chunking, tokenize + pack) runs in this one process on the same
documents, and the pipeline's docs/s/core
is printed as a ratio of the chain's (target: >= 0.7 on 100k documents, issue 16). ``--no-chain`` builds only
(for A/B runs of two checkouts: ``PYTHONPATH=<checkout>/src``). Figures only.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from _common import cores_of, synthetic_documents


def _corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    base = synthetic_documents(max(1, int(n * 0.95)), seed=seed)
    docs = list(base)
    while len(docs) < n:  # near and exact duplicates
        src = rng.choice(base)
        if rng.random() < 0.5:
            docs.append(src)
        else:
            words = src.split(" ")
            words[rng.randrange(len(words))] = "changed"
            docs.append(" ".join(words))
    for i in rng.sample(range(n), k=n // 20):  # planted PII
        docs[i] += f"\n\nContact jane.doe{i}@example.com or +1 212 555 {1000 + i % 9000:04d}."
    rng.shuffle(docs)
    return docs


def _kernel_chain(docs: list[str], cfg, batch: int = 1000) -> float:  # type: ignore[no-untyped-def]
    """The per-batch kernels the pipeline's Python stages run, with the build's own config, in this one process:
    silver's ``prepare_documents`` (normalize, PII mask, quality signals, language id, content hash), its MinHash
    signatures and LSH band hashes (``silver.dedup.hash``), gold's chunking (with chunk ids) and tokenize + pack.
    Until 2026-12-05 the chain ran ``quality_signals`` without language id and the datasketch-compatible MinHash
    (``sha1_32``), while the pipeline ran language id and ``fast64``: not the same work (README "End to end")."""
    from lakeprep.chunking._kernels import chunk_document, chunk_id
    from lakeprep.dedup._kernels import band_hashes, signatures
    from lakeprep.pii.mask import masker
    from lakeprep.pipeline.layers import lsh_shape
    from lakeprep.text.transforms import normalize_batch, scorer
    from lakeprep.tokenize._kernels import pack_stream, tokenize_documents
    from lakeprep.tokenizers import get_encoding

    s, g = cfg.silver, cfg.gold
    enc = get_encoding(g.chunking.encoding)
    mask = masker(cfg=s.pii, key=None)
    score = scorer(thresholds=s.quality, language=s.language.enabled, keep_languages=s.language.keep, min_lang_score=s.language.min_score)
    d = s.dedup
    bands, rows = lsh_shape(d)
    t0 = time.perf_counter()
    texts: list[str] = []
    for i in range(0, len(docs), batch):
        part = docs[i : i + batch]
        masked, _ = mask(normalize_batch(part, ["jsonl"] * len(part), s.normalize))
        score(masked)
        band_hashes(signatures(masked, hash_scheme=d.hash, num_perm=d.num_perm, seed=d.seed, shingle_size=d.shingle_size), bands=bands, rows=rows)
        texts.extend(masked)
    for n, t in enumerate(texts):
        for c in chunk_document(t, enc, chunk_size=g.chunking.chunk_size, chunk_overlap=g.chunking.chunk_overlap):
            chunk_id(str(n), c.index, c.text)
    pack_stream(tokenize_documents(texts, enc, append_eos=True), g.sequences.seq_len)
    return time.perf_counter() - t0


def _jvm_peak_mb(spark) -> float | None:  # type: ignore[no-untyped-def]
    try:
        pid = spark.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except Exception:  # noqa: BLE001 - best effort: not available under spark-submit or Connect
        return None
    return None


def _management(spark):  # type: ignore[no-untyped-def]
    """The driver JVM's java.lang.management.ManagementFactory, through py4j."""
    return spark.sparkContext._jvm.java.lang.management.ManagementFactory


def _heap_pools(spark):  # type: ignore[no-untyped-def]
    """The driver JVM's heap memory pools (their peaks are reset before each build)."""
    return [pool for pool in _management(spark).getMemoryPoolMXBeans() if pool.getType().name() == "HEAP"]


def _driver_heap_mb(spark) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(the old generation's peak since the pools' peaks were reset, the heap still live after a full GC, the
    heap's limit) in MB. The old generation holds what the driver keeps across the build's jobs: it would grow
    with the corpus if rows were collected to the driver; the resident peak (VmHWM) follows the heap limit."""
    old = max((p.getPeakUsage().getUsed() for p in _heap_pools(spark) if "Old" in p.getName() or "Tenured" in p.getName()), default=0)
    spark.sparkContext._jvm.java.lang.System.gc()
    heap = _management(spark).getMemoryMXBean().getHeapMemoryUsage()
    return old / 2**20, heap.getUsed() / 2**20, heap.getMax() / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    p.add_argument("--master", default="local[2]")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--no-chain", action="store_true", help="the pipeline only (A/B runs of two checkouts)")
    args = p.parse_args()

    from lakeprep.config import config_from_mapping
    from lakeprep.pipeline.batch import run_build
    from lakeprep.session import get_spark, local_test_conf

    cores = cores_of(args.master)
    work = Path(tempfile.mkdtemp(prefix="lakeprep-bench-e2e-"))
    repo = Path(__file__).resolve().parents[1]
    rows = []
    spark = None
    try:
        for n in args.sizes:
            docs = _corpus(n, args.seed)
            mb = sum(len(d.encode()) for d in docs) / 1e6
            landing = work / f"landing-{n}"
            landing.mkdir(parents=True)
            for i in range(0, n, 1000):
                with open(landing / f"part-{i // 1000:05d}.jsonl", "w", encoding="utf-8") as f:
                    for j, d in enumerate(docs[i : i + 1000]):
                        f.write(json.dumps({"id": f"{i + j}", "text": d}) + "\n")
            cfg = config_from_mapping(
                {
                    "storage": {"root": str(work / f"lake-{n}")},
                    "bronze": {"landing": str(landing), "jsonl": {"id_field": "id"}},
                    "gates": {"suites": str(repo / "expectations")},
                    "spark": {"master": args.master, "conf": {"spark.sql.shuffle.partitions": str(cores * 4)}},
                }
            )
            if spark is None:
                extra = {**local_test_conf(str(work / "wh")), "spark.sql.shuffle.partitions": str(cores * 4), "spark.driver.memory": "8g"}
                spark = get_spark(cfg.spark, extra_conf=extra)
            for pool in _heap_pools(spark):
                pool.resetPeakUsage()
            t0 = time.perf_counter()
            result = run_build(spark, cfg)
            total = time.perf_counter() - t0
            stages = {
                "bronze": result.bronze.seconds,
                "silver": result.silver.seconds,
                "gold": result.gold.seconds,
                "gates": sum(g.seconds for g in result.gates),
                "mds": result.mds.seconds if result.mds else 0.0,
            }
            chain = None if args.no_chain else _kernel_chain(docs, cfg)
            rows.append((n, mb, total, stages, chain, result))
            print(f"\n{n:,} documents ({mb:.1f} MB): pipeline {total:.1f}s on {args.master}")
            for k, v in stages.items():
                print(f"  {k:<7} {v:8.1f}s  {n / v / cores if v else float('nan'):9.1f} docs/s/core")
            print(f"  other   {total - sum(stages.values()):8.1f}s  (tag, report, reads of published versions)")
            pipe_rate = n / total / cores
            if chain is None:
                print(f"  total: {pipe_rate:.1f} docs/s/core")
            else:
                print(
                    f"  total: {pipe_rate:.1f} docs/s/core; kernel chain in one process: {chain:.1f}s = {n / chain:.1f} docs/s/core; "
                    f"pipeline / chain = {pipe_rate / (n / chain):.2f} (target >= 0.7)"
                )
            print(
                f"  kept {result.silver.documents_kept:,}, exact dups {result.silver.exact_duplicates:,}, near dups "
                f"{result.silver.near_duplicates:,}, chunks {result.gold.chunks_total:,}, sequences {dict(result.gold.sequences)}"
            )
            old_peak, live, limit = _driver_heap_mb(spark)
            print(f"  driver heap: old generation peak {old_peak:,.0f} MB during this build, {live:,.0f} MB live after it (full GC), limit {limit:,.0f} MB")
        jvm = _jvm_peak_mb(spark)
        py = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\npeak memory: driver JVM {jvm:.0f} MB resident (follows its heap limit), this Python process {py:.0f} MB" if jvm
            else f"\npeak memory: this Python process {py:.0f} MB"
        )
        if len(rows) > 1:
            (n0, _, t0_, _, _, _), (n1, _, t1, _, _, _) = rows[0], rows[-1]
            print(f"growth {n0:,} -> {n1:,} documents ({n1 / n0:.0f}x): time {t1 / t0_:.1f}x")
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
