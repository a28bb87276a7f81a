"""Chunking throughput and correctness: lakeprep's token-aware splitter vs LangChain's, same documents and sizes.

    pip install -e '.[bench]'    # faker, langchain-text-splitters
    python benchmarks/chunking.py --docs 2000 --chunk-size 512 --overlap 64
    python benchmarks/chunking.py --real --chunk-size 128 --overlap 16

Both run in one Python process (one core) on the same documents: seeded ones (``_common.synthetic_documents``:
Markdown, long-paragraph prose and hard-wrapped text), or with ``--real`` every page of the installed
Debian documentation packages as lakeprep's silver text (``_common.real_documents``, 50+ words):
- lakeprep: ``lakeprep.chunking._kernels.chunk_document`` (one tiktoken encode per document + numpy);
- LangChain: ``RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name="cl100k_base", ...)``.
Prints MB/s/core for each and the ratio, then the checks: every chunk re-encoded on its own against
chunk_size, and the overlap between consecutive chunks of a document in tokens (exactly chunk_overlap is
the contract lakeprep promises). With --spark also times the Spark transform ``explode_chunks`` on
local[N]. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import cores_of, real_documents, synthetic_documents


def _lakeprep(docs: list[str], size: int, overlap: int) -> tuple[float, list[list[tuple[int, int, str]]]]:
    from lakeprep.chunking._kernels import chunk_document
    from lakeprep.tokenizers import get_encoding

    enc = get_encoding("cl100k_base")
    chunk_document("warm up the byte-length table", enc, chunk_size=size, chunk_overlap=overlap)
    t0 = time.perf_counter()
    out = [[(c.char_start, c.char_end, c.text) for c in chunk_document(d, enc, chunk_size=size, chunk_overlap=overlap)] for d in docs]
    return time.perf_counter() - t0, out


def _langchain(docs: list[str], size: int, overlap: int) -> tuple[float, list[list[tuple[int, int, str]]]]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from lakeprep.tokenizers import ensure_offline_encoding

    ensure_offline_encoding("cl100k_base")
    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name="cl100k_base", chunk_size=size, chunk_overlap=overlap, add_start_index=True
    )
    t0 = time.perf_counter()
    out = []
    for d in docs:
        chunks = splitter.create_documents([d])
        out.append([(c.metadata["start_index"], c.metadata["start_index"] + len(c.page_content), c.page_content) for c in chunks])
    return time.perf_counter() - t0, out


def _checks(name: str, docs: list[str], chunked: list[list[tuple[int, int, str]]], size: int, overlap: int) -> None:
    from lakeprep.tokenizers import get_encoding

    enc = get_encoding("cl100k_base")
    counts = [len(enc.encode_ordinary(t)) for cs in chunked for _, _, t in cs]
    over = sum(c > size for c in counts)
    overlaps = []
    for d, cs in zip(docs, chunked):
        for (s0, e0, _), (s1, e1, _) in zip(cs, cs[1:]):
            shared = d[s1:e0] if s1 < e0 else ""
            overlaps.append(len(enc.encode_ordinary(shared)))
    exact = sum(abs(o - overlap) <= 1 for o in overlaps)
    covered = sum(cs[0][0] == 0 and cs[-1][1] == len(d) for d, cs in zip(docs, chunked) if cs)
    print(
        f"  {name:<10} chunks {len(counts):>7,}  mean tokens {statistics.mean(counts):6.1f}  max {max(counts):4d}  "
        f"over chunk_size: {over}  |  overlap tokens mean {statistics.mean(overlaps) if overlaps else 0:5.1f} "
        f"min {min(overlaps, default=0)} max {max(overlaps, default=0)}, within +-1 of {overlap}: "
        f"{exact / max(1, len(overlaps)):.1%}  |  docs fully covered (first..last char): {covered / len(docs):.1%}"
    )


def _spark(docs: list[str], size: int, overlap: int, master: str) -> None:
    from lakeprep.chunking.chunk import explode_chunks
    from lakeprep.config import SparkConfig
    from lakeprep.session import get_spark, local_test_conf

    spark = get_spark(SparkConfig(master=master, app_name="bench-chunking"), extra_conf=local_test_conf("/tmp/lakeprep-bench-wh"))
    df = spark.createDataFrame([(f"d{i}", t, "file:/x") for i, t in enumerate(docs)], "doc_id string, text string, source_path string")
    df = df.repartition(cores_of(master) * 2).cache()
    df.count()
    chunks = df.transform(explode_chunks(encoding="cl100k_base", chunk_size=size, chunk_overlap=overlap))
    chunks.select("chunk_id").limit(1).collect()  # warm the Python workers
    t0 = time.perf_counter()
    n = chunks.count()
    dt = time.perf_counter() - t0
    mb = sum(len(d.encode()) for d in docs) / 1e6
    print(f"  Spark explode_chunks on {master}: {n:,} chunks, {dt:.2f}s, {mb / dt / cores_of(master):.2f} MB/s/core")
    spark.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--chunk-size", type=int, default=512)
    p.add_argument("--overlap", type=int, default=64)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--spark", action="store_true", help="also time explode_chunks on Spark")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--real", action="store_true", help="real documentation (Debian packages) instead of generated documents")
    args = p.parse_args()

    if args.real:
        docs = real_documents(min_words=50, max_words=1_000_000)
        if not docs:
            print("no Debian documentation packages installed: apt-get install " + " ".join(__import__("_common").REAL_PACKAGES))
            return
    else:
        docs = synthetic_documents(args.docs, seed=args.seed)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    kind = "real documentation pages" if args.real else "generated documents"
    print(f"chunking {len(docs):,} {kind}, {mb:.2f} MB, chunk_size {args.chunk_size}, overlap {args.overlap} (one process)")
    t_ours, ours = _lakeprep(docs, args.chunk_size, args.overlap)
    t_lc, theirs = _langchain(docs, args.chunk_size, args.overlap)
    from lakeprep.tokenizers import get_encoding

    enc = get_encoding("cl100k_base")
    t0 = time.perf_counter()
    for d in docs:
        enc.encode_ordinary(d)
    t_pass = time.perf_counter() - t0
    print(f"  one tiktoken encode_ordinary pass: {mb / t_pass:6.2f} MB/s/core")
    print(f"  lakeprep   {t_ours:7.2f}s  {mb / t_ours:6.2f} MB/s/core  ({t_pass / t_ours:.2f} of one encode pass)")
    print(f"  LangChain  {t_lc:7.2f}s  {mb / t_lc:6.2f} MB/s/core  (RecursiveCharacterTextSplitter.from_tiktoken_encoder)")
    print(f"  ratio lakeprep / LangChain: {t_lc / t_ours:.2f}x (target >= 3x)")
    print("checks (every chunk re-encoded on its own):")
    _checks("lakeprep", docs, ours, args.chunk_size, args.overlap)
    _checks("LangChain", docs, theirs, args.chunk_size, args.overlap)
    if args.spark:
        _spark(docs, args.chunk_size, args.overlap, args.master)


if __name__ == "__main__":
    main()
