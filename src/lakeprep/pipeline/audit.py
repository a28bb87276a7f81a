"""Write-audit-publish: run a layer's gate on the version just written, publish it only if it passes.

The frames a gate sees are the layer's tables at their newest version plus ``_stats``, one row of layer
statistics computed in Spark (quarantine share; for gold the split-ratio error against its tolerance),
so suites can check shares and ratios as plain column expectations.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.io.delta import latest_version, read_table, table_exists
from lakeprep.io.tags import publish, published_versions
from lakeprep.quality.gx import GateFailedError, GateResult, run_gate

__all__ = ["LAYER_TABLES", "gate_and_publish", "gate_parameters", "layer_frames"]

log = logging.getLogger(__name__)

LAYER_TABLES: dict[str, tuple[str, ...]] = {
    "bronze": ("bronze.documents", "quarantine.bronze"),
    "silver": ("silver.documents", "quarantine.silver", "silver.dedup_clusters", "silver.minhash_index"),
    "gold": ("gold.chunks", "gold.training_sequences", "quarantine.gold"),
}


def gate_parameters(cfg: Config) -> dict[str, float | int]:
    """Values suites may use as ``{"$PARAMETER": name}``."""
    g = cfg.gold
    return {
        "chunk_size": g.chunking.chunk_size,
        "chunk_overlap": g.chunking.chunk_overlap,
        "seq_len": g.sequences.seq_len,
        "train_ratio": g.splits.train,
        "val_ratio": g.splits.val,
        "test_ratio": g.splits.test,
    }


def _share(part: DataFrame, whole: DataFrame, name: str) -> DataFrame:
    p = part.agg(F.count(F.lit(1)).alias("_p"))
    w = whole.agg(F.count(F.lit(1)).alias("_w"))
    return p.crossJoin(w).select(
        F.when(F.col("_w") > 0, F.col("_p") / F.col("_w")).otherwise(F.lit(0.0)).alias(name),
        F.col("_p").alias("quarantined"),
        F.col("_w").alias("total"),
    )


def _published_clusters(spark: SparkSession, cfg: Config, published: Mapping[str, int] | None) -> DataFrame | None:
    """``(doc_id, cluster_id)`` of the duplicate clusters gold's splits kept together (``action: mark``; with
    ``remove`` only one member of a cluster reaches gold), one cluster per document; None when there are none."""
    name = "silver.dedup_clusters"
    if cfg.silver.dedup.action != "mark" or not table_exists(spark, cfg.storage.table_path(name)):
        return None
    version = (published_versions(spark, cfg) if published is None else published).get(name)
    clusters = read_table(spark, cfg.storage.table_path(name), version=version, name=name)
    return clusters.groupBy("doc_id").agg(F.min("cluster_id").alias("cluster_id"))


def layer_frames(
    spark: SparkSession, cfg: Config, layer: str, versions: dict[str, int], *, published: Mapping[str, int] | None = None
) -> dict[str, DataFrame]:
    """The layer's tables at ``versions`` and its ``_stats`` row (``published``: the publications, if known)."""
    frames = {t: read_table(spark, cfg.storage.table_path(t), version=v, name=t) for t, v in versions.items()}
    if layer == "bronze":
        docs, q = frames["bronze.documents"], frames["quarantine.bronze"]
        files = docs.select("source_path").distinct().unionByName(q.select("source_path"))
        frames["_stats"] = _share(q, files, "quarantine_share")
    elif layer == "silver":
        docs, q, c = frames["silver.documents"], frames["quarantine.silver"], frames["silver.dedup_clusters"]
        removed = c.where(F.col("doc_id") != F.col("kept_doc_id")).select("doc_id")
        seen = docs.select("doc_id").unionByName(q.select("doc_id")).unionByName(removed).distinct()
        frames["_stats"] = _share(q, seen, "quarantine_share")
    elif layer == "gold":
        chunks = frames["gold.chunks"]
        docs = chunks.select("doc_id", "split").distinct()
        n = docs.agg(F.count(F.lit(1)).alias("n"))
        ratios = cfg.gold.splits.ratios()
        per = docs.groupBy("split").agg(F.count(F.lit(1)).alias("k"))
        expected = spark.createDataFrame([(s, float(r)) for s, r in ratios.items()], "split string, ratio double")
        err = (
            expected.join(per, on="split", how="left")
            .crossJoin(n)
            .select(F.abs(F.coalesce(F.col("k"), F.lit(0)) / F.greatest(F.col("n"), F.lit(1)) - F.col("ratio")).alias("e"), "n")
            .agg(F.max("e").alias("split_ratio_error"), F.first("n").alias("documents"))
        )
        # tolerance: 4 standard deviations of the share at p=0.5 (its largest), at least 0.02, so that a seeded
        # hash split of a small corpus does not fail by chance (with 3 sd a test build of 10 documents did).
        # Duplicate groups go to one split together (silver.dedup.action=mark), so the share is a sum of
        # group sizes w: sd = sqrt(0.25 * sum(w^2)) / sum(w) (= sqrt(0.25 / n) when every group is one document;
        # with groups counted as single documents a build of 12 triples and 20 singles failed by chance).
        unit = docs.select("doc_id").distinct()
        clusters = _published_clusters(spark, cfg, published)
        if clusters is not None:
            unit = unit.join(clusters, on="doc_id", how="left")
        sizes = unit.groupBy(F.coalesce(*(["cluster_id"] if clusters is not None else []), "doc_id").alias("u")).agg(
            F.count(F.lit(1)).alias("w")
        )
        s2 = sizes.agg(F.sum(F.col("w") * F.col("w")).alias("s2"))
        frames["_stats"] = err.crossJoin(s2).select(
            "split_ratio_error",
            "documents",
            F.greatest(
                F.lit(0.02), 4 * F.sqrt(F.lit(0.25) * F.coalesce(F.col("s2"), F.lit(0))) / F.greatest(F.col("documents"), F.lit(1))
            ).alias("split_tolerance"),
        ).withColumn("split_ratio_excess", F.col("split_ratio_error") - F.col("split_tolerance"))
    return frames


def gate_and_publish(
    spark: SparkSession, cfg: Config, layer: str, *, run_id: str, published: Mapping[str, int] | None = None
) -> GateResult:
    """Gate the newest versions of ``layer``'s tables; publish them if the gate passes, else raise.

    When every table is already at its published version (nothing was written since), nothing is gated or
    written: the result says ``up_to_date``. Versions an interrupted run committed but did not publish are
    newer than the published ones, so they are gated and published here. ``published`` (the previous gate's
    :attr:`GateResult.published`, when the caller has it) saves reading the publications again; the result
    carries them as they are after this gate."""
    versions = {
        t: latest_version(spark, cfg.storage.table_path(t)) for t in LAYER_TABLES[layer] if table_exists(spark, cfg.storage.table_path(t))
    }
    published = dict(published_versions(spark, cfg) if published is None else published)
    if versions and all(published.get(t) == v for t, v in versions.items()):
        log.info("%s is up to date (published %s)", layer, versions)
        return GateResult(layer, True, 0, up_to_date=True, published=published)
    if cfg.gates.enabled:
        result = run_gate(
            layer,
            layer_frames(spark, cfg, layer, versions, published=published),
            suites_dir=cfg.gates.suites_path,
            parameters=gate_parameters(cfg),
            results_dir=cfg.gate_results_path,
            run_id=run_id,
            local_max_rows=cfg.gates.local_max_rows,
        )
    else:
        result = GateResult(layer, True, 0, ["gates disabled (gates.enabled: false)"])
    if not result.success:
        raise GateFailedError(
            f"{result.report()}\n{layer} versions {versions} are kept in the table history for inspection but are not "
            "published; downstream layers were not built."
        )
    publish(spark, cfg, layer=layer, versions=versions, run_id=run_id)
    log.info("published %s: %s", layer, versions)
    return replace(result, published={**published, **versions})
