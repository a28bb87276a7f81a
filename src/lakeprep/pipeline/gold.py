"""Gold: RAG chunks (``gold.chunks``), packed training sequences (``gold.training_sequences``), MDS shards.

Inputs are ``silver.documents`` and ``silver.dedup_clusters`` at one version each (recorded in every
commit's metadata).

* **Splits**: every document gets ``train``/``val``/``test`` from its duplicate group
  (:mod:`lakeprep.splits`), so chunks, sequences and MDS samples of a document or a cluster never
  straddle splits.
* **Chunks** are maintained incrementally with one MERGE on ``chunk_id``: chunks of new documents are
  inserted, chunks of documents gone from silver are deleted, documents whose split changed are updated;
  unchanged chunks are not touched, so the Change Data Feed shows exactly what changed (what a vector
  index syncing from it must re-embed). A change of chunking parameters re-chunks every document; chunks
  whose id and place are unchanged still produce no change rows.
* **Training sequences** depend on every document of a split (packing is global), so they are rebuilt in
  one overwrite commit whenever the silver inputs or the parameters changed, and skipped otherwise.
* **Row rules** on ``gold.chunks`` (``rules:`` in the config): dropped chunks go to ``quarantine.gold``.
* **MDS**: :func:`export_if_stale`, called by the runner once gold passed its gate, exports the published
  training sequences version (skipped when the manifest already names it); see :mod:`lakeprep.export.mds`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.export.mds import MdsResult, export_mds, read_manifest
from lakeprep.io.delta import (
    commit_metadata,
    commit_metrics,
    create_table_if_missing,
    history,
    latest_version,
    merge_rows,
    quote_path,
    read_table,
    same_as_stored,
    table_exists,
    table_properties,
)
from lakeprep.logs import Progress, run_context
from lakeprep.pipeline.layers import SPECS
from lakeprep.pipeline.spec import BuildContext
from lakeprep.quality.rules import check_rules
from lakeprep.schemas import GOLD_CHUNKS, QUARANTINE_GOLD, TRAINING_SEQUENCES
from lakeprep.splits import SPLITS
from lakeprep.tokenizers import get_encoding

__all__ = ["CHUNKS", "GoldResult", "QUARANTINE", "SEQUENCES", "build_gold", "export_if_stale", "export_sequences"]

log = logging.getLogger(__name__)

SILVER = "silver.documents"
CLUSTERS = "silver.dedup_clusters"
CHUNKS = "gold.chunks"
SEQUENCES = "gold.training_sequences"
QUARANTINE = "quarantine.gold"
_CHUNK_PARAMS = "lakeprep.chunking.params"


@dataclass(frozen=True)
class GoldResult:
    """What one gold run did."""

    run_id: str
    inputs: Mapping[str, int]
    documents: int
    split_documents: Mapping[str, int] = field(default_factory=dict)
    chunks_total: int = 0
    chunks_inserted: int = 0
    chunks_deleted: int = 0
    chunks_updated: int = 0
    sequences: Mapping[str, int] = field(default_factory=dict)  # per split; empty when not rebuilt
    sequences_rebuilt: bool = False
    tokens_packed: int = 0
    tokens_dropped: int = 0  # incomplete tail sequences
    rule_violations: Mapping[str, int] = field(default_factory=dict)
    versions: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary_lines(self) -> list[str]:
        lines = [
            f"gold run {self.run_id}: {self.documents} documents "
            f"({', '.join(f'{k}: {v}' for k, v in self.split_documents.items())}) from "
            + ", ".join(f"{k} v{v}" for k, v in self.inputs.items()),
            f"  chunks:          {self.chunks_total} (+{self.chunks_inserted} -{self.chunks_deleted} ~{self.chunks_updated})"
            + (f" (gold.chunks v{self.versions[CHUNKS]})" if CHUNKS in self.versions else ""),
        ]
        if self.sequences_rebuilt:
            lines.append(
                f"  sequences:       {', '.join(f'{k}: {v}' for k, v in self.sequences.items())} "
                f"({self.tokens_packed} tokens packed, {self.tokens_dropped} tail tokens dropped)"
                + (f" (gold.training_sequences v{self.versions[SEQUENCES]})" if SEQUENCES in self.versions else "")
            )
        else:
            lines.append("  sequences:       up to date")
        for k, v in sorted(self.rule_violations.items()):
            lines.append(f"  rule {k}: {v} chunks violate it")
        lines.append(f"  seconds:         {self.seconds:.1f}")
        return lines


def build_gold(
    spark: SparkSession, cfg: Config, *, run_id: str, silver_version: int | None = None, clusters_version: int | None = None
) -> GoldResult:
    """Bring gold and the MDS export up to date with silver (at the given versions, default latest)."""
    with run_context(run_id):
        return _build(spark, cfg, run_id=run_id, silver_version=silver_version, clusters_version=clusters_version)


def _params(cfg: Config) -> dict[str, Any]:
    # "splitter" versions the kernel's boundary rules: chunks made by another version are re-made
    return {"chunking": asdict(cfg.gold.chunking), "splitter": 2}


def _sequence_params(cfg: Config) -> dict[str, Any]:
    return {
        "sequences": asdict(cfg.gold.sequences),
        "splits": asdict(cfg.gold.splits),
        "dedup_action": cfg.silver.dedup.action,
    }


def _build(
    spark: SparkSession, cfg: Config, *, run_id: str, silver_version: int | None, clusters_version: int | None
) -> GoldResult:
    t0 = time.monotonic()
    g = cfg.gold
    paths = {n: cfg.storage.table_path(n) for n in (SILVER, CLUSTERS, CHUNKS, SEQUENCES, QUARANTINE)}
    inputs = {
        SILVER: silver_version if silver_version is not None else latest_version(spark, paths[SILVER]),
        CLUSTERS: clusters_version if clusters_version is not None else latest_version(spark, paths[CLUSTERS]),
    }
    meta: dict[str, Any] = {"run_id": run_id, "layer": "gold", "config": cfg.fingerprint(), "inputs": inputs}
    get_encoding(g.chunking.encoding)  # fail early (offline BPE file) before any Spark work
    get_encoding(g.sequences.encoding)

    chunk_params = json.dumps(_params(cfg), sort_keys=True)
    create_table_if_missing(
        spark, paths[CHUNKS], GOLD_CHUNKS, metadata={**meta, "table": CHUNKS},
        properties={**SPECS[CHUNKS].properties, _CHUNK_PARAMS: chunk_params},
    )
    create_table_if_missing(spark, paths[SEQUENCES], TRAINING_SEQUENCES, metadata={**meta, "table": SEQUENCES})
    seq_meta = {**meta, "table": SEQUENCES, "params": _sequence_params(cfg)}
    last = history(spark, paths[SEQUENCES], with_row_counts=False, limit=1)[-1].metadata
    done = _up_to_date(spark, cfg, last, inputs=inputs, params=seq_meta["params"], chunk_params=chunk_params)
    if done is not None:
        log.info("gold %s: up to date with %s (nothing to do)", run_id, inputs)
        return replace(done, run_id=run_id, seconds=time.monotonic() - t0)

    ctx = BuildContext(run_id=run_id, started_at=datetime.now(timezone.utc))
    views: dict[str, DataFrame] = {
        SILVER: read_table(spark, paths[SILVER], version=inputs[SILVER], name=SILVER),
        CLUSTERS: read_table(spark, paths[CLUSTERS], version=inputs[CLUSTERS], name=CLUSTERS),
    }
    with_split = views["gold.splits"] = SPECS["gold.splits"].build(views, cfg, ctx)
    versions: dict[str, int] = {}
    progress = Progress(log, f"gold {run_id}")
    try:
        split_docs = {r["split"]: int(r["n"]) for r in with_split.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()}
        n_docs = sum(split_docs.values())
        log.info("gold %s: %d silver documents (v%d), splits %s", run_id, n_docs, inputs[SILVER], split_docs)

        # -- chunks: one MERGE by chunk_id ------------------------------------------------------------------
        stored = _table_property(spark, paths[CHUNKS], _CHUNK_PARAMS)
        existing = read_table(spark, paths[CHUNKS], name=CHUNKS).select("chunk_id", "doc_id", "split", "char_start", "char_end")
        existing_docs = existing.select("doc_id", "split").distinct()
        if stored != chunk_params:
            log.info("gold %s: chunking parameters changed (%s -> %s): re-chunking every document", run_id, stored, chunk_params)
            todo = with_split
        else:
            unchanged = existing_docs.join(with_split.select("doc_id", "split"), on=["doc_id", "split"], how="left_semi")
            todo = with_split.join(unchanged, on="doc_id", how="left_anti")
        gone = existing_docs.select("doc_id").join(with_split.select("doc_id"), on="doc_id", how="left_anti")
        new_chunks = ctx.cache(SPECS[CHUNKS].build({"gold.splits": todo}, cfg, ctx))
        outcome = check_rules(new_chunks, cfg.rules.get(CHUNKS, ()), table=CHUNKS, id_column="chunk_id")
        n_dropped = sum(n for name, n in outcome.violations.items() if outcome.severities[name] == "drop")
        if n_dropped:
            create_table_if_missing(spark, paths[QUARANTINE], QUARANTINE_GOLD, metadata={**meta, "table": QUARANTINE})
            q_rows = SPECS[CHUNKS].to_quarantine(outcome.dropped, ctx)  # type: ignore[misc]
            v = merge_rows(
                spark, paths[QUARANTINE], upserts=q_rows, deletes=None, keys=("chunk_id",),
                columns=QUARANTINE_GOLD.fieldNames(), metadata={**meta, "table": QUARANTINE},
            )
            if v is not None:
                versions[QUARANTINE] = v
            new_chunks = outcome.kept
        upserts = new_chunks.join(existing, on=["chunk_id", "doc_id", "split", "char_start", "char_end"], how="left_anti")
        affected = todo.select("doc_id").unionByName(gone)
        deletes = (
            existing.join(affected, on="doc_id", how="left_semi")
            .join(new_chunks.select("chunk_id"), on="chunk_id", how="left_anti")
            .select("chunk_id")
        )
        v = merge_rows(
            spark, paths[CHUNKS], upserts=upserts, deletes=deletes, keys=("chunk_id",),
            columns=GOLD_CHUNKS.fieldNames(), metadata={**meta, "table": CHUNKS},
        )
        metrics = commit_metrics(spark, paths[CHUNKS], v) if v is not None else {}
        deleted, updated = (int(metrics.get(k, 0)) for k in ("numTargetRowsDeleted", "numTargetRowsUpdated"))
        # a MERGE reports its inserts; the first rows into an empty table are an append (merge_rows): all written
        inserted = int(metrics.get("numTargetRowsInserted", metrics.get("numOutputRows", 0)))
        if stored != chunk_params:
            with commit_metadata(spark, {**meta, "table": CHUNKS}):
                spark.sql(f"ALTER TABLE {quote_path(paths[CHUNKS])} SET TBLPROPERTIES ('{_CHUNK_PARAMS}' = '{chunk_params}')")
            v = latest_version(spark, paths[CHUNKS])
        if v is not None:
            versions[CHUNKS] = v
        chunks_total = read_table(spark, paths[CHUNKS], name=CHUNKS).count()
        progress.step(f"chunks merged (+{inserted} -{deleted} ~{updated})", chunks_total, "chunks")

        # -- training sequences: rebuilt when inputs or parameters changed -----------------------------------
        rebuild = not _packed_from(last, inputs=inputs, params=seq_meta["params"])
        seq_counts: dict[str, int] = {}
        packed = dropped = 0
        if rebuild:
            s = g.sequences
            packed_all = views["gold.packed"] = SPECS["gold.packed"].build(views, cfg, ctx)
            stats = packed_all.groupBy((F.col("num_tokens") == s.seq_len).alias("full")).agg(
                F.count(F.lit(1)).alias("n"), F.sum("num_tokens").alias("tokens")
            ).collect()
            for r in stats:
                if r["full"]:
                    packed = int(r["tokens"])
                else:
                    dropped = int(r["tokens"])
            full = SPECS[SEQUENCES].build(views, cfg, ctx)
            # what a later run over the same inputs reports without a job (_up_to_date)
            summary = {"documents": n_docs, "split_documents": split_docs}
            with commit_metadata(spark, {**seq_meta, "operation": "pack", "summary": summary}):
                full.write.format("delta").mode("overwrite").save(paths[SEQUENCES])
            versions[SEQUENCES] = latest_version(spark, paths[SEQUENCES])
            seq_counts = {
                r["split"]: int(r["n"]) for r in full.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()
            }
            seq_counts = {k: seq_counts.get(k, 0) for k in SPLITS}
            log.info("gold %s: packed %s sequences of %d tokens; %d tail tokens dropped", run_id, seq_counts, s.seq_len, dropped)
            progress.step("sequences packed and written", packed + dropped, "tokens")

    finally:
        ctx.release()

    result = GoldResult(
        run_id=run_id,
        inputs=inputs,
        documents=n_docs,
        split_documents={k: split_docs.get(k, 0) for k in SPLITS},
        chunks_total=chunks_total,
        chunks_inserted=inserted,
        chunks_deleted=deleted,
        chunks_updated=updated,
        sequences=seq_counts,
        sequences_rebuilt=rebuild,
        tokens_packed=packed,
        tokens_dropped=dropped,
        rule_violations=outcome.violations,
        versions=versions,
        seconds=time.monotonic() - t0,
    )
    log.info("gold %s: %d chunks, sequences %s, %.1fs", run_id, chunks_total, seq_counts or "up to date", result.seconds)
    return result


def _packed_from(last: Mapping[str, Any], *, inputs: Mapping[str, int], params: Mapping[str, Any]) -> bool:
    """Whether ``last``, the training sequences' newest commit metadata, is a pack of these silver inputs with
    these sequence parameters (compared as the commit stored them)."""
    return last.get("operation") == "pack" and same_as_stored(last.get("inputs"), inputs) and same_as_stored(last.get("params"), params)


def _up_to_date(
    spark: SparkSession, cfg: Config, last: Mapping[str, Any], *, inputs: Mapping[str, int], params: Mapping[str, Any], chunk_params: str
) -> GoldResult | None:
    """The result of a gold run that has nothing to do, or None when there may be work.

    Gold is a function of its two silver inputs and its parameters. The last ``pack`` commit of the training
    sequences comes after the chunks' MERGE in every run, so when it names these inputs and sequence
    parameters, and the chunks table's chunking parameters are the configured ones, a run would chunk no
    document, delete no chunk and pack nothing: no Spark job is needed. Its document counts come from that
    commit; the chunk total from the chunks table (answered from the Delta log)."""
    if "summary" not in last or not _packed_from(last, inputs=inputs, params=params):
        return None
    if _table_property(spark, cfg.storage.table_path(CHUNKS), _CHUNK_PARAMS) != chunk_params:
        return None
    summary = last["summary"]
    split_docs = {k: int(summary.get("split_documents", {}).get(k, 0)) for k in SPLITS}
    return GoldResult(
        run_id="", inputs=dict(inputs), documents=int(summary.get("documents", 0)), split_documents=split_docs,
        chunks_total=read_table(spark, cfg.storage.table_path(CHUNKS), name=CHUNKS).count(),
    )


def export_if_stale(
    spark: SparkSession, cfg: Config, *, run_id: str, version: int, inputs: Mapping[str, int] | None = None, tag: str | None = None
) -> MdsResult | None:
    """Export ``gold.training_sequences`` at ``version`` unless the MDS manifest already names it (and this config)."""
    if not cfg.gold.mds.enabled:
        return None
    current = read_manifest(cfg.mds_path)
    wanted = {"table": SEQUENCES, "version": version, "config": cfg.fingerprint()}
    if current is not None and {k: current.get("source", {}).get(k) for k in wanted} == wanted:
        log.info("MDS export at %s is up to date (gold.training_sequences v%d)", cfg.mds_path, version)
        return None
    return export_sequences(spark, cfg, version=version, run_id=run_id, inputs=inputs, tag=tag)


def export_sequences(
    spark: SparkSession, cfg: Config, *, version: int, run_id: str, inputs: Mapping[str, int] | None = None, tag: str | None = None
) -> MdsResult:
    """Export ``gold.training_sequences`` as of ``version`` (and chunks, if configured) to ``cfg.mds_path``."""
    g = cfg.gold
    seqs = read_table(spark, cfg.storage.table_path(SEQUENCES), version=version, name=SEQUENCES)
    chunks = None
    if g.mds.include_chunks:
        order = Window.partitionBy("split").orderBy("doc_id", "chunk_index")
        chunks = (
            read_table(spark, cfg.storage.table_path(CHUNKS), name=CHUNKS)
            .select("split", "chunk_id", "doc_id", "chunk_index", "text")
            .withColumn("seq_index", F.row_number().over(order) - 1)
        )
    enc = get_encoding(g.sequences.encoding)
    manifest = {
        "source": {"table": SEQUENCES, "path": cfg.storage.table_path(SEQUENCES), "version": version, "config": cfg.fingerprint()},
        "inputs": dict(inputs or {}),
        "tag": tag,
        "run_id": run_id,
        "seq_len": g.sequences.seq_len,
        "encoding": g.sequences.encoding,
        "eos_token": enc.eot_token if g.sequences.append_eos else None,
        "splits": g.splits.ratios(),
        "split_seed": g.splits.seed,
    }
    return export_mds(
        spark, seqs, cfg.mds_path, manifest=manifest, compression=g.mds.compression, size_limit=g.mds.size_limit,
        writers_per_split=g.mds.writers_per_split, chunks=chunks, run_id=run_id, local_max_rows=g.mds.local_max_rows,
    )


def _table_property(spark: SparkSession, path: str, key: str) -> str | None:
    return table_properties(spark, path).get(key) if table_exists(spark, path) else None
