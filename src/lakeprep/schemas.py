"""StructTypes of every table, in one place. Column names are defined here once."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

__all__ = [
    "BRONZE_DOCUMENTS",
    "BRONZE_KEYS",
    "CHUNK_FIELDS",
    "DEDUP_CLUSTERS",
    "GOLD_CHUNKS",
    "TRAINING_SEQUENCES",
    "MINHASH_INDEX",
    "PARSED_FILE",
    "QUALITY_SIGNAL_FIELDS",
    "LANGUAGE_FIELDS",
    "QUARANTINE_BRONZE",
    "QUARANTINE_GOLD",
    "QUARANTINE_SILVER",
    "SILVER_DOCUMENTS",
    "TAGS",
    "FORGET_REQUESTS",
    "TABLES",
    "conform",
    "schema_of",
    "without",
]

BRONZE_DOCUMENTS = StructType(
    [
        StructField("doc_id", StringType(), False),  # stable hash of (source_path, record_index, text)
        StructField("source_path", StringType(), False),  # URI of the landing file
        StructField("record_index", IntegerType(), False),  # 0, or the jsonl line number (1-based)
        StructField("record_id", StringType(), True),  # the jsonl id field, when configured
        StructField("format", StringType(), False),  # of the text: txt | md | html | jsonl | pdf | docx | pptx (warc records: html | txt)
        StructField("size_bytes", LongType(), False),  # of the landing file
        StructField("modification_time", TimestampType(), False),  # of the landing file
        StructField("sha256", StringType(), False),  # of the landing file's bytes
        StructField("text", StringType(), False),  # decoded raw text (html kept as html; pdf/docx/pptx as extracted text)
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
        StructField("notes", MapType(StringType(), IntegerType(), False), True),  # container counts (WARC), first row of a file
    ]
)

# Quality signals (lakeprep.text.quality.QualitySignals), kept as columns in silver and its quarantine.
QUALITY_SIGNAL_FIELDS = [
    StructField("char_count", IntegerType(), False),
    StructField("word_count", IntegerType(), False),
    StructField("mean_word_length", DoubleType(), False),
    StructField("symbol_word_ratio", DoubleType(), False),
    StructField("alpha_word_fraction", DoubleType(), False),
    StructField("duplicate_line_fraction", DoubleType(), False),
    StructField("duplicate_paragraph_fraction", DoubleType(), False),
    StructField("duplicate_line_char_fraction", DoubleType(), False),
    StructField("duplicate_paragraph_char_fraction", DoubleType(), False),
    StructField("bullet_line_fraction", DoubleType(), False),
    StructField("ellipsis_line_fraction", DoubleType(), False),
    StructField("prose_word_count", IntegerType(), False),
    StructField("code_fraction", DoubleType(), False),
    StructField("code_block_count", IntegerType(), False),
    StructField("max_code_line_length", IntegerType(), False),
]

# Language of the prose (lakeprep.text.lang): ISO 639 code or "und", and the model's probability.
LANGUAGE_FIELDS = [
    StructField("lang", StringType(), False),
    StructField("lang_score", DoubleType(), False),
]

SILVER_DOCUMENTS = StructType(
    [
        StructField("doc_id", StringType(), False),
        StructField("source_path", StringType(), False),
        StructField("record_index", IntegerType(), False),
        StructField("record_id", StringType(), True),
        StructField("format", StringType(), False),
        StructField("text", StringType(), False),  # normalized; HTML extracted to Markdown-like text
        StructField("content_hash", StringType(), False),
        *QUALITY_SIGNAL_FIELDS,
        *LANGUAGE_FIELDS,
        StructField("pii_counts", MapType(StringType(), IntegerType(), False), False),  # PII spans masked, by type
        StructField("attributes", StringType(), True),
        StructField("ingest_ts", TimestampType(), False),  # from bronze: decides which duplicate is kept
        StructField("ingest_run_id", StringType(), False),
        StructField("silver_run_id", StringType(), False),
    ]
)

# Documents silver rejected for quality. No text: raw text stays in bronze (PII is masked after bronze).
QUARANTINE_SILVER = StructType(
    [
        StructField("doc_id", StringType(), False),
        StructField("source_path", StringType(), False),
        StructField("reject_reasons", ArrayType(StringType(), False), False),
        *QUALITY_SIGNAL_FIELDS,
        *LANGUAGE_FIELDS,
        StructField("pii_counts", MapType(StringType(), IntegerType(), False), False),
        StructField("silver_run_id", StringType(), False),
        StructField("processed_ts", TimestampType(), False),
    ]
)

# Every document that took part in a duplicate cluster, with the one kept for it (itself, if kept).
DEDUP_CLUSTERS = StructType(
    [
        StructField("doc_id", StringType(), False),
        StructField("cluster_id", StringType(), False),  # exact:<content_hash> or near:<smallest doc_id>
        StructField("kept_doc_id", StringType(), False),
        StructField("method", StringType(), False),  # exact | near
        StructField("similarity", DoubleType(), False),  # estimated Jaccard to a matched doc (1.0 exact)
        StructField("silver_run_id", StringType(), False),
    ]
)

# MinHash signatures and LSH band hashes of the kept silver documents (the incremental index).
MINHASH_INDEX = StructType(
    [
        StructField("doc_id", StringType(), False),
        StructField("signature", ArrayType(IntegerType(), False), False),  # uint32 values stored as int32
        StructField("bands", ArrayType(LongType(), False), False),
        StructField("silver_run_id", StringType(), False),
    ]
)

# RAG chunks: Change Data Feed on, chunk_id the primary key (a vector index Delta-Syncs from here).
# What explode_chunks emits for each chunk (gold.chunks adds source_path, split and the run id).
CHUNK_FIELDS = [
    StructField("chunk_id", StringType(), False),  # sha256(doc_id, chunk_index, text)[:32]
    StructField("doc_id", StringType(), False),
    StructField("chunk_index", IntegerType(), False),
    StructField("text", StringType(), False),
    StructField("token_count", IntegerType(), False),  # of text, re-encoded on its own
    StructField("char_start", IntegerType(), False),  # text == silver text[char_start:char_end] (code points)
    StructField("char_end", IntegerType(), False),
    StructField("section_path", ArrayType(StringType(), False), False),  # headings, outermost first
    StructField("page_start", IntegerType(), True),  # 1-based page (slide) of the first character: pdf, pptx
    StructField("page_end", IntegerType(), True),  # ... and of the last; null for formats without pages
]
GOLD_CHUNKS = StructType(
    [
        *CHUNK_FIELDS,
        StructField("source_path", StringType(), False),
        StructField("split", StringType(), False),  # train | val | test, shared by the whole document
        StructField("gold_run_id", StringType(), False),
    ]
)

# Packed training sequences (every one exactly seq_len tokens; the incomplete tail of a split is dropped).
TRAINING_SEQUENCES = StructType(
    [
        StructField("split", StringType(), False),
        StructField("seq_index", LongType(), False),  # 0.. within the split; sample index in the MDS export
        StructField("tokens", ArrayType(IntegerType(), False), False),  # token ids (uint32 values < 2**31)
        StructField("num_tokens", IntegerType(), False),
        StructField("doc_ids", ArrayType(StringType(), False), False),  # documents with tokens in it, in order
        StructField("gold_run_id", StringType(), False),
    ]
)

# Chunks dropped by a row rule (no text: the chunk is in silver's text at char_start:char_end).
QUARANTINE_GOLD = StructType(
    [
        StructField("chunk_id", StringType(), False),
        StructField("doc_id", StringType(), False),
        StructField("chunk_index", IntegerType(), False),
        StructField("source_path", StringType(), False),
        StructField("token_count", IntegerType(), False),
        StructField("char_start", IntegerType(), False),
        StructField("char_end", IntegerType(), False),
        StructField("reject_reasons", ArrayType(StringType(), False), False),
        StructField("gold_run_id", StringType(), False),
        StructField("processed_ts", TimestampType(), False),
    ]
)

# Publications and tags: one row per (tag, table). kind: publish (a layer passed its gate; downstream reads
# the newest publish row of a table), build (the consistent set a successful build produced), named.
TAGS = StructType(
    [
        StructField("tag", StringType(), False),
        StructField("kind", StringType(), False),  # publish | build | named
        StructField("table_name", StringType(), False),
        StructField("version", LongType(), False),
        StructField("run_id", StringType(), False),
        StructField("created_ts", TimestampType(), False),
        StructField("mds_manifest", StringType(), True),  # JSON of the MDS manifest at tag time
        StructField("note", StringType(), True),
        StructField("revoked", StringType(), True),  # null, or why the tag must not be used (e.g. a forget request)
    ]
)

# Runs that claimed the lake (one writer at a time; lakeprep.io.claim): the live claim is state = running.
RUNS = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("command", StringType(), False),  # build | rebuild | forget | vacuum | tag
        StructField("host", StringType(), False),
        StructField("pid", IntegerType(), False),
        StructField("started_ts", TimestampType(), False),
        StructField("heartbeat_ts", TimestampType(), False),
        StructField("ended_ts", TimestampType(), True),
        StructField("state", StringType(), False),  # running | succeeded | failed | interrupted
        StructField("message", StringType(), True),  # the error of a failed run, who took over an interrupted one
    ]
)

# Right-to-be-forgotten requests, for audit: what was asked, what was deleted where, which tags were revoked.
FORGET_REQUESTS = StructType(
    [
        StructField("request_id", StringType(), False),
        StructField("requested_ts", TimestampType(), False),
        StructField("selector", StringType(), False),  # JSON: {"source": [...], "doc_id": [...]}
        StructField("reason", StringType(), True),
        StructField("doc_ids", ArrayType(StringType(), False), False),
        StructField("deleted", MapType(StringType(), LongType(), False), False),  # table -> rows deleted
        StructField("versions", MapType(StringType(), LongType(), False), False),  # table -> version after delete
        StructField("revoked_tags", ArrayType(StringType(), False), False),
    ]
)

TABLES: dict[str, StructType] = {
    "bronze.documents": BRONZE_DOCUMENTS,
    "quarantine.bronze": QUARANTINE_BRONZE,
    "silver.documents": SILVER_DOCUMENTS,
    "quarantine.silver": QUARANTINE_SILVER,
    "silver.dedup_clusters": DEDUP_CLUSTERS,
    "silver.minhash_index": MINHASH_INDEX,
    "gold.chunks": GOLD_CHUNKS,
    "gold.training_sequences": TRAINING_SEQUENCES,
    "quarantine.gold": QUARANTINE_GOLD,
    "_lakeprep.tags": TAGS,
    "_lakeprep.forget_requests": FORGET_REQUESTS,
}


def schema_of(ddl: Mapping[str, DataType]) -> StructType:
    """A StructType of nullable fields, built locally (a DDL string would be parsed by the Spark server)."""
    return StructType([StructField(name, dtype, True) for name, dtype in ddl.items()])


def conform(df: DataFrame, schema: StructType) -> DataFrame:
    """``df`` cut to ``schema``'s columns, cast to its types, with the schema known to the client.

    Spark Connect's ``mapInPandas`` reads its input's column names, an analysis round trip that Spark
    Declarative Pipelines forbid while a table is defined (its inputs do not exist yet). The cast makes
    the schema true by construction, so it is recorded on the Connect frame (``_cached_schema``, the
    attribute Connect itself fills after its first analysis; ``DataFrame.to`` would analyse on the
    server). Classic frames know their schema locally and are left as they are.
    """
    out = df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
    if hasattr(out, "_cached_schema") and out._cached_schema is None:
        out._cached_schema = schema
    return out


def without(df: DataFrame, *names: str) -> DataFrame:
    """``df.drop(*names)`` that needs no analysis: Spark Connect plans ``drop`` by analysing its input on
    the server, which Spark Declarative Pipelines forbid while a table is defined; a column regex is
    resolved with the rest of the plan. Helper columns only (plain identifiers)."""
    alternatives = "|".join(re.escape(n) for n in names)
    return df.select(df.colRegex(f"`(?!({alternatives})$).+`"))
