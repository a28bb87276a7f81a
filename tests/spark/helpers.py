"""Helpers for Spark tests: configs pointing at tmp dirs, and table readers."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakeprep.config import Config, apply_overrides, config_from_mapping
from lakeprep.io.delta import history, read_table


def make_config(landing: Path, root: Path, *overrides: str) -> Config:
    base = {"storage": {"root": str(root)}, "bronze": {"landing": str(landing), "jsonl": {"id_field": "id"}}}
    return config_from_mapping(apply_overrides(base, overrides))


def uri(path: Path) -> str:
    """The form Spark reports landing paths in."""
    return "file:" + str(path)


def table(spark: SparkSession, cfg: Config, name: str, version: int | None = None) -> DataFrame:
    return read_table(spark, cfg.storage.table_path(name), version=version)


def versions(spark: SparkSession, cfg: Config, name: str) -> list[int]:
    return [e.version for e in history(spark, cfg.storage.table_path(name), with_row_counts=False)]
