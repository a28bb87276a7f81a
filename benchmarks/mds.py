"""Tokenize + pack throughput and MDS writing speed.

    pip install -e '.[bench]'
    python benchmarks/mds.py --docs 4000 --seq-len 2048 --master 'local[2]'

On the same seeded documents (``_common.synthetic_documents``):
- tokenize + pack in one process with the kernels (tiktoken cl100k_base, EOS, ConcatTokens-style packing),
  and on Spark (``with_tokens`` + ``pack_sequences``, written to a Delta table): tokens/s and tokens/s/core;
- MDS export of that Delta table with ``lakeprep.export.mds.export_mds`` (parallel writers + merged index)
  vs one ``streaming.MDSWriter`` in one process writing the same samples: MB/s (compressed bytes on disk),
  with zstd. Then reads the export back with ``StreamingDataset`` to check the sample count.
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import cores_of, synthetic_documents


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=4000)
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--master", default="local[2]")
    args = p.parse_args()

    from lakeprep.tokenize._kernels import pack_stream, tokenize_documents
    from lakeprep.tokenizers import get_encoding

    docs = synthetic_documents(args.docs, seed=args.seed)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    enc = get_encoding("cl100k_base")
    t0 = time.perf_counter()
    toks = tokenize_documents(docs, enc, append_eos=True)
    seqs, dropped = pack_stream(toks, args.seq_len)
    dt_kernel = time.perf_counter() - t0
    n_tokens = sum(len(t) for t in toks)
    print(f"{args.docs:,} documents, {mb:.2f} MB, {n_tokens:,} tokens, seq_len {args.seq_len}")
    print(f"  tokenize+pack, one process: {dt_kernel:.2f}s  {n_tokens / dt_kernel:,.0f} tokens/s/core  ({len(seqs)} sequences, {dropped} tail tokens dropped)")

    from lakeprep.config import SparkConfig
    from lakeprep.export.mds import export_mds
    from lakeprep.session import get_spark, local_test_conf
    from lakeprep.tokenize.pack import pack_sequences, with_tokens

    work = Path(tempfile.mkdtemp(prefix="lakeprep-bench-mds-"))
    cores = cores_of(args.master)
    spark = get_spark(SparkConfig(master=args.master, app_name="bench-mds"), extra_conf=local_test_conf(str(work / "wh")))
    try:
        df = spark.createDataFrame([(f"d{i:07d}", "train", t) for i, t in enumerate(docs)], "doc_id string, split string, text string")
        df = df.repartition(cores * 2).cache()
        df.count()
        table = str(work / "sequences")
        t0 = time.perf_counter()
        packed = (
            df.transform(with_tokens(encoding="cl100k_base", append_eos=True))
            .transform(pack_sequences(seq_len=args.seq_len, seed=args.seed))
            .where(f"num_tokens = {args.seq_len}")
        )
        packed.write.format("delta").mode("overwrite").save(table)
        dt_spark = time.perf_counter() - t0
        rows = spark.read.format("delta").load(table)
        n_seq = rows.count()
        print(
            f"  tokenize+pack, Spark {args.master} -> Delta: {dt_spark:.2f}s  {n_tokens / dt_spark:,.0f} tokens/s "
            f"= {n_tokens / dt_spark / cores:,.0f} tokens/s/core ({n_seq} sequences; "
            f"{n_tokens / dt_spark / cores / (n_tokens / dt_kernel):.2f}x the one-process kernel per core)"
        )

        out = work / "mds"
        t0 = time.perf_counter()
        res = export_mds(
            spark, rows, str(out), manifest={"bench": True}, compression="zstd", size_limit=1 << 26,
            writers_per_split=cores, run_id="bench",
        )
        dt_export = time.perf_counter() - t0
        print(
            f"  MDS export (export_mds, {cores} writers): {dt_export:.2f}s  {res.bytes / 1e6:.1f} MB zstd on disk, "
            f"{res.bytes / 1e6 / dt_export:.1f} MB/s, {n_seq / dt_export:,.0f} samples/s"
        )
        from streaming import MDSWriter, StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        local = [(r["seq_index"], np.asarray(r["tokens"], dtype=np.uint32)) for r in rows.orderBy("seq_index").collect()]
        ref = work / "ref"
        t0 = time.perf_counter()
        with MDSWriter(out=str(ref), columns={"tokens": "ndarray:uint32", "seq_index": "int64"}, compression="zstd") as w:
            for i, t in local:
                w.write({"tokens": t, "seq_index": int(i)})
        dt_ref = time.perf_counter() - t0
        ref_bytes = sum(f.stat().st_size for f in ref.iterdir() if f.name != "index.json")
        print(
            f"  one MDSWriter, one process (rows already in memory): {dt_ref:.2f}s  {ref_bytes / 1e6:.1f} MB, "
            f"{ref_bytes / 1e6 / dt_ref:.1f} MB/s; export_mds / single writer: {dt_ref / dt_export:.2f}x"
        )
        clean_stale_shared_memory()
        ds = StreamingDataset(local=str(out / "train"), shuffle=False, batch_size=1)
        same = all(np.array_equal(ds[i]["tokens"], local[i][1]) for i in range(0, len(ds), max(1, len(ds) // 50)))
        print(f"  read back: StreamingDataset has {len(ds)} samples (Delta {n_seq}); sampled tokens equal: {same}")
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
