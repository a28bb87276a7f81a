"""Bronze: incremental, exactly-once ingestion of the landing directory (Auto Loader semantics).

Bookkeeping lives in the two tables themselves: a landing file is *accounted for* when
``bronze.documents`` or ``quarantine.bronze`` holds a row with its ``(source_path, size_bytes,
modification_time)``. A run lists the landing directory (metadata only), takes the files that are not
accounted for (new, or changed since they were ingested), reads and parses only those, and writes

1. ``bronze.documents``: one MERGE commit that upserts the new documents by ``(source_path,
   record_index)`` and deletes the rows of changed files that are gone (a jsonl file that lost lines, a
   file whose new version is quarantined);
2. ``quarantine.bronze``: one append commit with every rejected file and all its reasons.

Both commits carry the run id in ``userMetadata``. Delta commits are atomic, so a crash leaves no partial
commit; bronze is written first, so a crash between the two commits leaves the rejected files
unaccounted for, and the next run picks them up again: the rerun completes the work, nothing is lost
and nothing is written twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config, TableSourceConfig
from lakeprep.logs import run_context
from lakeprep.quality.rules import check_rules
from lakeprep.io.delta import (
    create_table_if_missing,
    history,
    merge_rows,
    read_table,
    session_conf,
)
from lakeprep.io.landing import LISTING_CONF, format_of, read_landing_files, scan_landing
from lakeprep.io.tables import read_delta_source, read_parquet_source, source_key
from lakeprep.pipeline.layers import LANDING_FILES, LANDING_PENDING, SPECS
from lakeprep.pipeline.spec import BuildContext
from lakeprep.pipeline._summary import reason_counts as reason_counts_of
from lakeprep.schemas import BRONZE_DOCUMENTS, BRONZE_KEYS, QUARANTINE_BRONZE

__all__ = ["BronzeResult", "SourceResult", "ingest_bronze"]

log = logging.getLogger(__name__)

BRONZE_TABLE = "bronze.documents"
QUARANTINE_TABLE = "quarantine.bronze"
_FILE_STATE = ("source_path", "size_bytes", "modification_time")
# Files are large rows: keep Arrow batches small while parsing so a batch of big files fits in memory.
_PARSE_CONF = {"spark.sql.execution.arrow.maxRecordsPerBatch": "16"}


@dataclass(frozen=True)
class SourceResult:
    """What one run took from ``bronze.source``."""

    table: str
    kind: str  # delta | parquet
    mode: str  # unchanged | snapshot | change_feed | files
    version: int | None = None  # the Delta version read (recorded in the bronze commit)
    documents_ingested: int = 0  # rows upserted (Parquet: rows of new or changed files)
    rows_quarantined: int = 0  # rows (Delta) or files (Parquet) rejected
    quarantine_reasons: Mapping[str, int] = field(default_factory=dict)
    bronze_version: int | None = None
    quarantine_version: int | None = None
    seconds: float = 0.0

    def summary_line(self) -> str:
        at = f" v{self.version}" if self.version is not None else ""
        if self.mode == "unchanged":
            return f"  table:       {self.table} ({self.kind}) unchanged"
        return (
            f"  table:       {self.table} ({self.kind}{at}, {self.mode.replace('_', ' ')}): {self.documents_ingested} documents,"
            f" {self.rows_quarantined} quarantined" + "".join(f", {k} {v}" for k, v in sorted(self.quarantine_reasons.items()))
        )


@dataclass(frozen=True)
class BronzeResult:
    """What one bronze run did (the numbers ``build_corpus`` prints)."""

    run_id: str
    files_seen: int
    files_unchanged: int
    files_new: int
    files_changed: int
    files_ingested: int
    documents_ingested: int
    files_quarantined: int
    quarantine_reasons: Mapping[str, int] = field(default_factory=dict)  # reason code -> files
    bronze_version: int | None = None  # the commit this run made, None when it wrote nothing
    quarantine_version: int | None = None
    seconds: float = 0.0
    rule_violations: Mapping[str, int] = field(default_factory=dict)  # warn rules: rows violating each
    files_by_format: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # format -> {ingested, quarantined}
    record_counts: Mapping[str, int] = field(default_factory=dict)  # container records: warc:document, warc:corrupt...
    source: SourceResult | None = None  # bronze.source, when configured

    def summary_lines(self) -> list[str]:
        lines = [
            f"bronze run {self.run_id}: {self.files_seen} files seen in landing, "
            f"{self.files_unchanged} already accounted for, {self.files_new} new, {self.files_changed} changed",
            f"  ingested:    {self.files_ingested} files -> {self.documents_ingested} documents"
            + (f" (bronze.documents v{self.bronze_version})" if self.bronze_version is not None else ""),
            f"  quarantined: {self.files_quarantined} files"
            + (f" (quarantine.bronze v{self.quarantine_version})" if self.quarantine_version is not None else ""),
        ]
        for code, n in sorted(self.quarantine_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {code}: {n}")
        if self.files_by_format:
            lines.append(
                "  by format:   "
                + ", ".join(f"{fmt} {c['ingested']}+{c['quarantined']}q" for fmt, c in sorted(self.files_by_format.items()))
            )
        if self.record_counts:
            lines.append("  records:     " + ", ".join(f"{k} {v}" for k, v in sorted(self.record_counts.items())))
        if self.source is not None:
            lines.append(self.source.summary_line())
        for name, n in sorted(self.rule_violations.items()):
            lines.append(f"  rule {name}: {n} rows violate it (warn)")
        lines.append(f"  seconds:     {self.seconds:.1f}")
        return lines


def ingest_bronze(
    spark: SparkSession, cfg: Config, *, run_id: str, started_at: datetime, on_new_input: Callable[[], object] | None = None
) -> BronzeResult:
    """Ingest new and changed landing files, and the new or changed rows of ``bronze.source`` when one is
    configured, into bronze (see the module docstring and :mod:`lakeprep.io.tables`).

    ``on_new_input`` is called as soon as there is something to ingest, before it is read (the batch runner
    starts loading the gates' libraries then, so a build with nothing new never loads them)."""
    with run_context(run_id):
        t0 = time.monotonic()
        result = _ingest(spark, cfg, run_id=run_id, started_at=started_at, on_new_input=on_new_input)
        if cfg.bronze.source is None:
            return result
        source = _ingest_source(spark, cfg, cfg.bronze.source, run_id=run_id, started_at=started_at, on_new_input=on_new_input)
        return replace(
            result,
            source=source,
            bronze_version=source.bronze_version if source.bronze_version is not None else result.bronze_version,
            quarantine_version=source.quarantine_version if source.quarantine_version is not None else result.quarantine_version,
            seconds=time.monotonic() - t0,
        )


def _ingest_source(
    spark: SparkSession, cfg: Config, src: TableSourceConfig, *, run_id: str, started_at: datetime,
    on_new_input: Callable[[], object] | None = None,
) -> SourceResult:
    """One run over the table source: quarantine first, then one bronze MERGE that records the source
    version read (a crash between the two re-reads the same changes; neither table gets a row twice)."""
    t0 = time.monotonic()
    bronze_path = cfg.storage.table_path(BRONZE_TABLE)
    quarantine_path = cfg.storage.table_path(QUARANTINE_TABLE)
    bronze = read_table(spark, bronze_path, name=BRONZE_TABLE)
    quarantine = read_table(spark, quarantine_path, name=QUARANTINE_TABLE)
    key = source_key(src)
    if src.kind == "delta":
        since = None
        for entry in history(spark, bronze_path, name=BRONZE_TABLE, with_row_counts=False):
            if entry.metadata.get("source_table") == key and entry.metadata.get("source_version") is not None:
                since = int(entry.metadata["source_version"])
        read = read_delta_source(spark, src, since_version=since, bronze=bronze, quarantine=quarantine)
    else:
        accounted = bronze.select(*_FILE_STATE).unionByName(quarantine.select(*_FILE_STATE)).distinct()
        read = read_parquet_source(spark, src, accounted=accounted)
    if read is None:
        log.info("bronze %s: table source %s unchanged", run_id, key)
        return SourceResult(table=key, kind=src.kind, mode="unchanged", seconds=time.monotonic() - t0)
    if on_new_input is not None:
        on_new_input()
    ctx = BuildContext(run_id=run_id, started_at=started_at)
    meta = {"run_id": run_id, "layer": "bronze", "config": cfg.fingerprint(), "source_table": key}
    try:
        views = {"bronze.parsed": ctx.cache(read.parsed)}
        docs = SPECS[BRONZE_TABLE].build(views, cfg, ctx)
        rejects = ctx.cache(SPECS[QUARANTINE_TABLE].build(views, cfg, ctx))
        reasons = reason_counts_of(rejects, "reject_reasons")
        n_rejected = rejects.count()
        quarantine_version = (
            _append_quarantine(spark, rejects, quarantine_path, metadata={**meta, "table": QUARANTINE_TABLE}) if n_rejected else None
        )
        n_docs = docs.count()
        bronze_meta = {**meta, "table": BRONZE_TABLE, **({"source_version": read.version} if read.version is not None else {})}
        if read.deletes is None:  # Parquet: a processed file's rows that are no longer there go
            bronze_version = _merge_documents(
                spark, bronze_path, docs=docs, processed_paths=read.parsed.select("source_path").distinct(), metadata=bronze_meta
            )
        else:
            bronze_version = merge_rows(
                spark, bronze_path, upserts=docs, deletes=read.deletes, keys=BRONZE_KEYS,
                columns=BRONZE_DOCUMENTS.fieldNames(), metadata=bronze_meta,
            )
    finally:
        ctx.release()
    out = SourceResult(
        table=key, kind=src.kind, mode=read.mode, version=read.version, documents_ingested=n_docs, rows_quarantined=n_rejected,
        quarantine_reasons=reasons, bronze_version=bronze_version, quarantine_version=quarantine_version, seconds=time.monotonic() - t0,
    )
    log.info("bronze %s: %s", run_id, out.summary_line().strip())
    return out


def _ingest(
    spark: SparkSession, cfg: Config, *, run_id: str, started_at: datetime, on_new_input: Callable[[], object] | None = None
) -> BronzeResult:
    t0 = time.monotonic()
    bronze_path = cfg.storage.table_path(BRONZE_TABLE)
    quarantine_path = cfg.storage.table_path(QUARANTINE_TABLE)
    meta = {"run_id": run_id, "layer": "bronze", "config": cfg.fingerprint()}
    create_table_if_missing(spark, bronze_path, BRONZE_DOCUMENTS, metadata={**meta, "table": BRONZE_TABLE})
    create_table_if_missing(spark, quarantine_path, QUARANTINE_BRONZE, metadata={**meta, "table": QUARANTINE_TABLE})

    bronze = read_table(spark, bronze_path, name=BRONZE_TABLE)
    quarantine = read_table(spark, quarantine_path, name=QUARANTINE_TABLE)
    accounted = bronze.select(*_FILE_STATE).unionByName(quarantine.select(*_FILE_STATE)).distinct()
    known_paths = bronze.select("source_path").unionByName(quarantine.select("source_path")).distinct()

    pending_rows: list = []
    files_seen = 0
    if cfg.bronze.landing:  # empty when every document comes from bronze.source
        listing, files_seen = scan_landing(spark, cfg.bronze.landing_path)
        # File metadata only (paths, sizes, times): the same bookkeeping Spark's streaming file source keeps on
        # the driver. Freezing it as a local frame keeps the run consistent if files land while it runs.
        with session_conf(spark, LISTING_CONF):
            pending_rows = (
                listing.join(accounted, on=list(_FILE_STATE), how="left_anti")
                .join(known_paths.withColumn("_known", F.lit(True)), on="source_path", how="left")
                .select(*_FILE_STATE, format_of(F.col("source_path"), cfg.bronze.formats).alias("format"), "_known")
                .collect()
            )
    files_changed = sum(1 for r in pending_rows if r["_known"])
    log.info("bronze %s: %d files in landing, %d new or changed", run_id, files_seen, len(pending_rows))
    if not pending_rows:
        return BronzeResult(
            run_id=run_id,
            files_seen=files_seen,
            files_unchanged=files_seen,
            files_new=0,
            files_changed=0,
            files_ingested=0,
            documents_ingested=0,
            files_quarantined=0,
            seconds=time.monotonic() - t0,
        )
    if on_new_input is not None:
        on_new_input()
    pending = spark.createDataFrame(
        [(r["source_path"], r["size_bytes"], r["modification_time"], r["format"]) for r in pending_rows],
        schema="source_path string, size_bytes long, modification_time timestamp, format string",
    )

    to_read = [
        r["source_path"] for r in pending_rows if r["format"] is not None and 0 < r["size_bytes"] <= cfg.bronze.max_bytes_for(r["format"])
    ]
    ctx = BuildContext(run_id=run_id, started_at=started_at)

    with session_conf(spark, _PARSE_CONF):
        files = read_landing_files(spark, to_read) if to_read else None
        inputs = {LANDING_PENDING: pending, **({LANDING_FILES: files} if files is not None else {})}
        views = {"bronze.parsed": SPECS["bronze.parsed"].build(inputs, cfg, ctx)}  # parses once (cached inside)
        docs = SPECS["bronze.documents"].build(views, cfg, ctx)
        rejects = ctx.cache(SPECS[QUARANTINE_TABLE].build(views, cfg, ctx))

        rule_violations: dict[str, int] = {}
        try:
            if cfg.rules.get(BRONZE_TABLE):
                outcome = check_rules(docs, cfg.rules[BRONZE_TABLE], table=BRONZE_TABLE, id_column="doc_id")
                rule_violations = outcome.violations
            processed_paths = pending.select("source_path")
            bronze_version = _merge_documents(
                spark,
                bronze_path,
                docs=docs,
                processed_paths=processed_paths,
                metadata={**meta, "table": BRONZE_TABLE},
            )
            reason_counts = reason_counts_of(rejects, "reject_reasons")
            files_quarantined = rejects.count()
            quarantine_version = None
            if files_quarantined:
                quarantine_version = _append_quarantine(
                    spark, rejects, quarantine_path, metadata={**meta, "table": QUARANTINE_TABLE}
                )
            quarantined_by_format = (
                {(r["format"] or "(unmapped)"): int(r["n"]) for r in rejects.groupBy("format").agg(F.count(F.lit(1)).alias("n")).collect()}
                if files_quarantined
                else {}
            )
            stats = views["bronze.parsed"].where(F.col("reject_reasons").isNull()).agg(  # the documents, with notes
                F.countDistinct("source_path").alias("files"),
                F.count(F.lit(1)).alias("docs"),
                F.collect_list("notes").alias("notes"),  # one map per container file (WARC), none for others
            ).first()
        finally:
            ctx.release()

    processed = Counter((r["format"] or "(unmapped)") for r in pending_rows)
    record_counts: Counter[str] = Counter()
    for notes in (stats["notes"] if stats else None) or []:
        record_counts.update({k: int(v) for k, v in notes.items()})
    result = BronzeResult(
        run_id=run_id,
        files_seen=files_seen,
        files_unchanged=files_seen - len(pending_rows),
        files_new=len(pending_rows) - files_changed,
        files_changed=files_changed,
        files_ingested=int(stats["files"]) if stats else 0,
        documents_ingested=int(stats["docs"]) if stats else 0,
        files_quarantined=files_quarantined,
        quarantine_reasons=reason_counts,
        bronze_version=bronze_version,
        quarantine_version=quarantine_version,
        seconds=time.monotonic() - t0,
        rule_violations=rule_violations,
        files_by_format={
            fmt: {"ingested": n - quarantined_by_format.get(fmt, 0), "quarantined": quarantined_by_format.get(fmt, 0)}
            for fmt, n in processed.items()
        },
        record_counts=dict(record_counts),
    )
    log.info(
        "bronze %s: %d files ingested (%d documents), %d quarantined, %.1fs (%.1f files/s)",
        run_id,
        result.files_ingested,
        result.documents_ingested,
        result.files_quarantined,
        result.seconds,
        len(pending_rows) / max(result.seconds, 1e-9),
    )
    return result


def _merge_documents(
    spark: SparkSession,
    path: str,
    *,
    docs: DataFrame | None,
    processed_paths: DataFrame,
    metadata: Mapping[str, str],
) -> int | None:
    """One MERGE commit: upsert ``docs`` by key, delete rows of processed files that are no longer there."""
    previous = read_table(spark, path, name=BRONZE_TABLE).join(processed_paths, on="source_path", how="left_semi")
    stale = previous.select(*BRONZE_KEYS)
    if docs is not None:
        stale = stale.join(docs.select(*BRONZE_KEYS), on=list(BRONZE_KEYS), how="left_anti")
    return merge_rows(
        spark, path, upserts=docs, deletes=stale, keys=BRONZE_KEYS, columns=BRONZE_DOCUMENTS.fieldNames(), metadata=metadata
    )


def _append_quarantine(spark: SparkSession, rejects: DataFrame, path: str, *, metadata: Mapping[str, str]) -> int | None:
    """One insert-only MERGE with every rejected file of this run, keyed by path, size and modification
    time: a file rejected again (a rerun after a crash) adds nothing."""
    return merge_rows(
        spark, path, upserts=rejects, deletes=None, keys=SPECS[QUARANTINE_TABLE].keys,
        columns=QUARANTINE_BRONZE.fieldNames(), metadata=metadata, insert_only=True,
    )
