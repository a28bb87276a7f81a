"""Helpers for Spark tests: configs pointing at tmp dirs, a built sample lake, and table readers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession

from lakeprep.config import Config, apply_overrides, config_from_mapping
from lakeprep.io.delta import history, read_table

if TYPE_CHECKING:
    from lakeprep.pipeline.batch import BuildResult


def make_config(landing: Path, root: Path, *overrides: str) -> Config:
    base = {"storage": {"root": str(root)}, "bronze": {"landing": str(landing), "jsonl": {"id_field": "id"}}}
    return config_from_mapping(apply_overrides(base, overrides))


def build_sample(spark: SparkSession, root: Path, *overrides: str) -> tuple[Config, BuildResult, Path]:
    """The bundled sample copied to ``root/landing`` and built into ``root/lake`` with ``overrides``: the lake a
    module's tests share (a module-scoped fixture). Returns the config, the build's result and the landing."""
    from lakeprep.pipeline.batch import run_build

    from ..conftest import SAMPLE_LANDING

    landing = root / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    cfg = make_config(landing, root / "lake", *overrides)
    return cfg, run_build(spark, cfg), landing


def uri(path: Path) -> str:
    """The form Spark reports landing paths in."""
    return "file:" + str(path)


def table(spark: SparkSession, cfg: Config, name: str, version: int | None = None) -> DataFrame:
    return read_table(spark, cfg.storage.table_path(name), version=version)


def versions(spark: SparkSession, cfg: Config, name: str) -> list[int]:
    return [e.version for e in history(spark, cfg.storage.table_path(name), with_row_counts=False)]
