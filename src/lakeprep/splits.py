"""Seeded, deterministic train/val/test assignment that keeps near-duplicates together.

A document's *group* is its near/exact-duplicate cluster (the connected component of the
``doc_id -> kept_doc_id`` links in ``silver.dedup_clusters``), or the document itself. The split is a
function of ``(seed, group)`` only: ``u = sha256(seed:group)`` read as a fraction in [0, 1), then
``train`` if ``u < r_train``, ``val`` if ``u < r_train + r_val``, else ``test``. So reruns, incremental
runs and other machines agree, every chunk of a document and every member of a cluster share a split,
and nothing leaks from train into val/test through a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.dedup.minhash import connected_components

__all__ = ["SPLITS", "assign_splits", "split_groups"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
_HEX_DIGITS = 13  # 52 bits: exact in a double


def split_groups(clusters: DataFrame, *, max_iterations: int = 50) -> DataFrame:
    """``(doc_id, group_id)`` for every document named in ``clusters`` (group = smallest doc id of its component)."""
    edges = clusters.where(F.col("doc_id") != F.col("kept_doc_id")).select(
        F.least("doc_id", "kept_doc_id").alias("doc_a"), F.greatest("doc_id", "kept_doc_id").alias("doc_b")
    ).distinct()
    return connected_components(edges, max_iterations=max_iterations).select("doc_id", F.col("component").alias("group_id"))


def assign_splits(*, ratios: Mapping[str, float], seed: int, groups: DataFrame | None = None) -> Callable[[DataFrame], DataFrame]:
    """Add ``group_id`` and ``split`` to a frame with ``doc_id``; ``groups`` from :func:`split_groups`."""
    unknown = set(ratios) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}; use {list(SPLITS)}")
    train, val = float(ratios.get("train", 0.0)), float(ratios.get("val", 0.0))

    def transform(df: DataFrame) -> DataFrame:
        out = df
        if groups is not None:
            out = out.join(groups, on="doc_id", how="left")
            out = out.withColumn("group_id", F.coalesce("group_id", "doc_id"))
        else:
            out = out.withColumn("group_id", F.col("doc_id"))
        digest = F.sha2(F.concat_ws(":", F.lit(str(seed)), F.lit("split"), F.col("group_id")), 256)
        u = F.conv(F.substring(digest, 1, _HEX_DIGITS), 16, 10).cast("double") / float(16**_HEX_DIGITS)
        return out.withColumn(
            "split", F.when(u < train, "train").when(u < train + val, "val").otherwise("test")
        )

    return transform
