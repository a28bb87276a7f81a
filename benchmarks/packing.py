"""Packing token rows into fixed-length sequences on Spark: in place (lakeprep) against regrouping by shuffle.

    python benchmarks/packing.py --docs 20000 --seq-len 2048 --master 'local[2]'

The same cached token rows (seeded lengths, log-normal around ``--mean-tokens``) are packed three ways, each
written to Spark's ``noop`` sink:
- ``cut_sequences`` cached, then ``merge_sequence_runs`` (what the batch build does): sequences lying inside a
  worker's order buckets come out whole; only the pieces of the others are shuffled;
- ``pack_sequences`` without a cache in between (the library call; the cut runs twice);
- the previous method, kept here as the reference: every document cut into pieces and every piece shuffled to
  ``(split, seq_index)`` and joined there.
The three outputs are compared (row count and a hash of every row). Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import cores_of


def _pack_by_shuffle(df, *, seq_len: int, seed: int):  # type: ignore[no-untyped-def]
    """The previous packer: offsets as lakeprep computes them, then every token regrouped by a shuffle."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from lakeprep.tokenize._kernels import segments
    from lakeprep.tokenize.pack import order_key

    def cut(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            rows = [
                (split, seq, at, piece, doc_id)
                for split, doc_id, offset, tokens in zip(batch["split"], batch["doc_id"], batch["offset"], batch["tokens"])
                for seq, at, piece in segments(np.asarray(tokens, dtype=np.int32), int(offset), seq_len)
            ]
            yield pd.DataFrame(rows, columns=["split", "seq_index", "pos", "tokens", "doc_id"])

    keyed = df.select("doc_id", "split", "tokens", "n_tokens", order_key(seed).alias("_order")).withColumn("_bucket", F.substring("_order", 1, 3))
    totals = keyed.groupBy("split", "_bucket").agg(F.sum("n_tokens").alias("_t"))
    before = Window.partitionBy("split").orderBy("_bucket").rowsBetween(Window.unboundedPreceding, -1)
    off = totals.select("split", "_bucket", F.coalesce(F.sum("_t").over(before), F.lit(0)).alias("_off"))
    inside = Window.partitionBy("split", "_bucket").orderBy("_order", "doc_id").rowsBetween(Window.unboundedPreceding, -1)
    with_off = keyed.join(F.broadcast(off), on=["split", "_bucket"]).select(
        "split", "doc_id", (F.col("_off") + F.coalesce(F.sum("n_tokens").over(inside), F.lit(0))).alias("offset"), "tokens"
    )
    pieces = with_off.mapInPandas(cut, schema="split string, seq_index long, pos int, tokens array<int>, doc_id string")
    return (
        pieces.groupBy("split", "seq_index")
        .agg(F.sort_array(F.collect_list(F.struct("pos", "tokens", "doc_id"))).alias("_p"))
        .select(
            "split", "seq_index", F.flatten(F.transform("_p", lambda p: p["tokens"])).alias("tokens"),
            F.transform("_p", lambda p: p["doc_id"]).alias("doc_ids"),
        )
        .withColumn("num_tokens", F.size("tokens"))
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=20000)
    p.add_argument("--mean-tokens", type=int, default=1000)
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--master", default="local[2]")
    args = p.parse_args()

    from pyspark.sql import functions as F

    from lakeprep.config import SparkConfig
    from lakeprep.session import get_spark, local_test_conf
    from lakeprep.tokenize.pack import (
        cut_sequences,
        merge_sequence_runs,
        pack_sequences,
    )

    rng = np.random.default_rng(args.seed)
    lengths = np.maximum(1, rng.lognormal(np.log(args.mean_tokens) - 0.5, 1.0, size=args.docs)).astype(int)
    pdf = pd.DataFrame({
        "doc_id": [f"d{i:07d}" for i in range(args.docs)],
        "split": rng.choice(["train", "val", "test"], size=args.docs, p=[0.8, 0.1, 0.1]),
        "tokens": [rng.integers(0, 100_000, size=n, dtype=np.int32) for n in lengths],
        "n_tokens": lengths.astype(np.int32),
    })
    n_tokens = int(lengths.sum())
    work = Path(tempfile.mkdtemp(prefix="lakeprep-bench-packing-"))
    cores = cores_of(args.master)
    spark = get_spark(SparkConfig(master=args.master, app_name="bench-packing"), extra_conf=local_test_conf(str(work / "wh")))
    try:
        df = spark.createDataFrame(pdf, "doc_id string, split string, tokens array<int>, n_tokens int").repartition(cores * 2).cache()
        df.count()
        print(f"{args.docs:,} documents, {n_tokens:,} tokens ({n_tokens * 4 / 1e6:.0f} MB as int32), seq_len {args.seq_len}, {args.master}")

        def digest(out):  # type: ignore[no-untyped-def]
            r = out.select(F.count(F.lit(1)).alias("n"), F.sum(F.pmod(F.xxhash64("split", "seq_index", "tokens", "doc_ids"), F.lit(2**31 - 1))).alias("h")).first()
            return int(r["n"]), int(r["h"] or 0)

        def timed(label: str, make) -> tuple[float, tuple[int, int]]:  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            out, release = make()
            out.write.format("noop").mode("overwrite").save()
            dt = time.perf_counter() - t0
            d = digest(out)
            release()
            print(f"  {label}: {dt:.2f}s  {n_tokens / dt / 1e6:.2f} M tokens/s = {n_tokens / dt / cores / 1e6:.2f} M tokens/s/core")
            return dt, d

        def cached():  # type: ignore[no-untyped-def]
            runs = df.transform(cut_sequences(seq_len=args.seq_len, seed=args.seed)).cache()
            whole = runs.where("whole").count()
            print(f"    runs: {whole:,} whole sequences, {runs.count() - whole:,} parts to regroup")
            return runs.transform(merge_sequence_runs()), runs.unpersist

        results = {}
        for _ in range(2):  # the second round is the one reported (warm JVM)
            results = {
                "in place, runs cached (the build)": timed("in place, runs cached (the build)", cached),
                "pack_sequences, no cache": timed("pack_sequences, no cache", lambda: (df.transform(pack_sequences(seq_len=args.seq_len, seed=args.seed)), lambda: None)),
                "regroup every token by shuffle (previous)": timed(
                    "regroup every token by shuffle (previous)",
                    lambda: (_pack_by_shuffle(df, seq_len=args.seq_len, seed=args.seed), lambda: None),
                ),
            }
            print("  --")
        (new, d_new), (lib, d_lib), (old, d_old) = results.values()
        print(f"  same sequences (count, row hash) in all three: {d_new == d_lib == d_old} ({d_new[0]:,} sequences)")
        print(f"  in place / previous: {old / new:.2f}x faster (pack_sequences without a cache: {old / lib:.2f}x)")
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
