"""Small snake_case helpers over Delta Lake, through Spark SQL so they also work over Spark Connect.

Every write lakeprep makes goes through :func:`commit_metadata`, so each Delta commit carries a JSON
``userMetadata`` with at least the run id; :func:`history` reads it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegralType, StructType

from lakeprep.faults import commit_point
from lakeprep.errors import LakeprepError, SchemaOutdatedError, SparkSetupError, TableNotFoundError
from lakeprep.io import files

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HistoryEntry",
    "commit_entry",
    "commit_metadata",
    "commit_metrics",
    "create_table_if_missing",
    "ddl_columns",
    "history",
    "latest_version",
    "merge_rows",
    "same_as_stored",
    "quote_path",
    "read_table",
    "session_conf",
    "table_exists",
    "table_properties",
    "to_pandas_if_small",
]

_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


@dataclass(frozen=True)
class HistoryEntry:
    """One Delta commit, as ``lakeprep history`` shows it."""

    version: int
    timestamp: datetime
    operation: str
    run_id: str | None
    metadata: Mapping[str, Any]
    metrics: Mapping[str, str]
    rows: int | None  # rows in the table as of this version

    @property
    def change_summary(self) -> str:
        """Rows written/inserted/updated/deleted, from Delta's operation metrics."""
        m = self.metrics
        parts = []
        for label, key in (
            ("written", "numOutputRows"),
            ("inserted", "numTargetRowsInserted"),
            ("updated", "numTargetRowsUpdated"),
            ("deleted", "numTargetRowsDeleted"),
            ("deleted", "numDeletedRows"),
        ):
            if key in m and not (label == "written" and "numTargetRowsInserted" in m):
                parts.append(f"{label}={m[key]}")
        return " ".join(parts) or "-"


def quote_path(path: str) -> str:
    """``delta.`/the/path``` with backticks escaped, for use in SQL."""
    return "delta.`" + path.replace("`", "``") + "`"


def ddl_columns(schema: StructType) -> str:
    """Column list for CREATE TABLE from a StructType, NOT NULL kept."""
    cols = []
    for f in schema.fields:
        name = "`" + f.name.replace("`", "``") + "`"
        cols.append(f"{name} {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'}")
    return ", ".join(cols)


def _local_log_dir(path: str) -> str | None:
    """The ``_delta_log`` folder of a local table path (None for object storage and other file systems)."""
    if "://" in path and not path.startswith("file:"):
        return None
    return os.path.join(path.removeprefix("file://").removeprefix("file:"), "_delta_log")


def _log_names(path: str) -> list[str] | None:
    """The file names in a table's ``_delta_log`` as this process sees them: a local folder's listing, or one
    LIST request for object storage (boto3, the credentials :mod:`lakeprep.io.files` uses). None when the
    folder cannot be listed here (another file system, no credentials, an error): then Spark is asked."""
    local = _local_log_dir(path)
    try:
        if local is not None:
            return os.listdir(local)
        if files.is_object_store(path):
            return files.list_children(files.join(path, "_delta_log"))
    except (OSError, LakeprepError):
        return None
    return None


def _listed_latest_version(path: str) -> int | None:
    """The newest version of a table from the names in its ``_delta_log`` (no Spark query), or None when the
    folder cannot be listed here (see :func:`_log_names`) or holds no commit file.

    A commit is ``<20 digits>.json``, written whole (Delta writes a hidden temporary file and renames it, or a
    single PUT on object storage), and log clean-up never removes the newest one; compacted logs and
    checkpoints have other names."""
    names = _log_names(path)
    versions = [int(n[:20]) for n in names or () if len(n) == 25 and n.endswith(".json") and n[:20].isdigit()]
    return max(versions) if versions else None


def _listed_log_has_commits(path: str) -> bool:
    """Whether ``path``'s ``_delta_log``, listed here (see :func:`_log_names`), holds a commit or a checkpoint
    (no Spark query). False also when it cannot be listed: the caller then asks Spark."""
    return any(n[:1].isdigit() and (n.endswith(".json") or ".checkpoint." in n) for n in _log_names(path) or ())


def table_exists(spark: SparkSession, path: str) -> bool:
    """True if ``path`` holds a Delta table.

    A table is recognised from the listing of its ``_delta_log`` (a build asks dozens of times; each Spark
    query costs a job, and over object storage a dozen requests); where the log cannot be listed here or
    lists no commit (a path this process does not see, as with a remote Spark Connect server), Spark is asked."""
    if _listed_log_has_commits(path):
        return True
    try:
        spark.sql(f"DESCRIBE HISTORY {quote_path(path)} LIMIT 1").collect()
        return True
    except AnalysisException as exc:
        _raise_if_delta_missing(exc)
        return False


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The table properties of the Delta table at ``path`` (``SHOW TBLPROPERTIES``)."""
    return {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {quote_path(path)}").collect()}


@contextlib.contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """Set runtime SQL settings for the block and restore the previous values afterwards."""
    previous = {k: spark.conf.get(k, None) for k in settings}
    for k, v in settings.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def same_as_stored(a: object, b: object) -> bool:
    """Whether two values are equal as commit metadata stores them (JSON: tuples come back as lists)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@contextlib.contextmanager
def commit_metadata(spark: SparkSession, metadata: Mapping[str, Any]) -> Iterator[str]:
    """Within the block, every Delta commit of this session records ``metadata`` (JSON) as userMetadata.

    The block is a commit point for crash tests (:mod:`lakeprep.faults`), named by ``metadata["table"]``."""
    blob = json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"))
    table = str(metadata.get("table", "?")) if metadata.get("operation") != "heartbeat" else ""
    if table:
        commit_point("before", table)
    with session_conf(spark, {_USER_METADATA: blob}):
        yield blob
    if table:
        commit_point("after", table)


def create_table_if_missing(
    spark: SparkSession,
    path: str,
    schema: StructType,
    *,
    metadata: Mapping[str, Any],
    properties: Mapping[str, str] | None = None,
) -> bool:
    """Create an empty Delta table at ``path`` (one commit carrying ``metadata``). True if created.

    An existing table must have every column of ``schema``; else :class:`SchemaOutdatedError`."""
    if table_exists(spark, path):
        have = set(spark.read.format("delta").load(path).columns)
        missing = [f.name for f in schema.fields if f.name not in have]
        if missing:
            raise SchemaOutdatedError(
                f"the Delta table at {path} lacks columns {missing}: it was written by an older lakeprep. "
                "Rebuild this layer from its inputs into a new storage.root (or drop the table and run the build again)."
            )
        return False
    props = {"delta.appendOnly": "false", **(properties or {})}
    tblprops = ", ".join(f"'{k}' = '{v}'" for k, v in props.items())
    with commit_metadata(spark, metadata):
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {quote_path(path)} ({ddl_columns(schema)}) USING DELTA TBLPROPERTIES ({tblprops})"
        )
    return True


def read_table(spark: SparkSession, path: str, *, version: int | None = None, name: str | None = None) -> DataFrame:
    """Read a Delta table, optionally as of ``version`` (time travel)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    try:
        df = reader.load(path)
        df.schema  # noqa: B018 - forces analysis so a missing table fails here, with our message
        return df
    except AnalysisException as exc:
        _raise_if_delta_missing(exc)
        raise TableNotFoundError(
            f"no Delta table {name or ''} at {path}{f' version {version}' if version is not None else ''}: "
            "run `lakeprep build` (or `make run`) first"
        ) from None


def to_pandas_if_small(frame: DataFrame, max_rows: int) -> pd.DataFrame | None:
    """``frame`` as a pandas DataFrame when it has at most ``max_rows`` rows, else None (also for
    ``max_rows <= 0``). One Spark job that fetches at most ``max_rows + 1`` rows; a larger frame's rows are
    fetched only to be dropped, so the caller goes on with Spark. An integer column with nulls, which Arrow
    hands over as float64, comes back as pandas' nullable ``Int64`` (7, not 7.0)."""
    if max_rows <= 0:
        return None
    local = frame.limit(max_rows + 1).toPandas()
    if len(local) > max_rows:
        return None
    integral = [f.name for f in frame.schema.fields if isinstance(f.dataType, IntegralType) and local[f.name].dtype.kind == "f"]
    return local.astype({name: "Int64" for name in integral}) if integral else local


def history(
    spark: SparkSession, path: str, *, name: str | None = None, with_row_counts: bool = True, limit: int | None = None
) -> list[HistoryEntry]:
    """Commits of a Delta table, oldest first, with run ids parsed from userMetadata; only the newest ``limit``
    when given. ``with_row_counts`` counts the rows at each returned version (one time-travel query apiece:
    pass a ``limit`` where only the newest are shown, so a table with a long history is not counted at every
    version)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if not table_exists(spark, path):
        raise TableNotFoundError(f"no Delta table {name or ''} at {path}: run `lakeprep build` (or `make run`) first")
    newest = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = (
        spark.sql(f"DESCRIBE HISTORY {quote_path(path)}{newest}")
        .select("version", "timestamp", "operation", "userMetadata", "operationMetrics")
        .orderBy("version")
        .collect()
    )
    out = []
    for r in rows:
        meta: dict[str, Any] = {}
        if r["userMetadata"]:
            try:
                meta = json.loads(r["userMetadata"])
            except json.JSONDecodeError:
                meta = {"userMetadata": r["userMetadata"]}
        count = None
        if with_row_counts:
            count = spark.sql(f"SELECT count(*) AS n FROM {quote_path(path)} VERSION AS OF {int(r['version'])}").first()["n"]
        out.append(
            HistoryEntry(
                version=int(r["version"]),
                timestamp=r["timestamp"],
                operation=r["operation"],
                run_id=meta.get("run_id"),
                metadata=meta,
                metrics=dict(r["operationMetrics"] or {}),
                rows=count,
            )
        )
    return out


def commit_entry(spark: SparkSession, path: str, version: int) -> HistoryEntry | None:
    """One commit of the Delta table at ``path`` (None when its log no longer holds it). Only the commits from
    ``version`` to the newest are read, not the whole history: callers ask for recent ones."""
    newer = latest_version(spark, path) - version + 1
    if newer < 1:
        return None
    return next((e for e in history(spark, path, with_row_counts=False, limit=newer) if e.version == version), None)


def commit_metrics(spark: SparkSession, path: str, version: int) -> dict[str, str]:
    """Delta's operation metrics of one commit (e.g. ``numTargetRowsInserted`` of a MERGE the caller just made)."""
    entry = commit_entry(spark, path, version)
    return entry.metrics if entry is not None else {}


def latest_version(spark: SparkSession, path: str) -> int:
    """The newest version of the Delta table at ``path``: from the names in its ``_delta_log`` where this process
    can list it (a local folder; one LIST request on object storage), else ``DESCRIBE HISTORY``. A build asks
    ~40 times; each ``DESCRIBE HISTORY`` is a query, and over object storage a dozen requests."""
    local = _listed_latest_version(path)
    if local is not None:
        return local
    return int(spark.sql(f"DESCRIBE HISTORY {quote_path(path)} LIMIT 1").first()["version"])


def merge_rows(
    spark: SparkSession,
    path: str,
    *,
    upserts: DataFrame | None,
    deletes: DataFrame | None,
    keys: tuple[str, ...],
    columns: list[str],
    metadata: Mapping[str, Any],
    insert_only: bool = False,
) -> int | None:
    """One MERGE commit: upsert ``upserts`` by ``keys`` and delete rows whose keys are in ``deletes``.

    ``insert_only`` (append-only tables such as quarantines): rows whose keys are already there are left
    as they are, so writing the same rows twice adds nothing.

    Returns the new version, or None when there was nothing to do (no empty commit is made).
    Runs through Spark SQL (``MERGE INTO``) so it also works over Spark Connect. Into a table with no data
    file yet (a first build) the rows are appended instead: a MERGE there could only insert, at the cost
    of a join and several more Spark jobs.
    """
    if upserts is not None and _is_empty_table(spark, path):
        rows = upserts.select(*columns)
        if rows.isEmpty():
            return None
        with commit_metadata(spark, metadata):
            rows.write.format("delta").mode("append").save(path)
        return latest_version(spark, path)
    parts = []
    if upserts is not None and insert_only:  # only rows not there yet: no empty commit when all are
        upserts = upserts.select(*columns).join(read_table(spark, path).select(*keys), on=list(keys), how="left_anti")
    if upserts is not None:
        parts.append(upserts.select(*columns).withColumn("_op", F.lit("upsert")))
    if deletes is not None:
        parts.append(deletes.select(*keys).withColumn("_op", F.lit("delete")))
    if not parts:
        return None
    source = parts[0]
    for part in parts[1:]:
        source = source.unionByName(part, allowMissingColumns=True)
    if source.isEmpty():
        return None
    view = f"_lakeprep_merge_{uuid.uuid4().hex}"
    source.createOrReplaceTempView(view)
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in columns)
    cols = ", ".join(f"`{c}`" for c in columns)
    vals = ", ".join(f"s.`{c}`" for c in columns)
    matched = "" if insert_only else f"WHEN MATCHED AND s._op = 'delete' THEN DELETE WHEN MATCHED THEN UPDATE SET {sets} "
    if insert_only and deletes is not None:
        raise ValueError("an insert-only merge deletes nothing")
    try:
        with commit_metadata(spark, metadata):
            spark.sql(
                f"MERGE INTO {quote_path(path)} t USING {view} s ON {on} {matched}"
                f"WHEN NOT MATCHED AND s._op = 'upsert' THEN INSERT ({cols}) VALUES ({vals})"
            )
    finally:
        spark.catalog.dropTempView(view)
    return latest_version(spark, path)


def _is_empty_table(spark: SparkSession, path: str) -> bool:
    """Whether the Delta table at ``path`` has no data files (from its log: ``DESCRIBE DETAIL``)."""
    return int(spark.sql(f"DESCRIBE DETAIL {quote_path(path)}").select("numFiles").first()["numFiles"]) == 0


def _raise_if_delta_missing(exc: AnalysisException) -> None:
    text = str(exc)
    if "DATA_SOURCE_NOT_FOUND" in text or "delta.DefaultSource" in text:
        raise SparkSetupError(
            "Delta Lake is not on this Spark session's classpath. Use lakeprep.session.get_spark(), or pass "
            "`--packages $(python -m lakeprep.session --packages)` and "
            "`$(python -m lakeprep.session --conf-args)` to spark-submit."
        ) from exc
