"""Near-duplicate detection on Spark: MinHash signatures, LSH band join, connected components.

Signatures and band hashes are computed batch-wise in ``mapInPandas`` with the numpy kernels; candidate
pairs come from an equi-join on ``(band, band_hash)``; candidates are verified by the estimated Jaccard
similarity in Spark SQL; clusters are connected components found by iterative min-label propagation
in Spark (no pair list or signature is collected to the driver).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, IntegerType, LongType, StringType

from lakeprep.arrow import batch_of, list_array
from lakeprep.dedup._kernels import HASH_SCHEMES, band_hashes, jaccard, shingles, signatures
from lakeprep.errors import LakeprepError
from lakeprep.schemas import conform, schema_of
from lakeprep.session import CACHE_LEVEL

__all__ = [
    "candidate_pairs",
    "connected_components",
    "connected_components_fixed",
    "verify_pairs",
    "verify_pairs_exact",
    "with_minhash",
]

log = logging.getLogger(__name__)

_SIG_SCHEMA = schema_of({"doc_id": StringType(), "signature": ArrayType(IntegerType()), "bands": ArrayType(LongType())})
_TEXTS = schema_of({"doc_id": StringType(), "text": StringType()})
_PAIR_TEXTS = schema_of({"doc_a": StringType(), "doc_b": StringType(), "text_a": StringType(), "text_b": StringType()})
_SCORED = schema_of({"doc_a": StringType(), "doc_b": StringType(), "similarity": DoubleType()})


def with_minhash(
    *, num_perm: int, seed: int, shingle_size: int, bands: int, rows: int, hash_scheme: str = "fast64"
) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, text)`` -> ``(doc_id, signature array<int>, bands array<bigint>)``.

    ``signature`` holds the uint32 MinHash values reinterpreted as int32 (bit for bit). ``hash_scheme``:
    ``fast64`` (:func:`~lakeprep.dedup._kernels.text_signatures`) or ``sha1_32`` (datasketch-compatible).
    """
    if hash_scheme not in HASH_SCHEMES:
        raise ValueError(f"hash_scheme {hash_scheme!r} is not one of {HASH_SCHEMES}")

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            texts = [t or "" for t in batch.column("text").to_pylist()]
            sigs = signatures(texts, hash_scheme=hash_scheme, num_perm=num_perm, seed=seed, shingle_size=shingle_size)
            bh = band_hashes(sigs, bands=bands, rows=rows)
            yield batch_of(
                {"doc_id": batch.column("doc_id"), "signature": list_array(sigs.view(np.int32), pa.int32()),
                 "bands": list_array(bh, pa.int64())},
                _SIG_SCHEMA,
            )

    def transform(df: DataFrame) -> DataFrame:
        return conform(df, _TEXTS).mapInArrow(run, schema=_SIG_SCHEMA)

    return transform


def _exploded(index: DataFrame) -> DataFrame:
    return index.select("doc_id", F.posexplode("bands").alias("band", "band_hash"))


def candidate_pairs(new: DataFrame, existing: DataFrame | None) -> DataFrame:
    """Pairs ``(doc_a, doc_b)``, ``doc_a < doc_b``, that share at least one band, with a new document in each.

    ``new`` and ``existing`` have ``doc_id`` and ``bands``; pairs among ``existing`` are not looked for
    (they were settled by earlier runs).
    """
    new_bands = _exploded(new)
    pool = new_bands if existing is None else new_bands.unionByName(_exploded(existing))
    a = new_bands.alias("a")
    b = pool.alias("b")
    pairs = (
        a.join(b, on=[F.col("a.band") == F.col("b.band"), F.col("a.band_hash") == F.col("b.band_hash")])
        .where(F.col("a.doc_id") != F.col("b.doc_id"))
        .groupBy(  # a pair sharing several bands once (groupBy, not distinct(): Connect analyses that eagerly)
            F.least("a.doc_id", "b.doc_id").alias("doc_a"),
            F.greatest("a.doc_id", "b.doc_id").alias("doc_b"),
        )
        .agg(F.count(F.lit(1)).alias("_bands"))
        .select("doc_a", "doc_b")
    )
    return pairs


def verify_pairs(pairs: DataFrame, signatures: DataFrame, *, threshold: float | None) -> DataFrame:
    """Add ``similarity`` (estimated Jaccard: share of equal signature values); keep pairs >= threshold."""
    sa = signatures.select(F.col("doc_id").alias("doc_a"), F.col("signature").alias("sig_a"))
    sb = signatures.select(F.col("doc_id").alias("doc_b"), F.col("signature").alias("sig_b"))
    equal = F.aggregate(
        F.zip_with("sig_a", "sig_b", lambda x, y: F.when(x == y, 1).otherwise(0)), F.lit(0), lambda acc, v: acc + v
    )
    scored = (
        pairs.join(sa, on="doc_a")
        .join(sb, on="doc_b")
        .select("doc_a", "doc_b", (equal / F.size("sig_a")).cast("double").alias("similarity"))
    )
    return scored if threshold is None else scored.where(F.col("similarity") >= threshold)


def verify_pairs_exact(pairs: DataFrame, texts: DataFrame, *, threshold: float, shingle_size: int) -> DataFrame:
    """Add ``similarity`` (exact Jaccard of the two documents' shingle sets); keep pairs >= threshold.

    ``texts`` has ``doc_id`` and ``text``. Only candidate pairs are scored, so the cost follows the
    number of candidates, not the corpus size squared.
    """
    ta = texts.select(F.col("doc_id").alias("doc_a"), F.col("text").alias("text_a"))
    tb = texts.select(F.col("doc_id").alias("doc_b"), F.col("text").alias("text_b"))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            sims = [
                jaccard(shingles(a, shingle_size), shingles(b, shingle_size))
                for a, b in zip(batch["text_a"], batch["text_b"])
            ]
            yield pd.DataFrame({"doc_a": batch["doc_a"].values, "doc_b": batch["doc_b"].values, "similarity": sims})

    scored = conform(pairs.join(ta, on="doc_a").join(tb, on="doc_b"), _PAIR_TEXTS).mapInPandas(run, schema=_SCORED)
    return scored.where(F.col("similarity") >= threshold)


def connected_components(edges: DataFrame, *, max_iterations: int = 50) -> DataFrame:
    """``(doc_a, doc_b)`` edges -> ``(doc_id, component)`` where component is the smallest doc_id reachable.

    Min-label propagation: each round every node takes the smallest label among its own and its
    neighbours'; it converges in as many rounds as the largest cluster's diameter (near-duplicate
    clusters are small and dense). Each round is one Spark job whose result is locally checkpointed
    (memory and disk), so the plan stays one round deep instead of growing with every round. No round
    joins a checkpointed frame with itself (Spark cannot rewrite such self-joins). Raises
    :class:`LakeprepError` if it has not converged after ``max_iterations`` rounds.
    """
    both = (
        edges.select(F.col("doc_a").alias("src"), F.col("doc_b").alias("dst"))
        .unionByName(edges.select(F.col("doc_b").alias("src"), F.col("doc_a").alias("dst")))
        .localCheckpoint(storageLevel=CACHE_LEVEL)
    )
    labels = (
        both.groupBy(F.col("src").alias("doc_id"))
        .agg(F.least(F.min("dst"), F.first("src")).alias("component"))
        .localCheckpoint(storageLevel=CACHE_LEVEL)
    )
    for round_ in range(1, max_iterations + 1):
        from_neighbours = both.join(labels.select(F.col("doc_id").alias("src"), "component"), on="src").select(
            F.col("dst").alias("doc_id"), "component"
        )
        proposed = (
            labels.unionByName(from_neighbours)
            .groupBy("doc_id")
            .agg(F.min("component").alias("component"))
            .localCheckpoint(storageLevel=CACHE_LEVEL)
        )
        changed = proposed.join(labels, on=["doc_id", "component"], how="left_anti").count()
        labels = proposed
        if changed == 0:
            log.info("connected components converged after %d rounds", round_)
            return labels
    raise LakeprepError(
        f"connected components did not converge in {max_iterations} rounds; raise silver.dedup.max_cc_iterations"
    )


_ROUNDS_PER_CUT = 3  # rounds nested in one plan between two cuts (Spark Connect caps a plan's depth)


def connected_components_fixed(
    edges: DataFrame, *, rounds: int, cut: Callable[[DataFrame], DataFrame] = lambda df: df
) -> DataFrame:
    """Action-free variant of :func:`connected_components` for declarative pipelines.

    A declarative engine (SDP / DLT) wants one query plan per table and no Spark jobs while the graph is
    defined, so the rounds cannot be checkpointed or checked for convergence. This runs exactly
    ``rounds`` rounds of min-label propagation over edges with self-loops (each round references the
    previous labels once, so the plan grows linearly) and adds ``converged``: false for a node whose
    label would still change in one more round, i.e. its cluster's diameter exceeds ``rounds``. Callers
    turn that into a failing expectation instead of silently splitting a cluster. ``cut`` is applied to
    the edges and to the labels every few rounds (a declarative runner stores each, so no single plan
    nests ``rounds`` joins deep). Returns ``(doc_id, component, converged)``.
    """
    both = edges.select(F.col("doc_a").alias("src"), F.col("doc_b").alias("dst"))
    both = both.unionByName(both.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    nodes = both.groupBy(F.col("src").alias("doc_id")).agg(F.count(F.lit(1)).alias("_edges")).select("doc_id")
    both = cut(both.unionByName(nodes.select(F.col("doc_id").alias("src"), F.col("doc_id").alias("dst"))))

    def step(labels: DataFrame) -> DataFrame:
        return (
            both.join(labels.select(F.col("doc_id").alias("src"), "component"), on="src")
            .groupBy(F.col("dst").alias("doc_id"))
            .agg(F.min("component").alias("component"))
        )

    labels = both.groupBy(F.col("src").alias("doc_id")).agg(F.min("dst").alias("component"))
    for i in range(1, rounds):
        labels = step(labels)
        if i % _ROUNDS_PER_CUT == 0 and i < rounds - 1:
            labels = cut(labels)
    once_more = step(labels).select("doc_id", F.col("component").alias("_next"))
    return labels.join(once_more, on="doc_id").select(
        "doc_id", "component", (F.col("component") == F.col("_next")).alias("converged")
    )
