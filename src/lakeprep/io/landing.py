"""Read the landing directory with Spark: list files, read the bytes of chosen files, parse them.

Listing uses Spark's ``binaryFile`` source with only the metadata columns selected, which Spark answers
without opening the files, so listing stays cheap however large the files are. Only new or changed
files are then read, by explicit path, which is what Spark's own streaming file source does.
Files whose names start with ``_`` or ``.`` are ignored, as by every Spark file source.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from urllib.parse import unquote
from collections.abc import Iterator, Mapping, Sequence

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, LongType, StringType, TimestampType

from lakeprep.config import BronzeConfig
from lakeprep.errors import LandingError
from lakeprep.io.formats import doc_id_for, excerpt_of, parse_file
from lakeprep.schemas import PARSED_FILE, conform, schema_of

__all__ = ["LISTING_CONF", "UNKNOWN_MTIME", "extension_of", "format_of", "list_landing", "max_bytes_of", "parse_landing_files", "read_landing_files", "scan_landing"]

_GLOB_CHARS = "\\*?[]{}"
UNKNOWN_MTIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""Modification time recorded for empty files, which Spark's scans do not report."""

LISTING_CONF: Mapping[str, str] = {"spark.sql.files.openCostInBytes": "0"}
"""Settings for the action that runs a listing (:func:`scan_landing`). The scan opens no file, so the
default "cost of opening a file" (4 MB) that packs at most ~32 files into a task only adds tasks: with it
off, files are spread over the cores by size (a landing of 6,000 small files: 3-5 tasks instead of 186-188)."""


def list_landing(spark: SparkSession, landing: str) -> DataFrame:
    """Every file below ``landing``: ``source_path``, ``size_bytes``, ``modification_time`` (no bytes read).

    Spark's file scans skip zero-length files, so those are found as the difference between the file
    index (``inputFiles``) and the scan; they are listed with size 0 and modification time
    :data:`UNKNOWN_MTIME` (the scan is what reports times), so they are accounted for like any other file.
    """
    return scan_landing(spark, landing)[0]


def scan_landing(spark: SparkSession, landing: str) -> tuple[DataFrame, int]:
    """:func:`list_landing` and its number of files, known from the file index without a Spark job (the
    scan reads the same index, so the listing holds exactly these files)."""
    try:
        reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(landing)
        scanned = reader.select(
            _normalize_uri(F.col("path")).alias("source_path"),
            F.col("length").alias("size_bytes"),
            F.col("modificationTime").alias("modification_time"),
        )
        indexed = [_normalize_uri_str(p) for p in reader.inputFiles()]
    except AnalysisException as exc:
        raise LandingError(f"cannot list the landing directory {landing!r}: {exc}. Check bronze.landing in the config.") from None
    if not indexed:
        return scanned, 0
    index = spark.createDataFrame([(p,) for p in indexed], schema="source_path string")
    empties = index.join(scanned, on="source_path", how="left_anti").select(
        "source_path",
        F.lit(0).cast("long").alias("size_bytes"),
        F.lit(UNKNOWN_MTIME).alias("modification_time"),
    )
    return scanned.unionByName(empties), len(indexed)


def extension_of(path: Column) -> Column:
    """The lower-cased extension of a path (``.pdf``), or its last two for compressed containers (``.warc.gz``)."""
    lower = F.lower(path)
    double = F.regexp_extract(lower, r"(\.[^./]+\.(?:gz|bz2|zst|xz))$", 1)
    return F.when(double != "", double).otherwise(F.regexp_extract(lower, r"(\.[^./]+)$", 1))


def format_of(path: Column, formats: Mapping[str, str]) -> Column:
    """The configured format for a path's (lower-cased) extension, or null when it is not mapped.

    A two-part extension (``.warc.gz``) is looked up first, then the last part alone (``.gz``).
    """
    mapping = F.create_map(*[F.lit(x) for kv in sorted(formats.items()) for x in kv])
    single = F.lower(F.regexp_extract(path, r"(\.[^./]+)$", 1))
    found = F.coalesce(F.element_at(mapping, extension_of(path)), F.element_at(mapping, single))
    return F.when(single == "", F.lit(None).cast("string")).otherwise(found)


def max_bytes_of(fmt: Column, cfg: BronzeConfig) -> Column:
    """The size limit of each row's format (``bronze.max_file_bytes_by_format``, else ``max_file_bytes``)."""
    if not cfg.max_file_bytes_by_format:
        return F.lit(cfg.max_file_bytes)
    mapping = F.create_map(*[F.lit(x) for kv in sorted(cfg.max_file_bytes_by_format.items()) for x in kv])
    return F.coalesce(F.element_at(mapping, fmt), F.lit(cfg.max_file_bytes)).cast("long")


def read_landing_files(spark: SparkSession, paths: Sequence[str]) -> DataFrame | None:
    """Bytes of the given files: ``path``, ``modificationTime``, ``length``, ``content``.

    Files that vanish or cannot be read between listing and reading are left out (a path gone before
    the read is planned is dropped from the list; one that fails while being read is skipped by Spark's
    ``ignoreMissingFiles``/``ignoreCorruptFiles``). The caller finds them by an anti-join and
    quarantines them, so nothing is lost silently. Returns None when no file is left.
    """
    remaining = list(paths)
    while remaining:
        try:
            df = (
                spark.read.format("binaryFile")
                .option("ignoreMissingFiles", "true")
                .option("ignoreCorruptFiles", "true")
                .load([_escape_glob(p) for p in remaining])
            )
            df.schema  # noqa: B018 - Spark Connect analyses lazily; make missing paths fail here
            return df
        except AnalysisException as exc:
            missing = (exc.getMessageParameters() or {}).get("path") if exc.getCondition() == "PATH_NOT_FOUND" else None
            if not missing:
                raise
            gone = _normalize_uri_str(missing)
            kept = [p for p in remaining if _normalize_uri_str(p) != gone and p != missing]
            if len(kept) == len(remaining):
                raise
            remaining = kept
    return None


def parse_landing_files(files: DataFrame, cfg: BronzeConfig) -> DataFrame:
    """``binaryFile`` rows (plus a ``format`` column) -> one row per document or per rejected file.

    The result has the :data:`lakeprep.schemas.PARSED_FILE` schema; rejected files have
    ``reject_reasons`` set and no document columns. A container's counts of records it skipped (WARC) ride
    on its first document's ``notes``, so summing ``notes`` over the rows counts each file once.
    """
    options = {
        "encodings": tuple(cfg.encodings),
        "text_field": cfg.jsonl.text_field,
        "id_field": cfg.jsonl.id_field,
        "pdf_strip_running_lines": cfg.pdf.strip_running_lines,
        "pptx_notes": cfg.pptx.notes,
        "warc_content_types": tuple(cfg.warc.content_types),
    }

    empty: dict[str, object] = dict.fromkeys(PARSED_FILE.fieldNames())  # missing values are None, never NaN

    def parse_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows: list[dict[str, object]] = []
            for path, mtime, length, content, fmt in zip(
                batch["path"], batch["modificationTime"], batch["length"], batch["content"], batch["format"]
            ):
                data = bytes(content) if content is not None else b""
                base = {
                    **empty,
                    "source_path": path,
                    "format": fmt,
                    "size_bytes": int(length),
                    "modification_time": mtime,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
                result = parse_file(data, fmt, **options)  # type: ignore[arg-type]
                if not result.accepted:
                    rows.append({**base, "reject_reasons": list(result.reasons), "excerpt": excerpt_of(data)})
                    continue
                for i, rec in enumerate(result.records):
                    rows.append(
                        {
                            **base,
                            "format": rec.format or fmt,
                            "notes": dict(result.notes) if i == 0 and result.notes else None,  # once per file
                            "doc_id": doc_id_for(path, rec.record_index, rec.text),
                            "record_index": rec.record_index,
                            "record_id": rec.record_id,
                            "text": rec.text,
                            "attributes": rec.attributes,
                        }
                    )
            out = pd.DataFrame(rows, columns=PARSED_FILE.fieldNames())
            out["record_index"] = out["record_index"].astype("Int32")  # nullable: rejected files have none
            yield out

    source = schema_of(
        {"path": StringType(), "modificationTime": TimestampType(), "length": LongType(), "content": BinaryType(), "format": StringType()}
    )
    return conform(files, source).mapInPandas(
        parse_batches, schema=PARSED_FILE
    )


def _normalize_uri(col: Column) -> Column:
    return F.regexp_replace(col, r"^file:///", "file:/")


def _normalize_uri_str(path: str) -> str:
    """The file index gives encoded URIs (``file:///a%20b``), the scan plain paths (``file:/a b``): use the scan's."""
    path = unquote(path)
    return "file:/" + path[len("file:///") :] if path.startswith("file:///") else path


def _escape_glob(path: str) -> str:
    """Hadoop treats ``*?[]{}`` in a load path as a glob; a landing file's own name must not be."""
    return "".join("\\" + c if c in _GLOB_CHARS else c for c in path)
