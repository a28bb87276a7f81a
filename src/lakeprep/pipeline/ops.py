"""Operations on a built lake: checkout and diff by tag, safe vacuum, right to be forgotten.

* :func:`checkout` reads every table as of a tag (Delta time travel).
* :func:`diff` compares two tags: documents added/removed per table, by ``doc_id``.
* :func:`vacuum` never removes files a live tag (or the published versions) still needs: it computes the
  safe retention from the oldest protected version's commit time and refuses a shorter one unless forced.
* :func:`forget` deletes documents from bronze, silver and gold (one delete commit per table, a
  delete-only MERGE since Delta's DELETE takes no subquery, the reason in the commit metadata), keeps bronze from re-ingesting them, rebuilds gold and the MDS export,
  records the request in ``_lakeprep.forget_requests`` and revokes tags whose versions still hold the
  data (so vacuum may remove those files).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.errors import LakeprepError
from lakeprep.io.catalog import register_tables
from lakeprep.io.delta import (
    commit_entry,
    commit_metadata,
    commit_metrics,
    create_table_if_missing,
    latest_version,
    quote_path,
    read_table,
    session_conf,
    table_exists,
    table_properties,
)
from lakeprep.io.claim import claim_lake
from lakeprep.io.tags import get_tag, list_tags, published_versions, revoke_tags
from lakeprep.schemas import FORGET_REQUESTS, QUARANTINE_BRONZE

__all__ = ["DiffRow", "ForgetResult", "VacuumRow", "checkout", "diff", "forget", "vacuum"]

log = logging.getLogger(__name__)

FORGET_TABLE = "_lakeprep.forget_requests"
_DOC_TABLES = (
    "bronze.documents",
    "silver.documents",
    "quarantine.silver",
    "silver.dedup_clusters",
    "silver.minhash_index",
    "gold.chunks",
    "quarantine.gold",
)


def checkout(spark: SparkSession, cfg: Config, name: str) -> dict[str, DataFrame]:
    """Every table of tag ``name`` as of its tagged version."""
    tag = get_tag(spark, cfg, name)
    return {t: read_table(spark, cfg.storage.table_path(t), version=v, name=t) for t, v in sorted(tag.tables.items())}


@dataclass(frozen=True)
class DiffRow:
    """Documents added to / removed from one table between two tags."""

    table: str
    version_a: int | None
    version_b: int | None
    added: int
    removed: int
    examples_added: list[str] = field(default_factory=list)
    examples_removed: list[str] = field(default_factory=list)


def diff(spark: SparkSession, cfg: Config, a: str, b: str) -> list[DiffRow]:
    """Per table with a ``doc_id`` column: documents in tag ``b`` and not ``a`` (added) and the reverse."""
    ta, tb = get_tag(spark, cfg, a, allow_revoked=True), get_tag(spark, cfg, b, allow_revoked=True)
    rows = []
    for table in sorted(set(ta.tables) | set(tb.tables)):
        path = cfg.storage.table_path(table)
        frames = {}
        for key, tag in (("a", ta), ("b", tb)):
            v = tag.tables.get(table)
            frames[key] = read_table(spark, path, version=v, name=table) if v is not None else None
        sample = frames["a"] if frames["a"] is not None else frames["b"]
        if sample is None or "doc_id" not in sample.columns:
            continue
        ids = {k: (f.select("doc_id").distinct() if f is not None else spark.createDataFrame([], "doc_id string")) for k, f in frames.items()}
        added = ids["b"].join(ids["a"], on="doc_id", how="left_anti")
        removed = ids["a"].join(ids["b"], on="doc_id", how="left_anti")
        rows.append(
            DiffRow(
                table, ta.tables.get(table), tb.tables.get(table), added.count(), removed.count(),
                [r[0] for r in added.orderBy("doc_id").limit(3).collect()],
                [r[0] for r in removed.orderBy("doc_id").limit(3).collect()],
            )
        )
    return rows


@dataclass(frozen=True)
class VacuumRow:
    """What vacuum did (or would do) to one table."""

    table: str
    oldest_needed_version: int
    protected_by: list[str]
    safe_retain_hours: int
    retain_hours: int
    vacuumed: bool


def vacuum(
    spark: SparkSession, cfg: Config, *, retain_hours: int | None = None, force: bool = False, dry_run: bool = False, wait: bool = False,
    lite: bool = False,
) -> list[VacuumRow]:
    """VACUUM every table, keeping the files of every version a live tag or a publication still needs.

    The safe retention of a table is the age of the commit of its oldest protected version (rounded up,
    plus one hour). A shorter ``retain_hours`` raises :class:`LakeprepError` naming the tags it would
    break, unless ``force``. Holds the lake while it runs (:func:`~lakeprep.io.claim.claim_lake`).

    ``lite`` runs ``VACUUM ... LITE``: the files to delete are taken from the Delta log instead of a listing
    of every table folder, which on object storage is the slow part (minutes for the sample lake on s3proxy);
    files no commit ever referenced (left by a write killed mid-way) stay until a full vacuum.
    """
    run_id = f"vacuum-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    with claim_lake(spark, cfg, run_id=run_id, command="vacuum", wait=wait):
        return _vacuum(spark, cfg, retain_hours=retain_hours, force=force, dry_run=dry_run, lite=lite)


_LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
_RETENTION = "delta.deletedFileRetentionDuration"


def _listing_conf(spark: SparkSession) -> dict[str, str]:
    """The number of tasks a full VACUUM lists a table folder with, when the session leaves it at Spark's default.

    Delta lists with ``spark.sql.sources.parallelPartitionDiscovery.parallelism`` tasks, 10,000 by default: on a
    laptop or a small cluster that is 20-40 s of empty tasks per table (3.8 s with 4 tasks, for a table of a few
    files). The shuffle partition count is the session's own measure of how wide a job should be; a value set by
    the user wins."""
    if spark.conf.get(_LISTING_PARALLELISM, None) not in (None, "10000"):
        return {}
    shuffle = str(spark.conf.get("spark.sql.shuffle.partitions", "200"))
    return {_LISTING_PARALLELISM: shuffle} if shuffle.isdigit() else {}


def _vacuum(
    spark: SparkSession, cfg: Config, *, retain_hours: int | None, force: bool, dry_run: bool, lite: bool = False
) -> list[VacuumRow]:
    from lakeprep.schemas import TABLES

    tags = list_tags(spark, cfg, include_revoked=False)
    published = published_versions(spark, cfg)
    now = datetime.now(timezone.utc)
    plan: list[VacuumRow] = []
    problems: list[str] = []
    for table in TABLES:
        path = cfg.storage.table_path(table)
        if not table_exists(spark, path):
            continue
        needed: dict[int, list[str]] = {}
        for t in tags:
            if table in t.tables:
                needed.setdefault(t.tables[table], []).append(t.name)
        if table in published:
            needed.setdefault(published[table], []).append("published")
        oldest = min(needed) if needed else latest_version(spark, path)
        safe = 0  # an unprotected table only needs its current version, which VACUUM never touches: no commit time
        if needed:
            entry = commit_entry(spark, path, oldest)  # reads the commits from that one on, not the whole history
            if entry is None:
                raise LakeprepError(
                    f"vacuum refused: the Delta log of {table} no longer holds v{oldest}, which {', '.join(needed[oldest])} "
                    "needs; its commit time cannot be known. Revoke or drop those tags (`lakeprep tag --help`) and run vacuum again."
                )
            committed = entry.timestamp.replace(tzinfo=timezone.utc) if entry.timestamp.tzinfo is None else entry.timestamp
            safe = max(0, math.ceil((now - committed).total_seconds() / 3600) + 1)
        use = safe if retain_hours is None else retain_hours
        if use < safe:
            problems.append(
                f"{table}: --retain-hours {use} would delete files of v{oldest} (committed {committed:%Y-%m-%d %H:%M} UTC), "
                f"still needed by {', '.join(needed.get(oldest, []))}; the shortest safe retention is {safe} hours"
            )
        plan.append(VacuumRow(table, oldest, needed.get(oldest, []), safe, use, False))
    if problems and not force:
        raise LakeprepError(
            "vacuum refused:\n  " + "\n  ".join(problems) + "\nKeep the default (safe) retention, revoke or drop those tags, or pass --force."
        )
    out = []
    with session_conf(spark, {"spark.databricks.delta.retentionDurationCheck.enabled": "false", **_listing_conf(spark)}):
        for row in plan:
            if not dry_run:
                # Delta 4 takes the retention from the table property (VACUUM ... RETAIN n HOURS is only honoured for 0)
                path = cfg.storage.table_path(row.table)
                target, retention = quote_path(path), f"interval {row.retain_hours} hours"
                if table_properties(spark, path).get(_RETENTION) != retention:  # no commit when it is already set
                    with commit_metadata(spark, {"operation": "vacuum", "table": row.table, "retain_hours": row.retain_hours}):
                        spark.sql(f"ALTER TABLE {target} SET TBLPROPERTIES ('{_RETENTION}' = '{retention}')")
                spark.sql(f"VACUUM {target}{' LITE' if lite else ''}")
            out.append(VacuumRow(row.table, row.oldest_needed_version, row.protected_by, row.safe_retain_hours, row.retain_hours, not dry_run))
    return out


@dataclass(frozen=True)
class ForgetResult:
    """What a forget request deleted and revoked."""

    request_id: str
    doc_ids: list[str]
    deleted: dict[str, int]
    versions: dict[str, int]
    revoked_tags: list[str]


def _glob_regex(globs: Sequence[str]) -> str:
    # fnmatch's translation, applied to the path part of file: URIs as well as to the URI itself
    return "|".join(f"(?:{fnmatch.translate(g)[4:-3]})" for g in globs)


def forget(
    spark: SparkSession,
    cfg: Config,
    *,
    sources: Sequence[str] = (),
    doc_ids: Sequence[str] = (),
    reason: str,
    request_id: str | None = None,
    wait: bool = False,
) -> ForgetResult:
    """Delete documents (by source path glob or doc id) from every layer; see the module docstring.
    Holds the lake while it runs (:func:`~lakeprep.io.claim.claim_lake`)."""
    request_id = request_id or f"forget-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    with claim_lake(spark, cfg, run_id=request_id, command="forget", wait=wait):
        return _forget(spark, cfg, sources=sources, doc_ids=doc_ids, reason=reason, request_id=request_id)


def _forget(spark: SparkSession, cfg: Config, *, sources: Sequence[str], doc_ids: Sequence[str], reason: str, request_id: str) -> ForgetResult:
    from lakeprep.pipeline.batch import _gold_and_export  # the same gold + MDS path a build takes
    from lakeprep.pipeline.audit import gate_and_publish

    if not sources and not doc_ids:
        raise LakeprepError("forget needs --source GLOB or --doc-id ID")
    bronze_path = cfg.storage.table_path("bronze.documents")
    bronze = read_table(spark, bronze_path, name="bronze.documents")
    cond = F.lit(False)
    if sources:
        pattern = _glob_regex(sources)
        cond = cond | F.regexp_replace("source_path", "^file:", "").rlike(f"^(?:{pattern})$") | F.col("source_path").rlike(f"^(?:{pattern})$")
    if doc_ids:
        cond = cond | F.col("doc_id").isin(*doc_ids)
    hits = bronze.where(cond).select("doc_id", "source_path", "format", "size_bytes", "modification_time").collect()
    ids = sorted({r["doc_id"] for r in hits} | set(doc_ids))
    if not ids:
        raise LakeprepError(f"forget: nothing in bronze.documents matches sources={list(sources)} doc_ids={list(doc_ids)}")
    log.info("forget %s: %d documents (%s)", request_id, len(ids), reason)
    meta = {"run_id": request_id, "layer": "forget", "forget": request_id, "reason": reason}
    view = f"_lakeprep_forget_{uuid.uuid4().hex}"
    spark.createDataFrame([(i,) for i in ids], "doc_id string").createOrReplaceTempView(view)
    deleted: dict[str, int] = {}
    versions: dict[str, int] = {}
    try:
        for table in _DOC_TABLES:
            path = cfg.storage.table_path(table)
            if not table_exists(spark, path):
                continue
            # Delta's DELETE takes no subquery: a delete-only MERGE is one commit all the same
            on = "t.doc_id = s.doc_id" + (" OR t.kept_doc_id = s.doc_id" if table == "silver.dedup_clusters" else "")
            before = latest_version(spark, path)
            with commit_metadata(spark, {**meta, "table": table}):
                spark.sql(f"MERGE INTO {quote_path(path)} t USING {view} s ON {on} WHEN MATCHED THEN DELETE")
            v = latest_version(spark, path)
            n = int(commit_metrics(spark, path, v).get("numTargetRowsDeleted", 0)) if v != before else 0
            deleted[table] = n
            versions[table] = v
    finally:
        spark.catalog.dropTempView(view)
    # files with nothing left in bronze: keep bronze from re-ingesting them while they stay in landing
    hit_paths = sorted({r["source_path"] for r in hits})
    remaining = (
        {r[0] for r in read_table(spark, bronze_path).where(F.col("source_path").isin(*hit_paths)).select("source_path").distinct().collect()}
        if hit_paths
        else set()
    )
    markers = {r["source_path"]: r for r in hits if r["source_path"] not in remaining}
    qpath = cfg.storage.table_path("quarantine.bronze")
    if markers:
        now = datetime.now(timezone.utc)
        rows = [
            (p, r["format"], r["size_bytes"], r["modification_time"], None, [f"forgotten:{request_id}"], None, request_id, now)
            for p, r in sorted(markers.items())
        ]
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in markers)
        with commit_metadata(spark, {**meta, "table": "quarantine.bronze"}):
            spark.sql(f"DELETE FROM {quote_path(qpath)} WHERE source_path IN ({listed})")
        with commit_metadata(spark, {**meta, "table": "quarantine.bronze"}):
            spark.createDataFrame(rows, QUARANTINE_BRONZE).write.format("delta").mode("append").save(qpath)
        versions["quarantine.bronze"] = latest_version(spark, qpath)

    # publish the new versions, rebuild gold and MDS from them
    gate_and_publish(spark, cfg, "bronze", run_id=request_id)
    gate_and_publish(spark, cfg, "silver", run_id=request_id)
    pub = published_versions(spark, cfg)
    _gold_and_export(
        spark, cfg, run_id=request_id, silver_version=pub["silver.documents"], clusters_version=pub["silver.dedup_clusters"],
        tag_name=f"after-{request_id}",
    )

    # tags whose versions still hold forgotten rows
    revoked: list[str] = []
    id_frame = spark.createDataFrame([(i,) for i in ids], "doc_id string")
    for tag in list_tags(spark, cfg, include_revoked=False):
        v = tag.tables.get("bronze.documents")
        if v is None:
            continue
        held = read_table(spark, bronze_path, version=v).join(id_frame, on="doc_id", how="left_semi").limit(1).count()
        if held:
            revoked.append(tag.name)
    revoke_tags(spark, cfg, revoked, reason=f"forget request {request_id}", run_id=request_id)

    audit = cfg.storage.table_path(FORGET_TABLE)
    create_table_if_missing(spark, audit, FORGET_REQUESTS, metadata={**meta, "table": FORGET_TABLE})
    row = (
        request_id, datetime.now(timezone.utc), json.dumps({"source": list(sources), "doc_id": list(doc_ids)}), reason,
        ids, deleted, versions, revoked,
    )
    with commit_metadata(spark, {**meta, "table": FORGET_TABLE}):
        spark.createDataFrame([row], FORGET_REQUESTS).write.format("delta").mode("append").save(audit)
    register_tables(spark, cfg)
    log.info("forget %s: deleted %s; revoked tags %s", request_id, deleted, revoked)
    return ForgetResult(request_id, ids, deleted, versions, revoked)


