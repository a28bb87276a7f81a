"""Spark transforms for training data: tokenize documents, then pack them into fixed-length sequences.

Packing is done in parallel without collecting anything: documents get a seeded order within their
split (sha256 of seed and doc id); per-split token offsets come from a running sum over a few thousand
order buckets (a small aggregate) plus a running sum inside each bucket; every document is then cut into
the pieces that fall into each sequence (:func:`lakeprep.tokenize._kernels.segments`) and the pieces are
grouped by ``(split, seq_index)`` and concatenated in position order. The incomplete tail sequence of a
split is dropped, as llm-foundry's ``ConcatTokensDataset`` does; :func:`pack_sequences` keeps it, marked
by ``num_tokens < seq_len``, so the caller can count it before filtering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType

from lakeprep.schemas import conform, schema_of
from lakeprep.tokenize._kernels import segments, tokenize_documents
from lakeprep.tokenizers import get_encoding

__all__ = ["order_key", "pack_sequences", "with_tokens"]

_OFFSETS = schema_of({"split": StringType(), "doc_id": StringType(), "offset": LongType(), "tokens": ArrayType(IntegerType())})
_PIECES = schema_of(
    {"split": StringType(), "seq_index": LongType(), "pos": IntegerType(), "tokens": ArrayType(IntegerType()), "doc_id": StringType()}
)
_BUCKET_CHARS = 3  # 4096 order buckets per split


def with_tokens(
    *, encoding: str, append_eos: bool, carry: Sequence[str] = ("split",)
) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, text, *carry)`` -> ``(doc_id, *carry, tokens array<int>, n_tokens int)``; carried columns are strings."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        enc = get_encoding(encoding)
        for batch in batches:
            toks = tokenize_documents(batch["text"].fillna("").tolist(), enc, append_eos=append_eos)
            out = batch.drop(columns=["text"])
            out["tokens"] = [t.astype(np.int32) for t in toks]  # ids < 2**31: stored as int
            out["n_tokens"] = np.array([len(t) for t in toks], dtype=np.int32)
            yield out

    def transform(df: DataFrame) -> DataFrame:
        # the schema is spelled out, not read from df: declarative pipelines forbid analysis while defining
        out = schema_of(
            {"doc_id": StringType(), **{c: StringType() for c in carry}, "tokens": ArrayType(IntegerType()), "n_tokens": IntegerType()}
        )
        source = schema_of({"doc_id": StringType(), "text": StringType(), **{c: StringType() for c in carry}})
        return conform(df, source).mapInPandas(run, schema=out)

    return transform


def order_key(seed: int) -> "F.Column":
    """The seeded position of a document in its split's stream (hex string; sorts like a shuffle)."""
    return F.sha2(F.concat_ws(":", F.lit(str(seed)), F.lit("order"), F.col("doc_id")), 256)


def pack_sequences(*, seq_len: int, seed: int) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, split, tokens, n_tokens)`` -> ``(split, seq_index, tokens, num_tokens, doc_ids)``.

    Every sequence holds ``seq_len`` tokens except possibly the last of each split.
    """

    def cut(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for split, doc_id, offset, tokens in zip(batch["split"], batch["doc_id"], batch["offset"], batch["tokens"]):
                for seq, at, piece in segments(np.asarray(tokens, dtype=np.int32), int(offset), seq_len):
                    rows.append((split, seq, at, piece, doc_id))
            yield pd.DataFrame(rows, columns=["split", "seq_index", "pos", "tokens", "doc_id"])

    def transform(df: DataFrame) -> DataFrame:
        keyed = df.select("doc_id", "split", "tokens", "n_tokens", order_key(seed).alias("_order")).withColumn(
            "_bucket", F.substring("_order", 1, _BUCKET_CHARS)
        )
        # offset of each bucket in its split: a running sum over the (small) per-bucket totals
        totals = keyed.groupBy("split", "_bucket").agg(F.sum("n_tokens").alias("_bucket_tokens"))
        before = Window.partitionBy("split").orderBy("_bucket").rowsBetween(Window.unboundedPreceding, -1)
        bucket_off = totals.select("split", "_bucket", F.coalesce(F.sum("_bucket_tokens").over(before), F.lit(0)).alias("_bucket_off"))
        inside = Window.partitionBy("split", "_bucket").orderBy("_order", "doc_id").rowsBetween(Window.unboundedPreceding, -1)
        with_off = (
            keyed.join(F.broadcast(bucket_off), on=["split", "_bucket"])
            .withColumn("offset", F.col("_bucket_off") + F.coalesce(F.sum("n_tokens").over(inside), F.lit(0)))
            .select("split", "doc_id", "offset", "tokens")
        )
        pieces = conform(with_off, _OFFSETS).mapInPandas(cut, schema=_PIECES)
        return (
            pieces.groupBy("split", "seq_index")
            .agg(F.sort_array(F.collect_list(F.struct("pos", "tokens", "doc_id"))).alias("_parts"))
            .select(
                "split",
                "seq_index",
                F.flatten(F.transform("_parts", lambda p: p["tokens"])).alias("tokens"),
                F.transform("_parts", lambda p: p["doc_id"]).alias("doc_ids"),
            )
            .withColumn("num_tokens", F.size("tokens"))
        )

    return transform
