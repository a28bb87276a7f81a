"""Catalog names for the lake's tables (``storage.catalog``).

lakeprep reads and writes every table by its location (``<storage.root>/<layer>/<table>``), so one code
path serves local disks, object storage and Spark Connect alike. With ``storage.catalog`` set, each table is
also registered in the session's catalog as an external Delta table at that location, named
``<catalog>.<schema>.<layer>_<table>`` (``main.lakeprep.bronze_documents``; ``_lakeprep.tags`` becomes
``_lakeprep_tags``) -- the names the declarative modules give the same tables. Any Spark session on the
same metastore (a Hive metastore, Unity Catalog) then reads them by name, at any version
(``VERSION AS OF``), and the CLI accepts and prints the names.

Registration is idempotent and happens after a build or command created tables; a name already
registered at another location is an error, never silently re-pointed.
"""

from __future__ import annotations

import logging

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from lakeprep.config import Config
from lakeprep.errors import LakeprepError
from lakeprep.io.delta import table_exists

__all__ = ["CatalogError", "CATALOG_TABLES", "qualified_name", "register_tables", "table_for_name"]

log = logging.getLogger(__name__)

CATALOG_TABLES: tuple[str, ...] = (
    "bronze.documents", "quarantine.bronze", "silver.documents", "quarantine.silver", "silver.dedup_clusters",
    "silver.minhash_index", "gold.chunks", "gold.training_sequences", "quarantine.gold", "_lakeprep.tags",
    "_lakeprep.forget_requests", "_lakeprep.runs",
)


class CatalogError(LakeprepError):
    """A table cannot be registered under its catalog name."""


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def qualified_name(cfg: Config, table: str, *, quoted: bool = False) -> str | None:
    """``bronze.documents`` -> ``<catalog>.<schema>.bronze_documents`` (None without ``storage.catalog``)."""
    cat = cfg.storage.catalog
    if cat is None:
        return None
    parts = [p for p in (cat.name, cat.schema, table.replace(".", "_")) if p]
    return ".".join(_quote(p) for p in parts) if quoted else ".".join(parts)


def table_for_name(cfg: Config, name: str) -> str | None:
    """The lakeprep table a catalog name (full, ``schema.table`` or bare ``layer_table``) refers to, if any."""
    for table in CATALOG_TABLES:
        full = qualified_name(cfg, table)
        if full and (name == full or full.endswith("." + name)):
            return table
    return None


def _location_of(spark: SparkSession, quoted: str) -> str:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {quoted}").collect()
    for row in rows:
        if row[0] == "Location":
            return str(row[1])
    return ""


def _same_location(a: str, b: str) -> bool:
    norm = [x.rstrip("/").removeprefix("file://").removeprefix("file:") for x in (a, b)]
    return norm[0] == norm[1]


def register_tables(spark: SparkSession, cfg: Config) -> list[str]:
    """Register every existing lake table under its catalog name; return the names registered now."""
    cat = cfg.storage.catalog
    if cat is None:
        return []
    schema = ".".join(_quote(p) for p in (cat.name, cat.schema) if p)
    try:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    except AnalysisException as exc:
        raise CatalogError(f"cannot create schema {schema} for storage.catalog: {exc}") from None
    added = []
    for table in CATALOG_TABLES:
        path = cfg.storage.table_path(table)
        quoted = qualified_name(cfg, table, quoted=True)
        assert quoted is not None  # noqa: S101 - cat is set
        if spark.catalog.tableExists(qualified_name(cfg, table) or ""):
            where = _location_of(spark, quoted)
            if not _same_location(where, path):
                raise CatalogError(
                    f"{qualified_name(cfg, table)} is registered at {where}, not at {path}: drop it "
                    "or choose another storage.catalog.schema"
                )
            continue
        if not table_exists(spark, path):
            continue
        location = "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"
        spark.sql(f"CREATE TABLE IF NOT EXISTS {quoted} USING DELTA LOCATION {location}")
        added.append(qualified_name(cfg, table) or table)
    if added:
        log.info("registered in the catalog: %s", ", ".join(added))
    return added
