"""StructTypes of every table, in one place. Column names are defined here once."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

__all__ = ["BRONZE_DOCUMENTS", "BRONZE_KEYS", "QUARANTINE_BRONZE", "PARSED_FILE", "TABLES"]

BRONZE_DOCUMENTS = StructType(
    [
        StructField("doc_id", StringType(), False),  # stable hash of (source_path, record_index, text)
        StructField("source_path", StringType(), False),  # URI of the landing file
        StructField("record_index", IntegerType(), False),  # 0, or the jsonl line number (1-based)
        StructField("record_id", StringType(), True),  # the jsonl id field, when configured
        StructField("format", StringType(), False),  # txt | md | html | jsonl
        StructField("size_bytes", LongType(), False),  # of the landing file
        StructField("modification_time", TimestampType(), False),  # of the landing file
        StructField("sha256", StringType(), False),  # of the landing file's bytes
        StructField("text", StringType(), False),  # decoded raw text (html kept as html)
        StructField("attributes", StringType(), True),  # other jsonl fields, JSON object
        StructField("ingest_run_id", StringType(), False),
        StructField("ingest_ts", TimestampType(), False),
    ]
)
BRONZE_KEYS: tuple[str, ...] = ("source_path", "record_index")

QUARANTINE_BRONZE = StructType(
    [
        StructField("source_path", StringType(), False),
        StructField("format", StringType(), True),  # null when the extension is not mapped
        StructField("size_bytes", LongType(), False),
        StructField("modification_time", TimestampType(), False),
        StructField("sha256", StringType(), True),  # null when the bytes were never read
        StructField("reject_reasons", ArrayType(StringType(), False), False),
        StructField("excerpt", StringType(), True),  # first characters, decoded leniently, for triage
        StructField("ingest_run_id", StringType(), False),
        StructField("ingest_ts", TimestampType(), False),
    ]
)

# What the parse step (mapInPandas) emits: accepted documents and rejected files in one frame.
PARSED_FILE = StructType(
    [
        StructField("source_path", StringType(), False),
        StructField("format", StringType(), True),
        StructField("size_bytes", LongType(), False),
        StructField("modification_time", TimestampType(), False),
        StructField("sha256", StringType(), True),
        StructField("doc_id", StringType(), True),
        StructField("record_index", IntegerType(), True),
        StructField("record_id", StringType(), True),
        StructField("text", StringType(), True),
        StructField("attributes", StringType(), True),
        StructField("reject_reasons", ArrayType(StringType(), False), True),
        StructField("excerpt", StringType(), True),
    ]
)

TABLES: dict[str, StructType] = {
    "bronze.documents": BRONZE_DOCUMENTS,
    "quarantine.bronze": QUARANTINE_BRONZE,
}
