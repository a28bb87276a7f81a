"""Spark transforms for training data: tokenize documents, then pack them into fixed-length sequences.

Packing is done in parallel without collecting anything and without shuffling every token twice: documents
get a seeded order within their split (sha256 of seed and doc id); per-split token offsets come from a
running sum over 256 order buckets per split (a small aggregate) plus a running sum inside each bucket,
computed where the bucket's rows already are (one exchange of the token rows by bucket). In that same
place, walking each bucket in order, :class:`lakeprep.tokenize._kernels.SequenceCutter` emits every
sequence that lies inside the worker's buckets whole; only the pieces of sequences that straddle two
buckets on different workers (at most two per bucket) are grouped by ``(split, seq_index)`` and joined in
position order. The incomplete tail sequence of a split is dropped, as llm-foundry's
``ConcatTokensDataset`` does; :func:`pack_sequences` keeps it, marked by ``num_tokens < seq_len``, so the
caller can count it before filtering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, IntegerType, LongType, StringType

from lakeprep.arrow import batch_of, list_array, list_rows
from lakeprep.schemas import conform, schema_of
from lakeprep.tokenize._kernels import Run, SequenceCutter, tokenize_documents
from lakeprep.tokenizers import get_encoding

__all__ = ["cut_sequences", "merge_sequence_runs", "order_key", "pack_sequences", "with_tokens"]

_OFFSETS = schema_of({"split": StringType(), "doc_id": StringType(), "offset": LongType(), "tokens": ArrayType(IntegerType())})
_RUNS = schema_of(
    {
        "split": StringType(), "seq_index": LongType(), "pos": IntegerType(), "tokens": ArrayType(IntegerType()),
        "doc_ids": ArrayType(StringType()), "whole": BooleanType(),
    }
)
_BUCKET_CHARS = 2  # 256 order buckets per split: a bucket holds many sequences, so few straddle two workers


def with_tokens(
    *, encoding: str, append_eos: bool, carry: Sequence[str] = ("split",)
) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, text, *carry)`` -> ``(doc_id, *carry, tokens array<int>, n_tokens int)``; carried columns are strings."""

    # the schema is spelled out, not read from df: declarative pipelines forbid analysis while defining
    out = schema_of(
        {"doc_id": StringType(), **{c: StringType() for c in carry}, "tokens": ArrayType(IntegerType()), "n_tokens": IntegerType()}
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        enc = get_encoding(encoding)
        for batch in batches:
            toks = tokenize_documents([t or "" for t in batch.column("text").to_pylist()], enc, append_eos=append_eos)
            kept = {c: batch.column(c) for c in ("doc_id", *carry)}
            # ids < 2**31: stored as int
            yield batch_of({**kept, "tokens": list_array(toks, pa.int32()), "n_tokens": [len(t) for t in toks]}, out)

    def transform(df: DataFrame) -> DataFrame:
        source = schema_of({"doc_id": StringType(), "text": StringType(), **{c: StringType() for c in carry}})
        return conform(df, source).mapInArrow(run, schema=out)

    return transform


def order_key(seed: int) -> "F.Column":
    """The seeded position of a document in its split's stream (hex string; sorts like a shuffle)."""
    return F.sha2(F.concat_ws(":", F.lit(str(seed)), F.lit("order"), F.col("doc_id")), 256)


def _runs_batch(runs: list[Run]) -> pa.RecordBatch:
    return batch_of(
        {
            "split": [r.split for r in runs],
            "seq_index": [r.seq for r in runs],
            "pos": [r.pos for r in runs],
            "tokens": list_array([r.tokens for r in runs], pa.int32()),
            "doc_ids": [r.doc_ids for r in runs],
            "whole": [r.whole for r in runs],
        },
        _RUNS,
    )


def cut_sequences(*, seq_len: int, seed: int) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, split, tokens, n_tokens)`` -> sequence runs ``(split, seq_index, pos, tokens, doc_ids, whole)``.

    Whole runs are finished sequences; the others are parts for :func:`merge_sequence_runs`. The token rows
    are exchanged once (by order bucket); cache the result when it is read more than once.
    """

    def cut(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cutter = SequenceCutter(seq_len)  # rows come in stream order, a bucket possibly spanning batches
        for batch in batches:
            cols = (batch.column(c).to_pylist() for c in ("split", "doc_id", "offset"))
            runs = [
                run
                for split, doc_id, offset, tokens in zip(*cols, list_rows(batch.column("tokens")))
                for run in cutter.feed(split, doc_id, tokens, offset)
            ]
            if runs:
                yield _runs_batch(runs)
        tail = list(cutter.close())
        if tail:
            yield _runs_batch(tail)

    def transform(df: DataFrame) -> DataFrame:
        keyed = df.select("doc_id", "split", "tokens", "n_tokens", order_key(seed).alias("_order")).withColumn(
            "_bucket", F.substring("_order", 1, _BUCKET_CHARS)
        )
        # offset of each bucket in its split: a running sum over the (small) per-bucket totals
        totals = keyed.groupBy("split", "_bucket").agg(F.sum("n_tokens").alias("_bucket_tokens"))
        before = Window.partitionBy("split").orderBy("_bucket").rowsBetween(Window.unboundedPreceding, -1)
        bucket_off = totals.select("split", "_bucket", F.coalesce(F.sum("_bucket_tokens").over(before), F.lit(0)).alias("_bucket_off"))
        inside = Window.partitionBy("split", "_bucket").orderBy("_order", "doc_id").rowsBetween(Window.unboundedPreceding, -1)
        ordered = (
            keyed.join(F.broadcast(bucket_off), on=["split", "_bucket"])
            .withColumn("offset", F.col("_bucket_off") + F.coalesce(F.sum("n_tokens").over(inside), F.lit(0)))
            # the window's own order (no second sort): each worker walks whole buckets in stream order
            .sortWithinPartitions("split", "_bucket", "_order", "doc_id")
        )
        return conform(ordered, _OFFSETS).mapInArrow(cut, schema=_RUNS)

    return transform


def _joined(runs: DataFrame) -> DataFrame:
    """Runs grouped by sequence and joined in position order (a shuffle of these runs' tokens)."""
    return (
        runs.groupBy("split", "seq_index")
        .agg(F.sort_array(F.collect_list(F.struct("pos", "tokens", "doc_ids"))).alias("_parts"))
        .select(
            "split",
            "seq_index",
            F.flatten(F.transform("_parts", lambda p: p["tokens"])).alias("tokens"),
            F.flatten(F.transform("_parts", lambda p: p["doc_ids"])).alias("doc_ids"),
        )
    )


def merge_sequence_runs() -> Callable[[DataFrame], DataFrame]:
    """Sequence runs -> ``(split, seq_index, tokens, doc_ids, num_tokens)``: whole runs as they are, the parts
    of the others grouped by sequence and joined in position order (the only tokens that are shuffled). The
    runs are read twice: cache them first."""

    def transform(runs: DataFrame) -> DataFrame:
        whole = runs.where(F.col("whole")).select("split", "seq_index", "tokens", "doc_ids")
        return whole.unionByName(_joined(runs.where(~F.col("whole")))).withColumn("num_tokens", F.size("tokens"))

    return transform


def pack_sequences(*, seq_len: int, seed: int) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, split, tokens, n_tokens)`` -> ``(split, seq_index, tokens, doc_ids, num_tokens)``.

    Every sequence holds ``seq_len`` tokens except possibly the last of each split. One pass without a cache:
    every run, whole or not, goes through the regrouping. With a cache, :func:`cut_sequences` then
    :func:`merge_sequence_runs` shuffles only the parts (the batch build does that).
    """

    def transform(df: DataFrame) -> DataFrame:
        return _joined(df.transform(cut_sequences(seq_len=seq_len, seed=seed))).withColumn("num_tokens", F.size("tokens"))

    return transform
