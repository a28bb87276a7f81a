"""Small aggregates the layers report (collected to the driver: one row per reason code, type or size)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

__all__ = ["collect_stats", "count_by", "count_rows", "reason_counts", "reason_rows"]


def _codes(column: str) -> Column:
    return F.array_distinct(F.transform(column, lambda r: F.substring_index(r, ":", 1)))


def count_by(df: DataFrame, key: Column | str) -> DataFrame:
    """``(key, n)``: rows of ``df`` per value of ``key`` (a column or its name)."""
    return df.groupBy((F.col(key) if isinstance(key, str) else key).alias("key")).agg(F.count(F.lit(1)).alias("n"))


def reason_rows(df: DataFrame, column: str) -> DataFrame:
    """``(key, n)``: rows per reason code (the part of each ``code:detail`` reason before the first ``:``)."""
    return count_by(df.select(F.explode(_codes(column)).alias("code")), "code")


def count_rows(df: DataFrame) -> DataFrame:
    """``(key, n)``: one row, key ``""``, n the row count of ``df``."""
    return df.agg(F.count(F.lit(1)).alias("n")).select(F.lit("").alias("key"), "n")


def reason_counts(df: DataFrame, column: str) -> dict[str, int]:
    """Rows per reason code: ``code`` is the part of each ``code:detail`` reason before the first ``:``."""
    return {r["key"]: int(r["n"]) for r in reason_rows(df, column).collect()}


def collect_stats(parts: Mapping[str, DataFrame]) -> dict[str, dict[str, int]]:
    """Several small aggregates in one Spark job instead of one job each: every frame has ``key`` and ``n``
    columns (:func:`count_rows`, :func:`reason_rows`, a ``groupBy``); the result is ``{name: {key: n}}``
    (a count is ``stats[name].get("", 0)``). The union is read by one task: the aggregates' few rows sit in
    partitions of their own, and a task per partition deserializes the whole union's plan apiece (a tiny build's
    run report ran 100 tasks, now 51); the work before each aggregate's shuffle keeps its parallelism."""
    frames = [df.select(F.lit(name).alias("stat"), F.col("key").cast("string"), F.col("n").cast("long")) for name, df in parts.items()]
    out: dict[str, dict[str, int]] = {name: {} for name in parts}
    for r in functools.reduce(DataFrame.unionByName, frames).coalesce(1).collect():
        out[r["stat"]][r["key"]] = int(r["n"] or 0)
    return out
