"""Silver: normalize, filter for quality, drop exact and near duplicates, incrementally.

Each run processes only the bronze documents silver has not seen (a document is *seen* once it is in
``silver.documents``, ``quarantine.silver``, or ``silver.dedup_clusters`` as a removed duplicate), and
removes silver rows whose bronze document is gone (a changed file gets a new ``doc_id``):

1. normalize, mask PII (typed placeholders or keyed pseudonyms, ``pii_counts`` per document), then
   quality signals (pandas UDFs); documents breaking a rule -> ``quarantine.silver`` with every reason
   and no text, so no raw PII leaves bronze;
2. exact duplicates by ``content_hash`` of the normalized text, against this batch and against silver;
   the kept document is the one already in silver, else the earliest ingested, then the smallest doc_id;
3. near duplicates: MinHash signatures of the new documents only, LSH band join against this batch and
   the persisted index (``silver.minhash_index``), verification by estimated Jaccard, connected
   components; documents already in silver are never removed, otherwise the same keep rule applies.

Commit order makes a crash safe to rerun: index, clusters and quarantine first, ``silver.documents``
last (each one atomic MERGE/append carrying the run id). That last write also marks a run as done with
its bronze version: a run over the same bronze version has nothing to do, and knows it from the Delta log
without a Spark job (:func:`_up_to_date`). The index stores its MinHash parameters as a
table property; a run with other parameters fails (``on_param_change: fail``) or rebuilds the index
from the silver documents (``rebuild``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config, DedupConfig
from lakeprep.dedup.minhash import with_minhash
from lakeprep.errors import LakeprepError
from lakeprep.io.delta import (
    commit_metadata,
    create_table_if_missing,
    history,
    latest_version,
    merge_rows,
    quote_path,
    read_table,
    same_as_stored,
    table_properties,
)
from lakeprep.logs import Progress, run_context
from lakeprep.quality.rules import check_rules
from lakeprep.pipeline._summary import collect_stats, count_by, count_rows, reason_rows
from lakeprep.pipeline.layers import SPECS, config_properties, lsh_shape, survivors
from lakeprep.pipeline.spec import BuildContext
from lakeprep.schemas import DEDUP_CLUSTERS, MINHASH_INDEX, QUARANTINE_SILVER, SILVER_DOCUMENTS
from lakeprep.session import CACHE_LEVEL
from lakeprep.pii.mask import pseudonym_key

__all__ = ["IndexParamsError", "SilverResult", "build_silver", "index_params"]

log = logging.getLogger(__name__)

BRONZE = "bronze.documents"
DOCUMENTS = "silver.documents"
QUARANTINE = "quarantine.silver"
CLUSTERS = "silver.dedup_clusters"
INDEX = "silver.minhash_index"
_PARAMS_PROPERTY = "lakeprep.minhash.params"
_LAST_WRITE = "documents"  # commit metadata "operation" of a run's last write, silver.documents


class IndexParamsError(LakeprepError):
    """The persisted MinHash index was built with other parameters than the config asks for."""


@dataclass(frozen=True)
class SilverResult:
    """What one silver run did."""

    run_id: str
    bronze_version: int
    documents_new: int  # bronze documents silver had not seen
    documents_removed_upstream: int  # silver rows whose bronze document is gone
    quality_rejected: int
    exact_duplicates: int
    near_duplicates: int
    documents_kept: int
    reject_reasons: Mapping[str, int] = field(default_factory=dict)
    pii_counts: Mapping[str, int] = field(default_factory=dict)  # PII spans masked, by type
    near_cluster_sizes: Mapping[int, int] = field(default_factory=dict)  # cluster size -> clusters
    versions: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dedup_action: str = "remove"  # remove | mark (duplicates kept, clusters recorded)
    rule_violations: Mapping[str, int] = field(default_factory=dict)  # row rules: rows violating each

    def summary_lines(self) -> list[str]:
        lines = [
            f"silver run {self.run_id}: {self.documents_new} new bronze documents (bronze v{self.bronze_version}), "
            f"{self.documents_removed_upstream} removed upstream",
            f"  quality rejects: {self.quality_rejected}",
        ]
        for code, n in sorted(self.reject_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {code}: {n}")
        lines.append(
            "  PII masked:      "
            + (", ".join(f"{k}: {v}" for k, v in sorted(self.pii_counts.items())) if self.pii_counts else "none found")
        )
        lines += [
            f"  exact duplicates: {self.exact_duplicates}" + (" (marked, kept)" if self.dedup_action == "mark" else ""),
            f"  near duplicates:  {self.near_duplicates}"
            + (
                f" (clusters by size: {', '.join(f'{k}: {v}' for k, v in sorted(self.near_cluster_sizes.items()))})"
                if self.near_cluster_sizes
                else ""
            ),
            f"  kept:            {self.documents_kept}"
            + (f" (silver.documents v{self.versions[DOCUMENTS]})" if DOCUMENTS in self.versions else ""),
            *[f"  rule {k}: {v} rows violate it" for k, v in sorted(self.rule_violations.items())],
            f"  seconds:         {self.seconds:.1f}",
        ]
        return lines


def index_params(cfg: DedupConfig, normalize: Mapping[str, object]) -> dict[str, object]:
    """Everything a stored signature depends on: mixing signatures made with other values is wrong."""
    bands, rows = lsh_shape(cfg)
    return {
        "num_perm": cfg.num_perm,
        "seed": cfg.seed,
        "shingle_size": cfg.shingle_size,
        "bands": bands,
        "rows": rows,
        "hash": cfg.hash,
        "normalize": dict(normalize),
    }


def _record_properties(spark: SparkSession, path: str, wanted: Mapping[str, str], meta: Mapping[str, object]) -> None:
    """Set the config-derived table properties (the quality profile) where the table holds other values.

    Rows written under another profile stay as they are; the property says what the latest run used."""
    current = table_properties(spark, path)
    changed = {k: v for k, v in wanted.items() if current.get(k) != v}
    if changed:
        pairs = ", ".join(f"'{k}' = '{v}'" for k, v in sorted(changed.items()))
        log.info("silver: table %s properties %s (were %s)", path, changed, {k: current.get(k) for k in changed})
        with commit_metadata(spark, meta):
            spark.sql(f"ALTER TABLE {quote_path(path)} SET TBLPROPERTIES ({pairs})")


def build_silver(
    spark: SparkSession, cfg: Config, *, run_id: str, started_at: datetime, bronze_version: int | None = None
) -> SilverResult:
    """Bring silver up to date with bronze at ``bronze_version`` (default: latest; see the module docstring)."""
    with run_context(run_id):
        return _build(spark, cfg, run_id=run_id, started_at=started_at, bronze_version=bronze_version)


def _build(spark: SparkSession, cfg: Config, *, run_id: str, started_at: datetime, bronze_version: int | None) -> SilverResult:
    t0 = time.monotonic()
    dd = cfg.silver.dedup
    paths = {name: cfg.storage.table_path(name) for name in (BRONZE, DOCUMENTS, QUARANTINE, CLUSTERS, INDEX)}
    meta = {"run_id": run_id, "layer": "silver", "config": cfg.fingerprint()}
    params = index_params(dd, asdict(cfg.silver.normalize))

    pseudonym_key(cfg.silver.pii)  # fails before any work if pseudonyms are asked for without a key
    if bronze_version is None:
        bronze_version = latest_version(spark, paths[BRONZE])
    bronze = read_table(spark, paths[BRONZE], version=bronze_version, name=BRONZE)
    meta["inputs"] = {BRONZE: bronze_version}  # type: ignore[assignment]
    for name, schema in ((DOCUMENTS, SILVER_DOCUMENTS), (QUARANTINE, QUARANTINE_SILVER), (CLUSTERS, DEDUP_CLUSTERS)):
        create_table_if_missing(spark, paths[name], schema, metadata={**meta, "table": name}, properties=config_properties(name, cfg))
        _record_properties(spark, paths[name], config_properties(name, cfg), {**meta, "table": name})
    create_table_if_missing(
        spark,
        paths[INDEX],
        MINHASH_INDEX,
        metadata={**meta, "table": INDEX},
        properties={_PARAMS_PROPERTY: json.dumps(params, sort_keys=True)},
    )
    _check_index_params(spark, cfg, paths, params, meta)

    if _up_to_date(spark, paths[DOCUMENTS], bronze_version):
        log.info("silver %s: up to date with bronze v%d (nothing to do)", run_id, bronze_version)
        return SilverResult(run_id, bronze_version, 0, 0, 0, 0, 0, 0, seconds=time.monotonic() - t0)

    docs = read_table(spark, paths[DOCUMENTS], name=DOCUMENTS)
    quarantine = read_table(spark, paths[QUARANTINE], name=QUARANTINE)
    clusters = read_table(spark, paths[CLUSTERS], name=CLUSTERS)
    seen = (
        docs.select("doc_id")
        .unionByName(quarantine.select("doc_id"))
        .unionByName(clusters.where(F.col("doc_id") != F.col("kept_doc_id")).select("doc_id"))
        .distinct()
    )
    new = bronze.join(seen, on="doc_id", how="left_anti").persist(CACHE_LEVEL)
    gone = docs.select("doc_id").join(bronze.select("doc_id"), on="doc_id", how="left_anti").persist()
    n_new, n_gone = new.count(), gone.count()
    log.info("silver %s: %d new bronze documents, %d gone upstream (bronze v%d)", run_id, n_new, n_gone, bronze_version)
    if n_new == 0 and n_gone == 0:
        new.unpersist()
        gone.unpersist()
        return SilverResult(run_id, bronze_version, 0, 0, 0, 0, 0, 0, seconds=time.monotonic() - t0)

    current = docs.join(gone, on="doc_id", how="left_anti")
    index = read_table(spark, paths[INDEX], name=INDEX).join(current.select("doc_id"), on="doc_id", how="left_semi")
    ctx = BuildContext(run_id=run_id, started_at=started_at, prior={DOCUMENTS: current, INDEX: index})
    progress = Progress(log, f"silver {run_id}")
    try:
        # the table definitions (lakeprep.pipeline.layers) over this run's new documents
        views: dict[str, DataFrame] = {BRONZE: new}
        for name in ("silver.scored", "silver.exact_clusters", "silver.signatures", "silver.near_clusters"):
            views[name] = SPECS[name].build(views, cfg, ctx)
            progress.step(f"{name} built", n_new, "docs")
        kept = SPECS[DOCUMENTS].build(views, cfg, ctx)
        q_rows = SPECS[QUARANTINE].build(views, cfg, ctx)

        # -- row rules on the documents about to be written (drop -> quarantine, fail -> stop) --------------
        outcome = check_rules(kept, cfg.rules.get(DOCUMENTS, ()), table=DOCUMENTS, id_column="doc_id")
        if any(n for name, n in outcome.violations.items() if outcome.severities[name] == "drop"):
            kept = ctx.cache(outcome.kept)
            q_rows = q_rows.unionByName(SPECS[DOCUMENTS].to_quarantine(outcome.dropped, ctx))  # type: ignore[misc]

        # -- counts for the summary (small aggregates only) --------------------------------------------
        exact_rows, near_rows = views["silver.exact_clusters"], views["silver.near_clusters"]
        near_removed = near_rows.where(F.col("doc_id") != F.col("kept_doc_id")).select("doc_id")
        if dd.action != "remove":  # mark mode also has rows for existing documents: count new ones only
            near_removed = near_removed.join(survivors(views, cfg).select("doc_id"), on="doc_id", how="left_semi")
        stats = collect_stats({  # one job
            "rejected": count_rows(q_rows),
            "reasons": reason_rows(q_rows, "reject_reasons"),
            "pii": views["silver.scored"].select(F.explode("pii_counts").alias("key", "n")).groupBy("key").agg(F.sum("n").alias("n")),
            "exact": count_rows(exact_rows.where(F.col("doc_id") != F.col("kept_doc_id"))),
            "near": count_rows(near_removed),
            "kept": count_rows(kept),
            "sizes": count_by(count_by(near_rows, "cluster_id"), "n"),  # clusters per size
        })
        n_rejected, n_exact, n_near, n_kept = (stats[k].get("", 0) for k in ("rejected", "exact", "near", "kept"))
        reason_counts, pii_counts = stats["reasons"], stats["pii"]
        sizes = {int(k): n for k, n in stats["sizes"].items()}

        progress.step("counted", n_new, "docs")

        # -- writes: index, clusters, quarantine, then documents (see module docstring) ----------------
        versions: dict[str, int] = {}
        index_rows = SPECS[INDEX].build({**views, DOCUMENTS: kept}, cfg, ctx)
        v = merge_rows(
            spark, paths[INDEX], upserts=index_rows, deletes=gone, keys=SPECS[INDEX].keys,
            columns=MINHASH_INDEX.fieldNames(), metadata={**meta, "table": INDEX},
        )
        if v is not None:
            versions[INDEX] = v
        v = merge_rows(
            spark, paths[CLUSTERS], upserts=SPECS[CLUSTERS].build(views, cfg, ctx), deletes=None, keys=SPECS[CLUSTERS].keys,
            columns=DEDUP_CLUSTERS.fieldNames(), metadata={**meta, "table": CLUSTERS},
        )
        if v is not None:
            versions[CLUSTERS] = v
        if n_rejected:  # insert-only by (doc_id, reasons): a rerun after a crash adds nothing
            v = merge_rows(
                spark, paths[QUARANTINE], upserts=q_rows, deletes=None, keys=SPECS[QUARANTINE].keys,
                columns=QUARANTINE_SILVER.fieldNames(), metadata={**meta, "table": QUARANTINE}, insert_only=True,
            )
            if v is not None:
                versions[QUARANTINE] = v
        v = merge_rows(
            spark, paths[DOCUMENTS], upserts=kept.select(*SILVER_DOCUMENTS.fieldNames()), deletes=gone,
            keys=SPECS[DOCUMENTS].keys, columns=SILVER_DOCUMENTS.fieldNames(),
            metadata={**meta, "table": DOCUMENTS, "operation": _LAST_WRITE},  # what _up_to_date looks for
        )
        if v is not None:
            versions[DOCUMENTS] = v
        progress.step("written (index, clusters, quarantine, documents)", n_kept, "docs")
    finally:
        ctx.release()
        new.unpersist()
        gone.unpersist()

    result = SilverResult(
        run_id=run_id,
        bronze_version=bronze_version,
        documents_new=n_new,
        documents_removed_upstream=n_gone,
        quality_rejected=n_rejected,
        exact_duplicates=n_exact,
        near_duplicates=n_near,
        documents_kept=n_kept,
        reject_reasons=reason_counts,
        pii_counts=pii_counts,
        near_cluster_sizes=sizes,
        versions=versions,
        seconds=time.monotonic() - t0,
        dedup_action=dd.action,
        rule_violations=outcome.violations,
    )
    log.info(
        "silver %s: %d kept, %d quality rejects, %d exact and %d near duplicates, %.1fs (%.0f docs/s)",
        run_id, n_kept, n_rejected, n_exact, n_near, result.seconds, n_new / max(result.seconds, 1e-9),
    )
    return result


def _up_to_date(spark: SparkSession, documents: str, bronze_version: int) -> bool:
    """Whether a silver run over bronze at ``bronze_version`` has nothing to do, known from the Delta log alone.

    A silver run writes ``silver.documents`` last, in a commit marked ``operation: documents`` that names its
    bronze version (see the module docstring). When the newest commit of ``silver.documents`` is that one for
    this very bronze version, every document of that bronze version was kept, quarantined or removed as a
    duplicate, and every row whose bronze document is gone was deleted: counting new and gone documents would
    find none. Any other newest commit (a forget, a vacuum, a property change, a run over another bronze
    version, or none because a crash came first) answers False, and the run counts."""
    meta = history(spark, documents, with_row_counts=False, limit=1)[-1].metadata
    return (
        meta.get("layer") == "silver" and meta.get("operation") == _LAST_WRITE
        and same_as_stored(meta.get("inputs"), {BRONZE: bronze_version})
    )


def _check_index_params(
    spark: SparkSession, cfg: Config, paths: Mapping[str, str], params: Mapping[str, object], meta: Mapping[str, object]
) -> None:
    stored = json.loads(table_properties(spark, paths[INDEX]).get(_PARAMS_PROPERTY, "{}"))
    if stored == json.loads(json.dumps(params, sort_keys=True)):
        return
    diff = {k: (stored.get(k), params.get(k)) for k in sorted(set(stored) | set(params)) if stored.get(k) != params.get(k)}
    if cfg.silver.dedup.on_param_change == "fail":
        raise IndexParamsError(
            f"silver.minhash_index was built with other MinHash parameters (stored, configured): {diff}. "
            "Mixing signatures would silently miss duplicates. Set silver.dedup.on_param_change=rebuild to "
            "recompute the index from silver.documents, or go back to the stored parameters."
        )
    log.warning("rebuilding silver.minhash_index: parameters changed %s", diff)
    dd = cfg.silver.dedup
    docs = read_table(spark, paths[DOCUMENTS], name=DOCUMENTS)
    rebuilt = docs.transform(
        with_minhash(
            num_perm=dd.num_perm, seed=dd.seed, shingle_size=dd.shingle_size, bands=int(params["bands"]), rows=int(params["rows"]),  # type: ignore[call-overload]
            hash_scheme=dd.hash,
        )
    ).select("doc_id", "signature", "bands", F.lit(str(meta["run_id"])).alias("silver_run_id"))
    with commit_metadata(spark, {**meta, "table": INDEX, "rebuild": True}):
        rebuilt.write.format("delta").mode("overwrite").option("overwriteSchema", "false").save(paths[INDEX])
    with commit_metadata(spark, {**meta, "table": INDEX, "rebuild": True}):
        spark.sql(
            f"ALTER TABLE {quote_path(paths[INDEX])} SET TBLPROPERTIES "
            f"('{_PARAMS_PROPERTY}' = '{json.dumps(params, sort_keys=True)}')"
        )
