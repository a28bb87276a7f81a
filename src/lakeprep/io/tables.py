"""Documents that already live in a table (``bronze.source``): a Delta table by version, Parquet by file.

**Delta** (a path or a catalog name). The version a bronze commit ingested is recorded in that commit's
``userMetadata`` (``source_version``), so the bookkeeping is bronze's own history, like the file states of
the landing directory. A run reads the rows changed since then from the Change Data Feed when the source
has it, and otherwise compares a snapshot with what bronze holds; either way only new or changed rows are
upserted and deleted rows are deleted. A document is ``<table>#<id>`` in ``source_path``, with
``record_id`` = the id; ``modification_time`` is the commit time of the version read.

**Parquet** (a folder of files). A file is a container of records, like a ``.jsonl`` file: it is accounted
for by its path, size and modification time (Spark's ``_metadata`` columns), only new or changed files
are read, each row is a document (``record_index`` = row number + 1), and a file with a bad row is
rejected whole with the row numbers.

Rows are rejected with ``table_missing_id`` (no id), ``empty_text`` (no text) or
``unsupported_format:<value>`` (a format other than txt, md, html).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from lakeprep.config import TEXT_FORMATS, TableSourceConfig
from lakeprep.errors import LandingError
from lakeprep.io.delta import quote_path
from lakeprep.io.formats import MAX_REASONS, doc_id_for
from lakeprep.schemas import PARSED_FILE

__all__ = ["SourceRead", "read_delta_source", "read_parquet_source", "source_key"]


@dataclass(frozen=True)
class SourceRead:
    """What a run takes from the source: rows in the ``PARSED_FILE`` shape, bronze keys to delete, and
    (Delta) the version read, recorded in the bronze commit."""

    parsed: DataFrame
    deletes: DataFrame | None
    version: int | None
    mode: str  # "snapshot" | "change_feed" | "files"


def source_key(src: TableSourceConfig) -> str:
    """The source as it is recorded in commits and in ``source_path`` (a path made absolute, or the name)."""
    return src.location


def _ref(src: TableSourceConfig) -> str:
    return quote_path(src.location) if src.is_path else src.location


def _load(spark: SparkSession, src: TableSourceConfig, **options: str) -> DataFrame:
    reader = spark.read.format("delta").options(**options)
    try:
        df = reader.load(src.location) if src.is_path else reader.table(src.location)
        df.schema  # noqa: B018 - analyse now, so a missing table fails here with our message
        return df
    except AnalysisException as exc:
        raise LandingError(f"cannot read bronze.source.table {src.table!r} as a Delta table: {exc}") from None


def read_delta_source(
    spark: SparkSession, src: TableSourceConfig, *, since_version: int | None, bronze: DataFrame, quarantine: DataFrame
) -> SourceRead | None:
    """Rows of ``src`` changed after ``since_version`` (all rows when None); None when nothing changed."""
    head = spark.sql(f"DESCRIBE HISTORY {_ref(src)} LIMIT 1").select("version", "timestamp").first()
    version, committed = int(head["version"]), head["timestamp"]
    if since_version is not None and version <= since_version:
        return None
    prefix = source_key(src) + "#"
    changes = _change_feed(spark, src, since_version, version) if since_version is not None else None
    if changes is not None:
        upserts = changes.where(F.col("_change_type") != "delete")
        gone = changes.where(F.col("_change_type") == "delete").select(_id_col(src).alias("_id"))
        mode = "change_feed"
    else:
        upserts = _load(spark, src, versionAsOf=str(version))
        mine = bronze.where(F.col("source_path").startswith(prefix)).select("source_path")
        present = upserts.select(F.concat(F.lit(prefix), _id_col(src)).alias("source_path"))
        gone = mine.join(present, on="source_path", how="left_anti").select(F.substring("source_path", len(prefix) + 1, 1 << 30).alias("_id"))
        mode = "snapshot"
    rows = upserts.select(
        F.concat(F.lit(prefix), F.coalesce(_id_col(src), F.lit("<null id>"))).alias("source_path"),
        F.lit(0).alias("record_index"),
        _id_col(src).alias("record_id"),
        F.col(f"`{src.text}`").cast("string").alias("text"),
        _format_col(src).alias("format"),
        F.lit(committed).cast("timestamp").alias("modification_time"),
        F.coalesce(F.octet_length(F.col(f"`{src.text}`").cast("string")), F.lit(0)).alias("size_bytes"),
    )
    parsed = _with_reasons(rows, id_required=True)
    # only what bronze / quarantine do not already hold: an unchanged row is neither rewritten nor re-quarantined
    parsed = parsed.join(bronze.select("doc_id"), on="doc_id", how="left_anti").join(
        quarantine.select("source_path", "sha256"), on=["source_path", "sha256"], how="left_anti"
    )
    deletes = gone.select(F.concat(F.lit(prefix), F.col("_id")).alias("source_path"), F.lit(0).alias("record_index"))
    # a row now rejected leaves bronze (as a landing file whose new version is quarantined does)
    rejected = parsed.where(F.col("reject_reasons").isNotNull()).select("source_path", F.lit(0).alias("record_index"))
    return SourceRead(parsed=parsed, deletes=deletes.unionByName(rejected), version=version, mode=mode)


def _change_feed(spark: SparkSession, src: TableSourceConfig, since: int, until: int) -> DataFrame | None:
    """The last change of each id between the two versions, or None when the feed cannot give them."""
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {_ref(src)}").collect()}
    if props.get("delta.enableChangeDataFeed", "false").lower() != "true":
        return None
    try:
        feed = _load(spark, src, readChangeFeed="true", startingVersion=str(since + 1), endingVersion=str(until))
        feed = feed.where(F.col("_change_type").isin("insert", "update_postimage", "delete"))
        feed.limit(1).collect()  # the feed was enabled after `since`: Delta refuses the range here
    except Exception:  # noqa: BLE001 - fall back to a snapshot comparison, which is always right
        return None
    last = Window.partitionBy(_id_col(src)).orderBy(
        F.col("_commit_version").desc(), F.when(F.col("_change_type") == "delete", 1).otherwise(0)
    )
    return feed.withColumn("_n", F.row_number().over(last)).where("_n = 1").drop("_n")


def read_parquet_source(spark: SparkSession, src: TableSourceConfig, *, accounted: DataFrame) -> SourceRead:
    """Rows of the Parquet files that are new or changed (not in ``accounted``: source_path, size_bytes,
    modification_time), one document per row; a file with a bad row is rejected whole."""
    try:
        raw = spark.read.parquet(src.location)
        raw.schema  # noqa: B018
    except AnalysisException as exc:
        raise LandingError(f"cannot read bronze.source.table {src.table!r} as Parquet: {exc}") from None
    rows = raw.select(
        F.col("_metadata.file_path").alias("source_path"),
        F.col("_metadata.file_size").alias("size_bytes"),
        F.col("_metadata.file_modification_time").alias("modification_time"),
        (F.col("_metadata.row_index") + 1).cast("int").alias("record_index"),
        (_id_col(src) if src.id else F.lit(None).cast("string")).alias("record_id"),
        F.col(f"`{src.text}`").cast("string").alias("text"),
        _format_col(src).alias("format"),
    ).join(accounted, on=["source_path", "size_bytes", "modification_time"], how="left_anti")
    checked = _with_reasons(rows, id_required=bool(src.id))
    reason = F.concat(F.lit("row "), F.col("record_index").cast("string"), F.lit(": "), F.col("reject_reasons")[0])
    files = checked.groupBy("source_path", "size_bytes", "modification_time").agg(
        F.collect_list(F.when(F.col("reject_reasons").isNotNull(), F.struct("record_index", reason.alias("r")))).alias("_bad")
    )
    bad_files = files.where(F.size("_bad") > 0).select(
        "source_path",
        "size_bytes",
        "modification_time",
        F.transform(F.slice(F.array_sort("_bad"), 1, MAX_REASONS), lambda x: x["r"]).alias("reject_reasons"),
        F.size("_bad").alias("_n_bad"),
    )
    reasons = F.when(
        F.col("_n_bad") > MAX_REASONS,
        F.concat(F.col("reject_reasons"), F.array(F.concat(F.lit("more_reasons:"), (F.col("_n_bad") - MAX_REASONS).cast("string"), F.lit(" more problems not listed")))),
    ).otherwise(F.col("reject_reasons"))
    rejected = bad_files.select(
        "source_path", F.lit("parquet").alias("format"), "size_bytes", "modification_time",
        *[F.lit(None).cast(PARSED_FILE[c].dataType).alias(c) for c in ("sha256", "doc_id", "record_index", "record_id", "text", "attributes")],
        reasons.alias("reject_reasons"), F.lit(None).cast("string").alias("excerpt"), F.lit(None).cast(PARSED_FILE["notes"].dataType).alias("notes"),
    )  # fmt: skip
    good = checked.join(bad_files.select("source_path"), on="source_path", how="left_anti")
    return SourceRead(parsed=good.unionByName(rejected).select(*PARSED_FILE.fieldNames()), deletes=None, version=None, mode="files")


def _id_col(src: TableSourceConfig) -> Column:
    return F.col(f"`{src.id}`").cast("string")


def _format_col(src: TableSourceConfig) -> Column:
    return F.lit(src.format) if src.format in TEXT_FORMATS else F.lower(F.col(f"`{src.format}`").cast("string"))


def _with_reasons(rows: DataFrame, *, id_required: bool) -> DataFrame:
    """``rows`` (source_path, record_index, record_id, text, format, modification_time, size_bytes) in the
    ``PARSED_FILE`` shape, with ``reject_reasons`` for bad rows (their document columns left null)."""
    reasons = F.filter(
        F.array(
            F.when(F.col("record_id").isNull(), F.lit("table_missing_id")) if id_required else F.lit(None).cast("string"),
            F.when(F.col("text").isNull() | (F.trim("text") == ""), F.lit("empty_text")),
            F.when(~F.coalesce(F.col("format"), F.lit("")).isin(*TEXT_FORMATS), F.concat(F.lit("unsupported_format:"), F.coalesce("format", F.lit("null")))),
        ),
        lambda x: x.isNotNull(),
    )
    ok = F.size("_reasons") == 0
    return rows.withColumn("_reasons", reasons).select(
        "source_path",
        F.coalesce("format", F.lit("table")).alias("format"),
        F.col("size_bytes").cast("long").alias("size_bytes"),
        "modification_time",
        F.sha2(F.coalesce("text", F.lit("")), 256).alias("sha256"),
        F.when(ok, _doc_id(F.col("source_path"), F.col("record_index"), F.col("text"))).alias("doc_id"),
        F.col("record_index").cast("int").alias("record_index"),
        "record_id",
        F.when(ok, F.col("text")).alias("text"),
        F.lit(None).cast("string").alias("attributes"),
        F.when(~ok, F.col("_reasons")).alias("reject_reasons"),
        F.when(~ok, F.substring(F.coalesce("text", F.lit("")), 1, 200)).alias("excerpt"),
        F.lit(None).cast(PARSED_FILE["notes"].dataType).alias("notes"),
    )


@F.pandas_udf(StringType())  # type: ignore[call-overload]
def _doc_id(paths: pd.Series, indexes: pd.Series, texts: pd.Series) -> pd.Series:
    """:func:`~lakeprep.io.formats.doc_id_for`, so a table row's id is made like a file's."""
    return pd.Series([doc_id_for(p, int(i), t) if isinstance(t, str) else None for p, i, t in zip(paths, indexes, texts)])

